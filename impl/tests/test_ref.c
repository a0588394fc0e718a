/* Tests of shared references (nmc/ref.h): create, assign, the three deref
 * flavours, descriptors, statuses, collection of old values, and readers
 * under pins in other processes while a writer assigns and collects.
 * Every test ends with nmc_heap_check (teardown). */
#include <stdlib.h>

#include "ds_test.h"
#include "nmc/ref.h"
#include "nmc_test.h"

static nmc_sref *s;

/* An sref holding [0; ...; 9]. */
static void setup(void)
{
    ds_setup();
    ck_assert_ok(nmc_sref_create(pool, int_list(0, 10), &s));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_sref_heap(s)));
    ck_assert_ok(nmc_sref_destroy(s));
    ds_teardown();
}

static nmc_value deref(void)
{
    nmc_value v;
    ck_assert_ok(nmc_sref_deref_ro(s, &v));
    return v;
}

START_TEST(create_assign_deref_ro)
{
    long first;
    ck_assert(is_int_list(deref(), 10, &first) && first == 0);
    ck_assert_ok(nmc_sref_assign(s, str("a string")));
    ck_assert_str_eq(nmc_string_val(deref()), "a string");
    ck_assert_ok(nmc_sref_assign(s, nmc_val_long(42)));
    ck_assert(deref() == nmc_val_long(42));
    nmc_sref *imm;
    ck_assert_ok(nmc_sref_create(pool, nmc_val_long(7), &imm)); /* immediates too */
    nmc_value v;
    ck_assert_ok(nmc_sref_deref_ro(imm, &v));
    ck_assert(v == nmc_val_long(7));
    ck_assert_ok(nmc_sref_destroy(imm));
}
END_TEST

static int sum_list(nmc_value v, void *ctx)
{
    long first;
    if (!is_int_list(v, 10, &first))
        return NMC_ECORRUPT;
    *(long *)ctx = first;
    return NMC_OK;
}

static int fail_with_eempty(nmc_value v, void *ctx)
{
    return NMC_EEMPTY;
}

START_TEST(deref_p_and_c)
{
    long first = -1;
    ck_assert_ok(nmc_sref_deref_p(s, sum_list, &first));
    ck_assert_int_eq(first, 0);
    ck_assert_status(nmc_sref_deref_p(s, fail_with_eempty, NULL), NMC_EEMPTY); /* fn's status */
    nmc_value copy;
    ck_assert_ok(nmc_sref_deref_c(s, arena, &copy));
    ck_assert(copy != deref());
    ck_assert_ok(nmc_sref_assign(s, str("next")));
    ck_assert_ok(nmc_heap_gc(nmc_sref_heap(s)));
    ck_assert(is_int_list(copy, 10, &first) && first == 0); /* private: survives */
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(nmc_sref_heap(s), &st));
    ck_assert_uint_eq(st.pins, 0);
}
END_TEST

START_TEST(descriptors)
{
    nmc_sref *again;
    ck_assert_ok(nmc_sref_of_descr(pool, nmc_sref_descr(s), &again));
    ck_assert_ptr_eq(again, s);
    ck_assert_status(nmc_sref_of_descr(pool, nmc_sref_descr(s) + 8, &again), NMC_EINVAL);
    ck_assert_status(nmc_sref_of_descr(pool, 0, &again), NMC_EINVAL);
    nmc_heap *plain; /* a heap, but no sref */
    ck_assert_ok(nmc_heap_create(pool, 0, pair(nmc_val_long(1), nmc_val_long(2)), &plain));
    ck_assert_status(nmc_sref_of_descr(pool, nmc_heap_descr(plain), &again), NMC_EINVAL);
    ck_assert_ok(nmc_heap_destroy(plain));
}
END_TEST

static int assign_inside(nmc_mutator *mut, void *ctx)
{
    nmc_value v;
    ck_assert_status(nmc_sref_assign(s, nmc_val_long(1)), NMC_EDEADLOCK);
    ck_assert_status(nmc_sref_deref_c(s, arena, &v), NMC_EDEADLOCK);
    ck_assert_ok(nmc_sref_deref_ro(s, &v)); /* the way to read inside */
    /* The tutorial's in-place mutation: a field := an added value. */
    nmc_value added;
    ck_assert_ok(nmc_heap_add(mut, str("in place"), &added));
    nmc_field(v, 0) = added;
    return NMC_OK;
}

START_TEST(statuses)
{
    nmc_sref *t;
    nmc_value v;
    ck_assert_status(nmc_sref_create(NULL, nmc_val_long(0), &t), NMC_EINVAL);
    ck_assert_status(nmc_sref_create(pool, nmc_val_long(0), NULL), NMC_EINVAL);
    ck_assert_status(nmc_sref_create(pool, closure(), &t), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_sref_assign(s, closure()), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_sref_assign(NULL, nmc_val_long(0)), NMC_EINVAL);
    ck_assert_status(nmc_sref_deref_ro(NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_sref_deref_p(s, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_sref_deref_c(s, NULL, &v), NMC_EINVAL);
    ck_assert_ok(nmc_heap_modify(nmc_sref_heap(s), assign_inside, NULL));
    ck_assert_str_eq(nmc_string_val(nmc_field(deref(), 0)), "in place");
    nmc_mempool *small;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), 1 << 20, false, &small));
    ck_assert_ok(nmc_sref_create(small, nmc_val_long(0), &t));
    ck_assert_status(nmc_sref_assign(t, int_list(0, 100000)), NMC_EOUT_OF_POOL_MEMORY);
    ck_assert_ok(nmc_sref_deref_ro(t, &v));
    ck_assert(v == nmc_val_long(0)); /* unchanged */
    ck_assert_ok(nmc_heap_check(nmc_sref_heap(t)));
    ck_assert_ok(nmc_mempool_destroy(small));
}
END_TEST

START_TEST(old_values_are_collected)
{
    for (long i = 1; i <= 100000; i++) {
        ck_assert_ok(nmc_sref_assign(s, int_list(i, 10)));
        if (i % 1000 == 0)
            arena_reset();
    }
    long first;
    ck_assert(is_int_list(deref(), 10, &first) && first == 100000);
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(nmc_sref_heap(s), &st));
    ck_assert_uint_gt(st.gc_runs, 0);
    ck_assert_uint_le(st.extents, 2); /* garbage is collected, not hoarded */
}
END_TEST

/* ---- processes ---------------------------------------------------------- */

enum { READERS = 3, READS = 20000, WRITES = 40000 };

/* Reads under pins (and copies now and then); every value must be a
 * 10-element list of consecutive ints, never freed (0x55) memory. */
static int reader(int i, void *ctx)
{
    nmc_arena *a;
    if (nmc_arena_create(&a) != NMC_OK)
        return 2;
    int bad = 0;
    for (int k = 0; k < READS && bad == 0; k++) {
        long first;
        nmc_value copy;
        bad += nmc_sref_deref_p(s, sum_list, &first) != NMC_OK;
        if (k % 100 == 0)
            bad += nmc_sref_deref_c(s, a, &copy) != NMC_OK || !is_int_list(copy, 10, &first);
    }
    nmc_arena_destroy(a);
    return bad == 0 ? 0 : 1;
}

static void writer(void *ctx)
{
    for (long i = 1; i <= WRITES; i++) {
        ck_assert_ok(nmc_sref_assign(s, int_list(i, 10)));
        if (i % 1000 == 0) {
            ck_assert_ok(nmc_heap_gc(nmc_sref_heap(s)));
            arena_reset();
        }
    }
}

START_TEST(readers_under_pins_while_writer_collects)
{
    run_children(READERS, reader, writer, NULL);
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(nmc_sref_heap(s), &st));
    ck_assert_uint_gt(st.gc_runs, WRITES / 1000 - 1);
    ck_assert_uint_eq(st.pins, 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("ref");
    TCase *tc = tcase_create("ref");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_assign_deref_ro);
    tcase_add_test(tc, deref_p_and_c);
    tcase_add_test(tc, descriptors);
    tcase_add_test(tc, statuses);
    tcase_add_test(tc, old_values_are_collected);
    tcase_add_test(tc, readers_under_pins_while_writer_collects);
    suite_add_tcase(suite, tc);
    return suite;
}
