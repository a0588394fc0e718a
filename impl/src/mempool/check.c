/* Verifying the shared layout, and rebuilding it after a crash.
 *
 * check verifies, in O(pages), every invariant listed in runs.c and
 * bitmap.c, after checking that the geometry is exactly what create
 * computes for this page count (so no offset read afterwards can point
 * outside the mapping) and that the pool is mapped at its recorded base.
 *
 * rebuild trusts only the first-page entries: walking them from page 0
 * must tile the usable area. It rewrites every other entry, merges
 * adjacent free runs, and recomputes the lists, the bitmap and the
 * counters. It is what lock.c runs when a process died holding the lock
 * and check fails.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mempool_internal.h"
#include "nmc/status.h"
#include "nmc/sys.h"

/* True if the stored geometry is what create computes for npages. */
static bool geometry_ok(nmc_mempool *p)
{
    if (p->page_size != nmc_sys_pagesize() || p->npages == 0 ||
        p->npages > NMC_MEMPOOL_MAX_PAGES || p->base != (uint64_t)(uintptr_t)p)
        return false;
    nmc_mempool g;
    memset(&g, 0, sizeof g);
    mp_layout(&g, p->npages, p->page_size);
    return g.pages_off == p->pages_off && g.heads_off == p->heads_off &&
           g.levels == p->levels && g.data_off == p->data_off &&
           g.map_bytes == p->map_bytes &&
           memcmp(g.level_off, p->level_off, sizeof g.level_off) == 0 &&
           memcmp(g.level_words, p->level_words, sizeof g.level_words) == 0;
}

static bool entry_is_zero(const struct nmc_mempool_page *e)
{
    return e->len == 0 && e->flags == 0 && e->next == 0 && e->prev == 0 &&
           e->committed == 0;
}

/* Verifies the run at page i (tags, interior, links of used runs); sets
 * *len and *used. */
static bool run_ok(nmc_mempool *p, uint32_t i, uint32_t *len, bool *used)
{
    const struct nmc_mempool_page *first = mp_page(p, i);
    uint32_t n = first->len;
    if (n == 0 || n > p->npages - i)
        return false;
    uint32_t u = first->flags & NMC_MEMPOOL_USED;
    uint32_t one = n == 1 ? NMC_MEMPOOL_FIRST | NMC_MEMPOOL_LAST : 0;
    const struct nmc_mempool_page *last = mp_page(p, i + n - 1);
    if (first->flags != (NMC_MEMPOOL_FIRST | u | one) ||
        last->flags != (NMC_MEMPOOL_LAST | u | one) || last->len != n)
        return false;
    if (n > 1 && (last->next | last->prev | last->committed) != 0)
        return false;
    if (u && (first->next | first->prev | first->committed) != 0)
        return false;
    if (!u && first->committed > n)
        return false;
    for (uint32_t j = i + 1; j + 1 < i + n; j++)
        if (!entry_is_zero(mp_page(p, j)))
            return false;
    *len = n;
    *used = u != 0;
    return true;
}

/* Walks the runs: tiling, no adjacent free runs, counters. */
static bool runs_ok(nmc_mempool *p)
{
    uint32_t free_pages = 0, free_runs = 0, used_runs = 0;
    bool prev_free = false;
    for (uint32_t i = 0; i < p->npages;) {
        uint32_t len;
        bool used;
        if (!run_ok(p, i, &len, &used) || (prev_free && !used))
            return false;
        if (used) {
            used_runs++;
        } else {
            free_runs++;
            free_pages += len;
        }
        prev_free = !used;
        i += len;
    }
    return free_pages == p->free_pages && free_runs == p->free_runs &&
           used_runs == p->used_runs;
}

/* Walks every free list: members are free runs of the list's length with
 * consistent back links; together they are exactly the free runs. */
static bool lists_ok(nmc_mempool *p)
{
    const uint32_t *heads = mp_heads(p);
    uint32_t members = 0;
    if (heads[0] != 0)
        return false;
    for (uint32_t len = 1; len <= p->npages; len++) {
        for (uint32_t prev = 0, cur = heads[len]; cur != 0;) {
            if (cur > p->npages || ++members > p->free_runs)
                return false;
            const struct nmc_mempool_page *e = mp_page(p, cur - 1);
            if ((e->flags & (NMC_MEMPOOL_FIRST | NMC_MEMPOOL_USED)) != NMC_MEMPOOL_FIRST ||
                e->len != len || e->prev != prev)
                return false;
            prev = cur;
            cur = e->next;
        }
    }
    return members == p->free_runs;
}

/* True if bit i of level lv is what the level below (or the lists) says. */
static bool bit_expected(nmc_mempool *p, uint32_t lv, uint64_t i)
{
    if (lv == 0)
        return i >= 1 && i <= p->npages && mp_heads(p)[i] != 0;
    return i < p->level_words[lv - 1] && mp_level(p, lv - 1)[i] != 0;
}

static bool bitmap_ok(nmc_mempool *p)
{
    for (uint32_t lv = 0; lv < p->levels; lv++) {
        const uint64_t *w = mp_level(p, lv);
        for (uint64_t i = 0; i < (uint64_t)p->level_words[lv] * 64; i++)
            if (((w[i >> 6] >> (i & 63)) & 1) != bit_expected(p, lv, i))
                return false;
    }
    return true;
}

int mp_checkLocked(nmc_mempool *p)
{
    if (p->broken || !geometry_ok(p) || !runs_ok(p) || !lists_ok(p) || !bitmap_ok(p))
        return NMC_ECORRUPT;
    return NMC_OK;
}

int nmc_mempool_check(nmc_mempool *pool)
{
    int st = mp_lock(pool);
    if (st != NMC_OK)
        return st;
    st = mp_checkLocked(pool);
    mp_unlock(pool);
    return st;
}

/* ---- rebuild ------------------------------------------------------------- */

/* A free run being assembled from adjacent free runs during rebuild. */
struct pending {
    uint32_t start;     /* first page                               */
    uint32_t len;       /* pages so far, 0 if none is pending       */
    uint32_t committed; /* committed prefix                         */
};

static void flush_free(nmc_mempool *p, struct pending *f)
{
    if (f->len == 0)
        return;
    mp_set_run(p, f->start, f->len, 0);
    mp_insert_free(p, f->start, f->committed);
    p->free_runs++;
    p->free_pages += f->len;
    f->len = 0;
}

/* Adds free run [i, i+len) with committed prefix c to the pending run. */
static void extend_free(struct pending *f, uint32_t i, uint32_t len, uint32_t c)
{
    if (f->len == 0) {
        *f = (struct pending){.start = i, .len = len, .committed = c};
        return;
    }
    if (f->committed == f->len)
        f->committed += c;
    f->len += len;
}

int mp_rebuildLocked(nmc_mempool *p)
{
    if (!geometry_ok(p))
        return NMC_ECORRUPT;
    for (uint32_t i = 0; i < p->npages;) { /* the walk must tile first */
        uint32_t len = mp_page(p, i)->len;
        if (!(mp_page(p, i)->flags & NMC_MEMPOOL_FIRST) || len == 0 || len > p->npages - i)
            return NMC_ECORRUPT;
        i += len;
    }
    memset(mp_heads(p), 0, ((size_t)p->npages + 1) * sizeof(uint32_t));
    for (uint32_t lv = 0; lv < p->levels; lv++)
        memset(mp_level(p, lv), 0, (size_t)p->level_words[lv] * sizeof(uint64_t));
    p->free_pages = p->free_runs = p->used_runs = 0;
    struct pending f = {0};
    for (uint32_t i = 0; i < p->npages;) {
        struct nmc_mempool_page e = *mp_page(p, i);
        memset(mp_page(p, i), 0, (size_t)e.len * sizeof e);
        if (e.flags & NMC_MEMPOOL_USED) {
            flush_free(p, &f);
            mp_set_run(p, i, e.len, NMC_MEMPOOL_USED);
            p->used_runs++;
        } else {
            extend_free(&f, i, e.len, e.committed < e.len ? e.committed : e.len);
        }
        i += e.len;
    }
    flush_free(p, &f);
    return mp_checkLocked(p);
}
