/* bench/camlbox/chan_nmc.c - the camlbox as a channel: each message is a
 * string value of msg_len bytes, read in place by the receiver. The parent
 * creates the box (workers inherit the receiver's mapping); each sender
 * maps it afresh by name, as an unrelated process would. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "chan.h"
#include "nmc/camlbox.h"
#include "nmc/status.h"
#include "nmc/sys.h"

enum { BATCH = 256 };

static int nmc_create(struct chan *c)
{
    snprintf(c->u.nmc.name, sizeof c->u.nmc.name, "/nmcbench_cb%ld_%d", (long)getpid(), c->id);
    size_t image = 8 + (c->msg_len / 8 + 1) * 8; /* header + text and padding */
    return nmc_camlbox_create(c->u.nmc.name, c->depth, image, &c->u.nmc.box);
}

static void nmc_destroy(struct chan *c)
{
    nmc_camlbox_close(c->u.nmc.box);
    nmc_camlbox_unlink(c->u.nmc.name);
}

static int nmc_attach(struct chan *c, bool receiver)
{
    if (receiver)
        return NMC_OK;
    nmc_value msg = NMC_VAL_UNIT;
    int st = nmc_camlbox_sender_open(c->u.nmc.name, &c->u.nmc.sender);
    if (st == NMC_OK)
        st = nmc_arena_create(&c->u.nmc.arena);
    unsigned char *zeros = calloc(1, c->msg_len);
    if (st == NMC_OK)
        st = zeros == NULL ? NMC_ENOMEM : nmc_alloc_string(c->u.nmc.arena, zeros, c->msg_len, &msg);
    free(zeros);
    c->u.nmc.msg = msg;
    return st;
}

static unsigned char *nmc_buffer(struct chan *c)
{
    return (unsigned char *)c->u.nmc.msg;
}

static int nmc_send(struct chan *c)
{
    return nmc_camlbox_send(c->u.nmc.sender, c->u.nmc.msg, NMC_CAMLBOX_ANY_SLOT, NULL);
}

static int nmc_recv(struct chan *c, chan_msg_fn fn, void *ctx)
{
    uint32_t slots[BATCH];
    size_t n;
    int st = nmc_camlbox_wait(c->u.nmc.box, slots, BATCH, &n);
    for (size_t i = 0; st == NMC_OK && i < n; i++) {
        nmc_value v;
        st = nmc_camlbox_get(c->u.nmc.box, slots[i], &v);
        if (st == NMC_OK)
            st = fn(ctx, (const unsigned char *)v, nmc_string_length(v));
        if (st == NMC_OK)
            st = nmc_camlbox_delete(c->u.nmc.box, slots[i]);
    }
    return st;
}

const struct chan_ops chan_nmc = {
    .name = "nmc",
    .create = nmc_create,
    .destroy = nmc_destroy,
    .attach = nmc_attach,
    .buffer = nmc_buffer,
    .send = nmc_send,
    .recv = nmc_recv,
};
