/* Tests of the block pool (impl/src/mem/block_pool.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/mem.h"
#include "nmc/sys.h"
#include "nmc_test.h"

struct pool_stats {
    size_t block_size, per_chunk, chunks, blocks, in_use, free; /* the report's fields */
};

/* Parses nmc_block_pool_report. */
static struct pool_stats stats(const nmc_block_pool *p)
{
    char *text = nmc_block_pool_report(p);
    ck_assert_ptr_nonnull(text);
    struct pool_stats s;
    int n = sscanf(text, "block_size=%zu blocks_per_chunk=%zu chunks=%zu blocks=%zu in_use=%zu free=%zu",
                   &s.block_size, &s.per_chunk, &s.chunks, &s.blocks, &s.in_use, &s.free);
    ck_assert_msg(n == 6, "unparsable report: %s", text);
    free(text);
    return s;
}

/* True if the page at a is mapped in this process. */
static bool mapped(const void *a)
{
    unsigned char vec;
    return mincore((void *)a, 1, &vec) == 0 || errno != ENOMEM;
}

START_TEST(create_validates_block_size)
{
    size_t ps = nmc_sys_pagesize();
    nmc_block_pool *p = NULL;
    ck_assert_status(nmc_block_pool_create(0, &p), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_create(100, &p), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_create(ps + 1, &p), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_create(ps, NULL), NMC_EINVAL);
    ck_assert_ptr_null(p);
    ck_assert_ok(nmc_block_pool_create(3 * ps, &p));
    ck_assert_uint_eq(nmc_block_pool_block_size(p), 3 * ps);
    struct pool_stats s = stats(p);
    ck_assert_uint_eq(s.block_size, 3 * ps);
    ck_assert_uint_eq(s.chunks + s.blocks + s.in_use + s.free, 0);
    ck_assert_uint_eq(s.per_chunk, (1u << 20) / (3 * ps) > 64 ? 64 : (1u << 20) / (3 * ps));
    nmc_block_pool_destroy(p);
    nmc_block_pool_destroy(NULL);
    ck_assert_uint_eq(nmc_block_pool_block_size(NULL), 0);
    ck_assert_ptr_null(nmc_block_pool_report(NULL));
}
END_TEST

START_TEST(alloc_free_reuse)
{
    size_t ps = nmc_sys_pagesize();
    nmc_block_pool *p;
    ck_assert_ok(nmc_block_pool_create(2 * ps, &p));
    nmc_memory a, b, c;
    ck_assert_ok(nmc_block_pool_alloc(p, &a));
    ck_assert_ok(nmc_block_pool_alloc(p, &b));
    ck_assert_uint_eq(a.len, 2 * ps);
    ck_assert_uint_eq(nmc_memory_address(a) % ps, 0);
    ck_assert_uint_eq(nmc_memory_address(b) % ps, 0);
    ck_assert_ptr_ne(a.data, b.data);
#ifndef NDEBUG
    ck_assert_int_eq(a.data[0], 0xAA);
    ck_assert_int_eq(a.data[a.len - 1], 0xAA);
#endif
    memset(a.data, 1, a.len);
    memset(b.data, 2, b.len);
    ck_assert_int_eq(a.data[a.len - 1], 1); /* blocks do not overlap */
    struct pool_stats s = stats(p);
    ck_assert_uint_eq(s.chunks, 1);
    ck_assert_uint_eq(s.in_use, 2);
    ck_assert_uint_eq(s.free, s.blocks - 2);

    ck_assert_ok(nmc_block_pool_free(p, a));
#ifndef NDEBUG
    ck_assert_int_eq(a.data[0], 0x55); /* b keeps the chunk mapped */
#endif
    ck_assert_ok(nmc_block_pool_alloc(p, &c));
    ck_assert_ptr_eq(c.data, a.data); /* the freed block is handed out again */
    ck_assert_int_eq(b.data[0], 2);
    ck_assert_ok(nmc_block_pool_free(p, c));
    ck_assert_ok(nmc_block_pool_free(p, b));
    s = stats(p);
    ck_assert_uint_eq(s.chunks + s.in_use + s.free, 0);
    nmc_block_pool_destroy(p);
}
END_TEST

START_TEST(foreign_memory_refused)
{
    size_t ps = nmc_sys_pagesize();
    nmc_block_pool *p, *q;
    ck_assert_ok(nmc_block_pool_create(ps, &p));
    ck_assert_ok(nmc_block_pool_create(ps, &q));
    nmc_memory a, b, other;
    ck_assert_ok(nmc_block_pool_alloc(p, &a));
    ck_assert_ok(nmc_block_pool_alloc(p, &b));
    ck_assert_ok(nmc_block_pool_alloc(q, &other));
    unsigned char stack[64];
    ck_assert_status(nmc_block_pool_free(p, (nmc_memory){stack, ps}), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_free(p, other), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_free(p, (nmc_memory){a.data + 8, ps}), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_free(p, (nmc_memory){a.data, ps - 1}), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_free(p, (nmc_memory){NULL, ps}), NMC_EINVAL);
    /* a block of the chunk never handed out */
    ck_assert_status(nmc_block_pool_free(p, (nmc_memory){b.data + ps, ps}), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_free(NULL, a), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_alloc(NULL, &a), NMC_EINVAL);
    ck_assert_status(nmc_block_pool_alloc(p, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_block_pool_free(p, a));
    ck_assert_status(nmc_block_pool_free(p, a), NMC_EINVAL); /* double free */
    ck_assert_uint_eq(stats(p).in_use, 1);
    ck_assert_ok(nmc_block_pool_free(q, other));
    nmc_block_pool_destroy(q);
    nmc_block_pool_destroy(p); /* b still out: destroy unmaps it anyway */
}
END_TEST

START_TEST(chunks_released_when_empty)
{
    size_t ps = nmc_sys_pagesize();
    nmc_block_pool *p;
    ck_assert_ok(nmc_block_pool_create(4 * ps, &p));
    size_t per = stats(p).per_chunk;
    size_t n = 3 * per + 1;
    nmc_memory *blocks = calloc(n, sizeof *blocks);
    for (size_t i = 0; i < n; i++)
        ck_assert_ok(nmc_block_pool_alloc(p, &blocks[i]));
    struct pool_stats s = stats(p);
    ck_assert_uint_eq(s.chunks, 4);
    ck_assert_uint_eq(s.in_use, n);
    ck_assert_uint_eq(s.free, per - 1);
    /* free every block of the first chunk's worth except one: still mapped */
    for (size_t i = 0; i < per - 1; i++)
        ck_assert_ok(nmc_block_pool_free(p, blocks[i]));
    ck_assert_uint_eq(stats(p).chunks, 4);
    for (size_t i = 0; i < per - 1; i++)
        ck_assert(mapped(blocks[i].data));
    ck_assert_ok(nmc_block_pool_free(p, blocks[per - 1]));
    s = stats(p);
    ck_assert_uint_eq(s.chunks, 3);
    ck_assert_uint_eq(s.in_use, n - per);
    /* the blocks allocated first came from one chunk, now unmapped */
    for (size_t i = 0; i < per; i++)
        ck_assert(!mapped(blocks[i].data));
    for (size_t i = per; i < n; i++)
        ck_assert_ok(nmc_block_pool_free(p, blocks[i]));
    s = stats(p);
    ck_assert_uint_eq(s.chunks + s.blocks + s.in_use + s.free, 0);
    ck_assert(!mapped(blocks[n - 1].data));
    free(blocks);
    nmc_block_pool_destroy(p);
}
END_TEST

START_TEST(default_pool)
{
    nmc_block_pool *d = nmc_default_block_pool();
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(nmc_default_block_pool(), d);
    ck_assert_uint_eq(nmc_block_pool_block_size(d), 64 * 1024);
    nmc_block_pool_destroy(d); /* refused: it stays usable */
    nmc_memory m;
    ck_assert_ok(nmc_block_pool_alloc(d, &m));
    ck_assert_uint_eq(m.len, 64 * 1024);
    ck_assert_uint_eq(nmc_memory_address(m) % nmc_sys_pagesize(), 0);
    ck_assert_ok(nmc_block_pool_free(d, m));
}
END_TEST

/* ---- threads ------------------------------------------------------------------ */

enum { THREADS = 4, HELD = 24, ROUNDS = 3000 };

struct hammer {
    nmc_block_pool *pool; /* shared pool, or NULL: use the default pool */
    unsigned seed;        /* rand_r state                              */
    int tag;              /* byte written into this thread's blocks    */
    int errors;           /* failed calls or foreign bytes seen        */
};

/* Keeps up to HELD blocks, each filled with the thread's tag at both ends,
 * freeing and allocating at random; a block handed to two threads at once
 * shows as a wrong tag. */
static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    nmc_block_pool *p = h->pool != NULL ? h->pool : nmc_default_block_pool();
    nmc_memory held[HELD] = {{0}};
    for (int r = 0; r < ROUNDS; r++) {
        int i = rand_r(&h->seed) % HELD;
        if (held[i].data != NULL) {
            if (held[i].data[0] != h->tag || held[i].data[held[i].len - 1] != h->tag)
                h->errors++;
            if (nmc_block_pool_free(p, held[i]) != NMC_OK)
                h->errors++;
            held[i].data = NULL;
        } else if (nmc_block_pool_alloc(p, &held[i]) == NMC_OK) {
            held[i].data[0] = held[i].data[held[i].len - 1] = (unsigned char)h->tag;
        } else {
            h->errors++;
        }
    }
    for (int i = 0; i < HELD; i++)
        if (held[i].data != NULL && nmc_block_pool_free(p, held[i]) != NMC_OK)
            h->errors++;
    return NULL;
}

static void hammer(nmc_block_pool *pool)
{
    pthread_t t[THREADS];
    struct hammer h[THREADS];
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){pool, (unsigned)(i * 7919 + 1), i + 1, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(h[i].errors, 0);
    }
}

START_TEST(threads_hammer_a_pool)
{
    nmc_block_pool *p;
    ck_assert_ok(nmc_block_pool_create(nmc_sys_pagesize(), &p));
    hammer(p);
    struct pool_stats s = stats(p);
    ck_assert_uint_eq(s.chunks + s.in_use + s.free, 0);
    nmc_block_pool_destroy(p);
}
END_TEST

START_TEST(threads_hammer_the_default_pool)
{
    hammer(NULL); /* also races the default pool's creation */
    struct pool_stats s = stats(nmc_default_block_pool());
    ck_assert_uint_eq(s.in_use, 0);
    ck_assert_uint_eq(s.chunks, 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mem_blockpool");
    TCase *tc = tcase_create("mem_blockpool");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, create_validates_block_size);
    tcase_add_test(tc, alloc_free_reuse);
    tcase_add_test(tc, foreign_memory_refused);
    tcase_add_test(tc, chunks_released_when_empty);
    tcase_add_test(tc, default_pool);
    tcase_add_test(tc, threads_hammer_a_pool);
    tcase_add_test(tc, threads_hammer_the_default_pool);
    suite_add_tcase(s, tc);
    return s;
}
