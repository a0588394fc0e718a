/* bench/gbench/gbench_selftest.c - every call of gbench.h, in tiny benchmarks.
 *
 * Run with --benchmark_format=json, the output shows that each C call
 * reaches Google Benchmark: batch and one-at-a-time loops, arguments and
 * ranges, a user pointer, manual time, pause/resume, bytes/items counters,
 * rate and inverted counters, labels and skip-with-error. The report tests
 * (reports/tests) check those fields. Bodies are trivial on purpose.
 */
#include <stdint.h>
#include <string.h>

#include "gbench.h"

enum { SELFTEST_BYTES = 4096 };

static unsigned char selftest_src[SELFTEST_BYTES]; /* copy source      */
static unsigned char selftest_dst[SELFTEST_BYTES]; /* copy destination */

/* memcpy in a batch loop; bytes/s and a per-iteration ns counter. */
static void bm_batch(nmc_bench_state *st)
{
    size_t n;
    while ((n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n; i++) {
            nmc_bench_do_not_optimize(selftest_src);
            memcpy(selftest_dst, selftest_src, SELFTEST_BYTES);
            nmc_bench_do_not_optimize(selftest_dst);
        }
    int64_t it = nmc_bench_iterations(st);
    nmc_bench_set_bytes_processed(st, it * SELFTEST_BYTES);
    /* RATE|INVERT on an iteration count gives seconds per iteration. */
    nmc_bench_counter(st, "s_per_iter", (double)it, NMC_COUNTER_RATE | NMC_COUNTER_INVERT);
}

/* One iteration at a time, the argument as the item count per iteration. */
static void bm_keep_running(nmc_bench_state *st)
{
    int64_t items = nmc_bench_range_arg(st, 0);
    uint64_t sum = 0;
    while (nmc_bench_keep_running(st)) {
        for (int64_t i = 0; i < items; i++)
            sum += (uint64_t)i;
        nmc_bench_do_not_optimize(&sum);
    }
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st) * items);
    nmc_bench_counter(st, "items_arg", (double)items, NMC_COUNTER_DEFAULT);
}

/* Manual time: each iteration reports 1 ms; the user pointer is a label. */
static void bm_manual(nmc_bench_state *st)
{
    size_t n;
    while ((n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n; i++)
            nmc_bench_set_iteration_time(st, 1e-3);
    nmc_bench_set_label(st, (const char *)nmc_bench_user(st));
    nmc_bench_counter(st, "two_args", (double)(nmc_bench_range_arg(st, 0) +
                                               nmc_bench_range_arg(st, 1)),
                      NMC_COUNTER_AVG_ITERATIONS);
}

/* Pause/resume around untimed setup, with a fixed iteration count. */
static void bm_pause(nmc_bench_state *st)
{
    while (nmc_bench_keep_running(st)) {
        nmc_bench_pause(st);
        memset(selftest_src, (int)nmc_bench_iterations(st), SELFTEST_BYTES);
        nmc_bench_resume(st);
        nmc_bench_clobber_memory();
    }
    nmc_bench_counter(st, "max_iterations", (double)nmc_bench_max_iterations(st),
                      NMC_COUNTER_DEFAULT);
}

/* Fails before its loop, as a benchmark with a failed setup does. */
static void bm_error(nmc_bench_state *st)
{
    nmc_bench_skip_with_error(st, "selftest: setup failed on purpose");
    while (nmc_bench_batch(st) != 0)
        ;
}

static char selftest_label[] = "user-pointer";

NMC_BENCH_REGISTER(reg_selftest)
{
    nmc_bench_unit(nmc_bench_register("selftest/batch_4KiB/nmc", bm_batch), NMC_BENCH_NS);
    nmc_bench_register("selftest/batch_4KiB/memcpy", bm_batch);
    nmc_bench_range(nmc_bench_register("selftest/keep_running/nmc", bm_keep_running), 8, 64);
    nmc_bench *m = nmc_bench_register_with("selftest/manual/nmc", bm_manual, selftest_label);
    nmc_bench_args2(m, 3, 4);
    nmc_bench_use_manual_time(m);
    nmc_bench_iterations_fixed(m, 5);
    nmc_bench *p = nmc_bench_register("selftest/pause/nmc", bm_pause);
    nmc_bench_arg(p, 1);
    nmc_bench_iterations_fixed(p, 100);
    nmc_bench_use_real_time(p);
    nmc_bench_repetitions(p, 2);
    nmc_bench_min_time(nmc_bench_register("selftest/error/nmc", bm_error), 0.01);
}
