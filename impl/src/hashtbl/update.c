/* add, replace, remove, and growing the bucket array. */
#include <stdlib.h>

#include "hashtbl_internal.h"

/* Buckets ahead whose first cell resize prefetches. */
enum { PREFETCH = 8 };

struct binding {
    nmc_value key, data;
};

/* The new bucket array of 2n + 1 buckets; every cell goes to the end of
 * its new chain, so chains keep their order (newest first). Without
 * memory for it (heap or chain ends) the table stays as it is: still
 * correct, and the next add tries again. */
static void resize(nmc_mutator *mut, nmc_value *f)
{
    nmc_value old = f[HT_BUCKETS], b;
    size_t n = nmc_wosize_val(old), m = 2 * n + 1;
    if (m > UINT32_MAX)
        return;
    nmc_value **ends = malloc(m * sizeof *ends);
    if (ends == NULL)
        return;
    uint64_t modc = ht_mod_constant((uint32_t)m);
    if (nmc_heap_add_uniform_array(mut, m, HT_EMPTY, &b) == NMC_OK) {
        for (size_t j = 0; j < m; j++)
            ends[j] = &nmc_field(b, j);
        for (size_t i = 0; i < n; i++) {
            if (i + PREFETCH < n) /* the walk jumps around the heap: ask early */
                __builtin_prefetch((const void *)nmc_field(old, i + PREFETCH));
            for (nmc_value c = nmc_field(old, i); c != HT_EMPTY; c = nmc_field(c, CELL_NEXT)) {
                nmc_value **end = &ends[ht_index(ht_hash(nmc_field(c, CELL_KEY)), modc, (uint32_t)m)];
                **end = c;
                *end = &nmc_field(c, CELL_NEXT);
            }
        }
        for (size_t j = 0; j < m; j++)
            *ends[j] = HT_EMPTY;
        ht_set_buckets(f, b);
    }
    free(ends);
}

/* A new cell {key; data; chain} at the head of key's chain (ctx: the
 * binding). */
static int add(nmc_mutator *mut, void *ctx)
{
    const struct binding *bd = ctx;
    /* The cell is built on the stack and copied in one pass with key and
     * data (a process-local block may live anywhere). */
    nmc_value local[4] = {nmc_make_header(3, 0, NMC_COLOR_WHITE), bd->key, bd->data, HT_EMPTY};
    nmc_value cell;
    int st = nmc_heap_add(mut, (nmc_value)&local[1], &cell);
    if (st != NMC_OK)
        return st;
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut));
    nmc_value *bucket = ht_bucket(f, ht_hash(bd->key));
    nmc_field(cell, CELL_NEXT) = *bucket;
    *bucket = cell;
    f[HT_SIZE] += 2; /* + 1 in the tagged representation */
    if (4 * (size_t)nmc_long_val(f[HT_SIZE]) > 3 * nmc_wosize_val(f[HT_BUCKETS])) /* load 3/4 */
        resize(mut, f);
    return NMC_OK;
}

static int replace(nmc_mutator *mut, void *ctx)
{
    struct binding *bd = ctx;
    nmc_value *link, data;
    int st = ht_find(nmc_heap_of_mutator(mut), bd->key, &link);
    if (st != NMC_OK)
        return st;
    if (*link == HT_EMPTY)
        return add(mut, bd);
    if ((st = nmc_heap_add(mut, bd->data, &data)) == NMC_OK)
        nmc_field(*link, CELL_DATA) = data; /* the cell is live: not collected */
    return st;
}

static int remove_binding(nmc_mutator *mut, void *ctx)
{
    nmc_value *link, *f = ds_fields(nmc_heap_of_mutator(mut));
    int st = ht_find(nmc_heap_of_mutator(mut), ((const struct binding *)ctx)->key, &link);
    if (st == NMC_OK && *link != HT_EMPTY) {
        *link = nmc_field(*link, CELL_NEXT);
        f[HT_SIZE] -= 2;
    }
    return st;
}

/* Runs fn on key -> data in a modify. */
static int update(nmc_hashtbl *t, int (*fn)(nmc_mutator *, void *), nmc_value key, nmc_value data)
{
    struct binding bd = {key, data};
    if (key == 0 || data == 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(t), fn, &bd);
}

int nmc_hashtbl_add(nmc_hashtbl *t, nmc_value key, nmc_value data)
{
    return update(t, add, key, data);
}

int nmc_hashtbl_replace(nmc_hashtbl *t, nmc_value key, nmc_value data)
{
    return update(t, replace, key, data);
}

int nmc_hashtbl_remove(nmc_hashtbl *t, nmc_value key)
{
    return update(t, remove_binding, key, NMC_VAL_UNIT);
}
