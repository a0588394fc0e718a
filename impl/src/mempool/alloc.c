/* The public allocation calls: argument checks, the lock, the debug fills.
 *
 * The work is in runs.c; this file turns byte sizes into pages and
 * addresses into page indexes. Debug builds (NDEBUG undefined) fill a fresh
 * block with 0xAA after handing it out and a freed block with 0x55 before
 * giving it back, so use-before-init and use-after-free show at once.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mempool_internal.h"
#include "nmc/status.h"
#include "nmc/sys.h"

/* Fills the n pages from page s with byte (debug builds only). */
static void debug_fill(nmc_mempool *p, uint32_t s, uint32_t n, int byte)
{
#ifndef NDEBUG
    memset(mp_data(p, s), byte, (size_t)n * p->page_size);
#else
    (void)p, (void)s, (void)n, (void)byte;
#endif
}

int nmc_mempool_alloc(nmc_mempool *pool, size_t size, void **mem)
{
    if (pool == NULL || mem == NULL || size == 0)
        return NMC_EINVAL;
    if (NMC_FAULT(NMC_FAULT_POOL_ALLOC, ENOMEM))
        return NMC_EOUT_OF_POOL_MEMORY;
    int st = mp_lock(pool);
    if (st != NMC_OK)
        return st;
    uint64_t pages = (size >> mp_page_shift(pool)) + ((size & (pool->page_size - 1)) != 0);
    uint32_t s = 0;
    if (pages > pool->npages)
        st = NMC_EOUT_OF_POOL_MEMORY;
    else
        st = mp_allocLocked(pool, (uint32_t)pages, &s);
    mp_unlock(pool);
    if (st != NMC_OK)
        return st;
    debug_fill(pool, s, (uint32_t)pages, 0xAA);
    *mem = mp_data(pool, s);
    return NMC_OK;
}

int nmc_mempool_free(nmc_mempool *pool, void *mem)
{
    if (pool == NULL || mem == NULL)
        return NMC_EINVAL;
    int st = mp_lock(pool);
    if (st != NMC_OK)
        return st;
    uint32_t b;
    st = mp_find_blockLocked(pool, (uintptr_t)mem, &b);
    if (st == NMC_OK) {
        debug_fill(pool, b, mp_page(pool, b)->len, 0x55);
        mp_freeLocked(pool, b);
    }
    mp_unlock(pool);
    return st;
}

int nmc_mempool_size_mem_at_addr(nmc_mempool *pool, uintptr_t addr, size_t *size)
{
    if (pool == NULL || size == NULL)
        return NMC_EINVAL;
    int st = mp_lock(pool);
    if (st != NMC_OK)
        return st;
    uint32_t b;
    st = mp_find_blockLocked(pool, addr, &b);
    if (st == NMC_OK)
        *size = (size_t)mp_page(pool, b)->len * pool->page_size;
    mp_unlock(pool);
    return st;
}

int nmc_mempool_size_mem(nmc_mempool *pool, const void *mem, size_t *size)
{
    return nmc_mempool_size_mem_at_addr(pool, (uintptr_t)mem, size);
}
