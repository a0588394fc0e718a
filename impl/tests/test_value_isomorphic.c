/* Tests of nmc_isomorphic (impl/src/value/isomorphic.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nmc/value.h"
#include "nmc_test.h"
#include "test_values.h"

static bool iso(nmc_value a, nmc_value b)
{
    bool same = false;
    ck_assert_ok(nmc_isomorphic(a, b, &same));
    return same;
}

/* [0; 1; ...; n-2; last] built from the tail, so no recursion; one
 * assertion at the end, since Check records each assertion (a pipe write in
 * fork mode). */
static nmc_value int_list(size_t n, intptr_t last)
{
    nmc_value l = nmc_val_long(0);
    int st = NMC_OK;
    for (size_t i = n; i > 0 && st == NMC_OK; i--) {
        nmc_value f[2] = {nmc_val_long(i == n ? last : (intptr_t)i - 1), l};
        st = nmc_alloc_tuple(arena, 0, 2, f, &l);
    }
    ck_assert_ok(st);
    return l;
}

/* A real zero-size block (not the atom), as a copier makes with COPY_ATOM. */
static nmc_value zero_size_block(unsigned tag)
{
    nmc_header *hp = nmc_arena_alloc_words(arena, 1);
    ck_assert_ptr_nonnull(hp);
    *hp = nmc_make_header(0, tag, NMC_COLOR_WHITE);
    return (nmc_value)(hp + 1);
}

START_TEST(immediates)
{
    ck_assert(iso(nmc_val_long(3), nmc_val_long(3)));
    ck_assert(!iso(nmc_val_long(3), nmc_val_long(4)));
    ck_assert(iso(nmc_val_long(NMC_MIN_LONG), nmc_val_long(NMC_MIN_LONG)));
    ck_assert(!iso(nmc_val_long(0), str("")));
    ck_assert(!iso(str(""), nmc_val_long(0)));
}
END_TEST

START_TEST(same_shape_other_addresses)
{
    nmc_value a = pair(str("abc"), pair(dbl(1.5), nmc_val_long(7)));
    nmc_value b = pair(str("abc"), pair(dbl(1.5), nmc_val_long(7)));
    ck_assert(a != b);
    ck_assert(iso(a, b));
    ck_assert(iso(a, a));
    ck_assert(!iso(a, pair(str("abd"), pair(dbl(1.5), nmc_val_long(7)))));
    ck_assert(!iso(a, pair(str("abc"), pair(dbl(1.25), nmc_val_long(7)))));
    ck_assert(!iso(a, pair(str("abc"), pair(dbl(1.5), nmc_val_long(8)))));
}
END_TEST

START_TEST(headers_tag_size_and_color)
{
    nmc_value a = pair(nmc_val_long(1), nmc_val_long(2));
    nmc_value b = pair(nmc_val_long(1), nmc_val_long(2));
    nmc_hd_val(b) = nmc_hd_with_color(nmc_hd_val(b), NMC_COLOR_BLACK);
    ck_assert(iso(a, b)); /* color ignored */
    nmc_value t1, f[2] = {nmc_val_long(1), nmc_val_long(2)};
    ck_assert_ok(nmc_alloc_tuple(arena, 1, 2, f, &t1));
    ck_assert(!iso(a, t1)); /* tag */
    nmc_value three, g[3] = {nmc_val_long(1), nmc_val_long(2), nmc_val_long(0)};
    ck_assert_ok(nmc_alloc_tuple(arena, 0, 3, g, &three));
    ck_assert(!iso(a, three)); /* wosize */
}
END_TEST

START_TEST(sharing_must_match)
{
    nmc_value s = str("shared");
    nmc_value shared = pair(s, s);
    nmc_value split = pair(str("shared"), str("shared"));
    nmc_value t = str("shared");
    ck_assert(!iso(shared, split));
    ck_assert(!iso(split, shared));
    ck_assert(iso(shared, pair(t, t)));
    ck_assert(iso(split, pair(str("shared"), str("shared"))));
    /* a and b may share blocks: the bijection then maps them to themselves */
    ck_assert(iso(pair(s, shared), pair(s, pair(s, s))));
    ck_assert(iso(pair(s, t), pair(t, s)));
    ck_assert(!iso(pair(s, s), pair(s, t)));
}
END_TEST

START_TEST(cycles)
{
    /* let rec x = 1 :: 2 :: x, built three times; and a one-cell cycle */
    nmc_value x[3], one;
    for (int k = 0; k < 3; k++) {
        nmc_value second = pair(nmc_val_long(2), nmc_val_long(0));
        x[k] = pair(nmc_val_long(1), second);
        nmc_field(second, 1) = x[k];
    }
    ck_assert(iso(x[0], x[1]));
    nmc_field(nmc_field(x[2], 1), 0) = nmc_val_long(1);
    one = pair(nmc_val_long(1), nmc_val_long(0));
    nmc_field(one, 1) = one;
    /* 1 :: 1 :: cycle of two is the same infinite list as the one-cell
     * cycle, but not the same graph */
    ck_assert(!iso(one, x[2]));
    ck_assert(!iso(x[2], one));
    ck_assert(iso(one, one));
}
END_TEST

START_TEST(leaves_are_bitwise)
{
    ck_assert(iso(dbl(NAN), dbl(NAN)));
    ck_assert(!iso(dbl(0.0), dbl(-0.0)));
    ck_assert(iso(str(""), str("")));
    nmc_value nul, s7, s8;
    ck_assert_ok(nmc_alloc_string(arena, "", 1, &nul));
    ck_assert(!iso(str(""), nul));
    ck_assert_ok(nmc_alloc_string(arena, "1234567", 7, &s7));
    ck_assert_ok(nmc_alloc_string(arena, "12345678", 8, &s8));
    ck_assert(!iso(s7, s8));
    double d1[3] = {1.0, NAN, -0.0}, d2[3] = {1.0, NAN, 0.0};
    nmc_value a1, a2, a3;
    ck_assert_ok(nmc_alloc_double_array(arena, d1, 3, &a1));
    ck_assert_ok(nmc_alloc_double_array(arena, d1, 3, &a2));
    ck_assert_ok(nmc_alloc_double_array(arena, d2, 3, &a3));
    ck_assert(iso(a1, a2));
    ck_assert(!iso(a1, a3));
    nmc_value ab1, ab2;
    ck_assert_ok(nmc_alloc_abstract(arena, 2, &ab1));
    ck_assert_ok(nmc_alloc_abstract(arena, 2, &ab2));
    ck_assert(iso(ab1, ab2));
    nmc_field(ab2, 1) = 42;
    ck_assert(!iso(ab1, ab2));
}
END_TEST

START_TEST(atoms)
{
    ck_assert(iso(nmc_atom(0), nmc_atom(0)));
    ck_assert(!iso(nmc_atom(0), nmc_atom(1)));
    ck_assert(!iso(nmc_atom(0), nmc_val_long(0)));
    /* a real zero-size block stands for the atom of its tag */
    nmc_value z0 = zero_size_block(0), z0b = zero_size_block(0);
    ck_assert(iso(nmc_atom(0), z0));
    ck_assert(iso(z0, nmc_atom(0)));
    ck_assert(!iso(nmc_atom(1), z0));
    /* zero-size blocks are not paired: one atom may become several blocks */
    ck_assert(iso(pair(nmc_atom(0), nmc_atom(0)), pair(z0, z0b)));
    ck_assert(!iso(pair(nmc_atom(0), nmc_atom(0)), pair(z0, nmc_atom(3))));
}
END_TEST

START_TEST(custom_blocks)
{
    nmc_value i5, i5b, i6, l5, n5;
    ck_assert_ok(nmc_alloc_int32(arena, 5, &i5));
    ck_assert_ok(nmc_alloc_int32(arena, 5, &i5b));
    ck_assert_ok(nmc_alloc_int32(arena, 6, &i6));
    ck_assert_ok(nmc_alloc_int64(arena, 5, &l5));
    ck_assert_ok(nmc_alloc_nativeint(arena, 5, &n5));
    ck_assert(iso(i5, i5b));
    ck_assert(!iso(i5, i6));
    ck_assert(!iso(i5, l5)); /* same payload word, other identifier */
    ck_assert(!iso(l5, n5));
    nmc_field(i5b, 1) |= (nmc_value)0xFFFF << 32; /* padding of the int32 word */
    ck_assert(iso(i5, i5b));
    nmc_field(n5, 1) |= (nmc_value)1 << 40; /* nativeint: all 8 bytes count */
    nmc_value n5b;
    ck_assert_ok(nmc_alloc_nativeint(arena, 5, &n5b));
    ck_assert(!iso(n5, n5b));
    /* an ops record of another process with the same identifier */
    struct nmc_custom_ops foreign = {"_j", NULL, NULL};
    nmc_value l5f;
    ck_assert_ok(nmc_alloc_int64(arena, 5, &l5f));
    nmc_field(l5f, 0) = (nmc_value)&foreign;
    ck_assert(iso(l5, l5f));
}
END_TEST

START_TEST(bigarrays_ignore_ownership)
{
    intptr_t dims[2] = {2, 3};
    double data[6] = {1, 2, 3, 4, 5, 6};
    double copy[6];
    memcpy(copy, data, sizeof data);
    nmc_value a, b, c, d;
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 2, dims, data, &a));
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 2, dims, data, &b));
    ck_assert(iso(a, b));
    /* as copied into an image: external data elsewhere */
    struct nmc_bigarray *bb = nmc_bigarray_val(b);
    bb->flags = (bb->flags & ~(intptr_t)NMC_BA_MANAGED_MASK) | NMC_BA_EXTERNAL;
    bb->data = copy;
    ck_assert(iso(a, b));
    copy[5] = 7;
    ck_assert(!iso(a, b));
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_INT64, NMC_BA_C_LAYOUT, 2, dims, data, &c));
    ck_assert(!iso(a, c)); /* kind */
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_FORTRAN_LAYOUT, 2, dims, data,
                                    &c));
    ck_assert(!iso(a, c)); /* layout */
    intptr_t other[2] = {3, 2};
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 2, other, data, &d));
    ck_assert(!iso(a, d)); /* dims */
    intptr_t empty[1] = {0};
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_UINT8, NMC_BA_C_LAYOUT, 1, empty, NULL, &c));
    ck_assert_ok(nmc_alloc_bigarray(arena, NMC_BA_UINT8, NMC_BA_C_LAYOUT, 1, empty, NULL, &d));
    ck_assert(iso(c, d));
}
END_TEST

/* The last cons cell of a non-empty list. */
static nmc_value last_cell(nmc_value l)
{
    while (nmc_is_block(nmc_field(l, 1)))
        l = nmc_field(l, 1);
    return l;
}

START_TEST(long_list_no_recursion)
{
    size_t n = 1000000;
    nmc_value a = int_list(n, 99), b = int_list(n, 99);
    ck_assert(iso(a, b));
    nmc_value end = last_cell(b);
    nmc_field(end, 0) = nmc_val_long(98);
    ck_assert(!iso(a, b));
    nmc_field(end, 0) = nmc_val_long(99);
    nmc_field(end, 1) = pair(nmc_val_long(0), nmc_val_long(0)); /* one longer */
    ck_assert(!iso(a, b));
}
END_TEST

/* Caps the address space a little above its current size (this test runs
 * in its own forked child); false where a sanitizer owns the allocator. */
static bool limit_address_space(struct rlimit *old)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)old;
    return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    (void)old;
    return false;
#endif
#endif
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%ld", &pages), 1);
    fclose(f);
    ck_assert_int_eq(getrlimit(RLIMIT_AS, old), 0);
    struct rlimit cap = *old;
    cap.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (4u << 20);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &cap), 0);
    return true;
}

START_TEST(out_of_memory)
{
    nmc_value a = int_list(200000, 1), b = int_list(200000, 1);
    struct rlimit old;
    if (!limit_address_space(&old))
        return;
    bool same;
    int st = nmc_isomorphic(a, b, &same); /* a table of 400,000 entries */
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_status(st, NMC_ENOMEM);
}
END_TEST

START_TEST(errors)
{
    bool same;
    ck_assert_status(nmc_isomorphic(nmc_val_long(1), nmc_val_long(1), NULL), NMC_EINVAL);
    nmc_value clo, f[2] = {nmc_val_long(0), nmc_val_long(0)};
    ck_assert_ok(nmc_alloc_tuple(arena, 0, 2, f, &clo));
    nmc_hd_val(clo) = nmc_make_header(2, NMC_TAG_CLOSURE, NMC_COLOR_WHITE);
    ck_assert_status(nmc_isomorphic(clo, clo, &same), NMC_EUNSUPPORTED);
    nmc_value bad;
    ck_assert_ok(nmc_alloc_int32(arena, 1, &bad));
    nmc_field(bad, 0) = 0;
    ck_assert_status(nmc_isomorphic(bad, bad, &same), NMC_EINVAL);
    nmc_field(bad, 0) = (nmc_value)&nmc_bigarray_ops; /* too small for one */
    ck_assert_status(nmc_isomorphic(bad, bad, &same), NMC_EINVAL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("value_isomorphic");
    TCase *tc = tcase_create("isomorphic");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, immediates);
    tcase_add_test(tc, same_shape_other_addresses);
    tcase_add_test(tc, headers_tag_size_and_color);
    tcase_add_test(tc, sharing_must_match);
    tcase_add_test(tc, cycles);
    tcase_add_test(tc, leaves_are_bitwise);
    tcase_add_test(tc, atoms);
    tcase_add_test(tc, custom_blocks);
    tcase_add_test(tc, bigarrays_ignore_ownership);
    tcase_add_test(tc, long_list_no_recursion);
    tcase_add_test(tc, out_of_memory);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}
