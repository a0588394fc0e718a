/* Memory buffers: blits, page and aligned allocation, file mappings
 * (Netsys_mem's blit_*, alloc_memory_pages, alloc_aligned_memory,
 * memory_map_file).
 *
 * A buffer is a plain (data, len) pair; nothing here remembers buffers, so
 * freeing needs the pair that was handed out. Every range check is written
 * as off <= len && n <= len - off so that no sum can overflow.
 *
 * File mappings follow Bigarray.map_file: a file shorter than pos + size is
 * grown (ftruncate) first; pos need not be page-aligned, in which case the
 * mapping starts at the page holding pos and data points delta bytes into
 * it. Unmapping recovers the page start from data's own misalignment.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_internal.h"
#include "nmc/mem.h"
#include "nmc/status.h"
#include "nmc/sys.h"

/* ---- blits ---------------------------------------------------------------- */

/* Copies len bytes src[srcoff..] to dst[dstoff..]; NMC_EINVAL if either
 * range is outside its buffer or a needed pointer is NULL. */
static int blit(const unsigned char *src, size_t srclen, size_t srcoff, unsigned char *dst,
                size_t dstlen, size_t dstoff, size_t len)
{
    if (!mem_range_ok(srclen, srcoff, len) || !mem_range_ok(dstlen, dstoff, len))
        return NMC_EINVAL;
    if (len == 0)
        return NMC_OK;
    if (src == NULL || dst == NULL)
        return NMC_EINVAL;
    memmove(dst + dstoff, src + srcoff, len);
    return NMC_OK;
}

/* Netsys_mem.blit_memory_to_bytes; NMC_EINVAL for a range outside src or dst. */
int nmc_blit_memory_to_bytes(nmc_memory src, size_t srcoff, void *dst, size_t dstlen,
                             size_t dstoff, size_t len)
{
    return blit(src.data, src.len, srcoff, dst, dstlen, dstoff, len);
}

/* Netsys_mem.blit_bytes_to_memory; NMC_EINVAL for a range outside src or dst. */
int nmc_blit_bytes_to_memory(const void *src, size_t srclen, size_t srcoff, nmc_memory dst,
                             size_t dstoff, size_t len)
{
    return blit(src, srclen, srcoff, dst.data, dst.len, dstoff, len);
}

/* The address of the buffer's first byte. */
uintptr_t nmc_memory_address(nmc_memory m) { return (uintptr_t)m.data; }

/* The system page size. */
size_t nmc_getpagesize(void) { return nmc_sys_pagesize(); }

/* ---- pages and aligned memory ---------------------------------------------- */

/* Anonymous zeroed pages, len rounded up to pages; addr is a page-aligned
 * hint (0: none) that the kernel follows when the range is free. NMC_EINVAL
 * for len 0, an unaligned addr or NULL out; NMC_EOVERFLOW if rounding wraps;
 * NMC_ESYS if mmap fails. */
int nmc_alloc_memory_pages(size_t len, uintptr_t addr, nmc_memory *out)
{
    if (out == NULL || len == 0 || addr % nmc_sys_pagesize() != 0)
        return NMC_EINVAL;
    size_t rounded;
    int st = nmc_sys_round_pages(len, &rounded);
    if (st != NMC_OK)
        return st;
    void *p;
    st = nmc_sys_map_anon(rounded, (void *)addr, &p);
    if (st != NMC_OK)
        return st;
    *out = (nmc_memory){p, rounded};
    return NMC_OK;
}

/* Unmaps a buffer from nmc_alloc_memory_pages; NMC_EINVAL for a NULL or
 * unaligned buffer, NMC_ESYS if munmap fails. */
int nmc_free_memory_pages(nmc_memory m)
{
    if (m.data == NULL || (uintptr_t)m.data % nmc_sys_pagesize() != 0)
        return NMC_EINVAL;
    return nmc_sys_unmap(m.data, m.len);
}

/* size bytes at a multiple of alignment (a power of two, at least the word
 * size). NMC_EINVAL for a bad alignment or NULL out, NMC_ENOMEM if
 * posix_memalign fails. Fresh bytes are 0xAA in debug builds. */
int nmc_alloc_aligned_memory(size_t alignment, size_t size, nmc_memory *out)
{
    if (out == NULL || alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return NMC_EINVAL;
    if (size > PTRDIFF_MAX) { /* no object is that large: do not even ask */
        errno = ENOMEM;
        return NMC_ENOMEM;
    }
    void *p;
    int err = posix_memalign(&p, alignment, size == 0 ? 1 : size);
    if (err != 0) {
        errno = err;
        return NMC_ENOMEM;
    }
#ifndef NDEBUG
    memset(p, 0xAA, size);
#endif
    *out = (nmc_memory){p, size};
    return NMC_OK;
}

/* Frees a buffer from nmc_alloc_aligned_memory (NULL data: nothing). Freed
 * bytes are 0x55 in debug builds. */
void nmc_free_aligned_memory(nmc_memory m)
{
#ifndef NDEBUG
    if (m.data != NULL)
        memset(m.data, 0x55, m.len);
#endif
    free(m.data);
}

/* ---- file mappings ------------------------------------------------------------ */

/* Grows the file behind fd to at least end bytes. */
static int grow_file(int fd, off_t end)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NMC_ESYS;
    if (st.st_size >= end)
        return NMC_OK;
    return !NMC_FAULT(NMC_FAULT_FTRUNCATE, EFBIG) && ftruncate(fd, end) == 0 ? NMC_OK : NMC_ESYS;
}

/* Maps size bytes of fd from pos, growing a shorter file; see nmc/mem.h.
 * size 0 maps nothing (data NULL). NMC_EINVAL for a negative pos or NULL
 * out, NMC_EOVERFLOW if pos + size does not fit off_t, NMC_ESYS (errno
 * kept) if fstat, ftruncate or mmap fails. The mapping comes first (it
 * may reach past the end of the file): a size the address space cannot
 * hold fails before the file is grown for it. */
int nmc_memory_map_file(int fd, off_t pos, uintptr_t addr, bool shared, size_t size,
                        nmc_memory *out)
{
    if (out == NULL || pos < 0)
        return NMC_EINVAL;
    if (size > (size_t)INT64_MAX || pos > INT64_MAX - (off_t)size)
        return NMC_EOVERFLOW;
    if (size == 0) {
        *out = (nmc_memory){NULL, 0};
        return NMC_OK;
    }
    size_t delta = (size_t)pos % nmc_sys_pagesize();
    if (size > SIZE_MAX - delta)
        return NMC_EOVERFLOW;
    void *hint = addr >= delta ? (void *)(addr - delta) : NULL;
    void *p = NMC_FAULT(NMC_FAULT_MMAP, ENOMEM)
                  ? MAP_FAILED
                  : mmap(hint, size + delta, PROT_READ | PROT_WRITE,
                         shared ? MAP_SHARED : MAP_PRIVATE, fd, pos - (off_t)delta);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    int st = grow_file(fd, pos + (off_t)size);
    if (st != NMC_OK) {
        int saved = errno;
        munmap(p, size + delta);
        errno = saved;
        return st;
    }
    *out = (nmc_memory){(unsigned char *)p + delta, size};
    return NMC_OK;
}

/* Removes a mapping made by nmc_memory_map_file and clears *m; a buffer
 * already unmapped (data NULL) is left alone. NMC_EINVAL for NULL m,
 * NMC_ESYS if munmap fails. */
int nmc_memory_unmap_file(nmc_memory *m)
{
    if (m == NULL)
        return NMC_EINVAL;
    if (m->data == NULL)
        return NMC_OK;
    size_t delta = (uintptr_t)m->data % nmc_sys_pagesize();
    int st = nmc_sys_unmap(m->data - delta, m->len + delta);
    if (st == NMC_OK)
        *m = (nmc_memory){NULL, 0};
    return st;
}
