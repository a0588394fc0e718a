/* Committing backing store: posix_fallocate on the object behind an fd.
 *
 * posix_fallocate returns its error number instead of setting errno; it is
 * copied into errno so NMC_ESYS keeps its contract. EINTR is retried (a
 * large allocation on tmpfs can be interrupted by a signal).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "nmc/status.h"
#include "nmc/sys.h"

/* Allocates [off, off+len) of fd's file. NMC_OK (also for len 0),
 * NMC_ENOSPC if the file system is full, NMC_EINVAL for negative
 * arguments, NMC_EOVERFLOW if off + len overflows, else NMC_ESYS with errno
 * set. */
int nmc_sys_commit(int fd, off_t off, off_t len)
{
    if (off < 0 || len < 0)
        return NMC_EINVAL;
    if (len == 0)
        return NMC_OK;
    if (off > INT64_MAX - len)
        return NMC_EOVERFLOW;
    int err;
    do
        err = NMC_FAULT(NMC_FAULT_FALLOCATE, ENOSPC) ? ENOSPC : posix_fallocate(fd, off, len);
    while (err == EINTR);
    if (err == 0)
        return NMC_OK;
    errno = err;
    return err == ENOSPC ? NMC_ENOSPC : NMC_ESYS;
}
