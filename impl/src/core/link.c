/* The master's end of a worker's socket: it never blocks.
 *
 * The master serves every worker from one thread, so one worker must not be
 * able to hold it: not by leaving its replies unread, not by trickling a
 * request, not by being stopped while a large result is sent to it. So
 * each link keeps the request being received (served once complete) and a
 * queue of messages being sent (resumed when the socket is writable), and
 * every message under way has a deadline, core.stall_ms from its first
 * byte (a request) or from when it became the oldest to send (a reply);
 * the event loop drops a worker that misses one (core_proc_drop).
 *
 * Replies go out at once as far as the socket takes them, so the common
 * reply costs one system call and no copy; only what is left is queued. A
 * worker with output queued is not read from: its next request waits until
 * it has read its replies, which bounds what the master buffers for it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

double core_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Sends the head of p's queue as far as the socket takes it; pops it once
 * sent. NMC_OK (sent), NMC_EBUSY (the socket is full), NMC_ESYS. */
static int send_head(struct core_proc *p)
{
    struct core_out *o = p->link.out;
    int st = core_send_part(p->fd, &o->m, o->payload, &o->sent, false);
    if (st != NMC_OK)
        return st;
    p->link.out = o->next;
    if (p->link.out == NULL)
        p->link.out_last = NULL;
    p->link.out_deadline = p->link.out ? core_now_ms() + core.stall_ms : 0;
    free(o->payload);
    free(o);
    return NMC_OK;
}

/* Frees p's queue; results not (wholly) sent go back to their process. */
static void discard_output(struct core_proc *p)
{
    for (struct core_out *o = p->link.out, *next; o != NULL; o = next) {
        next = o->next;
        if (o->result_of != NULL && o->payload != NULL)
            core_proc_give_back(o->result_of, o->payload, o->m.len);
        else
            free(o->payload);
        free(o);
    }
    p->link.out = p->link.out_last = NULL;
    p->link.out_deadline = 0;
}

void core_link_flush(struct core_proc *p)
{
    int st = NMC_OK;
    while (st == NMC_OK && p->link.out != NULL)
        st = send_head(p);
    if (st == NMC_ESYS) /* the worker is gone: its end-of-file follows */
        discard_output(p);
}

/* Queues m (payload taken over), its first sent bytes already out, and
 * sends what the socket takes. */
static void queue(struct core_proc *p, const struct core_msg *m, void *payload, size_t sent,
                  struct core_proc *of)
{
    struct core_out *o = malloc(sizeof *o);
    if (o == NULL) {
        if (of != NULL && payload != NULL)
            core_proc_give_back(of, payload, m->len);
        else
            free(payload);
        /* The worker would wait for a message that never comes. */
        core_proc_drop(p, "no memory for a message to it");
        return;
    }
    *o = (struct core_out){.m = *m, .payload = payload, .sent = sent, .result_of = of};
    if (p->link.out == NULL) {
        p->link.out = o;
        p->link.out_deadline = core_now_ms() + core.stall_ms;
    } else {
        p->link.out_last->next = o;
    }
    p->link.out_last = o;
    core_link_flush(p);
}

void core_link_reply(struct core_proc *p, int status, int64_t a, const void *payload, size_t len)
{
    if (p->fd < 0)
        return;
    struct core_msg m = {.status = status, .a = a, .len = len};
    size_t sent = 0;
    /* Behind queued output a reply waits its turn; else it goes now. */
    if (p->link.out == NULL && core_send_part(p->fd, &m, payload, &sent, false) != NMC_EBUSY)
        return; /* sent, or the worker is gone (its end-of-file follows) */
    void *copy = len > 0 ? malloc(len) : NULL;
    if (copy != NULL)
        memcpy(copy, payload, len);
    if (len > 0 && copy == NULL)
        core_proc_drop(p, "no memory for a message to it");
    else
        queue(p, &m, copy, sent, NULL);
}

void core_link_send_result(struct core_proc *p, int status, void *image, size_t len,
                           struct core_proc *of)
{
    struct core_msg m = {.status = status, .len = image != NULL ? len : 0};
    queue(p, &m, image, 0, image != NULL ? of : NULL);
}

int core_link_receive(struct core_proc *p, struct core_msg *m, void **payload)
{
    struct core_link *l = &p->link;
    if (l->in_got == 0)
        l->in_deadline = core_now_ms() + core.stall_ms;
    int st = core_recv_part(p->fd, &l->in, &l->in_payload, &l->in_got, false);
    if (st == NMC_EBUSY) {
        if (l->in_got == 0)
            l->in_deadline = 0; /* nothing came after all */
        return st;
    }
    if (st == NMC_OK) {
        *m = l->in;
        *payload = l->in_payload;
        l->in_payload = NULL;
    } else {
        free(l->in_payload);
        l->in_payload = NULL;
    }
    l->in_got = 0;
    l->in_deadline = 0;
    return st;
}

short core_link_events(const struct core_proc *p)
{
    return p->link.out != NULL ? POLLOUT : POLLIN;
}

double core_link_deadline(const struct core_proc *p)
{
    double in = p->link.in_deadline, out = p->link.out_deadline;
    if (in == 0 || out == 0)
        return in + out;
    return in < out ? in : out;
}

const char *core_link_overdue(const struct core_proc *p, double now)
{
    if (p->link.in_deadline != 0 && now >= p->link.in_deadline)
        return "its request";
    if (p->link.out_deadline != 0 && now >= p->link.out_deadline)
        return "a message to it";
    return NULL;
}

void core_link_close(struct core_proc *p)
{
    discard_output(p);
    free(p->link.in_payload);
    p->link.in_payload = NULL;
    p->link.in_got = 0;
    p->link.in_deadline = 0;
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
}
