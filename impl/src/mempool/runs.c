/* Runs of pages: best-fit allocation and coalescing free.
 *
 * Algorithm. The usable area is a sequence of runs, each either one
 * allocated block or free space. Each run's first and last page-table
 * entries hold its length and state (boundary tags), so the runs on both
 * sides of any run are found in O(1). Free runs sit in exact-length lists
 * (heads[len], doubly linked by page index); the bitmap (bitmap.c) finds
 * the smallest non-empty list >= n.
 *
 *   alloc(n): len = succ(n); take the head run s of heads[len]; commit its
 *             first n pages if needed; the block is [s, s+n), the rest
 *             [s+n, s+len) goes back as a free run.
 *   free(b):  merge b with a free run ending just before it and one
 *             starting just after it; insert the result.
 *
 * Invariants (verified by check.c):
 *   - runs tile [0, npages); tags agree at both ends; entries inside a run
 *     are zero;
 *   - no two free runs are adjacent;
 *   - a free run is in exactly the list of its length; the bitmap marks
 *     exactly the non-empty lists; the counters match;
 *   - the first `committed` pages of a free run, and all pages of a block,
 *     are committed in the backing store.
 * Bound: O(log64 npages) per alloc and per free (the bitmap), everything
 * else O(1), plus, once per page, committing it.
 *
 * Crash tolerance. Updates write the new run's tags before clearing the
 * tags that become interior, so that walking the first-page entries from
 * page 0 (lock.c's repair) always finds a tiling: either the state before
 * the call or after it, possibly with a block still marked allocated.
 *
 * Committed prefix. Pages of a free run that were handed out before stay
 * committed; a free run remembers how many of its first pages are, and
 * alloc takes blocks from the front, so repeated alloc/free of a region
 * commits it once. Merging keeps the prefix while it is contiguous
 * (conservative: pages past it are committed again, which is harmless).
 */
#include <stdint.h>
#include <string.h>

#include "mempool_internal.h"
#include "nmc/status.h"
#include "nmc/sys.h"

void mp_set_run(nmc_mempool *p, uint32_t s, uint32_t len, uint32_t used)
{
    struct nmc_mempool_page *first = mp_page(p, s);
    struct nmc_mempool_page *last = mp_page(p, s + len - 1);
    first->flags = NMC_MEMPOOL_FIRST | used | (len == 1 ? NMC_MEMPOOL_LAST : 0);
    first->len = len;
    last->flags = NMC_MEMPOOL_LAST | used | (len == 1 ? NMC_MEMPOOL_FIRST : 0);
    last->len = len;
}

/* Zeroes entry i if it lies strictly inside run [s, s+len). */
static void clear_interior(nmc_mempool *p, uint32_t i, uint32_t s, uint32_t len)
{
    if (i > s && i < s + len - 1)
        memset(mp_page(p, i), 0, sizeof(struct nmc_mempool_page));
}

void mp_insert_free(nmc_mempool *p, uint32_t s, uint32_t committed)
{
    struct nmc_mempool_page *e = mp_page(p, s);
    uint32_t *head = &mp_heads(p)[e->len];
    e->committed = committed;
    e->prev = 0;
    e->next = *head;
    if (*head != 0)
        mp_page(p, *head - 1)->prev = s + 1;
    else
        mp_bitmap_set(p, e->len);
    *head = s + 1;
}

void mp_remove_free(nmc_mempool *p, uint32_t s)
{
    struct nmc_mempool_page *e = mp_page(p, s);
    if (e->prev != 0)
        mp_page(p, e->prev - 1)->next = e->next;
    else
        mp_heads(p)[e->len] = e->next;
    if (e->next != 0)
        mp_page(p, e->next - 1)->prev = e->prev;
    else if (e->prev == 0)
        mp_bitmap_clear(p, e->len); /* it was the only run of its length */
    e->next = e->prev = e->committed = 0;
}

int mp_find_blockLocked(nmc_mempool *p, uintptr_t addr, uint32_t *page)
{
    uintptr_t data = (uintptr_t)mp_data(p, 0);
    if (addr < data || ((addr - data) & (p->page_size - 1)) != 0)
        return NMC_ENOT_FOUND;
    uint64_t i = (addr - data) >> mp_page_shift(p);
    if (i >= p->npages)
        return NMC_ENOT_FOUND;
    const struct nmc_mempool_page *e = mp_page(p, (uint32_t)i);
    uint32_t want = NMC_MEMPOOL_FIRST | NMC_MEMPOOL_USED;
    if ((e->flags & want) != want)
        return NMC_ENOT_FOUND;
    *page = (uint32_t)i;
    return NMC_OK;
}

/* Commits pages [s+done, s+n) of free run s by touching them. */
static int commit_front(nmc_mempool *p, uint32_t s, uint32_t done, uint32_t n)
{
    return nmc_sys_touch(mp_data(p, s + done), (size_t)(n - done) * p->page_size);
}

int mp_allocLocked(nmc_mempool *p, uint32_t n, uint32_t *page)
{
    uint32_t len = mp_bitmap_succ(p, n);
    if (len == 0)
        return NMC_EOUT_OF_POOL_MEMORY;
    uint32_t s = mp_heads(p)[len] - 1;
    uint32_t committed = mp_page(p, s)->committed;
    if (committed < n) {
        int st = commit_front(p, s, committed, n);
        if (st != NMC_OK)
            return st;
        committed = n;
    }
    mp_remove_free(p, s);
    if (len > n) {
        mp_set_run(p, s + n, len - n, 0);
        mp_insert_free(p, s + n, committed - n);
    } else {
        p->free_runs--;
    }
    mp_set_run(p, s, n, NMC_MEMPOOL_USED);
    p->free_pages -= n;
    p->used_runs++;
    *page = s;
    return NMC_OK;
}

void mp_freeLocked(nmc_mempool *p, uint32_t b)
{
    uint32_t k = mp_page(p, b)->len;
    uint32_t s = b, len = k, committed = k, runs = 1;
    if (b > 0) {
        const struct nmc_mempool_page *l = mp_page(p, b - 1);
        if (!(l->flags & NMC_MEMPOOL_USED)) {
            s = b - l->len;
            const struct nmc_mempool_page *lf = mp_page(p, s);
            committed = lf->committed == lf->len ? lf->len + k : lf->committed;
            len += lf->len;
            mp_remove_free(p, s);
            runs--;
        }
    }
    if (b + k < p->npages) {
        struct nmc_mempool_page *r = mp_page(p, b + k);
        if (!(r->flags & NMC_MEMPOOL_USED)) {
            if (committed == len)
                committed += r->committed;
            len += r->len;
            mp_remove_free(p, b + k);
            runs--;
        }
    }
    mp_set_run(p, s, len, 0);
    if (b > 0)
        clear_interior(p, b - 1, s, len);
    clear_interior(p, b, s, len);
    clear_interior(p, b + k - 1, s, len);
    clear_interior(p, b + k, s, len);
    mp_insert_free(p, s, committed);
    p->free_pages += k;
    p->free_runs += runs;
    p->used_runs--;
}
