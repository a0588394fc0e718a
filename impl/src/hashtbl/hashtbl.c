/* Creating a table, descriptors, clear, length. */
#include "hashtbl_internal.h"

static int install_buckets(nmc_mutator *mut, void *ctx)
{
    nmc_value b;
    int st = nmc_heap_add_uniform_array(mut, *(const size_t *)ctx, HT_EMPTY, &b);
    if (st == NMC_OK)
        ht_set_buckets(ds_fields(nmc_heap_of_mutator(mut)), b);
    return st;
}

int nmc_hashtbl_create(nmc_mempool *pool, size_t buckets, nmc_value header, nmc_hashtbl **out)
{
    if (out == NULL || buckets > UINT32_MAX)
        return NMC_EINVAL;
    if (buckets == 0)
        buckets = HT_DEFAULT_BUCKETS;
    nmc_heap *h;
    const nmc_value fields[HT_FIELDS] = {nmc_val_long(0), HT_EMPTY, nmc_val_long(0)};
    int st = ds_create(pool, DS_HASHTBL, header, HT_FIELDS, fields, &h);
    if (st != NMC_OK)
        return st;
    if ((st = nmc_heap_modify(h, install_buckets, &buckets)) != NMC_OK) {
        nmc_heap_destroy(h);
        return st;
    }
    *out = (nmc_hashtbl *)h;
    return NMC_OK;
}

static int clear(nmc_mutator *mut, void *ctx)
{
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut));
    for (size_t i = 0, n = nmc_wosize_val(f[HT_BUCKETS]); i < n; i++)
        nmc_field(f[HT_BUCKETS], i) = HT_EMPTY;
    f[HT_SIZE] = nmc_val_long(0);
    return NMC_OK;
}

int nmc_hashtbl_clear(nmc_hashtbl *t)
{
    return nmc_heap_modify(HEAP(t), clear, NULL);
}

size_t nmc_hashtbl_length(const nmc_hashtbl *t)
{
    return t != NULL ? (size_t)nmc_long_val(ds_fields(HEAP(t))[HT_SIZE]) : 0;
}

int nmc_hashtbl_header(const nmc_hashtbl *t, nmc_value *header)
{
    return ds_header(HEAP(t), header);
}

nmc_heap *nmc_hashtbl_heap(nmc_hashtbl *t)
{
    return HEAP(t);
}

uint64_t nmc_hashtbl_descr(const nmc_hashtbl *t)
{
    return nmc_heap_descr(HEAP(t));
}

int nmc_hashtbl_of_descr(nmc_mempool *pool, uint64_t d, nmc_hashtbl **out)
{
    return ds_of_descr(pool, d, DS_HASHTBL, (nmc_heap **)out);
}

int nmc_hashtbl_destroy(nmc_hashtbl *t)
{
    return nmc_heap_destroy(HEAP(t));
}
