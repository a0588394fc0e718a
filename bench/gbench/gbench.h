/* bench/gbench/gbench.h - a thin C skin over Google Benchmark.
 *
 * Benchmarks are written in C and registered from constructors:
 *
 *     static void bm_copy(nmc_bench_state *st)
 *     {
 *         size_t n;
 *         while ((n = nmc_bench_batch(st)) != 0)      // KeepRunningBatch
 *             for (size_t i = 0; i < n; i++)
 *                 do_one_copy();
 *         nmc_bench_set_bytes_processed(st, nmc_bench_iterations(st) * size);
 *     }
 *     NMC_BENCH_REGISTER(reg_copy)
 *     {
 *         nmc_bench_register("copier/string_1MiB/nmc", bm_copy);
 *     }
 *
 * and nmc_bench_main() (linked in from gbench_main.cc) runs them with all of
 * Google Benchmark's flags (--benchmark_filter, --benchmark_out, ...). The
 * environment variable NMC_BENCH_FIXED_ITERATIONS=N gives every benchmark
 * exactly N iterations (for instruction counting, bench/icount.sh).
 * Every call maps one-to-one to a benchmark::State or benchmark::Benchmark
 * method; nothing is measured differently from a C++ benchmark.
 */
#ifndef NMC_GBENCH_H
#define NMC_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_bench_state nmc_bench_state; /* benchmark::State      */
typedef struct nmc_bench nmc_bench;             /* benchmark::Benchmark  */
typedef void (*nmc_bench_fn)(nmc_bench_state *st);

/* Runs fn at registration time (before main). */
#define NMC_BENCH_REGISTER(fn)                                                 \
    static void fn(void) __attribute__((constructor));                         \
    static void fn(void)

/* ---- registration (benchmark::RegisterBenchmark and its modifiers) ------- */
nmc_bench *nmc_bench_register(const char *name, nmc_bench_fn fn);
/* Like register, with an opaque pointer passed to fn via nmc_bench_user(). */
nmc_bench *nmc_bench_register_with(const char *name, nmc_bench_fn fn, void *user);
void nmc_bench_arg(nmc_bench *b, int64_t a);                 /* ->Arg             */
void nmc_bench_args2(nmc_bench *b, int64_t a, int64_t c);    /* ->Args({a, c})    */
void nmc_bench_range(nmc_bench *b, int64_t lo, int64_t hi);  /* ->Range           */
void nmc_bench_use_manual_time(nmc_bench *b);                /* ->UseManualTime   */
void nmc_bench_use_real_time(nmc_bench *b);                  /* ->UseRealTime     */
void nmc_bench_iterations_fixed(nmc_bench *b, int64_t n);    /* ->Iterations      */
void nmc_bench_min_time(nmc_bench *b, double seconds);       /* ->MinTime         */
void nmc_bench_repetitions(nmc_bench *b, int n);             /* ->Repetitions     */
enum nmc_bench_unit { NMC_BENCH_NS, NMC_BENCH_US, NMC_BENCH_MS, NMC_BENCH_S };
void nmc_bench_unit(nmc_bench *b, enum nmc_bench_unit u);    /* ->Unit            */

/* ---- the measuring loop (benchmark::State) -------------------------------- */
/* Iterations to run now (0 when done); wraps KeepRunningBatch, so the loop
 * overhead is one call per batch, not per iteration. */
size_t nmc_bench_batch(nmc_bench_state *st);
/* One iteration at a time (KeepRunning). */
bool nmc_bench_keep_running(nmc_bench_state *st);
int64_t nmc_bench_iterations(const nmc_bench_state *st);     /* iterations()      */
int64_t nmc_bench_max_iterations(const nmc_bench_state *st); /* max_iterations    */
int64_t nmc_bench_range_arg(const nmc_bench_state *st, int i); /* range(i)        */
void *nmc_bench_user(const nmc_bench_state *st);             /* register_with ptr */
void nmc_bench_pause(nmc_bench_state *st);                   /* PauseTiming       */
void nmc_bench_resume(nmc_bench_state *st);                  /* ResumeTiming      */
void nmc_bench_set_iteration_time(nmc_bench_state *st, double seconds); /* manual */
void nmc_bench_skip_with_error(nmc_bench_state *st, const char *msg);
void nmc_bench_set_items_processed(nmc_bench_state *st, int64_t n);
void nmc_bench_set_bytes_processed(nmc_bench_state *st, int64_t n);
void nmc_bench_set_label(nmc_bench_state *st, const char *label);

/* Counters (benchmark::Counter). flags: */
enum nmc_counter_flags {
    NMC_COUNTER_DEFAULT = 0,
    NMC_COUNTER_RATE = 1,           /* value / elapsed seconds                */
    NMC_COUNTER_AVG_ITERATIONS = 2, /* value / iterations                     */
    NMC_COUNTER_INVERT = 4,         /* 1 / value (with RATE: seconds per x)   */
};
void nmc_bench_counter(nmc_bench_state *st, const char *name, double value, unsigned flags);

/* Keeps the compiler from optimising away a value or memory writes: the
 * same empty asm statements as benchmark::DoNotOptimize / ClobberMemory,
 * inline so that they cost no call. do_not_optimize makes p (and, through
 * the memory clobber, everything reachable) look read by the asm. */
static inline void nmc_bench_do_not_optimize(const void *p)
{
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
static inline void nmc_bench_clobber_memory(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* Runs the registered benchmarks (Initialize + RunSpecifiedBenchmarks). */
int nmc_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
