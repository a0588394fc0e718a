/* A list of ten million cells in a shared heap survives a collection: the
 * collector's mark stack is explicit, not recursion. The short form (in
 * ./harness test) uses two million cells, which no recursive marker
 * survives either; the long form (NMC_STRESS_SECONDS=N) ten million, and
 * repeats collections for N seconds. */
#include <stdio.h>

#include "nmc/heap.h"
#include "nmc_test.h"
#include "stress.h"
#include "test_values.h"


static nmc_heap *heap;

static void collect(void *unused)
{
    ck_assert_ok(nmc_heap_gc(heap));
}

START_TEST(ten_million_cells_survive)
{
    const long CELLS = stress_seconds() > 0 ? 10 * 1000 * 1000 : 2 * 1000 * 1000;
    nmc_mempool *pool;
    test_values_setup();
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), (size_t)1 << 30, false, &pool));
    nmc_value l = nmc_val_long(0);
    for (long i = 0; i < CELLS; i++)
        l = pair(nmc_val_long(i), l);
    ck_assert_ok(nmc_heap_create(pool, 4096, pair(l, nmc_val_long(0)), &heap));
    test_values_teardown(); /* only the heap's copy is left */
    int rounds = stress_repeat(collect, NULL, 1.0);
    long n = 0;
    for (nmc_value c = nmc_field(nmc_heap_root(heap), 0); !nmc_is_long(c); c = nmc_field(c, 1))
        ck_assert_int_eq(nmc_long_val(nmc_field(c, 0)), CELLS - 1 - n++);
    ck_assert_int_eq(n, CELLS);
    struct nmc_heap_stats st;
    ck_assert_ok(nmc_heap_stats(heap, &st));
    fprintf(stderr, "%ld cells: %d collection(s), %.1f ms each\n", CELLS, rounds,
            st.gc_ns / 1e6 / (double)st.gc_runs);
    ck_assert_ok(nmc_heap_destroy(heap));
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("heap_deep_list");
    TCase *tc = tcase_create("deep");
    tcase_set_timeout(tc, stress_timeout() + 60);
    tcase_add_test(tc, ten_million_cells_survive);
    suite_add_tcase(s, tc);
    return s;
}
