/* Tests of shared buffers (nmc/buffer.h): adding across blocks, absolute
 * positions, contents / sub / blits, delete_hd giving blocks back, clear,
 * access under a pin, statuses, descriptors, and a reader process copying
 * while a writer adds and deletes. Every test ends with nmc_heap_check
 * (teardown). */
#include <string.h>

#include "ds_test.h"
#include "nmc/buffer.h"
#include "nmc_test.h"

static nmc_buffer *b;

/* Blocks of 8 bytes, so that small tests cross blocks. */
static void setup(void)
{
    ds_setup();
    ck_assert_ok(nmc_buffer_create(pool, 8, str("hdr"), &b));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_buffer_heap(b)));
    ck_assert_ok(nmc_buffer_destroy(b));
    ds_teardown();
}

static void assert_contents(const char *expected)
{
    nmc_value s;
    ck_assert_ok(nmc_buffer_contents(b, arena, &s));
    ck_assert_uint_eq(nmc_string_length(s), strlen(expected));
    ck_assert_str_eq(nmc_string_val(s), expected); /* the padding ends it with 0 */
}

START_TEST(add_and_read)
{
    assert_contents("");
    ck_assert_ok(nmc_buffer_add_string(b, str("hello, ")));
    ck_assert_ok(nmc_buffer_add_substring(b, str("xxworld!xx"), 2, 6));
    ck_assert_ok(nmc_buffer_add_submemory(b, " 0123456789abcdef", 17));
    ck_assert_ok(nmc_buffer_add_submemory(b, NULL, 0));
    assert_contents("hello, world! 0123456789abcdef");
    ck_assert_uint_eq(nmc_buffer_length(b), 30);
    ck_assert_uint_eq(nmc_buffer_start(b), 0);
    nmc_value s;
    ck_assert_ok(nmc_buffer_sub(b, 7, 9, arena, &s));
    ck_assert_str_eq(nmc_string_val(s), "world! 01");
    char mem[12] = {0};
    ck_assert_ok(nmc_buffer_blit_to_memory(b, 14, mem, 11));
    ck_assert_str_eq(mem, "0123456789a");
    nmc_value bytes = str("..........");
    ck_assert_ok(nmc_buffer_blit_to_bytes(b, 0, bytes, 3, 5));
    ck_assert_str_eq(nmc_string_val(bytes), "...hello..");
    nmc_value h;
    ck_assert_ok(nmc_buffer_header(b, &h));
    ck_assert_str_eq(nmc_string_val(h), "hdr");
}
END_TEST

START_TEST(delete_hd_and_clear)
{
    ck_assert_ok(nmc_buffer_add_string(b, str("0123456789abcdefghij")));
    ck_assert_ok(nmc_buffer_delete_hd(b, 11));
    ck_assert_uint_eq(nmc_buffer_start(b), 11);
    ck_assert_uint_eq(nmc_buffer_length(b), 9);
    assert_contents("bcdefghij");
    nmc_value s;
    ck_assert_ok(nmc_buffer_sub(b, 12, 3, arena, &s)); /* absolute positions */
    ck_assert_str_eq(nmc_string_val(s), "cde");
    ck_assert_status(nmc_buffer_sub(b, 10, 1, arena, &s), NMC_EINVAL);
    ck_assert_ok(nmc_buffer_add_string(b, str("KLMNOP")));
    assert_contents("bcdefghijKLMNOP");
    ck_assert_ok(nmc_buffer_clear(b));
    ck_assert_uint_eq(nmc_buffer_length(b), 0);
    ck_assert_uint_eq(nmc_buffer_start(b), 26);
    assert_contents("");
    ck_assert_ok(nmc_buffer_add_string(b, str("again")));
    ck_assert_ok(nmc_buffer_sub(b, 26, 5, arena, &s));
    ck_assert_str_eq(nmc_string_val(s), "again");
}
END_TEST

START_TEST(fifo_use_stays_small)
{
    char chunk[33];
    memset(chunk, 'z', 32);
    chunk[32] = 0;
    for (int i = 0; i < 100000; i++) {
        ck_assert_ok(nmc_buffer_add_submemory(b, chunk, 32));
        ck_assert_ok(nmc_buffer_delete_hd(b, i % 2 == 0 ? 16 : 48));
    }
    ck_assert_uint_eq(nmc_buffer_length(b), 0);
    ck_assert_uint_eq(nmc_buffer_start(b), 3200000);
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(nmc_buffer_heap(b), &st));
    ck_assert_uint_gt(st.gc_runs, 0);
    ck_assert_uint_le(st.extents, 2); /* dropped blocks are collected */
}
END_TEST

struct seen {
    char text[64];
};

static int collect(nmc_value s, size_t off, size_t len, void *ctx)
{
    struct seen *seen = ctx;
    memcpy(seen->text, nmc_string_val(s) + off, len);
    seen->text[len] = 0;
    return NMC_OK;
}

START_TEST(access_a_block)
{
    ck_assert_ok(nmc_buffer_add_string(b, str("0123456789abc")));
    struct seen seen;
    ck_assert_ok(nmc_buffer_access(b, 3, collect, &seen));
    ck_assert_str_eq(seen.text, "34567"); /* to the end of the first block */
    ck_assert_ok(nmc_buffer_access(b, 9, collect, &seen));
    ck_assert_str_eq(seen.text, "9abc"); /* to the end of the buffer */
    ck_assert_status(nmc_buffer_access(b, 13, collect, &seen), NMC_EINVAL);
    ck_assert_status(nmc_buffer_access(b, 0, NULL, NULL), NMC_EINVAL);
}
END_TEST

static int add_inside(nmc_mutator *mut, void *ctx)
{
    nmc_value s;
    ck_assert_status(nmc_buffer_add_string(b, str("x")), NMC_EDEADLOCK);
    ck_assert_status(nmc_buffer_contents(b, arena, &s), NMC_EDEADLOCK);
    return NMC_OK;
}

START_TEST(statuses_and_descriptors)
{
    nmc_buffer *c;
    nmc_value s;
    ck_assert_status(nmc_buffer_create(pool, 0, NMC_VAL_UNIT, &c), NMC_EINVAL);
    ck_assert_status(nmc_buffer_create(NULL, 8, NMC_VAL_UNIT, &c), NMC_EINVAL);
    ck_assert_status(nmc_buffer_create(pool, 8, closure(), &c), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_buffer_add_string(b, nmc_val_long(1)), NMC_EINVAL);
    ck_assert_status(nmc_buffer_add_string(b, pair(nmc_val_long(1), nmc_val_long(2))), NMC_EINVAL);
    ck_assert_status(nmc_buffer_add_substring(b, str("abc"), 2, 2), NMC_EINVAL);
    ck_assert_status(nmc_buffer_add_submemory(b, NULL, 1), NMC_EINVAL);
    ck_assert_ok(nmc_buffer_add_string(b, str("abc")));
    ck_assert_status(nmc_buffer_delete_hd(b, 4), NMC_EINVAL);
    ck_assert_status(nmc_buffer_sub(b, 1, 3, arena, &s), NMC_EINVAL);
    ck_assert_status(nmc_buffer_blit_to_bytes(b, 0, str("ab"), 0, 3), NMC_EINVAL);
    ck_assert_status(nmc_buffer_blit_to_memory(b, 0, NULL, 3), NMC_EINVAL);
    ck_assert_status(nmc_buffer_contents(b, NULL, &s), NMC_EINVAL);
    ck_assert_uint_eq(nmc_buffer_length(NULL), 0);
    ck_assert_ok(nmc_heap_modify(nmc_buffer_heap(b), add_inside, NULL));
    ck_assert_ok(nmc_buffer_of_descr(pool, nmc_buffer_descr(b), &c));
    ck_assert_ptr_eq(c, b);
    ck_assert_status(nmc_buffer_of_descr(pool, 0, &c), NMC_EINVAL);
    nmc_mempool *small;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), 1 << 20, false, &small));
    ck_assert_ok(nmc_buffer_create(small, 1 << 16, NMC_VAL_UNIT, &c));
    static char big[4 << 20];
    ck_assert_status(nmc_buffer_add_submemory(c, big, sizeof big), NMC_EOUT_OF_POOL_MEMORY);
    ck_assert_uint_eq(nmc_buffer_length(c), 0); /* nothing added */
    ck_assert_ok(nmc_heap_check(nmc_buffer_heap(c)));
    ck_assert_ok(nmc_mempool_destroy(small));
}
END_TEST

/* ---- processes ---------------------------------------------------------- */

enum { ROUNDS = 20000 };

/* The writer keeps the buffer at 20..40 bytes, all of them the same
 * letter per 20-byte record; a reader's copy must show whole records. */
static int reader(int i, void *ctx)
{
    nmc_arena *a;
    if (nmc_arena_create(&a) != NMC_OK)
        return 2;
    int bad = 0;
    for (int k = 0; k < ROUNDS && bad == 0; k++) {
        nmc_value s;
        if (nmc_buffer_contents(b, a, &s) != NMC_OK) {
            bad = 1;
            break;
        }
        size_t n = nmc_string_length(s);
        bad = n % 20 != 0;
        for (size_t j = 0; j < n && !bad; j++)
            bad = nmc_string_val(s)[j] != nmc_string_val(s)[j - j % 20] ||
                  nmc_string_val(s)[j] < 'a' || nmc_string_val(s)[j] > 'z';
        if (k % 1000 == 0) {
            nmc_arena_destroy(a);
            if (nmc_arena_create(&a) != NMC_OK)
                return 2;
        }
    }
    nmc_arena_destroy(a);
    return bad;
}

static void writer(void *ctx)
{
    char rec[20];
    for (int i = 0; i < 4 * ROUNDS; i++) {
        memset(rec, 'a' + i % 26, sizeof rec);
        ck_assert_ok(nmc_buffer_add_submemory(b, rec, sizeof rec));
        if (nmc_buffer_length(b) > 20)
            ck_assert_ok(nmc_buffer_delete_hd(b, 20));
    }
}

START_TEST(reader_copies_while_writer_adds_and_deletes)
{
    run_children(2, reader, writer, NULL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("buffer");
    TCase *tc = tcase_create("buffer");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, add_and_read);
    tcase_add_test(tc, delete_hd_and_clear);
    tcase_add_test(tc, fifo_use_stays_small);
    tcase_add_test(tc, access_a_block);
    tcase_add_test(tc, statuses_and_descriptors);
    tcase_add_test(tc, reader_copies_while_writer_adds_and_deletes);
    suite_add_tcase(suite, tc);
    return suite;
}
