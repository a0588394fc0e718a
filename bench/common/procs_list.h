/* bench/common/procs_list.h - the process counts a scaling sweep runs.
 *
 * bench/run.sh --procs LIST exports LIST as NMC_BENCH_PROCS ("1,2,4,8"):
 * comma- or space-separated process counts, each 1 .. max. The benchmarks
 * that sweep (lock/contended/IMPL/P, camlbox/throughput_str32/IMPL/S)
 * register one variant per count. Unset or empty, the list is the default
 * 1, 2, 4, ... up to 2 x the online CPUs (2 x nproc itself included when it
 * is no power of two), so a 64-core host sweeps to 128.
 */
#ifndef NMC_BENCH_PROCS_LIST_H
#define NMC_BENCH_PROCS_LIST_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMC_PROCS_LIST_MAX 32 /* counts kept; later ones are dropped */

/* Parses text (NULL or "" gives the default list) into out[0..n), ascending
 * and without duplicates, each in 1 .. max; returns n (0 .. NMC_PROCS_LIST_MAX).
 * A malformed or out-of-range entry is reported on stderr and skipped.
 * ncpu <= 0 means the online CPUs. */
int nmc_procs_list_parse(const char *text, int max, int ncpu, int *out);

/* nmc_procs_list_parse(getenv("NMC_BENCH_PROCS"), max, 0, out);
 * *from_env says whether the variable was set (non-empty). */
int nmc_procs_list(int max, int *out, bool *from_env);

#ifdef __cplusplus
}
#endif
#endif
