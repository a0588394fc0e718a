/* bench/camlbox/chan_mq.c - a POSIX message queue as a channel: mq_send /
 * mq_receive of one message each, depth messages deep (as root; the
 * default limit of 10 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chan.h"
#include "nmc/status.h"

static int mq_create(struct chan *c)
{
    snprintf(c->u.mq.name, sizeof c->u.mq.name, "/nmcbench_mq%ld_%d", (long)getpid(), c->id);
    struct mq_attr attr = {.mq_maxmsg = c->depth, .mq_msgsize = (long)c->msg_len};
    mqd_t q = mq_open(c->u.mq.name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q == (mqd_t)-1 && errno == EINVAL) {
        attr.mq_maxmsg = 10;
        q = mq_open(c->u.mq.name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    }
    if (q == (mqd_t)-1) {
        long most = 0;
        FILE *f = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");
        if (f != NULL && fscanf(f, "%ld", &most) == 1 && attr.mq_msgsize > most)
            snprintf(c->why, sizeof c->why,
                     "%zu-byte messages: above /proc/sys/fs/mqueue/msgsize_max (%ld)",
                     c->msg_len, most);
        if (f != NULL)
            fclose(f);
        return NMC_ESYS;
    }
    c->u.mq.q = q;
    mq_unlink(c->u.mq.name); /* workers inherit the descriptor */
    return NMC_OK;
}

static void mq_destroy(struct chan *c)
{
    mq_close(c->u.mq.q);
}

static int mq_attach(struct chan *c, bool receiver)
{
    c->u.mq.buf = malloc(c->msg_len);
    return c->u.mq.buf == NULL ? NMC_ENOMEM : NMC_OK;
}

static unsigned char *mq_buffer(struct chan *c)
{
    return c->u.mq.buf;
}

static int mq_send_one(struct chan *c)
{
    int rc;
    do
        rc = mq_send(c->u.mq.q, (const char *)c->u.mq.buf, c->msg_len, 0);
    while (rc < 0 && errno == EINTR);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static int mq_recv(struct chan *c, chan_msg_fn fn, void *ctx)
{
    ssize_t n;
    do
        n = mq_receive(c->u.mq.q, (char *)c->u.mq.buf, c->msg_len, NULL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? NMC_ESYS : fn(ctx, c->u.mq.buf, (size_t)n);
}

const struct chan_ops chan_posix_mq = {
    .name = "posix_mq",
    .create = mq_create,
    .destroy = mq_destroy,
    .attach = mq_attach,
    .buffer = mq_buffer,
    .send = mq_send_one,
    .recv = mq_recv,
};
