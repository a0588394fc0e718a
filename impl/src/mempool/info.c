/* Reporting: stats (O(log64 pages): counters plus the bitmap's largest
 * non-empty class) and debug_info (O(pages): one line per run).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mempool_internal.h"
#include "nmc/status.h"

int nmc_mempool_stats(nmc_mempool *pool, struct nmc_mempool_stats *stats)
{
    if (stats == NULL)
        return NMC_EINVAL;
    int st = mp_lock(pool);
    if (st != NMC_OK)
        return st;
    size_t ps = pool->page_size;
    stats->total = (size_t)pool->npages * ps;
    stats->free = (size_t)pool->free_pages * ps;
    stats->contiguous = (size_t)mp_bitmap_max(pool) * ps;
    stats->used_blocks = pool->used_runs;
    stats->free_runs = pool->free_runs;
    mp_unlock(pool);
    return NMC_OK;
}

/* Writes the summary line and one line per run to f. */
static void describe(nmc_mempool *p, FILE *f)
{
    fprintf(f, "mempool %s at %p: %u pages of %zu bytes (header %zu bytes), "
               "%u free pages in %u runs, %u blocks, largest free run %u pages%s\n",
            p->name, (void *)p, p->npages, (size_t)p->page_size, (size_t)p->data_off,
            p->free_pages, p->free_runs, p->used_runs, mp_bitmap_max(p),
            p->alloc_really ? ", alloc_really" : "");
    for (uint32_t i = 0; i < p->npages;) {
        const struct nmc_mempool_page *e = mp_page(p, i);
        if (e->len == 0 || e->len > p->npages - i) {
            fprintf(f, "  page %u: bad entry (len %u)\n", i, e->len);
            return;
        }
        if (e->flags & NMC_MEMPOOL_USED)
            fprintf(f, "  %p pages %u-%u: block of %u pages\n", (void *)mp_data(p, i), i,
                    i + e->len - 1, e->len);
        else
            fprintf(f, "  %p pages %u-%u: free, %u pages (%u committed)\n",
                    (void *)mp_data(p, i), i, i + e->len - 1, e->len, e->committed);
        i += e->len;
    }
}

int nmc_mempool_debug_info(nmc_mempool *pool, char **text)
{
    if (text == NULL)
        return NMC_EINVAL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NMC_ENOMEM;
    int st = mp_lock(pool);
    if (st == NMC_OK) {
        describe(pool, f);
        mp_unlock(pool);
    }
    if (fclose(f) != 0 && st == NMC_OK)
        st = NMC_ENOMEM;
    if (st != NMC_OK) {
        free(buf);
        return st;
    }
    *text = buf;
    return NMC_OK;
}
