/* Tests of the shared-memory condition variables and wait sets
 * (nmc/sync.h): dummies, wait set sizes, entry allocation and reclaim of a
 * dead process's entries, the mutex rules of a wait (EPERM, relock after a
 * timeout, recursive depth kept), signal waking exactly one waiter in FIFO
 * order, broadcast, a waiter killed in its wait, destroy while in use, a
 * condition used with two wait sets, check, and a ping-pong between
 * processes that map the objects at different addresses.
 *
 * Every wait is bounded (3 s, or less) so that a bug fails a test instead
 * of hanging it. */
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

enum {
    REGION = 1 << 16,
    SET_A = 4096, /* offset of wait set A in the region */
    SET_B = 8192, /* offset of wait set B               */
    SET_CAP = 8,  /* entries in each set                */
    N_CHILD = 5,  /* waiters in the queueing tests      */
};

static const double LIMIT = 3.0; /* bound of every wait, in seconds */

struct shared {
    nmc_mutex m;                /* the mutex of the waits                  */
    nmc_cond c;                 /* the condition under test                */
    uint32_t flag;              /* child -> parent progress                */
    uint32_t norder;            /* entries in order                        */
    uint32_t order[8];          /* who returned from its wait, in order    */
    uint32_t entry_of[8];       /* each waiter's entry index in set A      */
    uint64_t counter;           /* ping-pong rounds, protected by m        */
};

static struct shm_region region;
static struct shared *S;  /* first mapping  */
static struct shared *S2; /* second mapping, elsewhere */

static nmc_wait_set *set_at(struct shared *s, size_t off)
{
    return (nmc_wait_set *)((char *)s + off);
}

/* Maps the region twice and initialises a normal mutex, the condition and
 * two empty wait sets. */
static void region_setup(void)
{
    shm_region_create(&region, REGION);
    S = region.first;
    S2 = region.second;
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_cond_init(&S->c));
    ck_assert_ok(nmc_wait_set_init(set_at(S, SET_A), SET_CAP));
    ck_assert_ok(nmc_wait_set_init(set_at(S, SET_B), SET_CAP));
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

static int timedlock(nmc_mutex *m, double seconds)
{
    struct timespec d;
    nmc_deadline_in(seconds, &d);
    return nmc_mutex_timedlock(m, &d);
}

static int timedwait(nmc_wait_entry *we, nmc_cond *c, nmc_mutex *m, double seconds)
{
    struct timespec d;
    nmc_deadline_in(seconds, &d);
    return nmc_cond_timedwait(we, c, m, &d);
}

/* Records id as the next to return from a wait (the caller holds m). */
static void record(struct shared *s, uint32_t id)
{
    s->order[s->norder] = id;
    __atomic_store_n(&s->norder, s->norder + 1, __ATOMIC_SEQ_CST);
}

/* Signals (or broadcasts) c of the first mapping under its mutex. */
static void wake(bool all)
{
    ck_assert_ok(timedlock(&S->m, LIMIT));
    ck_assert_ok(all ? nmc_cond_broadcast(&S->c) : nmc_cond_signal(&S->c));
    ck_assert_ok(nmc_mutex_unlock(&S->m));
}

/* ---- children ------------------------------------------------------------ */

/* Waits once on c with an entry of set A (its index in entry_of[id]), then
 * records id. Exit codes name the failed step. */
static void child_wait_once(int id)
{
    struct shared *s = child_map();
    nmc_wait_entry we;
    if (nmc_wait_entry_alloc(set_at(s, SET_A), &we) != NMC_OK)
        _exit(1);
    s->entry_of[id] = we.index;
    if (timedlock(&s->m, LIMIT) != NMC_OK)
        _exit(2);
    if (timedwait(&we, &s->c, &s->m, LIMIT) != NMC_OK)
        _exit(3);
    record(s, (uint32_t)id);
    if (nmc_mutex_unlock(&s->m) != NMC_OK || nmc_wait_entry_free(&we) != NMC_OK)
        _exit(4);
}

/* Starts n waiters (ids first, first + 1, ...) and returns once each is
 * queued on c, so that their tickets follow their ids. */
static void spawn_waiters(pid_t *pid, int first, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t before = __atomic_load_n(&S->c.nwaiters, __ATOMIC_SEQ_CST);
        pid[i] = test_spawn(child_wait_once, first + i);
        test_await(&S->c.nwaiters, before + 1);
    }
}

/* ---- dummies and arguments ---------------------------------------------- */

START_TEST(dummy_gives_einval)
{
    nmc_cond c;
    nmc_wait_entry we, zero_we;
    uint64_t zero_mem[8] = {0}; /* room for a set of a few entries */
    nmc_wait_set *zero_set = (nmc_wait_set *)zero_mem;
    memset(&c, 0, sizeof c);
    memset(&zero_we, 0, sizeof zero_we);
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    ck_assert_ok(nmc_mutex_lock(&S->m));

    /* A zeroed condition. */
    ck_assert_status(nmc_cond_wait(&we, &c, &S->m), NMC_EINVAL);
    ck_assert_status(timedwait(&we, &c, &S->m, 0.01), NMC_EINVAL);
    ck_assert_status(nmc_cond_signal(&c), NMC_EINVAL);
    ck_assert_status(nmc_cond_broadcast(&c), NMC_EINVAL);
    ck_assert_status(nmc_cond_destroy(&c), NMC_EINVAL);
    ck_assert_status(nmc_cond_check(&c), NMC_EINVAL);
    ck_assert_status(nmc_cond_signal(NULL), NMC_EINVAL);
    ck_assert_status(nmc_cond_init(NULL), NMC_EINVAL);

    /* A zeroed wait set, and an entry naming one. */
    nmc_wait_entry in_zero_set = {zero_set, 0};
    ck_assert_status(nmc_wait_entry_alloc(zero_set, &zero_we), NMC_EINVAL);
    ck_assert_status(nmc_wait_set_destroy(zero_set), NMC_EINVAL);
    ck_assert_status(nmc_wait_set_check(zero_set), NMC_EINVAL);
    ck_assert_status(nmc_wait_entry_free(&in_zero_set), NMC_EINVAL);
    ck_assert_status(nmc_cond_wait(&in_zero_set, &S->c, &S->m), NMC_EINVAL);
    ck_assert_status(nmc_wait_set_init(NULL, 1), NMC_EINVAL);
    ck_assert_status(nmc_wait_set_init(zero_set, 0), NMC_EINVAL);
    ck_assert_status(nmc_wait_entry_alloc(NULL, &zero_we), NMC_EINVAL);
    ck_assert_status(nmc_wait_entry_alloc(set_at(S, SET_A), NULL), NMC_EINVAL);

    /* A zeroed entry handle, and one past the set's end. */
    nmc_wait_entry past_end = {set_at(S, SET_A), SET_CAP};
    ck_assert_status(nmc_wait_entry_free(&zero_we), NMC_EINVAL);
    ck_assert_status(nmc_wait_entry_free(NULL), NMC_EINVAL);
    ck_assert_status(nmc_cond_wait(&zero_we, &S->c, &S->m), NMC_EINVAL);
    ck_assert_status(nmc_cond_wait(NULL, &S->c, &S->m), NMC_EINVAL);
    ck_assert_status(timedwait(&past_end, &S->c, &S->m, 0.01), NMC_EINVAL);
    ck_assert_status(nmc_wait_entry_free(&past_end), NMC_EINVAL);

    /* A zeroed mutex. */
    nmc_mutex zero_m;
    memset(&zero_m, 0, sizeof zero_m);
    ck_assert_status(nmc_cond_wait(&we, &S->c, &zero_m), NMC_EINVAL);
    ck_assert_status(nmc_cond_wait(&we, &S->c, NULL), NMC_EINVAL);

    /* None of this queued anything; the real objects are intact. */
    ck_assert_uint_eq(S->c.nwaiters, 0);
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    ck_assert_ok(nmc_wait_entry_free(&we));
    ck_assert_ok(nmc_cond_check(&S->c));
    ck_assert_ok(nmc_wait_set_check(set_at(S, SET_A)));
}
END_TEST

START_TEST(destroyed_gives_einval)
{
    nmc_wait_entry we;
    ck_assert_ok(nmc_cond_destroy(&S->c));
    ck_assert_status(nmc_cond_signal(&S->c), NMC_EINVAL);
    ck_assert_status(nmc_cond_destroy(&S->c), NMC_EINVAL);
    ck_assert_ok(nmc_wait_set_destroy(set_at(S, SET_B)));
    ck_assert_status(nmc_wait_entry_alloc(set_at(S, SET_B), &we), NMC_EINVAL);
    ck_assert_status(nmc_wait_set_destroy(set_at(S, SET_B)), NMC_EINVAL);
    /* A set with a live entry stays. */
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    ck_assert_status(nmc_wait_set_destroy(set_at(S, SET_A)), NMC_EBUSY);
    ck_assert_ok(nmc_wait_entry_free(&we));
    ck_assert_ok(nmc_wait_set_destroy(set_at(S, SET_A)));
}
END_TEST

START_TEST(wait_set_size_edges)
{
    size_t one = nmc_wait_set_size(1);
    ck_assert_uint_eq(nmc_wait_set_size(0), 0);
    ck_assert_uint_ge(one, sizeof(nmc_wait_set) + sizeof(struct nmc_wait_slot));
    ck_assert_uint_eq(nmc_wait_set_size(2) - one, sizeof(struct nmc_wait_slot));
    /* Huge capacities give 0 or an exact size, never a wrapped one. */
    const uint32_t huge[] = {INT32_MAX, (uint32_t)INT32_MAX + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t sz = nmc_wait_set_size(huge[i]);
        ck_assert_msg(sz == 0 || sz == one + (size_t)(huge[i] - 1) * sizeof(struct nmc_wait_slot),
                      "size(%u) = %zu", huge[i], sz);
    }
    /* A capacity without a size cannot be initialised. */
    if (nmc_wait_set_size(UINT32_MAX) == 0)
        ck_assert_status(nmc_wait_set_init(set_at(S, SET_B), UINT32_MAX), NMC_EINVAL);
}
END_TEST

/* ---- entries --------------------------------------------------------------- */

START_TEST(entries_run_out_and_come_back)
{
    nmc_wait_set *ws = set_at(S, SET_A);
    nmc_wait_entry we[SET_CAP], extra;
    for (int i = 0; i < SET_CAP; i++) {
        ck_assert_ok(nmc_wait_entry_alloc(ws, &we[i]));
        ck_assert_uint_lt(we[i].index, SET_CAP);
    }
    ck_assert_uint_eq(ws->nused, SET_CAP);
    ck_assert_status(nmc_wait_entry_alloc(ws, &extra), NMC_EOUT_OF_SPACE);
    ck_assert_ok(nmc_wait_entry_free(&we[3]));
    ck_assert_status(nmc_wait_entry_free(&we[3]), NMC_EINVAL); /* double free */
    ck_assert_ok(nmc_wait_entry_alloc(ws, &extra));
    ck_assert_uint_eq(extra.index, we[3].index);
    ck_assert_ok(nmc_wait_set_check(ws));
    we[3] = extra;
    for (int i = 0; i < SET_CAP; i++)
        ck_assert_ok(nmc_wait_entry_free(&we[i]));
    ck_assert_uint_eq(ws->nused, 0);
    ck_assert_ok(nmc_wait_set_check(ws));
}
END_TEST

START_TEST(free_while_waiting_is_ebusy)
{
    pid_t pid;
    spawn_waiters(&pid, 0, 1);
    nmc_wait_entry theirs = {set_at(S, SET_A), S->entry_of[0]};
    ck_assert_status(nmc_wait_entry_free(&theirs), NMC_EBUSY);
    wake(false);
    test_reap_ok(pid);
    ck_assert_status(nmc_wait_entry_free(&theirs), NMC_EINVAL); /* freed by its child */
}
END_TEST

static void child_take_entries_and_die(int n)
{
    struct shared *s = child_map();
    nmc_wait_entry we;
    for (int i = 0; i < n; i++)
        if (nmc_wait_entry_alloc(set_at(s, SET_A), &we) != NMC_OK)
            _exit(1);
    kill(getpid(), SIGKILL);
}

START_TEST(dead_process_entries_are_reclaimed)
{
    enum { THEIRS = SET_CAP - 2 };
    nmc_wait_set *ws = set_at(S, SET_A);
    nmc_wait_entry mine[SET_CAP], extra;
    ck_assert_ok(nmc_wait_entry_alloc(ws, &mine[0]));
    pid_t pid = test_spawn(child_take_entries_and_die, THEIRS);
    /* Dead but not reaped: a zombie's entries count as dead too. */
    siginfo_t info;
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
    ck_assert_uint_eq(ws->nused, 1 + THEIRS);
    for (int i = 1; i < SET_CAP; i++)
        ck_assert_ok(nmc_wait_entry_alloc(ws, &mine[i]));
    ck_assert_status(nmc_wait_entry_alloc(ws, &extra), NMC_EOUT_OF_SPACE);
    ck_assert_uint_eq(ws->nused, SET_CAP);
    ck_assert_ok(nmc_wait_set_check(ws));
    test_reap_killed(pid);
    for (int i = 0; i < SET_CAP; i++)
        ck_assert_ok(nmc_wait_entry_free(&mine[i]));
}
END_TEST

/* ---- the mutex of a wait ------------------------------------------------ */

static void child_hold_mutex(int unused)
{
    struct shared *s = child_map();
    if (timedlock(&s->m, LIMIT) != NMC_OK)
        _exit(1);
    raise_flag(s, 1);
    if (!test_poll_until(&s->flag, 2, 3.0))
        _exit(2);
    _exit(nmc_mutex_unlock(&s->m) == NMC_OK ? 0 : 3);
}

START_TEST(wait_without_the_mutex_is_eperm)
{
    nmc_wait_entry we;
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    ck_assert_status(nmc_cond_wait(&we, &S->c, &S->m), NMC_EPERM);
    ck_assert_status(timedwait(&we, &S->c, &S->m, 0.01), NMC_EPERM);
    /* Held by another process. */
    pid_t pid = test_spawn(child_hold_mutex, 0);
    test_await(&S->flag, 1);
    ck_assert_status(timedwait(&we, &S->c, &S->m, 0.01), NMC_EPERM);
    raise_flag(S, 2);
    test_reap_ok(pid);
    /* Not queued: the entry is idle, nobody waits. */
    ck_assert_uint_eq(S->c.nwaiters, 0);
    ck_assert_ok(nmc_wait_entry_free(&we));
}
END_TEST

START_TEST(signal_without_waiters_is_ok)
{
    nmc_wait_entry we;
    ck_assert_ok(nmc_cond_signal(&S->c)); /* not bound to a set yet */
    ck_assert_ok(nmc_cond_broadcast(&S->c));
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_status(timedwait(&we, &S->c, &S->m, 0.001), NMC_ETIMEDOUT);
    ck_assert_ok(nmc_mutex_unlock(&S->m));
    ck_assert_ok(nmc_cond_signal(&S->c)); /* bound, nobody waiting */
    ck_assert_ok(nmc_cond_broadcast(&S2->c));
    ck_assert_uint_eq(S->c.nwaiters, 0);
    ck_assert_ok(nmc_cond_check(&S->c));
    ck_assert_ok(nmc_wait_entry_free(&we));
    ck_assert_ok(nmc_cond_destroy(&S->c));
}
END_TEST

/* Checks that the caller holds m at exactly depth (recursive mutex). */
static void assert_depth(nmc_mutex *m, int depth)
{
    for (int i = 0; i < depth; i++)
        ck_assert_ok(nmc_mutex_unlock(m));
    ck_assert_status(nmc_mutex_unlock(m), NMC_EPERM);
}

START_TEST(timedwait_expires_with_mutex_relocked)
{
    nmc_wait_entry we;
    struct timespec t0, past;
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_status(timedwait(&we, &S->c, &S->m, 0.05), NMC_ETIMEDOUT);
    ck_assert(test_elapsed_since(&t0) >= 0.049);
    ck_assert_uint_eq(S->c.nwaiters, 0);
    /* A deadline already past. */
    nmc_deadline_in(0, &past);
    ck_assert_status(nmc_cond_timedwait(&we, &S->c, &S->m, &past), NMC_ETIMEDOUT);
    assert_depth(&S->m, 1);
    ck_assert_ok(nmc_wait_entry_free(&we));
    ck_assert_ok(nmc_cond_check(&S->c));
}
END_TEST

/* Locks m (only possible if the waiter released every level) and signals. */
static void child_lock_and_signal(int unused)
{
    struct shared *s = child_map();
    if (timedlock(&s->m, LIMIT) != NMC_OK)
        _exit(1);
    if (nmc_cond_signal(&s->c) != NMC_OK)
        _exit(2);
    _exit(nmc_mutex_unlock(&s->m) == NMC_OK ? 0 : 3);
}

START_TEST(recursive_depth_survives_a_wait)
{
    nmc_wait_entry we;
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_RECURSIVE));
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &we));
    for (int i = 0; i < 3; i++)
        ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_status(timedwait(&we, &S->c, &S->m, 0.02), NMC_ETIMEDOUT);
    ck_assert_uint_eq(S->m.count, 3);
    /* Signalled, by a child that needs the mutex fully released. */
    pid_t pid = test_spawn(child_lock_and_signal, 0);
    ck_assert_ok(timedwait(&we, &S->c, &S->m, LIMIT));
    test_reap_ok(pid);
    assert_depth(&S->m, 3);
    ck_assert_ok(nmc_wait_entry_free(&we));
}
END_TEST

/* ---- signal and broadcast across processes ---------------------------- */

START_TEST(signal_wakes_one_in_fifo_order)
{
    pid_t pid[N_CHILD];
    spawn_waiters(pid, 0, N_CHILD);
    for (uint32_t i = 0; i < N_CHILD; i++) {
        wake(false);
        test_await(&S->norder, i + 1);
        usleep(20 * 1000); /* time for a wrongly woken second waiter to show */
        ck_assert_uint_eq(__atomic_load_n(&S->norder, __ATOMIC_SEQ_CST), i + 1);
        ck_assert_uint_eq(S->order[i], i);
        ck_assert_uint_eq(S->c.nwaiters, N_CHILD - 1 - i);
    }
    for (int i = 0; i < N_CHILD; i++)
        test_reap_ok(pid[i]);
    ck_assert_uint_eq(set_at(S, SET_A)->nused, 0);
    ck_assert_ok(nmc_cond_destroy(&S->c));
}
END_TEST

START_TEST(broadcast_wakes_all)
{
    pid_t pid[N_CHILD];
    spawn_waiters(pid, 0, N_CHILD);
    wake(true);
    for (int i = 0; i < N_CHILD; i++)
        test_reap_ok(pid[i]);
    ck_assert_uint_eq(S->norder, N_CHILD);
    ck_assert_uint_eq(S->c.nwaiters, 0);
    ck_assert_ok(nmc_cond_destroy(&S->c));
}
END_TEST

START_TEST(destroy_with_live_waiter_is_ebusy)
{
    pid_t pid;
    spawn_waiters(&pid, 0, 1);
    ck_assert_status(nmc_cond_destroy(&S->c), NMC_EBUSY);
    ck_assert_ok(nmc_cond_check(&S->c));
    wake(false);
    test_reap_ok(pid);
    ck_assert_ok(nmc_cond_destroy(&S2->c));
}
END_TEST

START_TEST(dead_waiter_does_not_absorb_signal)
{
    pid_t dead, live;
    struct timespec t0;
    spawn_waiters(&dead, 7, 1); /* the older ticket */
    spawn_waiters(&live, 1, 1);
    kill(dead, SIGKILL);
    test_reap_killed(dead);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wake(false);
    test_await(&S->norder, 1);
    ck_assert(test_elapsed_since(&t0) < 1.0);
    ck_assert_uint_eq(S->order[0], 1);
    test_reap_ok(live);
    ck_assert_uint_eq(set_at(S, SET_A)->nused, 0); /* the dead entry was freed */
    ck_assert_ok(nmc_cond_check(&S->c));
    ck_assert_ok(nmc_cond_destroy(&S->c));
}
END_TEST

START_TEST(destroy_reclaims_dead_waiter)
{
    pid_t dead;
    spawn_waiters(&dead, 7, 1);
    kill(dead, SIGKILL);
    test_reap_killed(dead);
    ck_assert_uint_eq(S->c.nwaiters, 1);
    ck_assert_ok(nmc_cond_destroy(&S->c));
    ck_assert_uint_eq(set_at(S, SET_A)->nused, 0);
    ck_assert_ok(nmc_wait_set_check(set_at(S, SET_A)));
}
END_TEST

/* ---- wait sets and conditions ------------------------------------------ */

START_TEST(condition_keeps_its_wait_set)
{
    nmc_wait_entry a, b;
    nmc_cond *other = (nmc_cond *)(S + 1); /* a second condition in the region */
    ck_assert_ok(nmc_cond_init(other));
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_A), &a));
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S, SET_B), &b));
    ck_assert_ok(nmc_mutex_lock(&S->m));
    ck_assert_status(timedwait(&a, &S->c, &S->m, 0.001), NMC_ETIMEDOUT); /* binds A */
    ck_assert_status(timedwait(&b, &S->c, &S->m, 0.001), NMC_EINVAL);
    ck_assert_status(timedwait(&b, other, &S->m, 0.001), NMC_ETIMEDOUT); /* binds B */
    ck_assert_status(timedwait(&a, other, &S->m, 0.001), NMC_EINVAL);
    ck_assert_status(timedwait(&a, &S->c, &S->m, 0.001), NMC_ETIMEDOUT);
    /* The refused waits left the mutex held and the entries idle. */
    assert_depth(&S->m, 1);
    ck_assert_uint_eq(S->c.nwaiters + other->nwaiters, 0);
    ck_assert_ok(nmc_wait_entry_free(&a));
    ck_assert_ok(nmc_wait_entry_free(&b));
}
END_TEST

START_TEST(check_finds_corruption)
{
    nmc_cond *c = &S->c;
    nmc_wait_set *ws = set_at(S, SET_A);
    nmc_wait_entry we;
    ck_assert_ok(nmc_cond_check(c));
    c->version = NMC_SYNC_VERSION + 1;
    ck_assert_status(nmc_cond_check(c), NMC_ECORRUPT);
    c->version = NMC_SYNC_VERSION;
    c->ws_off = 4; /* misaligned */
    ck_assert_status(nmc_cond_check(c), NMC_ECORRUPT);
    c->ws_off = 0;
    c->nwaiters = 0x80000000u;
    ck_assert_status(nmc_cond_check(c), NMC_ECORRUPT);
    c->nwaiters = 0;
    ck_assert_ok(nmc_cond_check(c));

    ck_assert_ok(nmc_wait_entry_alloc(ws, &we));
    ck_assert_ok(nmc_wait_set_check(ws));
    ws->nused++;
    ck_assert_status(nmc_wait_set_check(ws), NMC_ECORRUPT);
    ws->nused--;
    uint64_t own = ws->entry[we.index].own;
    ws->entry[we.index].own = (uint64_t)1 << 32 | 1; /* idle, a start time, tid 0 */
    ck_assert_status(nmc_wait_set_check(ws), NMC_ECORRUPT);
    ws->entry[we.index].own = own;
    ws->entry[(we.index + 1) % SET_CAP].own = 7u << 2; /* a tid in a free state */
    ck_assert_status(nmc_wait_set_check(ws), NMC_ECORRUPT);
    ws->entry[(we.index + 1) % SET_CAP].own = 0;
    ws->version = NMC_SYNC_VERSION + 1;
    ck_assert_status(nmc_wait_set_check(ws), NMC_ECORRUPT);
    ws->version = NMC_SYNC_VERSION;
    ck_assert_ok(nmc_wait_set_check(ws));
    ck_assert_ok(nmc_wait_entry_free(&we));
}
END_TEST

/* ---- ping-pong ------------------------------------------------------------ */

enum { ROUNDS = 10000 };

/* ROUNDS turns: waits until counter % 2 == parity, increments it and
 * signals. Returns 0, or the failed step. */
static int play(nmc_wait_entry *we, struct shared *s, uint64_t parity)
{
    for (int i = 0; i < ROUNDS; i++) {
        if (timedlock(&s->m, LIMIT) != NMC_OK)
            return 1;
        while (s->counter % 2 != parity)
            if (timedwait(we, &s->c, &s->m, LIMIT) != NMC_OK)
                return 2; /* a lost wake-up times out here */
        s->counter++;
        if (nmc_cond_signal(&s->c) != NMC_OK || nmc_mutex_unlock(&s->m) != NMC_OK)
            return 3;
    }
    return 0;
}

static void child_play(int unused)
{
    struct shared *s = child_map();
    nmc_wait_entry we;
    if (nmc_wait_entry_alloc(set_at(s, SET_A), &we) != NMC_OK)
        _exit(10);
    int st = play(&we, s, 1);
    _exit(st != 0 ? st : nmc_wait_entry_free(&we) == NMC_OK ? 0 : 11);
}

START_TEST(pingpong_loses_no_wakeup)
{
    nmc_wait_entry we;
    S->counter = 0;
    /* The parent plays on the second mapping, the child on its own. */
    ck_assert_ok(nmc_wait_entry_alloc(set_at(S2, SET_A), &we));
    pid_t pid = test_spawn(child_play, 0);
    ck_assert_int_eq(play(&we, S2, 0), 0);
    test_reap_ok(pid);
    ck_assert_uint_eq(S->counter, 2 * ROUNDS);
    ck_assert_uint_eq(S->c.nwaiters, 0);
    ck_assert_ok(nmc_wait_entry_free(&we));
    ck_assert_ok(nmc_cond_check(&S->c));
    ck_assert_ok(nmc_wait_set_check(set_at(S, SET_A)));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_cond");
    TCase *tc = tcase_create("cond");
    tcase_add_checked_fixture(tc, region_setup, region_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, dummy_gives_einval);
    tcase_add_test(tc, destroyed_gives_einval);
    tcase_add_test(tc, wait_set_size_edges);
    tcase_add_test(tc, entries_run_out_and_come_back);
    tcase_add_test(tc, free_while_waiting_is_ebusy);
    tcase_add_test(tc, dead_process_entries_are_reclaimed);
    tcase_add_test(tc, wait_without_the_mutex_is_eperm);
    tcase_add_test(tc, signal_without_waiters_is_ok);
    tcase_add_test(tc, timedwait_expires_with_mutex_relocked);
    tcase_add_test(tc, recursive_depth_survives_a_wait);
    tcase_add_test(tc, signal_wakes_one_in_fifo_order);
    tcase_add_test(tc, broadcast_wakes_all);
    tcase_add_test(tc, destroy_with_live_waiter_is_ebusy);
    tcase_add_test(tc, dead_waiter_does_not_absorb_signal);
    tcase_add_test(tc, destroy_reclaims_dead_waiter);
    tcase_add_test(tc, condition_keeps_its_wait_set);
    tcase_add_test(tc, check_finds_corruption);
    tcase_add_test(tc, pingpong_loses_no_wakeup);
    suite_add_tcase(s, tc);
    return s;
}
