/* Fault-injection sweeps (build with --config=faults; see nmc/sys.h).
 *
 * For each operation, N = 1, 2, ...: arm the hooks so that the N-th call of
 * the sites the operation may reach fails, run the operation, disarm. Until
 * N exceeds the number of calls the operation makes, a failure is injected:
 * the operation must then return a status (never crash: each test runs in
 * its own forked process), the structures it touched must still pass their
 * check functions, and nothing may leak (no /dev/shm object with the test
 * prefix, no file descriptor: /proc/self/fd is counted). The sweep ends with
 * the first N that injects nothing, where the operation must succeed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmc/nmc.h"
#include "nmc_test.h"
#include "test_values.h"

#ifndef NMC_FAULTS
#error "test_faults needs the fault hooks: bazel test --config=faults"
#endif

/* The system-call sites. */
#define SYS_SITES                                                              \
    (NMC_FAULT_FTRUNCATE | NMC_FAULT_FALLOCATE | NMC_FAULT_MMAP | NMC_FAULT_SHM_OPEN | \
     NMC_FAULT_OPEN)
/* Longest sweep before the test calls it a runaway. */
enum { MAX_N = 2000 };

static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* What must be the same before and after each step of a sweep. */
struct leak_mark {
    int fds, shm;
};

static struct leak_mark mark(void)
{
    return (struct leak_mark){fd_count(), nmc_test_shm_count(nmc_test_prefix())};
}

/* The process manager's master keeps its manifest open between runs and
 * closes it when the next startup fails: there the count must stay at or
 * below the count after a successful run (fds_ceiling > 0). */
static int fds_ceiling;

static void assert_no_leak(struct leak_mark before, const char *what, unsigned long n)
{
    struct leak_mark now = mark();
    ck_assert_msg(fds_ceiling > 0 ? now.fds <= fds_ceiling : now.fds == before.fds, "%s, N = %lu: %d fds before, %d after", what, n,
                  before.fds, now.fds);
    ck_assert_msg(now.shm == before.shm, "%s, N = %lu: %d shm objects before, %d after", what,
                  n, before.shm, now.shm);
}

/* Runs op(ctx, &injected) for N = 1, 2, ... with the n-th call of sites
 * failing. op returns the operation's status after its own checks and
 * cleanup; a failure must come from an injected fault. Returns the number
 * of N that injected a failure. */
static unsigned long sweep(const char *what, unsigned sites, int (*op)(void *ctx), void *ctx)
{
    for (unsigned long n = 1;; n++) {
        ck_assert_msg(n < MAX_N, "%s: still failing at N = %lu", what, n);
        struct leak_mark before = mark();
        nmc_fault_arm(sites, n);
        int st = op(ctx);
        nmc_fault_disarm();
        bool fired = nmc_fault_fired() > 0;
        assert_no_leak(before, what, n);
        if (!fired) {
            ck_assert_msg(st == NMC_OK, "%s, N = %lu: nothing injected, but %s", what, n,
                          nmc_strerror(st));
            printf("fault sweep %-28s %3lu injected failures, all handled\n", what, n - 1);
            return n - 1;
        }
    }
}

/* ---- mempool ----------------------------------------------------------- */

static int pool_create_op(void *ctx)
{
    bool really = *(bool *)ctx;
    nmc_mempool *pool = NULL;
    int st = nmc_mempool_create(nmc_test_prefix(), 1 << 20, really, &pool);
    if (st != NMC_OK)
        return st;
    nmc_fault_disarm();
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
    return NMC_OK;
}

START_TEST(pool_create)
{
    bool really = false;
    ck_assert_uint_gt(sweep("mempool_create", SYS_SITES, pool_create_op, &really), 0);
    really = true;
    ck_assert_uint_gt(sweep("mempool_create alloc_really", SYS_SITES, pool_create_op, &really),
                      0);
}
END_TEST

struct pool_ctx {
    nmc_mempool *pool;
};

/* Three allocations of growing size; on a failure the pool holds exactly
 * the blocks that succeeded. */
static int pool_alloc_op(void *ctx)
{
    nmc_mempool *pool = ((struct pool_ctx *)ctx)->pool;
    void *mem[3] = {0};
    size_t sizes[3] = {100, 5 * 4096, 64 * 4096};
    int st = NMC_OK;
    int got = 0;
    for (; got < 3 && (st = nmc_mempool_alloc(pool, sizes[got], &mem[got])) == NMC_OK; got++)
        ;
    nmc_fault_disarm();
    ck_assert_ok(nmc_mempool_check(pool));
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    ck_assert_uint_eq(s.used_blocks, (uint64_t)got);
    for (int i = 0; i < got; i++)
        ck_assert_ok(nmc_mempool_free(pool, mem[i]));
    ck_assert_ok(nmc_mempool_check(pool));
    return st;
}

START_TEST(pool_alloc)
{
    struct pool_ctx c;
    /* Lazily committed: an allocation commits its pages (fallocate). */
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), 4 << 20, false, &c.pool));
    ck_assert_uint_gt(sweep("mempool_alloc", SYS_SITES | NMC_FAULT_POOL_ALLOC, pool_alloc_op, &c),
                      0);
    ck_assert_ok(nmc_mempool_destroy(c.pool));
}
END_TEST

/* ---- heap -------------------------------------------------------------- */

static nmc_value big_list(int n)
{
    nmc_value l = nmc_val_long(0);
    char buf[64];
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "element number %d of the list", i);
        l = pair(str(buf), l);
    }
    return l;
}

static int heap_create_op(void *ctx)
{
    nmc_mempool *pool = ctx;
    nmc_heap *heap;
    int st = nmc_heap_create(pool, 4096, pair(nmc_val_long(1), big_list(10)), &heap);
    nmc_fault_disarm();
    if (st == NMC_OK) {
        ck_assert_ok(nmc_heap_check(heap));
        ck_assert_ok(nmc_heap_destroy(heap));
    }
    ck_assert_ok(nmc_mempool_check(pool));
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    ck_assert_uint_eq(s.used_blocks, 0);
    return st;
}

struct heap_ctx {
    nmc_heap *heap;
    nmc_value value;
};

static int heap_add_op(void *ctx)
{
    struct heap_ctx *c = ctx;
    nmc_mutator *mut;
    int st = nmc_heap_modify_begin(c->heap, &mut);
    ck_assert_ok(st);
    nmc_value copy;
    st = nmc_heap_add(mut, c->value, &copy);
    if (st == NMC_OK)
        nmc_field(nmc_heap_root(c->heap), 1) = copy;
    nmc_fault_disarm();
    ck_assert_ok(nmc_heap_modify_end(mut));
    ck_assert_ok(nmc_heap_check(c->heap));
    if (st == NMC_OK) {
        bool same;
        ck_assert_ok(nmc_equal(nmc_field(nmc_heap_root(c->heap), 1), c->value, &same));
        ck_assert(same);
        /* Back to a small heap for the next N. */
        ck_assert_ok(nmc_heap_modify_begin(c->heap, &mut));
        nmc_field(nmc_heap_root(c->heap), 1) = nmc_val_long(0);
        ck_assert_ok(nmc_heap_gc_in(mut));
        ck_assert_ok(nmc_heap_modify_end(mut));
        ck_assert_ok(nmc_heap_check(c->heap));
    }
    return st;
}

START_TEST(heap_create_and_add)
{
    test_values_setup();
    nmc_mempool *pool;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), 16 << 20, false, &pool));
    unsigned sites = SYS_SITES | NMC_FAULT_POOL_ALLOC | NMC_FAULT_HEAP_EXTEND;
    ck_assert_uint_gt(sweep("heap_create", sites, heap_create_op, pool), 0);
    struct heap_ctx c = {.value = big_list(3000)};
    ck_assert_ok(nmc_heap_create(pool, 4096, pair(nmc_val_long(0), nmc_val_long(0)), &c.heap));
    ck_assert_uint_gt(sweep("heap_add", sites, heap_add_op, &c), 0);
    ck_assert_ok(nmc_heap_destroy(c.heap));
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
    test_values_teardown();
}
END_TEST

/* ---- camlbox ----------------------------------------------------------- */

static char box_name[64];

static int camlbox_create_op(void *ctx)
{
    nmc_camlbox *box;
    int st = nmc_camlbox_create(box_name, 8, 256, &box);
    nmc_fault_disarm();
    if (st != NMC_OK) {
        int fd;
        ck_assert_status(nmc_camlbox_fd(box_name, &fd), NMC_ENOT_FOUND);
        return st;
    }
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_close(box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
    return NMC_OK;
}

struct send_ctx {
    nmc_camlbox *box;
};

static int camlbox_send_op(void *ctx)
{
    nmc_camlbox *box = ((struct send_ctx *)ctx)->box;
    nmc_camlbox_sender *s;
    int st = nmc_camlbox_sender_open(box_name, &s);
    uint32_t slot = 0;
    if (st == NMC_OK) {
        st = nmc_camlbox_send(s, pair(str("hello"), nmc_val_long(42)), NMC_CAMLBOX_ANY_SLOT,
                              &slot);
        ck_assert_ok(nmc_camlbox_sender_close(s));
    }
    nmc_fault_disarm();
    ck_assert_ok(nmc_camlbox_check(box));
    uint32_t messages;
    ck_assert_ok(nmc_camlbox_bmessages(box, &messages));
    ck_assert_uint_eq(messages, st == NMC_OK ? 1 : 0);
    if (st == NMC_OK) {
        uint32_t slots[8];
        size_t n;
        ck_assert_ok(nmc_camlbox_wait(box, slots, 8, &n));
        ck_assert_uint_eq(n, 1);
        nmc_value v;
        ck_assert_ok(nmc_camlbox_get_checked(box, slots[0], &v));
        ck_assert_int_eq(nmc_long_val(nmc_field(v, 1)), 42);
        ck_assert_ok(nmc_camlbox_delete(box, slots[0]));
    }
    return st;
}

START_TEST(camlbox_create_and_send)
{
    test_values_setup();
    snprintf(box_name, sizeof box_name, "/%s_box", nmc_test_prefix());
    ck_assert_uint_gt(sweep("camlbox_create", SYS_SITES, camlbox_create_op, NULL), 0);
    struct send_ctx c;
    ck_assert_ok(nmc_camlbox_create(box_name, 8, 256, &c.box));
    ck_assert_uint_gt(sweep("camlbox_sender_open+send", SYS_SITES, camlbox_send_op, &c), 0);
    ck_assert_ok(nmc_camlbox_close(c.box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
    test_values_teardown();
}
END_TEST

/* ---- shmtable ---------------------------------------------------------- */

struct table_ctx {
    enum nmc_shm_type type;
    char templ[128];
    nmc_shm_descr *d;
    nmc_shmtable *t;
    size_t bindings; /* added so far */
};

/* Creating the object and managing it as a new table. */
static int table_manage_op(void *ctx)
{
    struct table_ctx *c = ctx;
    nmc_shm_name n = {c->type, c->templ};
    nmc_shm_descr *d;
    int st = nmc_shm_create_unique(&n, 0600, &d);
    if (st != NMC_OK)
        return st;
    nmc_shmtable *t;
    st = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 100, &t);
    nmc_fault_disarm();
    if (st == NMC_OK) {
        ck_assert_ok(nmc_shmtable_check(t, NULL));
        nmc_shmtable_close(t);
    }
    /* After a failed manage the object is managed again from scratch. */
    ck_assert_ok(nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 100, &t));
    ck_assert_ok(nmc_shmtable_check(t, NULL));
    nmc_shmtable_close(t);
    nmc_shm_name copy = *nmc_shm_name_of(d);
    char path[128];
    snprintf(path, sizeof path, "%s", copy.name);
    copy.name = path;
    ck_assert_ok(nmc_shm_close(d));
    ck_assert_ok(nmc_shm_unlink(&copy));
    return st;
}

/* Adds 40 bindings of 100 words each (the table grows); on a failure the
 * table checks and holds exactly the bindings that succeeded. */
static int table_add_op(void *ctx)
{
    struct table_ctx *c = ctx;
    int32_t value[100];
    int st = NMC_OK;
    for (int i = 0; i < 40 && st == NMC_OK; i++) {
        for (int k = 0; k < 100; k++)
            value[k] = (int32_t)(c->bindings * 1000 + (size_t)k);
        st = nmc_shmtable_add(c->t, (int32_t)c->bindings, value, 100);
        if (st == NMC_OK)
            c->bindings++;
    }
    nmc_fault_disarm();
    ck_assert_ok(nmc_shmtable_check(c->t, NULL));
    size_t n;
    ck_assert_ok(nmc_shmtable_length(c->t, &n));
    ck_assert_uint_eq(n, c->bindings);
    int32_t buf[100];
    size_t len;
    for (size_t key = 0; key < c->bindings; key += 37) {
        ck_assert_ok(nmc_shmtable_find(c->t, (int32_t)key, buf, 100, &len));
        ck_assert_uint_eq(len, 100);
        ck_assert_int_eq(buf[99], (int32_t)(key * 1000 + 99));
    }
    return st;
}

static void table_sweeps(enum nmc_shm_type type, const char *what_manage, const char *what_add)
{
    struct table_ctx c = {.type = type};
    snprintf(c.templ, sizeof c.templ,
             type == NMC_SHM_POSIX ? "/%s_tXXXXXX" : "/dev/shm/%s_fXXXXXX", nmc_test_prefix());
    ck_assert_uint_gt(sweep(what_manage, SYS_SITES, table_manage_op, &c), 0);
    nmc_shm_name n = {type, c.templ};
    ck_assert_ok(nmc_shm_create_unique(&n, 0600, &c.d));
    ck_assert_ok(nmc_shmtable_manage(c.d, NMC_SHM_RECORD_LOCKING, 0, 10, &c.t));
    ck_assert_uint_gt(sweep(what_add, SYS_SITES, table_add_op, &c), 0);
    nmc_shmtable_close(c.t);
    char path[128];
    snprintf(path, sizeof path, "%s", nmc_shm_name_of(c.d)->name);
    ck_assert_ok(nmc_shm_close(c.d));
    nmc_shm_name name = {type, path};
    ck_assert_ok(nmc_shm_unlink(&name));
}

START_TEST(shmtable_manage_and_add_posix)
{
    table_sweeps(NMC_SHM_POSIX, "shmtable_manage (posix)", "shmtable_add (posix)");
}
END_TEST

START_TEST(shmtable_manage_and_add_file)
{
    table_sweeps(NMC_SHM_FILE, "shmtable_manage (file)", "shmtable_add (file)");
}
END_TEST

/* ---- process start ----------------------------------------------------- */

static char dir[256];
static nmc_res_id echo_fork, echo_join, prealloc_id;

static int echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = arg;
    return NMC_OK;
}

/* A preallocated shm object (named with the test prefix), then a worker
 * echoing a structured value. */
static int first_process(void *ctx, nmc_process_id *pid)
{
    char name[NMC_SHM_NAME_MAX];
    int st = nmc_create_preallocated_shm(nmc_test_prefix(), 8192, &prealloc_id, name);
    if (st != NMC_OK)
        return st;
    return nmc_start(echo_fork, *(nmc_value *)ctx, NULL, pid);
}

static nmc_value echoed;

static int extract(void *ctx, nmc_process_id first)
{
    nmc_arena *a;
    ck_assert_ok(nmc_arena_create(&a));
    nmc_value v;
    int st = nmc_join_nowait(echo_join, first, a, &v);
    if (st == NMC_OK) {
        bool same;
        ck_assert_ok(nmc_equal(v, *(nmc_value *)ctx, &same));
        ck_assert(same);
    }
    nmc_arena_destroy(a);
    return st;
}

static int start_op(void *ctx)
{
    struct nmc_startup_options opt = {.socket_directory = dir};
    int st = nmc_run(&opt, first_process, extract, ctx);
    nmc_fault_disarm();
    ck_assert_ok(nmc_destroy_resources());
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join)); /* destroyed above */
    return st;
}

START_TEST(process_start)
{
    test_values_setup();
    snprintf(dir, sizeof dir, "%s/nmc-faults-XXXXXX",
             getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join));
    echoed = pair(str("an argument that travels"), pair(nmc_val_long(7), str("back")));
    /* A first run without faults: the master's lasting state (manifest fd,
     * window) exists from then on, so the fd count compares like with like. */
    ck_assert_ok(start_op(&echoed));
    fds_ceiling = fd_count();
    ck_assert_uint_gt(sweep("nmc_run/nmc_start", SYS_SITES | NMC_FAULT_POOL_ALLOC, start_op,
                            &echoed),
                      0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    test_values_teardown();
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("sweeps");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pool_create);
    tcase_add_test(tc, pool_alloc);
    tcase_add_test(tc, heap_create_and_add);
    tcase_add_test(tc, camlbox_create_and_send);
    tcase_add_test(tc, shmtable_manage_and_add_posix);
    tcase_add_test(tc, shmtable_manage_and_add_file);
    tcase_add_test(tc, process_start);
    suite_add_tcase(s, tc);
    return s;
}
