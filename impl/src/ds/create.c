/* Creating a structure's heap and finding it again from a descriptor. */
#include <stdlib.h>

#include "ds.h"

int ds_create(nmc_mempool *pool, enum ds_kind kind, nmc_value header, size_t n,
              const nmc_value *fields, nmc_heap **heap)
{
    if (pool == NULL || heap == NULL || header == 0)
        return NMC_EINVAL;
    nmc_arena *arena;
    int st = nmc_arena_create(&arena);
    if (st != NMC_OK)
        return st;
    nmc_value root;
    size_t bytes;
    nmc_value *f = nmc_arena_alloc_words(arena, DS_FIRST_FIELD + n);
    if (f == NULL) {
        st = NMC_ENOMEM;
    } else {
        f[DS_KIND_FIELD] = ds_kind_value(kind);
        f[DS_HEADER_FIELD] = header;
        for (size_t i = 0; i < n; i++)
            f[DS_FIRST_FIELD + i] = fields[i];
        st = nmc_alloc_tuple(arena, 0, DS_FIRST_FIELD + n, f, &root);
    }
    if (st == NMC_OK)
        st = nmc_heap_minimum_size(root, &bytes);
    if (st == NMC_OK)
        st = nmc_heap_create(pool, bytes, root, heap);
    nmc_arena_destroy(arena);
    return st;
}

int ds_of_descr(nmc_mempool *pool, uint64_t d, enum ds_kind kind, nmc_heap **heap)
{
    nmc_heap *h;
    if (heap == NULL)
        return NMC_EINVAL;
    int st = nmc_heap_of_descr(pool, d, &h);
    if (st != NMC_OK)
        return st;
    nmc_value root = nmc_heap_root(h);
    if (nmc_wosize_val(root) < DS_FIRST_FIELD || nmc_field(root, DS_KIND_FIELD) != ds_kind_value(kind))
        return NMC_EINVAL;
    *heap = h;
    return NMC_OK;
}

int ds_header(const nmc_heap *h, nmc_value *out)
{
    if (h == NULL || out == NULL)
        return NMC_EINVAL;
    *out = nmc_field(nmc_heap_root(h), DS_HEADER_FIELD);
    return NMC_OK;
}
