/* Verification (nmc_heap_check), statistics and the debug text.
 *
 * The check walks every extent block by block (sizes must tile the area
 * exactly), records block starts in a bitmap, then verifies that every
 * pointer field of a live block, the root and every pin that points into
 * the heap hits the start of a live block; that the free lists hold only
 * free blocks of their class, without cycles; and that the counters agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_internal.h"

struct starts {
    struct hp_ranges rs;
    uint64_t **bits; /* per range (sorted), one bit per word */
};

static bool start_of(const struct starts *s, uintptr_t a, size_t *range, size_t *word)
{
    for (size_t i = 0; i < s->rs.n; i++)
        if (a >= s->rs.r[i].start && a < s->rs.r[i].end) {
            *range = i;
            *word = (a - s->rs.r[i].start) / sizeof(nmc_header);
            return (a - s->rs.r[i].start) % sizeof(nmc_header) == 0;
        }
    return false;
}

/* True if v is harmless: not a pointer into the heap, or one to the start
 * of a live block. */
static bool pointer_ok(const struct starts *s, nmc_value v)
{
    if (v == 0 || nmc_is_long(v) || !hp_ranges_has(&s->rs, v - sizeof(nmc_header)))
        return true;
    size_t r, w;
    if (!start_of(s, v - sizeof(nmc_header), &r, &w) || !(s->bits[r][w / 64] >> (w % 64) & 1))
        return false;
    return nmc_hd_color(nmc_hd_val(v)) != NMC_COLOR_BLUE;
}

/* Walks one extent: tiling, colours, block starts; adds free words. */
static bool walk_extent(struct nmc_heap_extent *e, uint64_t *bits, uint64_t *free_words)
{
    nmc_header *area = hp_area(e), *end = hp_area_end(e);
    for (nmc_header *p = area; p < end;) {
        nmc_header hd = *p;
        size_t words = hp_block_words(hd);
        if (words > (size_t)(end - p) || nmc_hd_color(hd) == NMC_COLOR_BLACK)
            return false;
        size_t w = (size_t)(p - area); /* bits mark headers */
        bits[w / 64] |= (uint64_t)1 << (w % 64);
        if (nmc_hd_color(hd) == NMC_COLOR_BLUE)
            *free_words += words;
        p += words;
    }
    return true;
}

static bool fields_ok(const struct starts *s, struct nmc_heap_extent *e)
{
    for (nmc_header *p = hp_area(e), *end = hp_area_end(e); p < end; p += hp_block_words(*p)) {
        if (nmc_hd_color(*p) == NMC_COLOR_BLUE || nmc_hd_tag(*p) >= NMC_NO_SCAN_TAG)
            continue;
        for (size_t i = 0; i < nmc_hd_wosize(*p); i++)
            if (!pointer_ok(s, p[1 + i]))
                return false;
    }
    return true;
}

/* The free lists: free blocks of the right class, no cycle, counted. */
static bool lists_ok(const nmc_heap *h, const struct starts *s, uint64_t *listed)
{
    uint64_t limit = h->total_words / 2 + 1; /* more links than blocks: a cycle */
    for (size_t k = 0; k < NMC_HEAP_SMALL_WORDS; k++) {
        uint64_t n = 0;
        for (uint64_t a = h->free_heads[k]; a != 0; a = ((nmc_header *)(uintptr_t)a)[1]) {
            size_t r, w;
            nmc_header *p = (nmc_header *)(uintptr_t)a;
            if (++n > limit || !start_of(s, a, &r, &w) ||
                !(s->bits[r][w / 64] >> (w % 64) & 1) || nmc_hd_color(*p) != NMC_COLOR_BLUE)
                return false;
            size_t words = hp_block_words(*p);
            if ((k == 0 && words < NMC_HEAP_SMALL_WORDS) || (k != 0 && words != k))
                return false;
            *listed += words;
        }
    }
    return true;
}

int hp_check_locked(nmc_heap *h)
{
    if (h->magic != NMC_HEAP_MAGIC || h->version != NMC_HEAP_VERSION)
        return NMC_ECORRUPT;
    struct starts s = {0};
    uint64_t n = 0, words = 0;
    for (struct nmc_heap_extent *e = hp_extent(h->extents); e != NULL && n <= h->nextents;
         e = hp_extent(e->next), n++)
        words += e->words;
    if (n != h->nextents || words != h->total_words)
        return NMC_ECORRUPT;
    int st = hp_ranges_build(h, &s.rs);
    if (st != NMC_OK)
        return st;
    s.bits = calloc(s.rs.n ? s.rs.n : 1, sizeof *s.bits);
    st = s.bits != NULL ? NMC_OK : NMC_ENOMEM;
    uint64_t free_words = 0, listed = 0;
    for (size_t i = 0; st == NMC_OK && i < s.rs.n; i++) {
        size_t nwords = (s.rs.r[i].end - s.rs.r[i].start) / sizeof(nmc_header);
        if ((s.bits[i] = calloc(nwords / 64 + 1, sizeof(uint64_t))) == NULL)
            st = NMC_ENOMEM;
        else if (!walk_extent((struct nmc_heap_extent *)s.rs.r[i].start - 1, s.bits[i], &free_words))
            st = NMC_ECORRUPT;
    }
    for (size_t i = 0; st == NMC_OK && i < s.rs.n; i++)
        if (!fields_ok(&s, (struct nmc_heap_extent *)s.rs.r[i].start - 1))
            st = NMC_ECORRUPT;
    const nmc_value *pins = (const nmc_value *)(uintptr_t)h->pins;
    if (st == NMC_OK && (!pointer_ok(&s, h->root) || h->pin_count > h->pin_cap))
        st = NMC_ECORRUPT;
    for (uint64_t i = 0; st == NMC_OK && i < h->pin_count; i++)
        if (!pointer_ok(&s, pins[i]))
            st = NMC_ECORRUPT;
    if (st == NMC_OK && (!lists_ok(h, &s, &listed) || free_words != h->free_words ||
                         listed > free_words))
        st = NMC_ECORRUPT;
    for (size_t i = 0; s.bits != NULL && i < s.rs.n; i++)
        free(s.bits[i]);
    free(s.bits);
    free(s.rs.r);
    return st;
}

int nmc_heap_check(nmc_heap *heap)
{
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    st = hp_check_locked(heap);
    hp_unlock(heap);
    return st;
}

int nmc_heap_stats(nmc_heap *heap, struct nmc_heap_stats *stats)
{
    if (stats == NULL)
        return NMC_EINVAL;
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    *stats = (struct nmc_heap_stats){
        .gc_runs = heap->gc_runs,
        .gc_ns = heap->gc_ns,
        .live_words = heap->total_words - heap->free_words,
        .free_words = heap->free_words,
        .extents = heap->nextents,
        .pins = heap->pin_count,
        .foreign = heap->foreign,
    };
    hp_unlock(heap);
    return NMC_OK;
}

int nmc_heap_debug_info(nmc_heap *heap, char **text)
{
    if (text == NULL)
        return NMC_EINVAL;
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    size_t len;
    FILE *f = open_memstream(text, &len);
    if (f == NULL) {
        hp_unlock(heap);
        return NMC_ENOMEM;
    }
    fprintf(f, "heap %p: %llu extents, %llu words, %llu free, %llu pins, %llu collections (%.3f ms)\n",
            (void *)heap, (unsigned long long)heap->nextents,
            (unsigned long long)heap->total_words, (unsigned long long)heap->free_words,
            (unsigned long long)heap->pin_count, (unsigned long long)heap->gc_runs,
            heap->gc_ns / 1e6);
    for (struct nmc_heap_extent *e = hp_extent(heap->extents); e != NULL; e = hp_extent(e->next))
        fprintf(f, "  extent %p: %llu words\n", (void *)e, (unsigned long long)e->words);
    for (size_t k = 0; k < NMC_HEAP_SMALL_WORDS; k++) {
        size_t n = 0;
        for (uint64_t a = heap->free_heads[k]; a != 0; a = ((nmc_header *)(uintptr_t)a)[1])
            n++;
        if (n > 0)
            fprintf(f, "  free list %s%zu: %zu blocks\n", k ? "" : ">= ", k ? k : (size_t)NMC_HEAP_SMALL_WORDS, n);
    }
    hp_unlock(heap);
    return fclose(f) == 0 ? NMC_OK : NMC_ENOMEM;
}

/* ---- salvage after a dead writer -------------------------------------------
 *
 * A writer killed inside a modify can leave: an allocated block it was
 * filling and had not linked yet (unreachable, fields half written: fresh
 * words are 0xAA without NDEBUG, stale data otherwise), a free block split
 * but the counters not updated, an extent linked but not counted, black
 * headers of a collection stopped half way, pins of its own values. None of
 * that is reachable from the root, so hp_repair_locked turns the block
 * being copied into (h->taking) back into one free block and rebuilds what the
 * collector rebuilds anyway: extent counts from the list, colours, then a
 * full collection (the sweep recomputes every free list and the free
 * count, and reclaims the unreachable blocks). It refuses (NMC_ECORRUPT)
 * when the extents do not tile or a value reachable from the root or a
 * live pin points anywhere but to the start of a live block: then the
 * damage is in data that users can see. Pins that point to no live block
 * (the dead writer's, taken on blocks the sweep already reclaimed) are
 * cleared.
 */
static bool whiten_extent(struct nmc_heap_extent *e)
{
    nmc_header *area = hp_area(e), *end = hp_area_end(e);
    for (nmc_header *p = area; p < end;) {
        size_t words = hp_block_words(*p);
        if (words == 0 || words > (size_t)(end - p))
            return false;
        if (nmc_hd_color(*p) == NMC_COLOR_BLACK)
            *p = nmc_hd_with_color(*p, NMC_COLOR_WHITE);
        p += words;
    }
    return true;
}

struct vstack {
    nmc_value *v;
    size_t n, cap;
};

/* Visits v: false if it is a bad pointer; a white block of the heap turns
 * black and, when it has fields, goes on the stack. */
static bool visit_ok(const struct starts *s, struct vstack *st, nmc_value v)
{
    if (v == 0 || nmc_is_long(v) || !hp_ranges_has(&s->rs, v - sizeof(nmc_header)))
        return true;
    if (!pointer_ok(s, v))
        return false;
    nmc_header hd = nmc_hd_val(v);
    if (nmc_hd_color(hd) != NMC_COLOR_WHITE)
        return true;
    nmc_hd_val(v) = nmc_hd_with_color(hd, NMC_COLOR_BLACK);
    if (nmc_hd_tag(hd) >= NMC_NO_SCAN_TAG)
        return true;
    if (st->n == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 1024;
        nmc_value *more = realloc(st->v, cap * sizeof *more);
        if (more == NULL)
            return false;
        st->v = more;
        st->cap = cap;
    }
    st->v[st->n++] = v;
    return true;
}

/* Every block reachable from the root and the pins has valid fields (they
 * end up black; the caller whitens them). Pins to no live block are
 * cleared first. */
static bool reachable_ok(nmc_heap *h, const struct starts *s)
{
    nmc_value *pins = (nmc_value *)(uintptr_t)h->pins;
    for (uint64_t i = 0; i < h->pin_count; i++)
        if (!pointer_ok(s, pins[i]))
            pins[i] = 0;
    struct vstack st = {0};
    bool ok = visit_ok(s, &st, h->root);
    for (uint64_t i = 0; ok && i < h->pin_count; i++)
        ok = visit_ok(s, &st, pins[i]);
    while (ok && st.n > 0) {
        nmc_value v = st.v[--st.n];
        for (size_t f = 0, n = nmc_wosize_val(v); ok && f < n; f++)
            ok = visit_ok(s, &st, nmc_field(v, f));
    }
    free(st.v);
    return ok;
}

int hp_repair_locked(nmc_heap *h)
{
    if (h->magic != NMC_HEAP_MAGIC || h->version != NMC_HEAP_VERSION || h->extents == 0 ||
        h->pin_count > h->pin_cap)
        return NMC_ECORRUPT;
    /* Extents: the list is the truth (an extent may be linked but not yet
     * counted); a list longer than the pool has pages is a cycle. */
    uint64_t n = 0, words = 0, limit = 1u << 31;
    for (struct nmc_heap_extent *e = hp_extent(h->extents); e != NULL; e = hp_extent(e->next)) {
        if (++n > limit)
            return NMC_ECORRUPT;
        words += e->words;
        /* A block the dead writer was copying into (add_with in modify.c):
         * nothing in it is reachable yet, and it tiles only as one block. */
        nmc_header *t = (nmc_header *)(uintptr_t)h->taking;
        if (t != NULL && t >= hp_area(e) && t < hp_area_end(e) && h->taking_words > 0 &&
            h->taking_words <= (uint64_t)(hp_area_end(e) - t)) {
            *t = nmc_make_header(h->taking_words - 1, NMC_TAG_ABSTRACT, NMC_COLOR_BLUE);
            h->taking = 0;
        }
    }
    if (h->taking != 0)
        return NMC_ECORRUPT;
    for (struct nmc_heap_extent *e = hp_extent(h->extents); e != NULL; e = hp_extent(e->next))
        if (!whiten_extent(e))
            return NMC_ECORRUPT;
    h->nextents = n;
    h->total_words = words;
    struct starts s = {0};
    int st = hp_ranges_build(h, &s.rs);
    if (st != NMC_OK)
        return st;
    s.bits = calloc(s.rs.n ? s.rs.n : 1, sizeof *s.bits);
    st = s.bits != NULL ? NMC_OK : NMC_ENOMEM;
    uint64_t free_words = 0;
    for (size_t i = 0; st == NMC_OK && i < s.rs.n; i++) {
        size_t nwords = (s.rs.r[i].end - s.rs.r[i].start) / sizeof(nmc_header);
        if ((s.bits[i] = calloc(nwords / 64 + 1, sizeof(uint64_t))) == NULL)
            st = NMC_ENOMEM;
        else if (!walk_extent((struct nmc_heap_extent *)s.rs.r[i].start - 1, s.bits[i],
                              &free_words))
            st = NMC_ECORRUPT;
    }
    if (st == NMC_OK && !reachable_ok(h, &s))
        st = NMC_ECORRUPT;
    for (struct nmc_heap_extent *e = hp_extent(h->extents); e != NULL; e = hp_extent(e->next))
        whiten_extent(e);
    for (size_t i = 0; s.bits != NULL && i < s.rs.n; i++)
        free(s.bits[i]);
    free(s.bits);
    free(s.rs.r);
    /* The collection rebuilds the free lists and counters from the blocks. */
    if (st == NMC_OK)
        st = hp_collect(h);
    return st == NMC_OK ? hp_check_locked(h) : st;
}
