/* The pair table and the item stack of graph_walk.h.
 *
 * Table: linear probing from hash(key) & mask; grown (doubled, rehashed)
 * before an insert would push the load above 3/4, so every probe meets an
 * empty slot. First allocation: WALK_TABLE_MIN_SLOTS. Entries are never
 * removed. Stack: doubling array starting at WALK_STACK_MIN_ITEMS.
 */
#include <stdlib.h>
#include <string.h>

#include "graph_walk.h"
#include "nmc/status.h"

enum { WALK_TABLE_MIN_SLOTS = 256, WALK_STACK_MIN_ITEMS = 64 };

/* Addresses are word-aligned and clustered: multiply by odd constants and
 * fold the high bits down so the low bits (the index) depend on all of them. */
static size_t walk_hash(const struct walk_table *t, uintptr_t k1, uintptr_t k2)
{
    uint64_t h = (uint64_t)k1 * 0x9E3779B97F4A7C15u;
    if (t->pair_key)
        h ^= (uint64_t)k2 * 0xC2B2AE3D27D4EB4Fu;
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93u;
    h ^= h >> 29;
    return (size_t)h;
}

static bool walk_match(const struct walk_table *t, const struct walk_pair *e, uintptr_t k1,
                       uintptr_t k2)
{
    return e->k1 == k1 && (!t->pair_key || e->k2 == k2);
}

void walk_table_init(struct walk_table *t, bool pair_key)
{
    t->slots = NULL;
    t->mask = 0;
    t->count = 0;
    t->pair_key = pair_key;
}

void walk_table_free(struct walk_table *t)
{
    free(t->slots);
    walk_table_init(t, t->pair_key);
}

/* The slot holding (k1, k2) under the table's key, or the empty slot where
 * it would go; the table has slots and an empty one. */
static struct walk_pair *walk_probe(const struct walk_table *t, uintptr_t k1, uintptr_t k2)
{
    for (size_t i = walk_hash(t, k1, k2) & t->mask;; i = (i + 1) & t->mask) {
        struct walk_pair *e = &t->slots[i];
        if (e->k1 == 0 || walk_match(t, e, k1, k2))
            return e;
    }
}

bool walk_table_find(const struct walk_table *t, uintptr_t k1, uintptr_t *k2)
{
    if (t->slots == NULL)
        return false;
    const struct walk_pair *e = walk_probe(t, k1, *k2);
    if (e->k1 == 0)
        return false;
    *k2 = e->k2;
    return true;
}

/* Slow path: doubles the slot array (or makes the first) and rehashes. */
static int walk_grow(struct walk_table *t)
{
    size_t old_slots = t->slots == NULL ? 0 : t->mask + 1;
    size_t slots = old_slots == 0 ? WALK_TABLE_MIN_SLOTS : old_slots * 2;
    if (slots > SIZE_MAX / sizeof(struct walk_pair))
        return NMC_ENOMEM;
    struct walk_pair *fresh = calloc(slots, sizeof *fresh);
    if (fresh == NULL)
        return NMC_ENOMEM;
    struct walk_pair *old = t->slots;
    t->slots = fresh;
    t->mask = slots - 1;
    for (size_t i = 0; i < old_slots; i++)
        if (old[i].k1 != 0)
            *walk_probe(t, old[i].k1, old[i].k2) = old[i];
    free(old);
    return NMC_OK;
}

int walk_table_put(struct walk_table *t, uintptr_t k1, uintptr_t *k2, bool *found)
{
    if (t->slots == NULL || (t->count + 1) * 4 > (t->mask + 1) * 3) {
        int st = walk_grow(t);
        if (st != NMC_OK)
            return st;
    }
    struct walk_pair *e = walk_probe(t, k1, *k2);
    *found = e->k1 != 0;
    if (*found) {
        *k2 = e->k2;
    } else {
        e->k1 = k1;
        e->k2 = *k2;
        t->count++;
    }
    return NMC_OK;
}

void walk_stack_init(struct walk_stack *s, size_t item_size)
{
    s->items = NULL;
    s->item_size = item_size;
    s->len = 0;
    s->cap = 0;
}

void walk_stack_free(struct walk_stack *s)
{
    free(s->items);
    walk_stack_init(s, s->item_size);
}

/* Slow path: doubles the buffer (or makes the first). */
static int walk_stack_grow(struct walk_stack *s)
{
    size_t cap = s->cap == 0 ? WALK_STACK_MIN_ITEMS : s->cap * 2;
    if (cap > SIZE_MAX / s->item_size)
        return NMC_ENOMEM;
    unsigned char *items = realloc(s->items, cap * s->item_size);
    if (items == NULL)
        return NMC_ENOMEM;
    s->items = items;
    s->cap = cap;
    return NMC_OK;
}

int walk_stack_push(struct walk_stack *s, const void *item)
{
    if (s->len == s->cap) {
        int st = walk_stack_grow(s);
        if (st != NMC_OK)
            return st;
    }
    memcpy(s->items + s->len * s->item_size, item, s->item_size);
    s->len++;
    return NMC_OK;
}
