/* nmc/ref.h - shared references (Netmcore_ref).
 *
 * An sref is a mutable reference to one value, living with that value in a
 * heap of its own (nmc/heap.h). nmc_sref_create copies the initial value
 * into a new heap; nmc_sref_assign copies a new one in (under the heap's
 * write lock) and the old one becomes garbage for the heap's collector.
 *
 * Reading, in the original's three flavours:
 *   deref_ro  the value itself, no lock: valid only while nobody assigns
 *             (a collection after an assignment may reclaim it);
 *   deref_p   fn(v, ctx) runs with v pinned: assignments may happen, but
 *             v stays valid until fn returns (not after);
 *   deref_c   a process-local deep copy into the caller's arena.
 * Inside a modify of the sref's heap (nmc_heap_modify on nmc_sref_heap),
 * use deref_ro: deref_p, deref_c and assign take the lock and give
 * NMC_EDEADLOCK there.
 *
 * Handles and descriptors. An nmc_sref pointer lives in the pool, so it is
 * valid in every process that inherits the pool; nmc_sref_descr gives a
 * number that can travel in messages (e.g. a worker's argument) and
 * nmc_sref_of_descr turns it back into the sref in a process that has the
 * pool mapped (NMC_EINVAL if it names no sref there).
 *
 * Module prefix: nmc_sref_ (the original's type name).
 */
#ifndef NMC_REF_H
#define NMC_REF_H

#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_sref nmc_sref;

/* A new sref in pool holding a copy of v. */
int nmc_sref_create(nmc_mempool *pool, nmc_value v, nmc_sref **out);
/* The reference := a copy of v. */
int nmc_sref_assign(nmc_sref *s, nmc_value v);
/* The current value, unprotected (see above). */
int nmc_sref_deref_ro(const nmc_sref *s, nmc_value *out);
/* fn(value, ctx) with the value pinned; fn's status. */
int nmc_sref_deref_p(nmc_sref *s, int (*fn)(nmc_value v, void *ctx), void *ctx);
/* A copy of the value in arena. */
int nmc_sref_deref_c(nmc_sref *s, nmc_arena *arena, nmc_value *out);
/* The heap holding the reference (for nmc_heap_modify and friends). */
nmc_heap *nmc_sref_heap(nmc_sref *s);
uint64_t nmc_sref_descr(const nmc_sref *s);
int nmc_sref_of_descr(nmc_mempool *pool, uint64_t d, nmc_sref **out);
/* Gives the heap back to the pool; nobody may use s afterwards. */
int nmc_sref_destroy(nmc_sref *s);

#ifdef __cplusplus
}
#endif
#endif
