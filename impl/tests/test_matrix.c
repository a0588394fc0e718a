/* Tests of shared matrices (nmc/matrix.h): create, make, init, grow, set,
 * the three get flavours, dim, header, deref, statuses, descriptors.
 * Every test ends with nmc_heap_check (teardown). */
#include "ds_test.h"
#include "nmc/matrix.h"
#include "nmc_test.h"

static nmc_sarray2 *m;

/* 2 x 3: element (i, j) = 10 i + j; header 5. */
static void setup(void)
{
    ds_setup();
    nmc_value r0[] = {nmc_val_long(0), nmc_val_long(1), nmc_val_long(2)};
    nmc_value r1[] = {nmc_val_long(10), nmc_val_long(11), nmc_val_long(12)};
    ck_assert_ok(nmc_matrix_create(pool, pair(tuple(0, 3, r0), tuple(0, 3, r1)),
                                   nmc_val_long(5), &m));
}

static void teardown(void)
{
    ck_assert_ok(nmc_heap_check(nmc_matrix_heap(m)));
    ck_assert_ok(nmc_matrix_destroy(m));
    ds_teardown();
}

static nmc_value get(nmc_sarray2 *s, size_t i, size_t j)
{
    nmc_value v;
    ck_assert_ok(nmc_matrix_get_ro(s, i, j, &v));
    return v;
}

static void assert_dim(nmc_sarray2 *s, size_t d1, size_t d2)
{
    size_t a, b;
    ck_assert_ok(nmc_matrix_dim(s, &a, &b));
    ck_assert_uint_eq(a, d1);
    ck_assert_uint_eq(b, d2);
}

static int product(size_t i, size_t j, void *ctx, nmc_value *v)
{
    *v = i == 1 && j == 1 ? str("one") : nmc_val_long((long)(i * j));
    return NMC_OK;
}

START_TEST(create_make_init)
{
    assert_dim(m, 2, 3);
    ck_assert(get(m, 1, 2) == nmc_val_long(12));
    nmc_value h;
    ck_assert_ok(nmc_matrix_header(m, &h));
    ck_assert(h == nmc_val_long(5));
    nmc_sarray2 *a, *b, *e;
    ck_assert_ok(nmc_matrix_make(pool, 3, 4, str("x"), NMC_VAL_UNIT, &a));
    assert_dim(a, 3, 4);
    ck_assert(get(a, 0, 0) == get(a, 2, 3)); /* one shared copy */
    ck_assert_ok(nmc_matrix_init(pool, 4, 3, product, NULL, NMC_VAL_UNIT, &b));
    assert_dim(b, 4, 3);
    ck_assert(get(b, 3, 2) == nmc_val_long(6));
    ck_assert_str_eq(nmc_string_val(get(b, 1, 1)), "one");
    ck_assert_ok(nmc_matrix_make(pool, 3, 0, nmc_val_long(0), NMC_VAL_UNIT, &e));
    assert_dim(e, 3, 0);
    ck_assert_ok(nmc_matrix_grow(e, 0, 2, nmc_val_long(9)));
    assert_dim(e, 3, 2);
    ck_assert(get(e, 2, 1) == nmc_val_long(9));
    ck_assert_ok(nmc_heap_check(nmc_matrix_heap(a)));
    ck_assert_ok(nmc_heap_check(nmc_matrix_heap(b)));
    ck_assert_ok(nmc_heap_check(nmc_matrix_heap(e)));
    ck_assert_ok(nmc_matrix_destroy(a));
    ck_assert_ok(nmc_matrix_destroy(b));
    ck_assert_ok(nmc_matrix_destroy(e));
}
END_TEST

static int is_abc(nmc_value v, void *ctx)
{
    return nmc_string_length(v) == 3 && nmc_string_val(v)[2] == 'c' ? NMC_OK : NMC_ECORRUPT;
}

START_TEST(set_get_grow_deref)
{
    ck_assert_ok(nmc_matrix_set(m, 1, 0, str("abc")));
    ck_assert_ok(nmc_matrix_get_p(m, 1, 0, is_abc, NULL));
    nmc_value c, rows;
    ck_assert_ok(nmc_matrix_get_c(m, 1, 0, arena, &c));
    ck_assert(c != get(m, 1, 0));
    ck_assert_str_eq(nmc_string_val(c), "abc");
    nmc_value kept = get(m, 1, 0);
    ck_assert_ok(nmc_matrix_grow(m, 4, 5, str("new")));
    assert_dim(m, 4, 5);
    ck_assert(get(m, 1, 0) == kept); /* shared, not copied again */
    ck_assert(get(m, 0, 2) == nmc_val_long(2));
    ck_assert(get(m, 0, 4) == get(m, 3, 0));
    ck_assert_str_eq(nmc_string_val(get(m, 3, 4)), "new");
    ck_assert_ok(nmc_matrix_grow(m, 1, 1, nmc_val_long(0))); /* no shrinking */
    assert_dim(m, 4, 5);
    ck_assert_ok(nmc_matrix_deref(m, &rows));
    ck_assert_uint_eq(nmc_wosize_val(rows), 4);
    ck_assert_uint_eq(nmc_wosize_val(nmc_field(rows, 3)), 5);
    ck_assert_ok(nmc_heap_gc(nmc_matrix_heap(m)));
    ck_assert_str_eq(nmc_string_val(get(m, 1, 0)), "abc");
}
END_TEST

START_TEST(statuses_and_descriptors)
{
    nmc_sarray2 *b;
    nmc_value v;
    size_t d1, d2;
    nmc_value ragged = pair(pair(nmc_val_long(0), nmc_val_long(1)), nmc_atom(0));
    ck_assert_status(nmc_matrix_create(pool, ragged, NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_matrix_create(pool, pair(nmc_val_long(0), nmc_val_long(1)),
                                       NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_matrix_make(pool, 1, 1, closure(), NMC_VAL_UNIT, &b), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_matrix_init(pool, 1, 1, NULL, NULL, NMC_VAL_UNIT, &b), NMC_EINVAL);
    ck_assert_status(nmc_matrix_get_ro(m, 2, 0, &v), NMC_EINVAL);
    ck_assert_status(nmc_matrix_get_ro(m, 0, 3, &v), NMC_EINVAL);
    ck_assert_status(nmc_matrix_get_c(m, 0, 3, arena, &v), NMC_EINVAL);
    ck_assert_status(nmc_matrix_set(m, 0, 3, nmc_val_long(0)), NMC_EINVAL);
    ck_assert_status(nmc_matrix_dim(m, &d1, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_matrix_create(pool, nmc_atom(0), NMC_VAL_UNIT, &b)); /* 0 x 0 */
    ck_assert_ok(nmc_matrix_dim(b, &d1, &d2));
    ck_assert(d1 == 0 && d2 == 0);
    ck_assert_ok(nmc_matrix_destroy(b));
    ck_assert_ok(nmc_matrix_of_descr(pool, nmc_matrix_descr(m), &b));
    ck_assert_ptr_eq(b, m);
    ck_assert_status(nmc_matrix_of_descr(pool, 0, &b), NMC_EINVAL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *suite = suite_create("matrix");
    TCase *tc = tcase_create("matrix");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_make_init);
    tcase_add_test(tc, set_get_grow_deref);
    tcase_add_test(tc, statuses_and_descriptors);
    suite_add_tcase(suite, tc);
    return suite;
}
