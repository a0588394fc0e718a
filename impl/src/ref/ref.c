/* Shared references: a root record {kind; (); value}. */
#include "nmc/ref.h"

#include "ds.h"

#define HEAP(s) ((nmc_heap *)(s))

/* The value's root field. */
static const struct ds_path value_path = {1, {0}};

int nmc_sref_create(nmc_mempool *pool, nmc_value v, nmc_sref **out)
{
    if (out == NULL)
        return NMC_EINVAL;
    return ds_create(pool, DS_REF, NMC_VAL_UNIT, 1, &v, (nmc_heap **)out);
}

int nmc_sref_assign(nmc_sref *s, nmc_value v)
{
    return ds_set_path(HEAP(s), &value_path, v);
}

int nmc_sref_deref_ro(const nmc_sref *s, nmc_value *out)
{
    if (s == NULL || out == NULL)
        return NMC_EINVAL;
    *out = ds_fields(HEAP(s))[0];
    return NMC_OK;
}

int nmc_sref_deref_p(nmc_sref *s, int (*fn)(nmc_value v, void *ctx), void *ctx)
{
    return ds_read_p(HEAP(s), ds_find_path, &value_path, fn, ctx);
}

int nmc_sref_deref_c(nmc_sref *s, nmc_arena *arena, nmc_value *out)
{
    return ds_read_c(HEAP(s), ds_find_path, &value_path, arena, out);
}

nmc_heap *nmc_sref_heap(nmc_sref *s)
{
    return HEAP(s);
}

uint64_t nmc_sref_descr(const nmc_sref *s)
{
    return nmc_heap_descr(HEAP(s));
}

int nmc_sref_of_descr(nmc_mempool *pool, uint64_t d, nmc_sref **out)
{
    return ds_of_descr(pool, d, DS_REF, (nmc_heap **)out);
}

int nmc_sref_destroy(nmc_sref *s)
{
    return nmc_heap_destroy(HEAP(s));
}
