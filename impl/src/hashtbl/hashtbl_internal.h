/* Private interface of the shared hash table (nmc/hashtbl.h).
 *
 * OCaml's Hashtbl in a heap. Root fields (ds.h): the number of bindings
 * and the bucket array. A bucket is EMPTY or a chain of cells
 * {key; data; next}, newest first, so that add shadows, remove reveals the
 * previous binding and find_all lists newest first. A key goes to bucket
 * nmc_hash(key) mod (number of buckets); after an add that leaves more
 * than 3/4 binding per bucket the array becomes 2n + 1 buckets and the
 * cells are relinked in order (never copied).
 *
 * Files: hashtbl.c (create, descriptors, clear, length), find.c (all
 * readers), update.c (add, replace, remove, resize).
 */
#ifndef NMC_HASHTBL_INTERNAL_H
#define NMC_HASHTBL_INTERNAL_H

#include <stdbool.h>

#include "ds.h"
#include "nmc/hashtbl.h"

#define HEAP(t) ((nmc_heap *)(t))

enum { HT_SIZE = 0, HT_BUCKETS = 1, HT_MODC = 2, HT_FIELDS }; /* root fields */
enum { CELL_KEY = 0, CELL_DATA = 1, CELL_NEXT = 2 }; /* cell fields */
#define HT_EMPTY nmc_val_long(0)
#define HT_DEFAULT_BUCKETS 391 /* the original's */

/* nmc_hash(k) for an immediate k, inline: OCaml's caml_hash of one
 * integer (MurmurHash3 mix of the tagged word folded to 32 bits, then the
 * final mix, 30 bits). Must agree with nmc_hash (the tests check it). */
static inline uint32_t ht_hash_long(nmc_value k)
{
    intptr_t d = (intptr_t)k;
    uint32_t x = (uint32_t)((d >> 32) ^ (d >> 63) ^ d);
    x *= 0xcc9e2d51u;
    x = (x << 15) | (x >> 17);
    x *= 0x1b873593u;
    uint32_t h = (x << 13) | (x >> 19);
    h = h * 5 + 0xe6546b64u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h & 0x3FFFFFFFu;
}

static inline uint32_t ht_hash(nmc_value k)
{
    return nmc_is_long(k) ? ht_hash_long(k) : nmc_hash(k);
}

/* h mod d without a division (Lemire, Kaser, Kurz: "Faster remainder by
 * direct computation", 2019): with c = ceil(2^62 / d), exact for every
 * h < 2^30 (nmc_hash's range) and d < 2^32, as 62 >= 30 + 32. c is kept
 * with the bucket array (HT_MODC); for d = 1 it is 0, which gives 0. */
#define HT_MOD_BITS 62
static inline uint64_t ht_mod_constant(uint32_t d)
{
    return d == 1 ? 0 : ((UINT64_C(1) << HT_MOD_BITS) - 1) / d + 1;
}

static inline uint32_t ht_index(uint32_t h, uint64_t c, uint32_t d)
{
    uint64_t low = (c * h) & ((UINT64_C(1) << HT_MOD_BITS) - 1);
    return (uint32_t)(((unsigned __int128)low * d) >> HT_MOD_BITS);
}

/* The bucket slot of hash h (root fields f). */
static inline nmc_value *ht_bucket(const nmc_value *f, uint32_t h)
{
    nmc_value b = f[HT_BUCKETS];
    return &nmc_field(b, ht_index(h, (uint64_t)nmc_long_val(f[HT_MODC]),
                                  (uint32_t)nmc_wosize_val(b)));
}

/* Installs the bucket array b. */
static inline void ht_set_buckets(nmc_value *f, nmc_value b)
{
    f[HT_MODC] = nmc_val_long(ht_mod_constant((uint32_t)nmc_wosize_val(b)));
    f[HT_BUCKETS] = b;
}

/* OCaml's compare k1 k2 = 0 (Hashtbl's key equality): immediates compare
 * as words, anything else structurally. */
static inline int ht_same_key(nmc_value a, nmc_value b, bool *same)
{
    if (a == b || (nmc_is_long(a) && nmc_is_long(b))) {
        *same = a == b;
        return NMC_OK;
    }
    int c;
    int st = nmc_compare(a, b, &c);
    *same = st == NMC_OK && c == 0;
    return st;
}

/* The link (a bucket slot or a cell's next field) at the first cell with
 * key in the chain starting at *link, or at the chain's end (EMPTY). */
static inline int ht_lookup(nmc_value *link, nmc_value key, nmc_value **out)
{
    for (nmc_value c; (c = *link) != HT_EMPTY; link = &nmc_field(c, CELL_NEXT)) {
        bool same;
        int st = ht_same_key(nmc_field(c, CELL_KEY), key, &same);
        if (st != NMC_OK)
            return st;
        if (same)
            break;
    }
    *out = link;
    return NMC_OK;
}

/* ht_lookup from key's bucket in t. */
static inline int ht_find(const nmc_heap *h, nmc_value key, nmc_value **out)
{
    return ht_lookup(ht_bucket(ds_fields(h), ht_hash(key)), key, out);
}

#endif
