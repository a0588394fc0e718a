/* stress/torture/torture.c - see torture.h. */
#include "torture.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

static volatile uint32_t *stop_flag;
static uint64_t rng;

int torture_default_workers(void)
{
    const char *e = getenv("NMC_TORTURE_WORKERS");
    long n = e != NULL ? atol(e) : 2 * sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        n = 2;
    return n > TORTURE_MAX_WORKERS ? TORTURE_MAX_WORKERS : (int)n;
}

double torture_seconds(double short_form)
{
    double s = stress_seconds();
    return s > 0 ? s : short_form;
}

bool torture_stopping(void)
{
    return __atomic_load_n(stop_flag, __ATOMIC_ACQUIRE) != 0;
}

uint64_t torture_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

void torture_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "torture child %d: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    _exit(3);
}

void torture_intend(struct torture_intent *i, uint32_t op, uint64_t a, uint64_t b, uint64_t c)
{
    i->a = a;
    i->b = b;
    i->c = c;
    __atomic_store_n(&i->op, op, __ATOMIC_RELEASE);
}

void torture_done(struct torture_intent *i)
{
    __atomic_store_n(&i->op, 0, __ATOMIC_RELEASE);
}

static pid_t spawn(const struct torture_cfg *cfg, int w)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        rng = ((uint64_t)getpid() << 32) ^ (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 20) ^
              0x9e3779b97f4a7c15ull;
        if (rng == 0)
            rng = 1;
        cfg->child(w, cfg->ctx);
        _exit(0);
    }
    return pid;
}

static void sleep_until(double t)
{
    double d = t - now_s();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A child that ended on its own: a failure unless it exited 0 after the stop. */
static bool ended_badly(int status)
{
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void torture_run(const struct torture_cfg *cfg, struct torture_result *res)
{
    memset(res, 0, sizeof *res);
    int n = cfg->workers > 0 ? cfg->workers : torture_default_workers();
    stop_flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (stop_flag == MAP_FAILED) {
        res->failures++;
        return;
    }
    *stop_flag = 0;
    rng = (uint64_t)getpid() * 0x2545f4914f6cdd1dull + 1;
    pid_t pids[TORTURE_MAX_WORKERS];
    for (int w = 0; w < n; w++)
        pids[w] = spawn(cfg, w);
    double start = now_s(), end = start + cfg->seconds, next = start;
    while (now_s() < end) {
        next += TORTURE_KILL_MS / 1000.0;
        if (cfg->tick != NULL)
            cfg->tick(cfg->ctx, next);
        else
            sleep_until(next);
        /* Children that ended on their own. */
        for (int w = 0; w < n; w++) {
            int status;
            if (waitpid(pids[w], &status, WNOHANG) == pids[w]) {
                fprintf(stderr, "torture: worker %d (pid %d) ended on its own (status %#x)\n",
                        w, (int)pids[w], status);
                res->failures++;
                pids[w] = spawn(cfg, w);
            }
        }
        int w = (int)torture_below((uint64_t)n);
        kill(pids[w], SIGKILL);
        int status;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
            ;
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
            fprintf(stderr, "torture: worker %d ended before its kill (status %#x)\n", w, status);
            res->failures++;
        }
        res->kills++;
        if (cfg->on_kill != NULL)
            cfg->on_kill(w, cfg->ctx);
        pids[w] = spawn(cfg, w);
    }
    __atomic_store_n(stop_flag, 1, __ATOMIC_RELEASE);
    double deadline = now_s() + TORTURE_EXIT_S;
    int left = n;
    bool gone[TORTURE_MAX_WORKERS] = {false};
    while (left > 0 && now_s() < deadline) {
        if (cfg->tick != NULL)
            cfg->tick(cfg->ctx, now_s() + 0.01);
        else
            sleep_until(now_s() + 0.01);
        for (int w = 0; w < n; w++) {
            int status;
            if (!gone[w] && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
                gone[w] = true;
                left--;
                if (ended_badly(status)) {
                    fprintf(stderr, "torture: worker %d failed (status %#x)\n", w, status);
                    res->failures++;
                }
            }
        }
    }
    for (int w = 0; w < n; w++)
        if (!gone[w]) {
            fprintf(stderr, "torture: worker %d (pid %d) did not stop: hung\n", w, (int)pids[w]);
            res->failures++;
            kill(pids[w], SIGKILL);
            waitpid(pids[w], NULL, 0);
        }
    res->seconds = now_s() - start;
    munmap((void *)stop_flag, 4096);
}
