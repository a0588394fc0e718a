/* Tests of the memory pool across processes and against damage:
 * inheritance by forked children at the same address, nmc_mempool_check
 * catching deliberately corrupted headers, and repair after a process died
 * holding the pool lock. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/mempool.h"
#include "nmc_test.h"

/* ---- helpers ------------------------------------------------------------- */

static size_t ps(void)
{
    return nmc_sys_pagesize();
}

static nmc_mempool *make_pool(size_t pages)
{
    nmc_mempool *pool = NULL;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), pages * ps(), false, &pool));
    return pool;
}

static struct nmc_mempool_page *page_table(nmc_mempool *pool)
{
    return (struct nmc_mempool_page *)((char *)pool + pool->pages_off);
}

static uint32_t *heads(nmc_mempool *pool)
{
    return (uint32_t *)((char *)pool + pool->heads_off);
}

static uint64_t *level(nmc_mempool *pool, int lv)
{
    return (uint64_t *)((char *)pool + pool->level_off[lv]);
}

/* Waits for child and asserts it exited with status 0. */
static void join_ok(pid_t child)
{
    int ws;
    ck_assert_int_eq(waitpid(child, &ws, 0), child);
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child failed: status %#x", ws);
}

/* ---- inheritance --------------------------------------------------------- */

/* The child sees the parent's block at the same address, allocates its own
 * and reports it through a pipe; the parent allocates after the fork and
 * the child sees that too. */
START_TEST(fork_inherits_at_the_same_address)
{
    nmc_mempool *pool = make_pool(16);
    char *a;
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), (void **)&a));
    strcpy(a, "from the parent");
    int to_child[2], to_parent[2];
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(to_parent), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        size_t n = 0;
        char *b = NULL, *c = NULL;
        int ok = strcmp(a, "from the parent") == 0 &&
                 nmc_mempool_size_mem(pool, a, &n) == NMC_OK && n == ps() &&
                 nmc_mempool_alloc(pool, 2 * ps(), (void **)&b) == NMC_OK;
        if (ok)
            strcpy(b, "from the child");
        ok = ok && write(to_parent[1], &b, sizeof b) == sizeof b &&
             read(to_child[0], &c, sizeof c) == sizeof c &&
             nmc_mempool_size_mem(pool, c, &n) == NMC_OK && n == 3 * ps() &&
             strcmp(c, "parent, after the fork") == 0;
        _exit(ok ? 0 : 1);
    }
    char *b = NULL, *c;
    ck_assert_int_eq(read(to_parent[0], &b, sizeof b), sizeof b);
    ck_assert_ptr_nonnull(b);
    size_t n;
    ck_assert_ok(nmc_mempool_size_mem(pool, b, &n));
    ck_assert_uint_eq(n, 2 * ps());
    ck_assert_str_eq(b, "from the child");
    ck_assert_ok(nmc_mempool_alloc(pool, 3 * ps(), (void **)&c));
    strcpy(c, "parent, after the fork");
    ck_assert_int_eq(write(to_child[1], &c, sizeof c), sizeof c);
    join_ok(child);
    ck_assert_ok(nmc_mempool_free(pool, b)); /* a child's block, freed here */
    ck_assert_ok(nmc_mempool_free(pool, a));
    ck_assert_ok(nmc_mempool_free(pool, c));
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* Several children allocate and free concurrently; the pool ends whole. */
START_TEST(concurrent_children)
{
    enum { CHILDREN = 4, ROUNDS = 2000 };
    nmc_mempool *pool = make_pool(256);
    pid_t kids[CHILDREN];
    for (int k = 0; k < CHILDREN; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            void *held[8] = {0};
            for (int r = 0; r < ROUNDS; r++) {
                int slot = r % 8;
                if (held[slot] != NULL && nmc_mempool_free(pool, held[slot]) != NMC_OK)
                    _exit(1);
                held[slot] = NULL;
                int st = nmc_mempool_alloc(pool, (size_t)(1 + (r * 7 + k) % 5) * ps(), &held[slot]);
                if (st == NMC_OK)
                    memset(held[slot], k, ps());
                else if (st != NMC_EOUT_OF_POOL_MEMORY)
                    _exit(2);
            }
            for (int slot = 0; slot < 8; slot++)
                if (held[slot] != NULL && nmc_mempool_free(pool, held[slot]) != NMC_OK)
                    _exit(3);
            _exit(0);
        }
    }
    for (int k = 0; k < CHILDREN; k++)
        join_ok(kids[k]);
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    ck_assert_uint_eq(s.free, s.total);
    ck_assert_uint_eq(s.free_runs, 1);
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* ---- check --------------------------------------------------------------- */

/* A pool with blocks and holes: runs of every kind to corrupt. */
static nmc_mempool *busy_pool(void *blocks[4])
{
    nmc_mempool *pool = make_pool(64);
    for (int i = 0; i < 4; i++)
        ck_assert_ok(nmc_mempool_alloc(pool, (size_t)(i + 1) * ps(), &blocks[i]));
    ck_assert_ok(nmc_mempool_free(pool, blocks[1])); /* pages 1-2 free */
    ck_assert_ok(nmc_mempool_check(pool));
    return pool;
}

/* Flips one 32-bit word, expects check to notice, restores it. */
static void expect_detected(nmc_mempool *pool, uint32_t *word, uint32_t bad)
{
    uint32_t saved = *word;
    *word = bad;
    ck_assert_status(nmc_mempool_check(pool), NMC_ECORRUPT);
    *word = saved;
    ck_assert_ok(nmc_mempool_check(pool));
}

START_TEST(check_detects_corruption)
{
    void *b[4];
    nmc_mempool *pool = busy_pool(b);
    struct nmc_mempool_page *pg = page_table(pool);
    /* blocks: page 0 (1), free 1-2, pages 3-5 (3), 6-9 (4), free 10-63 */
    expect_detected(pool, &pool->version, NMC_MEMPOOL_VERSION + 1);
    expect_detected(pool, &pool->free_pages, pool->free_pages - 1);
    expect_detected(pool, &pool->free_runs, pool->free_runs + 1);
    expect_detected(pool, &pool->used_runs, pool->used_runs - 1);
    expect_detected(pool, &pool->npages, pool->npages + 1);
    expect_detected(pool, &pool->levels, pool->levels + 1);
    expect_detected(pool, &pg[3].len, 2);              /* first tag            */
    expect_detected(pool, &pg[5].len, 4);              /* last tag             */
    expect_detected(pool, &pg[4].flags, NMC_MEMPOOL_FIRST); /* interior        */
    expect_detected(pool, &pg[4].next, 1);             /* interior link        */
    expect_detected(pool, &pg[0].flags, NMC_MEMPOOL_FIRST | NMC_MEMPOOL_LAST); /* used -> free */
    expect_detected(pool, &pg[1].committed, 3);        /* beyond its run       */
    expect_detected(pool, &pg[1].next, 11);            /* list link            */
    expect_detected(pool, &pg[10].prev, 2);            /* back link            */
    expect_detected(pool, &heads(pool)[2], 0);         /* run missing a list   */
    expect_detected(pool, &heads(pool)[3], 2);         /* list with a stranger */
    uint32_t *bits = (uint32_t *)level(pool, 0);
    expect_detected(pool, &bits[0], bits[0] ^ (1u << 5)); /* an empty class marked */
    expect_detected(pool, &bits[0], bits[0] ^ (1u << 2)); /* a class not marked    */
    uint32_t *top = (uint32_t *)level(pool, (int)pool->levels - 1);
    expect_detected(pool, top, 0);
    /* A magic that does not match: every call refuses the pool. */
    uint64_t magic = pool->magic;
    pool->magic ^= 1;
    ck_assert_status(nmc_mempool_check(pool), NMC_ECORRUPT);
    void *m;
    ck_assert_status(nmc_mempool_alloc(pool, ps(), &m), NMC_ECORRUPT);
    ck_assert_status(nmc_mempool_free(pool, b[0]), NMC_ECORRUPT);
    pool->magic = magic;
    /* Mapped at another address than recorded. */
    pool->base += ps();
    ck_assert_status(nmc_mempool_check(pool), NMC_ECORRUPT);
    pool->base -= ps();
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_status(nmc_mempool_check(NULL), NMC_EINVAL);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* ---- dead owner ---------------------------------------------------------- */

/* Forks a child that takes the pool lock, applies damage (if any) and dies
 * without unlocking. */
static void die_holding_lock(nmc_mempool *pool, void (*damage)(nmc_mempool *))
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        if (nmc_mutex_lock(&pool->lock) != NMC_OK)
            _exit(1);
        if (damage != NULL)
            damage(pool);
        _exit(0);
    }
    join_ok(child);
}

/* What a crash in the middle of free looks like: the lists lost a run. */
static void lose_list(nmc_mempool *pool)
{
    heads(pool)[2] = 0;
    pool->free_pages = 0;
}

/* Damage no walk can get through: a first-page entry is gone. */
static void break_tiling(nmc_mempool *pool)
{
    memset(&page_table(pool)[3], 0, sizeof(struct nmc_mempool_page));
}

START_TEST(dead_owner_with_intact_pool)
{
    void *b[4];
    nmc_mempool *pool = busy_pool(b);
    die_holding_lock(pool, NULL);
    void *m;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &m));
    ck_assert_ptr_eq(m, (char *)b[0] + ps()); /* the 2-page hole */
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(dead_owner_lists_rebuilt)
{
    void *b[4];
    nmc_mempool *pool = busy_pool(b);
    die_holding_lock(pool, lose_list);
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    ck_assert_uint_eq(s.free, 56 * ps());
    ck_assert_uint_eq(s.free_runs, 2);
    ck_assert_ok(nmc_mempool_check(pool));
    void *m;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &m));
    ck_assert_ptr_eq(m, (char *)b[0] + ps());
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(dead_owner_unrepairable_is_corrupt)
{
    void *b[4];
    nmc_mempool *pool = busy_pool(b);
    die_holding_lock(pool, break_tiling);
    void *m;
    ck_assert_status(nmc_mempool_alloc(pool, ps(), &m), NMC_ECORRUPT);
    ck_assert_uint_eq(pool->broken, 1);
    ck_assert_status(nmc_mempool_free(pool, b[0]), NMC_ECORRUPT);
    ck_assert_status(nmc_mempool_check(pool), NMC_ECORRUPT);
    ck_assert_ok(nmc_mempool_destroy(pool)); /* a broken pool can still go */
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mempool_shared");
    TCase *tc = tcase_create("shared");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, fork_inherits_at_the_same_address);
    tcase_add_test(tc, concurrent_children);
    tcase_add_test(tc, check_detects_corruption);
    tcase_add_test(tc, dead_owner_with_intact_pool);
    tcase_add_test(tc, dead_owner_lists_rebuilt);
    tcase_add_test(tc, dead_owner_unrepairable_is_corrupt);
    suite_add_tcase(s, tc);
    return s;
}
