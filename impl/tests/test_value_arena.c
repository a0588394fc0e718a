/* Tests of the arena builders and atoms (impl/src/value/arena.c, atoms.c). */
#include <math.h>
#include <string.h>

#include "nmc/value.h"
#include "nmc_test.h"
#include "test_values.h"

START_TEST(immediates_round_trip)
{
    ck_assert_uint_eq(nmc_val_long(0), 1);
    ck_assert_int_eq(nmc_long_val(nmc_val_long(-5)), -5);
    ck_assert_int_eq(nmc_long_val(nmc_val_long(NMC_MAX_LONG)), NMC_MAX_LONG);
    ck_assert_int_eq(nmc_long_val(nmc_val_long(NMC_MIN_LONG)), NMC_MIN_LONG);
    ck_assert(nmc_is_long(NMC_VAL_UNIT));
    ck_assert(!nmc_is_block(NMC_VAL_TRUE));
}
END_TEST

START_TEST(header_bits)
{
    nmc_header hd = nmc_make_header(5, 252, NMC_COLOR_BLACK);
    ck_assert_uint_eq(hd, (5u << 10) | (3u << 8) | 252u);
    ck_assert_uint_eq(nmc_hd_wosize(hd), 5);
    ck_assert_uint_eq(nmc_hd_color(hd), NMC_COLOR_BLACK);
    ck_assert_uint_eq(nmc_hd_tag(hd), 252);
    ck_assert_uint_eq(nmc_hd_with_color(hd, NMC_COLOR_GRAY), (5u << 10) | (1u << 8) | 252u);
    ck_assert_uint_eq(nmc_hd_wosize(nmc_make_header(NMC_MAX_WOSIZE, 0, 0)), NMC_MAX_WOSIZE);
}
END_TEST

START_TEST(block_fields_are_unit)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_block(arena, 3, 4, &v));
    ck_assert(nmc_is_block(v));
    ck_assert_uint_eq(v % NMC_WORD_SIZE, 0);
    ck_assert_uint_eq(nmc_tag_val(v), 3);
    ck_assert_uint_eq(nmc_wosize_val(v), 4);
    ck_assert_uint_eq(nmc_hd_color(nmc_hd_val(v)), NMC_COLOR_WHITE);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(nmc_field(v, i), NMC_VAL_UNIT);
}
END_TEST

START_TEST(zero_size_block_is_the_atom)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_block(arena, 7, 0, &v));
    ck_assert_uint_eq(v, nmc_atom(7));
    ck_assert(nmc_is_atom(v));
    ck_assert_uint_eq(nmc_tag_val(v), 7);
    ck_assert_uint_eq(nmc_wosize_val(v), 0);
    ck_assert_uint_eq(nmc_tag_val(nmc_atom(255)), 255);
    ck_assert(nmc_is_atom(nmc_atom(0)) && nmc_is_atom(nmc_atom(255)));
    ck_assert(!nmc_is_atom(nmc_atom(0) + 1));
    ck_assert(!nmc_is_atom(nmc_atom(0) - NMC_WORD_SIZE));
    ck_assert(!nmc_is_atom(nmc_atom(255) + NMC_WORD_SIZE));
}
END_TEST

START_TEST(strings_follow_the_padding_rule)
{
    /* len -> wosize, padding byte: OCaml's rule, one padding byte at least */
    static const size_t lens[] = {0, 1, 6, 7, 8, 9, 15, 16, 1000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char buf[1000];
        memset(buf, 'x', sizeof buf);
        nmc_value s;
        ck_assert_ok(nmc_alloc_string(arena, buf, lens[i], &s));
        ck_assert_uint_eq(nmc_tag_val(s), NMC_TAG_STRING);
        ck_assert_uint_eq(nmc_wosize_val(s), lens[i] / 8 + 1);
        ck_assert_uint_eq(nmc_string_length(s), lens[i]);
        ck_assert(memcmp(nmc_string_val(s), buf, lens[i]) == 0);
        const unsigned char *b = (const unsigned char *)s;
        size_t bosize = nmc_bosize_val(s);
        ck_assert_uint_eq(b[bosize - 1], bosize - 1 - lens[i]);
        for (size_t j = lens[i]; j < bosize - 1; j++)
            ck_assert_uint_eq(b[j], 0);
    }
}
END_TEST

START_TEST(doubles_and_double_arrays)
{
    nmc_value d, a, empty;
    double xs[3] = {1.5, -0.0, NAN};
    ck_assert_ok(nmc_alloc_double(arena, 2.25, &d));
    ck_assert_uint_eq(nmc_tag_val(d), NMC_TAG_DOUBLE);
    ck_assert(nmc_double_val(d) == 2.25);
    ck_assert_ok(nmc_alloc_double_array(arena, xs, 3, &a));
    ck_assert_uint_eq(nmc_tag_val(a), NMC_TAG_DOUBLE_ARRAY);
    ck_assert_uint_eq(nmc_wosize_val(a), 3);
    ck_assert(memcmp((void *)a, xs, sizeof xs) == 0);
    ck_assert_ok(nmc_alloc_double_array(arena, NULL, 0, &empty));
    ck_assert_uint_eq(empty, nmc_atom(0));
}
END_TEST

START_TEST(boxed_integers)
{
    nmc_value i32, i64, ni;
    ck_assert_ok(nmc_alloc_int32(arena, -7, &i32));
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MIN, &i64));
    ck_assert_ok(nmc_alloc_nativeint(arena, 42, &ni));
    ck_assert_uint_eq(nmc_tag_val(i32), NMC_TAG_CUSTOM);
    ck_assert_uint_eq(nmc_wosize_val(i32), 2);
    ck_assert_str_eq(nmc_custom_ops_val(i32)->identifier, "_i");
    ck_assert_str_eq(nmc_custom_ops_val(i64)->identifier, "_j");
    ck_assert_str_eq(nmc_custom_ops_val(ni)->identifier, "_n");
    ck_assert_int_eq(nmc_int32_val(i32), -7);
    ck_assert(nmc_int64_val(i64) == INT64_MIN);
    ck_assert_int_eq(nmc_nativeint_val(ni), 42);
    /* the unused half of an int32's payload word is zeroed */
    ck_assert_uint_eq(nmc_field(i32, 1) >> 32, 0);
}
END_TEST

START_TEST(bigarray_layout)
{
    intptr_t dims[3] = {2, 3, 4};
    int16_t data[24];
    for (int i = 0; i < 24; i++)
        data[i] = (int16_t)(i * 3);
    nmc_value ba;
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_SINT16, NMC_BA_FORTRAN_LAYOUT, 3, dims, data,
                                    &ba));
    ck_assert_uint_eq(nmc_tag_val(ba), NMC_TAG_CUSTOM);
    ck_assert_uint_eq(nmc_wosize_val(ba), 1 + 4 + 3);
    ck_assert_str_eq(nmc_custom_ops_val(ba)->identifier, "_bigarr02");
    const struct nmc_bigarray *b = nmc_bigarray_val(ba);
    ck_assert_int_eq(b->num_dims, 3);
    ck_assert_int_eq(b->flags, NMC_BA_SINT16 | NMC_BA_FORTRAN_LAYOUT | NMC_BA_MANAGED);
    ck_assert_int_eq(b->dim[2], 4);
    ck_assert(memcmp(b->data, data, sizeof data) == 0);

    nmc_value zero;
    intptr_t one[1] = {5};
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_COMPLEX64, NMC_BA_C_LAYOUT, 1, one, NULL,
                                    &zero));
    const double *z = nmc_bigarray_val(zero)->data;
    for (int i = 0; i < 10; i++)
        ck_assert(z[i] == 0.0);
}
END_TEST

START_TEST(bad_arguments)
{
    nmc_value v;
    intptr_t dims[17] = {1};
    intptr_t neg[1] = {-1};
    ck_assert_status(nmc_arena_create(NULL), NMC_EINVAL);
    ck_assert_status(nmc_alloc_block(NULL, 0, 1, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_block(arena, 256, 1, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_block(arena, 0, NMC_MAX_WOSIZE + 1, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_block(arena, 0, 1, NULL), NMC_EINVAL);
    ck_assert_status(nmc_alloc_string(arena, NULL, 3, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_string(arena, "x", SIZE_MAX, &v), NMC_EOVERFLOW);
    ck_assert_status(nmc_alloc_double_array(arena, NULL, 2, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_tuple(arena, NMC_TAG_STRING, 1, &v, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_bigarray(arena, NMC_BA_KIND_COUNT, 0, 1, dims, NULL, &v),
                     NMC_EINVAL);
    ck_assert_status(nmc_alloc_bigarray(arena, 0, 0x80, 1, dims, NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_bigarray(arena, 0, 0, 0, dims, NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_bigarray(arena, 0, 0, 17, dims, NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_alloc_bigarray(arena, 0, 0, 1, neg, NULL, &v), NMC_EINVAL);
    ck_assert_ptr_null(nmc_arena_alloc_words(arena, 0));
    ck_assert_ptr_null(nmc_arena_alloc_words(arena, SIZE_MAX));
    ck_assert_uint_eq(nmc_arena_used(NULL), 0);
    nmc_arena_destroy(NULL);
}
END_TEST

START_TEST(large_and_many_allocations)
{
    /* A large block gets its own chunk and bumping continues after it. */
    nmc_value small1, big, small2;
    ck_assert_ok(nmc_alloc_block(arena, 0, 1, &small1));
    ck_assert_ok(nmc_alloc_block(arena, 0, 1 << 20, &big));
    ck_assert_ok(nmc_alloc_block(arena, 0, 1, &small2));
    ck_assert_uint_eq(small2, small1 + 2 * NMC_WORD_SIZE);
    ck_assert_uint_eq(nmc_field(big, (1 << 20) - 1), NMC_VAL_UNIT);
    size_t before = nmc_arena_used(arena);
    nmc_value list = NMC_VAL_UNIT;
    int failures = 0; /* one assertion after the loop: Check logs every one */
    for (int i = 0; i < 1000000; i++) {
        nmc_value cell[2] = {nmc_val_long(i), list};
        failures += nmc_alloc_tuple(arena, 0, 2, cell, &list) != NMC_OK;
    }
    ck_assert_int_eq(failures, 0);
    ck_assert_uint_eq(nmc_arena_used(arena) - before, 1000000u * 3 * NMC_WORD_SIZE);
    ck_assert_int_eq(nmc_long_val(nmc_field(list, 0)), 999999);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("value_arena");
    TCase *tc = tcase_create("arena");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, immediates_round_trip);
    tcase_add_test(tc, header_bits);
    tcase_add_test(tc, block_fields_are_unit);
    tcase_add_test(tc, zero_size_block_is_the_atom);
    tcase_add_test(tc, strings_follow_the_padding_rule);
    tcase_add_test(tc, doubles_and_double_arrays);
    tcase_add_test(tc, boxed_integers);
    tcase_add_test(tc, bigarray_layout);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, large_and_many_allocations);
    suite_add_tcase(s, tc);
    return s;
}
