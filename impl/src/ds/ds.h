/* Private helpers of the shared data structures (ref, array, matrix,
 * buffer, queue, hashtbl): the pattern they all share.
 *
 * A structure is a heap (nmc/heap.h) whose root is a record
 *
 *     { kind; header; field 0; field 1; ... }
 *
 * kind (the immediate DS_KIND_TAG + enum ds_kind) says which structure
 * the heap holds, so that X_of_descr refuses a heap of another kind; header is the user's
 * value; the fields belong to the structure. The root record never
 * changes, so a structure's handle is its heap pointer (valid in every
 * process that has the pool) and its descriptor the heap's.
 *
 * Reading comes in the original's three flavours, all built on a find
 * function that locates a value:
 *   _ro  find without the lock (the caller excludes concurrent writers);
 *   _p   find under the lock, the value pinned while a callback runs
 *        (nmc_heap_with_value);
 *   _c   the same with a callback that copies the value into an arena.
 * Paths (struct ds_path) are the find of the structures whose values sit
 * at fixed field positions (ref, array, matrix).
 */
#ifndef NMC_DS_H
#define NMC_DS_H

#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

enum ds_kind { DS_REF = 1, DS_ARRAY, DS_MATRIX, DS_BUFFER, DS_QUEUE, DS_HASHTBL };

/* Makes a kind field unlikely to occur in a heap that holds no structure. */
#define DS_KIND_TAG ((intptr_t)0x4e4d434453 << 8) /* "NMCDS" */
#define ds_kind_value(kind) nmc_val_long(DS_KIND_TAG + (kind))

enum { DS_KIND_FIELD = 0, DS_HEADER_FIELD = 1, DS_FIRST_FIELD = 2 };

/* The structure's own fields of the root record. */
static inline nmc_value *ds_fields(const nmc_heap *h)
{
    return &nmc_field(h->root, DS_FIRST_FIELD); /* not nmc_heap_root: no call */
}

/* Creates a heap in pool whose root is {kind; header; fields[0..n-1]}
 * (copies of header and the fields). */
int ds_create(nmc_mempool *pool, enum ds_kind kind, nmc_value header, size_t n,
              const nmc_value *fields, nmc_heap **heap);
/* The heap of descriptor d if it holds a structure of this kind. */
int ds_of_descr(nmc_mempool *pool, uint64_t d, enum ds_kind kind, nmc_heap **heap);
/* The header value (read without the lock: it is never replaced). */
int ds_header(const nmc_heap *h, nmc_value *out);

/* ---- reading ---------------------------------------------------------------- */

/* Locates a value of h from args; a failure status stops the read. */
typedef int (*ds_find_fn)(nmc_heap *h, const void *args, nmc_value *v);
typedef int (*ds_value_fn)(nmc_value v, void *ctx);

/* _p: find under the lock, then fn(v, ctx) with v pinned. */
int ds_read_p(nmc_heap *h, ds_find_fn find, const void *args, ds_value_fn fn, void *ctx);
/* _c: find under the lock, then a copy of v into arena. */
int ds_read_c(nmc_heap *h, ds_find_fn find, const void *args, nmc_arena *arena,
              nmc_value *out);
/* The ds_value_fn of _c: ctx is a struct ds_copy. */
struct ds_copy {
    nmc_arena *arena;
    nmc_value *out;
};
int ds_copy_fn(nmc_value v, void *ctx);

/* Field indexes from the root record: i[0] a root field, i[1] a field of
 * that block, and so on. Every step is bounds-checked. */
struct ds_path {
    size_t n;
    size_t i[3];
};

/* ds_find_fn of a path (args: struct ds_path): NMC_EINVAL when an index
 * is out of range. */
int ds_find_path(nmc_heap *h, const void *args, nmc_value *v);
/* The block holding the last step of path, and that index checked. */
int ds_path_slot(nmc_heap *h, const struct ds_path *path, nmc_value **slot);
/* In one modify: the slot at path := a heap copy of v. */
int ds_set_path(nmc_heap *h, const struct ds_path *path, nmc_value v);

/* ---- writing ---------------------------------------------------------------- */

/* A new heap block of tag 0 and n fields: old's fields first (shared,
 * not copied), then x (added once, shared) up to n; the atom if n = 0. */
int ds_grow_block(nmc_mutator *mut, nmc_value old, size_t n, nmc_value x, nmc_value *out);

#endif
