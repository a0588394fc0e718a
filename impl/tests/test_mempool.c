/* Tests of the memory pool API (impl/src/mempool/): creation and rounding,
 * allocation in page units, best fit and coalescing, fragmentation,
 * size queries, double free, stats, debug_info, names, unlink, lazy
 * commitment and the debug fills. Crash repair, corruption detection and
 * fork inheritance are in test_mempool_shared.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmc/mempool.h"
#include "nmc_test.h"

enum { MiB = 1 << 20 };

/* ---- helpers ------------------------------------------------------------- */

static size_t ps(void)
{
    return nmc_sys_pagesize();
}

static nmc_mempool *make_pool(size_t size, bool alloc_really)
{
    nmc_mempool *pool = NULL;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), size, alloc_really, &pool));
    ck_assert_ptr_nonnull(pool);
    return pool;
}

static struct nmc_mempool_stats stats_of(nmc_mempool *pool)
{
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    return s;
}

static size_t size_of(nmc_mempool *pool, void *mem)
{
    size_t n = 0;
    ck_assert_ok(nmc_mempool_size_mem(pool, mem, &n));
    return n;
}

/* Asserts the pool is back to one free run of its whole size. */
static void assert_all_free(nmc_mempool *pool)
{
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.free, s.total);
    ck_assert_uint_eq(s.contiguous, s.total);
    ck_assert_uint_eq(s.free_runs, 1);
    ck_assert_uint_eq(s.used_blocks, 0);
    ck_assert_ok(nmc_mempool_check(pool));
}

/* A small deterministic generator (xorshift64*). */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void shuffle(void **v, size_t n, uint64_t *seed)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd(seed) % i;
        void *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ---- create -------------------------------------------------------------- */

START_TEST(create_rounds_to_pages)
{
    const size_t sizes[][2] = {{1, 1}, {ps() - 1, 1}, {ps(), 1}, {ps() + 1, 2}, {10 * ps(), 10}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        nmc_mempool *pool = make_pool(sizes[i][0], false);
        struct nmc_mempool_stats s = stats_of(pool);
        ck_assert_uint_eq(s.total, sizes[i][1] * ps());
        ck_assert_uint_eq(s.free, s.total);
        ck_assert_uint_eq(s.contiguous, s.total);
        ck_assert_uint_eq(pool->npages, sizes[i][1]);
        ck_assert_ok(nmc_mempool_check(pool));
        ck_assert_ok(nmc_mempool_destroy(pool));
    }
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
}
END_TEST

START_TEST(create_rejects_bad_arguments)
{
    nmc_mempool *pool = NULL;
    ck_assert_status(nmc_mempool_create(NULL, ps(), false, &pool), NMC_EINVAL);
    ck_assert_status(nmc_mempool_create(nmc_test_prefix(), ps(), false, NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_create(nmc_test_prefix(), 0, false, &pool), NMC_EINVAL);
    ck_assert_status(nmc_mempool_create("bad/prefix", ps(), false, &pool), NMC_EINVAL);
    ck_assert_status(nmc_mempool_create(nmc_test_prefix(), SIZE_MAX, false, &pool),
                     NMC_EOVERFLOW);
    size_t too_many = ((size_t)NMC_MEMPOOL_MAX_PAGES + 1) * ps();
    ck_assert_status(nmc_mempool_create(nmc_test_prefix(), too_many, false, &pool),
                     NMC_EOVERFLOW);
    ck_assert_ptr_null(pool);
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
}
END_TEST

START_TEST(create_header_layout)
{
    nmc_mempool *pool = make_pool(16 * MiB, true);
    ck_assert_uint_eq(pool->magic, NMC_MEMPOOL_MAGIC);
    ck_assert_uint_eq(pool->version, NMC_MEMPOOL_VERSION);
    ck_assert_uint_eq(pool->base, (uintptr_t)pool);
    ck_assert_uint_eq(pool->npages, 16 * MiB / ps());
    ck_assert_uint_eq(pool->data_off % ps(), 0);
    ck_assert_uint_eq(pool->map_bytes, pool->data_off + 16 * MiB);
    ck_assert_uint_eq(pool->alloc_really, 1);
    /* The bookkeeping costs about 24 bytes per page plus the struct. */
    ck_assert_uint_le(pool->data_off, 24 * (size_t)pool->npages + 2 * ps());
    struct stat st;
    char path[NMC_SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", nmc_mempool_shm_name(pool));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq((size_t)st.st_size, pool->map_bytes);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* Security: two pools under one prefix get different random names; each
 * object is private (0600, ours). */
START_TEST(names_unpredictable_objects_private)
{
    nmc_mempool *a = make_pool(ps(), false), *b = make_pool(ps(), false);
    ck_assert_str_ne(nmc_mempool_shm_name(a), nmc_mempool_shm_name(b));
    nmc_mempool *pools[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        char path[NMC_SHM_NAME_MAX + 16];
        snprintf(path, sizeof path, "/dev/shm%s", nmc_mempool_shm_name(pools[i]));
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(st.st_uid, geteuid());
    }
    ck_assert_ok(nmc_mempool_destroy(a));
    ck_assert_ok(nmc_mempool_destroy(b));
}
END_TEST

/* ---- alloc and free ------------------------------------------------------ */

START_TEST(alloc_rounds_to_pages)
{
    nmc_mempool *pool = make_pool(64 * ps(), false);
    const size_t sizes[][2] = {{1, 1}, {ps() - 1, 1}, {ps(), 1}, {ps() + 1, 2}, {5 * ps(), 5}};
    void *mem[5];
    for (size_t i = 0; i < 5; i++) {
        ck_assert_ok(nmc_mempool_alloc(pool, sizes[i][0], &mem[i]));
        ck_assert_uint_eq((uintptr_t)mem[i] % ps(), 0);
        ck_assert_uint_eq(size_of(pool, mem[i]), sizes[i][1] * ps());
        memset(mem[i], i + 1, sizes[i][1] * ps()); /* the whole block is ours */
    }
    for (size_t i = 0; i < 5; i++) {
        const unsigned char *b = mem[i];
        ck_assert_uint_eq(b[0], i + 1);
        ck_assert_uint_eq(b[sizes[i][1] * ps() - 1], i + 1);
    }
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.free, (64 - 10) * ps());
    ck_assert_uint_eq(s.used_blocks, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_ok(nmc_mempool_free(pool, mem[i]));
    assert_all_free(pool);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(alloc_rejects_bad_arguments)
{
    nmc_mempool *pool = make_pool(4 * ps(), false);
    void *mem = NULL;
    ck_assert_status(nmc_mempool_alloc(pool, 0, &mem), NMC_EINVAL);
    ck_assert_status(nmc_mempool_alloc(NULL, ps(), &mem), NMC_EINVAL);
    ck_assert_status(nmc_mempool_alloc(pool, ps(), NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_alloc(pool, 4 * ps() + 1, &mem), NMC_EOUT_OF_POOL_MEMORY);
    ck_assert_status(nmc_mempool_alloc(pool, SIZE_MAX, &mem), NMC_EOUT_OF_POOL_MEMORY);
    ck_assert_ptr_null(mem);
    ck_assert_status(nmc_mempool_free(NULL, &mem), NMC_EINVAL);
    ck_assert_status(nmc_mempool_free(pool, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_mempool_alloc(pool, 4 * ps(), &mem)); /* exactly all of it */
    ck_assert_ok(nmc_mempool_free(pool, mem));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* The figure: 16 MiB holds 4,096 one-page blocks (the original
 * refused the 1,089th for lack of tree nodes). */
START_TEST(fill_16MiB_with_pages)
{
    nmc_mempool *pool = make_pool(16 * MiB, false);
    size_t n = 16 * MiB / ps();
    void **mem = calloc(n, sizeof *mem);
    for (size_t i = 0; i < n; i++)
        ck_assert_ok(nmc_mempool_alloc(pool, 1, &mem[i]));
    void *extra;
    ck_assert_status(nmc_mempool_alloc(pool, 1, &extra), NMC_EOUT_OF_POOL_MEMORY);
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.free, 0);
    ck_assert_uint_eq(s.contiguous, 0);
    ck_assert_uint_eq(s.used_blocks, n);
    ck_assert_uint_eq(s.free_runs, 0);
    ck_assert_ok(nmc_mempool_check(pool));
    uint64_t seed = 42;
    shuffle(mem, n, &seed);
    for (size_t i = 0; i < n; i++)
        ck_assert_ok(nmc_mempool_free(pool, mem[i]));
    assert_all_free(pool);
    ck_assert_ok(nmc_mempool_alloc(pool, 16 * MiB, &extra));
    ck_assert_ok(nmc_mempool_free(pool, extra));
    free(mem);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* Random sizes until full, freed in random orders: coalescing must bring
 * back one run of the whole pool every time. */
START_TEST(coalescing_in_random_orders)
{
    nmc_mempool *pool = make_pool(1024 * ps(), false);
    void *mem[1024];
    for (uint64_t seed = 1; seed <= 20; seed++) {
        uint64_t r = seed * 7919;
        size_t n = 0;
        for (;;) {
            size_t pages = 1 + rnd(&r) % 17;
            int st = nmc_mempool_alloc(pool, pages * ps() - rnd(&r) % ps(), &mem[n]);
            if (st == NMC_EOUT_OF_POOL_MEMORY) {
                ck_assert_uint_lt(stats_of(pool).contiguous, pages * ps());
                if (stats_of(pool).contiguous == 0)
                    break;
                continue;
            }
            ck_assert_ok(st);
            n++;
        }
        ck_assert_ok(nmc_mempool_check(pool));
        shuffle(mem, n, &r);
        for (size_t i = 0; i < n; i++) {
            ck_assert_ok(nmc_mempool_free(pool, mem[i]));
            if (i % 64 == 0)
                ck_assert_ok(nmc_mempool_check(pool));
        }
        assert_all_free(pool);
    }
    void *all;
    ck_assert_ok(nmc_mempool_alloc(pool, 1024 * ps(), &all));
    ck_assert_ok(nmc_mempool_free(pool, all));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* Frees both neighbours then the middle, in each order: every case of the
 * merge (none, left, right, both). */
START_TEST(coalescing_neighbours)
{
    nmc_mempool *pool = make_pool(3 * ps(), false);
    static const int orders[][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (size_t o = 0; o < 6; o++) {
        void *m[3];
        for (int i = 0; i < 3; i++)
            ck_assert_ok(nmc_mempool_alloc(pool, ps(), &m[i]));
        for (int i = 0; i < 3; i++) {
            ck_assert_ok(nmc_mempool_free(pool, m[orders[o][i]]));
            ck_assert_ok(nmc_mempool_check(pool));
        }
        assert_all_free(pool);
    }
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(best_fit_prefers_the_smallest_run)
{
    nmc_mempool *pool = make_pool(20 * ps(), false);
    void *a, *hole5, *b, *hole2, *c;
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &a));
    ck_assert_ok(nmc_mempool_alloc(pool, 5 * ps(), &hole5));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &b));
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &hole2));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &c)); /* 10 pages left at the end */
    ck_assert_ok(nmc_mempool_free(pool, hole5));
    ck_assert_ok(nmc_mempool_free(pool, hole2));
    void *m;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &m));
    ck_assert_ptr_eq(m, hole2);
    ck_assert_ok(nmc_mempool_alloc(pool, 3 * ps(), &m));
    ck_assert_ptr_eq(m, hole5);
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(fragmentation_is_out_of_pool_memory)
{
    nmc_mempool *pool = make_pool(64 * ps(), false);
    void *m[64];
    for (int i = 0; i < 64; i++)
        ck_assert_ok(nmc_mempool_alloc(pool, ps(), &m[i]));
    for (int i = 0; i < 64; i += 2)
        ck_assert_ok(nmc_mempool_free(pool, m[i]));
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.free, 32 * ps());
    ck_assert_uint_eq(s.contiguous, ps());
    ck_assert_uint_eq(s.free_runs, 32);
    void *big;
    ck_assert_status(nmc_mempool_alloc(pool, 2 * ps(), &big), NMC_EOUT_OF_POOL_MEMORY);
    ck_assert_ok(nmc_mempool_free(pool, m[1])); /* joins runs 0..2 */
    ck_assert_uint_eq(stats_of(pool).contiguous, 3 * ps());
    ck_assert_ok(nmc_mempool_alloc(pool, 3 * ps(), &big));
    ck_assert_ptr_eq(big, m[0]);
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* ---- size queries and bad frees ------------------------------------------ */

START_TEST(size_mem_not_found)
{
    nmc_mempool *pool = make_pool(8 * ps(), false);
    void *m, *f;
    ck_assert_ok(nmc_mempool_alloc(pool, 3 * ps(), &m));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &f));
    ck_assert_ok(nmc_mempool_free(pool, f));
    char *c = m;
    int local;
    size_t n = 7;
    const uintptr_t bad[] = {
        (uintptr_t)&local,                 /* foreign                      */
        (uintptr_t)pool,                   /* the header                   */
        (uintptr_t)(c + 1),                /* inside the first page        */
        (uintptr_t)(c + ps()),             /* interior page                */
        (uintptr_t)(c + 2 * ps()),         /* last page of the block       */
        (uintptr_t)f,                      /* a freed block                */
        (uintptr_t)(c + 7 * ps()),         /* free space                   */
        (uintptr_t)(c + 8 * ps()),         /* one past the end             */
        (uintptr_t)(c - ps()),             /* just before the usable area  */
        0,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_status(nmc_mempool_size_mem_at_addr(pool, bad[i], &n), NMC_ENOT_FOUND);
        ck_assert_status(nmc_mempool_size_mem(pool, (void *)bad[i], &n), NMC_ENOT_FOUND);
    }
    ck_assert_uint_eq(n, 7);
    ck_assert_ok(nmc_mempool_size_mem_at_addr(pool, (uintptr_t)m, &n));
    ck_assert_uint_eq(n, 3 * ps());
    ck_assert_status(nmc_mempool_size_mem(pool, m, NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_size_mem(NULL, m, &n), NMC_EINVAL);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(bad_free_is_a_status)
{
    nmc_mempool *pool = make_pool(8 * ps(), false);
    void *m, *keep;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &m));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &keep));
    int local;
    ck_assert_status(nmc_mempool_free(pool, &local), NMC_ENOT_FOUND);
    ck_assert_status(nmc_mempool_free(pool, (char *)m + ps()), NMC_ENOT_FOUND);
    ck_assert_status(nmc_mempool_free(pool, (char *)m + 8), NMC_ENOT_FOUND);
    ck_assert_ok(nmc_mempool_free(pool, m));
    ck_assert_status(nmc_mempool_free(pool, m), NMC_ENOT_FOUND); /* double free */
    ck_assert_ok(nmc_mempool_check(pool));
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.used_blocks, 1);
    ck_assert_uint_eq(s.free, 7 * ps());
    ck_assert_ok(nmc_mempool_free(pool, keep));
    assert_all_free(pool);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

/* ---- stats, debug_info, names, unlink ------------------------------------ */

START_TEST(stats_track_allocations)
{
    nmc_mempool *pool = make_pool(10 * ps(), false);
    void *a, *b;
    ck_assert_ok(nmc_mempool_alloc(pool, 4 * ps(), &a));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &b));
    ck_assert_ok(nmc_mempool_free(pool, a));
    struct nmc_mempool_stats s = stats_of(pool);
    ck_assert_uint_eq(s.total, 10 * ps());
    ck_assert_uint_eq(s.free, 9 * ps());
    ck_assert_uint_eq(s.contiguous, 5 * ps());
    ck_assert_uint_eq(s.used_blocks, 1);
    ck_assert_uint_eq(s.free_runs, 2);
    ck_assert_status(nmc_mempool_stats(pool, NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_stats(NULL, &s), NMC_EINVAL);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(debug_info_describes_runs)
{
    nmc_mempool *pool = make_pool(10 * ps(), false);
    void *a, *b;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &a));
    ck_assert_ok(nmc_mempool_alloc(pool, ps(), &b));
    char *text = NULL;
    ck_assert_ok(nmc_mempool_debug_info(pool, &text));
    ck_assert_ptr_nonnull(strstr(text, nmc_mempool_shm_name(pool)));
    ck_assert_ptr_nonnull(strstr(text, "10 pages"));
    ck_assert_ptr_nonnull(strstr(text, "7 free pages in 1 runs, 2 blocks"));
    ck_assert_ptr_nonnull(strstr(text, "pages 0-1: block of 2 pages"));
    ck_assert_ptr_nonnull(strstr(text, "pages 2-2: block of 1 pages"));
    ck_assert_ptr_nonnull(strstr(text, "pages 3-9: free, 7 pages"));
    char addr[32];
    snprintf(addr, sizeof addr, "%p pages 0-1", a);
    ck_assert_ptr_nonnull(strstr(text, addr));
    free(text);
    ck_assert_status(nmc_mempool_debug_info(pool, NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_debug_info(NULL, &text), NMC_EINVAL);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

START_TEST(shm_name_and_unlink)
{
    nmc_mempool *pool = make_pool(4 * ps(), false);
    const char *name = nmc_mempool_shm_name(pool);
    ck_assert_ptr_nonnull(name);
    ck_assert_int_eq(name[0], '/');
    ck_assert_int_eq(strncmp(name + 1, nmc_test_prefix(), strlen(nmc_test_prefix())), 0);
    ck_assert_ptr_null(nmc_mempool_shm_name(NULL));
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 1);
    ck_assert_ok(nmc_mempool_unlink(pool));
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
    ck_assert_status(nmc_mempool_unlink(pool), NMC_ENOT_FOUND);
    void *m; /* the mapping outlives the name */
    ck_assert_ok(nmc_mempool_alloc(pool, 4 * ps(), &m));
    memset(m, 1, 4 * ps());
    ck_assert_ok(nmc_mempool_free(pool, m));
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool)); /* name already gone: still fine */
    ck_assert_status(nmc_mempool_unlink(NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_unmap(NULL), NMC_EINVAL);
    ck_assert_status(nmc_mempool_destroy(NULL), NMC_EINVAL);
}
END_TEST

START_TEST(unmap_keeps_the_name)
{
    nmc_mempool *pool = make_pool(4 * ps(), false);
    char name[NMC_SHM_NAME_MAX];
    strcpy(name, nmc_mempool_shm_name(pool));
    ck_assert_ok(nmc_mempool_unmap(pool));
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 1);
    ck_assert_ok(nmc_sys_shm_unlink(name));
}
END_TEST

/* ---- commitment and fills ------------------------------------------------ */

/* Without alloc_really a page is committed when first handed out, and a
 * free run remembers its committed prefix across free and alloc. */
START_TEST(lazy_commit_prefix)
{
    nmc_mempool *pool = make_pool(8 * ps(), false);
    const struct nmc_mempool_page *pages =
        (const void *)((const char *)pool + pool->pages_off);
    ck_assert_uint_eq(pages[0].committed, 0);
    void *m;
    ck_assert_ok(nmc_mempool_alloc(pool, 3 * ps(), &m));
    ck_assert_uint_eq(pages[3].committed, 0);
    ck_assert_ok(nmc_mempool_free(pool, m));
    ck_assert_uint_eq(pages[0].committed, 3);
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), &m));
    ck_assert_uint_eq(pages[2].committed, 1);
    ck_assert_ok(nmc_mempool_free(pool, m));
    ck_assert_uint_eq(pages[0].committed, 3);
    ck_assert_ok(nmc_mempool_check(pool));
    ck_assert_ok(nmc_mempool_destroy(pool));

    pool = make_pool(8 * ps(), true);
    pages = (const void *)((const char *)pool + pool->pages_off);
    ck_assert_uint_eq(pages[0].committed, 8);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

#ifndef NDEBUG
START_TEST(debug_fills)
{
    nmc_mempool *pool = make_pool(4 * ps(), false);
    unsigned char *m;
    ck_assert_ok(nmc_mempool_alloc(pool, 2 * ps(), (void **)&m));
    for (size_t i = 0; i < 2 * ps(); i++)
        ck_assert_uint_eq(m[i], 0xAA);
    ck_assert_ok(nmc_mempool_free(pool, m));
    for (size_t i = 0; i < 2 * ps(); i++) /* still mapped: the pool's memory */
        ck_assert_uint_eq(m[i], 0x55);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST
#endif

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mempool");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, create_rounds_to_pages);
    tcase_add_test(tc, create_rejects_bad_arguments);
    tcase_add_test(tc, create_header_layout);
    tcase_add_test(tc, names_unpredictable_objects_private);
    tcase_add_test(tc, alloc_rounds_to_pages);
    tcase_add_test(tc, alloc_rejects_bad_arguments);
    tcase_add_test(tc, fill_16MiB_with_pages);
    tcase_add_test(tc, coalescing_in_random_orders);
    tcase_add_test(tc, coalescing_neighbours);
    tcase_add_test(tc, best_fit_prefers_the_smallest_run);
    tcase_add_test(tc, fragmentation_is_out_of_pool_memory);
    tcase_add_test(tc, size_mem_not_found);
    tcase_add_test(tc, bad_free_is_a_status);
    tcase_add_test(tc, stats_track_allocations);
    tcase_add_test(tc, debug_info_describes_runs);
    tcase_add_test(tc, shm_name_and_unlink);
    tcase_add_test(tc, unmap_keeps_the_name);
    tcase_add_test(tc, lazy_commit_prefix);
#ifndef NDEBUG
    tcase_add_test(tc, debug_fills);
#endif
    suite_add_tcase(s, tc);
    return s;
}
