/* Tests of nmc_compare and nmc_equal (impl/src/value/compare.c). The
 * expected orders are those of OCaml 4.13's compare and =. */
#include <math.h>
#include <string.h>

#include "nmc/value.h"
#include "nmc_test.h"
#include "test_values.h"

static int cmp(nmc_value a, nmc_value b)
{
    int r = 42;
    ck_assert_ok(nmc_compare(a, b, &r));
    ck_assert(r == -1 || r == 0 || r == 1);
    return r;
}

static bool eq(nmc_value a, nmc_value b)
{
    bool e = false;
    ck_assert_ok(nmc_equal(a, b, &e));
    return e;
}

/* [1; 2; ...; n-1; last]; one assertion at the end, since Check records
 * each assertion (a pipe write in fork mode). */
static nmc_value int_list(size_t n, intptr_t last)
{
    nmc_value l = nmc_val_long(0);
    int st = NMC_OK;
    for (size_t i = n; i > 0 && st == NMC_OK; i--) {
        nmc_value f[2] = {nmc_val_long(i == n ? last : (intptr_t)i), l};
        st = nmc_alloc_tuple(arena, 0, 2, f, &l);
    }
    ck_assert_ok(st);
    return l;
}

/* ((((0, second), 1), 1) ...) of n pairs: every level waits on the stack. */
static nmc_value left_deep(size_t n, intptr_t second)
{
    nmc_value l = nmc_val_long(0);
    int st = NMC_OK;
    for (size_t i = 0; i < n && st == NMC_OK; i++) {
        nmc_value f[2] = {l, nmc_val_long(i == 0 ? second : 1)};
        st = nmc_alloc_tuple(arena, 0, 2, f, &l);
    }
    ck_assert_ok(st);
    return l;
}

#define L(n) nmc_val_long(n)

START_TEST(immediates)
{
    ck_assert_int_eq(cmp(L(1), L(2)), -1);
    ck_assert_int_eq(cmp(L(2), L(1)), 1);
    ck_assert_int_eq(cmp(L(-1), L(1)), -1);
    ck_assert_int_eq(cmp(L(7), L(7)), 0);
    ck_assert_int_eq(cmp(L(NMC_MIN_LONG), L(NMC_MAX_LONG)), -1);
    ck_assert_int_eq(cmp(L(NMC_MAX_LONG), L(NMC_MIN_LONG)), 1);
    ck_assert(eq(L(3), L(3)));
    ck_assert(!eq(L(3), L(4)));
}
END_TEST

START_TEST(immediate_below_block)
{
    nmc_value i32;
    ck_assert_ok(nmc_alloc_int32(arena, -100, &i32));
    ck_assert_int_eq(cmp(L(NMC_MAX_LONG), str("")), -1);
    ck_assert_int_eq(cmp(str(""), L(0)), 1);
    ck_assert_int_eq(cmp(L(0), nmc_atom(0)), -1);
    ck_assert_int_eq(cmp(L(5), i32), -1);
    ck_assert_int_eq(cmp(i32, L(5)), 1);
    ck_assert(!eq(L(0), nmc_atom(0)));
}
END_TEST

START_TEST(tags_then_sizes_then_fields)
{
    nmc_value some = tuple(0, 1, (nmc_value[]){L(9)});
    nmc_value tag1 = tuple(1, 1, (nmc_value[]){L(0)});
    ck_assert_int_eq(cmp(some, tag1), -1);
    ck_assert_int_eq(cmp(str("z"), dbl(0.0)), -1); /* 252 < 253 */
    ck_assert_int_eq(cmp(pair(L(9), L(9)), tuple(0, 3, (nmc_value[]){L(1), L(1), L(1)})), -1);
    ck_assert_int_eq(cmp(pair(L(1), L(3)), pair(L(1), L(2))), 1);
    ck_assert_int_eq(cmp(pair(L(1), L(2)), pair(L(1), L(2))), 0);
    ck_assert_int_eq(cmp(int_list(3, 3), int_list(3, 4)), -1);
    ck_assert_int_eq(cmp(int_list(2, 2), int_list(3, 3)), -1); /* [] < _ :: _ */
    ck_assert_int_eq(cmp(int_list(3, 3), int_list(2, 2)), 1);
    /* Lazy is an ordinary structured block */
    nmc_value lz1 = tagged(NMC_TAG_LAZY, 1, (nmc_value[]){L(1)});
    nmc_value lz2 = tagged(NMC_TAG_LAZY, 1, (nmc_value[]){L(2)});
    ck_assert_int_eq(cmp(lz1, lz2), -1);
    ck_assert(eq(pair(str("a"), dbl(1.0)), pair(str("a"), dbl(1.0))));
    ck_assert(!eq(pair(str("a"), dbl(1.0)), pair(str("a"), dbl(2.0))));
}
END_TEST

START_TEST(strings)
{
    nmc_value hi;
    ck_assert_ok(nmc_alloc_string(arena, "\xff", 1, &hi));
    ck_assert_int_eq(cmp(str("abc"), str("abd")), -1);
    ck_assert_int_eq(cmp(str("ab"), str("abc")), -1);
    ck_assert_int_eq(cmp(str("b"), str("abc")), 1);
    ck_assert_int_eq(cmp(str(""), str("a")), -1);
    ck_assert_int_eq(cmp(str(""), str("")), 0);
    ck_assert_int_eq(cmp(hi, str("a")), 1); /* bytes are unsigned */
    nmc_value z1, z2;
    ck_assert_ok(nmc_alloc_string(arena, "a\0b", 3, &z1));
    ck_assert_ok(nmc_alloc_string(arena, "a\0c", 3, &z2));
    ck_assert_int_eq(cmp(z1, z2), -1); /* NUL is an ordinary byte */
    char big[3000];
    memset(big, 'q', sizeof big);
    nmc_value b1, b2;
    ck_assert_ok(nmc_alloc_string(arena, big, sizeof big, &b1));
    big[2999] = 'r';
    ck_assert_ok(nmc_alloc_string(arena, big, sizeof big, &b2));
    ck_assert_int_eq(cmp(b1, b2), -1);
    ck_assert(eq(str("hello"), str("hello")));
    ck_assert(!eq(str("hello"), str("hell")));
}
END_TEST

START_TEST(doubles_and_nan)
{
    nmc_value nan1 = dbl(NAN);
    ck_assert_int_eq(cmp(dbl(1.0), dbl(2.0)), -1);
    ck_assert_int_eq(cmp(nan1, dbl(NAN)), 0);
    ck_assert_int_eq(cmp(nan1, nan1), 0);
    ck_assert_int_eq(cmp(nan1, dbl(-INFINITY)), -1);
    ck_assert_int_eq(cmp(dbl(1.0), nan1), 1);
    ck_assert_int_eq(cmp(dbl(-0.0), dbl(0.0)), 0);
    ck_assert(!eq(nan1, nan1)); /* let x = nan in x = x is false */
    ck_assert(!eq(nan1, dbl(1.0)));
    ck_assert(eq(dbl(-0.0), dbl(0.0)));
    ck_assert(!eq(pair(L(1), nan1), pair(L(1), nan1)));
    double a[2] = {1.0, NAN}, b[2] = {1.0, 2.0}, c[3] = {0.0, 0.0, 0.0};
    ck_assert_int_eq(cmp(darr(2, a), darr(2, b)), -1);
    ck_assert_int_eq(cmp(darr(2, a), darr(2, a)), 0);
    ck_assert_int_eq(cmp(darr(2, b), darr(3, c)), -1); /* length first */
    ck_assert(!eq(darr(2, a), darr(2, a)));
    ck_assert(eq(darr(2, b), darr(2, b)));
    ck_assert_int_eq(cmp(nmc_atom(0), darr(1, b)), -1); /* [||] < [|1.|] */
}
END_TEST

START_TEST(custom_blocks)
{
    nmc_value i5, i6, l5, n5, ba1, ba2;
    ck_assert_ok(nmc_alloc_int32(arena, 5, &i5));
    ck_assert_ok(nmc_alloc_int32(arena, 6, &i6));
    ck_assert_ok(nmc_alloc_int64(arena, 5, &l5));
    ck_assert_ok(nmc_alloc_nativeint(arena, 5, &n5));
    ck_assert_int_eq(cmp(i5, i6), -1);
    ck_assert_int_eq(cmp(i6, i5), 1);
    ck_assert(eq(i5, i5));
    ck_assert_int_eq(cmp(l5, i5), 1); /* "_j" > "_i" */
    ck_assert_int_eq(cmp(l5, n5), -1); /* "_j" < "_n" */
    nmc_value lmin, lmax;
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MIN, &lmin));
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MAX, &lmax));
    ck_assert_int_eq(cmp(lmin, lmax), -1);
    intptr_t dim = 3;
    int32_t d1[3] = {1, 2, 3}, d2[3] = {1, 2, 4};
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_INT32, NMC_BA_C_LAYOUT, 1, &dim, d1, &ba1));
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_INT32, NMC_BA_C_LAYOUT, 1, &dim, d2, &ba2));
    ck_assert_int_eq(cmp(ba1, ba2), -1);
    ck_assert(!eq(ba1, ba2));
    ck_assert(eq(ba1, ba1));
    /* a NaN element: compare says equal, = says unequal (OCaml) */
    double nan_data[2] = {1.0, NAN};
    nmc_value fa, fb;
    dim = 2;
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 1, &dim, nan_data,
                                    &fa));
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 1, &dim, nan_data,
                                    &fb));
    ck_assert_int_eq(cmp(fa, fb), 0);
    ck_assert_int_eq(cmp(fa, fa), 0);
    ck_assert(!eq(fa, fb));
    ck_assert(!eq(fa, fa));
    ck_assert(!eq(pair(L(1), fa), pair(L(1), fb)));
    ck_assert(eq(ba1, ba1)); /* the flag does not stick */
    /* no compare function: OCaml's "compare: abstract value" */
    struct nmc_custom_ops opaque = {"_opaque", NULL, NULL};
    nmc_value o1, o2;
    int r;
    ck_assert_ok(nmc_alloc_int32(arena, 1, &o1));
    ck_assert_ok(nmc_alloc_int32(arena, 1, &o2));
    nmc_field(o1, 0) = nmc_field(o2, 0) = (nmc_value)&opaque;
    ck_assert_status(nmc_compare(o1, o2, &r), NMC_EUNSUPPORTED);
    nmc_field(o1, 0) = 0;
    ck_assert_status(nmc_compare(o1, o2, &r), NMC_EINVAL);
}
END_TEST

START_TEST(atoms_and_zero_size_blocks)
{
    nmc_header *hp = nmc_arena_alloc_words(arena, 1);
    ck_assert_ptr_nonnull(hp);
    *hp = nmc_make_header(0, 0, NMC_COLOR_WHITE);
    nmc_value z = (nmc_value)(hp + 1);
    ck_assert_int_eq(cmp(nmc_atom(0), nmc_atom(0)), 0);
    ck_assert_int_eq(cmp(nmc_atom(0), z), 0);
    ck_assert(eq(z, nmc_atom(0)));
    ck_assert_int_eq(cmp(nmc_atom(0), pair(L(0), L(0))), -1);
    ck_assert_int_eq(cmp(nmc_atom(1), nmc_atom(0)), 1);
    ck_assert_int_eq(cmp(nmc_atom(NMC_TAG_STRING), str("")), -1);
}
END_TEST

START_TEST(forward_objects_functions)
{
    nmc_value fwd = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){L(5)});
    ck_assert_int_eq(cmp(fwd, L(5)), 0);
    ck_assert_int_eq(cmp(L(4), fwd), -1);
    nmc_value fs = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){str("a")});
    nmc_value ffs = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){fs});
    ck_assert_int_eq(cmp(ffs, str("b")), -1);
    ck_assert_int_eq(cmp(str("a"), ffs), 0);
    ck_assert(eq(fs, ffs));
    int r;
    bool e;
    nmc_value loop = tagged(NMC_TAG_FORWARD, 1, (nmc_value[]){L(0)});
    nmc_field(loop, 0) = loop;
    ck_assert_status(nmc_compare(loop, L(0), &r), NMC_EUNSUPPORTED);

    nmc_value ob1 = tagged(NMC_TAG_OBJECT, 2, (nmc_value[]){L(0), L(10)});
    nmc_value ob2 = tagged(NMC_TAG_OBJECT, 2, (nmc_value[]){L(99), L(11)});
    ck_assert_int_eq(cmp(ob1, ob2), -1);
    ck_assert(eq(ob1, tagged(NMC_TAG_OBJECT, 2, (nmc_value[]){L(1), L(10)})));
    ck_assert_status(nmc_compare(ob1, tagged(NMC_TAG_OBJECT, 1, (nmc_value[]){L(0)}), &r),
                     NMC_EINVAL);

    nmc_value clo = tagged(NMC_TAG_CLOSURE, 2, (nmc_value[]){L(0), L(0)});
    nmc_value inf = tagged(NMC_TAG_INFIX, 1, (nmc_value[]){L(0)});
    nmc_value abs;
    ck_assert_ok(nmc_alloc_abstract(arena, 1, &abs));
    ck_assert_status(nmc_compare(clo, clo, &r), NMC_OK); /* physically equal */
    ck_assert_status(nmc_equal(clo, clo, &e), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_compare(clo, inf, &r), NMC_EUNSUPPORTED);
    ck_assert_status(nmc_compare(abs, abs, &r), NMC_OK);
    ck_assert_status(nmc_equal(pair(L(0), abs), pair(L(0), abs), &e), NMC_EUNSUPPORTED);
    ck_assert_int_eq(cmp(clo, abs), -1); /* different tags: ordered by tag */
    ck_assert_int_eq(cmp(clo, L(0)), 1);
}
END_TEST

START_TEST(cycles_terminate)
{
    /* x = 1 :: x, y = 1 :: 1 :: y, z = 1 :: 2 :: z */
    nmc_value x = pair(L(1), L(0)), y = pair(L(1), L(0)), y2 = pair(L(1), y);
    nmc_value z = pair(L(1), L(0)), z2 = pair(L(2), z);
    nmc_field(x, 1) = x;
    nmc_field(y, 1) = y2;
    nmc_field(z, 1) = z2;
    ck_assert_int_eq(cmp(x, y), 0);
    ck_assert(eq(x, y));
    ck_assert(eq(x, x)); /* = walks physically equal values */
    ck_assert_int_eq(cmp(x, z), -1);
    ck_assert_int_eq(cmp(z, x), 1);
    /* a cycle through field 0 (the stack side) */
    nmc_value p = pair(L(0), L(3)), q = pair(L(0), L(3));
    nmc_field(p, 0) = p;
    nmc_field(q, 0) = q;
    ck_assert(eq(p, q));
    nmc_field(q, 1) = L(4);
    ck_assert_int_eq(cmp(p, q), -1);
}
END_TEST

START_TEST(cycle_with_a_shared_side_pair)
{
    /* p = (a, p), q = (b, q): the walk alternates (p, q) and (a, b); a
     * recording rule keyed on the step number modulo N could record (a, b)
     * forever and never (p, q) */
    nmc_value a = pair(L(1), L(2)), b = pair(L(1), L(2));
    nmc_value p = pair(a, L(0)), q = pair(b, L(0));
    nmc_field(p, 1) = p;
    nmc_field(q, 1) = q;
    ck_assert_int_eq(cmp(p, q), 0);
    ck_assert(eq(p, q));
    nmc_field(b, 1) = L(3);
    ck_assert_int_eq(cmp(p, q), -1);
}
END_TEST

START_TEST(long_values_no_recursion)
{
    size_t n = 1000000;
    nmc_value a = int_list(n, 7), b = int_list(n, 7);
    ck_assert_int_eq(cmp(a, b), 0);
    ck_assert(eq(a, b));
    nmc_value end = b;
    while (nmc_is_block(nmc_field(end, 1)))
        end = nmc_field(end, 1);
    nmc_field(end, 0) = L(8);
    ck_assert_int_eq(cmp(a, b), -1);
    ck_assert_int_eq(cmp(b, a), 1);
    nmc_value l = left_deep(n, 1), r = left_deep(n, 2);
    ck_assert_int_eq(cmp(l, r), -1);
    ck_assert_int_eq(cmp(l, left_deep(n, 1)), 0);
    ck_assert(!eq(l, r));
}
END_TEST

START_TEST(bad_arguments)
{
    ck_assert_status(nmc_compare(L(0), L(0), NULL), NMC_EINVAL);
    ck_assert_status(nmc_equal(L(0), L(0), NULL), NMC_EINVAL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("value_compare");
    TCase *tc = tcase_create("compare");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, immediates);
    tcase_add_test(tc, immediate_below_block);
    tcase_add_test(tc, tags_then_sizes_then_fields);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, doubles_and_nan);
    tcase_add_test(tc, custom_blocks);
    tcase_add_test(tc, atoms_and_zero_size_blocks);
    tcase_add_test(tc, forward_objects_functions);
    tcase_add_test(tc, cycles_terminate);
    tcase_add_test(tc, cycle_with_a_shared_side_pair);
    tcase_add_test(tc, long_values_no_recursion);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
