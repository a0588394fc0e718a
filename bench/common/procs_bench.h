/* bench/common/procs_bench.h - nmc_procs runs as Google Benchmark iterations.
 *
 * One benchmark iteration = one nmc_procs_run; its wall_s (barrier release to
 * last finish) is the iteration's manual time, so register the benchmark
 * with nmc_bench_use_manual_time. Across iterations the totals accumulate
 * operations, fairness counts and up to NMC_PROCS_BENCH_MAX_SAMPLES
 * latency samples; the report then sets
 *   items_per_second      total operations / total manual time
 *   procs                 workers per run
 *   fairness_stddev_pct   stddev of the summed fairness counts in % of
 *                         their mean: by default the per-worker operations
 *                         (meaningful in until-stop mode, 0 with fixed ops),
 *                         or the per-party counts a worker set with
 *                         nmc_procs_set_fairness; absent when that worker
 *                         set none (n = 0)
 *   p50_ns, p99_ns        latency percentiles, when workers took samples
 * A failed run becomes skip_with_error with the run's message.
 */
#ifndef NMC_BENCH_PROCS_BENCH_H
#define NMC_BENCH_PROCS_BENCH_H

#include <stdbool.h>

#include "gbench.h"
#include "procs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NMC_PROCS_BENCH_MAX_SAMPLES ((size_t)1 << 22)

struct nmc_procs_totals {
    int nprocs;                     /* workers per run (last run)            */
    uint64_t ops;                   /* operations over all runs              */
    uint64_t fairness[NMC_PROCS_MAX]; /* fairness counts over all runs     */
    int n_fairness;                 /* entries in fairness (last run)        */
    uint64_t *samples;              /* kept samples, malloc'ed               */
    size_t n_samples;               /* entries in samples                    */
    size_t cap_samples;             /* allocated entries                     */
};

/* One iteration: runs spec, sets the iteration time and adds to *tot.
 * Returns false (after nmc_bench_skip_with_error) if the run failed. */
bool nmc_procs_bench_iteration(nmc_bench_state *st, const struct nmc_procs_spec *spec,
                               struct nmc_procs_totals *tot);

/* Sets the counters above from *tot and frees its samples. */
void nmc_procs_bench_report(nmc_bench_state *st, struct nmc_procs_totals *tot);

/* The whole measuring loop: iterations until Google Benchmark is satisfied
 * or a run fails, then the report. The usual body of a benchmark. */
void nmc_procs_bench_run(nmc_bench_state *st, const struct nmc_procs_spec *spec);

#ifdef __cplusplus
}
#endif
#endif
