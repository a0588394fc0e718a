/* Support of the sync stress tests; see stress_sync.h. */
#include "stress_sync.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc_test.h"

pid_t spawn_child(const struct shm_region *r, int (*fn)(void *base, int arg), int arg,
                  unsigned limit)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(limit);
        _exit(fn(shm_region_child_map(r), arg));
    }
    return pid;
}

bool reap_child(pid_t pid, bool killed, const char *what)
{
    int st;
    pid_t got;
    while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_int_eq(got, pid);
    bool ok = killed ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
                     : WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!ok) {
        if (WIFSIGNALED(st))
            fprintf(stderr, "%s (pid %d): killed by signal %d\n", what, (int)pid, WTERMSIG(st));
        else
            fprintf(stderr, "%s (pid %d): exit status %d\n", what, (int)pid, WEXITSTATUS(st));
    }
    return ok;
}

void assert_no_children(void)
{
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
