/* Free lists, extents and growth.
 *
 * Lists: free_heads[k] holds free blocks of exactly k words (header
 * included) for 2 <= k < NMC_HEAP_SMALL_WORDS; free_heads[0] the larger
 * ones. A request of w words takes the exact list if it has a block, else
 * the first non-empty larger small list, else the best fit among the large
 * blocks; the remainder of a split block is listed again. Blocks are only
 * freed by a collection, which rebuilds every list (gc.c), so the lists
 * need no back links.
 *
 * Copying in. A value of unknown size is copied straight into the first
 * large free block (hp_take_first_large), and the rest of the block goes
 * back (hp_give_back) at the head of its list: one copier pass instead of
 * a simulation and a copy. The large remainder stays first, and a sweep
 * and a new extent put the largest block first, so small values keep
 * being appended to one big block.
 */
#include <errno.h>
#include <string.h>

#include "heap_internal.h"
#include "nmc/sys.h"

static size_t list_of(size_t words)
{
    return words < NMC_HEAP_SMALL_WORDS ? words : 0;
}

void hp_free_block(nmc_heap *h, nmc_header *p, size_t words)
{
    *p = nmc_make_header(words - 1, NMC_TAG_ABSTRACT, NMC_COLOR_BLUE);
    if (words < 2)
        return; /* a fragment: merged by the next sweep */
    size_t k = list_of(words);
    p[1] = (nmc_header)h->free_heads[k];
    h->free_heads[k] = (uint64_t)(uintptr_t)p;
}

/* Takes `words` words from the free block p of `have` words (already
 * unlinked): the tail is returned, the head listed again. */
static nmc_header *split(nmc_heap *h, nmc_header *p, size_t have, size_t words)
{
    if (have > words) {
        /* The tail's header before the head shrinks: the extent tiles at
         * every instant (the dead-writer repair, check.c). */
        p[have - words] = nmc_make_header(words - 1, NMC_TAG_ABSTRACT, NMC_COLOR_WHITE);
        hp_free_block(h, p, have - words);
    }
    h->free_words -= words;
    return p + (have - words);
}

/* Pops the head of list k. */
static nmc_header *pop(nmc_heap *h, size_t k)
{
    nmc_header *p = (nmc_header *)(uintptr_t)h->free_heads[k];
    h->free_heads[k] = p[1];
    return p;
}

nmc_header *hp_take(nmc_heap *h, size_t words)
{
    if (words < NMC_HEAP_SMALL_WORDS) {
        /* Exact, or the smallest larger class. */
        for (size_t k = words; k < NMC_HEAP_SMALL_WORDS; k++)
            if (h->free_heads[k] != 0)
                return split(h, pop(h, k), k, words);
    }
    /* Best fit among the large blocks. */
    uint64_t *link = &h->free_heads[0], *best_link = NULL;
    size_t best = SIZE_MAX;
    for (nmc_header *p; (p = (nmc_header *)(uintptr_t)*link) != NULL; link = (uint64_t *)&p[1]) {
        size_t have = hp_block_words(*p);
        if (have >= words && have < best) {
            best = have;
            best_link = link;
            if (have == words)
                break;
        }
    }
    if (best_link == NULL)
        return NULL;
    nmc_header *p = (nmc_header *)(uintptr_t)*best_link;
    *best_link = p[1];
    return split(h, p, best, words);
}

nmc_header *hp_take_first_large(nmc_heap *h, size_t *words)
{
    if (h->free_heads[0] == 0)
        return NULL;
    nmc_header *p = pop(h, 0);
    *words = hp_block_words(*p);
    h->free_words -= *words;
    return p;
}

void hp_give_back(nmc_heap *h, nmc_header *p, size_t words, size_t used)
{
    if (used < words) {
        hp_free_block(h, p + used, words - used);
        h->free_words += words - used;
    }
}

size_t hp_extent_bytes(size_t words)
{
    size_t bytes;
    if (__builtin_mul_overflow(words, sizeof(nmc_header), &bytes) ||
        __builtin_add_overflow(bytes, sizeof(struct nmc_heap_extent), &bytes))
        return SIZE_MAX;
    return bytes;
}

int hp_extend(nmc_heap *h, size_t words)
{
    size_t bytes = hp_extent_bytes(words);
    if (bytes < NMC_HEAP_EXTENT_MIN)
        bytes = NMC_HEAP_EXTENT_MIN;
    /* The pool gives whole pages; a size that does not round to them is
     * more than any pool holds. */
    if (nmc_sys_round_pages(bytes, &bytes) != NMC_OK)
        return NMC_EOUT_OF_POOL_MEMORY;
    void *mem;
    if (NMC_FAULT(NMC_FAULT_HEAP_EXTEND, ENOMEM))
        return NMC_EOUT_OF_POOL_MEMORY;
    int st = nmc_mempool_alloc(hp_pool(h), bytes, &mem);
    if (st != NMC_OK)
        return st;
    struct nmc_heap_extent *e = mem;
    e->words = (bytes - sizeof *e) / sizeof(nmc_header);
    /* Its area tiles before it is linked (the dead-writer repair, check.c). */
    *hp_area(e) = nmc_make_header(e->words - 1, NMC_TAG_ABSTRACT, NMC_COLOR_BLUE);
    e->next = h->extents;
    h->extents = (uint64_t)(uintptr_t)e;
    h->nextents++;
    h->total_words += e->words;
    h->free_words += e->words;
    hp_free_block(h, hp_area(e), e->words);
    return NMC_OK;
}

/* Words to add so that free_percent of the heap is free again. */
static size_t growth_words(const nmc_heap *h, size_t need)
{
    /* free' = free + x >= p * (total + x)  <=>  x >= (p*total - free) / (1 - p) */
    double p = h->free_percent / 100.0;
    double missing = p * (double)h->total_words - (double)h->free_words;
    size_t x = missing > 0 ? (size_t)(missing / (1 - p)) + 1 : 0;
    return x > need ? x : need;
}

/* A full heap collects, unless its last collection found nearly everything
 * live: then it grows at once, and collects the next time it fills. */
static int make_room(nmc_heap *h)
{
    if ((h->gc_pacing & (HP_GC_USELESS | HP_GC_SKIPPED)) == HP_GC_USELESS) {
        h->gc_pacing |= HP_GC_SKIPPED;
        return NMC_OK;
    }
    return hp_collect(h);
}

int hp_alloc(nmc_mutator *mut, size_t words, nmc_header **out)
{
    nmc_heap *h = mut->heap;
    nmc_header *p = hp_take(h, words);
    if (p == NULL) {
        int st = make_room(h);
        if (st != NMC_OK)
            return st;
        p = hp_take(h, words);
        size_t grow = growth_words(h, p == NULL ? words : 0);
        if (grow > 0 && (st = hp_extend(h, grow)) != NMC_OK && p == NULL) {
            /* The policy's amount may be too much for the pool: the bare need. */
            if ((st = hp_extend(h, words)) != NMC_OK)
                return st;
        }
        if (p == NULL && (p = hp_take(h, words)) == NULL)
            return NMC_EOUT_OF_POOL_MEMORY;
    }
    /* A valid header at once (an unscanned block): the extent tiles at
     * every instant, for the repair after a writer dies here (check.c). */
    *p = nmc_make_header(words - 1, NMC_TAG_ABSTRACT, NMC_COLOR_WHITE);
#ifndef NDEBUG
    memset(p + 1, 0xAA, (words - 1) * sizeof *p);
#endif
    *out = p;
    return NMC_OK;
}
