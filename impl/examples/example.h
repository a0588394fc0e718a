/* What the tutorial's example programs share: running the master in the
 * socket directory given on the command line (default: a new directory in
 * /tmp), and fetching the first worker's integer result. */
#ifndef NMC_EXAMPLE_H
#define NMC_EXAMPLE_H

#include "nmc/core.h"

/* The join point whose result example_long_result fetches. */
struct example_result {
    nmc_res_id join_point;
    long value; /* the first worker's result, an immediate */
};

/* nmc_extract_fn for nmc_run: ctx is a struct example_result. */
int example_long_result(void *ctx, nmc_process_id first);

/* Runs nmc_run(first_process, extract, ctx) in the directory argv[1] or a
 * new one, then nmc_destroy_resources; prints "name: <status>" on failure.
 * Returns the status. */
int example_run(const char *name, int argc, char **argv, nmc_first_process_fn first_process,
                nmc_extract_fn extract, void *ctx);

#endif
