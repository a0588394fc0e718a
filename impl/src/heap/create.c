/* Creating and destroying heaps, descriptors, the extents' address ranges. */
#include <stdlib.h>
#include <string.h>

#include "heap_internal.h"

static int range_cmp(const void *a, const void *b)
{
    const struct nmc_addr_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int hp_ranges_build(const nmc_heap *h, struct hp_ranges *out)
{
    out->n = 0;
    out->r = malloc((h->nextents ? h->nextents : 1) * sizeof *out->r);
    if (out->r == NULL)
        return NMC_ENOMEM;
    for (struct nmc_heap_extent *e = hp_extent(h->extents); e != NULL; e = hp_extent(e->next))
        out->r[out->n++] = (struct nmc_addr_range){(uintptr_t)hp_area(e), (uintptr_t)hp_area_end(e)};
    qsort(out->r, out->n, sizeof *out->r, range_cmp);
    return NMC_OK;
}

int nmc_heap_minimum_size(nmc_value v, size_t *bytes)
{
    if (bytes == NULL || v == 0)
        return NMC_EINVAL;
    size_t voff, len = 0;
    if (!nmc_is_long(v) && !nmc_is_atom(v)) {
        struct nmc_copy_options opt = {.flags = NMC_COPY_CUSTOM_INT | NMC_KEEP_ATOM |
                                                NMC_COPY_SIMULATE};
        nmc_memory probe = {.data = NULL, .len = SIZE_MAX / 2};
        int st = nmc_init_value(probe, 0, v, &opt, &voff, &len);
        if (st != NMC_OK)
            return st;
    }
    /* len <= probe.len = SIZE_MAX / 2: the sum cannot wrap. */
    *bytes = sizeof(nmc_heap) + hp_extent_bytes(len / sizeof(nmc_header));
    return NMC_OK;
}

int nmc_heap_create(nmc_mempool *pool, size_t size, nmc_value root, nmc_heap **heap)
{
    if (pool == NULL || heap == NULL || root == 0 || nmc_is_long(root))
        return NMC_EINVAL;
    void *mem;
    int st = nmc_mempool_alloc(pool, sizeof(nmc_heap), &mem);
    if (st != NMC_OK)
        return st;
    nmc_heap *h = mem;
    memset(h, 0, sizeof *h);
    h->pool = (uint64_t)(uintptr_t)pool;
    h->free_percent = 50;
    h->version = NMC_HEAP_VERSION;
    if ((st = nmc_mutex_init(&h->lock, NMC_MUTEX_ERRORCHECK)) == NMC_OK &&
        (st = hp_extend(h, size / sizeof(nmc_header))) == NMC_OK) {
        h->magic = NMC_HEAP_MAGIC;
        nmc_mutator *mut;
        if ((st = nmc_heap_modify_begin(h, &mut)) == NMC_OK) {
            st = nmc_heap_add(mut, root, &h->root);
            nmc_heap_modify_end(mut);
        }
    }
    if (st != NMC_OK) {
        h->magic = NMC_HEAP_MAGIC; /* destroy checks it */
        nmc_heap_destroy(h);
        return st;
    }
    *heap = h;
    return NMC_OK;
}

nmc_value nmc_heap_root(const nmc_heap *heap)
{
    return heap != NULL ? heap->root : 0;
}

uint64_t nmc_heap_descr(const nmc_heap *heap)
{
    return (uint64_t)(uintptr_t)heap;
}

int nmc_heap_of_descr(nmc_mempool *pool, uint64_t d, nmc_heap **heap)
{
    if (pool == NULL || heap == NULL)
        return NMC_EINVAL;
    /* d must be the start of a block of this pool holding a heap record. */
    size_t size;
    if (nmc_mempool_size_mem(pool, (void *)(uintptr_t)d, &size) != NMC_OK ||
        size < sizeof(nmc_heap))
        return NMC_EINVAL;
    nmc_heap *h = (nmc_heap *)(uintptr_t)d;
    if (h->magic != NMC_HEAP_MAGIC || h->version != NMC_HEAP_VERSION ||
        h->pool != (uint64_t)(uintptr_t)pool)
        return NMC_EINVAL;
    *heap = h;
    return NMC_OK;
}

int nmc_heap_destroy(nmc_heap *heap)
{
    if (heap == NULL || heap->magic != NMC_HEAP_MAGIC)
        return NMC_EINVAL;
    nmc_mempool *pool = hp_pool(heap);
    for (struct nmc_heap_extent *e = hp_extent(heap->extents), *next; e != NULL; e = next) {
        next = hp_extent(e->next);
        nmc_mempool_free(pool, e);
    }
    if (heap->pins != 0)
        nmc_mempool_free(pool, (void *)(uintptr_t)heap->pins);
    heap->magic = 0;
    return nmc_mempool_free(pool, heap);
}

int nmc_heap_set_free_percent(nmc_heap *heap, unsigned percent)
{
    if (percent < 1 || percent > 90)
        return NMC_EINVAL;
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    heap->free_percent = percent;
    hp_unlock(heap);
    return NMC_OK;
}

int nmc_heap_gc(nmc_heap *heap)
{
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    st = hp_collect(heap);
    hp_unlock(heap);
    return st;
}

int nmc_heap_gc_in(nmc_mutator *mut)
{
    return mut != NULL ? hp_collect(mut->heap) : NMC_EINVAL;
}
