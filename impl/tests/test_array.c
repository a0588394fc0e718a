/* Tests of shared arrays (nmc/array.h): create, make, init, grow, set, the
 * three get flavours, length, header, deref, statuses, descriptors, and
 * readers under pins in other processes while a writer sets and
 * collects. Every test ends with nmc_heap_check (teardown). */
#include "ds_test.h"
#include "nmc/array.h"
#include "nmc_test.h"

static nmc_sarray *a;

/* [| 0; 1; 2; 3 |], header "h". */
static void setup(void)
{
    ds_setup();
    nmc_value f[] = {nmc_val_long(0), nmc_val_long(1), nmc_val_long(2), nmc_val_long(3)};
    ck_assert_ok(nmc_array_create(pool, tuple(0, 4, f), str("h"), &a));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_array_heap(a)));
    ck_assert_ok(nmc_array_destroy(a));
    ds_teardown();
}

static nmc_value get(nmc_sarray *s, size_t i)
{
    nmc_value v;
    ck_assert_ok(nmc_array_get_ro(s, i, &v));
    return v;
}

static int square(size_t i, void *ctx, nmc_value *v)
{
    *v = i == 2 ? str("two") : nmc_val_long((long)(i * i));
    return i == 5 ? NMC_EEMPTY : NMC_OK;
}

START_TEST(create_make_init)
{
    ck_assert_uint_eq(nmc_array_length(a), 4);
    ck_assert(get(a, 3) == nmc_val_long(3));
    nmc_value h;
    ck_assert_ok(nmc_array_header(a, &h));
    ck_assert_str_eq(nmc_string_val(h), "h");
    nmc_sarray *m, *n, *e;
    ck_assert_ok(nmc_array_make(pool, 3, str("x"), NMC_VAL_UNIT, &m));
    ck_assert_uint_eq(nmc_array_length(m), 3);
    ck_assert(get(m, 0) == get(m, 2)); /* one shared copy */
    ck_assert_str_eq(nmc_string_val(get(m, 1)), "x");
    ck_assert_ok(nmc_array_init(pool, 5, square, NULL, NMC_VAL_UNIT, &n));
    ck_assert(get(n, 4) == nmc_val_long(16));
    ck_assert_str_eq(nmc_string_val(get(n, 2)), "two");
    ck_assert_status(nmc_array_init(pool, 6, square, NULL, NMC_VAL_UNIT, &e), NMC_EEMPTY);
    ck_assert_ok(nmc_array_make(pool, 0, nmc_val_long(0), NMC_VAL_UNIT, &e));
    ck_assert_uint_eq(nmc_array_length(e), 0);
    ck_assert_ok(nmc_array_create(pool, nmc_atom(0), NMC_VAL_UNIT, &e)); /* [||] */
    ck_assert_uint_eq(nmc_array_length(e), 0);
    ck_assert_ok(nmc_array_grow(e, 2, nmc_val_long(7)));
    ck_assert(get(e, 1) == nmc_val_long(7));
    ck_assert_ok(nmc_heap_check(nmc_array_heap(m)));
    ck_assert_ok(nmc_heap_check(nmc_array_heap(n)));
    ck_assert_ok(nmc_array_destroy(m));
    ck_assert_ok(nmc_array_destroy(n));
    ck_assert_ok(nmc_array_destroy(e));
}
END_TEST

static int is_str_ab(nmc_value v, void *ctx)
{
    return nmc_string_length(v) == 2 && nmc_string_val(v)[0] == 'a' ? NMC_OK : NMC_ECORRUPT;
}

START_TEST(set_get_grow_deref)
{
    ck_assert_ok(nmc_array_set(a, 1, str("ab")));
    ck_assert_ok(nmc_array_get_p(a, 1, is_str_ab, NULL));
    nmc_value c, arr;
    ck_assert_ok(nmc_array_get_c(a, 1, arena, &c));
    ck_assert(c != get(a, 1));
    ck_assert_str_eq(nmc_string_val(c), "ab");
    ck_assert_ok(nmc_array_deref(a, &arr));
    nmc_value elem1 = get(a, 1);
    ck_assert_ok(nmc_array_grow(a, 10, str("new")));
    ck_assert_uint_eq(nmc_array_length(a), 10);
    ck_assert(get(a, 1) == elem1); /* shared, not copied again */
    ck_assert(get(a, 0) == nmc_val_long(0));
    ck_assert(get(a, 4) == get(a, 9));
    ck_assert_str_eq(nmc_string_val(get(a, 9)), "new");
    ck_assert_ok(nmc_array_grow(a, 3, nmc_val_long(0))); /* no shrinking */
    ck_assert_uint_eq(nmc_array_length(a), 10);
    nmc_value now;
    ck_assert_ok(nmc_array_deref(a, &now));
    ck_assert(now != arr && nmc_wosize_val(now) == 10);
    ck_assert_ok(nmc_heap_gc(nmc_array_heap(a)));
    ck_assert_str_eq(nmc_string_val(get(a, 1)), "ab");
}
END_TEST

static int set_inside(nmc_mutator *mut, void *ctx)
{
    ck_assert_status(nmc_array_set(a, 0, nmc_val_long(1)), NMC_EDEADLOCK);
    ck_assert_status(nmc_array_grow(a, 10, nmc_val_long(1)), NMC_EDEADLOCK);
    return NMC_OK;
}

START_TEST(statuses_and_descriptors)
{
    nmc_sarray *b;
    nmc_value v;
    ck_assert_status(nmc_array_create(pool, nmc_val_long(3), NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_array_create(pool, str("not an array"), NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_array_create(NULL, nmc_atom(0), NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_array_make(pool, 2, closure(), NMC_VAL_UNIT, &b), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_array_init(pool, 2, NULL, NULL, NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_array_get_ro(a, 4, &v), NMC_EINVAL);
    ck_assert_status(nmc_array_get_p(a, 4, is_str_ab, NULL), NMC_EINVAL);
    ck_assert_status(nmc_array_get_c(a, 4, arena, &v), NMC_EINVAL);
    ck_assert_status(nmc_array_set(a, 4, nmc_val_long(0)), NMC_EINVAL);
    ck_assert_status(nmc_array_set(a, 0, closure()), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_array_get_ro(NULL, 0, &v), NMC_EINVAL);
    ck_assert_uint_eq(nmc_array_length(NULL), 0);
    ck_assert_ok(nmc_heap_modify(nmc_array_heap(a), set_inside, NULL));
    ck_assert_ok(nmc_array_of_descr(pool, nmc_array_descr(a), &b));
    ck_assert_ptr_eq(b, a);
    ck_assert_status(nmc_array_of_descr(pool, 0, &b), NMC_EINVAL);
}
END_TEST

/* ---- processes ---------------------------------------------------------- */

enum { READERS = 3, READS = 20000, WRITES = 40000, SLOTS = 8 };

static int check_list(nmc_value v, void *ctx)
{
    long first;
    return is_int_list(v, 10, &first) ? NMC_OK : NMC_ECORRUPT;
}

static int reader(int i, void *ctx)
{
    int bad = 0;
    for (size_t k = 0; k < READS && bad == 0; k++)
        bad += nmc_array_get_p(a, k % SLOTS, check_list, NULL) != NMC_OK;
    return bad;
}

static void writer(void *ctx)
{
    for (long i = 0; i < WRITES; i++) {
        ck_assert_ok(nmc_array_set(a, (size_t)i % SLOTS, int_list(i, 10)));
        if (i % 1000 == 0) {
            ck_assert_ok(nmc_heap_gc(nmc_array_heap(a)));
            arena_reset();
        }
    }
}

START_TEST(readers_under_pins_while_writer_sets)
{
    ck_assert_ok(nmc_array_grow(a, SLOTS, int_list(0, 10)));
    for (size_t i = 0; i < 4; i++)
        ck_assert_ok(nmc_array_set(a, i, int_list(0, 10)));
    run_children(READERS, reader, writer, NULL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("array");
    TCase *tc = tcase_create("array");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_make_init);
    tcase_add_test(tc, set_get_grow_deref);
    tcase_add_test(tc, statuses_and_descriptors);
    tcase_add_test(tc, readers_under_pins_while_writer_sets);
    suite_add_tcase(suite, tc);
    return suite;
}
