/* Private interface of shared buffers (nmc/buffer.h).
 *
 * Root fields (ds.h): start and length (absolute positions, as the API),
 * bsize, and the ring: an array of cap slots of which n, from head on
 * (modulo cap), hold the blocks (strings of bsize bytes). base is the
 * position of the head block's first byte; the blocks cover
 * [base, base + n * bsize) and base <= start <= start + length <=
 * base + n * bsize.
 *
 * Files: buffer.c (create, descriptors, writers), read.c (readers).
 */
#ifndef NMC_BUFFER_INTERNAL_H
#define NMC_BUFFER_INTERNAL_H

#include <stdbool.h>

#include "ds.h"
#include "nmc/buffer.h"

#define HEAP(b) ((nmc_heap *)(b))

enum { B_START, B_LENGTH, B_BSIZE, B_RING, B_HEAD, B_NBLOCKS, B_BASE, B_FIELDS };

/* A root field as a size (all but B_RING are immediates). */
static inline size_t buf_get(const nmc_heap *h, int field)
{
    return (size_t)nmc_long_val(ds_fields(h)[field]);
}

static inline void buf_set(nmc_heap *h, int field, size_t x)
{
    ds_fields(h)[field] = nmc_val_long(x);
}

/* The block holding position pos (base <= pos < base + n * bsize) and
 * pos's offset in it. */
static inline nmc_value buf_block(const nmc_heap *h, size_t pos, size_t *off)
{
    size_t rel = pos - buf_get(h, B_BASE), bsize = buf_get(h, B_BSIZE);
    nmc_value ring = ds_fields(h)[B_RING];
    *off = rel % bsize;
    return nmc_field(ring, (buf_get(h, B_HEAD) + rel / bsize) % nmc_wosize_val(ring));
}

/* Whether s is a string with the bytes [off, off + len). */
static inline bool buf_fits_string(nmc_value s, size_t off, size_t len)
{
    return s != 0 && !nmc_is_long(s) && nmc_tag_val(s) == NMC_TAG_STRING &&
           off <= nmc_string_length(s) && len <= nmc_string_length(s) - off;
}

#endif
