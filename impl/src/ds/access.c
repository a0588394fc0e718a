/* The three reading flavours, paths, and growing blocks. */
#include "ds.h"

/* with_value's single context: the find and its args, the callback and
 * its context. */
struct ds_read {
    ds_find_fn find;
    const void *args;
    ds_value_fn fn;
    void *ctx;
};

static int read_find(nmc_heap *h, void *ctx, nmc_value *v)
{
    const struct ds_read *r = ctx;
    return r->find(h, r->args, v);
}

static int read_process(nmc_value v, void *ctx)
{
    const struct ds_read *r = ctx;
    return r->fn(v, r->ctx);
}

int ds_read_p(nmc_heap *h, ds_find_fn find, const void *args, ds_value_fn fn, void *ctx)
{
    if (h == NULL || fn == NULL)
        return NMC_EINVAL;
    struct ds_read r = {find, args, fn, ctx};
    return nmc_heap_with_value(h, read_find, read_process, &r);
}

int ds_copy_fn(nmc_value v, void *ctx)
{
    const struct ds_copy *c = ctx;
    return nmc_heap_copy(v, c->arena, c->out);
}

int ds_read_c(nmc_heap *h, ds_find_fn find, const void *args, nmc_arena *arena,
              nmc_value *out)
{
    if (arena == NULL || out == NULL)
        return NMC_EINVAL;
    struct ds_copy c = {arena, out};
    return ds_read_p(h, find, args, ds_copy_fn, &c);
}

int ds_path_slot(nmc_heap *h, const struct ds_path *path, nmc_value **slot)
{
    if (h == NULL)
        return NMC_EINVAL;
    nmc_value b = nmc_heap_root(h);
    size_t k = 0;
    for (size_t i = path->i[0] + DS_FIRST_FIELD;; i = path->i[k]) {
        if (nmc_is_long(b) || i >= nmc_wosize_val(b))
            return NMC_EINVAL;
        if (++k == path->n) {
            *slot = &nmc_field(b, i);
            return NMC_OK;
        }
        b = nmc_field(b, i);
    }
}

int ds_find_path(nmc_heap *h, const void *args, nmc_value *v)
{
    nmc_value *slot;
    int st = ds_path_slot(h, args, &slot);
    if (st == NMC_OK)
        *v = *slot;
    return st;
}

struct set_path {
    const struct ds_path *path;
    nmc_value v;
};

static int set_path(nmc_mutator *mut, void *ctx)
{
    struct set_path *s = ctx;
    nmc_heap *h = nmc_heap_of_mutator(mut);
    nmc_value *slot, copy;
    int st = ds_path_slot(h, s->path, &slot); /* refuse before copying */
    if (st == NMC_OK)
        st = nmc_heap_add(mut, s->v, &copy);
    if (st == NMC_OK)
        *slot = copy; /* the add's collection moves nothing: slot still holds */
    return st;
}

int ds_set_path(nmc_heap *h, const struct ds_path *path, nmc_value v)
{
    struct set_path s = {path, v};
    if (h == NULL || v == 0)
        return NMC_EINVAL;
    return nmc_heap_modify(h, set_path, &s);
}

int ds_grow_block(nmc_mutator *mut, nmc_value old, size_t n, nmc_value x, nmc_value *out)
{
    size_t have = nmc_is_long(old) ? 0 : nmc_wosize_val(old);
    if (n < have)
        return NMC_EINVAL;
    int st = nmc_heap_add_uniform_array(mut, n, x, out);
    for (size_t i = 0; st == NMC_OK && i < have; i++)
        nmc_field(*out, i) = nmc_field(old, i);
    return st;
}
