/* Graph isomorphism of two values: the oracle of the copier's tests.
 *
 * Algorithm: build a bijection between the blocks of a and the blocks of b
 * on the fly. A pair of values (x, y) matches when
 *   - both are immediates and x == y, or
 *   - both are blocks with the same tag and wosize (color bits ignored), and
 *     either x is already paired with y, or neither x nor y is paired yet and
 *     their contents match: the pair is recorded (one probe per side) and,
 *     for a scanned tag, pushed on a worklist whose pop compares the fields
 *     pairwise. (A failed match ends the walk, so what it recorded is moot.)
 * The pairing lives in one walk_table map holding x -> y and (y | 1) -> x
 * (blocks are word-aligned, so bit 0 tells the two sides apart even when a
 * and b share blocks). Invariant: every recorded pair has matching headers
 * and leaves, and its fields are compared before the walk ends. The walk is
 * a loop over an explicit stack (no recursion): memory is O(blocks), a
 * 10-million-cell list needs 512 MB of table (two 16-byte entries per block
 * pair, load at most 3/4) and a stack of one; about 7 s on one core.
 *
 * Leaves compare bitwise: strings (length and bytes), doubles and double
 * arrays (so NaN payloads and -0.0 count), abstract blocks. Custom blocks:
 * the same ops identifier, then for bigarrays ("_bigarr02") num_dims, kind,
 * layout, dims and the data bytes, ignoring the ownership bits
 * (NMC_BA_MANAGED_MASK) and the data/proxy pointers, since arena bigarrays
 * are MANAGED and copies are EXTERNAL; for int32 ("_i") the 4 value bytes,
 * for every other kind the payload words.
 *
 * Zero-size blocks (atoms) have no identity: they match any zero-size block
 * of the same tag and are not paired, so an atom matches the same atom and
 * also a real zero-size block of its tag (what copying with COPY_ATOM makes).
 * Closures and infix pointers hold code pointers, not values: they give
 * NMC_EUNSUPPORTED; a custom block without ops or identifier, or a bigarray
 * block of the wrong size or shape, gives NMC_EINVAL.
 */
#include <string.h>

#include "graph_walk.h"
#include "nmc/status.h"
#include "nmc/value.h"

/* A walk: the pairing and the pairs whose fields are still to compare. */
struct iso_walk {
    struct walk_table pairs; /* x -> y and (y | 1) -> x                 */
    struct walk_stack todo;  /* struct walk_pair: scanned blocks to visit */
};

/* Bigarrays: the same shape and contents, whatever owns the data. */
static int iso_bigarray(nmc_value x, nmc_value y, bool *same)
{
    const struct nmc_bigarray *bx = nmc_bigarray_val(x), *by = nmc_bigarray_val(y);
    size_t head = 1 + sizeof(struct nmc_bigarray) / NMC_WORD_SIZE, bytes;
    if (nmc_wosize_val(x) < head || nmc_wosize_val(x) != head + (size_t)bx->num_dims ||
        nmc_ba_byte_size(bx, &bytes) != NMC_OK)
        return NMC_EINVAL; /* not a well-formed bigarray block */
    /* y has the same wosize, so the same num_dims; it is valid if it
     * matches x in kind and dims, and is compared only then */
    intptr_t type = ~(intptr_t)NMC_BA_MANAGED_MASK;
    *same = (bx->flags & type) == (by->flags & type) &&
            memcmp(bx->dim, by->dim, (size_t)bx->num_dims * sizeof(intptr_t)) == 0 &&
            (bytes == 0 || memcmp(bx->data, by->data, bytes) == 0);
    return NMC_OK;
}

/* Custom blocks of equal wosize: same identifier, then the payload. */
static int iso_custom(nmc_value x, nmc_value y, bool *same)
{
    const struct nmc_custom_ops *ox = nmc_custom_ops_val(x), *oy = nmc_custom_ops_val(y);
    if (ox == NULL || oy == NULL || ox->identifier == NULL || oy->identifier == NULL)
        return NMC_EINVAL;
    *same = false;
    if (strcmp(ox->identifier, oy->identifier) != 0)
        return NMC_OK;
    if (strcmp(ox->identifier, nmc_bigarray_ops.identifier) == 0)
        return iso_bigarray(x, y, same);
    /* an int32 uses 4 bytes of its payload word; the rest is padding */
    size_t bytes = strcmp(ox->identifier, nmc_int32_ops.identifier) == 0
                       ? sizeof(int32_t)
                       : (nmc_wosize_val(x) - 1) * NMC_WORD_SIZE;
    *same = memcmp(nmc_data_custom_val(x), nmc_data_custom_val(y), bytes) == 0;
    return NMC_OK;
}

/* The contents of two non-empty blocks with equal headers, as far as they
 * are not fields to walk. */
static int iso_leaf(nmc_value x, nmc_value y, bool *same)
{
    switch (nmc_tag_val(x)) {
    case NMC_TAG_CLOSURE:
    case NMC_TAG_INFIX:
        return NMC_EUNSUPPORTED;
    case NMC_TAG_STRING:
        *same = nmc_string_length(x) == nmc_string_length(y) &&
                memcmp((const void *)x, (const void *)y, nmc_string_length(x)) == 0;
        return NMC_OK;
    case NMC_TAG_ABSTRACT:
    case NMC_TAG_DOUBLE:
    case NMC_TAG_DOUBLE_ARRAY:
        *same = memcmp((const void *)x, (const void *)y, nmc_bosize_val(x)) == 0;
        return NMC_OK;
    case NMC_TAG_CUSTOM:
        return iso_custom(x, y, same);
    default:
        *same = true; /* scanned: the fields are compared from the worklist */
        return NMC_OK;
    }
}

/* Matches one pair of values, recording and queueing a new block pair. */
static int iso_pair(struct iso_walk *w, nmc_value x, nmc_value y, bool *same)
{
    *same = false;
    if (nmc_is_long(x) || nmc_is_long(y)) {
        *same = x == y;
        return NMC_OK;
    }
    if (nmc_hd_with_color(nmc_hd_val(x), NMC_COLOR_WHITE) !=
        nmc_hd_with_color(nmc_hd_val(y), NMC_COLOR_WHITE))
        return NMC_OK;
    if (nmc_wosize_val(x) == 0) {
        *same = true;
        return NMC_OK;
    }
    uintptr_t partner = y;
    bool found = false;
    int st = walk_table_put(&w->pairs, x, &partner, &found);
    if (st != NMC_OK || found) {
        *same = found && partner == y;
        return st;
    }
    partner = x;
    st = walk_table_put(&w->pairs, y | 1u, &partner, &found);
    if (st != NMC_OK || found)
        return st; /* y already belongs to another block of a */
    st = iso_leaf(x, y, same);
    if (st != NMC_OK || !*same)
        return st;
    if (nmc_tag_val(x) < NMC_NO_SCAN_TAG)
        st = walk_stack_push(&w->todo, &(struct walk_pair){x, y});
    return st;
}

/* Compares the fields of recorded pairs until the worklist is empty or a
 * difference shows. */
static int iso_drain(struct iso_walk *w, bool *same)
{
    struct walk_pair *top;
    while (*same && (top = walk_stack_top(&w->todo)) != NULL) {
        nmc_value x = top->k1, y = top->k2;
        walk_stack_pop(&w->todo);
        size_t n = nmc_wosize_val(x);
        for (size_t i = 0; i < n && *same; i++) {
            int st = iso_pair(w, nmc_field(x, i), nmc_field(y, i), same);
            if (st != NMC_OK)
                return st;
        }
    }
    return NMC_OK;
}

int nmc_isomorphic(nmc_value a, nmc_value b, bool *same)
{
    if (same == NULL)
        return NMC_EINVAL;
    struct iso_walk w;
    walk_table_init(&w.pairs, false);
    walk_stack_init(&w.todo, sizeof(struct walk_pair));
    bool result;
    int st = iso_pair(&w, a, b, &result);
    if (st == NMC_OK)
        st = iso_drain(&w, &result);
    walk_table_free(&w.pairs);
    walk_stack_free(&w.todo);
    if (st == NMC_OK)
        *same = result;
    return st;
}
