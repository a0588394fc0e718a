/* The readers: find, find_all, mem (each _ro, _p, _c), iter. */
#include "hashtbl_internal.h"

int nmc_hashtbl_find_ro(const nmc_hashtbl *t, nmc_value key, nmc_value *data)
{
    if (t == NULL || data == NULL || key == 0)
        return NMC_EINVAL;
    nmc_value *link;
    int st = ht_find(HEAP(t), key, &link);
    if (st != NMC_OK)
        return st;
    if (*link == HT_EMPTY)
        return NMC_ENOT_FOUND;
    *data = nmc_field(*link, CELL_DATA);
    return NMC_OK;
}

/* ds_find_fn of find (args: the key). */
static int find_data(nmc_heap *h, const void *args, nmc_value *v)
{
    return nmc_hashtbl_find_ro((const nmc_hashtbl *)h, *(const nmc_value *)args, v);
}

int nmc_hashtbl_find_p(nmc_hashtbl *t, nmc_value key, int (*fn)(nmc_value data, void *ctx),
                       void *ctx)
{
    return ds_read_p(HEAP(t), find_data, &key, fn, ctx);
}

int nmc_hashtbl_find_c(nmc_hashtbl *t, nmc_value key, nmc_arena *arena, nmc_value *data)
{
    return ds_read_c(HEAP(t), find_data, &key, arena, data);
}

int nmc_hashtbl_find_all_ro(const nmc_hashtbl *t, nmc_value key, nmc_arena *arena,
                            nmc_value *list)
{
    if (t == NULL || arena == NULL || list == NULL || key == 0)
        return NMC_EINVAL;
    nmc_value *link, *end = list;
    int st = ht_find(HEAP(t), key, &link);
    while (st == NMC_OK && *link != HT_EMPTY) {
        nmc_value c = *link;
        st = nmc_alloc_tuple(arena, 0, 2, (nmc_value[]){nmc_field(c, CELL_DATA), HT_EMPTY}, end);
        if (st == NMC_OK) {
            end = &nmc_field(*end, 1);
            st = ht_lookup(&nmc_field(c, CELL_NEXT), key, &link);
        }
    }
    *end = HT_EMPTY;
    return st;
}

struct find_all {
    nmc_value key;
    nmc_arena *arena;
    int (*fn)(nmc_value list, void *ctx);
    void *ctx;
};

static int find_all_list(nmc_heap *h, void *ctx, nmc_value *list)
{
    const struct find_all *fa = ctx;
    return nmc_hashtbl_find_all_ro((const nmc_hashtbl *)h, fa->key, fa->arena, list);
}

static int find_all_process(nmc_value list, void *ctx)
{
    const struct find_all *fa = ctx;
    return fa->fn(list, fa->ctx);
}

int nmc_hashtbl_find_all_p(nmc_hashtbl *t, nmc_value key, nmc_arena *arena,
                           int (*fn)(nmc_value list, void *ctx), void *ctx)
{
    struct find_all fa = {key, arena, fn, ctx};
    if (fn == NULL)
        return NMC_EINVAL;
    return nmc_heap_with_list(HEAP(t), find_all_list, find_all_process, &fa);
}

int nmc_hashtbl_find_all_c(nmc_hashtbl *t, nmc_value key, nmc_arena *arena, nmc_value *list)
{
    struct ds_copy c = {arena, list};
    if (list == NULL)
        return NMC_EINVAL;
    /* The list's cells are the arena's already; copying it whole copies
     * the elements out of the heap. */
    return nmc_hashtbl_find_all_p(t, key, arena, ds_copy_fn, &c);
}

static int found(nmc_value data, void *ctx)
{
    return NMC_OK;
}

/* NMC_ENOT_FOUND is an answer, not a failure. */
static int mem_answer(int st, bool *out)
{
    *out = st == NMC_OK;
    return st == NMC_ENOT_FOUND ? NMC_OK : st;
}

int nmc_hashtbl_mem(nmc_hashtbl *t, nmc_value key, bool *out)
{
    if (out == NULL)
        return NMC_EINVAL;
    return mem_answer(nmc_hashtbl_find_p(t, key, found, NULL), out);
}

int nmc_hashtbl_mem_ro(const nmc_hashtbl *t, nmc_value key, bool *out)
{
    nmc_value data;
    if (out == NULL)
        return NMC_EINVAL;
    return mem_answer(nmc_hashtbl_find_ro(t, key, &data), out);
}

struct iter {
    int (*fn)(nmc_value key, nmc_value data, void *ctx);
    void *ctx;
};

static int iter(nmc_mutator *mut, void *ctx)
{
    const struct iter *it = ctx;
    nmc_value b = ds_fields(nmc_heap_of_mutator(mut))[HT_BUCKETS];
    int st = NMC_OK;
    for (size_t i = 0, n = nmc_wosize_val(b); st == NMC_OK && i < n; i++)
        for (nmc_value c = nmc_field(b, i); st == NMC_OK && c != HT_EMPTY; c = nmc_field(c, CELL_NEXT))
            st = it->fn(nmc_field(c, CELL_KEY), nmc_field(c, CELL_DATA), it->ctx);
    return st;
}

int nmc_hashtbl_iter(nmc_hashtbl *t, int (*fn)(nmc_value key, nmc_value data, void *ctx),
                     void *ctx)
{
    struct iter it = {fn, ctx};
    if (fn == NULL)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(t), iter, &it);
}
