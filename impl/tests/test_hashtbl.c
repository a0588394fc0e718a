/* Tests of shared hash tables (nmc/hashtbl.h): OCaml's Hashtbl semantics
 * (shadowing, remove revealing, find_all newest first, replace), the
 * reading flavours, growth, statuses, 1 M bindings added by 4 processes,
 * and readers under pins while a writer replaces and collects. Every test
 * ends with nmc_heap_check (teardown). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ds_test.h"
#include "nmc/hashtbl.h"
#include "nmc_test.h"

static nmc_hashtbl *t;

static void setup(void)
{
    ds_setup();
    ck_assert_ok(nmc_hashtbl_create(pool, 0, str("the header"), &t));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_hashtbl_heap(t)));
    ck_assert_ok(nmc_hashtbl_destroy(t));
    ds_teardown();
}

static nmc_value find(nmc_value key)
{
    nmc_value v;
    ck_assert_ok(nmc_hashtbl_find_ro(t, key, &v));
    return v;
}

static bool equal(nmc_value a, nmc_value b)
{
    bool same;
    ck_assert_ok(nmc_equal(a, b, &same));
    return same;
}

/* [a; b; c] */
static nmc_value list3(nmc_value a, nmc_value b, nmc_value c)
{
    return pair(a, pair(b, pair(c, nmc_val_long(0))));
}

START_TEST(add_find_shadow_remove)
{
    nmc_value k = str("key"), v;
    ck_assert_status(nmc_hashtbl_find_ro(t, k, &v), NMC_ENOT_FOUND);
    ck_assert_ok(nmc_hashtbl_add(t, k, nmc_val_long(1)));
    ck_assert_ok(nmc_hashtbl_add(t, str("key"), nmc_val_long(2))); /* equal, not the same */
    ck_assert_ok(nmc_hashtbl_add(t, k, nmc_val_long(3)));
    ck_assert_ok(nmc_hashtbl_add(t, nmc_val_long(7), str("seven")));
    ck_assert_uint_eq(nmc_hashtbl_length(t), 4);
    ck_assert(find(k) == nmc_val_long(3));
    nmc_value all;
    ck_assert_ok(nmc_hashtbl_find_all_ro(t, k, arena, &all));
    ck_assert(equal(all, list3(nmc_val_long(3), nmc_val_long(2), nmc_val_long(1))));
    ck_assert_ok(nmc_hashtbl_remove(t, k));
    ck_assert(find(k) == nmc_val_long(2)); /* the previous binding again */
    ck_assert_ok(nmc_hashtbl_replace(t, k, nmc_val_long(20)));
    ck_assert_ok(nmc_hashtbl_find_all_ro(t, k, arena, &all));
    ck_assert(equal(all, pair(nmc_val_long(20), pair(nmc_val_long(1), nmc_val_long(0)))));
    ck_assert_ok(nmc_hashtbl_replace(t, str("new"), nmc_val_long(5))); /* replace adds */
    ck_assert(find(str("new")) == nmc_val_long(5));
    ck_assert_ok(nmc_hashtbl_remove(t, str("absent"))); /* no error */
    ck_assert_uint_eq(nmc_hashtbl_length(t), 4);
    ck_assert_str_eq(nmc_string_val(find(nmc_val_long(7))), "seven");
    ck_assert_ok(nmc_hashtbl_find_all_ro(t, str("absent"), arena, &all));
    ck_assert(all == nmc_val_long(0));
}
END_TEST

START_TEST(keys_compare_as_ocaml)
{
    /* compare, not (=): a NaN key finds itself; structured keys. */
    ck_assert_ok(nmc_hashtbl_add(t, dbl(NAN), nmc_val_long(1)));
    ck_assert(find(dbl(NAN)) == nmc_val_long(1));
    nmc_value key = pair(str("a"), pair(nmc_val_long(1), dbl(2.5)));
    ck_assert_ok(nmc_hashtbl_add(t, key, nmc_val_long(2)));
    ck_assert(find(pair(str("a"), pair(nmc_val_long(1), dbl(2.5)))) == nmc_val_long(2));
    nmc_value i64;
    ck_assert_ok(nmc_alloc_int64(arena, 1234567890123, &i64));
    ck_assert_ok(nmc_hashtbl_add(t, i64, nmc_val_long(3)));
    nmc_value same64;
    ck_assert_ok(nmc_alloc_int64(arena, 1234567890123, &same64));
    ck_assert(find(same64) == nmc_val_long(3));
    bool found;
    ck_assert_ok(nmc_hashtbl_mem_ro(t, nmc_val_long(1234567890123), &found));
    ck_assert(!found); /* an int is not an int64 */
}
END_TEST

/* White box: an immediate key's bucket must be nmc_hash(key) mod n (the
 * inline hash of immediates agrees with nmc_hash, and the index needs no
 * division but must give the same remainder), for every table size from 1
 * bucket on. Root record: {kind; header; size; buckets; ...}. */
static bool in_bucket(nmc_hashtbl *tbl, nmc_value k)
{
    nmc_value buckets = nmc_field(nmc_heap_root(nmc_hashtbl_heap(tbl)), 3);
    nmc_value c = nmc_field(buckets, nmc_hash(k) % nmc_wosize_val(buckets));
    for (; !nmc_is_long(c); c = nmc_field(c, 2))
        if (nmc_field(c, 0) == k)
            return true;
    return false;
}

START_TEST(immediate_keys_go_to_nmc_hash_mod_n)
{
    const long keys[] = {0, 1, -1, 42, 1L << 31, -(1L << 31) - 1, 1L << 40, NMC_MAX_LONG,
                         NMC_MIN_LONG};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        nmc_value k = nmc_val_long(keys[i]);
        ck_assert_ok(nmc_hashtbl_add(t, k, nmc_val_long((long)i)));
        ck_assert(in_bucket(t, k));
        ck_assert(find(k) == nmc_val_long((long)i));
    }
    nmc_hashtbl *g;
    ck_assert_ok(nmc_hashtbl_create(pool, 1, NMC_VAL_UNIT, &g));
    for (long k = 0; k < 20000; k += 3) {
        ck_assert_ok(nmc_hashtbl_add(g, nmc_val_long(k * 7919), NMC_VAL_UNIT));
        ck_assert(in_bucket(g, nmc_val_long(k * 7919)));
        ck_assert(in_bucket(g, nmc_val_long(k / 2 / 3 * 3 * 7919))); /* after resizes too */
    }
    ck_assert_ok(nmc_hashtbl_destroy(g));
}
END_TEST

static int expect_seven(nmc_value data, void *ctx)
{
    return nmc_string_length(data) == 5 && memcmp(nmc_string_val(data), "seven", 5) == 0
               ? NMC_OK
               : NMC_ECORRUPT;
}

static int count_list(nmc_value list, void *ctx)
{
    for (; !nmc_is_long(list); list = nmc_field(list, 1))
        ++*(int *)ctx;
    return NMC_OK;
}

START_TEST(pinned_and_copied_reads)
{
    ck_assert_ok(nmc_hashtbl_add(t, nmc_val_long(7), str("sieben")));
    ck_assert_ok(nmc_hashtbl_add(t, nmc_val_long(7), str("seven")));
    ck_assert_ok(nmc_hashtbl_find_p(t, nmc_val_long(7), expect_seven, NULL));
    ck_assert_status(nmc_hashtbl_find_p(t, nmc_val_long(8), expect_seven, NULL), NMC_ENOT_FOUND);
    nmc_value c;
    ck_assert_ok(nmc_hashtbl_find_c(t, nmc_val_long(7), arena, &c));
    ck_assert(c != find(nmc_val_long(7)) && equal(c, str("seven")));
    int n = 0;
    ck_assert_ok(nmc_hashtbl_find_all_p(t, nmc_val_long(7), arena, count_list, &n));
    ck_assert_int_eq(n, 2);
    nmc_value all;
    ck_assert_ok(nmc_hashtbl_find_all_c(t, nmc_val_long(7), arena, &all));
    ck_assert(equal(all, pair(str("seven"), pair(str("sieben"), nmc_val_long(0)))));
    ck_assert(nmc_field(all, 0) != find(nmc_val_long(7)));
    bool found;
    ck_assert_ok(nmc_hashtbl_mem(t, nmc_val_long(7), &found));
    ck_assert(found);
    ck_assert_ok(nmc_hashtbl_mem(t, nmc_val_long(8), &found));
    ck_assert(!found);
    ck_assert_ok(nmc_hashtbl_mem_ro(t, nmc_val_long(7), &found));
    ck_assert(found);
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(nmc_hashtbl_heap(t), &st));
    ck_assert_uint_eq(st.pins, 0);
}
END_TEST

struct sums {
    long keys, data, calls, stop_after;
};

static int sum(nmc_value key, nmc_value data, void *ctx)
{
    struct sums *s = ctx;
    s->keys += nmc_long_val(key);
    s->data += nmc_long_val(data);
    return ++s->calls == s->stop_after ? NMC_EEMPTY : NMC_OK;
}

START_TEST(growth_iter_clear_header)
{
    nmc_hashtbl *small;
    ck_assert_ok(nmc_hashtbl_create(pool, 1, nmc_val_long(0), &small));
    ck_assert_ok(nmc_hashtbl_add(small, nmc_val_long(5), nmc_val_long(-1)));
    ck_assert_ok(nmc_hashtbl_add(small, nmc_val_long(5), nmc_val_long(-2)));
    enum { N = 10000 };
    for (long i = 0; i < N; i++)
        ck_assert_ok(nmc_hashtbl_add(small, nmc_val_long(i), nmc_val_long(2 * i)));
    ck_assert_uint_eq(nmc_hashtbl_length(small), N + 2);
    nmc_value b = nmc_field(nmc_heap_root(nmc_hashtbl_heap(small)), 3);
    ck_assert_uint_ge(nmc_wosize_val(b), (N + 2) / 2); /* grew: 1, 3, 7, ... */
    nmc_value all, v;
    ck_assert_ok(nmc_hashtbl_find_all_ro(small, nmc_val_long(5), arena, &all));
    ck_assert(equal(all, list3(nmc_val_long(10), nmc_val_long(-2), nmc_val_long(-1))));
    for (long i = 0; i < N; i++) {
        ck_assert_ok(nmc_hashtbl_find_ro(small, nmc_val_long(i), &v));
        ck_assert_int_eq(nmc_long_val(v), 2 * i);
    }
    struct sums s = {0};
    ck_assert_ok(nmc_hashtbl_iter(small, sum, &s));
    ck_assert_int_eq(s.calls, N + 2);
    ck_assert_int_eq(s.keys, (long)N * (N - 1) / 2 + 10);
    ck_assert_int_eq(s.data, (long)N * (N - 1) - 3);
    struct sums stop = {.stop_after = 3};
    ck_assert_status(nmc_hashtbl_iter(small, sum, &stop), NMC_EEMPTY);
    ck_assert_int_eq(stop.calls, 3);
    ck_assert_ok(nmc_hashtbl_clear(small));
    ck_assert_uint_eq(nmc_hashtbl_length(small), 0);
    ck_assert_status(nmc_hashtbl_find_ro(small, nmc_val_long(5), &v), NMC_ENOT_FOUND);
    ck_assert_ok(nmc_heap_gc(nmc_hashtbl_heap(small)));
    ck_assert_ok(nmc_heap_check(nmc_hashtbl_heap(small)));
    ck_assert_ok(nmc_hashtbl_destroy(small));
    nmc_value h;
    ck_assert_ok(nmc_hashtbl_header(t, &h));
    ck_assert_str_eq(nmc_string_val(h), "the header");
}
END_TEST

static int inside_modify(nmc_mutator *mut, void *ctx)
{
    nmc_value v;
    ck_assert_status(nmc_hashtbl_add(t, nmc_val_long(1), nmc_val_long(1)), NMC_EDEADLOCK);
    ck_assert_status(nmc_hashtbl_find_c(t, nmc_val_long(1), arena, &v), NMC_EDEADLOCK);
    ck_assert_status(nmc_hashtbl_find_ro(t, nmc_val_long(1), &v), NMC_ENOT_FOUND);
    return NMC_OK;
}

static int nested_find(nmc_value key, nmc_value data, void *ctx)
{
    nmc_value v;
    ck_assert_ok(nmc_hashtbl_find_ro(t, key, &v)); /* _ro inside iter */
    return nmc_hashtbl_remove(t, key);
}

START_TEST(statuses_and_descriptors)
{
    nmc_hashtbl *u;
    nmc_value v;
    bool found;
    ck_assert_status(nmc_hashtbl_create(NULL, 0, NMC_VAL_UNIT, &u), NMC_EINVAL);
    ck_assert_status(nmc_hashtbl_create(pool, 0, closure(), &u), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_hashtbl_add(t, closure(), nmc_val_long(0)), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_hashtbl_add(t, nmc_val_long(0), closure()), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_hashtbl_add(NULL, nmc_val_long(0), nmc_val_long(0)), NMC_EINVAL);
    ck_assert_status(nmc_hashtbl_find_ro(NULL, nmc_val_long(0), &v), NMC_EINVAL);
    ck_assert_status(nmc_hashtbl_find_p(t, nmc_val_long(0), NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_hashtbl_mem(t, nmc_val_long(0), NULL), NMC_EINVAL);
    ck_assert_status(nmc_hashtbl_iter(t, NULL, NULL), NMC_EINVAL);
    ck_assert_uint_eq(nmc_hashtbl_length(t), 0);
    ck_assert_ok(nmc_heap_modify(nmc_hashtbl_heap(t), inside_modify, NULL));
    ck_assert_ok(nmc_hashtbl_add(t, nmc_val_long(1), nmc_val_long(1)));
    ck_assert_status(nmc_hashtbl_iter(t, nested_find, NULL), NMC_EDEADLOCK);
    ck_assert_ok(nmc_hashtbl_mem_ro(t, nmc_val_long(1), &found));
    ck_assert(found);
    ck_assert_ok(nmc_hashtbl_of_descr(pool, nmc_hashtbl_descr(t), &u));
    ck_assert_ptr_eq(u, t);
    nmc_heap *plain;
    ck_assert_ok(nmc_heap_create(pool, 0, pair(nmc_val_long(1), nmc_val_long(2)), &plain));
    ck_assert_status(nmc_hashtbl_of_descr(pool, nmc_heap_descr(plain), &u), NMC_EINVAL);
    ck_assert_ok(nmc_heap_destroy(plain));
    ck_assert_status(nmc_hashtbl_of_descr(pool, 4096, &u), NMC_EINVAL);
}
END_TEST

/* ---- processes ---------------------------------------------------------- */

enum { WORKERS = 4, BINDINGS = 1000000 };

/* Worker i adds the keys k with k mod WORKERS = i, bound to -k. */
static int fill(int i, void *ctx)
{
    for (long k = i; k < BINDINGS; k += WORKERS)
        if (nmc_hashtbl_add(t, nmc_val_long(k), nmc_val_long(-k)) != NMC_OK)
            return 1;
    return 0;
}

START_TEST(million_bindings_from_four_processes)
{
    run_children(WORKERS, fill, NULL, NULL);
    ck_assert_uint_eq(nmc_hashtbl_length(t), BINDINGS);
    nmc_value v;
    for (long k = 0; k < BINDINGS; k++) {
        ck_assert_ok(nmc_hashtbl_find_ro(t, nmc_val_long(k), &v));
        ck_assert_int_eq(nmc_long_val(v), -k);
    }
    ck_assert_status(nmc_hashtbl_find_ro(t, nmc_val_long(BINDINGS), &v), NMC_ENOT_FOUND);
}
END_TEST

enum { READERS = 3, READS = 20000, WRITES = 40000, KEYS = 16 };

static int check_list(nmc_value v, void *ctx)
{
    long first;
    return is_int_list(v, 10, &first) ? NMC_OK : NMC_ECORRUPT;
}

static int reader(int i, void *ctx)
{
    int bad = 0;
    for (long k = 0; k < READS && bad == 0; k++)
        bad += nmc_hashtbl_find_p(t, nmc_val_long(k % KEYS), check_list, NULL) != NMC_OK;
    return bad;
}

static void writer(void *ctx)
{
    for (long i = 0; i < WRITES; i++) {
        ck_assert_ok(nmc_hashtbl_replace(t, nmc_val_long(i % KEYS), int_list(i, 10)));
        if (i % 1000 == 0) {
            ck_assert_ok(nmc_heap_gc(nmc_hashtbl_heap(t)));
            arena_reset();
        }
    }
}

START_TEST(readers_under_pins_while_writer_replaces)
{
    for (long k = 0; k < KEYS; k++)
        ck_assert_ok(nmc_hashtbl_add(t, nmc_val_long(k), int_list(0, 10)));
    run_children(READERS, reader, writer, NULL);
    ck_assert_uint_eq(nmc_hashtbl_length(t), KEYS);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("hashtbl");
    TCase *tc = tcase_create("hashtbl");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, add_find_shadow_remove);
    tcase_add_test(tc, keys_compare_as_ocaml);
    tcase_add_test(tc, immediate_keys_go_to_nmc_hash_mod_n);
    tcase_add_test(tc, pinned_and_copied_reads);
    tcase_add_test(tc, growth_iter_clear_header);
    tcase_add_test(tc, statuses_and_descriptors);
    tcase_add_test(tc, million_bindings_from_four_processes);
    tcase_add_test(tc, readers_under_pins_while_writer_replaces);
    suite_add_tcase(suite, tc);
    return suite;
}
