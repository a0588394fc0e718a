/* Tests of the shared-memory mutexes (nmc/sync.h): dummies, every kind's
 * relock and unlock rules, timed locks, FIFO wake order, dead owners of
 * every kind (with and without nmc_mutex_consistent), counting across
 * processes that map the object at different addresses, thread identity
 * and the fork child's identity, check. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/sync.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "shm_region.h"

/* ---- a shm object mapped twice, at two addresses ----------------------- */

enum { REGION = 1 << 16 };

struct shared {
    nmc_mutex m;        /* the mutex under test                     */
    uint32_t flag;      /* child -> parent progress                 */
    uint32_t norder;    /* entries in order                         */
    uint32_t order[8];  /* who got the lock, in order               */
    uint64_t counter;   /* protected by m                           */
};

static struct shm_region region;
static struct shared *S;  /* first mapping  */
static struct shared *S2; /* second mapping, elsewhere */

static void region_setup(void)
{
    shm_region_create(&region, REGION);
    S = region.first;
    S2 = region.second;
}

static void region_teardown(void)
{
    shm_region_destroy(&region);
}

/* A child mapping the object afresh by name, at an address of its own. */
static struct shared *child_map(void)
{
    return shm_region_child_map(&region);
}

static void raise_flag(struct shared *s, uint32_t v)
{
    __atomic_store_n(&s->flag, v, __ATOMIC_SEQ_CST);
}

/* ---- dummies and arguments ---------------------------------------------- */

START_TEST(dummy_gives_einval)
{
    nmc_mutex m;
    memset(&m, 0, sizeof m);
    struct timespec d;
    nmc_deadline_in(0.01, &d);
    ck_assert_status(nmc_mutex_lock(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_trylock(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_timedlock(&m, &d), NMC_EINVAL);
    ck_assert_status(nmc_mutex_unlock(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_consistent(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_destroy(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_check(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_lock(NULL), NMC_EINVAL);
    ck_assert_status(nmc_mutex_init(NULL, NMC_MUTEX_NORMAL), NMC_EINVAL);
    ck_assert_status(nmc_mutex_init(&m, 0), NMC_EINVAL);
    ck_assert_status(nmc_mutex_init(&m, 4), NMC_EINVAL);
    ck_assert_status(nmc_mutex_lock(&m), NMC_EINVAL);
}
END_TEST

START_TEST(destroyed_gives_einval)
{
    nmc_mutex m;
    ck_assert_ok(nmc_mutex_init(&m, NMC_MUTEX_ERRORCHECK));
    ck_assert_ok(nmc_mutex_lock(&m));
    ck_assert_status(nmc_mutex_destroy(&m), NMC_EBUSY);
    ck_assert_ok(nmc_mutex_unlock(&m));
    ck_assert_ok(nmc_mutex_destroy(&m));
    ck_assert_status(nmc_mutex_lock(&m), NMC_EINVAL);
    ck_assert_status(nmc_mutex_destroy(&m), NMC_EINVAL);
}
END_TEST

/* ---- kinds ---------------------------------------------------------------- */

START_TEST(each_kind_locks_and_unlocks)
{
    for (int kind = NMC_MUTEX_NORMAL; kind <= NMC_MUTEX_RECURSIVE; kind++) {
        nmc_mutex m;
        ck_assert_ok(nmc_mutex_init(&m, kind));
        ck_assert_ok(nmc_mutex_lock(&m));
        ck_assert_ok(nmc_mutex_check(&m));
        ck_assert_ok(nmc_mutex_unlock(&m));
        ck_assert_status(nmc_mutex_unlock(&m), NMC_EPERM);
        ck_assert_ok(nmc_mutex_trylock(&m));
        ck_assert_ok(nmc_mutex_unlock(&m));
        ck_assert_ok(nmc_mutex_destroy(&m));
    }
}
END_TEST

START_TEST(errorcheck_relock_is_edeadlock)
{
    nmc_mutex m;
    ck_assert_ok(nmc_mutex_init(&m, NMC_MUTEX_ERRORCHECK));
    ck_assert_ok(nmc_mutex_lock(&m));
    ck_assert_status(nmc_mutex_lock(&m), NMC_EDEADLOCK);
    ck_assert_status(nmc_mutex_timedlock(&m, NULL), NMC_EDEADLOCK);
    ck_assert_status(nmc_mutex_trylock(&m), NMC_EBUSY);
    ck_assert_ok(nmc_mutex_unlock(&m));
    ck_assert_status(nmc_mutex_unlock(&m), NMC_EPERM);
}
END_TEST

START_TEST(normal_relock_blocks)
{
    nmc_mutex m;
    struct timespec d, t0;
    ck_assert_ok(nmc_mutex_init(&m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_lock(&m));
    ck_assert_status(nmc_mutex_trylock(&m), NMC_EBUSY);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nmc_deadline_in(0.05, &d);
    ck_assert_status(nmc_mutex_timedlock(&m, &d), NMC_ETIMEDOUT);
    ck_assert(test_elapsed_since(&t0) >= 0.049);
    ck_assert_ok(nmc_mutex_unlock(&m));
    ck_assert_ok(nmc_mutex_check(&m));
}
END_TEST

static void child_trylock_busy(int unused)
{
    struct shared *s = child_map();
    _exit(nmc_mutex_trylock(&s->m) == NMC_EBUSY && nmc_mutex_unlock(&s->m) == NMC_EPERM ? 0 : 1);
}

START_TEST(recursive_counts_levels)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_RECURSIVE));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_ok(nmc_mutex_trylock(&S->m));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    /* Still held at depth 1: the original's bug let others in here. */
    test_reap_ok(test_spawn(child_trylock_busy, 0));
    ck_assert_ok(nmc_mutex_check(&S->m));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    ck_assert_status(nmc_mutex_unlock(&S->m), NMC_EPERM);
    ck_assert_ok(nmc_mutex_trylock(&S2->m));
    ck_assert_ok(nmc_mutex_unlock(&S2->m));
}
END_TEST

/* Whatever kind: a fork child is a different owner, even with the parent's
 * thread-id cache copied into it. */
static void child_not_owner(int unused)
{
    _exit(nmc_mutex_trylock(&S->m) == NMC_EBUSY && nmc_mutex_unlock(&S->m) == NMC_EPERM ? 0 : 1);
}

START_TEST(fork_child_is_not_owner)
{
    for (int kind = NMC_MUTEX_NORMAL; kind <= NMC_MUTEX_RECURSIVE; kind++) {
        ck_assert_ok(nmc_mutex_init(&S->m, kind));
        ck_assert_ok(nmc_mutex_lock(&S->m));
        test_reap_ok(test_spawn(child_not_owner, 0));
        ck_assert_ok(nmc_mutex_unlock(&S->m));
    }
}
END_TEST

static void *thread_unlock(void *m)
{
    return (void *)(intptr_t)nmc_mutex_unlock(m);
}

START_TEST(other_thread_is_not_owner)
{
    pthread_t t;
    void *ret;
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_int_eq(pthread_create(&t, NULL, thread_unlock, &S->m), 0);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert_int_eq((int)(intptr_t)ret, NMC_EPERM);
    ck_assert_ok(nmc_mutex_unlock(&S->m));
}
END_TEST

/* ---- across processes --------------------------------------------------- */

static void child_hold(int ms)
{
    struct shared *s = child_map();
    if (nmc_mutex_lock(&s->m) != NMC_OK)
        _exit(1);
    raise_flag(s, 1);
    usleep((useconds_t)ms * 1000);
    _exit(nmc_mutex_unlock(&s->m) == NMC_OK ? 0 : 2);
}

START_TEST(timedlock_expires_and_waits)
{
    struct timespec d, t0;
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_ERRORCHECK));
    pid_t pid = test_spawn(child_hold, 400);
    test_await(&S->flag, 1);
    ck_assert_status(nmc_mutex_trylock(&S->m), NMC_EBUSY);
    ck_assert_status(nmc_mutex_unlock(&S->m), NMC_EPERM);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nmc_deadline_in(0.1, &d);
    ck_assert_status(nmc_mutex_timedlock(&S->m, &d), NMC_ETIMEDOUT);
    ck_assert(test_elapsed_since(&t0) >= 0.099);
    nmc_deadline_in(5, &d);
    ck_assert_ok(nmc_mutex_timedlock(&S2->m, &d));
    ck_assert_ok(nmc_mutex_check(&S->m));
    ck_assert_ok(nmc_mutex_unlock(&S2->m));
    test_reap_ok(pid);
    ck_assert_uint_eq(S->m.q.nqueued, 0);
}
END_TEST

static void child_count(int n)
{
    struct shared *s = child_map();
    for (int i = 0; i < n; i++) {
        if (nmc_mutex_lock(&s->m) != NMC_OK)
            _exit(1);
        s->counter++;
        if (nmc_mutex_unlock(&s->m) != NMC_OK)
            _exit(2);
    }
}

START_TEST(processes_count_exactly)
{
    enum { N = 4, OPS = 20000 };
    for (int kind = NMC_MUTEX_NORMAL; kind <= NMC_MUTEX_RECURSIVE; kind++) {
        pid_t pid[N];
        ck_assert_ok(nmc_mutex_init(&S->m, kind));
        S->counter = 0;
        for (int i = 0; i < N; i++)
            pid[i] = test_spawn(child_count, OPS);
        for (int i = 0; i < N; i++)
            test_reap_ok(pid[i]);
        ck_assert_uint_eq(S->counter, (uint64_t)N * OPS);
        ck_assert_ok(nmc_mutex_check(&S->m));
        ck_assert_ok(nmc_mutex_destroy(&S->m));
    }
}
END_TEST

static void child_queue(int id)
{
    struct shared *s = child_map();
    if (nmc_mutex_lock(&s->m) != NMC_OK)
        _exit(1);
    s->order[s->norder++] = (uint32_t)id;
    _exit(nmc_mutex_unlock(&s->m) == NMC_OK ? 0 : 2);
}

START_TEST(sleepers_wake_in_fifo_order)
{
    enum { N = 5 };
    pid_t pid[N];
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    for (int i = 0; i < N; i++) {
        pid[i] = test_spawn(child_queue, i);
        test_await(&S->m.q.nqueued, (uint32_t)i + 1);
    }
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    for (int i = 0; i < N; i++)
        test_reap_ok(pid[i]);
    ck_assert_uint_eq(S->norder, N);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(S->order[i], (uint32_t)i);
}
END_TEST

/* ---- dead owners ---------------------------------------------------------- */

static void child_die_holding(int recursive_depth)
{
    struct shared *s = child_map();
    for (int i = 0; i < recursive_depth; i++)
        if (nmc_mutex_lock(&s->m) != NMC_OK)
            _exit(1);
    s->counter = 666; /* half-done update */
    raise_flag(s, 1);
    usleep(100 * 1000);
    kill(getpid(), SIGKILL);
}

/* Locks a mutex whose owner is killed while we sleep on it; checks the
 * status arrives within a second and that we own the mutex. */
static void lock_after_death(int kind, bool repair)
{
    struct timespec t0;
    ck_assert_ok(nmc_mutex_init(&S->m, kind));
    S->flag = 0;
    pid_t pid = test_spawn(child_die_holding, kind == NMC_MUTEX_RECURSIVE ? 3 : 1);
    test_await(&S->flag, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_status(nmc_mutex_lock(&S2->m), NMC_EOWNER_DEAD);
    ck_assert(test_elapsed_since(&t0) < 1.0);
    ck_assert_uint_eq(S->counter, 666);
    ck_assert_ok(nmc_mutex_check(&S->m));
    if (repair) {
        S->counter = 0;
        ck_assert_ok(nmc_mutex_consistent(&S->m));
        ck_assert_status(nmc_mutex_consistent(&S->m), NMC_EINVAL);
        ck_assert_ok(nmc_mutex_unlock(&S->m));
        ck_assert_status(nmc_mutex_unlock(&S->m), NMC_EPERM);
        ck_assert_ok(nmc_mutex_lock(&S->m));
        ck_assert_ok(nmc_mutex_unlock(&S->m));
    } else {
        ck_assert_ok(nmc_mutex_unlock(&S->m));
        ck_assert_status(nmc_mutex_lock(&S->m), NMC_ENOT_RECOVERABLE);
        ck_assert_status(nmc_mutex_trylock(&S2->m), NMC_ENOT_RECOVERABLE);
        ck_assert_status(nmc_mutex_unlock(&S->m), NMC_EPERM);
        ck_assert_ok(nmc_mutex_destroy(&S->m));
        ck_assert_ok(nmc_mutex_init(&S->m, kind));
        ck_assert_ok(nmc_mutex_lock(&S->m));
        ck_assert_ok(nmc_mutex_unlock(&S->m));
    }
    test_reap_killed(pid);
}

START_TEST(dead_owner_then_consistent)
{
    lock_after_death(_i, true);
}
END_TEST

START_TEST(dead_owner_not_made_consistent)
{
    lock_after_death(_i, false);
}
END_TEST

static void child_die_at_once(int unused)
{
    struct shared *s = child_map();
    if (nmc_mutex_lock(&s->m) != NMC_OK)
        _exit(1);
    raise_flag(s, 1);
    kill(getpid(), SIGKILL);
}

START_TEST(trylock_sees_dead_owner_unreaped)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_ERRORCHECK));
    S->flag = 0;
    pid_t pid = test_spawn(child_die_at_once, 0);
    test_await(&S->flag, 1);
    /* Not reaped yet: the owner is a zombie, which still counts as dead. */
    int st = NMC_EBUSY;
    for (int i = 0; i < 2000 && st == NMC_EBUSY; i++) {
        st = nmc_mutex_trylock(&S->m);
        if (st == NMC_EBUSY)
            usleep(1000);
    }
    ck_assert_status(st, NMC_EOWNER_DEAD);
    ck_assert_status(nmc_mutex_trylock(&S->m), NMC_EBUSY);
    ck_assert_ok(nmc_mutex_consistent(&S->m));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    test_reap_killed(pid);
}
END_TEST

static void child_consistent_not_owner(int unused)
{
    _exit(nmc_mutex_consistent(&S->m) == NMC_EPERM ? 0 : 1);
}

START_TEST(consistent_needs_owner_and_state)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_status(nmc_mutex_consistent(&S->m), NMC_EPERM);
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_status(nmc_mutex_consistent(&S->m), NMC_EINVAL);
    test_reap_ok(test_spawn(child_consistent_not_owner, 0));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
}
END_TEST

static void child_sleep_then_die(int unused)
{
    struct shared *s = child_map();
    nmc_mutex_lock(&s->m); /* sleeps: the parent holds it */
    _exit(1);
}

START_TEST(dead_sleeper_is_skipped)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    pid_t dead = test_spawn(child_sleep_then_die, 0);
    test_await(&S->m.q.nqueued, 1);
    pid_t live = test_spawn(child_queue, 7);
    test_await(&S->m.q.nqueued, 2);
    kill(dead, SIGKILL);
    test_reap_killed(dead);
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    test_reap_ok(live);
    ck_assert_uint_eq(S->order[0], 7);
    ck_assert_ok(nmc_mutex_destroy(&S->m)); /* the dead slot is reaped */
}
END_TEST

START_TEST(check_finds_corruption)
{
    nmc_mutex m;
    ck_assert_ok(nmc_mutex_init(&m, NMC_MUTEX_RECURSIVE));
    ck_assert_ok(nmc_mutex_lock(&m));
    m.count = 0;
    ck_assert_status(nmc_mutex_check(&m), NMC_ECORRUPT);
    m.count = 1;
    ck_assert_ok(nmc_mutex_check(&m));
    m.q.nqueued = 3;
    ck_assert_status(nmc_mutex_check(&m), NMC_ECORRUPT);
    m.q.nqueued = 0;
    m.kind = 9;
    ck_assert_status(nmc_mutex_check(&m), NMC_ECORRUPT);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_mutex");
    TCase *tc = tcase_create("mutex");
    tcase_add_checked_fixture(tc, region_setup, region_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, dummy_gives_einval);
    tcase_add_test(tc, destroyed_gives_einval);
    tcase_add_test(tc, each_kind_locks_and_unlocks);
    tcase_add_test(tc, errorcheck_relock_is_edeadlock);
    tcase_add_test(tc, normal_relock_blocks);
    tcase_add_test(tc, recursive_counts_levels);
    tcase_add_test(tc, fork_child_is_not_owner);
    tcase_add_test(tc, other_thread_is_not_owner);
    tcase_add_test(tc, timedlock_expires_and_waits);
    tcase_add_test(tc, processes_count_exactly);
    tcase_add_loop_test(tc, dead_owner_then_consistent, NMC_MUTEX_NORMAL, NMC_MUTEX_RECURSIVE + 1);
    tcase_add_loop_test(tc, dead_owner_not_made_consistent, NMC_MUTEX_NORMAL,
                        NMC_MUTEX_RECURSIVE + 1);
    tcase_add_test(tc, trylock_sees_dead_owner_unreaped);
    tcase_add_test(tc, consistent_needs_owner_and_state);
    tcase_add_test(tc, dead_sleeper_is_skipped);
    tcase_add_test(tc, check_finds_corruption);
    suite_add_tcase(s, tc);
    /* Exact wake order holds at native speed; under valgrind (20x slower)
     * a sleeper's liveness poll can fall on the unlock and take the free
     * word first, so `./harness test --valgrind` excludes the tag. */
    TCase *timing = tcase_create("timing");
    tcase_set_tags(timing, "timing");
    tcase_add_checked_fixture(timing, region_setup, region_teardown);
    tcase_set_timeout(timing, 20);
    tcase_add_test(timing, sleepers_wake_in_fifo_order);
    suite_add_tcase(s, timing);
    return s;
}
