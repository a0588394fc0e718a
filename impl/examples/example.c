/* See example.h. */
#include "example.h"

#include <stdio.h>
#include <stdlib.h>

int example_long_result(void *ctx, nmc_process_id first)
{
    struct example_result *r = ctx;
    nmc_arena *arena;
    nmc_value v;
    int st = nmc_arena_create(&arena);
    if (st != NMC_OK)
        return st;
    st = nmc_join_nowait(r->join_point, first, arena, &v);
    if (st == NMC_OK)
        r->value = (long)nmc_long_val(v);
    nmc_arena_destroy(arena);
    return st;
}

int example_run(const char *name, int argc, char **argv, nmc_first_process_fn first_process,
                nmc_extract_fn extract, void *ctx)
{
    char tmpl[] = "/tmp/nmc-example-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    if (dir == NULL) {
        perror("mkdtemp");
        return NMC_ESYS;
    }
    struct nmc_startup_options opt = {.socket_directory = dir};
    int st = nmc_run(&opt, first_process, extract, ctx);
    nmc_destroy_resources();
    if (st != NMC_OK)
        fprintf(stderr, "%s: %s\n", name, nmc_strerror(st));
    return st;
}
