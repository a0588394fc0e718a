/* nmc/array.h - shared arrays (Netmcore_array).
 *
 * An array of values in a heap of its own (nmc/heap.h), with a user header
 * value. The array is an OCaml array block (tag 0; an empty array is the
 * atom of tag 0). Float arrays are not flat here: store boxed doubles.
 * Elements are copied in by create, make, init, set and grow; every writer
 * takes the heap's write lock. grow makes a longer array block: the
 * elements already in the heap are shared, not copied again.
 *
 * Reading, in the original's flavours:
 *   get_ro  the element itself, no lock: valid while nobody sets it;
 *   get_p   fn(v, ctx) with the element pinned;
 *   get_c   a process-local copy into the caller's arena.
 * deref gives the array block itself (like get_ro: unprotected; after a
 * grow it is the old, shorter block, reclaimed by the next collection).
 * An index out of range gives NMC_EINVAL.
 *
 * Handles and descriptors: an nmc_sarray pointer is valid in every process
 * that inherits the pool; nmc_array_descr / _of_descr name it in messages.
 *
 * Module prefix: nmc_array_.
 */
#ifndef NMC_ARRAY_H
#define NMC_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_sarray nmc_sarray;

/* A shared copy of the array a (a block of tag 0, or the atom). */
int nmc_array_create(nmc_mempool *pool, nmc_value a, nmc_value header, nmc_sarray **out);
/* n elements, all the same copy of x. */
int nmc_array_make(nmc_mempool *pool, size_t n, nmc_value x, nmc_value header,
                   nmc_sarray **out);
/* n elements, element i a copy of f(i, ctx, &v) (f's failure stops it). */
int nmc_array_init(nmc_mempool *pool, size_t n, int (*f)(size_t i, void *ctx, nmc_value *v),
                   void *ctx, nmc_value header, nmc_sarray **out);
/* Grows the array to n elements, the new ones a copy of x (one copy,
 * shared); nothing happens if it has n or more already. */
int nmc_array_grow(nmc_sarray *a, size_t n, nmc_value x);
/* Element i := a copy of v. */
int nmc_array_set(nmc_sarray *a, size_t i, nmc_value v);
int nmc_array_get_ro(const nmc_sarray *a, size_t i, nmc_value *out);
int nmc_array_get_p(nmc_sarray *a, size_t i, int (*fn)(nmc_value v, void *ctx), void *ctx);
int nmc_array_get_c(nmc_sarray *a, size_t i, nmc_arena *arena, nmc_value *out);
size_t nmc_array_length(const nmc_sarray *a);
/* The header value (in the heap; never replaced). */
int nmc_array_header(const nmc_sarray *a, nmc_value *header);
/* The array block (see above). */
int nmc_array_deref(const nmc_sarray *a, nmc_value *array);

nmc_heap *nmc_array_heap(nmc_sarray *a);
uint64_t nmc_array_descr(const nmc_sarray *a);
int nmc_array_of_descr(nmc_mempool *pool, uint64_t d, nmc_sarray **out);
/* Gives the heap back to the pool; nobody may use a afterwards. */
int nmc_array_destroy(nmc_sarray *a);

#ifdef __cplusplus
}
#endif
#endif
