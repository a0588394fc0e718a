/* bench/common/stats.c - percentiles, fairness and the clock (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

uint64_t nmc_stats_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t nmc_stats_percentile_sorted(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0 || !(p > 0.0 && p <= 100.0))
        return 0;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n); /* 1 .. n */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

uint64_t nmc_stats_percentile(uint64_t *samples, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(samples, n, sizeof *samples, cmp_u64);
    return nmc_stats_percentile_sorted(samples, n, p);
}

double nmc_stats_stddev_pct(const uint64_t *counts, size_t n)
{
    if (n < 2)
        return 0.0;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)counts[i];
    double mean = sum / (double)n;
    if (mean == 0.0)
        return 0.0;
    double var = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)counts[i] - mean;
        var += d * d;
    }
    return 100.0 * sqrt(var / (double)n) / mean;
}
