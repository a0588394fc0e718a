/* Shared arrays: root field 0 is the array block. */
#include "nmc/array.h"

#include "ds.h"

#define HEAP(a) ((nmc_heap *)(a))

static bool is_array(nmc_value a)
{
    return a != 0 && !nmc_is_long(a) && nmc_tag_val(a) == 0;
}

int nmc_array_create(nmc_mempool *pool, nmc_value a, nmc_value header, nmc_sarray **out)
{
    if (out == NULL || !is_array(a))
        return NMC_EINVAL;
    return ds_create(pool, DS_ARRAY, header, 1, &a, (nmc_heap **)out);
}

struct fill {
    size_t n;
    nmc_value x;                                       /* make */
    int (*f)(size_t i, void *ctx, nmc_value *v);       /* init */
    void *ctx;
};

/* Root field 0 := the array of make or init. */
static int fill(nmc_mutator *mut, void *ctx)
{
    const struct fill *fl = ctx;
    nmc_value a;
    int st = fl->f != NULL ? nmc_heap_add_init_array(mut, fl->n, fl->f, fl->ctx, &a)
                           : nmc_heap_add_uniform_array(mut, fl->n, fl->x, &a);
    if (st == NMC_OK)
        ds_fields(nmc_heap_of_mutator(mut))[0] = a;
    return st;
}

/* An array of n elements filled by fill(), or the empty one. */
static int create_filled(nmc_mempool *pool, const struct fill *fl, nmc_value header,
                         nmc_sarray **out)
{
    if (out == NULL)
        return NMC_EINVAL;
    nmc_value empty = nmc_atom(0);
    nmc_heap *h;
    int st = ds_create(pool, DS_ARRAY, header, 1, &empty, &h);
    if (st == NMC_OK && fl->n > 0 && (st = nmc_heap_modify(h, fill, (void *)fl)) != NMC_OK)
        nmc_heap_destroy(h);
    if (st == NMC_OK)
        *out = (nmc_sarray *)h;
    return st;
}

int nmc_array_make(nmc_mempool *pool, size_t n, nmc_value x, nmc_value header,
                   nmc_sarray **out)
{
    struct fill fl = {.n = n, .x = x};
    if (x == 0)
        return NMC_EINVAL;
    return create_filled(pool, &fl, header, out);
}

int nmc_array_init(nmc_mempool *pool, size_t n, int (*f)(size_t i, void *ctx, nmc_value *v),
                   void *ctx, nmc_value header, nmc_sarray **out)
{
    struct fill fl = {.n = n, .f = f, .ctx = ctx};
    if (f == NULL)
        return NMC_EINVAL;
    return create_filled(pool, &fl, header, out);
}

static int grow(nmc_mutator *mut, void *ctx)
{
    const struct fill *fl = ctx;
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut)), a;
    if (fl->n <= nmc_wosize_val(f[0]))
        return NMC_OK;
    int st = ds_grow_block(mut, f[0], fl->n, fl->x, &a);
    if (st == NMC_OK)
        f[0] = a;
    return st;
}

int nmc_array_grow(nmc_sarray *a, size_t n, nmc_value x)
{
    struct fill fl = {.n = n, .x = x};
    if (x == 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(a), grow, &fl);
}

/* Paths to element i. */
#define ELEMENT(i) (&(struct ds_path){2, {0, (i)}})

int nmc_array_set(nmc_sarray *a, size_t i, nmc_value v)
{
    return ds_set_path(HEAP(a), ELEMENT(i), v);
}

int nmc_array_get_ro(const nmc_sarray *a, size_t i, nmc_value *out)
{
    if (out == NULL)
        return NMC_EINVAL;
    return ds_find_path(HEAP(a), ELEMENT(i), out);
}

int nmc_array_get_p(nmc_sarray *a, size_t i, int (*fn)(nmc_value v, void *ctx), void *ctx)
{
    return ds_read_p(HEAP(a), ds_find_path, ELEMENT(i), fn, ctx);
}

int nmc_array_get_c(nmc_sarray *a, size_t i, nmc_arena *arena, nmc_value *out)
{
    return ds_read_c(HEAP(a), ds_find_path, ELEMENT(i), arena, out);
}

size_t nmc_array_length(const nmc_sarray *a)
{
    return a != NULL ? nmc_wosize_val(ds_fields(HEAP(a))[0]) : 0;
}

int nmc_array_header(const nmc_sarray *a, nmc_value *header)
{
    return ds_header(HEAP(a), header);
}

int nmc_array_deref(const nmc_sarray *a, nmc_value *array)
{
    if (a == NULL || array == NULL)
        return NMC_EINVAL;
    *array = ds_fields(HEAP(a))[0];
    return NMC_OK;
}

nmc_heap *nmc_array_heap(nmc_sarray *a)
{
    return HEAP(a);
}

uint64_t nmc_array_descr(const nmc_sarray *a)
{
    return nmc_heap_descr(HEAP(a));
}

int nmc_array_of_descr(nmc_mempool *pool, uint64_t d, nmc_sarray **out)
{
    return ds_of_descr(pool, d, DS_ARRAY, (nmc_heap **)out);
}

int nmc_array_destroy(nmc_sarray *a)
{
    return nmc_heap_destroy(HEAP(a));
}
