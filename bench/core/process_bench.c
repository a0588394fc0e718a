/* bench/core/process_bench.c - starting and joining a worker, against a
 * plain fork.
 *
 *   process/start_join/nmc     inside an nmc_run, a worker runs a batch of
 *                              nmc_start + nmc_join round trips of a worker
 *                              that echoes a small argument (an int); the
 *                              request goes to the master, which forks the
 *                              new worker, and the result comes back through
 *                              the master. Manual time: the batch as the
 *                              worker timed it.
 *   process/fork_wait/posix    fork; the child writes an 8-byte result into
 *                              a pipe and exits; the parent reads it and
 *                              waitpid()s: the least a fork-based process
 *                              start with a result can cost.
 * Both fork the benchmark process itself, which has the same size in both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gbench.h"
#include "nmc/core.h"
#include "skip_status.h"

static nmc_res_id echo_fork, echo_join, loop_fork, loop_join;

static int echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = arg;
    return NMC_OK;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The first worker: arg round trips; returns the seconds they took. */
static int round_trips(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    long n = (long)nmc_long_val(arg);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        nmc_process_id pid;
        nmc_value v;
        int st = nmc_start(echo_fork, nmc_val_long(i), NULL, &pid);
        if (st == NMC_OK)
            st = nmc_join(echo_join, pid, arena, &v);
        if (st == NMC_OK && nmc_long_val(v) != i)
            st = NMC_ECORRUPT;
        if (st != NMC_OK)
            return st;
    }
    return nmc_alloc_double(arena, now_s() - t0, result);
}

struct batch {
    long n;         /* round trips asked for      */
    double seconds; /* what the worker measured   */
};

static int first_process(void *ctx, nmc_process_id *pid)
{
    return nmc_start(loop_fork, nmc_val_long(((struct batch *)ctx)->n), NULL, pid);
}

static int extract(void *ctx, nmc_process_id first)
{
    nmc_arena *arena;
    nmc_value v;
    int st = nmc_arena_create(&arena);
    if (st != NMC_OK)
        return st;
    st = nmc_join_nowait(loop_join, first, arena, &v);
    if (st == NMC_OK)
        ((struct batch *)ctx)->seconds = nmc_double_field(v, 0);
    nmc_arena_destroy(arena);
    return st;
}

/* One nmc_run in a fresh socket directory doing b->n round trips. */
static int run_batch(struct batch *b)
{
    char dir[] = "/tmp/nmc-bench-XXXXXX", path[64];
    if (mkdtemp(dir) == NULL)
        return NMC_ESYS;
    struct nmc_startup_options opt = {.socket_directory = dir};
    int st = nmc_def_process(echo, &echo_fork, &echo_join);
    if (st == NMC_OK)
        st = nmc_def_process(round_trips, &loop_fork, &loop_join);
    if (st == NMC_OK)
        st = nmc_run(&opt, first_process, extract, b);
    int st2 = nmc_destroy_resources();
    snprintf(path, sizeof path, "%s/nmc.pmanage", dir);
    unlink(path);
    rmdir(dir);
    return st != NMC_OK ? st : st2;
}

static void bm_start_join(nmc_bench_state *st)
{
    size_t n;
    while ((n = nmc_bench_batch(st)) != 0) {
        struct batch b = {.n = (long)n};
        int rc = run_batch(&b);
        if (rc != NMC_OK) {
            nmc_bench_skip_status(st, "start/join", rc);
            while (nmc_bench_batch(st) != 0)
                ;
            break;
        }
        nmc_bench_set_iteration_time(st, b.seconds);
    }
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
}

/* One fork + pipe + waitpid round trip; 0 or -1. */
static int fork_wait(long arg)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        long result = arg;
        ssize_t w = write(fds[1], &result, sizeof result);
        _exit(w == (ssize_t)sizeof result ? 0 : 1);
    }
    close(fds[1]);
    long got = -1;
    ssize_t r = pid > 0 ? read(fds[0], &got, sizeof got) : -1;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return r == (ssize_t)sizeof got && got == arg && WIFEXITED(status) && WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

static void bm_fork_wait(nmc_bench_state *st)
{
    size_t n;
    long i = 0;
    while ((n = nmc_bench_batch(st)) != 0) {
        double t0 = now_s();
        for (size_t k = 0; k < n; k++)
            if (fork_wait(i++) != 0) {
                nmc_bench_skip_with_error(st, "fork/pipe/waitpid failed");
                while (nmc_bench_batch(st) != 0)
                    ;
                return;
            }
        nmc_bench_set_iteration_time(st, now_s() - t0);
    }
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
}

NMC_BENCH_REGISTER(register_process)
{
    nmc_bench_use_manual_time(nmc_bench_register("process/start_join/nmc", bm_start_join));
    nmc_bench_use_manual_time(nmc_bench_register("process/fork_wait/posix", bm_fork_wait));
}
