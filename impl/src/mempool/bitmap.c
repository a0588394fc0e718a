/* The size-class bitmap: which free lists are non-empty.
 *
 * Every run length 1..npages is its own size class (an exact-fit list), so
 * best fit is "the smallest non-empty class >= n". The classes form a
 * 64-ary tree of bitmaps stored in the pool header:
 *
 *   levels[0] bit len      set iff heads[len] != 0
 *   levels[k+1] bit i      set iff word i of levels[k] != 0
 *   levels[levels-1]       a single word (the root)
 *
 * Invariant: the two lines above hold after every public call.
 * Bound: set, clear, succ and max visit at most one word per level going
 * up and one going down: O(log64 npages), at most 2 * NMC_MEMPOOL_LEVELS
 * word reads (6 levels cover 2^31 pages).
 */
#include <stdint.h>

#include "mempool_internal.h"

void mp_bitmap_set(nmc_mempool *p, uint32_t len)
{
    uint64_t i = len;
    for (uint32_t lv = 0; lv < p->levels; lv++) {
        uint64_t *w = mp_level(p, lv) + (i >> 6);
        uint64_t was = *w;
        *w = was | (1ULL << (i & 63));
        if (was != 0)
            return; /* the levels above already know this word is non-zero */
        i >>= 6;
    }
}

void mp_bitmap_clear(nmc_mempool *p, uint32_t len)
{
    uint64_t i = len;
    for (uint32_t lv = 0; lv < p->levels; lv++) {
        uint64_t *w = mp_level(p, lv) + (i >> 6);
        *w &= ~(1ULL << (i & 63));
        if (*w != 0)
            return;
        i >>= 6;
    }
}

/* From bit i of level lv, follows the lowest set bits down to level 0. */
static uint32_t descend_low(nmc_mempool *p, uint32_t lv, uint64_t i)
{
    while (lv > 0) {
        lv--;
        i = (i << 6) | (uint64_t)__builtin_ctzll(mp_level(p, lv)[i]);
    }
    return (uint32_t)i;
}

uint32_t mp_bitmap_succ(nmc_mempool *p, uint32_t n)
{
    uint64_t i = n; /* first candidate bit at level lv */
    for (uint32_t lv = 0; lv < p->levels; lv++) {
        uint64_t wi = i >> 6;
        if (wi >= p->level_words[lv])
            return 0;
        uint64_t bits = mp_level(p, lv)[wi] & (~0ULL << (i & 63));
        if (bits != 0)
            return descend_low(p, lv, (wi << 6) | (uint64_t)__builtin_ctzll(bits));
        i = wi + 1; /* the next word of this level is the next bit above */
    }
    return 0;
}

uint32_t mp_bitmap_max(nmc_mempool *p)
{
    uint32_t lv = p->levels - 1;
    uint64_t root = mp_level(p, lv)[0];
    if (root == 0)
        return 0;
    uint64_t i = 63 - (uint64_t)__builtin_clzll(root);
    while (lv > 0) {
        lv--;
        i = (i << 6) | (63 - (uint64_t)__builtin_clzll(mp_level(p, lv)[i]));
    }
    return (uint32_t)i;
}
