/* bench/common/stats.h - the few statistics benchmarks report.
 *
 * Percentiles use the nearest-rank method on a sorted copy-free array (the
 * samples are sorted in place): p-th percentile = sample at rank
 * ceil(p/100 * n), 1-based. Fairness is the population standard deviation of
 * per-worker operation counts in percent of their mean (0: perfectly fair),
 * as Concurrency Kit's regressions report it.
 */
#ifndef NMC_BENCH_STATS_H
#define NMC_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CLOCK_MONOTONIC in nanoseconds; comparable across forked processes. */
uint64_t nmc_stats_now_ns(void);

/* Sorts samples[0..n) ascending and returns the nearest-rank p-th percentile
 * (0 < p <= 100). Returns 0 when n == 0 or p is outside (0, 100]. */
uint64_t nmc_stats_percentile(uint64_t *samples, size_t n, double p);

/* Percentile of an already sorted array, without sorting (same rules). */
uint64_t nmc_stats_percentile_sorted(const uint64_t *sorted, size_t n, double p);

/* Standard deviation of counts[0..n) in percent of their mean; 0 when n < 2
 * or the mean is 0. */
double nmc_stats_stddev_pct(const uint64_t *counts, size_t n);

#ifdef __cplusplus
}
#endif
#endif
