/* bench/common/procs.h - N forked worker processes, for manual-time benchmarks.
 *
 * One run of nmc_procs_run:
 *   1. maps a private control region (MAP_SHARED | MAP_ANONYMOUS) holding the
 *      start barrier, the stop flag and one cache-line slot per worker;
 *   2. forks spec->nprocs workers; each inherits every mapping the caller
 *      made before (e.g. one from nmc_procs_map_shared holding the object
 *      under test), runs spec->init if set (untimed set-up: attach to the
 *      object, connect), checks in at the barrier and sleeps on it (futex);
 *   3. when all have checked in, reads the clock (t0) and releases them;
 *   4. each worker runs spec->fn, which does spec->ops operations, or, when
 *      spec->ops == 0, loops until nmc_procs_stopped() (the parent raises
 *      the flag spec->seconds after t0); fn stores its operation count, may
 *      record latency samples and may set the run's fairness counts, and
 *      the worker stamps its finish time;
 *   5. the parent reaps every worker and reports per-worker counts, samples,
 *      fairness counts and wall_s = (last finish - t0): the time the
 *      operations took, fork and exit excluded.
 * Bounds: 1 <= nprocs <= NMC_PROCS_MAX; at most samples_per_worker samples
 * per worker are kept (later ones are counted but dropped). A worker that
 * fails, crashes or outlives spec->timeout_s fails the run: every worker is
 * killed (SIGKILL) and reaped, so no run leaves a zombie or a stray process.
 * Not thread-safe: one run at a time per process (it waits for SIGCHLD with
 * the signal blocked in the calling thread).
 */
#ifndef NMC_BENCH_PROCS_H
#define NMC_BENCH_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMC_PROCS_MAX 512

/* What a worker sees; lives in the worker's own memory. */
struct nmc_procs_worker {
    int index;                   /* 0 .. nprocs - 1                            */
    int nprocs;                  /* workers in this run                        */
    uint64_t ops;                /* operations to do; 0: until stopped         */
    void *arg;                   /* spec->arg, inherited through fork          */
    const uint32_t *stop;        /* raised by the parent in until-stop mode    */
    uint64_t *samples;           /* this worker's sample slots (shared)        */
    uint64_t *n_samples;         /* samples recorded so far (shared)           */
    size_t max_samples;          /* capacity of samples                        */
    uint64_t *fairness;          /* the run's fairness counts, nprocs (shared) */
    uint32_t *n_fairness;        /* entries set, or NMC_PROCS_FAIRNESS_UNSET   */
};

/* *n_fairness before a worker set the fairness counts. */
#define NMC_PROCS_FAIRNESS_UNSET UINT32_MAX

/* The body of a worker: do the operations, store how many were done in
 * *done, return 0 or a negative NMC_E... status (which fails the run). */
typedef int (*nmc_procs_fn)(const struct nmc_procs_worker *w, uint64_t *done);

struct nmc_procs_spec {
    int nprocs;                  /* workers to fork, 1 .. NMC_PROCS_MAX        */
    nmc_procs_fn fn;             /* worker body                                */
    int (*init)(const struct nmc_procs_worker *w); /* optional, before the
                                    barrier (untimed): 0 or a status, which
                                    fails the run                              */
    void *arg;                   /* passed to fn as w->arg                     */
    uint64_t ops;                /* per worker; 0: run for `seconds`           */
    double seconds;              /* until-stop mode duration (> 0 if ops == 0) */
    double timeout_s;            /* whole run limit; <= 0: 60 s                */
    size_t samples_per_worker;   /* latency sample slots per worker; 0: none   */
};

struct nmc_procs_result {
    int nprocs;                  /* workers that ran                           */
    double wall_s;               /* last finish - barrier release, seconds     */
    uint64_t total;              /* sum of counts                              */
    uint64_t counts[NMC_PROCS_MAX]; /* operations per worker                   */
    uint64_t *samples;           /* all kept samples, malloc'ed; free with
                                    nmc_procs_result_free                      */
    size_t n_samples;            /* entries in samples                         */
    uint64_t fairness[NMC_PROCS_MAX]; /* the counts the fairness figure
                                    compares: those a worker set with
                                    nmc_procs_set_fairness, else counts        */
    int n_fairness;              /* entries in fairness; 0: no fairness figure */
    char error[160];             /* why the run failed ("" on success)         */
};

/* True once the parent asked an until-stop run to end. */
static inline bool nmc_procs_stopped(const struct nmc_procs_worker *w)
{
    return __atomic_load_n(w->stop, __ATOMIC_RELAXED) != 0;
}

/* Records one latency sample (e.g. nanoseconds); dropped when full. */
static inline void nmc_procs_sample(const struct nmc_procs_worker *w, uint64_t v)
{
    uint64_t n = *w->n_samples;
    if (n < w->max_samples)
        w->samples[n] = v;
    *w->n_samples = n + 1;
}

/* Sets the run's fairness counts, counts[0..n) with n <= nprocs (more are
 * dropped): one count per party whose share the fairness figure compares,
 * in place of the workers' done counts. For a workload in which one worker
 * sees the shares, e.g. a receiver counting the messages of each sender;
 * n = 0 says the run has no fairness figure (a strictly alternating
 * ping-pong). One worker per run calls it, before its fn returns. */
void nmc_procs_set_fairness(const struct nmc_procs_worker *w, const uint64_t *counts, size_t n);

/* What each worker of a strictly alternating pair (a ping-pong) reports:
 * worker 0 the round trips (w->ops, counted once), and no fairness figure. */
void nmc_procs_pingpong_done(const struct nmc_procs_worker *w, uint64_t *done);

/* Maps len bytes of zeroed anonymous shared memory, inherited by workers.
 * Returns 0, NMC_EINVAL (len 0 or out NULL) or NMC_ESYS (errno kept). */
int nmc_procs_map_shared(size_t len, void **out);
/* Unmaps a region from nmc_procs_map_shared; 0 or NMC_ESYS. */
int nmc_procs_unmap_shared(void *p, size_t len);

/* Runs the workers as described above and fills *res (res->samples needs
 * nmc_procs_result_free, also after a failure). Returns 0; NMC_EINVAL for a
 * bad spec; NMC_ESYS if mmap or fork fails; NMC_ETIMEDOUT past timeout_s;
 * NMC_ECORRUPT if a worker died by a signal or exited without reporting;
 * or the first failing worker's own status. res->error says which. */
int nmc_procs_run(const struct nmc_procs_spec *spec, struct nmc_procs_result *res);

void nmc_procs_result_free(struct nmc_procs_result *res);

#ifdef __cplusplus
}
#endif
#endif
