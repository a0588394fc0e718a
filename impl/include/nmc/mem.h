/* nmc/mem.h - memory buffers and the value copier (OCamlnet's Netsys_mem).
 *
 * A memory buffer is a plain (data, len) pair. The copier (nmc_init_value)
 * writes an image of a value graph into a buffer: blocks in breadth-first
 * order from the root, the root's header at the given offset, pointers
 * relocated to the address the buffer will be mapped at (target_addr). The
 * image layout matches OCamlnet 4.1.9's netsys_init_value bit for bit.
 * The copier keeps no global state (re-entrant), uses no recursion (any depth
 * copies), preserves sharing and cycles, and never writes outside
 * [mem + off, mem + len).
 *
 * nmc_image_check is the other half: it decides whether a buffer somebody
 * else filled is a well-formed image, reading nothing outside it. Only an
 * image it accepts is safe to use as a value.
 */
#ifndef NMC_MEM_H
#define NMC_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nmc/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_memory {
    unsigned char *data; /* first byte            */
    size_t len;          /* length in bytes       */
} nmc_memory;

/* ---- blits (NMC_EINVAL when a range is outside its buffer) ---------------- */
int nmc_blit_memory_to_bytes(nmc_memory src, size_t srcoff, void *dst, size_t dstlen,
                             size_t dstoff, size_t len);
int nmc_blit_bytes_to_memory(const void *src, size_t srclen, size_t srcoff, nmc_memory dst,
                             size_t dstoff, size_t len);
/* memory_address */
uintptr_t nmc_memory_address(nmc_memory m);
/* getpagesize */
size_t nmc_getpagesize(void);

/* ---- allocation and mapping ---------------------------------------------- */
/* Whole anonymous pages (len rounded up); addr is a page-aligned hint or 0.
 * Check nmc_memory_address for where it landed. Free with
 * nmc_free_memory_pages. */
int nmc_alloc_memory_pages(size_t len, uintptr_t addr, nmc_memory *out);
int nmc_free_memory_pages(nmc_memory m);
/* size bytes aligned to alignment (a power of two >= word size); free with
 * nmc_free_aligned_memory. */
int nmc_alloc_aligned_memory(size_t alignment, size_t size, nmc_memory *out);
void nmc_free_aligned_memory(nmc_memory m);
/* Maps size bytes of fd from pos (grows a shorter file as Bigarray.map_file
 * does; a failure leaves it as it was); shared = MAP_SHARED, else private.
 * addr is a hint or 0. NMC_EOVERFLOW if pos + size does not fit off_t. */
int nmc_memory_map_file(int fd, off_t pos, uintptr_t addr, bool shared, size_t size,
                        nmc_memory *out);
int nmc_memory_unmap_file(nmc_memory *m); /* sets m->data = NULL, m->len = 0 */

/* ---- values in buffers ---------------------------------------------------- */
/* as_value: the value whose first field is at mem + off (unchecked, like the
 * original; use nmc_image_check first for untrusted buffers). */
nmc_value nmc_as_value(nmc_memory m, size_t off);
/* value_area: in OCaml, registers a buffer so that polymorphic compare and
 * hash accept values inside it. There is no runtime to inform here: every
 * nmc_ structural operation already works on values anywhere, so this only
 * checks that the buffer is word-aligned and non-empty (NMC_EINVAL). */
int nmc_value_area(nmc_memory m);
/* String.compare on values wherever they live. */
int nmc_cmp_string(nmc_value a, nmc_value b);

/* Header of a block of wosize words with tag at mem + off (off word-aligned,
 * the block must fit). */
int nmc_init_header(nmc_memory m, size_t off, unsigned tag, size_t wosize);
/* A String of len bytes at off; *voffset = off + 8, *bytelen = bytes used. */
int nmc_init_string(nmc_memory m, size_t off, size_t len, size_t *voffset, size_t *bytelen);
size_t nmc_init_string_bytelen(size_t len);
/* A block of n fields (tag 0, fields = unit). */
int nmc_init_array(nmc_memory m, size_t off, size_t n, size_t *voffset, size_t *bytelen);
size_t nmc_init_array_bytelen(size_t n);
/* A Double_array of n zeros. */
int nmc_init_float_array(nmc_memory m, size_t off, size_t n, size_t *voffset, size_t *bytelen);
size_t nmc_init_float_array_bytelen(size_t n);

/* ---- the copier ------------------------------------------------------------ */
enum nmc_copy_flag {
    NMC_COPY_BIGARRAY = 1,       /* copy bigarrays, data inline after the block  */
    NMC_COPY_CUSTOM_INT = 2,     /* copy int32 / int64 / nativeint customs        */
    NMC_COPY_ATOM = 4,           /* copy atoms as real zero-size blocks           */
    NMC_COPY_SIMULATE = 8,       /* write nothing, only compute the byte length  */
    NMC_COPY_CONDITIONALLY = 16, /* leave pointers into the given ranges alone   */
    NMC_KEEP_ATOM = 32,          /* keep pointers to atoms as they are            */
};

struct nmc_addr_range {
    uintptr_t start; /* first byte          */
    uintptr_t end;   /* one past last byte  */
};

struct nmc_copy_options {
    unsigned flags;                                /* enum nmc_copy_flag, or-ed        */
    uintptr_t target_addr;                         /* where mem will be mapped; 0: mem */
    const struct nmc_custom_ops *const *target_ops; /* ops to store, by identifier;
                                                       NULL: this process's          */
    size_t n_target_ops;
    const struct nmc_addr_range *ranges;           /* for NMC_COPY_CONDITIONALLY     */
    size_t n_ranges;
};

/* Reusable copier state (hash table of visited blocks, queue). Optional: it
 * saves allocations when copying many values; one per thread. */
typedef struct nmc_copier nmc_copier;
int nmc_copier_create(nmc_copier **out);
void nmc_copier_destroy(nmc_copier *c);

/* Copies v into m at off (word-aligned), as OCamlnet's init_value. opt may be
 * NULL (no flags, target = m). It borrows a per-thread cached nmc_copier
 * (freed at thread exit; a nested call gets a temporary one), so repeated
 * calls do not pay for a fresh visited-block table. On success *voffset = off + 8 is the root's
 * offset and *bytelen the bytes used. v must be a block. Errors:
 * NMC_EINVAL (v immediate, off misaligned or past the end), NMC_EOUT_OF_SPACE
 * (does not fit; nothing is written past m.data + m.len), NMC_EUNSUPPORTED
 * (closure, object, lazy, forward, infix, abstract (as OCamlnet: no flag
 * allows it; an Abstract header marks bigarray data in an image), custom or
 * atom without its flag, unknown custom identifier, mapped-file bigarray),
 * NMC_ENOMEM. */
int nmc_init_value(nmc_memory m, size_t off, nmc_value v, const struct nmc_copy_options *opt,
                   size_t *voffset, size_t *bytelen);
/* The same with caller-provided state. */
int nmc_copier_init_value(nmc_copier *c, nmc_memory m, size_t off, nmc_value v,
                          const struct nmc_copy_options *opt, size_t *voffset, size_t *bytelen);
/* copy_value: a deep copy of v into the arena (flags as above, SIMULATE and
 * CONDITIONALLY excepted); immediates are returned as they are. */
int nmc_copy_value(nmc_arena *arena, unsigned flags, nmc_value v, nmc_value *out);

/* ---- the image verifier ------------------------------------------------------ */
/* Checks that bytes [off, off + bytelen) of m hold a well-formed image whose
 * root value is at voffset and whose pointers were relocated for the buffer
 * being mapped at target_addr (0: m itself): every header fits and has a
 * copyable tag, every pointer field hits a block start inside the image or
 * one of this process's atoms (or a range in opt's ranges, if any), strings
 * are correctly padded, custom blocks carry a known ops record (by the
 * target_ops in opt, else this process's), bigarrays have 1..16 dimensions,
 * a valid kind and their data inline in the image; no size computation can
 * overflow. Reads nothing outside [m.data + off, m.data + off + bytelen).
 * Returns NMC_OK or NMC_ECORRUPT (NMC_EINVAL for bad arguments, NMC_ENOMEM
 * if its block-start bitmap, bytelen / 64 bytes, cannot be allocated). Only
 * opt->target_addr, target_ops and ranges are used. */
int nmc_image_check(nmc_memory m, size_t off, size_t bytelen, size_t voffset,
                    const struct nmc_copy_options *opt);
/* nmc_image_check of an image that was made for opt->target_addr but lies
 * at m.data + off (copied there), and if it passes, moves it: every
 * pointer into the image, and a bigarray's data pointer, is shifted to
 * where the image lies, so m.data + voffset is then a value (atoms and
 * range pointers stay). The buffer must be private to the caller for the
 * call (nobody else writes it); after NMC_ECORRUPT its contents are
 * undefined. Same statuses as nmc_image_check. */
int nmc_image_move(nmc_memory m, size_t off, size_t bytelen, size_t voffset,
                   const struct nmc_copy_options *opt);

/* ---- I/O on memory buffers (Unix.read / single_write / recv / send) -------- */
/* Each returns the byte count (>= 0) in *done; EINTR is retried; failures are
 * NMC_ESYS with errno kept; ranges outside m are NMC_EINVAL. */
int nmc_mem_read(int fd, nmc_memory m, size_t off, size_t len, size_t *done);
int nmc_mem_write(int fd, nmc_memory m, size_t off, size_t len, size_t *done);
int nmc_mem_recv(int fd, nmc_memory m, size_t off, size_t len, int flags, size_t *done);
int nmc_mem_send(int fd, nmc_memory m, size_t off, size_t len, int flags, size_t *done);

/* ---- pools of same-size page-aligned blocks (memory_pool) ------------------ */
/* Blocks come from larger mmap'ed chunks; a freed block returns to its pool;
 * a chunk whose blocks are all free is unmapped. Thread-safe. */
typedef struct nmc_block_pool nmc_block_pool;
/* block_size: a positive multiple of the page size. */
int nmc_block_pool_create(size_t block_size, nmc_block_pool **out);
void nmc_block_pool_destroy(nmc_block_pool *p); /* unmaps everything */
int nmc_block_pool_alloc(nmc_block_pool *p, nmc_memory *out);
int nmc_block_pool_free(nmc_block_pool *p, nmc_memory m); /* NMC_EINVAL if not ours */
size_t nmc_block_pool_block_size(const nmc_block_pool *p);
/* The process-wide pool of 64 KiB blocks (created on first use). */
nmc_block_pool *nmc_default_block_pool(void);
/* A malloc'ed text describing the pool (chunks, blocks, free); caller frees. */
char *nmc_block_pool_report(const nmc_block_pool *p);

#ifdef __cplusplus
}
#endif
#endif
