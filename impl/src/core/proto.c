/* Framed messages over a worker's stream socket: a struct core_msg, then
 * its payload. Sends never raise SIGPIPE (MSG_NOSIGNAL: a dead peer is a
 * status); every call restarts after EINTR. A worker blocks on its
 * messages; the master never does (link.c): it sends and receives a part
 * at a time, as far as the socket allows, and resumes where it stopped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core_internal.h"

int core_send_part(int fd, const struct core_msg *m, const void *payload, size_t *sent,
                   bool block)
{
    size_t hdr = sizeof *m, total = hdr + m->len;
    int flags = MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT);
    /* One sendmsg for header and payload: one system call per message in
     * the common case, more only for a partial send. */
    while (*sent < total) {
        struct iovec iov[2];
        int n = 0;
        if (*sent < hdr)
            iov[n++] = (struct iovec){.iov_base = (char *)m + *sent, .iov_len = hdr - *sent};
        size_t off = *sent > hdr ? *sent - hdr : 0;
        if (m->len > off)
            iov[n++] = (struct iovec){.iov_base = (char *)payload + off, .iov_len = m->len - off};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &mh, flags);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? NMC_EBUSY : NMC_ESYS;
        }
        *sent += (size_t)w;
    }
    return NMC_OK;
}

int core_send(int fd, struct core_msg *m, const void *payload, size_t len)
{
    size_t sent = 0;
    m->len = len;
    return core_send_part(fd, m, payload, &sent, true);
}

/* Reads into buf[*got .. len); NMC_EBUSY if that would block. */
static int recv_some(int fd, void *buf, size_t len, size_t *got, int flags)
{
    while (*got < len) {
        ssize_t n = recv(fd, (char *)buf + *got, len - *got, flags);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? NMC_EBUSY : NMC_ESYS;
        }
        if (n == 0) {
            errno = 0;
            return NMC_ESYS;
        }
        *got += (size_t)n;
    }
    return NMC_OK;
}

int core_recv_part(int fd, struct core_msg *m, void **payload, size_t *got, bool block)
{
    int flags = block ? 0 : MSG_DONTWAIT;
    size_t hdr = sizeof *m;
    if (*got < hdr) {
        int st = recv_some(fd, m, hdr, got, flags);
        if (st != NMC_OK)
            return st;
        if (m->len > core_payload_max())
            return NMC_ECORRUPT;
        if (m->len > 0 && (*payload = malloc(m->len)) == NULL)
            return NMC_ENOMEM;
    }
    size_t done = *got - hdr;
    int st = recv_some(fd, *payload, m->len, &done, flags);
    *got = hdr + done;
    return st;
}

int core_recv(int fd, struct core_msg *m, void **payload)
{
    size_t got = 0;
    *payload = NULL;
    int st = core_recv_part(fd, m, payload, &got, true);
    if (st != NMC_OK) {
        free(*payload);
        *payload = NULL;
    }
    return st;
}
