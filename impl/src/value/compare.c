/* Structural comparison: OCaml's compare and = (runtime/compare.c, 4.13).
 *
 * The walk follows OCaml's: compare the current pair (v1, v2); for two
 * structured blocks of equal tag and size, remember "fields 1..size-1 still
 * to compare" on an explicit stack and go on with field 0; when a pair is
 * equal, take the next field of the top stack item. The first difference
 * decides. The order:
 *   - immediates by value; an immediate is below every block (none of our
 *     custom kinds has OCaml's compare_ext, so no custom block compares
 *     with an immediate);
 *   - Forward blocks are transparent (followed, at most 1000 links in a
 *     row: a longer chain or a Forward cycle gives NMC_EUNSUPPORTED);
 *   - blocks by tag (Infix counted as Closure), then:
 *       strings: memcmp of the common prefix, then the length;
 *       doubles and double arrays (length first): numerically; for compare
 *         NaN equals NaN and is below every other float; for = a NaN makes
 *         the values unequal (UNORDERED);
 *       custom: ops with different compare functions order by identifier
 *         (strcmp), else ops->compare decides; for = an unordered pair
 *         met by it (custom_unordered.h: NaN in a float bigarray) makes the
 *         values unequal, as in OCaml;
 *       objects: by oid (field 1);
 *       structured (tags 0..245, Lazy): size, then fields left to right;
 *       abstract blocks, closures, infix: NMC_EUNSUPPORTED (OCaml raises).
 *   - zero-size blocks (atoms) of one tag are equal, and below any larger
 *     block of that tag (OCaml's order of sizes).
 * In total mode (compare) physically equal values are equal at once; in
 * equality mode they are walked, since a NaN inside makes them unequal.
 *
 * Cycles: after CMP_TABLE_AFTER structured steps (small values never pay for
 * it) every structured pair entered is looked up in a set of pairs, and a
 * pair found there is assumed equal; one entered pair in CMP_RECORD_EVERY is
 * recorded (a counter since the last record, not the step number modulo, so
 * no periodic walk can dodge it). On acyclic values that changes nothing (a
 * pair met again there was already found equal). On cyclic ones the walk is
 * finite: records are distinct pairs, so they stop; after that at most
 * CMP_RECORD_EVERY unrecorded pairs are entered before the next one would be
 * recorded, so eventually every entered pair is found and the stack drains.
 * The cost is O(CMP_RECORD_EVERY x pairs) steps and O(pairs /
 * CMP_RECORD_EVERY) table memory. Stack: O(depth along first fields).
 */
#include <string.h>

#include "custom_unordered.h"
#include "graph_walk.h"
#include "nmc/status.h"
#include "nmc/value.h"

#define CMP_LESS ((intptr_t)-1)
#define CMP_EQUAL ((intptr_t)0)
#define CMP_GREATER ((intptr_t)1)
#define CMP_UNORDERED INTPTR_MIN /* = only: a NaN was met */
#define CMP_SIGN(a, b) ((intptr_t)((a) > (b)) - (intptr_t)((a) < (b)))

enum { CMP_TABLE_AFTER = 10000, CMP_RECORD_EVERY = 16, CMP_MAX_FORWARD = 1000 };

/* Fields next .. wosize-1 of the structured pair (v1, v2) remain. */
struct cmp_item {
    nmc_value v1; /* block of the first value                 */
    nmc_value v2; /* block of the second value, same size      */
    size_t next;  /* index of the next field pair to compare   */
};

struct cmp_walk {
    struct walk_stack stack; /* struct cmp_item                        */
    struct walk_table seen;  /* pairs entered once the set is engaged  */
    size_t steps;            /* structured pairs entered so far        */
    size_t unrecorded;       /* pairs entered since the last recorded  */
    bool total;              /* compare (true) or = (false)            */
};

/* Follows Forward links; NMC_EUNSUPPORTED past CMP_MAX_FORWARD of them. */
static int cmp_skip_forward(nmc_value *v)
{
    for (int links = 0;; links++) {
        if (nmc_is_long(*v) || nmc_tag_val(*v) != NMC_TAG_FORWARD || nmc_wosize_val(*v) == 0)
            return NMC_OK;
        if (links == CMP_MAX_FORWARD)
            return NMC_EUNSUPPORTED;
        *v = nmc_field(*v, 0);
    }
}

static intptr_t cmp_double(double d1, double d2, bool total)
{
    if (d1 < d2)
        return CMP_LESS;
    if (d1 > d2)
        return CMP_GREATER;
    if (d1 == d2)
        return CMP_EQUAL;
    if (!total)
        return CMP_UNORDERED;
    /* NaN == NaN, NaN < everything else */
    if (d1 == d1)
        return CMP_GREATER;
    return d2 == d2 ? CMP_LESS : CMP_EQUAL;
}

static intptr_t cmp_double_array(nmc_value v1, nmc_value v2, bool total)
{
    size_t n1 = nmc_wosize_val(v1), n2 = nmc_wosize_val(v2);
    if (n1 != n2)
        return CMP_SIGN(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        intptr_t r = cmp_double(nmc_double_field(v1, i), nmc_double_field(v2, i), total);
        if (r != CMP_EQUAL)
            return r;
    }
    return CMP_EQUAL;
}

static intptr_t cmp_string(nmc_value v1, nmc_value v2)
{
    size_t n1 = nmc_string_length(v1), n2 = nmc_string_length(v2);
    int r = memcmp((const void *)v1, (const void *)v2, n1 < n2 ? n1 : n2);
    if (r != 0)
        return CMP_SIGN(r, 0);
    return CMP_SIGN(n1, n2);
}

static int cmp_custom(nmc_value v1, nmc_value v2, bool total, intptr_t *r)
{
    const struct nmc_custom_ops *o1 = nmc_custom_ops_val(v1), *o2 = nmc_custom_ops_val(v2);
    if (o1 == NULL || o2 == NULL || o1->identifier == NULL || o2->identifier == NULL)
        return NMC_EINVAL;
    if (o1->compare != o2->compare) {
        int c = strcmp(o1->identifier, o2->identifier);
        if (c != 0) {
            *r = CMP_SIGN(c, 0);
            return NMC_OK;
        }
    }
    if (o1->compare == NULL)
        return NMC_EUNSUPPORTED;
    nmc_custom_compare_unordered = false;
    int c = o1->compare(v1, v2);
    *r = nmc_custom_compare_unordered && !total ? CMP_UNORDERED : CMP_SIGN(c, 0);
    return NMC_OK;
}

static int cmp_object(nmc_value v1, nmc_value v2, intptr_t *r)
{
    if (nmc_wosize_val(v1) < 2 || nmc_wosize_val(v2) < 2)
        return NMC_EINVAL; /* no oid field */
    intptr_t oid1 = nmc_long_val(nmc_field(v1, 1)), oid2 = nmc_long_val(nmc_field(v2, 1));
    *r = CMP_SIGN(oid1, oid2);
    return NMC_OK;
}

/* Cycle guard for a structured pair about to be entered: *seen if the pair
 * was recorded before (then it is assumed equal); records one pair in
 * CMP_RECORD_EVERY once the walk is past CMP_TABLE_AFTER steps. */
static int cmp_seen(struct cmp_walk *w, nmc_value v1, nmc_value v2, bool *seen)
{
    if (++w->steps <= CMP_TABLE_AFTER)
        return NMC_OK;
    uintptr_t other = v2;
    if (walk_table_find(&w->seen, v1, &other)) {
        *seen = true;
        return NMC_OK;
    }
    if (++w->unrecorded < CMP_RECORD_EVERY)
        return NMC_OK;
    w->unrecorded = 0;
    return walk_table_put(&w->seen, v1, &other, seen);
}

/* Two structured blocks of one tag: sizes, then field 0 next (*descend) with
 * the rest remembered; a pair already seen is equal. */
static int cmp_structured(struct cmp_walk *w, nmc_value *v1, nmc_value *v2, intptr_t *r,
                          bool *descend)
{
    size_t n1 = nmc_wosize_val(*v1), n2 = nmc_wosize_val(*v2);
    if (n1 != n2) {
        *r = CMP_SIGN(n1, n2);
        return NMC_OK;
    }
    bool seen = false;
    int st = cmp_seen(w, *v1, *v2, &seen);
    if (st != NMC_OK || seen)
        return st;
    if (n1 > 1) {
        st = walk_stack_push(&w->stack, &(struct cmp_item){*v1, *v2, 1});
        if (st != NMC_OK)
            return st;
    }
    *v1 = nmc_field(*v1, 0);
    *v2 = nmc_field(*v2, 0);
    *descend = true;
    return NMC_OK;
}

/* Two non-empty blocks of one tag (Infix folded into Closure). */
static int cmp_same_tag(struct cmp_walk *w, unsigned tag, nmc_value *v1, nmc_value *v2,
                        intptr_t *r, bool *descend)
{
    switch (tag) {
    case NMC_TAG_STRING:
        *r = cmp_string(*v1, *v2);
        return NMC_OK;
    case NMC_TAG_DOUBLE:
        *r = cmp_double(nmc_double_val(*v1), nmc_double_val(*v2), w->total);
        return NMC_OK;
    case NMC_TAG_DOUBLE_ARRAY:
        *r = cmp_double_array(*v1, *v2, w->total);
        return NMC_OK;
    case NMC_TAG_CUSTOM:
        return cmp_custom(*v1, *v2, w->total, r);
    case NMC_TAG_OBJECT:
        return cmp_object(*v1, *v2, r);
    default:
        return cmp_structured(w, v1, v2, r, descend);
    }
}

/* One pair: its order in *r, or *descend with (v1, v2) set to the next pair
 * to compare (the first fields). */
static int cmp_step(struct cmp_walk *w, nmc_value *v1, nmc_value *v2, intptr_t *r,
                    bool *descend)
{
    if (*v1 == *v2 && w->total)
        return NMC_OK;
    int st = cmp_skip_forward(v1);
    if (st == NMC_OK)
        st = cmp_skip_forward(v2);
    if (st != NMC_OK || (*v1 == *v2 && w->total))
        return st;
    if (nmc_is_long(*v1) || nmc_is_long(*v2)) {
        if (nmc_is_long(*v1) && nmc_is_long(*v2))
            *r = CMP_SIGN(nmc_long_val(*v1), nmc_long_val(*v2));
        else
            *r = nmc_is_long(*v1) ? CMP_LESS : CMP_GREATER;
        return NMC_OK;
    }
    unsigned t1 = nmc_tag_val(*v1), t2 = nmc_tag_val(*v2);
    t1 = t1 == NMC_TAG_INFIX ? NMC_TAG_CLOSURE : t1;
    t2 = t2 == NMC_TAG_INFIX ? NMC_TAG_CLOSURE : t2;
    if (t1 != t2) {
        *r = CMP_SIGN(t1, t2);
        return NMC_OK;
    }
    if (t1 == NMC_TAG_CLOSURE || t1 == NMC_TAG_ABSTRACT)
        return NMC_EUNSUPPORTED;
    size_t n1 = nmc_wosize_val(*v1), n2 = nmc_wosize_val(*v2);
    if (n1 == 0 || n2 == 0) {
        *r = CMP_SIGN(n1, n2);
        return NMC_OK;
    }
    return cmp_same_tag(w, t1, v1, v2, r, descend);
}

/* The walk: pairs until one differs or the stack is empty. */
static int cmp_run(struct cmp_walk *w, nmc_value v1, nmc_value v2, intptr_t *r)
{
    for (;;) {
        bool descend = false;
        *r = CMP_EQUAL;
        int st = cmp_step(w, &v1, &v2, r, &descend);
        if (st != NMC_OK || *r != CMP_EQUAL)
            return st;
        if (descend)
            continue;
        struct cmp_item *top = walk_stack_top(&w->stack);
        if (top == NULL)
            return NMC_OK;
        v1 = nmc_field(top->v1, top->next);
        v2 = nmc_field(top->v2, top->next);
        if (++top->next == nmc_wosize_val(top->v1))
            walk_stack_pop(&w->stack);
    }
}

/* OCaml's compare_val: CMP_LESS/EQUAL/GREATER (or UNORDERED if !total). */
static int cmp_values(nmc_value v1, nmc_value v2, bool total, intptr_t *r)
{
    struct cmp_walk w;
    walk_stack_init(&w.stack, sizeof(struct cmp_item));
    walk_table_init(&w.seen, true);
    w.steps = 0;
    w.unrecorded = 0;
    w.total = total;
    int st = cmp_run(&w, v1, v2, r);
    walk_stack_free(&w.stack);
    walk_table_free(&w.seen);
    return st;
}

int nmc_compare(nmc_value a, nmc_value b, int *result)
{
    if (result == NULL)
        return NMC_EINVAL;
    intptr_t r;
    int st = cmp_values(a, b, true, &r);
    if (st == NMC_OK)
        *result = (int)CMP_SIGN(r, 0);
    return st;
}

int nmc_equal(nmc_value a, nmc_value b, bool *equal)
{
    if (equal == NULL)
        return NMC_EINVAL;
    intptr_t r;
    int st = cmp_values(a, b, false, &r);
    if (st == NMC_OK)
        *equal = r == CMP_EQUAL;
    return st;
}
