/* Framed messages over a worker's stream socket: a struct core_msg, then
 * its payload. Sends never raise SIGPIPE (MSG_NOSIGNAL: a dead peer is a
 * status); every call restarts after EINTR. The master receives with a
 * timeout (it calls only when the socket is readable, and a message that
 * stalls past timeout_ms drops the worker, which cannot hold it forever);
 * a worker blocks.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core_internal.h"

int core_send(int fd, struct core_msg *m, const void *payload, size_t len)
{
    m->len = len;
    /* One sendmsg for header and payload: one system call per message in
     * the common case, the loop only for a partial send. */
    struct iovec iov[2] = {{.iov_base = m, .iov_len = sizeof *m},
                           {.iov_base = (void *)payload, .iov_len = len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1};
    while (mh.msg_iovlen > 0) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return NMC_ESYS;
        }
        while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
            n -= (ssize_t)mh.msg_iov->iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen > 0) {
            mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
            mh.msg_iov->iov_len -= (size_t)n;
        }
    }
    return NMC_OK;
}

/* Waits until fd is readable, up to timeout_ms (-1: forever). */
static int await_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int n = poll(&pfd, 1, timeout_ms);
        if (n > 0)
            return NMC_OK;
        if (n == 0)
            return NMC_ETIMEDOUT;
        if (errno != EINTR)
            return NMC_ESYS;
    }
}

/* Reads exactly len bytes. With a timeout the reads do not block and a
 * poll waits in between; without, they block. At end-of-file: NMC_ESYS
 * with errno 0. */
static int recv_all(int fd, void *buf, size_t len, int timeout_ms)
{
    char *p = buf;
    int flags = timeout_ms >= 0 ? MSG_DONTWAIT : 0;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, flags);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return NMC_ESYS;
            int st = await_readable(fd, timeout_ms);
            if (st != NMC_OK)
                return st;
            continue;
        }
        if (n == 0) {
            errno = 0;
            return NMC_ESYS;
        }
        p += n;
        len -= (size_t)n;
    }
    return NMC_OK;
}

int core_recv(int fd, struct core_msg *m, void **payload, int timeout_ms)
{
    *payload = NULL;
    int st = recv_all(fd, m, sizeof *m, timeout_ms);
    if (st != NMC_OK)
        return st;
    if (m->len == 0)
        return NMC_OK;
    if (m->len > core_payload_max())
        return NMC_ECORRUPT;
    void *p = malloc(m->len);
    if (p == NULL)
        return NMC_ENOMEM;
    st = recv_all(fd, p, m->len, timeout_ms);
    if (st != NMC_OK) {
        free(p);
        return st;
    }
    *payload = p;
    return NMC_OK;
}
