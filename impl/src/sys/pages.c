/* Page size and page rounding.
 *
 * The page size never changes while a process runs, so it is read from
 * sysconf once and cached in an atomic word: every thread that races on the
 * first call stores the same value, so the race is benign.
 */
#include <stdatomic.h>
#include <unistd.h>

#include "nmc/status.h"
#include "nmc/sys.h"

static atomic_size_t cached_pagesize; /* 0 until first read */

/* The system page size; sysconf cannot fail for _SC_PAGESIZE on Linux, and
 * 4096 is used should it ever report nonsense. */
size_t nmc_sys_pagesize(void)
{
    size_t ps = atomic_load_explicit(&cached_pagesize, memory_order_relaxed);
    if (ps != 0)
        return ps;
    long v = sysconf(_SC_PAGESIZE);
    ps = v > 0 ? (size_t)v : 4096;
    atomic_store_explicit(&cached_pagesize, ps, memory_order_relaxed);
    return ps;
}

/* len rounded up to a multiple of the page size; NMC_EOVERFLOW if that does
 * not fit a size_t, NMC_EINVAL for a NULL out-parameter. */
int nmc_sys_round_pages(size_t len, size_t *rounded)
{
    if (rounded == NULL)
        return NMC_EINVAL;
    size_t mask = nmc_sys_pagesize() - 1;
    if (len > SIZE_MAX - mask)
        return NMC_EOVERFLOW;
    *rounded = (len + mask) & ~mask;
    return NMC_OK;
}
