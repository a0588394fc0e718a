/* I/O on memory buffers: Netsys_mem.mem_read / mem_write / mem_recv /
 * mem_send, i.e. Unix.read, single_write, recv and send on a range of a
 * buffer. One system call each (no loop for short counts, like the
 * originals), retried only when a signal interrupted it before any byte
 * moved (EINTR).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mem_internal.h"
#include "nmc/mem.h"
#include "nmc/status.h"

enum io_op { IO_READ, IO_WRITE, IO_RECV, IO_SEND };

/* One call of op on fd over [m.data + off, +len), retrying EINTR. */
static int mem_io(enum io_op op, int fd, nmc_memory m, size_t off, size_t len, int flags,
                  size_t *done)
{
    if (done == NULL || !mem_range_ok(m.len, off, len) || (m.data == NULL && len > 0))
        return NMC_EINVAL;
    unsigned char *p = m.data == NULL ? NULL : m.data + off;
    ssize_t n;
    do {
        switch (op) {
        case IO_READ:
            n = read(fd, p, len);
            break;
        case IO_WRITE:
            n = write(fd, p, len);
            break;
        case IO_RECV:
            n = recv(fd, p, len, flags);
            break;
        default:
            n = send(fd, p, len, flags);
            break;
        }
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return NMC_ESYS;
    *done = (size_t)n;
    return NMC_OK;
}

/* read(2) into the range; *done = bytes read (0 at end of file). NMC_EINVAL
 * for a range outside m, NMC_ESYS (errno kept) if read fails. */
int nmc_mem_read(int fd, nmc_memory m, size_t off, size_t len, size_t *done)
{
    return mem_io(IO_READ, fd, m, off, len, 0, done);
}

/* One write(2) of the range; *done = bytes written. Errors as nmc_mem_read. */
int nmc_mem_write(int fd, nmc_memory m, size_t off, size_t len, size_t *done)
{
    return mem_io(IO_WRITE, fd, m, off, len, 0, done);
}

/* recv(2) into the range with flags (MSG_...). Errors as nmc_mem_read. */
int nmc_mem_recv(int fd, nmc_memory m, size_t off, size_t len, int flags, size_t *done)
{
    return mem_io(IO_RECV, fd, m, off, len, flags, done);
}

/* send(2) of the range with flags (MSG_...). Errors as nmc_mem_read. */
int nmc_mem_send(int fd, nmc_memory m, size_t off, size_t len, int flags, size_t *done)
{
    return mem_io(IO_SEND, fd, m, off, len, flags, done);
}
