/* stress/sync/dead_owner_test.c - processes killed while they hold or wait
 * on a sync object; the survivors must carry on.
 *
 *   mutex (each kind)  a victim locks the mutex (3 levels when recursive),
 *                      does half of an update (a++ of two counters a and b
 *                      that must be equal) and is SIGKILLed while 3
 *                      survivors sleep in nmc_mutex_lock. Exactly one gets
 *                      NMC_EOWNER_DEAD, within 1 s of the kill, sees the
 *                      half-done update, repairs it (b = a) and calls
 *                      nmc_mutex_consistent; the others then lock normally
 *                      and find a == b. Each survivor adds 1 to both.
 *   cond               waiters queue in the order victim, live, victim,
 *                      live; the victims are SIGKILLed inside nmc_cond_wait
 *                      (one reaped, one left a zombie). Two signals reach
 *                      the two live waiters, each within 1 s, in FIFO
 *                      order; the condition and its wait set then destroy.
 *   sem                a waiter takes the 3 units its poster posts before
 *                      being SIGKILLed, then gives up on the fourth with
 *                      NMC_ETIMEDOUT from nmc_sem_timedwait, on time.
 *
 * Short form: one round of each. Long form (NMC_STRESS_SECONDS=N): each of
 * the five cases repeats for N/5 seconds. One summary line per case.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/sync.h"
#include "nmc_test.h"
#include "stress_sync.h"

enum {
    SURVIVORS = 3,  /* sleepers on the mutex of a dead owner     */
    WAITERS = 4,    /* cond waiters: victim, live, victim, live  */
    POSTS = 3,      /* units the semaphore's poster gets out     */
    SET_OFF = 4096, /* wait set offset in the region             */
    SET_CAP = 8,
    REGION = 8192,
    CHILD_LIMIT = 20, /* seconds before SIGALRM ends a child     */
};

/* Cases of the suite, each given this share of NMC_STRESS_SECONDS. */
static const double SHARE = 1.0 / 5;
/* Bound of every wait that should succeed. */
static const double LIMIT = 3.0;

struct shared {
    nmc_mutex m;
    nmc_cond c;
    nmc_sem sem;
    uint32_t ready;       /* children at their starting point          */
    uint32_t nowner_dead; /* survivors that got NMC_EOWNER_DEAD        */
    uint32_t nwoken;      /* live cond waiters that returned           */
    uint32_t tokens;      /* signals granted, protected by m           */
    uint32_t order[WAITERS];
    double killed_at;     /* now_s() just before the victims' SIGKILL  */
    double signalled_at;  /* now_s() just before the last signal       */
    uint64_t a, b;        /* equal whenever m is consistent and free   */
};

static struct shm_region R;

static struct shared *shared_of(void *base)
{
    return base;
}

static nmc_wait_set *set_of(void *base)
{
    return (nmc_wait_set *)((char *)base + SET_OFF);
}

static void setup(void)
{
    shm_region_create(&R, REGION);
}

static void teardown(void)
{
    shm_region_destroy(&R);
}

static struct timespec deadline_in(double seconds)
{
    struct timespec d;
    nmc_deadline_in(seconds, &d);
    return d;
}

static void publish_double(double *where, double v)
{
    __atomic_store(where, &v, __ATOMIC_SEQ_CST);
}

static double read_double(double *where)
{
    double v;
    __atomic_load(where, &v, __ATOMIC_SEQ_CST);
    return v;
}

/* ---- mutex with a dead owner ------------------------------------------- */

/* Locks depth times, does half an update, and waits to be killed. */
static int victim_hold(void *base, int depth)
{
    struct shared *s = shared_of(base);
    for (int i = 0; i < depth; i++)
        if (nmc_mutex_lock(&s->m) != NMC_OK)
            return 1;
    s->a++; /* b++ never comes */
    __atomic_fetch_add(&s->ready, 1, __ATOMIC_SEQ_CST);
    for (;;)
        pause();
}

/* Sleeps on the victim's mutex; repairs the data if it is the one to get
 * NMC_EOWNER_DEAD. Exit codes name the failed check. */
static int survivor(void *base, int unused)
{
    struct shared *s = shared_of(base);
    int st = nmc_mutex_lock(&s->m);
    if (st == NMC_EOWNER_DEAD) {
        if (now_s() - read_double(&s->killed_at) > 1.0)
            return 1;
        if (s->a == s->b)
            return 2; /* the half-done update is gone */
        s->b = s->a;
        __atomic_fetch_add(&s->nowner_dead, 1, __ATOMIC_SEQ_CST);
        if (nmc_mutex_consistent(&s->m) != NMC_OK)
            return 3;
    } else if (st != NMC_OK) {
        return 4;
    } else if (s->a != s->b) {
        return 5; /* locked before the repair */
    }
    s->a++;
    s->b++;
    return nmc_mutex_unlock(&s->m) == NMC_OK ? 0 : 6;
}

static void dead_mutex_round(void *ctx)
{
    int kind = *(int *)ctx;
    struct shared *s = shared_of(R.first);
    pid_t victim, surv[SURVIVORS];
    ck_assert_ok(nmc_mutex_init(&s->m, kind));
    s->a = s->b = 0;
    s->ready = s->nowner_dead = 0;
    victim = spawn_child(&R, victim_hold, kind == NMC_MUTEX_RECURSIVE ? 3 : 1, CHILD_LIMIT);
    ck_assert(test_poll_until(&s->ready, 1, LIMIT));
    for (int i = 0; i < SURVIVORS; i++)
        surv[i] = spawn_child(&R, survivor, i, CHILD_LIMIT);
    ck_assert_msg(test_poll_until(&s->m.q.nqueued, SURVIVORS, LIMIT), "survivors not asleep");
    publish_double(&s->killed_at, now_s());
    kill(victim, SIGKILL);
    int failed = !reap_child(victim, true, "victim");
    for (int i = 0; i < SURVIVORS; i++)
        failed += !reap_child(surv[i], false, "survivor");
    ck_assert_int_eq(failed, 0);
    ck_assert_uint_eq(s->nowner_dead, 1);
    ck_assert_uint_eq(s->a, 1 + SURVIVORS);
    ck_assert_uint_eq(s->b, s->a);
    ck_assert_ok(nmc_mutex_check(&s->m));
    ck_assert_ok(nmc_mutex_destroy(&s->m));
}

START_TEST(dead_mutex_owner)
{
    int kind = _i;
    int rounds = stress_repeat(dead_mutex_round, &kind, SHARE);
    assert_no_children();
    printf("stress sync dead_owner mutex: kind=%d survivors=%d rounds=%d ok\n", kind,
           SURVIVORS, rounds);
}
END_TEST

/* ---- cond waiters killed in their wait --------------------------------- */

/* Waits for a token; a live waiter records its id and returns. Victims
 * wait without a deadline (they are killed in the wait). */
static int wait_for_token(struct shared *s, nmc_wait_set *ws, int id, bool timed)
{
    nmc_wait_entry we;
    struct timespec d = deadline_in(LIMIT);
    if (nmc_wait_entry_alloc(ws, &we) != NMC_OK || nmc_mutex_timedlock(&s->m, &d) != NMC_OK)
        return 1;
    while (s->tokens == 0) {
        int st = timed ? nmc_cond_timedwait(&we, &s->c, &s->m, &d)
                       : nmc_cond_wait(&we, &s->c, &s->m);
        if (st != NMC_OK)
            return 2; /* ETIMEDOUT: the signal went astray */
    }
    if (now_s() - read_double(&s->signalled_at) > 1.0)
        return 3;
    s->tokens--;
    s->order[s->nwoken] = (uint32_t)id;
    __atomic_fetch_add(&s->nwoken, 1, __ATOMIC_SEQ_CST);
    if (nmc_mutex_unlock(&s->m) != NMC_OK || nmc_wait_entry_free(&we) != NMC_OK)
        return 4;
    return 0;
}

static int cond_victim(void *base, int id)
{
    return wait_for_token(shared_of(base), set_of(base), id, false);
}

static int cond_live(void *base, int id)
{
    return wait_for_token(shared_of(base), set_of(base), id, true);
}

static void dead_cond_round(void *ctx)
{
    struct shared *s = shared_of(R.first);
    pid_t pid[WAITERS];
    ck_assert_ok(nmc_mutex_init(&s->m, NMC_MUTEX_ERRORCHECK));
    ck_assert_ok(nmc_cond_init(&s->c));
    ck_assert_ok(nmc_wait_set_init(set_of(R.first), SET_CAP));
    s->tokens = s->nwoken = 0;
    /* Even ids are victims. Each queues before the next starts (tickets in
     * id order), and a victim is followed by a live waiter, which could
     * only lock m once the victim released it inside its wait. */
    for (int i = 0; i < WAITERS; i++) {
        pid[i] = spawn_child(&R, i % 2 ? cond_live : cond_victim, i, CHILD_LIMIT);
        ck_assert(test_poll_until(&s->c.nwaiters, (uint32_t)i + 1, LIMIT));
    }
    int failed = 0;
    kill(pid[0], SIGKILL);
    kill(pid[2], SIGKILL);
    failed += !reap_child(pid[0], true, "cond victim 0");
    siginfo_t info; /* victim 2 stays a zombie until the end */
    ck_assert_int_eq(waitid(P_PID, (id_t)pid[2], &info, WEXITED | WNOWAIT), 0);
    for (uint32_t k = 0; k < WAITERS / 2; k++) {
        struct timespec d = deadline_in(LIMIT);
        ck_assert_ok(nmc_mutex_timedlock(&s->m, &d));
        s->tokens++;
        publish_double(&s->signalled_at, now_s());
        ck_assert_ok(nmc_cond_signal(&s->c));
        ck_assert_ok(nmc_mutex_unlock(&s->m));
        ck_assert_msg(test_poll_until(&s->nwoken, k + 1, 1.0), "signal %u reached nobody", k);
    }
    ck_assert_uint_eq(s->order[0], 1);
    ck_assert_uint_eq(s->order[1], 3);
    failed += !reap_child(pid[1], false, "cond waiter 1");
    failed += !reap_child(pid[3], false, "cond waiter 3");
    failed += !reap_child(pid[2], true, "cond victim 2");
    ck_assert_int_eq(failed, 0);
    ck_assert_uint_eq(s->c.nwaiters, 0);
    ck_assert_ok(nmc_cond_check(&s->c));
    ck_assert_ok(nmc_wait_set_check(set_of(R.first)));
    ck_assert_ok(nmc_cond_destroy(&s->c));
    ck_assert_ok(nmc_wait_set_destroy(set_of(R.first)));
    ck_assert_ok(nmc_mutex_destroy(&s->m));
}

START_TEST(dead_cond_waiters)
{
    int rounds = stress_repeat(dead_cond_round, NULL, SHARE);
    assert_no_children();
    printf("stress sync dead_owner cond: waiters=%d killed=%d rounds=%d ok\n", WAITERS,
           WAITERS / 2, rounds);
}
END_TEST

/* ---- a semaphore whose poster died -------------------------------------- */

static int sem_poster(void *base, int n)
{
    struct shared *s = shared_of(base);
    for (int i = 0; i < n; i++) {
        if (nmc_sem_post(&s->sem) != NMC_OK)
            return 1;
        usleep(2000);
    }
    kill(getpid(), SIGKILL); /* dies owing the rest */
    return 2;
}

static int sem_waiter(void *base, int n)
{
    struct shared *s = shared_of(base);
    for (int i = 0; i < n; i++) {
        struct timespec d = deadline_in(LIMIT);
        if (nmc_sem_timedwait(&s->sem, &d) != NMC_OK)
            return 1;
    }
    double t0 = now_s();
    struct timespec d = deadline_in(0.2);
    if (nmc_sem_timedwait(&s->sem, &d) != NMC_ETIMEDOUT)
        return 2;
    double waited = now_s() - t0;
    return waited >= 0.199 && waited < 1.2 ? 0 : 3;
}

static void dead_sem_round(void *ctx)
{
    struct shared *s = shared_of(R.first);
    ck_assert_ok(nmc_sem_init(&s->sem, 0));
    pid_t waiter = spawn_child(&R, sem_waiter, POSTS, CHILD_LIMIT);
    ck_assert(test_poll_until(&s->sem.q.nqueued, 1, LIMIT)); /* asleep before any post */
    pid_t poster = spawn_child(&R, sem_poster, POSTS, CHILD_LIMIT);
    int failed = !reap_child(poster, true, "poster");
    failed += !reap_child(waiter, false, "sem waiter");
    ck_assert_int_eq(failed, 0);
    unsigned v;
    ck_assert_ok(nmc_sem_getvalue(&s->sem, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert_ok(nmc_sem_check(&s->sem));
    ck_assert_ok(nmc_sem_destroy(&s->sem));
}

START_TEST(dead_sem_poster)
{
    int rounds = stress_repeat(dead_sem_round, NULL, SHARE);
    assert_no_children();
    printf("stress sync dead_owner sem: posts=%d rounds=%d ok\n", POSTS, rounds);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_dead_owner");
    TCase *tc = tcase_create("dead_owner");
    /* Unchecked: the region is made once and removed even if a case fails. */
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_loop_test(tc, dead_mutex_owner, NMC_MUTEX_NORMAL, NMC_MUTEX_RECURSIVE + 1);
    tcase_add_test(tc, dead_cond_waiters);
    tcase_add_test(tc, dead_sem_poster);
    suite_add_tcase(s, tc);
    return s;
}
