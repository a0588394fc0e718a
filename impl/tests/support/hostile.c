#include "hostile.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int hostile_wait(pid_t child, double seconds)
{
    double end = now_s() + seconds;
    int st;
    for (;;) {
        pid_t r = waitpid(child, &st, WNOHANG);
        if (r == child)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return HOSTILE_SETUP_FAILED;
        if (now_s() >= end) {
            kill(child, SIGKILL);
            waitpid(child, &st, 0);
            return HOSTILE_HUNG;
        }
        usleep(2000);
    }
}

int hostile_in_pid_namespace(int (*body)(void), double seconds)
{
    pid_t outer = fork();
    if (outer < 0)
        return HOSTILE_SETUP_FAILED;
    if (outer == 0) {
        if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
            _exit(errno == EPERM ? HOSTILE_SKIPPED : HOSTILE_SETUP_FAILED);
        pid_t init = fork();
        if (init == 0) {
            if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
                _exit(HOSTILE_SETUP_FAILED);
            _exit(body());
        }
        int r = init < 0 ? HOSTILE_SETUP_FAILED : hostile_wait(init, seconds);
        _exit(r == HOSTILE_HUNG ? 255 : r);
    }
    int r = hostile_wait(outer, seconds + 5);
    return r == 255 ? HOSTILE_HUNG : r;
}

pid_t hostile_fork_with_pid(pid_t want, int (*fn)(void))
{
    usleep(30000);
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d", (int)want - 1);
    if (fclose(f) != 0)
        return -1;
    pid_t p = fork();
    if (p == 0)
        _exit(fn());
    if (p > 0 && p != want) {
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
        return -1;
    }
    return p;
}

bool hostile_skipped(int result, const char *what)
{
    if (result == HOSTILE_SKIPPED)
        printf("SKIP %s: needs root (namespaces)\n", what);
    return result == HOSTILE_SKIPPED;
}
