/* Tests of the shared-memory semaphores (nmc/sync.h): dummies, values and
 * limits, trywait and timed waits, ping-pong between processes mapping the
 * object at different addresses, FIFO wake order, a sleeper killed in its
 * wait, EINTR, destroy while in use, check. */
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
    nmc_sem s;          /* the semaphore under test                 */
    nmc_sem s2;         /* the way back, for ping-pong              */
    uint32_t flag;      /* child -> parent progress                 */
    uint32_t norder;    /* entries in order                         */
    uint32_t order[8];  /* who got the lock, in order               */
    uint64_t counter;   /* rounds done                           */
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

/* ---- dummies, values, limits ---------------------------------------- */

START_TEST(dummy_gives_einval)
{
    nmc_sem s;
    unsigned v;
    struct timespec d;
    memset(&s, 0, sizeof s);
    nmc_deadline_in(0.01, &d);
    ck_assert_status(nmc_sem_post(&s), NMC_EINVAL);
    ck_assert_status(nmc_sem_wait(&s), NMC_EINVAL);
    ck_assert_status(nmc_sem_trywait(&s), NMC_EINVAL);
    ck_assert_status(nmc_sem_timedwait(&s, &d), NMC_EINVAL);
    ck_assert_status(nmc_sem_getvalue(&s, &v), NMC_EINVAL);
    ck_assert_status(nmc_sem_destroy(&s), NMC_EINVAL);
    ck_assert_status(nmc_sem_check(&s), NMC_EINVAL);
    ck_assert_status(nmc_sem_post(NULL), NMC_EINVAL);
    ck_assert_status(nmc_sem_init(NULL, 0), NMC_EINVAL);
    ck_assert_status(nmc_sem_init(&s, (unsigned)NMC_SEM_VALUE_MAX + 1), NMC_EINVAL);
    ck_assert_ok(nmc_sem_init(&s, 2));
    ck_assert_status(nmc_sem_getvalue(&s, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_sem_destroy(&s));
    ck_assert_status(nmc_sem_post(&s), NMC_EINVAL);
}
END_TEST

START_TEST(values_and_trywait)
{
    nmc_sem s;
    unsigned v;
    ck_assert_ok(nmc_sem_init(&s, 2));
    ck_assert_ok(nmc_sem_getvalue(&s, &v));
    ck_assert_uint_eq(v, 2);
    ck_assert_ok(nmc_sem_wait(&s));
    ck_assert_ok(nmc_sem_trywait(&s));
    ck_assert_status(nmc_sem_trywait(&s), NMC_EBUSY);
    ck_assert_ok(nmc_sem_post(&s));
    ck_assert_ok(nmc_sem_getvalue(&s, &v));
    ck_assert_uint_eq(v, 1);
    ck_assert_ok(nmc_sem_check(&s));
    ck_assert_ok(nmc_sem_init(&s, NMC_SEM_VALUE_MAX));
    ck_assert_status(nmc_sem_post(&s), NMC_EOVERFLOW);
    ck_assert_ok(nmc_sem_getvalue(&s, &v));
    ck_assert_uint_eq(v, NMC_SEM_VALUE_MAX);
    ck_assert_ok(nmc_sem_check(&s));
}
END_TEST

START_TEST(timedwait_expires)
{
    nmc_sem s;
    struct timespec d, t0;
    ck_assert_ok(nmc_sem_init(&s, 0));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nmc_deadline_in(0.05, &d);
    ck_assert_status(nmc_sem_timedwait(&s, &d), NMC_ETIMEDOUT);
    ck_assert(test_elapsed_since(&t0) >= 0.049);
    /* A past deadline still takes an available unit. */
    ck_assert_ok(nmc_sem_post(&s));
    ck_assert_ok(nmc_sem_timedwait(&s, &d));
    ck_assert_uint_eq(s.q.nqueued, 0);
    ck_assert_ok(nmc_sem_destroy(&s));
}
END_TEST

START_TEST(check_finds_corruption)
{
    nmc_sem s;
    ck_assert_ok(nmc_sem_init(&s, 1));
    s.value = (uint32_t)NMC_SEM_VALUE_MAX + 1;
    ck_assert_status(nmc_sem_check(&s), NMC_ECORRUPT);
    s.value = 1;
    s.q.slot[3].own = 7u << 2; /* tid with a free state */
    ck_assert_status(nmc_sem_check(&s), NMC_ECORRUPT);
    s.q.slot[3].own = 0;
    ck_assert_ok(nmc_sem_check(&s));
}
END_TEST

/* ---- across processes ----------------------------------------------------- */

static void child_pong(int rounds)
{
    struct shared *s = child_map();
    for (int i = 0; i < rounds; i++)
        if (nmc_sem_wait(&s->s) != NMC_OK || nmc_sem_post(&s->s2) != NMC_OK)
            _exit(1);
}

START_TEST(pingpong_between_mappings)
{
    enum { ROUNDS = 2000 };
    ck_assert_ok(nmc_sem_init(&S->s, 0));
    ck_assert_ok(nmc_sem_init(&S2->s2, 0));
    pid_t pid = test_spawn(child_pong, ROUNDS);
    for (int i = 0; i < ROUNDS; i++) {
        ck_assert_ok(nmc_sem_post(i % 2 ? &S->s : &S2->s));
        ck_assert_ok(nmc_sem_wait(i % 2 ? &S2->s2 : &S->s2));
    }
    test_reap_ok(pid);
    ck_assert_ok(nmc_sem_check(&S->s));
    ck_assert_ok(nmc_sem_destroy(&S->s));
    ck_assert_ok(nmc_sem_destroy(&S2->s2));
}
END_TEST

static void child_take_one(int id)
{
    struct shared *s = child_map();
    if (nmc_sem_wait(&s->s) != NMC_OK)
        _exit(1);
    s->order[__atomic_fetch_add(&s->norder, 1, __ATOMIC_SEQ_CST)] = (uint32_t)id;
    _exit(nmc_sem_post(&s->s2) == NMC_OK ? 0 : 2);
}

START_TEST(sleepers_wake_in_fifo_order)
{
    enum { N = 5 };
    pid_t pid[N];
    ck_assert_ok(nmc_sem_init(&S->s, 0));
    ck_assert_ok(nmc_sem_init(&S->s2, 0));
    for (int i = 0; i < N; i++) {
        pid[i] = test_spawn(child_take_one, i);
        test_await(&S->s.q.nqueued, (uint32_t)i + 1);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_ok(nmc_sem_post(&S->s));
        ck_assert_ok(nmc_sem_wait(&S->s2));
        ck_assert_uint_eq(S->order[i], (uint32_t)i);
    }
    for (int i = 0; i < N; i++)
        test_reap_ok(pid[i]);
}
END_TEST

START_TEST(dead_sleeper_does_not_absorb_posts)
{
    ck_assert_ok(nmc_sem_init(&S->s, 0));
    ck_assert_ok(nmc_sem_init(&S->s2, 0));
    pid_t dead = test_spawn(child_take_one, 9);
    test_await(&S->s.q.nqueued, 1);
    pid_t live = test_spawn(child_take_one, 1);
    test_await(&S->s.q.nqueued, 2);
    ck_assert_status(nmc_sem_destroy(&S->s), NMC_EBUSY);
    kill(dead, SIGKILL);
    test_reap_killed(dead);
    struct timespec d, t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_ok(nmc_sem_post(&S->s)); /* may go to the dead slot first */
    nmc_deadline_in(2, &d);
    ck_assert_ok(nmc_sem_timedwait(&S->s2, &d));
    ck_assert(test_elapsed_since(&t0) < 1.0);
    ck_assert_uint_eq(S->order[0], 1);
    test_reap_ok(live);
    ck_assert_ok(nmc_sem_destroy(&S->s));
}
END_TEST

static void on_usr1(int sig)
{
    (void)sig;
}

static void child_wait_through_signals(int unused)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: futex waits see EINTR */
    sigaction(SIGUSR1, &sa, NULL);
    struct shared *s = child_map();
    raise_flag(s, 1);
    _exit(nmc_sem_wait(&s->s) == NMC_OK ? 0 : 1);
}

START_TEST(wait_survives_eintr)
{
    ck_assert_ok(nmc_sem_init(&S->s, 0));
    pid_t pid = test_spawn(child_wait_through_signals, 0);
    test_await(&S->flag, 1);
    test_await(&S->s.q.nqueued, 1);
    for (int i = 0; i < 5; i++) {
        kill(pid, SIGUSR1);
        usleep(5000);
    }
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
    ck_assert_ok(nmc_sem_post(&S2->s));
    test_reap_ok(pid);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_sem");
    TCase *tc = tcase_create("sem");
    tcase_add_checked_fixture(tc, region_setup, region_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, dummy_gives_einval);
    tcase_add_test(tc, values_and_trywait);
    tcase_add_test(tc, timedwait_expires);
    tcase_add_test(tc, check_finds_corruption);
    tcase_add_test(tc, pingpong_between_mappings);
    tcase_add_test(tc, sleepers_wake_in_fifo_order);
    tcase_add_test(tc, dead_sleeper_does_not_absorb_posts);
    tcase_add_test(tc, wait_survives_eintr);
    suite_add_tcase(s, tc);
    return s;
}
