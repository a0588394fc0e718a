/* Mark and sweep, under the write lock.
 *
 * Mark: the roots are the root value and the pin table. A value is marked
 * when it points into one of this heap's extents (hp_ranges) at a white
 * block: it turns black and, if its tag is below No_scan_tag, goes on an
 * explicit, process-local stack, so depth costs memory, not recursion.
 * Popped blocks have their fields examined the same way; pointers that
 * lead out of the heap are counted (foreign) and left alone.
 *
 * Sweep: each extent is walked block by block; black blocks turn white,
 * runs of white and blue (free) blocks become one free block each, and
 * every free list is rebuilt. An extent other than the first that ends up
 * entirely free goes back to the pool.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap_internal.h"

struct mark_stack {
    nmc_value *v;
    size_t n, cap;
};

static int push(struct mark_stack *s, nmc_value v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        nmc_value *p = realloc(s->v, cap * sizeof *p);
        if (p == NULL)
            return NMC_ENOMEM;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return NMC_OK;
}

/* Marks v if it is a white block of this heap; counts foreign pointers. */
static int visit(const struct hp_ranges *rs, struct mark_stack *s, nmc_value v,
                 uint64_t *foreign)
{
    if (v == 0 || nmc_is_long(v))
        return NMC_OK;
    if (!hp_ranges_has(rs, v - sizeof(nmc_header))) {
        if (!nmc_is_atom(v))
            ++*foreign;
        return NMC_OK;
    }
    nmc_header hd = nmc_hd_val(v);
    if (nmc_hd_color(hd) != NMC_COLOR_WHITE)
        return NMC_OK;
    nmc_hd_val(v) = nmc_hd_with_color(hd, NMC_COLOR_BLACK);
    return nmc_hd_tag(hd) < NMC_NO_SCAN_TAG ? push(s, v) : NMC_OK; /* leaves: done */
}

static int mark(nmc_heap *h, const struct hp_ranges *rs)
{
    struct mark_stack s = {0};
    uint64_t foreign = 0;
    const nmc_value *pins = (const nmc_value *)(uintptr_t)h->pins;
    int st = visit(rs, &s, h->root, &foreign);
    for (uint64_t i = 0; st == NMC_OK && i < h->pin_count; i++)
        st = visit(rs, &s, pins[i], &foreign);
    while (st == NMC_OK && s.n > 0) {
        nmc_value v = s.v[--s.n];
        nmc_header hd = nmc_hd_val(v);
        for (size_t i = 0, n = nmc_hd_wosize(hd); st == NMC_OK && i < n; i++)
            st = visit(rs, &s, nmc_field(v, i), &foreign);
    }
    free(s.v);
    h->foreign = foreign;
    return st;
}

/* Turns [p, p + words) into one free block, poisoned without NDEBUG. */
static void release(nmc_heap *h, nmc_header *p, size_t words)
{
    /* The header first: the extent tiles at every instant (check.c). */
    hp_free_block(h, p, words);
#ifndef NDEBUG
    if (words > 2)
        memset(p + 2, 0x55, (words - 2) * sizeof *p);
#endif
    h->free_words += words;
}

/* Sweeps one extent; true if it is entirely free afterwards. */
static bool sweep_extent(nmc_heap *h, struct nmc_heap_extent *e)
{
    nmc_header *run = NULL;
    for (nmc_header *p = hp_area(e), *end = hp_area_end(e); p < end;) {
        nmc_header hd = *p;
        size_t words = hp_block_words(hd);
        if (nmc_hd_color(hd) == NMC_COLOR_BLACK) {
            *p = nmc_hd_with_color(hd, NMC_COLOR_WHITE);
            if (run != NULL)
                release(h, run, (size_t)(p - run));
            run = NULL;
        } else if (run == NULL) {
            run = p;
        }
        p += words;
    }
    if (run != NULL)
        release(h, run, (size_t)(hp_area_end(e) - run));
    return run == hp_area(e);
}

/* Moves the largest block of the large list to its head (see alloc.c). */
static void largest_first(nmc_heap *h)
{
    uint64_t *link = &h->free_heads[0], *best = NULL;
    size_t best_words = 0;
    for (nmc_header *p; (p = (nmc_header *)(uintptr_t)*link) != NULL; link = (uint64_t *)&p[1])
        if (hp_block_words(*p) > best_words) {
            best_words = hp_block_words(*p);
            best = link;
        }
    if (best != NULL && best != &h->free_heads[0]) {
        nmc_header *p = (nmc_header *)(uintptr_t)*best;
        *best = p[1];
        p[1] = h->free_heads[0];
        h->free_heads[0] = (uint64_t)(uintptr_t)p;
    }
}

static void sweep(nmc_heap *h)
{
    memset(h->free_heads, 0, sizeof h->free_heads);
    h->free_words = 0;
    uint64_t saved[NMC_HEAP_SMALL_WORDS];
    uint64_t *link = &h->extents;
    for (struct nmc_heap_extent *e; (e = hp_extent(*link)) != NULL;) {
        /* An extent's free blocks go on the heads of the lists: restoring
         * the heads forgets them all if the extent is given back. */
        memcpy(saved, h->free_heads, sizeof saved);
        uint64_t saved_free = h->free_words;
        if (sweep_extent(h, e) && e->next != 0) { /* the oldest extent stays */
            memcpy(h->free_heads, saved, sizeof saved);
            h->free_words = saved_free;
            *link = e->next;
            h->nextents--;
            h->total_words -= e->words;
            nmc_mempool_free(hp_pool(h), e);
            continue;
        }
        link = &e->next;
    }
    largest_first(h);
}

int hp_collect(nmc_heap *h)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t live_before = h->total_words - h->free_words;
    struct hp_ranges rs;
    int st = hp_ranges_build(h, &rs);
    if (st != NMC_OK)
        return st;
    st = mark(h, &rs);
    free(rs.r);
    if (st != NMC_OK) { /* out of memory for the stack: undo the marks */
        for (struct nmc_heap_extent *e = hp_extent(h->extents); e; e = hp_extent(e->next))
            for (nmc_header *p = hp_area(e); p < hp_area_end(e); p += hp_block_words(*p))
                if (nmc_hd_color(*p) == NMC_COLOR_BLACK)
                    *p = nmc_hd_with_color(*p, NMC_COLOR_WHITE);
        return st;
    }
    sweep(h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    h->gc_runs++;
    h->gc_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    /* Blocks are freed only here, so what the heap gained since the last
     * collection is what was allocated meanwhile. */
    uint64_t live_after = h->total_words - h->free_words;
    uint64_t allocated = live_before > h->gc_live_words ? live_before - h->gc_live_words : 0;
    h->gc_pacing = (live_before - live_after) * 8 < allocated ? HP_GC_USELESS : 0;
    h->gc_live_words = live_after;
    return NMC_OK;
}
