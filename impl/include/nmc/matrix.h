/* nmc/matrix.h - shared two-dimensional arrays (Netmcore_matrix).
 *
 * A matrix of dim1 rows and dim2 columns in a heap of its own
 * (nmc/heap.h), with a user header value: an OCaml array of dim1 row
 * arrays of dim2 values each ('e array array). It works as nmc/array.h:
 * elements are copied in by create, make, init, set and grow under the
 * heap's write lock; get_ro reads without a lock, get_p runs a callback
 * with the element pinned, get_c copies it into an arena; deref gives the
 * array of rows (unprotected). Indexes out of range give NMC_EINVAL, and
 * so does a dimension beyond NMC_MAX_WOSIZE (no row or array of rows can
 * be that long), also for a matrix without rows.
 *
 * Handles and descriptors: an nmc_sarray2 pointer is valid in every
 * process that inherits the pool; nmc_matrix_descr / _of_descr name it in
 * messages.
 *
 * Module prefix: nmc_matrix_.
 */
#ifndef NMC_MATRIX_H
#define NMC_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_sarray2 nmc_sarray2;

/* A shared copy of rows: an array (tag 0) of arrays of one length
 * (NMC_EINVAL otherwise). dim2 is that length (0 without rows). */
int nmc_matrix_create(nmc_mempool *pool, nmc_value rows, nmc_value header, nmc_sarray2 **out);
/* dim1 x dim2 elements, all the same copy of x. */
int nmc_matrix_make(nmc_mempool *pool, size_t dim1, size_t dim2, nmc_value x, nmc_value header,
                    nmc_sarray2 **out);
/* Element (i, j) a copy of f(i, j, ctx, &v) (f's failure stops it). */
int nmc_matrix_init(nmc_mempool *pool, size_t dim1, size_t dim2,
                    int (*f)(size_t i, size_t j, void *ctx, nmc_value *v), void *ctx,
                    nmc_value header, nmc_sarray2 **out);
/* Grows the matrix to at least dim1 x dim2, new elements a copy of x (one
 * copy, shared); a dimension already larger stays. */
int nmc_matrix_grow(nmc_sarray2 *m, size_t dim1, size_t dim2, nmc_value x);
/* Element (i, j) := a copy of v. */
int nmc_matrix_set(nmc_sarray2 *m, size_t i, size_t j, nmc_value v);
int nmc_matrix_get_ro(const nmc_sarray2 *m, size_t i, size_t j, nmc_value *out);
int nmc_matrix_get_p(nmc_sarray2 *m, size_t i, size_t j, int (*fn)(nmc_value v, void *ctx),
                     void *ctx);
int nmc_matrix_get_c(nmc_sarray2 *m, size_t i, size_t j, nmc_arena *arena, nmc_value *out);
/* Rows and columns. */
int nmc_matrix_dim(const nmc_sarray2 *m, size_t *dim1, size_t *dim2);
/* The header value (in the heap; never replaced). */
int nmc_matrix_header(const nmc_sarray2 *m, nmc_value *header);
/* The array of rows (see above). */
int nmc_matrix_deref(const nmc_sarray2 *m, nmc_value *rows);

nmc_heap *nmc_matrix_heap(nmc_sarray2 *m);
uint64_t nmc_matrix_descr(const nmc_sarray2 *m);
int nmc_matrix_of_descr(nmc_mempool *pool, uint64_t d, nmc_sarray2 **out);
/* Gives the heap back to the pool; nobody may use m afterwards. */
int nmc_matrix_destroy(nmc_sarray2 *m);

#ifdef __cplusplus
}
#endif
#endif
