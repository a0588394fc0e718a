/* Tests of the process manager (nmc/core.h): starting and joining workers
 * from the master and from workers, results and their absence (crashes,
 * exits, failures), join rules, resources with their use counts and
 * deletion, inheritance of preallocated objects and pools, and the crash
 * cleanup manifest.
 *
 * Each test runs a scenario in a first worker; the worker returns 0 when
 * every step held, else the line of the first failing step (CHECK), and
 * the master asserts on that. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmc/core.h"
#include "nmc_test.h"

/* In a worker: the step must hold, else the scenario reports its line. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            *result = nmc_val_long(__LINE__);                                  \
            return NMC_OK;                                                     \
        }                                                                      \
    } while (0)
#define CHECK_ST(call, want) CHECK((call) == (want))

static char dir[256];
static struct nmc_startup_options opt;
static nmc_res_id scenario_fork, scenario_join, echo_fork, echo_join, crash_fork, crash_join;

/* ---- bodies ---------------------------------------------------------------- */

/* Returns its argument. */
static int echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = arg;
    return NMC_OK;
}

/* Ends the way its argument says. */
enum crash { CRASH_SEGV = 1, CRASH_KILL, CRASH_EXIT3, CRASH_STATUS, CRASH_SLEEP };
static int crash(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    switch (nmc_long_val(arg)) {
    case CRASH_SEGV:
        raise(SIGSEGV);
        break;
    case CRASH_KILL:
        raise(SIGKILL);
        break;
    case CRASH_EXIT3:
        _exit(3);
    case CRASH_STATUS:
        return NMC_ECORRUPT;
    case CRASH_SLEEP:
        usleep(300 * 1000);
        break;
    }
    *result = nmc_val_long(0);
    return NMC_OK;
}

/* The scenario run by the first worker: the test sets it. */
static int (*scenario)(nmc_arena *arena, nmc_value *result);
static int run_scenario(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    return scenario(arena, result);
}

static int first_process(void *ctx, nmc_process_id *pid)
{
    return nmc_start(scenario_fork, NMC_VAL_UNIT, NULL, pid);
}

static int extract(void *ctx, nmc_process_id first)
{
    nmc_arena *arena;
    nmc_value v;
    ck_assert_ok(nmc_arena_create(&arena));
    int st = nmc_join_nowait(scenario_join, first, arena, &v);
    *(long *)ctx = st == NMC_OK ? (long)nmc_long_val(v) : -1;
    /* The first join consumed it. */
    ck_assert_status(nmc_join_nowait(scenario_join, first, arena, &v), NMC_ENO_RESULT);
    nmc_arena_destroy(arena);
    return st;
}

/* Runs fn as the first worker; asserts it reported success. */
static void run(int (*fn)(nmc_arena *, nmc_value *))
{
    long line = -2;
    scenario = fn;
    ck_assert_ok(nmc_run(&opt, first_process, extract, &line));
    ck_assert_msg(line == 0, "scenario failed at line %ld", line);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/nmc-core-XXXXXX", getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt = (struct nmc_startup_options){.socket_directory = dir};
    ck_assert_ok(nmc_def_process(run_scenario, &scenario_fork, &scenario_join));
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join));
    ck_assert_ok(nmc_def_process(crash, &crash_fork, &crash_join));
}

static void teardown(void)
{
    ck_assert_ok(nmc_destroy_resources());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- processes ---------------------------------------------------------------- */

static long c_global = 0;

static int body_y(nmc_arena *arena, nmc_value k, nmc_value *result)
{
    *result = nmc_val_long(nmc_long_val(k) + 1 + c_global);
    return NMC_OK;
}

static nmc_res_id fork_y, join_y;

/* The tutorial: X sets c, starts Y; Y is a copy of the master (c = 0). */
static int worker_starts_worker(nmc_arena *arena, nmc_value *result)
{
    c_global = 1;
    nmc_process_id y, self;
    nmc_value v;
    CHECK_ST(nmc_self_process_id(&self), NMC_OK);
    CHECK_ST(nmc_start(fork_y, nmc_val_long(1), NULL, &y), NMC_OK);
    CHECK(y > self);
    CHECK_ST(nmc_join(join_y, y, arena, &v), NMC_OK);
    CHECK(nmc_long_val(v) == 2);
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(worker_starts_worker_from_master_copy)
{
    ck_assert_ok(nmc_def_process(body_y, &fork_y, &join_y));
    run(worker_starts_worker);
}
END_TEST

enum { MANY = 200 };

/* 200 workers started, then joined; each echoes its index. */
static int many_workers(nmc_arena *arena, nmc_value *result)
{
    nmc_process_id pid[MANY];
    for (int i = 0; i < MANY; i++)
        CHECK_ST(nmc_start(echo_fork, nmc_val_long(i), NULL, &pid[i]), NMC_OK);
    for (int i = 0; i < MANY; i++) {
        nmc_value v;
        CHECK_ST(nmc_join(echo_join, pid[i], arena, &v), NMC_OK);
        CHECK(nmc_long_val(v) == i);
        CHECK(i == 0 || pid[i] > pid[i - 1]); /* ids are never reused */
    }
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(two_hundred_workers)
{
    run(many_workers);
}
END_TEST

/* A structured value crosses both ways intact. */
static int values_travel(nmc_arena *arena, nmc_value *result)
{
    nmc_value s, d, fields[3], tuple, back;
    const double pi = 3.25;
    CHECK_ST(nmc_alloc_string(arena, "hello, worker", 13, &s), NMC_OK);
    CHECK_ST(nmc_alloc_double(arena, pi, &d), NMC_OK);
    fields[0] = nmc_val_long(42);
    fields[1] = s;
    fields[2] = d;
    CHECK_ST(nmc_alloc_tuple(arena, 0, 3, fields, &tuple), NMC_OK);
    nmc_process_id pid;
    CHECK_ST(nmc_start(echo_fork, tuple, NULL, &pid), NMC_OK);
    CHECK_ST(nmc_join(echo_join, pid, arena, &back), NMC_OK);
    bool same;
    CHECK_ST(nmc_equal(tuple, back, &same), NMC_OK);
    CHECK(same && back != tuple);
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(structured_values_travel)
{
    run(values_travel);
}
END_TEST

static int join_rules(nmc_arena *arena, nmc_value *result)
{
    nmc_process_id pid;
    nmc_value v;
    CHECK_ST(nmc_start(crash_fork, nmc_val_long(CRASH_SLEEP), NULL, &pid), NMC_OK);
    CHECK_ST(nmc_join_nowait(crash_join, pid, arena, &v), NMC_EBUSY);
    CHECK_ST(nmc_join(echo_join, pid, arena, &v), NMC_ENO_RESOURCE); /* wrong point */
    CHECK_ST(nmc_join(crash_join, pid + 1000, arena, &v), NMC_ENOT_FOUND);
    CHECK_ST(nmc_join(crash_join, pid, arena, &v), NMC_OK);
    CHECK_ST(nmc_join(crash_join, pid, arena, &v), NMC_ENO_RESULT); /* consumed */
    CHECK_ST(nmc_join_nowait(crash_join, pid, arena, &v), NMC_ENO_RESULT);
    CHECK_ST(nmc_start(echo_fork, nmc_val_long(5), NULL, &pid), NMC_OK);
    for (int i = 0; i < 3000; i++) {
        int st = nmc_join_nowait(echo_join, pid, arena, &v);
        if (st != NMC_EBUSY) {
            CHECK_ST(st, NMC_OK);
            CHECK(nmc_long_val(v) == 5);
            *result = nmc_val_long(0);
            return NMC_OK;
        }
        usleep(1000);
    }
    CHECK(!"join_nowait never saw the end");
    return NMC_OK;
}

START_TEST(join_twice_and_nowait)
{
    run(join_rules);
}
END_TEST

static int crashes(nmc_arena *arena, nmc_value *result)
{
    const int ways[] = {CRASH_SEGV, CRASH_KILL, CRASH_EXIT3, CRASH_STATUS};
    for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++) {
        nmc_process_id pid;
        nmc_value v;
        CHECK_ST(nmc_start(crash_fork, nmc_val_long(ways[i]), NULL, &pid), NMC_OK);
        CHECK_ST(nmc_join(crash_join, pid, arena, &v), NMC_ENO_RESULT);
    }
    nmc_process_id pid;
    nmc_value v;
    CHECK_ST(nmc_start(echo_fork, nmc_val_long(7), NULL, &pid), NMC_OK); /* master lives */
    CHECK_ST(nmc_join(echo_join, pid, arena, &v), NMC_OK);
    CHECK(nmc_long_val(v) == 7);
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(crashed_workers_give_no_result)
{
    run(crashes);
}
END_TEST

static int released_points(nmc_arena *arena, nmc_value *result)
{
    nmc_process_id pid;
    nmc_value v;
    CHECK_ST(nmc_start(echo_fork, nmc_val_long(1), NULL, &pid), NMC_OK);
    CHECK_ST(nmc_release_join_point(echo_join), NMC_OK);
    CHECK_ST(nmc_join(echo_join, pid, arena, &v), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_release_fork_point(echo_join), NMC_ENO_RESOURCE); /* not a fork point */
    CHECK_ST(nmc_release_fork_point(echo_fork), NMC_OK);
    CHECK_ST(nmc_start(echo_fork, nmc_val_long(1), NULL, &pid), NMC_ENO_RESOURCE);
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(released_points_refuse)
{
    run(released_points);
}
END_TEST

static int master_first(void *ctx, nmc_process_id *pid)
{
    nmc_arena *arena;
    nmc_value v;
    nmc_process_id self;
    ck_assert_ok(nmc_arena_create(&arena));
    ck_assert_status(nmc_join(echo_join, 1, arena, &v), NMC_EINVAL); /* master never blocks */
    ck_assert_status(nmc_self_process_id(&self), NMC_EINVAL);
    ck_assert_status(nmc_startup(&opt, master_first, NULL), NMC_EINVAL); /* nested */
    nmc_arena_destroy(arena);
    return nmc_start(echo_fork, nmc_val_long(3), NULL, pid);
}

START_TEST(master_rules)
{
    nmc_process_id pid;
    ck_assert_status(nmc_start(echo_fork, NMC_VAL_UNIT, NULL, &pid), NMC_EINVAL); /* no run */
    ck_assert_status(nmc_startup(NULL, master_first, NULL), NMC_EINVAL);
    struct nmc_startup_options none = {0};
    ck_assert_status(nmc_startup(&none, master_first, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_startup(&opt, master_first, NULL));
}
END_TEST

/* ---- resources ----------------------------------------------------------------- */

static int file_uses(nmc_arena *arena, nmc_value *result)
{
    char path[300], got[300];
    snprintf(path, sizeof path, "%s/managed.txt", dir);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK(fd >= 0);
    close(fd);
    nmc_res_id id;
    CHECK_ST(nmc_manage_file(path, &id), NMC_OK);          /* use 1: ours */
    CHECK_ST(nmc_get_file(id, got, sizeof got), NMC_OK);     /* use 2 */
    CHECK(strcmp(got, path) == 0);
    CHECK_ST(nmc_get_file(id, got, 4), NMC_EOUT_OF_SPACE);   /* use 3 */
    CHECK_ST(nmc_get_shm(id, got, sizeof got), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_get_file(id + 1000, got, sizeof got), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_release(id), NMC_OK);
    CHECK_ST(nmc_release(id), NMC_OK);
    CHECK(access(path, F_OK) == 0);
    CHECK_ST(nmc_release(id), NMC_OK); /* the last use deletes it */
    CHECK(access(path, F_OK) != 0 && errno == ENOENT);
    CHECK_ST(nmc_release(id), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_manage_file("relative/path", &id), NMC_EINVAL);
    CHECK_ST(nmc_manage_file("/etc/passwd", &id), NMC_EINVAL); /* not ours to delete */
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(file_resource_counts_uses)
{
    run(file_uses);
}
END_TEST

/* Requests a worker sends to the master that no other test makes (found by
 * ./harness coverage): a pool created from a worker, a semaphore handed
 * over, the refusals of release and of the typed getters. */
static int worker_requests(nmc_arena *arena, nmc_value *result)
{
    nmc_res_id pool_res, sem_res, id;
    nmc_mempool *pool;
    char name[64], buf[64];
    /* A pool made by the master for a worker: not mapped in the creator. */
    CHECK_ST(nmc_create_mempool(1 << 20, false, &pool_res), NMC_OK);
    CHECK_ST(nmc_get_mempool(pool_res, &pool), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_release(pool_res), NMC_OK); /* the last use: destroyed */
    CHECK_ST(nmc_release(pool_res), NMC_ENO_RESOURCE);
    CHECK(nmc_create_mempool(0, false, &pool_res) != NMC_OK);
    CHECK_ST(nmc_create_mempool(4096, false, NULL), NMC_EINVAL);
    CHECK_ST(nmc_create_preallocated_shm(nmc_test_prefix(), 0, &id, buf), NMC_EINVAL);
    /* A named semaphore: managed, named back, deleted with the last use. */
    snprintf(name, sizeof name, "/%s_sem", nmc_test_prefix());
    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(sem != SEM_FAILED);
    sem_close(sem);
    CHECK_ST(nmc_manage_sem(name, &sem_res), NMC_OK);
    CHECK_ST(nmc_manage_sem(NULL, &id), NMC_EINVAL);
    CHECK_ST(nmc_manage_sem("no-slash", &id), NMC_EINVAL);
    CHECK_ST(nmc_get_sem(sem_res, buf, sizeof buf), NMC_OK);
    CHECK(strcmp(buf, name) == 0);
    CHECK_ST(nmc_get_sem(sem_res, buf, 3), NMC_EOUT_OF_SPACE); /* the use stays */
    CHECK_ST(nmc_get_file(sem_res, buf, sizeof buf), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_get_sem(sem_res, NULL, 1), NMC_EINVAL);
    for (int i = 0; i < 3; i++) /* the two gets' uses and the creator's */
        CHECK_ST(nmc_release(sem_res), NMC_OK);
    CHECK(sem_open(name, 0) == SEM_FAILED && errno == ENOENT);
    CHECK_ST(nmc_release(sem_res), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_get_sem(987654321, buf, sizeof buf), NMC_ENO_RESOURCE);
    CHECK_ST(nmc_release(echo_fork), NMC_EPERM); /* the master's use, not ours */
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(worker_requests_and_refusals)
{
    run(worker_requests);
    /* The master side of the same refusals. */
    nmc_res_id a, b, id;
    ck_assert_status(nmc_def_process(NULL, &a, &b), NMC_EINVAL);
    ck_assert_status(nmc_def_process(echo, NULL, &b), NMC_EINVAL);
    ck_assert_status(nmc_manage_sem(NULL, &id), NMC_EINVAL);
    ck_assert_status(nmc_create_mempool(4096, false, NULL), NMC_EINVAL);
    ck_assert_status(nmc_release(987654321), NMC_ENO_RESOURCE);
    /* A use the master does not hold. */
    ck_assert_status(nmc_release(echo_fork), NMC_OK);
    ck_assert_status(nmc_release(echo_fork), NMC_ENO_RESOURCE);
}
END_TEST

/* Takes a use of the shm resource its argument names, then dies. */
static int take_and_crash(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    char name[NMC_SHM_NAME_MAX];
    if (nmc_get_shm(nmc_long_val(arg), name, sizeof name) == NMC_OK)
        raise(SIGKILL);
    return NMC_EINVAL;
}

static nmc_res_id take_fork, take_join;

/* The uses a dead worker held are dropped: ours is then the last. */
static int dead_user(nmc_arena *arena, nmc_value *result)
{
    int fd;
    char name[NMC_SHM_NAME_MAX];
    nmc_process_id pid;
    nmc_res_id id;
    nmc_value v;
    CHECK_ST(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, name), NMC_OK);
    close(fd);
    CHECK_ST(nmc_manage_shm(name, &id), NMC_OK);
    CHECK_ST(nmc_start(take_fork, nmc_val_long(id), NULL, &pid), NMC_OK);
    CHECK_ST(nmc_join(take_join, pid, arena, &v), NMC_ENO_RESULT);
    CHECK_ST(nmc_release(id), NMC_OK);
    CHECK_ST(nmc_sys_shm_open(name, &fd), NMC_ENOT_FOUND); /* deleted */
    CHECK_ST(nmc_release(id), NMC_ENO_RESOURCE);
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(dead_worker_drops_its_uses)
{
    ck_assert_ok(nmc_def_process(take_and_crash, &take_fork, &take_join));
    run(dead_user);
}
END_TEST

/* ---- preallocated objects and inheritance ---------------------------------------- */

static nmc_res_id prealloc_id; /* made by the master before the first worker */

/* Reports what this worker sees of the resource its argument names:
 * 1 + the first word when mapped (it also bumps the word), 0 when not. */
static int peek(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    void *addr;
    size_t size;
    int st = nmc_get_shm_addr(nmc_long_val(arg), &addr, &size);
    if (st == NMC_ENO_RESOURCE) {
        *result = nmc_val_long(0);
        return NMC_OK;
    }
    if (st != NMC_OK)
        return st;
    long *word = addr;
    *result = nmc_val_long(1 + (*word)++);
    return nmc_release(nmc_long_val(arg));
}

static nmc_res_id peek_fork, peek_join;

/* Starts peek on id with the inherit list (NULL: all); its answer. */
static int peek_in_worker(nmc_res_id id, const struct nmc_inherit *inherit, nmc_arena *arena,
                          long *seen)
{
    nmc_process_id pid;
    nmc_value v;
    int st = nmc_start(peek_fork, nmc_val_long(id), inherit, &pid);
    if (st == NMC_OK)
        st = nmc_join(peek_join, pid, arena, &v);
    if (st == NMC_OK)
        *seen = (long)nmc_long_val(v);
    return st;
}

static int inheritance(nmc_arena *arena, nmc_value *result)
{
    long seen;
    nmc_res_id none[] = {scenario_fork};
    struct nmc_inherit only_other = {.ids = none, .n = 1};
    struct nmc_inherit only_it = {.ids = &prealloc_id, .n = 1};
    struct nmc_inherit nothing = {.ids = NULL, .n = 0};
    CHECK_ST(peek_in_worker(prealloc_id, NULL, arena, &seen), NMC_OK);
    CHECK(seen == 1 + 0);
    CHECK_ST(peek_in_worker(prealloc_id, &only_it, arena, &seen), NMC_OK);
    CHECK(seen == 1 + 1); /* the same memory */
    CHECK_ST(peek_in_worker(prealloc_id, &only_other, arena, &seen), NMC_OK);
    CHECK(seen == 0);
    CHECK_ST(peek_in_worker(prealloc_id, &nothing, arena, &seen), NMC_OK);
    CHECK(seen == 0);
    nmc_res_id bogus = 999999;
    struct nmc_inherit unknown = {.ids = &bogus, .n = 1};
    nmc_process_id pid;
    CHECK_ST(nmc_start(peek_fork, NMC_VAL_UNIT, &unknown, &pid), NMC_ENO_RESOURCE);

    /* One made by this worker: not mapped here, mapped in later workers. */
    nmc_res_id mine;
    char name[NMC_SHM_NAME_MAX];
    void *addr;
    CHECK_ST(nmc_create_preallocated_shm(nmc_test_prefix(), 8192, &mine, name), NMC_OK);
    CHECK(strncmp(name + 1, nmc_test_prefix(), strlen(nmc_test_prefix())) == 0);
    CHECK_ST(nmc_get_shm_addr(mine, &addr, NULL), NMC_ENO_RESOURCE);
    CHECK_ST(peek_in_worker(mine, NULL, arena, &seen), NMC_OK);
    CHECK(seen == 1);
    CHECK_ST(peek_in_worker(mine, NULL, arena, &seen), NMC_OK);
    CHECK(seen == 2);
    CHECK_ST(nmc_release(mine), NMC_OK); /* the last use: unlinked */
    int fd;
    CHECK_ST(nmc_sys_shm_open(name, &fd), NMC_ENOT_FOUND);
    *result = nmc_val_long(0);
    return NMC_OK;
}

static int first_with_prealloc(void *ctx, nmc_process_id *pid)
{
    char name[NMC_SHM_NAME_MAX];
    int st = nmc_create_preallocated_shm(nmc_test_prefix(), 4096, &prealloc_id, name);
    return st == NMC_OK ? nmc_start(scenario_fork, NMC_VAL_UNIT, NULL, pid) : st;
}

START_TEST(preallocated_shm_is_inherited)
{
    long line = -2;
    ck_assert_ok(nmc_def_process(peek, &peek_fork, &peek_join));
    scenario = inheritance;
    ck_assert_ok(nmc_run(&opt, first_with_prealloc, extract, &line));
    ck_assert_int_eq(line, 0);
    void *addr;
    ck_assert_ok(nmc_get_shm_addr(prealloc_id, &addr, NULL)); /* the master has it */
    ck_assert_int_eq(*(long *)addr, 2);
}
END_TEST

static nmc_res_id pool_id;

/* Allocates from the pool its argument names; returns the block's address. */
static int pool_user(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    nmc_mempool *pool;
    void *mem;
    int st = nmc_get_mempool(nmc_long_val(arg), &pool);
    if (st == NMC_OK)
        st = nmc_mempool_alloc(pool, 100, &mem);
    if (st == NMC_OK)
        *result = nmc_val_long((intptr_t)mem);
    return st;
}

static nmc_res_id pool_fork, pool_join;

static int pool_scenario(nmc_arena *arena, nmc_value *result)
{
    nmc_process_id pid;
    nmc_value v;
    nmc_mempool *pool;
    CHECK_ST(nmc_get_mempool(pool_id, &pool), NMC_OK);
    CHECK_ST(nmc_start(pool_fork, nmc_val_long(pool_id), NULL, &pid), NMC_OK);
    CHECK_ST(nmc_join(pool_join, pid, arena, &v), NMC_OK);
    size_t size;
    CHECK_ST(nmc_mempool_size_mem(pool, (void *)nmc_long_val(v), &size), NMC_OK);
    CHECK(size == nmc_sys_pagesize()); /* the worker's block, seen here */
    CHECK_ST(nmc_release(pool_id), NMC_OK);
    *result = nmc_val_long(0);
    return NMC_OK;
}

static int first_with_pool(void *ctx, nmc_process_id *pid)
{
    int st = nmc_create_mempool(1 << 20, true, &pool_id);
    return st == NMC_OK ? nmc_start(scenario_fork, NMC_VAL_UNIT, NULL, pid) : st;
}

START_TEST(mempool_is_a_resource)
{
    long line = -2;
    ck_assert_ok(nmc_def_process(pool_user, &pool_fork, &pool_join));
    scenario = pool_scenario;
    ck_assert_ok(nmc_run(&opt, first_with_pool, extract, &line));
    ck_assert_int_eq(line, 0);
    nmc_mempool *pool;
    ck_assert_ok(nmc_get_mempool(pool_id, &pool));
    char name[NMC_SHM_NAME_MAX];
    strcpy(name, nmc_mempool_shm_name(pool));
    ck_assert_ok(nmc_release(pool_id));
    ck_assert_ok(nmc_release(pool_id)); /* the master's creation use: destroyed */
    int fd;
    ck_assert_status(nmc_sys_shm_open(name, &fd), NMC_ENOT_FOUND);
}
END_TEST

/* ---- the manifest ------------------------------------------------------------------- */

static void write_manifest(const char *text)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nmc.pmanage", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* "R SHM <hex of name> <dev> <ino>\n" for the shm object name, as the run
 * that registered it would have written it. */
static void manifest_line(char *out, size_t len, char what, const char *kind, const char *name)
{
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    ck_assert_int_eq(stat(path, &st), 0);
    int n = snprintf(out, len, "%c %s ", what, kind);
    for (const char *c = name; *c; c++)
        n += snprintf(out + n, len - (size_t)n, "%02x", (unsigned char)*c);
    snprintf(out + n, len - (size_t)n, " %llx %llx\n", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

static int nothing_to_do(nmc_arena *arena, nmc_value *result)
{
    *result = nmc_val_long(0);
    return NMC_OK;
}

START_TEST(leftovers_of_a_crashed_run_are_deleted)
{
    int fd1, fd2;
    char left[NMC_SHM_NAME_MAX], gone[NMC_SHM_NAME_MAX], text[1024], line[300];
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd1, left));
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd2, gone));
    close(fd1);
    close(fd2);
    text[0] = '\0';
    manifest_line(line, sizeof line, 'R', "SHM", left);
    strcat(text, line);
    manifest_line(line, sizeof line, 'R', "SHM", gone);
    strcat(text, line);
    manifest_line(line, sizeof line, 'U', "SHM", gone); /* deleted by the run */
    strcat(text, line);
    write_manifest(text);
    run(nothing_to_do);
    ck_assert_status(nmc_sys_shm_open(left, &fd1), NMC_ENOT_FOUND);
    ck_assert_ok(nmc_sys_shm_open(gone, &fd2)); /* not ours any more: kept */
    close(fd2);
    ck_assert_ok(nmc_sys_shm_unlink(gone));
}
END_TEST

START_TEST(no_unlink_keeps_leftovers)
{
    int fd;
    char left[NMC_SHM_NAME_MAX], line[300];
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, left));
    close(fd);
    manifest_line(line, sizeof line, 'R', "SHM", left);
    write_manifest(line);
    opt.no_unlink = true;
    run(nothing_to_do);
    ck_assert_ok(nmc_sys_shm_open(left, &fd));
    close(fd);
    opt.no_unlink = false;
    run(nothing_to_do); /* still listed: deleted now */
    ck_assert_status(nmc_sys_shm_open(left, &fd), NMC_ENOT_FOUND);
}
END_TEST

START_TEST(corrupt_manifest_deletes_nothing)
{
    int fd;
    char left[NMC_SHM_NAME_MAX], text[1024];
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, left));
    close(fd);
    const char *bad[] = {
        "X SHM 2f61 1 2\n",              /* unknown event */
        "R DIR 2f61 1 2\n",              /* unknown kind */
        "R SHM 2f6 1 2\n",               /* odd hex */
        "R SHM 2f2e2e2f6574632f 1 2\n",  /* "/../etc/" */
        "R SHM 2F41 1 2\n",              /* upper-case hex */
        "R SHM 2f61 1 2",                /* no newline: a torn last line */
        "R FILE 2f746d702f2e2e2f65 1 2\n", /* "/tmp/../e" */
        "R SHM 2f61 1\n",                /* half an identity */
        "R SHM 2f61 1 2 3\n",            /* a field too many */
        "R SHM 2f61 1 2 \n",             /* a trailing space */
        "R SHM 2f61 1  2\n",             /* an empty field */
        "R SHM 2f61 1 2g\n",             /* not hex */
        "R SHM 2f61 1 11111111111111111\n", /* 17 digits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[300];
        manifest_line(line, sizeof line, 'R', "SHM", left);
        snprintf(text, sizeof text, "%s%s", line, bad[i]);
        write_manifest(text);
        long unused;
        scenario = nothing_to_do;
        ck_assert_status(nmc_run(&opt, first_process, extract, &unused), NMC_ECORRUPT);
        ck_assert_ok(nmc_sys_shm_open(left, &fd));
        close(fd);
    }
    opt.disable_pmanage = true; /* the way out: no manifest at all */
    run(nothing_to_do);
    ck_assert_ok(nmc_sys_shm_open(left, &fd));
    close(fd);
    ck_assert_ok(nmc_sys_shm_unlink(left));
}
END_TEST

START_TEST(manifest_records_and_pidfile)
{
    char pidfile[300], path[300], buf[4096];
    snprintf(pidfile, sizeof pidfile, "%s/master.pid", dir);
    opt.pidfile = pidfile;
    long line = -2;
    scenario = nothing_to_do;
    ck_assert_ok(nmc_run(&opt, first_with_prealloc, extract, &line));
    FILE *f = fopen(pidfile, "r");
    ck_assert_ptr_nonnull(f);
    int pid = 0;
    ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
    fclose(f);
    ck_assert_int_eq(pid, getpid());
    snprintf(path, sizeof path, "%s/nmc.pmanage", dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "R SHM 2f", 8) == 0, "manifest: %s", buf);
    ck_assert_ok(nmc_destroy_resources()); /* deletes and empties it */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, worker_starts_worker_from_master_copy);
    tcase_add_test(tc, two_hundred_workers);
    tcase_add_test(tc, structured_values_travel);
    tcase_add_test(tc, join_twice_and_nowait);
    tcase_add_test(tc, crashed_workers_give_no_result);
    tcase_add_test(tc, released_points_refuse);
    tcase_add_test(tc, master_rules);
    tcase_add_test(tc, file_resource_counts_uses);
    tcase_add_test(tc, dead_worker_drops_its_uses);
    tcase_add_test(tc, preallocated_shm_is_inherited);
    tcase_add_test(tc, mempool_is_a_resource);
    tcase_add_test(tc, leftovers_of_a_crashed_run_are_deleted);
    tcase_add_test(tc, no_unlink_keeps_leftovers);
    tcase_add_test(tc, corrupt_manifest_deletes_nothing);
    tcase_add_test(tc, manifest_records_and_pidfile);
    tcase_add_test(tc, worker_requests_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
