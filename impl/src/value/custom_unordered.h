/* custom_unordered.h - the side channel of OCaml's compare_unordered.
 *
 * struct nmc_custom_ops's compare returns only an order, but OCaml's `=` must
 * also learn when a custom compare met an unordered pair (a NaN element of a
 * float bigarray), so that a bigarray holding NaN is unequal to itself. As in
 * OCaml (Caml_state->compare_unordered), a flag carries it: nmc_equal clears
 * it before calling ops->compare and reads it after; the bigarray compare
 * sets it. The flag is thread-local, so concurrent comparisons in different
 * threads do not see each other's. Private to the value module.
 */
#ifndef NMC_VALUE_CUSTOM_UNORDERED_H
#define NMC_VALUE_CUSTOM_UNORDERED_H

#include <stdbool.h>

/* Set by a custom compare function that met an unordered pair. */
extern _Thread_local bool nmc_custom_compare_unordered;

#endif
