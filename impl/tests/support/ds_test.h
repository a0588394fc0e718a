/* Fixtures shared by the suites of the shared data structures (ref, array,
 * matrix, buffer, queue, hashtbl): a pool per test, value builders, and
 * helpers for tests that fork. */
#ifndef NMC_DS_TEST_H
#define NMC_DS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nmc/heap.h"
#include "test_values.h"

/* The current test's pool (DS_TEST_POOL bytes, committed on use). */
extern nmc_mempool *pool;
#define DS_TEST_POOL ((size_t)512 << 20)

/* Checked fixture: a fresh arena (test_values.h) and pool. */
void ds_setup(void);
void ds_teardown(void);

/* [first; first + 1; ...; first + n - 1] in the arena. */
nmc_value int_list(long first, long n);
/* True if l is such a list of n elements; its first element in *first. */
bool is_int_list(nmc_value l, long n, long *first);
/* A value no heap accepts (a closure): for NMC_EUNSUPPORTED. */
nmc_value closure(void);
/* Empties the arena (tests that build values in a loop). */
void arena_reset(void);

/* Forks n children running child(i, ctx) (its status is the exit code:
 * 0 = passed) and asserts each exited with 0. parent(ctx) runs in the
 * parent meanwhile (may be NULL). */
void run_children(int n, int (*child)(int i, void *ctx), void (*parent)(void *ctx), void *ctx);

#endif
