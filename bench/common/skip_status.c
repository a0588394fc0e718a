/* bench/common/skip_status.c - see skip_status.h. */
#include "skip_status.h"

#include <stdio.h>

#include "nmc/status.h"

void nmc_bench_skip_status(nmc_bench_state *st, const char *what, int status)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s", what, nmc_strerror(status));
    nmc_bench_skip_with_error(st, msg);
}
