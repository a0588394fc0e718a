/* Tests of nmc_hash and nmc_hash_param (impl/src/value/hash.c).
 *
 * The expected numbers are true OCaml results: they were printed by the
 * OCaml 4.13.1 toplevel (Debian's ocaml-nox, 64-bit) evaluating
 * Hashtbl.hash / hash_param / seeded_hash / seeded_hash_param on the same
 * values, and are hard-coded here.
 */
#include <math.h>
#include <string.h>

#include "nmc/value.h"
#include "nmc_test.h"
#include "test_values.h"

/* [first; first+1; ...] of n elements; one assertion at the end, since
 * Check records each assertion (a pipe write in fork mode). */
static nmc_value int_list(size_t n, intptr_t first)
{
    nmc_value l = nmc_val_long(0);
    int st = NMC_OK;
    for (size_t i = n; i > 0 && st == NMC_OK; i--) {
        nmc_value f[2] = {nmc_val_long(first + (intptr_t)i - 1), l};
        st = nmc_alloc_tuple(arena, 0, 2, f, &l);
    }
    ck_assert_ok(st);
    return l;
}

/* A one-dimensional C-layout bigarray of n elements. */
static nmc_value ba_vector(int kind, intptr_t n, const void *data)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_bigarray(arena, kind, NMC_BA_C_LAYOUT, 1, &n, data, &v));
    return v;
}

/* A zero-size block of a tag outside the atom table (Obj.new_block tag 0
 * in OCaml gives the atom, which hashes alike). */
static nmc_value zero_size(unsigned tag)
{
    nmc_header *hp = nmc_arena_alloc_words(arena, 1);
    ck_assert_ptr_nonnull(hp);
    *hp = nmc_make_header(0, tag, NMC_COLOR_WHITE);
    return (nmc_value)(hp + 1);
}

#define L(n) nmc_val_long(n)

START_TEST(immediates)
{
    ck_assert_uint_eq(nmc_hash(L(0)), 129913994);
    ck_assert_uint_eq(nmc_hash(L(1)), 883721435);
    ck_assert_uint_eq(nmc_hash(L(-1)), 911466517);
    ck_assert_uint_eq(nmc_hash(L(2)), 648017920);
    ck_assert_uint_eq(nmc_hash(L(5)), 378313623);
    ck_assert_uint_eq(nmc_hash(L(NMC_MAX_LONG)), 952257787);
    ck_assert_uint_eq(nmc_hash(L(NMC_MIN_LONG)), 69827754);
    ck_assert_uint_eq(nmc_hash(tuple(0, 2, (nmc_value[]){L(NMC_MAX_LONG), L(NMC_MIN_LONG)})),
                      238786691);
}
END_TEST

START_TEST(strings)
{
    ck_assert_uint_eq(nmc_hash(str("")), 0);
    ck_assert_uint_eq(nmc_hash(str("a")), 721651713);
    ck_assert_uint_eq(nmc_hash(str("hello")), 840920576);
    ck_assert_uint_eq(nmc_hash(str("1234567")), 698807320);
    ck_assert_uint_eq(nmc_hash(str("12345678")), 296948686);
    ck_assert_uint_eq(nmc_hash(str("abcdefghij")), 154544990);
    char x[1000];
    memset(x, 'x', sizeof x);
    nmc_value big;
    ck_assert_ok(nmc_alloc_string(arena, x, sizeof x, &big));
    ck_assert_uint_eq(nmc_hash(big), 824198158);
}
END_TEST

START_TEST(doubles)
{
    ck_assert_uint_eq(nmc_hash(dbl(1.0)), 57497256);
    ck_assert_uint_eq(nmc_hash(dbl(NAN)), 841516429);
    ck_assert_uint_eq(nmc_hash(dbl(-0.0)), 256347020);
    ck_assert_uint_eq(nmc_hash(dbl(0.0)), 256347020);
    ck_assert_uint_eq(nmc_hash(dbl(INFINITY)), 602560251);
    uint64_t bits = 0xFFF8000000000001u; /* another NaN: hashes as nan */
    double other_nan;
    memcpy(&other_nan, &bits, sizeof other_nan);
    ck_assert_uint_eq(nmc_hash(dbl(other_nan)), 841516429);
    ck_assert_uint_eq(nmc_hash(darr(2, (double[]){1.0, 2.0})), 332890686);
    double twelve[12];
    for (int i = 0; i < 12; i++)
        twelve[i] = i + 1; /* only the first 10 count */
    ck_assert_uint_eq(nmc_hash(darr(12, twelve)), 967272451);
    ck_assert_uint_eq(nmc_hash(nmc_atom(0)), 1058613066); /* [||] */
    nmc_value t = tuple(0, 3, (nmc_value[]){dbl(1.0), dbl(-0.0), dbl(NAN)});
    ck_assert_uint_eq(nmc_hash(t), 224748277);
}
END_TEST

START_TEST(structured)
{
    ck_assert_uint_eq(nmc_hash(tuple(0, 2, (nmc_value[]){L(1), L(2)})), 1014741498);
    ck_assert_uint_eq(nmc_hash(int_list(3, 1)), 794519639);
    ck_assert_uint_eq(nmc_hash(tuple(0, 1, (nmc_value[]){L(0)})), 554989322); /* Some [] */
    nmc_value nested = tuple(0, 2, (nmc_value[]){int_list(2, 1), tuple(0, 2, (nmc_value[]){
                                                                     int_list(1, 3), L(0)})});
    ck_assert_uint_eq(nmc_hash(nested), 195323850); /* [[1;2];[3]] */
    ck_assert_uint_eq(nmc_hash(tuple(3, 2, (nmc_value[]){L(7), str("z")})), 777641687);
    nmc_value arr = darr(2, (double[]){3.0, NAN});
    ck_assert_uint_eq(nmc_hash(tuple(0, 3, (nmc_value[]){str("a"), dbl(1.5), arr})), 676504179);
    ck_assert_uint_eq(nmc_hash(tagged(NMC_TAG_LAZY, 1, (nmc_value[]){L(1)})), 1023949196);
    /* color bits do not count */
    nmc_value p = tuple(0, 2, (nmc_value[]){L(1), L(2)});
    nmc_hd_val(p) = nmc_hd_with_color(nmc_hd_val(p), NMC_COLOR_BLACK);
    ck_assert_uint_eq(nmc_hash(p), 1014741498);
}
END_TEST

START_TEST(custom_blocks)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_int32(arena, 5, &v));
    ck_assert_uint_eq(nmc_hash(v), 648017920);
    ck_assert_ok(nmc_alloc_int32(arena, -7, &v));
    ck_assert_uint_eq(nmc_hash(v), 77309637);
    ck_assert_ok(nmc_alloc_int32(arena, INT32_MIN, &v));
    ck_assert_uint_eq(nmc_hash(v), 952257787);
    ck_assert_ok(nmc_alloc_int64(arena, 5, &v));
    ck_assert_uint_eq(nmc_hash(v), 648017920);
    ck_assert_ok(nmc_alloc_int64(arena, -1, &v));
    ck_assert_uint_eq(nmc_hash(v), 1058613066);
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MIN, &v));
    ck_assert_uint_eq(nmc_hash(v), 952257787);
    ck_assert_ok(nmc_alloc_nativeint(arena, 5, &v));
    ck_assert_uint_eq(nmc_hash(v), 648017920);
    ck_assert_ok(nmc_alloc_nativeint(arena, INTPTR_MIN, &v));
    ck_assert_uint_eq(nmc_hash(v), 600019664);
    intptr_t dim = 2;
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 1, &dim,
                                    (double[]){1.0, 2.0}, &v));
    ck_assert_uint_eq(nmc_hash(v), 356928545);
    dim = 5;
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_SINT8, NMC_BA_C_LAYOUT, 1, &dim,
                                    (int8_t[]){1, 2, 3, 4, 5}, &v));
    ck_assert_uint_eq(nmc_hash(v), 566917999);
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_FLOAT32, 3, (float[]){NAN, -0.0f, 1.0f})),
                      119023927);
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_SINT16, 3, (int16_t[]){1, -2, 3})), 716158258);
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_INT64, 3, (int64_t[]){1, -2, 3})), 255025015);
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_CAML_INT, 3, (intptr_t[]){1, -2, 3})),
                      1068431975);
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_COMPLEX64, 1, (double[]){1.0, NAN})),
                      1020041268);
    unsigned char chars[300];
    for (int i = 0; i < 300; i++)
        chars[i] = (unsigned char)i;
    ck_assert_uint_eq(nmc_hash(ba_vector(NMC_BA_CHAR, 300, chars)), 204044337);
    /* Array2.of_array int32 fortran_layout [|[|1l;2l|];[|3l;4l|]|]: column-major */
    intptr_t dims2[2] = {2, 2};
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_INT32, NMC_BA_FORTRAN_LAYOUT, 2, dims2,
                                    (int32_t[]){1, 3, 2, 4}, &v));
    ck_assert_uint_eq(nmc_hash(v), 702641883);
    /* no hash function: contributes nothing, like an abstract block */
    struct nmc_custom_ops opaque = {"_opaque", NULL, NULL};
    nmc_field(v, 0) = (nmc_value)&opaque;
    ck_assert_uint_eq(nmc_hash(v), 0);
}
END_TEST

START_TEST(runtime_tags)
{
    nmc_value abs;
    ck_assert_ok(nmc_alloc_abstract(arena, 1, &abs));
    ck_assert_uint_eq(nmc_hash(abs), 0);
    /* zero-size blocks: Obj.new_block 251 0, 254 0 mix nothing, 5 0 its header */
    ck_assert_uint_eq(nmc_hash(zero_size(NMC_TAG_ABSTRACT)), 0);
    ck_assert_uint_eq(nmc_hash(zero_size(NMC_TAG_DOUBLE_ARRAY)), 0);
    ck_assert_uint_eq(nmc_hash(zero_size(5)), 648017920);
    ck_assert_uint_eq(nmc_hash(nmc_atom(5)), 648017920);
    ck_assert_uint_eq(nmc_hash(zero_size(NMC_TAG_CUSTOM)), nmc_hash(nmc_atom(NMC_TAG_CUSTOM)));
    ck_assert_uint_eq(nmc_hash(tuple(0, 2, (nmc_value[]){abs, L(3)})), 1031544668);
    nmc_value fwd = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){L(5)});
    ck_assert_uint_eq(nmc_hash(fwd), 378313623); /* = hash 5 */
    nmc_value fa = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){str("a")});
    ck_assert_uint_eq(nmc_hash(tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){fa})), 721651713);
    nmc_value loop = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){L(0)});
    nmc_field(loop, 0) = loop; /* given up on, as OCaml does */
    ck_assert_uint_eq(nmc_hash(loop), 0);
    ck_assert_uint_eq(nmc_hash(tagged(NMC_TAG_OBJECT, 2, (nmc_value[]){L(0), L(17)})), 894170852);
}
END_TEST

START_TEST(zero_size_blocks)
{
    /* no fields to read: abstract and double-array ones mix nothing (OCaml
     * loops over no elements), any other tag mixes its header alone, as the
     * atom [||] does; mix_uint32(0, 252) is also how Int32 252l hashes */
    nmc_value i252;
    ck_assert_ok(nmc_alloc_int32(arena, 252, &i252));
    ck_assert_uint_eq(nmc_hash(nmc_atom(NMC_TAG_ABSTRACT)), 0);
    ck_assert_uint_eq(nmc_hash(nmc_atom(NMC_TAG_DOUBLE_ARRAY)), 0);
    ck_assert_uint_eq(nmc_hash(nmc_atom(NMC_TAG_STRING)), nmc_hash(i252));
    ck_assert_uint_eq(nmc_hash(nmc_atom(NMC_TAG_CUSTOM)), nmc_hash(nmc_atom(NMC_TAG_CUSTOM)));
    ck_assert_uint_ne(nmc_hash(nmc_atom(NMC_TAG_CUSTOM)), 0);
}
END_TEST

START_TEST(closures_never_dereference_code)
{
    /* closure: code pointer (even, points nowhere useful), closure info
     * with arity 1 and start of environment 2, one environment field */
    nmc_value clo = tagged(NMC_TAG_CLOSURE, 3,
                           (nmc_value[]){(nmc_value)0x1000, ((nmc_value)1 << 56) | (2u << 1) | 1u,
                                         str("env")});
    uint32_t h = nmc_hash(clo);
    nmc_field(clo, 2) = (nmc_value)str("env");
    ck_assert_uint_eq(nmc_hash(clo), h); /* the environment is hashed by content */
    nmc_field(clo, 0) = (nmc_value)0x2000;
    ck_assert_uint_ne(nmc_hash(clo), h); /* code pointers as words */
}
END_TEST

START_TEST(count_limit_seed)
{
    nmc_value l300 = int_list(300, 0);
    ck_assert_uint_eq(nmc_hash(l300), 182325193);
    ck_assert_uint_eq(nmc_hash_param(100, 200, 0, l300), 637631319);
    ck_assert_uint_eq(nmc_hash_param(10, 100, 42, str("hello")), 65176872);
    ck_assert_uint_eq(nmc_hash_param(5, 5, 7, int_list(3, 1)), 859636963);
    nmc_value p = tuple(0, 2, (nmc_value[]){L(1), L(2)});
    ck_assert_uint_eq(nmc_hash_param(0, 0, 0, p), 0);
    nmc_value pp = tuple(0, 2, (nmc_value[]){p, L(3)});
    ck_assert_uint_eq(nmc_hash_param(1, 1, 0, pp), 980550003);
    /* a limit out of range means 256; a long list costs nothing extra */
    ck_assert_uint_eq(nmc_hash_param(100, -1, 0, l300), nmc_hash_param(100, 256, 0, l300));
    ck_assert_uint_eq(nmc_hash_param(100, 1000, 0, l300), nmc_hash_param(100, 256, 0, l300));
    nmc_value long_list = int_list(1000000, 0);
    ck_assert_uint_eq(nmc_hash(long_list), 182325193); /* only the head counts */
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("value_hash");
    TCase *tc = tcase_create("hash");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, immediates);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, doubles);
    tcase_add_test(tc, structured);
    tcase_add_test(tc, custom_blocks);
    tcase_add_test(tc, runtime_tags);
    tcase_add_test(tc, zero_size_blocks);
    tcase_add_test(tc, closures_never_dereference_code);
    tcase_add_test(tc, count_limit_seed);
    suite_add_tcase(s, tc);
    return s;
}
