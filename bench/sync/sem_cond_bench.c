/* bench/sync/sem_cond_bench.c - nmc_sem against POSIX semaphores, nmc_cond
 * against process-shared pthread condition variables.
 *
 *   sem/post_wait/K        one process, post + wait on one semaphore (never
 *                          blocks): the fast path. K: nmc or posix_sem
 *                          (sem_init with pshared = 1 in a shared region).
 *   sem/pingpong_2proc/K   two processes, A posts `ping` and waits for
 *                          `pong`, B waits for `ping` and posts `pong`:
 *                          every wait blocks, so this is wake-up latency.
 *   cond/pingpong_2proc/K  two processes hand a turn back and forth under a
 *                          mutex: lock, wait on the condition until it is
 *                          my turn, pass the turn, signal, unlock. K: nmc
 *                          (nmc_mutex + nmc_cond, one wait entry per
 *                          process) or pthread_cond (pthread mutex and
 *                          condition, both PTHREAD_PROCESS_SHARED).
 * The ping-pongs run PINGPONG_ROUNDS round trips per run with manual time
 * from the start barrier; items are round trips (items_per_second = round
 * trips per second), and the first process times each round trip (p50_ns,
 * p99_ns). A strictly alternating pair has no fairness figure.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>

#include "gbench.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "procs_bench.h"
#include "skip_status.h"
#include "stats.h"

enum { PINGPONG_ROUNDS = 20000, WAIT_ENTRIES = 4 };

enum impl { NMC, PEER };
static const enum impl nmc_impl = NMC, peer_impl = PEER;

struct sync_region {
    nmc_sem ping, pong;
    sem_t posix_ping, posix_pong;
    nmc_mutex mutex;
    nmc_cond cond;
    pthread_mutex_t pt_mutex;
    pthread_cond_t pt_cond;
    uint32_t turn; /* whose turn in the condition ping-pong: 0 or 1 */
    /* followed by the wait set (nmc_wait_set_size(WAIT_ENTRIES) bytes) */
    nmc_wait_set wait_set __attribute__((aligned(64)));
};

static size_t region_size(void)
{
    return offsetof(struct sync_region, wait_set) + nmc_wait_set_size(WAIT_ENTRIES);
}

/* Maps a region and initialises every object in it. */
static int region_open(struct sync_region **out)
{
    int st = nmc_procs_map_shared(region_size(), (void **)out);
    if (st != NMC_OK)
        return st;
    struct sync_region *r = *out;
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    bool peers_ok = sem_init(&r->posix_ping, 1, 0) == 0 && sem_init(&r->posix_pong, 1, 0) == 0 &&
                    pthread_mutex_init(&r->pt_mutex, &ma) == 0 &&
                    pthread_cond_init(&r->pt_cond, &ca) == 0;
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_destroy(&ca);
    if (!peers_ok)
        return NMC_ESYS;
    if ((st = nmc_sem_init(&r->ping, 0)) != NMC_OK || (st = nmc_sem_init(&r->pong, 0)) != NMC_OK ||
        (st = nmc_mutex_init(&r->mutex, NMC_MUTEX_NORMAL)) != NMC_OK ||
        (st = nmc_cond_init(&r->cond)) != NMC_OK)
        return st;
    return nmc_wait_set_init(&r->wait_set, WAIT_ENTRIES);
}

static void region_close(struct sync_region *r)
{
    sem_destroy(&r->posix_ping);
    sem_destroy(&r->posix_pong);
    pthread_cond_destroy(&r->pt_cond);
    pthread_mutex_destroy(&r->pt_mutex);
    nmc_procs_unmap_shared(r, region_size());
}

/* ---- semaphores --------------------------------------------------------- */

static inline int sem_post_any(enum impl which, nmc_sem *s, sem_t *p)
{
    if (which == NMC)
        return nmc_sem_post(s);
    return sem_post(p) == 0 ? NMC_OK : NMC_ESYS;
}

static inline int sem_wait_any(enum impl which, nmc_sem *s, sem_t *p)
{
    if (which == NMC)
        return nmc_sem_wait(s);
    return sem_wait(p) == 0 ? NMC_OK : NMC_ESYS;
}

static void bm_post_wait(nmc_bench_state *st)
{
    enum impl which = *(const enum impl *)nmc_bench_user(st);
    struct sync_region *r;
    int rc = region_open(&r);
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n && rc == NMC_OK; i++) {
            rc = sem_post_any(which, &r->ping, &r->posix_ping);
            if (rc == NMC_OK)
                rc = sem_wait_any(which, &r->ping, &r->posix_ping);
        }
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, "post/wait", rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    region_close(r);
}

struct pingpong_arg {
    enum impl which;
    struct sync_region *r;
};

static int sem_pingpong_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    const struct pingpong_arg *a = w->arg;
    struct sync_region *r = a->r;
    bool first = w->index == 0;
    for (uint64_t i = 0; i < w->ops; i++) {
        int st;
        if (first) {
            uint64_t t0 = nmc_stats_now_ns();
            st = sem_post_any(a->which, &r->ping, &r->posix_ping);
            if (st == NMC_OK)
                st = sem_wait_any(a->which, &r->pong, &r->posix_pong);
            nmc_procs_sample(w, nmc_stats_now_ns() - t0);
        } else {
            st = sem_wait_any(a->which, &r->ping, &r->posix_ping);
            if (st == NMC_OK)
                st = sem_post_any(a->which, &r->pong, &r->posix_pong);
        }
        if (st != NMC_OK)
            return st;
    }
    nmc_procs_pingpong_done(w, done);
    return NMC_OK;
}

/* ---- condition variables -------------------------------------------------- */

/* My turn: wait until turn == me, pass it on, signal. */
static int nmc_turn(struct sync_region *r, nmc_wait_entry *we, uint32_t me)
{
    int st = nmc_mutex_lock(&r->mutex);
    while (st == NMC_OK && r->turn != me)
        st = nmc_cond_wait(we, &r->cond, &r->mutex);
    if (st != NMC_OK)
        return st;
    r->turn = 1 - me;
    st = nmc_cond_signal(&r->cond);
    int st2 = nmc_mutex_unlock(&r->mutex);
    return st != NMC_OK ? st : st2;
}

static int pthread_turn(struct sync_region *r, uint32_t me)
{
    if (pthread_mutex_lock(&r->pt_mutex) != 0)
        return NMC_ESYS;
    int rc = 0;
    while (rc == 0 && r->turn != me)
        rc = pthread_cond_wait(&r->pt_cond, &r->pt_mutex);
    r->turn = 1 - me;
    if (rc == 0)
        rc = pthread_cond_signal(&r->pt_cond);
    pthread_mutex_unlock(&r->pt_mutex);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static int cond_pingpong_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    const struct pingpong_arg *a = w->arg;
    uint32_t me = (uint32_t)w->index;
    nmc_wait_entry we;
    int st = a->which == NMC ? nmc_wait_entry_alloc(&a->r->wait_set, &we) : NMC_OK;
    for (uint64_t i = 0; st == NMC_OK && i < w->ops; i++) {
        /* Process 0 times from one pass of the turn to the next: the
         * other's turn and both wake-ups; its first turn waits for nobody. */
        bool timed = me == 0 && i > 0;
        uint64_t t0 = timed ? nmc_stats_now_ns() : 0;
        st = a->which == NMC ? nmc_turn(a->r, &we, me) : pthread_turn(a->r, me);
        if (timed)
            nmc_procs_sample(w, nmc_stats_now_ns() - t0);
    }
    if (a->which == NMC)
        nmc_wait_entry_free(&we);
    nmc_procs_pingpong_done(w, done);
    return st;
}

static void bm_pingpong(nmc_bench_state *st, nmc_procs_fn fn)
{
    struct pingpong_arg a = {.which = *(const enum impl *)nmc_bench_user(st)};
    int rc = region_open(&a.r);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "init", rc);
        return;
    }
    struct nmc_procs_spec spec = {.nprocs = 2, .fn = fn, .arg = &a, .ops = PINGPONG_ROUNDS,
                                  .samples_per_worker = PINGPONG_ROUNDS};
    nmc_procs_bench_run(st, &spec);
    region_close(a.r);
}

static void bm_sem_pingpong(nmc_bench_state *st)
{
    bm_pingpong(st, sem_pingpong_worker);
}

static void bm_cond_pingpong(nmc_bench_state *st)
{
    bm_pingpong(st, cond_pingpong_worker);
}

NMC_BENCH_REGISTER(register_sem_cond)
{
    nmc_bench_register_with("sem/post_wait/nmc", bm_post_wait, (void *)&nmc_impl);
    nmc_bench_register_with("sem/post_wait/posix_sem", bm_post_wait, (void *)&peer_impl);
    nmc_bench_use_manual_time(
        nmc_bench_register_with("sem/pingpong_2proc/nmc", bm_sem_pingpong, (void *)&nmc_impl));
    nmc_bench_use_manual_time(nmc_bench_register_with("sem/pingpong_2proc/posix_sem",
                                                      bm_sem_pingpong, (void *)&peer_impl));
    nmc_bench_use_manual_time(
        nmc_bench_register_with("cond/pingpong_2proc/nmc", bm_cond_pingpong, (void *)&nmc_impl));
    nmc_bench_use_manual_time(nmc_bench_register_with("cond/pingpong_2proc/pthread_cond",
                                                      bm_cond_pingpong, (void *)&peer_impl));
}
