/* Tests of the custom block kinds (impl/src/value/custom.c). */
#include <math.h>
#include <string.h>

#include "nmc/value.h"
#include "nmc_test.h"
#include "test_values.h"

START_TEST(ops_are_found_by_identifier)
{
    ck_assert_ptr_eq(nmc_custom_ops_find("_i"), &nmc_int32_ops);
    ck_assert_ptr_eq(nmc_custom_ops_find("_j"), &nmc_int64_ops);
    ck_assert_ptr_eq(nmc_custom_ops_find("_n"), &nmc_nativeint_ops);
    ck_assert_ptr_eq(nmc_custom_ops_find("_bigarr02"), &nmc_bigarray_ops);
    ck_assert_ptr_null(nmc_custom_ops_find("_b"));
    ck_assert_ptr_null(nmc_custom_ops_find("_bigarr01"));
    ck_assert_ptr_null(nmc_custom_ops_find(""));
    ck_assert_ptr_null(nmc_custom_ops_find(NULL));
}
END_TEST

START_TEST(element_sizes)
{
    static const size_t expected[NMC_BA_KIND_COUNT] = {4, 8, 1, 1, 2, 2, 4, 8, 8, 8, 8, 16, 1};
    for (int k = 0; k < NMC_BA_KIND_COUNT; k++)
        ck_assert_uint_eq(nmc_ba_element_size(k), expected[k]);
    ck_assert_uint_eq(nmc_ba_element_size(-1), 0);
    ck_assert_uint_eq(nmc_ba_element_size(NMC_BA_KIND_COUNT), 0);
}
END_TEST

START_TEST(byte_size_checks_every_field)
{
    struct nmc_bigarray *ba = nmc_arena_alloc_words(arena, 4 + NMC_BA_MAX_NUM_DIMS);
    ck_assert_ptr_nonnull(ba);
    *ba = (struct nmc_bigarray){NULL, 2, NMC_BA_COMPLEX64, NULL};
    ba->dim[0] = 3;
    ba->dim[1] = 5;
    size_t bytes;
    ck_assert_ok(nmc_ba_byte_size(ba, &bytes));
    ck_assert_uint_eq(bytes, 3 * 5 * 16);
    ba->dim[1] = 0;
    ck_assert_ok(nmc_ba_byte_size(ba, &bytes));
    ck_assert_uint_eq(bytes, 0);
    ba->dim[1] = -1;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EINVAL);
    ba->dim[0] = INTPTR_MAX;
    ba->dim[1] = 4;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EOVERFLOW);
    ba->dim[0] = INTPTR_MAX / 4;
    ba->dim[1] = 1;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EOVERFLOW); /* elements ok, bytes not */
    ba->num_dims = 0;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EINVAL);
    ba->num_dims = 17;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EINVAL);
    ba->num_dims = 1;
    ba->flags = NMC_BA_KIND_COUNT;
    ck_assert_status(nmc_ba_byte_size(ba, &bytes), NMC_EINVAL);
    ck_assert_status(nmc_ba_byte_size(NULL, &bytes), NMC_EINVAL);
    ck_assert_status(nmc_ba_byte_size(ba, NULL), NMC_EINVAL);
}
END_TEST

START_TEST(boxed_integers_compare_and_hash_as_ocaml)
{
    nmc_value a, b, c, d, m, big;
    ck_assert_ok(nmc_alloc_int32(arena, -3, &a));
    ck_assert_ok(nmc_alloc_int32(arena, 7, &b));
    ck_assert_int_lt(nmc_int32_ops.compare(a, b), 0);
    ck_assert_int_gt(nmc_int32_ops.compare(b, a), 0);
    ck_assert_int_eq(nmc_int32_ops.compare(a, a), 0);
    ck_assert_uint_eq(nmc_int32_ops.hash(a), (uint32_t)-3);
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MIN, &c));
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MAX, &d));
    ck_assert_int_lt(nmc_int64_ops.compare(c, d), 0);
    /* int64: high word xor low word */
    ck_assert_uint_eq(nmc_int64_ops.hash(c), 0x80000000u);
    ck_assert_ok(nmc_alloc_nativeint(arena, -1, &m));
    ck_assert_ok(nmc_alloc_nativeint(arena, (intptr_t)1 << 40, &big));
    /* nativeint hashes as on 32 bits when it fits in 32 bits */
    ck_assert_uint_eq(nmc_nativeint_ops.hash(m), 0xFFFFFFFFu);
    ck_assert_uint_eq(nmc_nativeint_ops.hash(big), 1u << 8);
    ck_assert_int_lt(nmc_nativeint_ops.compare(m, big), 0);
}
END_TEST

static nmc_value vector(int kind, intptr_t n, const void *data)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_bigarray(arena, kind, NMC_BA_C_LAYOUT, 1, &n, data, &v));
    return v;
}

START_TEST(bigarray_order)
{
    const double x[3] = {1, 2, 3}, y[3] = {1, 2, 4}, nan3[3] = {1, NAN, 3};
    const int8_t s[2] = {-1, 0}, t[2] = {1, 0};
    nmc_value vx = vector(NMC_BA_FLOAT64, 3, x), vy = vector(NMC_BA_FLOAT64, 3, y);
    ck_assert_int_lt(nmc_bigarray_ops.compare(vx, vy), 0);
    ck_assert_int_gt(nmc_bigarray_ops.compare(vy, vx), 0);
    ck_assert_int_eq(nmc_bigarray_ops.compare(vx, vector(NMC_BA_FLOAT64, 3, x)), 0);
    /* NaN sorts before numbers, as in OCaml's compare */
    ck_assert_int_lt(nmc_bigarray_ops.compare(vector(NMC_BA_FLOAT64, 3, nan3), vx), 0);
    /* signed kinds compare signed */
    ck_assert_int_lt(nmc_bigarray_ops.compare(vector(NMC_BA_SINT8, 2, s), vector(NMC_BA_SINT8, 2, t)),
                     0);
    /* shorter dims first; different kinds by flags as OCaml (flags2 - flags1) */
    ck_assert_int_lt(nmc_bigarray_ops.compare(vector(NMC_BA_FLOAT64, 2, x), vx), 0);
    /* FLOAT64 (1) vs SINT8 (2): flags2 - flags1 > 0 */
    ck_assert_int_gt(nmc_bigarray_ops.compare(vx, vector(NMC_BA_SINT8, 2, s)), 0);
}
END_TEST

START_TEST(bigarray_hash_reads_a_bounded_prefix)
{
    unsigned char bytes[300];
    for (int i = 0; i < 300; i++)
        bytes[i] = (unsigned char)i;
    nmc_value a = vector(NMC_BA_UINT8, 300, bytes);
    bytes[299] ^= 0xFF; /* beyond the first 256 bytes: same hash */
    nmc_value b = vector(NMC_BA_UINT8, 300, bytes);
    bytes[10] ^= 0xFF;
    nmc_value c = vector(NMC_BA_UINT8, 300, bytes);
    ck_assert_uint_eq(nmc_bigarray_ops.hash(a), nmc_bigarray_ops.hash(b));
    ck_assert_uint_ne(nmc_bigarray_ops.hash(a), nmc_bigarray_ops.hash(c));
    /* -0.0 and +0.0 hash alike, as do all NaNs */
    const double z[1] = {0.0}, nz[1] = {-0.0}, n1[1] = {NAN}, n2[1] = {-NAN};
    ck_assert_uint_eq(nmc_bigarray_ops.hash(vector(NMC_BA_FLOAT64, 1, z)),
                      nmc_bigarray_ops.hash(vector(NMC_BA_FLOAT64, 1, nz)));
    ck_assert_uint_eq(nmc_bigarray_ops.hash(vector(NMC_BA_FLOAT64, 1, n1)),
                      nmc_bigarray_ops.hash(vector(NMC_BA_FLOAT64, 1, n2)));
    /* an empty bigarray hashes to 0 (nothing mixed) */
    ck_assert_uint_eq(nmc_bigarray_ops.hash(vector(NMC_BA_INT32, 0, NULL)), 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("value_custom");
    TCase *tc = tcase_create("custom");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_add_test(tc, ops_are_found_by_identifier);
    tcase_add_test(tc, element_sizes);
    tcase_add_test(tc, byte_size_checks_every_field);
    tcase_add_test(tc, boxed_integers_compare_and_hash_as_ocaml);
    tcase_add_test(tc, bigarray_order);
    tcase_add_test(tc, bigarray_hash_reads_a_bounded_prefix);
    suite_add_tcase(s, tc);
    return s;
}
