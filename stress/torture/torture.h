/* stress/torture/torture.h - tdbtorture-style runs: N worker processes
 * doing random operations, a random one SIGKILLed every 100 ms and
 * restarted, then an accounting of the shared state.
 *
 * The supervisor (the test process) forks `workers` children (default
 * 2 x nproc, NMC_TORTURE_WORKERS overrides), each running child(w, ctx)
 * until torture_stopping(). Every TORTURE_KILL_MS it SIGKILLs a random
 * child, reaps it, calls on_kill(w, ctx) (optional) and forks a new
 * incarnation of worker w. Between kills it runs tick(ctx, until) if given
 * (work of its own, e.g. a camlbox receiver), else sleeps. At the end it
 * raises the stop flag and waits (at most TORTURE_EXIT_S) for every child
 * to finish its current operation and exit 0; a child that exits non-zero
 * or dies of a signal it was not sent, or does not exit, is a failure.
 *
 * Intent logs. So that the state after a kill can be explained, each
 * worker publishes what it is about to do (torture_intent, in the area's
 * shared memory) before every mutating operation and clears it after the
 * operation and its bookkeeping; the next incarnation of w finds the
 * intent of the killed one and resolves it (observes which of the two
 * outcomes happened) before doing anything else. So at most one operation
 * per kill is ever in doubt.
 */
#ifndef NMC_TORTURE_H
#define NMC_TORTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TORTURE_MAX_WORKERS = 64, TORTURE_KILL_MS = 100, TORTURE_EXIT_S = 30 };

/* What a worker is about to do; op 0 = nothing in flight. */
struct torture_intent {
    uint32_t op;
    uint32_t pad;
    uint64_t a, b, c;
};

struct torture_cfg {
    int workers;                      /* 0: torture_default_workers()      */
    double seconds;                   /* run length                        */
    void (*child)(int w, void *ctx);  /* one incarnation of worker w       */
    void (*tick)(void *ctx, double until); /* supervisor's work, optional */
    void (*on_kill)(int w, void *ctx);     /* after a kill and reap, optional */
    void *ctx;
};

struct torture_result {
    unsigned kills;    /* SIGKILLs sent                                   */
    unsigned failures; /* children that failed on their own or hung       */
    double seconds;    /* wall time of the run                            */
};

/* 2 x nproc, or NMC_TORTURE_WORKERS; at most TORTURE_MAX_WORKERS. */
int torture_default_workers(void);
/* The run length: NMC_STRESS_SECONDS, or short (seconds of the short
 * form, the share of ./harness test's ten seconds). */
double torture_seconds(double short_form);
/* Runs it; returns after every child is gone. */
void torture_run(const struct torture_cfg *cfg, struct torture_result *res);
/* In a child: whether the supervisor asked to stop. */
bool torture_stopping(void);
/* In a child: a random number (per-incarnation xorshift). */
uint64_t torture_rand(void);
/* A random number in [0, n). */
static inline uint64_t torture_below(uint64_t n) { return n ? torture_rand() % n : 0; }
/* In a child: reports a failed check and exits with status 3. */
_Noreturn void torture_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Publishes / clears an intent with release ordering. */
void torture_intend(struct torture_intent *i, uint32_t op, uint64_t a, uint64_t b, uint64_t c);
void torture_done(struct torture_intent *i);

#define TORTURE_CHECK(cond)                                                            \
    do {                                                                               \
        if (!(cond))                                                                   \
            torture_fail("%s:%d: %s", __FILE__, __LINE__, #cond);                      \
    } while (0)

#endif
