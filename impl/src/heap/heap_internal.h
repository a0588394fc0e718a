/* Private interface of the shared heap (nmc/heap.h).
 *
 * Files: create.c (create, destroy, descriptors), alloc.c (free lists,
 * extents, growth), gc.c (mark and sweep), modify.c (the mutator and the
 * add family, pins, reading under a pin), check.c (verification,
 * statistics, debug text).
 *
 * Block area words. Every extent's area is a sequence of blocks, each a
 * header word and its fields, as the copier writes them. A free block has
 * the Abstract tag and colour blue, and its first field links the next free
 * block of its list (address of that block's header, 0 at the end); a free
 * one-word fragment is a blue header of wosize 0 in no list. Live blocks are
 * white; black only during a collection.
 */
#ifndef NMC_HEAP_INTERNAL_H
#define NMC_HEAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"
#include "nmc/mem.h"

struct nmc_mutator {
    nmc_heap *heap;
    uint64_t pin_mark; /* pin_count at modify_begin: this modify's pins are above */
};

/* Words in a block with its header. */
static inline size_t hp_block_words(nmc_header hd)
{
    return nmc_hd_wosize(hd) + 1;
}

static inline struct nmc_heap_extent *hp_extent(uint64_t addr)
{
    return (struct nmc_heap_extent *)(uintptr_t)addr;
}

/* First and one-past-last word of an extent's block area. */
static inline nmc_header *hp_area(struct nmc_heap_extent *e)
{
    return (nmc_header *)(e + 1);
}
static inline nmc_header *hp_area_end(struct nmc_heap_extent *e)
{
    return hp_area(e) + e->words;
}

static inline nmc_mempool *hp_pool(const nmc_heap *h)
{
    return (nmc_mempool *)(uintptr_t)h->pool;
}

/* The [start, end) address ranges of the extents, sorted: the heap's
 * membership test. Process-local; rebuilt when extents change. */
/* nmc_heap.gc_pacing: the last collection freed less than an eighth of
 * what had been allocated since the one before; the heap has grown once
 * without collecting since. */
enum { HP_GC_USELESS = 1, HP_GC_SKIPPED = 2 };

struct hp_ranges {
    struct nmc_addr_range *r;
    size_t n;
};
int hp_ranges_build(const nmc_heap *h, struct hp_ranges *out);

/* Whether address a lies in one of the ranges (inline: the collector asks
 * for every pointer field). */
static inline bool hp_ranges_has(const struct hp_ranges *rs, uintptr_t a)
{
    size_t lo = 0, hi = rs->n;
    if (hi == 0 || a < rs->r[0].start || a >= rs->r[hi - 1].end)
        return false;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a < rs->r[mid].start)
            hi = mid;
        else if (a >= rs->r[mid].end)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* ---- alloc.c ---------------------------------------------------------------- */

/* Makes a free block of `words` words at p and lists it (or a fragment). */
void hp_free_block(nmc_heap *h, nmc_header *p, size_t words);
/* Takes `words` contiguous words from the free lists: NULL if none fit. */
nmc_header *hp_take(nmc_heap *h, size_t words);
/* Unlinks the first block of the large list (NULL if it is empty) and
 * gives its size in *words. */
nmc_header *hp_take_first_large(nmc_heap *h, size_t *words);
/* Lists again the unused end [p + used, p + words) of a block taken with
 * hp_take_first_large (all of it if used = 0). */
void hp_give_back(nmc_heap *h, nmc_header *p, size_t words, size_t used);
/* Adds an extent with room for at least `words` words. */
int hp_extend(nmc_heap *h, size_t words);
/* `words` words for new blocks: from the lists, else after a collection,
 * else from a new extent (growth policy: see nmc/heap.h). The words hold
 * 0xAA without NDEBUG. */
int hp_alloc(nmc_mutator *mut, size_t words, nmc_header **out);
/* Extent record and block area of `words`: bytes to ask the pool for;
 * SIZE_MAX (more than any pool holds) if they do not fit a size_t. */
size_t hp_extent_bytes(size_t words);

/* ---- gc.c ------------------------------------------------------------------- */

int hp_collect(nmc_heap *h);

/* ---- modify.c --------------------------------------------------------------- */

/* Takes / drops the write lock, repairing after a dead writer. */
int hp_lock(nmc_heap *h);
void hp_unlock(nmc_heap *h);
/* Appends v to the pin table; its slot in *slot. */
int hp_pin(nmc_heap *h, nmc_value v, uint64_t *slot);
void hp_unpin(nmc_heap *h, uint64_t slot);

/* ---- check.c ---------------------------------------------------------------- */

int hp_check_locked(nmc_heap *h);
/* After a dead writer, with the lock held: rebuilds extent counts, colours,
 * free lists and counters, reclaims the unreachable (check.c). NMC_OK or
 * NMC_ECORRUPT when values reachable from the root or a pin are damaged. */
int hp_repair_locked(nmc_heap *h);

#endif
