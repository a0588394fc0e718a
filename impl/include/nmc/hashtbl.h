/* nmc/hashtbl.h - shared hash tables (Netmcore_hashtbl).
 *
 * OCaml's Hashtbl in a heap of its own (nmc/heap.h), with a user header
 * value. Keys and data are values, copied into the heap by add and
 * replace. Semantics are the standard library's: keys are hashed with
 * nmc_hash (Hashtbl.hash) and compared with nmc_compare (compare k1 k2 =
 * 0); add shadows an existing binding of the key, remove reveals the
 * previous one, find gives the newest and find_all all of them, newest
 * first. The table starts with the given number of buckets (0: the
 * original's 391) and grows to 2n + 1 buckets when it holds more than
 * three bindings per four buckets (the original waits for two per bucket,
 * which makes a find walk two cells, each a cache miss, on average).
 *
 * Writing (add, replace, remove, clear) takes the heap's write lock.
 * Reading, in the original's flavours:
 *   _ro  no lock, no pin: valid only while nobody writes the table (or
 *        inside a modify of its heap). find_ro of an immediate key
 *        allocates nothing and costs a hash and a short bucket walk.
 *   _p   under the lock, then fn runs with the found data pinned (writers
 *        may go on; the data stays valid until fn returns).
 *   _c   a process-local copy into the caller's arena.
 * find_all gives a process-local list (cons cells [x; rest] ending in the
 * immediate 0, built in the caller's arena) whose elements are the heap's
 * data values (_ro, _p: pinned while fn runs) or copies (_c).
 * iter runs its callback under the write lock (a consistent snapshot): the
 * callback may use the _ro readers, but this table's locking functions
 * give it NMC_EDEADLOCK.
 *
 * Statuses: NMC_ENOT_FOUND (find of an absent key), NMC_EUNSUPPORTED (a
 * key or data the heap cannot hold, e.g. a closure), NMC_EOUT_OF_POOL_MEMORY, NMC_EDEADLOCK (a locking
 * function inside a modify of the table's heap).
 *
 * Handles and descriptors: an nmc_hashtbl pointer is valid in every
 * process that inherits the pool; nmc_hashtbl_descr / _of_descr name it
 * in messages.
 *
 * Module prefix: nmc_hashtbl_.
 */
#ifndef NMC_HASHTBL_H
#define NMC_HASHTBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_hashtbl nmc_hashtbl;

/* A new empty table in pool with `buckets` buckets (0: 391; beyond
 * UINT32_MAX: NMC_EINVAL) and a copy of header. */
int nmc_hashtbl_create(nmc_mempool *pool, size_t buckets, nmc_value header, nmc_hashtbl **out);
/* Removes every binding (the bucket array keeps its size). */
int nmc_hashtbl_clear(nmc_hashtbl *t);
/* Adds key -> data, shadowing an existing binding of key. */
int nmc_hashtbl_add(nmc_hashtbl *t, nmc_value key, nmc_value data);
/* Replaces the newest binding of key (or adds one). */
int nmc_hashtbl_replace(nmc_hashtbl *t, nmc_value key, nmc_value data);
/* Removes the newest binding of key, if any (NMC_OK either way). */
int nmc_hashtbl_remove(nmc_hashtbl *t, nmc_value key);

/* The newest data bound to key; NMC_ENOT_FOUND if none. */
int nmc_hashtbl_find_ro(const nmc_hashtbl *t, nmc_value key, nmc_value *data);
int nmc_hashtbl_find_p(nmc_hashtbl *t, nmc_value key, int (*fn)(nmc_value data, void *ctx),
                       void *ctx);
int nmc_hashtbl_find_c(nmc_hashtbl *t, nmc_value key, nmc_arena *arena, nmc_value *data);
/* All data bound to key, newest first (see above); the empty list is the
 * immediate 0. */
int nmc_hashtbl_find_all_ro(const nmc_hashtbl *t, nmc_value key, nmc_arena *arena,
                            nmc_value *list);
int nmc_hashtbl_find_all_p(nmc_hashtbl *t, nmc_value key, nmc_arena *arena,
                           int (*fn)(nmc_value list, void *ctx), void *ctx);
int nmc_hashtbl_find_all_c(nmc_hashtbl *t, nmc_value key, nmc_arena *arena, nmc_value *list);
/* Whether key is bound: under the lock (mem) or without (mem_ro). */
int nmc_hashtbl_mem(nmc_hashtbl *t, nmc_value key, bool *found);
int nmc_hashtbl_mem_ro(const nmc_hashtbl *t, nmc_value key, bool *found);
/* fn(key, data, ctx) for every binding, under the lock; a status other
 * than NMC_OK stops the walk and is returned. */
int nmc_hashtbl_iter(nmc_hashtbl *t, int (*fn)(nmc_value key, nmc_value data, void *ctx),
                     void *ctx);
/* Number of bindings. */
size_t nmc_hashtbl_length(const nmc_hashtbl *t);
/* The header value (in the heap; never replaced). */
int nmc_hashtbl_header(const nmc_hashtbl *t, nmc_value *header);

nmc_heap *nmc_hashtbl_heap(nmc_hashtbl *t);
uint64_t nmc_hashtbl_descr(const nmc_hashtbl *t);
int nmc_hashtbl_of_descr(nmc_mempool *pool, uint64_t d, nmc_hashtbl **out);
/* Gives the heap back to the pool; nobody may use t afterwards. */
int nmc_hashtbl_destroy(nmc_hashtbl *t);

#ifdef __cplusplus
}
#endif
#endif
