/* The tutorial's shared-ref example (Netmcore_tut, "Shared ref-type
 * variables"): the master creates a memory pool and starts X; X creates a
 * shared reference c holding 1 and starts Y with the pool, c's descriptor
 * and k; Y finds c again by its descriptor and computes k + 1 + c. Unlike
 * x_starts_y, Y now sees the 1 that X stored: the result is 3.
 *
 * usage: shared_ref [SOCKET_DIRECTORY]   (default: a new directory in /tmp)
 * Prints "Result: 3" from X and exits 0 when the master got 3 back.
 */
#include <stdio.h>

#include "example.h"
#include "nmc/core.h"
#include "nmc/ref.h"

static nmc_res_id pool_id, fork_y, join_y, fork_x, join_x;

/* arg: (pool, c's descriptor, k) */
static int body_y(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    nmc_mempool *pool;
    nmc_sref *c;
    nmc_value c_value;
    int st = nmc_get_mempool(nmc_long_val(nmc_field(arg, 0)), &pool);
    if (st == NMC_OK)
        st = nmc_sref_of_descr(pool, (uint64_t)nmc_long_val(nmc_field(arg, 1)), &c);
    if (st == NMC_OK)
        st = nmc_sref_deref_ro(c, &c_value);
    if (st == NMC_OK)
        *result = nmc_val_long(nmc_long_val(nmc_field(arg, 2)) + 1 + nmc_long_val(c_value));
    return st;
}

/* arg: (pool, k) */
static int body_x(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    nmc_mempool *pool;
    nmc_sref *c;
    nmc_value y_arg;
    nmc_process_id y;
    int st = nmc_get_mempool(nmc_long_val(nmc_field(arg, 0)), &pool);
    if (st == NMC_OK)
        st = nmc_sref_create(pool, nmc_val_long(1), &c);
    if (st == NMC_OK) {
        nmc_value fields[] = {nmc_field(arg, 0), nmc_val_long(nmc_sref_descr(c)), nmc_field(arg, 1)};
        st = nmc_alloc_tuple(arena, 0, 3, fields, &y_arg);
    }
    if (st == NMC_OK)
        st = nmc_start(fork_y, y_arg, NULL, &y); /* inherit all: the pool */
    if (st == NMC_OK)
        st = nmc_join(join_y, y, arena, result);
    if (st != NMC_OK) {
        fprintf(stderr, "Error in process Y: %s\n", nmc_strerror(st));
        return st;
    }
    printf("Result: %ld\n", (long)nmc_long_val(*result));
    return nmc_sref_destroy(c);
}

static int first_process(void *ctx, nmc_process_id *x)
{
    nmc_arena *arena;
    nmc_value arg;
    int st = nmc_create_mempool(1 << 20, false, &pool_id);
    if (st != NMC_OK || (st = nmc_arena_create(&arena)) != NMC_OK)
        return st;
    st = nmc_alloc_tuple(arena, 0, 2, (nmc_value[]){nmc_val_long(pool_id), nmc_val_long(1)}, &arg);
    if (st == NMC_OK)
        st = nmc_start(fork_x, arg, NULL, x);
    nmc_arena_destroy(arena);
    return st;
}

/* After the run: the first worker's result, and the master's use of the
 * pool dropped, which destroys it. */
static int release_pool_and_extract(void *ctx, nmc_process_id x)
{
    int st = example_long_result(ctx, x);
    int st2 = nmc_release(pool_id);
    return st != NMC_OK ? st : st2;
}

int main(int argc, char **argv)
{
    struct example_result result = {0};
    int st = nmc_def_process(body_y, &fork_y, &join_y);
    if (st == NMC_OK)
        st = nmc_def_process(body_x, &fork_x, &join_x);
    result.join_point = join_x;
    if (st == NMC_OK)
        st = example_run("shared_ref", argc, argv, first_process, release_pool_and_extract,
                         &result);
    return st == NMC_OK && result.value == 3 ? 0 : 1;
}
