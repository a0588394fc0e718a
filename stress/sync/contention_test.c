/* stress/sync/contention_test.c - many processes hammering one mutex,
 * semaphore or condition at once; nothing may be lost or counted twice.
 *
 * 2 processes per CPU (at least 4), each mapping the region at its own
 * address, run each case for a third of NMC_STRESS_SECONDS (short form:
 * a third of a second each):
 *   mutexes    every process increments two non-atomic counters, one
 *              under a NORMAL mutex, one under a RECURSIVE mutex taken
 *              twice, with a window between read and write; locks go by
 *              lock, timedlock and trylock in turn. Each counter must
 *              equal the sum of the per-process increments.
 *   sem        half the processes produce into a ring through semaphores
 *              (free slots, filled slots, and a binary one as the ring's
 *              lock), half consume; the last producer sends one poison
 *              item per consumer. Items and sums produced == consumed.
 *   cond       the same with a queue under a mutex: a producer puts an
 *              item, signals `not_empty` and waits on `consumed` until a
 *              consumer acknowledges that item (and broadcasts). With one
 *              item in flight per producer the system goes quiet often, so
 *              a lost wake-up stalls it instead of being healed by the next
 *              signal. The last producer sets `done` and broadcasts.
 * Every wait is timed (3 s): a lost post or wake-up shows up as a timeout,
 * counted and reported as a failure. Once every worker is done, and while
 * all are still alive and idle, every sleeper queue must be empty: a slot
 * kept by a live process is only reclaimed when it dies. One summary line
 * per case.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nmc/sync.h"
#include "nmc_test.h"
#include "stress_sync.h"

enum {
    MAX_PROCS = 64,
    RING = 16,        /* semaphore ring                      */
    CHILD_SLACK = 30, /* seconds past the run before SIGALRM */
};

/* Bound of every wait: a wait this long is taken for a lost wake-up. */
static const double LIMIT = 3.0;
/* Cases of the suite, each given this share of the run. */
static const double SHARE = 1.0 / 3;

/* What one process did. */
struct result {
    uint64_t n;        /* increments, items produced or consumed   */
    uint64_t sum;      /* sum of the items                          */
    uint32_t timeouts; /* waits that expired                        */
    uint32_t failed;   /* step that failed, 0 if none               */
};

struct shared {
    double end;             /* now_s() when the workers stop          */
    uint32_t nprocs;
    uint32_t nproducers;
    uint32_t producers_left;
    uint32_t finished;      /* workers done and idle                  */
    uint32_t released;      /* set once the parent checked them idle  */

    /* mutexes */
    nmc_mutex normal, recursive;
    uint64_t normal_count, recursive_count;

    /* semaphore ring */
    nmc_sem free_slots, filled, ring_lock;
    uint32_t head, tail;
    uint64_t ring[RING];

    /* condition queue: at most one item per producer in it */
    nmc_mutex qm;
    nmc_cond not_empty, consumed;
    uint32_t qhead, qcount, done;
    uint64_t queue[MAX_PROCS];
    uint64_t acked[MAX_PROCS]; /* per producer, its last item consumed */

    struct result res[MAX_PROCS];
};

/* The wait set follows the shared structure. */
enum { SET_OFF = (sizeof(struct shared) + 63) & ~(size_t)63 };

static struct shm_region R;

static nmc_wait_set *set_of(void *base)
{
    return (nmc_wait_set *)((char *)base + SET_OFF);
}

static void setup(void)
{
    size_t size = SET_OFF + nmc_wait_set_size(MAX_PROCS);
    shm_region_create(&R, (size + 4095) & ~(size_t)4095);
}

static void teardown(void)
{
    shm_region_destroy(&R);
}

/* The region zeroed for a new case (an earlier one left its objects
 * destroyed, which may mean filled with a poison pattern). */
static struct shared *fresh_region(void)
{
    memset(R.first, 0, R.size);
    return R.first;
}

static int nprocs(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long n = cpus > 2 ? 2 * cpus : 4;
    return n < MAX_PROCS ? (int)n : MAX_PROCS;
}

static double share_seconds(void)
{
    double s = stress_seconds();
    return (s > 0 ? s : 1.0) * SHARE;
}

static struct timespec deadline_in(double seconds)
{
    struct timespec d;
    nmc_deadline_in(seconds, &d);
    return d;
}

/* Whether the run is over at step i; reads the clock every 64 steps
 * (none before the 64th, so a late starter still does some work). */
static bool time_up(const struct shared *s, uint64_t i)
{
    return i % 64 == 63 && now_s() >= s->end;
}

/* Sleeper queue slots taken in every object: with all workers idle, any
 * is a slot a live process never gave back. */
static uint32_t slots_taken(const struct shared *s)
{
    const struct nmc_sync_queue *q[] = {&s->normal.q,     &s->recursive.q, &s->qm.q,
                                        &s->free_slots.q, &s->filled.q,    &s->ring_lock.q};
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        n += __atomic_load_n(&q[i]->nqueued, __ATOMIC_SEQ_CST);
    return n;
}

static int (*case_worker)(void *base, int id); /* the case running, set before fork */

/* Runs the case's worker, then stays alive, idle, until the parent has
 * looked at the queues (a slot leaked by a live process would be reaped
 * once it exits, and go unseen). */
static int worker_main(void *base, int id)
{
    struct shared *s = base;
    int st = case_worker(base, id);
    __atomic_fetch_add(&s->finished, 1, __ATOMIC_SEQ_CST);
    test_poll_until(&s->released, 1, LIMIT);
    return st;
}

/* Runs worker in n children until s->end, checks the queues once all are
 * idle, reaps them, and fails the test if any failed. */
static void run_workers(struct shared *s, int (*worker)(void *base, int id), int n)
{
    pid_t pid[MAX_PROCS];
    s->nprocs = (uint32_t)n;
    s->finished = s->released = 0;
    s->end = now_s() + share_seconds();
    memset(s->res, 0, sizeof s->res);
    case_worker = worker;
    for (int i = 0; i < n; i++)
        pid[i] = spawn_child(&R, worker_main, i, (unsigned)share_seconds() + CHILD_SLACK);
    bool idle = test_poll_until(&s->finished, (uint32_t)n, share_seconds() + 2 * LIMIT);
    uint32_t leaked = slots_taken(s);
    __atomic_store_n(&s->released, 1, __ATOMIC_SEQ_CST);
    int failed = 0;
    uint32_t timeouts = 0;
    for (int i = 0; i < n; i++) {
        failed += !reap_child(pid[i], false, "worker");
        timeouts += s->res[i].timeouts;
        if (s->res[i].failed != 0)
            fprintf(stderr, "worker %d: failed at step %u\n", i, s->res[i].failed);
    }
    assert_no_children();
    ck_assert_msg(timeouts == 0, "%u waits timed out (lost wake-ups?)", timeouts);
    ck_assert_int_eq(failed, 0);
    ck_assert_msg(idle, "workers did not finish");
    /* With every worker idle, no sleeper queue may hold a slot: a slot left
     * taken by a live process (a lost release) would make every later
     * contended call sleep the whole poll interval. */
    ck_assert_msg(leaked == 0, "%u queue slots still taken with every worker idle", leaked);
}

/* Ends a worker: records the failed step (0: none) as its exit status. */
static int finish(struct result *r, uint32_t step)
{
    r->failed = step;
    return (int)step;
}

/* Records the status of an operation; true if it failed. */
static bool failed_op(struct result *r, int st)
{
    if (st == NMC_ETIMEDOUT)
        r->timeouts++;
    return st != NMC_OK;
}

/* Total of n or (sums) of sum over the results first .. first + n - 1. */
static uint64_t total(const struct shared *s, int first, int n, bool sums)
{
    uint64_t t = 0;
    for (int i = first; i < first + n; i++)
        t += sums ? s->res[i].sum : s->res[i].n;
    return t;
}

/* ---- mutexes ------------------------------------------------------------ */

/* A non-atomic increment, with a window for a second holder to slip in. */
static void bump(uint64_t *counter)
{
    uint64_t v = *(volatile uint64_t *)counter;
    for (int k = 0; k < 16; k++)
        __asm__ __volatile__("" ::: "memory");
    *(volatile uint64_t *)counter = v + 1;
}

/* Locks m by lock, timedlock or trylock (retried), by turns. */
static int lock_by_turns(nmc_mutex *m, uint64_t turn)
{
    switch (turn % 3) {
    case 0:
        return nmc_mutex_lock(m);
    case 1: {
        struct timespec d = deadline_in(LIMIT);
        return nmc_mutex_timedlock(m, &d);
    }
    default: {
        int st;
        double give_up = now_s() + LIMIT;
        while ((st = nmc_mutex_trylock(m)) == NMC_EBUSY && now_s() < give_up)
            sched_yield();
        return st;
    }
    }
}

static int mutex_worker(void *base, int id)
{
    struct shared *s = base;
    struct result *r = &s->res[id];
    for (uint64_t i = 0; !time_up(s, i); i++) {
        if (failed_op(r, lock_by_turns(&s->normal, i)))
            return finish(r, 1);
        bump(&s->normal_count);
        if (nmc_mutex_unlock(&s->normal) != NMC_OK)
            return finish(r, 2);
        /* Two levels of the recursive one. */
        if (failed_op(r, lock_by_turns(&s->recursive, i + 1)) ||
            nmc_mutex_lock(&s->recursive) != NMC_OK)
            return finish(r, 3);
        bump(&s->recursive_count);
        if (nmc_mutex_unlock(&s->recursive) != NMC_OK || nmc_mutex_unlock(&s->recursive) != NMC_OK)
            return finish(r, 4);
        r->n++;
    }
    return finish(r, 0);
}

START_TEST(mutex_counters)
{
    struct shared *s = fresh_region();
    int n = nprocs();
    ck_assert_ok(nmc_mutex_init(&s->normal, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_init(&s->recursive, NMC_MUTEX_RECURSIVE));
    run_workers(s, mutex_worker, n);
    uint64_t ops = total(s, 0, n, false);
    ck_assert_uint_gt(ops, 0);
    ck_assert_uint_eq(s->normal_count, ops);
    ck_assert_uint_eq(s->recursive_count, ops);
    ck_assert_ok(nmc_mutex_check(&s->normal));
    ck_assert_ok(nmc_mutex_check(&s->recursive));
    ck_assert_ok(nmc_mutex_destroy(&s->normal));
    ck_assert_ok(nmc_mutex_destroy(&s->recursive));
    printf("stress sync contention mutex: procs=%d seconds=%.2f increments=%llu exact=yes\n", n,
           share_seconds(), (unsigned long long)ops);
}
END_TEST

/* ---- producers and consumers ----------------------------------------- */

/* Items are never 0 (the poison item): producer id + 1 in the high half. */
static uint64_t item(int producer, uint64_t seq)
{
    return (uint64_t)(producer + 1) << 32 | (seq & 0xffffffffu);
}

/* A ring of items: through semaphores, or under a mutex and conditions. */
struct ring_ops {
    /* Puts / takes one item: NMC_OK, NMC_ETIMEDOUT, or another failure. */
    int (*put)(struct shared *s, nmc_wait_entry *we, uint64_t v);
    int (*take)(struct shared *s, nmc_wait_entry *we, uint64_t *v);
    /* Called by the last producer to finish: ends the consumers. */
    int (*close)(struct shared *s, nmc_wait_entry *we);
};

static int sem_down(nmc_sem *sem)
{
    struct timespec d = deadline_in(LIMIT);
    return nmc_sem_timedwait(sem, &d);
}

static int sem_put(struct shared *s, nmc_wait_entry *we, uint64_t v)
{
    int st;
    if ((st = sem_down(&s->free_slots)) != NMC_OK || (st = sem_down(&s->ring_lock)) != NMC_OK)
        return st;
    s->ring[s->tail++ % RING] = v;
    if ((st = nmc_sem_post(&s->ring_lock)) != NMC_OK)
        return st;
    return nmc_sem_post(&s->filled);
}

static int sem_take(struct shared *s, nmc_wait_entry *we, uint64_t *v)
{
    int st;
    if ((st = sem_down(&s->filled)) != NMC_OK || (st = sem_down(&s->ring_lock)) != NMC_OK)
        return st;
    *v = s->ring[s->head++ % RING];
    if ((st = nmc_sem_post(&s->ring_lock)) != NMC_OK)
        return st;
    return nmc_sem_post(&s->free_slots);
}

/* One poison item per consumer. */
static int sem_close(struct shared *s, nmc_wait_entry *we)
{
    int st = NMC_OK;
    for (uint32_t i = s->nproducers; i < s->nprocs && st == NMC_OK; i++)
        st = sem_put(s, we, 0);
    return st;
}

/* Waits on c until pred(s, v) holds; qm is held. */
static int cond_await(struct shared *s, nmc_wait_entry *we, nmc_cond *c,
                      bool (*pred)(const struct shared *, uint64_t), uint64_t v)
{
    struct timespec d = deadline_in(LIMIT);
    while (!pred(s, v)) {
        int st = nmc_cond_timedwait(we, c, &s->qm, &d);
        if (st != NMC_OK)
            return st;
    }
    return NMC_OK;
}

static int producer_of(uint64_t v)
{
    return (int)(v >> 32) - 1;
}

static bool is_acked(const struct shared *s, uint64_t v)
{
    return s->acked[producer_of(v)] == v;
}

static bool has_item_or_done(const struct shared *s, uint64_t unused)
{
    return s->qcount > 0 || s->done;
}

/* Unlocks qm after st, keeping the first failure. */
static int unlock_after(struct shared *s, int st)
{
    int ust = nmc_mutex_unlock(&s->qm);
    return st != NMC_OK ? st : ust;
}

static int qm_lock(struct shared *s)
{
    struct timespec d = deadline_in(LIMIT);
    return nmc_mutex_timedlock(&s->qm, &d);
}

static int cond_put(struct shared *s, nmc_wait_entry *we, uint64_t v)
{
    int st = qm_lock(s);
    if (st != NMC_OK)
        return st;
    s->queue[(s->qhead + s->qcount++) % MAX_PROCS] = v;
    if ((st = nmc_cond_signal(&s->not_empty)) == NMC_OK)
        st = cond_await(s, we, &s->consumed, is_acked, v);
    return unlock_after(s, st);
}

/* Takes an item, or 0 once the queue is empty and done. */
static int cond_take(struct shared *s, nmc_wait_entry *we, uint64_t *v)
{
    int st = qm_lock(s);
    if (st != NMC_OK)
        return st;
    if ((st = cond_await(s, we, &s->not_empty, has_item_or_done, 0)) == NMC_OK) {
        *v = 0;
        if (s->qcount > 0) {
            *v = s->queue[s->qhead++ % MAX_PROCS];
            s->qcount--;
            s->acked[producer_of(*v)] = *v;
            st = nmc_cond_broadcast(&s->consumed);
        }
    }
    return unlock_after(s, st);
}

static int cond_close(struct shared *s, nmc_wait_entry *we)
{
    int st = qm_lock(s);
    if (st != NMC_OK)
        return st;
    s->done = 1;
    return unlock_after(s, nmc_cond_broadcast(&s->not_empty));
}

static const struct ring_ops sem_ring = {sem_put, sem_take, sem_close};
static const struct ring_ops cond_ring = {cond_put, cond_take, cond_close};
static const struct ring_ops *ring_ops; /* the case running, set before fork */

/* Ids below nproducers produce until the end; the others consume until a
 * poison item. */
static int ring_worker(void *base, int id)
{
    struct shared *s = base;
    struct result *r = &s->res[id];
    nmc_wait_entry we;
    if (nmc_wait_entry_alloc(set_of(base), &we) != NMC_OK)
        return finish(r, 1);
    if ((uint32_t)id < s->nproducers) {
        for (uint64_t i = 0; !time_up(s, i); i++) {
            uint64_t v = item(id, i);
            if (failed_op(r, ring_ops->put(s, &we, v)))
                return finish(r, 2);
            r->n++;
            r->sum += v;
        }
        if (__atomic_sub_fetch(&s->producers_left, 1, __ATOMIC_SEQ_CST) == 0 &&
            failed_op(r, ring_ops->close(s, &we)))
            return finish(r, 3);
    } else {
        for (;;) {
            uint64_t v;
            if (failed_op(r, ring_ops->take(s, &we, &v)))
                return finish(r, 4);
            if (v == 0)
                break;
            r->n++;
            r->sum += v;
        }
    }
    return finish(r, nmc_wait_entry_free(&we) == NMC_OK ? 0 : 5);
}

/* Runs a producer/consumer case over ops and checks the totals. */
static void run_ring(struct shared *s, const struct ring_ops *ops, const char *name)
{
    int n = nprocs();
    s->nproducers = s->producers_left = (uint32_t)n / 2;
    ck_assert_ok(nmc_wait_set_init(set_of(R.first), MAX_PROCS));
    ring_ops = ops;
    run_workers(s, ring_worker, n);
    int np = (int)s->nproducers;
    uint64_t items = total(s, 0, np, false);
    ck_assert_uint_gt(items, 0);
    ck_assert_uint_eq(total(s, np, n - np, false), items);
    ck_assert_uint_eq(total(s, np, n - np, true), total(s, 0, np, true));
    ck_assert_ok(nmc_wait_set_check(set_of(R.first)));
    ck_assert_ok(nmc_wait_set_destroy(set_of(R.first)));
    printf("stress sync contention %s: producers=%d consumers=%d seconds=%.2f items=%llu "
           "timeouts=0 sums=equal\n",
           name, np, n - np, share_seconds(), (unsigned long long)items);
}

START_TEST(sem_bounded_buffer)
{
    struct shared *s = fresh_region();
    unsigned v;
    ck_assert_ok(nmc_sem_init(&s->free_slots, RING));
    ck_assert_ok(nmc_sem_init(&s->filled, 0));
    ck_assert_ok(nmc_sem_init(&s->ring_lock, 1));
    run_ring(s, &sem_ring, "sem");
    ck_assert_ok(nmc_sem_getvalue(&s->free_slots, &v));
    ck_assert_uint_eq(v, RING);
    ck_assert_ok(nmc_sem_getvalue(&s->filled, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert_ok(nmc_sem_getvalue(&s->ring_lock, &v));
    ck_assert_uint_eq(v, 1);
    ck_assert_ok(nmc_sem_destroy(&s->free_slots));
    ck_assert_ok(nmc_sem_destroy(&s->filled));
    ck_assert_ok(nmc_sem_destroy(&s->ring_lock));
}
END_TEST

START_TEST(cond_queue)
{
    struct shared *s = fresh_region();
    ck_assert_ok(nmc_mutex_init(&s->qm, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_cond_init(&s->not_empty));
    ck_assert_ok(nmc_cond_init(&s->consumed));
    run_ring(s, &cond_ring, "cond");
    ck_assert_uint_eq(s->qcount, 0);
    ck_assert_ok(nmc_cond_check(&s->not_empty));
    ck_assert_ok(nmc_cond_destroy(&s->not_empty));
    ck_assert_ok(nmc_cond_destroy(&s->consumed));
    ck_assert_ok(nmc_mutex_destroy(&s->qm));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_contention");
    TCase *tc = tcase_create("contention");
    /* Unchecked: the region is made once and removed even if a case fails. */
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, mutex_counters);
    tcase_add_test(tc, sem_bounded_buffer);
    tcase_add_test(tc, cond_queue);
    suite_add_tcase(s, tc);
    return s;
}
