/* mmap helpers.
 *
 * A fixed mapping uses MAP_FIXED_NOREPLACE, so it can never replace a
 * mapping that is already there (plain MAP_FIXED silently would). Kernels
 * before 4.17 do not know the flag and treat the address as a hint; the
 * result is therefore compared with the request, and a mapping that landed
 * elsewhere is undone and reported as EEXIST, as a newer kernel would.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#include "nmc/status.h"
#include "nmc/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* mmap with the fixed-placement check above; NMC_ESYS (errno kept) on
 * failure, NMC_EINVAL for an unaligned fixed address. */
static int map_checked(void *addr, size_t len, int flags, int fd, off_t pos, bool fixed,
                       void **out)
{
    if (fixed && (addr == NULL || (uintptr_t)addr % nmc_sys_pagesize() != 0))
        return NMC_EINVAL;
    if (fixed)
        flags |= MAP_FIXED_NOREPLACE;
    void *p = NMC_FAULT(NMC_FAULT_MMAP, ENOMEM)
                  ? MAP_FAILED
                  : mmap(addr, len, PROT_READ | PROT_WRITE, flags, fd, pos);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    if (fixed && p != addr) {
        munmap(p, len);
        errno = EEXIST;
        return NMC_ESYS;
    }
    *out = p;
    return NMC_OK;
}

/* Shared read-write mapping of len bytes of fd at pos (page-aligned). With
 * fixed, exactly at addr or NMC_ESYS/EEXIST; otherwise addr is a hint.
 * NMC_EINVAL for len 0, a negative or unaligned pos, or a NULL out. */
int nmc_sys_map(int fd, size_t len, off_t pos, void *addr, bool fixed, void **out)
{
    if (out == NULL || len == 0 || pos < 0 || (size_t)pos % nmc_sys_pagesize() != 0)
        return NMC_EINVAL;
    return map_checked(addr, len, MAP_SHARED, fd, pos, fixed, out);
}

/* Anonymous private read-write pages, len rounded up to pages, addr a hint.
 * NMC_EINVAL for len 0, NMC_EOVERFLOW if rounding wraps, NMC_ESYS if mmap
 * fails. */
int nmc_sys_map_anon(size_t len, void *addr, void **out)
{
    if (out == NULL || len == 0)
        return NMC_EINVAL;
    size_t rounded;
    int st = nmc_sys_round_pages(len, &rounded);
    if (st != NMC_OK)
        return st;
    return map_checked(addr, rounded, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, false, out);
}

/* Removes the pages of [addr, addr+len); NMC_EINVAL for NULL or len 0,
 * NMC_ESYS if munmap fails (e.g. an unaligned addr). */
int nmc_sys_unmap(void *addr, size_t len)
{
    if (addr == NULL || len == 0)
        return NMC_EINVAL;
    return munmap(addr, len) == 0 ? NMC_OK : NMC_ESYS;
}
