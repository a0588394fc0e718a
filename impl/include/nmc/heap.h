/* nmc/heap.h - shared heaps of values with a garbage collector
 * (Netmcore_heap).
 *
 * A heap is a set of extents taken from a memory pool (nmc/mempool.h) and
 * holds OCaml-layout values (nmc/value.h) reachable from its root. It lives
 * at the pool's address in every process that inherits the pool, so an
 * nmc_heap pointer and every value in it are valid in all of them; a
 * descriptor (nmc_heap_descr) names a heap across processes.
 *
 * Writing. All mutation happens between nmc_heap_modify_begin and
 * nmc_heap_modify_end (or inside nmc_heap_modify's callback), which hold
 * the heap's write lock; the mutator they give copies values into the heap
 * (nmc_heap_add and friends). A field of a heap value may only be set to an
 * immediate or a value of the same heap: copy process-local values in with
 * add first. Values added during one modify stay pinned until its end, so
 * a collection triggered by a later add cannot reclaim them before they
 * are linked (the original leaves that to the caller); nmc_heap_pin pins
 * any other heap value for the rest of the modify. modify inside modify in
 * the same thread gives NMC_EDEADLOCK instead of hanging. A value is
 * copied in one pass straight into free space when it fits the first
 * large free block (else its size is simulated first); the callback form
 * nmc_heap_modify allocates no process memory.
 *
 * Reading. Readers take no lock (the _ro access of the data structures):
 * a value may be reclaimed by a collection once it is unreachable, so code
 * that reads while others write pins it: nmc_heap_with_value runs a
 * callback with the found value pinned.
 *
 * Collection. Mark and sweep, under the write lock, when an allocation
 * finds no room, or by nmc_heap_gc. A collection that freed less than an
 * eighth of what had been allocated since the one before (a structure that
 * only grows: everything is live) lets the heap grow without one the next
 * time it fills, and only that time. Marking uses an explicit stack (a list
 * of ten million cells survives) and follows only pointers into this
 * heap's own extents: pointers elsewhere (atoms, other heaps, the pool) are
 * counted in the statistics and never touched. Sweeping merges unreachable
 * blocks into free blocks (size classes: exact lists below
 * NMC_HEAP_SMALL_WORDS words, best fit above), gives completely free
 * extents other than the first back to the pool, and keeps
 * free_percent (default 50) of the heap free by growing it after a
 * collection that left less. Without NDEBUG, freed words are filled with
 * 0x55 and fresh ones with 0xAA, so a reader of freed memory sees garbage
 * that tests can recognise.
 *
 * Values. nmc_heap_add copies with NMC_COPY_CUSTOM_INT (boxed integers);
 * closures, objects, lazy values, abstract blocks and bigarrays are
 * refused with NMC_EUNSUPPORTED (a bigarray's data would need an owner in
 * the heap). Atoms stay shared (the process's atom table).
 *
 * Synchronisation objects (nmc/sync.h) may live inside heap values: build
 * the value with zero words where they go (a dummy), add it, then
 * nmc_mutex_init etc. on the fields inside a modify, as the original's
 * "dummy first, then create inside modify" pattern.
 *
 * Dead writers: a process that dies inside a modify leaves the lock to the
 * next writer as NMC_EOWNER_DEAD (nmc/sync.h); the heap is then verified
 * (nmc_heap_check) and, if that fails, repaired: the extents tile at every
 * instant of a modify (the block being copied into is recorded in the heap
 * record), so the free lists, counters and colours are rebuilt by a
 * collection and whatever the dead writer left unlinked is reclaimed. Only
 * damage reachable from the root or a live pin makes the heap refused
 * with NMC_ECORRUPT from then on.
 *
 * Module prefix: nmc_heap_.
 */
#ifndef NMC_HEAP_H
#define NMC_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/mempool.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "nmc/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks of fewer words (header included) have exact free lists. */
#define NMC_HEAP_SMALL_WORDS 64
/* Smallest extension of a heap, in bytes (the original's 64 KiB). */
#define NMC_HEAP_EXTENT_MIN ((size_t)64 << 10)
#define NMC_HEAP_MAGIC 0x50414548434d4e00ull /* "\0NMCHEAP" */
#define NMC_HEAP_VERSION 1

/* The heap record, in pool memory. Addresses are plain (the pool is at one
 * address in every process). Internal fields: use the functions. */
typedef struct nmc_heap {
    uint64_t magic;          /* NMC_HEAP_MAGIC                                */
    uint32_t version;        /* NMC_HEAP_VERSION                              */
    uint32_t broken;         /* 1 once a dead writer left it unrepairable     */
    nmc_mutex lock;          /* the write lock (errorcheck)                   */
    uint64_t pool;           /* the nmc_mempool                               */
    nmc_value root;          /* the root value                                */
    uint64_t extents;        /* first extent (struct nmc_heap_extent)         */
    uint64_t nextents;       /* extents in the list                           */
    uint64_t total_words;    /* words of all extents' block areas             */
    uint64_t free_words;     /* words in free blocks and fragments            */
    uint64_t free_heads[NMC_HEAP_SMALL_WORDS]; /* [k]: free blocks of k words
                                                  (k >= 2); [0]: larger ones */
    uint64_t pins;           /* pin table: array of pin_cap values (pool)     */
    uint64_t pin_cap;        /* its capacity                                  */
    uint64_t pin_count;      /* entries in use (0 = a free slot)              */
    uint32_t free_percent;   /* growth policy                                 */
    uint32_t gc_pacing;      /* HP_GC_* bits (heap_internal.h)                */
    uint64_t gc_runs;        /* collections so far                            */
    uint64_t gc_ns;          /* time spent collecting                         */
    uint64_t foreign;        /* pointers out of the heap seen by the last GC  */
    uint64_t taking;         /* a free block being copied into (0 = none)     */
    uint64_t taking_words;   /* its words (for the dead-writer repair)        */
    uint64_t gc_live_words;  /* words not free after the last collection      */
} nmc_heap;

/* An extent: a header, then `words` words of blocks. */
struct nmc_heap_extent {
    uint64_t next;  /* next extent, 0 at the end */
    uint64_t words; /* words of its block area   */
};

struct nmc_heap_stats {
    uint64_t gc_runs;      /* collections                                  */
    uint64_t gc_ns;        /* nanoseconds spent in them                    */
    uint64_t live_words;   /* words not free                               */
    uint64_t free_words;   /* words free                                   */
    uint64_t extents;      /* extents                                      */
    uint64_t pins;         /* pinned values now                            */
    uint64_t foreign;      /* out-of-heap pointers seen by the last GC     */
};

/* Creates a heap in pool with room for at least size bytes, whose root is
 * a copy of root (a block). NMC_EOUT_OF_POOL_MEMORY if the pool cannot
 * supply size bytes, however large size is. */
int nmc_heap_create(nmc_mempool *pool, size_t size, nmc_value root, nmc_heap **heap);
/* Bytes a heap needs to hold a copy of v (for nmc_heap_create's size). */
int nmc_heap_minimum_size(nmc_value v, size_t *bytes);
/* The root value. */
nmc_value nmc_heap_root(const nmc_heap *heap);
/* A descriptor: names heap in any process that has the pool mapped. */
uint64_t nmc_heap_descr(const nmc_heap *heap);
/* The heap of a descriptor; NMC_EINVAL if d names no heap in pool. */
int nmc_heap_of_descr(nmc_mempool *pool, uint64_t d, nmc_heap **heap);
/* Gives every extent back to the pool. Nobody may use the heap after. */
int nmc_heap_destroy(nmc_heap *heap);
/* Sets the share of the heap kept free after a collection (1..90 %). */
int nmc_heap_set_free_percent(nmc_heap *heap, unsigned percent);

/* ---- writing ----------------------------------------------------------- */

typedef struct nmc_mutator nmc_mutator;

/* Takes the write lock. NMC_EDEADLOCK if this thread holds it already;
 * NMC_ECORRUPT if a dead writer left the heap broken. */
int nmc_heap_modify_begin(nmc_heap *heap, nmc_mutator **mut);
/* Drops the modify's pins and the lock; frees mut. */
int nmc_heap_modify_end(nmc_mutator *mut);
/* begin, fn(mut, ctx), end; fn's status. */
int nmc_heap_modify(nmc_heap *heap, int (*fn)(nmc_mutator *mut, void *ctx), void *ctx);
/* The heap a mutator writes. */
nmc_heap *nmc_heap_of_mutator(const nmc_mutator *mut);

/* Copies v into the heap (immediates and atoms are returned as they are).
 * NMC_EOUT_OF_POOL_MEMORY when the pool cannot grow the heap. */
int nmc_heap_add(nmc_mutator *mut, nmc_value v, nmc_value *out);
/* Like add, but sub-values already in this heap are shared, not copied. */
int nmc_heap_add_immutable(nmc_mutator *mut, nmc_value v, nmc_value *out);
/* A new array of n fields, each x (x is added first if it is a block not
 * in this heap). n = 0 gives the empty array, the atom of tag 0 (OCaml's
 * [||]); n beyond NMC_MAX_WOSIZE is NMC_EINVAL. */
int nmc_heap_add_uniform_array(nmc_mutator *mut, size_t n, nmc_value x, nmc_value *out);
/* A new array of n fields, field i the added result of f(i, ctx); n as
 * for add_uniform_array. */
int nmc_heap_add_init_array(nmc_mutator *mut, size_t n,
                            int (*f)(size_t i, void *ctx, nmc_value *v), void *ctx,
                            nmc_value *out);
/* Some v: a block of tag 0 holding the added v. */
int nmc_heap_add_some(nmc_mutator *mut, nmc_value v, nmc_value *out);
/* A new string of len zero bytes (NMC_EINVAL for a length no block holds:
 * len >= NMC_MAX_WOSIZE * NMC_WORD_SIZE). */
int nmc_heap_add_string(nmc_mutator *mut, size_t len, nmc_value *out);
/* Pins v (a value of this heap) until the end of the modify. */
int nmc_heap_pin(nmc_mutator *mut, nmc_value v);

/* ---- reading ------------------------------------------------------------- */

/* Under the lock, find(heap, ctx, &v) locates a value; it is pinned, the
 * lock dropped, and process(v, ctx) runs; then v is unpinned. Returns
 * find's failure or process's status. */
int nmc_heap_with_value(nmc_heap *heap, int (*find)(nmc_heap *heap, void *ctx, nmc_value *v),
                        int (*process)(nmc_value v, void *ctx), void *ctx);
/* The n-ary form: find fills n values, all pinned while process runs.
 * NMC_EINVAL for n = 0, NMC_ENOMEM if n values cannot be allocated. */
int nmc_heap_with_values(nmc_heap *heap, size_t n,
                         int (*find)(nmc_heap *heap, void *ctx, nmc_value *v),
                         int (*process)(const nmc_value *v, void *ctx), void *ctx);
/* For a number of values known only under the lock: find builds a
 * process-local list (cons cells of tag 0, [x; rest], ending in an
 * immediate) whose elements are heap values, e.g. in an arena it gets
 * through ctx; every element is pinned while process(list, ctx) runs. */
int nmc_heap_with_list(nmc_heap *heap, int (*find)(nmc_heap *heap, void *ctx, nmc_value *list),
                       int (*process)(nmc_value list, void *ctx), void *ctx);
/* A process-local deep copy of v (a heap value the caller keeps alive,
 * e.g. pinned) into arena. */
int nmc_heap_copy(nmc_value v, nmc_arena *arena, nmc_value *out);

/* ---- collection and inspection --------------------------------------------- */

/* A full collection now (takes the lock; NMC_EDEADLOCK inside a modify of
 * this thread: use nmc_heap_gc_in inside). */
int nmc_heap_gc(nmc_heap *heap);
/* A full collection inside a modify. */
int nmc_heap_gc_in(nmc_mutator *mut);
int nmc_heap_stats(nmc_heap *heap, struct nmc_heap_stats *stats);
/* Verifies every extent, block, free list and pin (takes the lock): NMC_OK
 * or NMC_ECORRUPT. */
int nmc_heap_check(nmc_heap *heap);
/* A malloc'ed text: extents, free lists, statistics. */
int nmc_heap_debug_info(nmc_heap *heap, char **text);

#ifdef __cplusplus
}
#endif
#endif
