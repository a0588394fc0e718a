/* bench/common/skip_status.h - ends a benchmark on a failed library call. */
#ifndef NMC_BENCH_SKIP_STATUS_H
#define NMC_BENCH_SKIP_STATUS_H

#include "gbench.h"

#ifdef __cplusplus
extern "C" {
#endif

/* skip_with_error with "what: <the status' message>". */
void nmc_bench_skip_status(nmc_bench_state *st, const char *what, int status);

#ifdef __cplusplus
}
#endif
#endif
