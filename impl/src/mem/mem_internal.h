/* mem_internal.h - small helpers shared by the buffer, block and I/O files
 * of the mem module (buffers.c, init_blocks.c, io.c). */
#ifndef NMC_MEM_INTERNAL_H
#define NMC_MEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* True if [off, off + len) lies inside a buffer of buflen bytes; written so
 * that no sum can wrap. */
static inline bool mem_range_ok(size_t buflen, size_t off, size_t len)
{
    return off <= buflen && len <= buflen - off;
}

#endif
