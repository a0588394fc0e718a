/* Internal interface of the mempool module: addressing inside the shared
 * header, the run and free-list primitives (runs.c), the size-class bitmap
 * (bitmap.c), locking with dead-owner repair (lock.c) and the invariant
 * checker (check.c).
 *
 * Functions named ...Locked expect the pool lock held by the caller.
 */
#ifndef NMC_MEMPOOL_INTERNAL_H
#define NMC_MEMPOOL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "nmc/mempool.h"

/* Entry of page i (0-based) in the page table. */
static inline struct nmc_mempool_page *mp_page(nmc_mempool *p, uint32_t i)
{
    return (struct nmc_mempool_page *)((char *)p + p->pages_off) + i;
}

/* The free-list heads, indexed by run length 1..npages (1 + page, 0 = empty). */
static inline uint32_t *mp_heads(nmc_mempool *p)
{
    return (uint32_t *)((char *)p + p->heads_off);
}

/* Word array of bitmap level lv. */
static inline uint64_t *mp_level(nmc_mempool *p, uint32_t lv)
{
    return (uint64_t *)((char *)p + p->level_off[lv]);
}

/* log2(page_size): page_size is a power of two (create; check verifies it
 * equals the system page size), so byte <-> page conversions on the hot
 * paths are shifts and masks, not divisions. */
static inline unsigned mp_page_shift(const nmc_mempool *p)
{
    return (unsigned)__builtin_ctzll(p->page_size);
}

/* Address of the first byte of page i of the usable area. */
static inline char *mp_data(nmc_mempool *p, uint32_t i)
{
    return (char *)p + p->data_off + (uint64_t)i * p->page_size;
}

/* ---- create.c ------------------------------------------------------------- */
/* Computes page_size, npages, the offsets, the levels and map_bytes of a
 * pool of n usable pages into g (other fields untouched). */
void mp_layout(nmc_mempool *g, uint32_t n, uint64_t page_size);

/* ---- bitmap.c: the set of non-empty free lists ---------------------------- */
void mp_bitmap_set(nmc_mempool *p, uint32_t len);
void mp_bitmap_clear(nmc_mempool *p, uint32_t len);
/* Smallest len >= n whose list is non-empty, or 0 if none. */
uint32_t mp_bitmap_succ(nmc_mempool *p, uint32_t n);
/* Largest len whose list is non-empty, or 0 if none. */
uint32_t mp_bitmap_max(nmc_mempool *p);

/* ---- runs.c: runs, free lists, alloc and free under the lock -------------- */
/* Writes the boundary tags of run [s, s+len) with flags (USED or 0). */
void mp_set_run(nmc_mempool *p, uint32_t s, uint32_t len, uint32_t used);
/* Links free run s (tags already set) into its list. */
void mp_insert_free(nmc_mempool *p, uint32_t s, uint32_t committed);
/* Unlinks free run s from its list. */
void mp_remove_free(nmc_mempool *p, uint32_t s);
/* Page index of the allocated block starting at addr, or NMC_ENOT_FOUND. */
int mp_find_blockLocked(nmc_mempool *p, uintptr_t addr, uint32_t *page);
int mp_allocLocked(nmc_mempool *p, uint32_t n, uint32_t *page);
void mp_freeLocked(nmc_mempool *p, uint32_t page);

/* ---- lock.c --------------------------------------------------------------- */
/* Validates pool (non-NULL, magic, version, not broken) and takes its lock,
 * repairing the bookkeeping if the previous owner died. NMC_OK with the lock
 * held, else a status without it. */
int mp_lock(nmc_mempool *p);
void mp_unlock(nmc_mempool *p);

/* ---- check.c -------------------------------------------------------------- */
/* nmc_mempool_check's verification with the lock held. */
int mp_checkLocked(nmc_mempool *p);
/* Rebuilds tags, lists, bitmap and counters by walking the page table from
 * its first-page entries; NMC_ECORRUPT if the walk fails. */
int mp_rebuildLocked(nmc_mempool *p);

#endif
