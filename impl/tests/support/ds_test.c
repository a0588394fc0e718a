/* See ds_test.h. */
#include "ds_test.h"

#include <sys/wait.h>
#include <unistd.h>

#include "nmc_test.h"

nmc_mempool *pool;

void ds_setup(void)
{
    test_values_setup();
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), DS_TEST_POOL, false, &pool));
}

void ds_teardown(void)
{
    ck_assert_ok(nmc_mempool_destroy(pool));
    pool = NULL;
    test_values_teardown();
}

nmc_value int_list(long first, long n)
{
    nmc_value l = nmc_val_long(0);
    for (long i = n - 1; i >= 0; i--)
        l = pair(nmc_val_long(first + i), l);
    return l;
}

bool is_int_list(nmc_value l, long n, long *first)
{
    for (long i = 0; i < n; i++, l = nmc_field(l, 1)) {
        /* (not the colour: a collection in another process marks it) */
        if (nmc_is_long(l) || nmc_wosize_val(l) != 2 || nmc_tag_val(l) != 0 ||
            !nmc_is_long(nmc_field(l, 0)))
            return false;
        if (i == 0)
            *first = nmc_long_val(nmc_field(l, 0));
        else if (nmc_long_val(nmc_field(l, 0)) != *first + i)
            return false;
    }
    return l == nmc_val_long(0);
}

nmc_value closure(void)
{
    return tagged(NMC_TAG_CLOSURE, 2, (nmc_value[]){nmc_val_long(0), nmc_val_long(0)});
}

void arena_reset(void)
{
    test_values_teardown();
    test_values_setup();
}

void run_children(int n, int (*child)(int i, void *ctx), void (*parent)(void *ctx), void *ctx)
{
    pid_t pids[64];
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            _exit(child(i, ctx));
    }
    if (parent != NULL)
        parent(ctx);
    for (int i = 0; i < n; i++) {
        int status;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "child %d failed (status 0x%x)", i, status);
    }
}
