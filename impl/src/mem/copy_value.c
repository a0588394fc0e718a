/* copy_value.c - nmc_copy_value: a deep copy of a value into an arena.
 *
 * As OCamlnet's netsys_copy_value: a simulated copy measures the image, one
 * arena allocation of that size receives the real copy (relocated for where
 * it lies), so the copy is one contiguous region with the layout of an
 * image. Immediates and zero-size blocks are returned as they are, atoms
 * inside the value are kept (NMC_COPY_ATOM copies them instead), custom ops
 * are this process's records, and copied bigarrays own their data (managed)
 * which lies inline in the region.
 */
#include "copier_internal.h"
#include "nmc/status.h"

#define COPY_VALUE_FLAGS (NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_COPY_ATOM | NMC_KEEP_ATOM)

static int copy_into_arena(nmc_copier *c, nmc_arena *arena, struct nmc_copy_options *opt,
                           nmc_value v, nmc_value *out)
{
    nmc_memory m = {NULL, 0};
    size_t voffset, bytelen;
    int st = copier_run(c, m, 0, v, opt, 1, &voffset, &bytelen);
    if (st != NMC_OK)
        return st;
    m.data = nmc_arena_alloc_words(arena, bytelen / NMC_WORD_SIZE);
    if (m.data == NULL)
        return NMC_ENOMEM;
    m.len = bytelen;
    opt->flags &= ~(unsigned)NMC_COPY_SIMULATE;
    st = copier_run(c, m, 0, v, opt, 1, &voffset, &bytelen);
    if (st == NMC_OK)
        *out = (nmc_value)(m.data + voffset);
    return st;
}

int nmc_copy_value(nmc_arena *arena, unsigned flags, nmc_value v, nmc_value *out)
{
    if (arena == NULL || out == NULL || (flags & ~(unsigned)COPY_VALUE_FLAGS) != 0 || v == 0)
        return NMC_EINVAL;
    if (nmc_is_long(v) || nmc_wosize_val(v) == 0) {
        *out = v;
        return NMC_OK;
    }
    struct nmc_copy_options opt = {.flags = flags | NMC_COPY_SIMULATE};
    if (!(flags & NMC_COPY_ATOM))
        opt.flags |= NMC_KEEP_ATOM;
    if (copier_leaf_root(v))
        return copy_into_arena(NULL, arena, &opt, v, out);
    nmc_copier *c;
    int st = copier_cache_take(&c);
    if (st != NMC_OK)
        return st;
    st = copy_into_arena(c, arena, &opt, v, out);
    copier_cache_put(c);
    return st;
}
