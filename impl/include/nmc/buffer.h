/* nmc/buffer.h - shared byte buffers (Netmcore_buffer).
 *
 * A growable byte buffer in a heap of its own (nmc/heap.h), with a user
 * header value. The bytes live in blocks of a fixed size (strings of
 * bsize bytes, given at creation) kept in a ring: adding fills the last
 * block and appends new ones, delete_hd drops bytes from the front and
 * gives whole blocks back to the heap's collector, so a buffer used as a
 * FIFO of bytes stays small.
 *
 * Positions are absolute, as in the original: the first byte is at
 * nmc_buffer_start (0 at creation, advanced by delete_hd and clear) and
 * the buffer holds the bytes [start, start + length). Reading outside
 * gives NMC_EINVAL. Positions are OCaml ints: an add that would take the
 * end past NMC_MAX_LONG gives NMC_EOVERFLOW and adds nothing.
 *
 * Writers (add_*, delete_hd, clear) take the heap's write lock, and so do
 * the readers that copy bytes out (contents, sub, blit_to_*): they see a
 * consistent buffer. access runs its callback on the block holding a
 * position, pinned, without the lock. length and start read one word
 * without the lock.
 *
 * Handles and descriptors: an nmc_buffer pointer is valid in every process
 * that inherits the pool; nmc_buffer_descr / _of_descr name it in
 * messages.
 *
 * Module prefix: nmc_buffer_.
 */
#ifndef NMC_BUFFER_H
#define NMC_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_buffer nmc_buffer;

/* A new empty buffer in pool with blocks of bsize bytes (1..NMC_MAX_LONG,
 * else NMC_EINVAL) and a copy of header. */
int nmc_buffer_create(nmc_mempool *pool, size_t bsize, nmc_value header, nmc_buffer **out);
/* All bytes as a new string in arena. */
int nmc_buffer_contents(nmc_buffer *b, nmc_arena *arena, nmc_value *out);
/* The len bytes from position pos as a new string in arena. */
int nmc_buffer_sub(nmc_buffer *b, size_t pos, size_t len, nmc_arena *arena, nmc_value *out);
/* Copies len bytes from position pos into the string bytes at offset off
 * (NMC_EINVAL if they do not fit there). */
int nmc_buffer_blit_to_bytes(nmc_buffer *b, size_t pos, nmc_value bytes, size_t off, size_t len);
/* Copies len bytes from position pos to mem. */
int nmc_buffer_blit_to_memory(nmc_buffer *b, size_t pos, void *mem, size_t len);
/* Appends the string s, its bytes [off, off + len), or len bytes of mem. */
int nmc_buffer_add_string(nmc_buffer *b, nmc_value s);
int nmc_buffer_add_substring(nmc_buffer *b, nmc_value s, size_t off, size_t len);
int nmc_buffer_add_submemory(nmc_buffer *b, const void *mem, size_t len);
/* Drops the first n bytes (n <= length). */
int nmc_buffer_delete_hd(nmc_buffer *b, size_t n);
/* Drops every byte. */
int nmc_buffer_clear(nmc_buffer *b);
size_t nmc_buffer_length(const nmc_buffer *b);
size_t nmc_buffer_start(const nmc_buffer *b);
/* fn(s, off, len, ctx) with s the block (a string) holding position pos,
 * pinned: s's bytes [off, off + len) are the buffer's from pos on (to the
 * end of the block or of the buffer). fn's status. */
int nmc_buffer_access(nmc_buffer *b, size_t pos,
                      int (*fn)(nmc_value s, size_t off, size_t len, void *ctx), void *ctx);
/* The header value (in the heap; never replaced). */
int nmc_buffer_header(const nmc_buffer *b, nmc_value *header);

nmc_heap *nmc_buffer_heap(nmc_buffer *b);
uint64_t nmc_buffer_descr(const nmc_buffer *b);
int nmc_buffer_of_descr(nmc_mempool *pool, uint64_t d, nmc_buffer **out);
/* Gives the heap back to the pool; nobody may use b afterwards. */
int nmc_buffer_destroy(nmc_buffer *b);

#ifdef __cplusplus
}
#endif
#endif
