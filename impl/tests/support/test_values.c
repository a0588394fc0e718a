/* Shared value builders of the test suites; see test_values.h. */
#include "test_values.h"

#include <string.h>

#include "nmc_test.h"

nmc_arena *arena;

void test_values_setup(void) { ck_assert_ok(nmc_arena_create(&arena)); }

void test_values_teardown(void)
{
    nmc_arena_destroy(arena);
    arena = NULL;
}

nmc_value tuple(unsigned tag, size_t n, const nmc_value *f)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_tuple(arena, tag, n, f, &v));
    return v;
}

nmc_value pair(nmc_value a, nmc_value b) { return tuple(0, 2, (nmc_value[]){a, b}); }

nmc_value tagged(unsigned tag, size_t n, const nmc_value *f)
{
    nmc_value v = tuple(0, n, f);
    nmc_hd_val(v) = nmc_make_header(n, tag, NMC_COLOR_WHITE);
    return v;
}

nmc_value str(const char *s)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_string(arena, s, strlen(s), &v));
    return v;
}

nmc_value dbl(double d)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_double(arena, d, &v));
    return v;
}

nmc_value darr(size_t n, const double *d)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_double_array(arena, d, n, &v));
    return v;
}
