/* bench/camlbox/chan_fd.c - pipes and Unix datagram sockets as channels.
 *
 * pipe: every sender writes whole messages (atomic up to PIPE_BUF bytes,
 * so 32-byte messages of several senders never interleave); the receiver
 * reads as much as the pipe holds and splits it, keeping a partial message
 * for the next read. unix_socket: a socketpair(AF_UNIX, SOCK_DGRAM); one
 * datagram per message, received in batches with recvmmsg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "nmc/status.h"

enum { PIPE_READ = 1 << 16, BATCH = 64 };

static void fd_destroy(struct chan *c)
{
    close(c->u.fd.fd[0]);
    close(c->u.fd.fd[1]);
}

static int pipe_create(struct chan *c)
{
    return pipe(c->u.fd.fd) == 0 ? NMC_OK : NMC_ESYS;
}

static int dgram_create(struct chan *c)
{
    return socketpair(AF_UNIX, SOCK_DGRAM, 0, c->u.fd.fd) == 0 ? NMC_OK : NMC_ESYS;
}

static int pipe_attach(struct chan *c, bool receiver)
{
    size_t cap = receiver ? PIPE_READ + c->msg_len : c->msg_len;
    c->u.fd.buf = malloc(cap);
    c->u.fd.have = 0;
    return c->u.fd.buf == NULL ? NMC_ENOMEM : NMC_OK;
}

static int dgram_attach(struct chan *c, bool receiver)
{
    c->u.fd.buf = malloc(receiver ? BATCH * c->msg_len : c->msg_len);
    return c->u.fd.buf == NULL ? NMC_ENOMEM : NMC_OK;
}

static unsigned char *fd_buffer(struct chan *c)
{
    return c->u.fd.buf;
}

static int pipe_send(struct chan *c)
{
    for (size_t done = 0; done < c->msg_len;) {
        ssize_t n = write(c->u.fd.fd[1], c->u.fd.buf + done, c->msg_len - done);
        if (n < 0 && errno != EINTR)
            return NMC_ESYS;
        done += n > 0 ? (size_t)n : 0;
    }
    return NMC_OK;
}

static int pipe_recv(struct chan *c, chan_msg_fn fn, void *ctx)
{
    unsigned char *buf = c->u.fd.buf;
    ssize_t n;
    do
        n = read(c->u.fd.fd[0], buf + c->u.fd.have, PIPE_READ);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return NMC_ESYS;
    size_t total = c->u.fd.have + (size_t)n, at = 0;
    int st = NMC_OK;
    for (; st == NMC_OK && total - at >= c->msg_len; at += c->msg_len)
        st = fn(ctx, buf + at, c->msg_len);
    c->u.fd.have = total - at;
    memmove(buf, buf + at, c->u.fd.have);
    return st;
}

static int dgram_send(struct chan *c)
{
    ssize_t n;
    do
        n = send(c->u.fd.fd[1], c->u.fd.buf, c->msg_len, 0);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)c->msg_len ? NMC_OK : NMC_ESYS;
}

static int dgram_recv(struct chan *c, chan_msg_fn fn, void *ctx)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = c->u.fd.buf + (size_t)i * c->msg_len;
        iov[i].iov_len = c->msg_len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n;
    do
        n = recvmmsg(c->u.fd.fd[0], msgs, BATCH, MSG_WAITFORONE, NULL);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return NMC_ESYS;
    int st = NMC_OK;
    for (int i = 0; st == NMC_OK && i < n; i++)
        st = fn(ctx, iov[i].iov_base, msgs[i].msg_len);
    return st;
}

const struct chan_ops chan_pipe = {
    .name = "pipe",
    .create = pipe_create,
    .destroy = fd_destroy,
    .attach = pipe_attach,
    .buffer = fd_buffer,
    .send = pipe_send,
    .recv = pipe_recv,
};

const struct chan_ops chan_unix_socket = {
    .name = "unix_socket",
    .create = dgram_create,
    .destroy = fd_destroy,
    .attach = dgram_attach,
    .buffer = fd_buffer,
    .send = dgram_send,
    .recv = dgram_recv,
};
