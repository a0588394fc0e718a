/* bench/mempool/mempool_bench.c - the page pool (nmc_mempool) against
 * Boost.Interprocess's managed_shared_memory.
 *
 * Workloads (one process, an empty pool of 16 MiB usable, created once per
 * benchmark run, with alloc_really so no page is committed while timing):
 *   alloc_free_1page     allocate one page (4 KiB) and free it again:
 *                        a split of the big free run and a merge back.
 *   alloc_free_16pages   the same with 16 pages (64 KiB).
 *   fill_16MiB           allocate one-page blocks until the pool refuses,
 *                        then free them all; the counter `blocks` is how
 *                        many fit (the issue requires 4,096; OCamlnet's
 *                        pool stops at 1,088).
 * Implementations (the last name component):
 *   nmc        nmc_mempool_alloc / nmc_mempool_free.
 *   boost_ipc  managed_shared_memory::allocate / deallocate of the same byte
 *              count (its rbtree best fit under an interprocess mutex), in a
 *              segment of 32 MiB so that its own bookkeeping fits.
 * Time per iteration is one alloc plus one free (fill: a whole fill and
 * empty). A failed call skips the benchmark with the status' name.
 */
#include <stdlib.h>

#include "boost_ipc.h"
#include "gbench.h"
#include "skip_status.h"
#include "nmc/mempool.h"
#include "nmc/status.h"
#include "nmc/sys.h"

enum { POOL_BYTES = 16 << 20, BOOST_SEGMENT_BYTES = 32 << 20 };

/* ---- nmc ----------------------------------------------------------------- */

static void bm_nmc_alloc_free(nmc_bench_state *st)
{
    size_t bytes = *(const size_t *)nmc_bench_user(st) * nmc_sys_pagesize();
    nmc_mempool *pool;
    int rc = nmc_mempool_create("nmcbench", POOL_BYTES, true, &pool);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "nmc_mempool_create", rc);
        return;
    }
    size_t n;
    while ((n = nmc_bench_batch(st)) != 0) {
        for (size_t i = 0; i < n; i++) {
            void *mem;
            rc = nmc_mempool_alloc(pool, bytes, &mem);
            if (rc == NMC_OK)
                rc = nmc_mempool_free(pool, mem);
            if (rc != NMC_OK)
                break;
        }
        if (rc != NMC_OK)
            break;
    }
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, "nmc_mempool_alloc/free", rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_mempool_destroy(pool);
}

/* Allocates one-page blocks into blocks[] until the pool refuses; returns
 * how many, or -1 on another error (blocks has room for pool->npages). */
static long fill(nmc_mempool *pool, void **blocks, size_t ps)
{
    long k = 0;
    for (;;) {
        int rc = nmc_mempool_alloc(pool, ps, &blocks[k]);
        if (rc == NMC_EOUT_OF_POOL_MEMORY)
            return k;
        if (rc != NMC_OK || (size_t)k == pool->npages)
            return -1;
        k++;
    }
}

static void bm_nmc_fill(nmc_bench_state *st)
{
    size_t ps = nmc_sys_pagesize();
    nmc_mempool *pool;
    int rc = nmc_mempool_create("nmcbench", POOL_BYTES, true, &pool);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "nmc_mempool_create", rc);
        return;
    }
    void **blocks = malloc(((size_t)pool->npages + 1) * sizeof *blocks);
    long k = 0;
    while (blocks != NULL && nmc_bench_keep_running(st)) {
        k = fill(pool, blocks, ps);
        for (long i = 0; i < k; i++)
            nmc_mempool_free(pool, blocks[i]);
        if (k < 0)
            break;
    }
    if (blocks == NULL || k < 0)
        nmc_bench_skip_with_error(st, "fill failed");
    nmc_bench_counter(st, "blocks", (double)k, NMC_COUNTER_DEFAULT);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st) * k);
    free(blocks);
    nmc_mempool_destroy(pool);
}

/* ---- boost_ipc ----------------------------------------------------------- */

static void bm_boost_alloc_free(nmc_bench_state *st)
{
    size_t bytes = *(const size_t *)nmc_bench_user(st) * nmc_sys_pagesize();
    char name[NMC_SHM_NAME_MAX], err[160];
    nmc_boost_pool *pool;
    int rc = nmc_sys_unique_name("nmcbench", name, sizeof name);
    if (rc != NMC_OK) {
        nmc_bench_skip_status(st, "nmc_sys_unique_name", rc);
        return;
    }
    if (nmc_boost_pool_create(name + 1, BOOST_SEGMENT_BYTES, &pool, err, sizeof err) != 0) {
        nmc_bench_skip_with_error(st, err);
        return;
    }
    bool failed = false;
    size_t n;
    while (!failed && (n = nmc_bench_batch(st)) != 0) {
        for (size_t i = 0; i < n; i++) {
            void *mem = nmc_boost_pool_alloc(pool, bytes);
            if (mem == NULL) {
                failed = true;
                break;
            }
            nmc_boost_pool_free(pool, mem);
        }
    }
    if (failed)
        nmc_bench_skip_with_error(st, "managed_shared_memory::allocate failed");
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_boost_pool_destroy(pool);
}

/* Block sizes in pages, passed as the user pointer (an Arg would change
 * the benchmark names). */
static const size_t one_page = 1, sixteen_pages = 16;

NMC_BENCH_REGISTER(register_mempool)
{
    nmc_bench_register_with("mempool/alloc_free_1page/nmc", bm_nmc_alloc_free,
                            (void *)&one_page);
    nmc_bench_register_with("mempool/alloc_free_1page/boost_ipc", bm_boost_alloc_free,
                            (void *)&one_page);
    nmc_bench_register_with("mempool/alloc_free_16pages/nmc", bm_nmc_alloc_free,
                            (void *)&sixteen_pages);
    nmc_bench_register_with("mempool/alloc_free_16pages/boost_ipc", bm_boost_alloc_free,
                            (void *)&sixteen_pages);
    nmc_bench_register("mempool/fill_16MiB/nmc", bm_nmc_fill);
}
