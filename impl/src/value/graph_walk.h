/* graph_walk.h - bookkeeping for the iterative walks of the value module
 * (isomorphism, structural compare): a table of address pairs and a stack.
 *
 * The pair table is open addressing with linear probing over 2-word entries
 * {k1, k2}; k1 == 0 marks an empty slot (no block lives at address 0). It
 * works in one of two modes, fixed at init:
 *   - keyed by k1 alone (a map k1 -> k2: at most one entry per k1), or
 *   - keyed by the pair (a set of pairs: many entries may share k1).
 * The hash covers exactly the key words, so a set of pairs with one k1 and
 * many k2 does not degrade into one probe chain. The load factor stays at
 * most 3/4 (doubling on growth), so a probe ends at an empty slot.
 *
 * The stack is a growable array of fixed-size items, doubling on growth.
 * Both report NMC_ENOMEM when malloc fails; neither recurses. Private to the
 * value module.
 */
#ifndef NMC_VALUE_GRAPH_WALK_H
#define NMC_VALUE_GRAPH_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct walk_pair {
    uintptr_t k1; /* first word; 0 = empty slot */
    uintptr_t k2; /* second word (value in map mode) */
};

struct walk_table {
    struct walk_pair *slots; /* 2^n slots, or NULL before the first insert */
    size_t mask;             /* slot count - 1 (0 while slots is NULL)     */
    size_t count;            /* occupied slots                             */
    bool pair_key;           /* true: keyed by (k1, k2); false: by k1      */
};

struct walk_stack {
    unsigned char *items; /* item_size * cap bytes, or NULL            */
    size_t item_size;     /* bytes per item                            */
    size_t len;           /* items pushed                              */
    size_t cap;           /* items the buffer holds                    */
};

/* An empty table: a map keyed by k1 (pair_key false) or a set of pairs. */
void walk_table_init(struct walk_table *t, bool pair_key);
void walk_table_free(struct walk_table *t);
/* Map mode: true and *k2 = the partner of k1 if k1 is present.
 * Set mode: true if the pair (k1, *k2) is present (*k2 is only read). */
bool walk_table_find(const struct walk_table *t, uintptr_t k1, uintptr_t *k2);
/* Find-or-add in one probe (k1 != 0): if an entry matches (k1, *k2) as
 * walk_table_find does, *found = true and *k2 = its second word; otherwise
 * (k1, *k2) is added and *found = false. NMC_OK or NMC_ENOMEM. */
int walk_table_put(struct walk_table *t, uintptr_t k1, uintptr_t *k2, bool *found);

void walk_stack_init(struct walk_stack *s, size_t item_size);
void walk_stack_free(struct walk_stack *s);
/* Copies item on top of the stack. NMC_OK or NMC_ENOMEM. */
int walk_stack_push(struct walk_stack *s, const void *item);
/* The top item, or NULL if the stack is empty. */
static inline void *walk_stack_top(const struct walk_stack *s)
{
    return s->len == 0 ? NULL : s->items + (s->len - 1) * s->item_size;
}
static inline void walk_stack_pop(struct walk_stack *s) { s->len--; }

#endif
