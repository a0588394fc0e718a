/* The tutorial's first example (Netmcore_tut, "How to start processes"):
 * the master starts X, X starts Y and joins it. Y computes k + 1 + c, and
 * prints 2, not 3: X set c to 1 in its own memory, but Y is a fresh copy
 * of the master, where c is still 0.
 *
 * usage: x_starts_y [SOCKET_DIRECTORY]   (default: a new directory in /tmp)
 * Prints "Result: 2" from X and exits 0 when the master got 2 back.
 */
#include <stdio.h>

#include "example.h"

static long c = 0;
static nmc_res_id fork_y, join_y, fork_x, join_x;

static int body_y(nmc_arena *arena, nmc_value k, nmc_value *result)
{
    *result = nmc_val_long(nmc_long_val(k) + 1 + c);
    return NMC_OK;
}

static int body_x(nmc_arena *arena, nmc_value k, nmc_value *result)
{
    c = 1;
    nmc_process_id y;
    int st = nmc_start(fork_y, k, NULL, &y);
    if (st == NMC_OK)
        st = nmc_join(join_y, y, arena, result);
    if (st != NMC_OK) {
        fprintf(stderr, "Error in process Y: %s\n", nmc_strerror(st));
        return st;
    }
    printf("Result: %ld\n", (long)nmc_long_val(*result));
    return NMC_OK;
}

static int first_process(void *ctx, nmc_process_id *x)
{
    return nmc_start(fork_x, nmc_val_long(1), NULL, x);
}

int main(int argc, char **argv)
{
    struct example_result result = {0};
    int st = nmc_def_process(body_y, &fork_y, &join_y);
    if (st == NMC_OK)
        st = nmc_def_process(body_x, &fork_x, &join_x);
    result.join_point = join_x;
    if (st == NMC_OK)
        st = example_run("x_starts_y", argc, argv, first_process, example_long_result, &result);
    return st == NMC_OK && result.value == 2 ? 0 : 1;
}
