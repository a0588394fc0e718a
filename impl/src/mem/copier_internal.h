/* copier_internal.h - private state of the value copier (copier*.c,
 * copy_value.c) and the image layout facts it shares with image_check.c.
 *
 * A copier owns two reusable structures:
 *
 *   visited  open-addressing hash table, source block address -> word
 *            offset of its copy's first field in the buffer. Linear probing,
 *            a power-of-two number of slots, load factor at most 1/2,
 *            Fibonacci hashing of the address (the top bits of address *
 *            2^64/phi). Slots are never deleted; instead the table runs
 *            under a 16-bit stamp kept in each slot's top bits, and a slot
 *            whose stamp is not the current one is empty. A new stamp
 *            therefore empties the table for free; only when the stamp
 *            wraps is the allocation zeroed.
 *            The table in use is a prefix of the allocation. A copy starts
 *            with the size the previous copy ended with and doubles it as
 *            needed: beyond the allocation into a new one, inside it by
 *            moving the live slots to a scratch array, advancing the stamp
 *            and re-inserting them. The next copy starts with the smallest
 *            table that held this one, so copies of similar values do not
 *            regrow it, and after a huge value a small one runs in a
 *            cache-sized table again.
 *   queue    ring buffer (power-of-two capacity, grows by doubling) of the
 *            structured blocks whose copy has a header but no fields yet, in
 *            breadth-first order.
 *
 * The stamp leaves 48 bits for the word offset, so an image is limited to
 * COPIER_MAX_IMAGE bytes (2 PiB); larger requests fail with
 * NMC_EOUT_OF_SPACE.
 */
#ifndef NMC_COPIER_INTERNAL_H
#define NMC_COPIER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/mem.h"

#define COPIER_STAMP_SHIFT 48
#define COPIER_OFF_MASK ((UINT64_C(1) << COPIER_STAMP_SHIFT) - 1)
#define COPIER_MAX_STAMP 0xFFFFu
#define COPIER_MAX_IMAGE ((size_t)COPIER_OFF_MASK * NMC_WORD_SIZE)

/* The pseudo-header that precedes a bigarray's inline data in an image: an
 * Abstract header of wosize 0, followed by one word with the data length in
 * words (OCamlnet's convention, also understood by the shared heap). */
#define COPIER_BA_DATA_HEADER ((nmc_header)NMC_TAG_ABSTRACT)
#define COPIER_BA_DATA_PREFIX (2 * NMC_WORD_SIZE)
/* Words of a bigarray custom block: ops + the 4 fixed words + dims. */
#define COPIER_BA_WOSIZE(nd) ((size_t)5 + (size_t)(nd))

/* The custom kinds a copier knows, by identifier. */
enum copier_custom_kind {
    COPIER_CUSTOM_INT32,     /* "_i"                 */
    COPIER_CUSTOM_INT64,     /* "_j"                 */
    COPIER_CUSTOM_NATIVEINT, /* "_n"                 */
    COPIER_CUSTOM_BIGARRAY,  /* "_bigarr02"          */
    COPIER_CUSTOM_KINDS,     /* count; also: unknown */
};

struct copier_slot {
    uintptr_t key;      /* source block address (its first field)          */
    uint64_t stamp_off; /* stamp << 48 | word offset of the copy in buffer */
};

struct copier_item {
    uintptr_t src; /* source block whose fields are still to copy */
    size_t doff;   /* byte offset of its copy's first field       */
    size_t wosize; /* its field count when it was placed          */
};

struct nmc_copier {
    struct copier_slot *slots;   /* visited table allocation               */
    size_t alloc_slots;          /* slots allocated (a power of two)       */
    unsigned shift;              /* 64 - log2(slots in use, a prefix)      */
    size_t used;                 /* live slots under the current stamp     */
    uint64_t stamp;              /* current stamp, 1 .. COPIER_MAX_STAMP   */
    struct copier_slot *scratch; /* live slots while the table doubles     */
    size_t scratch_cap;          /* entries scratch can hold               */
    struct copier_item *queue; /* ring of pending structured blocks       */
    size_t queue_mask;         /* ring capacity - 1 (capacity power of 2) */
    size_t head;               /* index of the next item to take          */
    size_t tail;               /* index one past the last item added      */
};

/* Starts a new copy: an empty table under a fresh stamp, an empty queue. */
void copier_begin(nmc_copier *c);
/* Ends a copy: adapts the size the next copy's table starts with. */
void copier_end(nmc_copier *c);
/* Doubles the table in use, re-inserting the live slots. NMC_ENOMEM. */
int copier_grow_table(nmc_copier *c);
/* Doubles the queue ring keeping its order. NMC_ENOMEM. */
int copier_grow_queue(nmc_copier *c);

/* This thread's cached copier (taken out of the cache), else a new one.
 * NMC_ENOMEM. */
int copier_cache_take(nmc_copier **out);
/* Returns a copier taken with copier_cache_take (freed if too large or the
 * cache is already refilled). */
void copier_cache_put(nmc_copier *c);

/* Number of slots in use (a power of two). */
static inline size_t copier_slots_in_use(const nmc_copier *c)
{
    return (size_t)1 << (64 - c->shift);
}

/* Slot index of a source address. */
static inline size_t copier_hash(const nmc_copier *c, uintptr_t key)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> c->shift);
}

/* The identifier of each kind ("_i", ...). */
extern const char *const copier_custom_ids[COPIER_CUSTOM_KINDS];
/* The kind named by an identifier, COPIER_CUSTOM_KINDS if none. */
enum copier_custom_kind copier_custom_kind_of(const char *identifier);
/* The ops record to store for a kind: by identifier among opt's target_ops
 * when given, else this process's record; NULL when there is none. */
const struct nmc_custom_ops *copier_target_ops(const struct nmc_copy_options *opt,
                                               enum copier_custom_kind kind);

/* Bytes of a bigarray's data after checking its descriptor: 1..16 dims, a
 * valid kind, no other flag bits than layout and management, non-negative
 * extents, no overflow. NMC_OK or NMC_EINVAL. ba must hold num_dims dims. */
int copier_ba_data_bytes(const struct nmc_bigarray *ba, size_t *bytes);

/* Structured blocks up to this many fields are looked at for pointers. */
#define COPIER_FLAT_MAX 16
/* A root without pointers (a string, float or float array, or a structured
 * block of at most COPIER_FLAT_MAX immediates; not empty): its copy is its
 * block alone and needs no copier. */
bool copier_leaf_root(nmc_value v);

/* Copies v into m at off as nmc_copier_init_value; managed_ba stores
 * NMC_BA_MANAGED instead of NMC_BA_EXTERNAL in copied bigarrays (for
 * nmc_copy_value, whose copy owns its data). c may be NULL: the thread's
 * cached copier is then taken if v is not a leaf root. */
int copier_run(nmc_copier *c, nmc_memory m, size_t off, nmc_value v,
               const struct nmc_copy_options *opt, int managed_ba, size_t *voffset,
               size_t *bytelen);

#endif
