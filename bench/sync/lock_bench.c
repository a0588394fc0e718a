/* bench/sync/lock_bench.c - nmc_mutex against process-shared pthread mutexes.
 *
 * Every lock lives in a MAP_SHARED region, as it would between processes.
 *   lock/uncontended/K      one process, lock + unlock in a loop: the cost
 *                           of the user-space fast path. K is nmc_normal,
 *                           nmc_errorcheck, nmc_recursive (nmc_mutex of that
 *                           kind), pthread (PTHREAD_PROCESS_SHARED, default
 *                           type) or pthread_robust (also PTHREAD_MUTEX_ROBUST,
 *                           the peer with the same dead-owner guarantee).
 *   lock/contended_2proc/K  two forked processes increment one shared
 *                           counter under the lock until stopped (0.25 s a
 *                           run, manual time from the start barrier). items
 *                           = increments; fairness_stddev_pct is the spread
 *                           of the per-process counts. After each run the
 *                           counter must equal the increments reported, or
 *                           the benchmark fails: a fast wrong lock scores
 *                           nothing. Seven repetitions (median
 *                           reported), whatever --benchmark_repetitions says
 *                           (three when NMC_BENCH_QUICK is set, as
 *                           bench/run.sh --quick does).
 *   lock/contended/K/P      the same with P processes, K nmc_normal or
 *                           pthread_robust, for every P of the scaling sweep
 *                           (NMC_BENCH_PROCS, bench/common/procs_list.h;
 *                           default 1, 2, 4, ... 2 x nproc): throughput and
 *                           fairness against the number of processes.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gbench.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "procs_bench.h"
#include "procs_list.h"
#include "skip_status.h"

enum { CONTENDED_REPETITIONS = 7, CONTENDED_REPETITIONS_QUICK = 3 };

/* The implementations, as the user pointer of each benchmark. */
enum impl { NMC_NORMAL, NMC_ERRORCHECK, NMC_RECURSIVE, PTHREAD, PTHREAD_ROBUST };

struct lock_region {
    nmc_mutex nmc;
    pthread_mutex_t pt;
    uint64_t counter __attribute__((aligned(64))); /* off the lock's line */
};

static const enum nmc_mutex_kind nmc_kind[] = {
    [NMC_NORMAL] = NMC_MUTEX_NORMAL,
    [NMC_ERRORCHECK] = NMC_MUTEX_ERRORCHECK,
    [NMC_RECURSIVE] = NMC_MUTEX_RECURSIVE,
};

static bool is_nmc(enum impl which)
{
    return which <= NMC_RECURSIVE;
}

/* Initialises the lock under test in a fresh shared region. */
static int region_open(enum impl which, struct lock_region **out)
{
    int st = nmc_procs_map_shared(sizeof **out, (void **)out);
    if (st != NMC_OK)
        return st;
    if (is_nmc(which))
        return nmc_mutex_init(&(*out)->nmc, nmc_kind[which]);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (which == PTHREAD_ROBUST)
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&(*out)->pt, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static void region_close(enum impl which, struct lock_region *r)
{
    if (is_nmc(which))
        nmc_mutex_destroy(&r->nmc);
    else
        pthread_mutex_destroy(&r->pt);
    nmc_procs_unmap_shared(r, sizeof *r);
}

/* One lock + unlock; NMC_OK or the failing status. */
static inline int lock_unlock(enum impl which, struct lock_region *r, uint64_t *counter)
{
    if (is_nmc(which)) {
        int st = nmc_mutex_lock(&r->nmc);
        if (st != NMC_OK)
            return st;
        if (counter != NULL)
            ++*counter;
        return nmc_mutex_unlock(&r->nmc);
    }
    if (pthread_mutex_lock(&r->pt) != 0)
        return NMC_ESYS;
    if (counter != NULL)
        ++*counter;
    return pthread_mutex_unlock(&r->pt) == 0 ? NMC_OK : NMC_ESYS;
}

static void bm_uncontended(nmc_bench_state *st)
{
    enum impl which = *(const enum impl *)nmc_bench_user(st);
    struct lock_region *r;
    int rc = region_open(which, &r);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "lock init", rc);
        return;
    }
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n && rc == NMC_OK; i++)
            rc = lock_unlock(which, r, NULL);
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, "lock/unlock", rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    region_close(which, r);
}

struct contended_arg {
    enum impl which;
    struct lock_region *r;
};

static int contended_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    const struct contended_arg *a = w->arg;
    uint64_t n = 0;
    while (!nmc_procs_stopped(w)) {
        int st = lock_unlock(a->which, a->r, &a->r->counter);
        if (st != NMC_OK)
            return st;
        n++;
    }
    *done = n;
    return NMC_OK;
}

/* What a contended benchmark runs: which lock, how many processes. */
struct contended_cfg {
    enum impl which;
    int nprocs;
};

static void bm_contended(nmc_bench_state *st)
{
    const struct contended_cfg *cfg = nmc_bench_user(st);
    struct contended_arg a = {.which = cfg->which};
    int rc = region_open(a.which, &a.r);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "lock init", rc);
        return;
    }
    struct nmc_procs_spec spec = {
        .nprocs = cfg->nprocs, .fn = contended_worker, .arg = &a, .seconds = 0.25,
    };
    struct nmc_procs_totals tot;
    memset(&tot, 0, sizeof tot);
    bool ok = true;
    size_t n;
    while (ok && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; ok && i < n; i++) {
            ok = nmc_procs_bench_iteration(st, &spec, &tot);
            if (ok && a.r->counter != tot.ops) {
                nmc_bench_skip_with_error(st, "lost increments: the lock failed");
                ok = false;
            }
        }
    while (!ok && nmc_bench_batch(st) != 0)
        ;
    nmc_procs_bench_report(st, &tot);
    region_close(a.which, a.r);
}

static const enum impl impls[] = {NMC_NORMAL, NMC_ERRORCHECK, NMC_RECURSIVE, PTHREAD,
                                  PTHREAD_ROBUST};
static const char *const impl_names[] = {"nmc_normal", "nmc_errorcheck", "nmc_recursive",
                                         "pthread", "pthread_robust"};

NMC_BENCH_REGISTER(register_lock)
{
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "lock/uncontended/%s", impl_names[i]);
        nmc_bench_register_with(name, bm_uncontended, (void *)&impls[i]);
    }
    static const enum impl contenders[] = {NMC_NORMAL, PTHREAD_ROBUST};
    static struct contended_cfg two[2], sweep[2][NMC_PROCS_LIST_MAX];
    int procs[NMC_PROCS_LIST_MAX];
    int nprocs = nmc_procs_list(NMC_PROCS_MAX, procs, NULL);
    const char *quick = getenv("NMC_BENCH_QUICK");
    int reps = quick != NULL && *quick != '\0' && *quick != '0' ? CONTENDED_REPETITIONS_QUICK
                                                                : CONTENDED_REPETITIONS;
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "lock/contended_2proc/%s", impl_names[contenders[i]]);
        two[i] = (struct contended_cfg){contenders[i], 2};
        nmc_bench *b = nmc_bench_register_with(name, bm_contended, &two[i]);
        nmc_bench_use_manual_time(b);
        /* Runs differ by 2x (who sleeps when decides the regime): on a
         * 2-core VM nmc_normal gives 33-35 M/s in one regime, with twice
         * the context switches (one process runs alone while the other
         * sleeps), and 17-23 M/s in the other (both run and trade the
         * lock's line). A regime holds for a whole invocation, all seven
         * repetitions, and changes between invocations, pinned or not;
         * pthread_robust shows the same. The report takes the median. */
        nmc_bench_repetitions(b, reps);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < nprocs; j++) {
            snprintf(name, sizeof name, "lock/contended/%s/%d", impl_names[contenders[i]],
                     procs[j]);
            sweep[i][j] = (struct contended_cfg){contenders[i], procs[j]};
            nmc_bench *b = nmc_bench_register_with(name, bm_contended, &sweep[i][j]);
            nmc_bench_use_manual_time(b);
            nmc_bench_repetitions(b, reps);
        }
}
