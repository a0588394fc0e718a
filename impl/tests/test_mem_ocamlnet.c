/* The copier against OCamlnet itself: data/mem_ocamlnet/<name>.img are images
 * written by OCamlnet 4.1.9's Netsys_mem.init_value (make_images.ml there
 * builds them); each test builds the same value here, copies it for the same
 * target address and compares every byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmc/mem.h"
#include "nmc_test.h"
#include "test_values.h"

#define TARGET ((uintptr_t)0x10000000000u)

static void assert_same_image(const char *name, nmc_value v)
{
    char path[256];
    snprintf(path, sizeof path, "impl/tests/data/mem_ocamlnet/%s.img", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static unsigned char expected[4096], got[4096] __attribute__((aligned(8)));
    size_t len = fread(expected, 1, sizeof expected, f);
    fclose(f);
    ck_assert_uint_gt(len, 0);

    struct nmc_copy_options opt = {.target_addr = TARGET};
    size_t voff, bytelen;
    memset(got, 0, sizeof got);
    ck_assert_ok(nmc_init_value((nmc_memory){got, sizeof got}, 0, v, &opt, &voff, &bytelen));
    ck_assert_uint_eq(voff, 8);
    ck_assert_uint_eq(bytelen, len);
    for (size_t i = 0; i < len; i += 8)
        ck_assert_msg(memcmp(got + i, expected + i, 8) == 0, "%s: word at byte %zu differs", name,
                      i);
}

static nmc_value cons(nmc_value hd, nmc_value tl) { return pair(hd, tl); }

START_TEST(tuple_of_int_string_float)
{
    assert_same_image("tuple", tuple(0, 3, (nmc_value[]){nmc_val_long(1), str("hello"), dbl(2.5)}));
}
END_TEST

START_TEST(shared_string)
{
    nmc_value s = str("shared");
    nmc_value list = cons(s, cons(str("x"), NMC_VAL_UNIT));
    assert_same_image("sharing", tuple(0, 3, (nmc_value[]){s, s, list}));
}
END_TEST

START_TEST(cyclic_list)
{
    nmc_value c1 = cons(nmc_val_long(1), NMC_VAL_UNIT);
    nmc_value c2 = cons(nmc_val_long(2), c1);
    nmc_field(c1, 1) = c2;
    assert_same_image("cycle", c1);
}
END_TEST

START_TEST(float_array)
{
    assert_same_image("floats", darr(3, (double[]){1.0, -0.0, 2.5e300}));
}
END_TEST

START_TEST(strings_of_every_padding)
{
    nmc_value list = NMC_VAL_UNIT;
    char buf[10];
    memset(buf, 'a', sizeof buf);
    for (int n = 9; n >= 0; n--) {
        nmc_value s;
        ck_assert_ok(nmc_alloc_string(arena, buf, (size_t)n, &s));
        list = cons(s, list);
    }
    assert_same_image("strings", list);
}
END_TEST

START_TEST(variant_tags)
{
    /* [A 3; B ("x", 4); C (A 1, B ("", 0))] with A, B, C tags 0, 1, 2 */
    nmc_value a3 = tuple(0, 1, (nmc_value[]){nmc_val_long(3)});
    nmc_value bx4 = tuple(1, 2, (nmc_value[]){str("x"), nmc_val_long(4)});
    nmc_value a1 = tuple(0, 1, (nmc_value[]){nmc_val_long(1)});
    nmc_value b0 = tuple(1, 2, (nmc_value[]){str(""), nmc_val_long(0)});
    nmc_value c = tuple(2, 2, (nmc_value[]){a1, b0});
    assert_same_image("variants", cons(a3, cons(bx4, cons(c, NMC_VAL_UNIT))));
}
END_TEST

/* tree d key: Some {left; right; key; weight = key / 2} down to depth d. */
static nmc_value tree(int depth, intptr_t key)
{
    if (depth == 0)
        return NMC_VAL_UNIT; /* None */
    nmc_value rec = tuple(0, 4, (nmc_value[]){tree(depth - 1, 2 * key),
                                              tree(depth - 1, 2 * key + 1), nmc_val_long(key),
                                              dbl((double)key / 2.)});
    return tuple(0, 1, &rec);
}

START_TEST(record_tree)
{
    assert_same_image("tree", tree(4, 1));
}
END_TEST

START_TEST(shared_boxed_float)
{
    nmc_value d = dbl(3.25);
    assert_same_image("boxed_float_shared",
                      tuple(0, 3, (nmc_value[]){d, d, tuple(0, 1, &d)}));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mem_ocamlnet");
    TCase *tc = tcase_create("same_bytes_as_ocamlnet");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_add_test(tc, tuple_of_int_string_float);
    tcase_add_test(tc, shared_string);
    tcase_add_test(tc, cyclic_list);
    tcase_add_test(tc, float_array);
    tcase_add_test(tc, strings_of_every_padding);
    tcase_add_test(tc, variant_tags);
    tcase_add_test(tc, record_tree);
    tcase_add_test(tc, shared_boxed_float);
    suite_add_tcase(s, tc);
    return s;
}
