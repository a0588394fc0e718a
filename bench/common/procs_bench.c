/* bench/common/procs_bench.c - see procs_bench.h. */
#include "procs_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* Appends samples, growing the buffer up to NMC_PROCS_BENCH_MAX_SAMPLES;
 * the surplus is dropped (the percentiles stay those of the kept ones). */
static void add_samples(struct nmc_procs_totals *tot, const uint64_t *s, size_t n)
{
    if (n > NMC_PROCS_BENCH_MAX_SAMPLES - tot->n_samples)
        n = NMC_PROCS_BENCH_MAX_SAMPLES - tot->n_samples;
    if (n == 0)
        return;
    if (tot->n_samples + n > tot->cap_samples) {
        size_t cap = tot->cap_samples ? tot->cap_samples : 4096;
        while (cap < tot->n_samples + n)
            cap *= 2;
        if (cap > NMC_PROCS_BENCH_MAX_SAMPLES)
            cap = NMC_PROCS_BENCH_MAX_SAMPLES;
        uint64_t *p = realloc(tot->samples, cap * sizeof *p);
        if (p == NULL)
            return;
        tot->samples = p;
        tot->cap_samples = cap;
    }
    memcpy(tot->samples + tot->n_samples, s, n * sizeof *s);
    tot->n_samples += n;
}

bool nmc_procs_bench_iteration(nmc_bench_state *st, const struct nmc_procs_spec *spec,
                               struct nmc_procs_totals *tot)
{
    struct nmc_procs_result res;
    int rc = nmc_procs_run(spec, &res);
    if (rc != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s (status %d)", res.error[0] ? res.error : "procs run",
                 rc);
        nmc_procs_result_free(&res);
        nmc_bench_skip_with_error(st, msg);
        return false;
    }
    nmc_bench_set_iteration_time(st, res.wall_s);
    tot->nprocs = res.nprocs;
    tot->ops += res.total;
    tot->n_fairness = res.n_fairness;
    for (int i = 0; i < res.n_fairness; i++)
        tot->fairness[i] += res.fairness[i];
    add_samples(tot, res.samples, res.n_samples);
    nmc_procs_result_free(&res);
    return true;
}

void nmc_procs_bench_report(nmc_bench_state *st, struct nmc_procs_totals *tot)
{
    nmc_bench_set_items_processed(st, (int64_t)tot->ops);
    nmc_bench_counter(st, "procs", tot->nprocs, NMC_COUNTER_DEFAULT);
    if (tot->n_fairness != 0)
        nmc_bench_counter(st, "fairness_stddev_pct",
                          nmc_stats_stddev_pct(tot->fairness, (size_t)tot->n_fairness),
                          NMC_COUNTER_DEFAULT);
    if (tot->n_samples != 0) {
        nmc_bench_counter(st, "p50_ns",
                          (double)nmc_stats_percentile(tot->samples, tot->n_samples, 50),
                          NMC_COUNTER_DEFAULT);
        nmc_bench_counter(st, "p99_ns",
                          (double)nmc_stats_percentile_sorted(tot->samples, tot->n_samples, 99),
                          NMC_COUNTER_DEFAULT);
    }
    free(tot->samples);
    tot->samples = NULL;
    tot->n_samples = tot->cap_samples = 0;
}

void nmc_procs_bench_run(nmc_bench_state *st, const struct nmc_procs_spec *spec)
{
    struct nmc_procs_totals tot;
    memset(&tot, 0, sizeof tot);
    size_t n;
    bool ok = true;
    while (ok && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; ok && i < n; i++)
            ok = nmc_procs_bench_iteration(st, spec, &tot);
    while (!ok && nmc_bench_batch(st) != 0)
        ;
    nmc_procs_bench_report(st, &tot);
}
