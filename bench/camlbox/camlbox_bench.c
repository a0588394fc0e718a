/* bench/camlbox/camlbox_bench.c - camlboxes against pipes, Unix datagram
 * sockets, POSIX message queues and iceoryx (chan.h).
 *
 *   camlbox/throughput_str32/K/N   N sender processes stream 32-byte
 *                                  messages to one receiver; items/s =
 *                                  messages received per second. N is 1,
 *                                  2, 4 and, with NMC_BENCH_PROCS set,
 *                                  every count of that scaling sweep.
 *                                  fairness_stddev_pct: the spread of the
 *                                  senders' shares of the first half of
 *                                  the messages received (0 for N = 1).
 *   camlbox/throughput_tuple/nmc/N the same with (int, string, float)
 *                                  tuples, camlbox only (values, not bytes).
 *   camlbox/pingpong/K             one 32-byte message there and back per
 *                                  round trip; p50_ns / p99_ns per round.
 *   camlbox/payload/K/B            one sender, messages of B bytes.
 * Every message carries a tag (sender << 40 | sequence) in its first and
 * last word (a tuple in its int field); the receiver checks the tag and
 * folds every word of the payload into a checksum, so the data is read
 * whatever the transport. Runs use bench/common/procs with manual time;
 * channel set-up happens in the workers' untimed init.
 */
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "gbench.h"
#include "nmc/camlbox.h"
#include "nmc/status.h"
#include "procs_bench.h"
#include "procs_list.h"
#include "skip_status.h"
#include "stats.h"

enum { DEPTH = 64, STREAM_OPS = 200000, PINGPONG_OPS = 20000, TUPLE_STR = 16 };

static const struct chan_ops *const impls[] = {&chan_nmc, &chan_pipe, &chan_unix_socket,
                                               &chan_posix_mq, &chan_iceoryx};
enum { NIMPLS = sizeof impls / sizeof impls[0] };

enum workload { STREAM, TUPLE, PINGPONG };

struct config {
    const struct chan_ops *ops;
    enum workload workload;
    int senders;       /* stream: sender processes */
    size_t len;        /* bytes per message        */
    uint64_t ops_each; /* messages per sender      */
};

/* The channels of the current run, inherited by the workers. */
static struct chan chans[2];
static const struct config *cur;

/* ---- messages ------------------------------------------------------------ */

static void fill(unsigned char *m, size_t len, uint64_t tag)
{
    memcpy(m, &tag, 8);
    memcpy(m + len - 8, &tag, 8);
    for (size_t at = 8; at + 8 < len && at < 32; at += 8) /* a 32-byte message varies whole */
        memcpy(m + at, &(uint64_t){tag + at}, 8);
}

struct rx {
    uint64_t got;    /* messages checked          */
    uint64_t sink;   /* checksum of every word    */
    size_t len;      /* expected length           */
    int senders;     /* valid sender numbers      */
    uint64_t half;   /* messages tallied per sender: the first half */
    uint64_t per_sender[NMC_PROCS_MAX]; /* each sender's share of them */
};

/* Counts one checked message of sender. Only the first half of a stream is
 * tallied per sender: a snapshot in the steady state, as each sender sends
 * a fixed count and the shares at the end are equal whatever the order. */
static void tally(struct rx *rx, uint64_t sender)
{
    if (rx->got < rx->half)
        rx->per_sender[sender]++;
    rx->got++;
}

static int check(void *ctx, const unsigned char *m, size_t len)
{
    struct rx *rx = ctx;
    uint64_t first, last, sum = 0;
    if (len != rx->len)
        return NMC_ECORRUPT;
    memcpy(&first, m, 8);
    memcpy(&last, m + len - 8, 8);
    if (first != last || (int)(first >> 40) >= rx->senders)
        return NMC_ECORRUPT;
    for (size_t at = 0; at + 8 <= len; at += 8) {
        uint64_t w;
        memcpy(&w, m + at, 8);
        sum ^= w;
    }
    rx->sink += sum;
    tally(rx, first >> 40);
    return NMC_OK;
}

static int send_tagged(struct chan *c, uint64_t tag)
{
    unsigned char *m = c->ops->buffer(c);
    if (m == NULL)
        return NMC_ENOMEM;
    fill(m, c->msg_len, tag);
    return c->ops->send(c);
}

static int receive(struct chan *c, struct rx *rx, uint64_t want)
{
    int st = NMC_OK;
    while (st == NMC_OK && rx->got < want)
        st = c->ops->recv(c, check, rx);
    nmc_bench_do_not_optimize(&rx->sink);
    return st;
}

static void detach(struct chan *c)
{
    if (c->ops->detach != NULL)
        c->ops->detach(c);
}

/* ---- streams: worker 0 receives, the others send ------------------------- */

/* Messages the receiver of a stream waits for: w->ops from each sender. */
static uint64_t stream_total(const struct nmc_procs_worker *w)
{
    return w->ops * (uint64_t)(w->nprocs - 1);
}

/* The receiver's report: the messages received are the items, the
 * senders' shares the fairness counts. */
static void stream_done(const struct nmc_procs_worker *w, const struct rx *rx, uint64_t *done)
{
    *done = rx->got;
    nmc_procs_set_fairness(w, rx->per_sender, (size_t)rx->senders);
}

static int stream_init(const struct nmc_procs_worker *w)
{
    return chans[0].ops->attach(&chans[0], w->index == 0);
}

static int stream_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    struct chan *c = &chans[0];
    int st = NMC_OK;
    if (w->index == 0) {
        uint64_t want = stream_total(w);
        struct rx rx = {.len = c->msg_len, .senders = w->nprocs - 1, .half = want / 2};
        st = receive(c, &rx, want);
        stream_done(w, &rx, done);
    } else {
        for (uint64_t i = 0; st == NMC_OK && i < w->ops; i++)
            st = send_tagged(c, (uint64_t)(w->index - 1) << 40 | i);
    }
    detach(c);
    return st;
}

/* ---- tuples (tag, string, (double)tag), camlbox only ---------------------- */

/* Checks one tuple and folds it into the checksum. */
static int check_tuple(struct rx *rx, nmc_value v)
{
    nmc_value s = nmc_field(v, 1);
    intptr_t tag = nmc_long_val(nmc_field(v, 0));
    if (nmc_wosize_val(v) != 3 || nmc_string_length(s) != TUPLE_STR ||
        nmc_double_val(nmc_field(v, 2)) != (double)tag || tag < 0 || (tag >> 40) >= rx->senders)
        return NMC_ECORRUPT;
    rx->sink += (uint64_t)tag + (unsigned char)nmc_string_val(s)[0];
    tally(rx, (uint64_t)tag >> 40);
    return NMC_OK;
}

static int tuple_receive(const struct nmc_procs_worker *w, uint64_t *done)
{
    nmc_camlbox *box = chans[0].u.nmc.box;
    uint64_t want = stream_total(w);
    struct rx rx = {.senders = w->nprocs - 1, .half = want / 2};
    uint32_t slots[DEPTH];
    int st = NMC_OK;
    while (st == NMC_OK && rx.got < want) {
        size_t n;
        st = nmc_camlbox_wait(box, slots, DEPTH, &n);
        for (size_t i = 0; st == NMC_OK && i < n; i++) {
            nmc_value v;
            st = nmc_camlbox_get(box, slots[i], &v);
            if (st == NMC_OK)
                st = check_tuple(&rx, v);
            if (st == NMC_OK)
                st = nmc_camlbox_delete(box, slots[i]);
        }
    }
    nmc_bench_do_not_optimize(&rx.sink);
    stream_done(w, &rx, done);
    return st;
}

/* One tuple, its fields rewritten for every message. */
static int tuple_send(const struct nmc_procs_worker *w)
{
    struct chan *c = &chans[0];
    nmc_arena *a = c->u.nmc.arena;
    nmc_value f[3], tuple;
    char text[TUPLE_STR] = "tuple payload 16";
    int st;
    f[0] = nmc_val_long(0);
    if ((st = nmc_alloc_string(a, text, TUPLE_STR, &f[1])) != NMC_OK ||
        (st = nmc_alloc_double(a, 0.0, &f[2])) != NMC_OK ||
        (st = nmc_alloc_tuple(a, 0, 3, f, &tuple)) != NMC_OK)
        return st;
    intptr_t sender = (intptr_t)(w->index - 1) << 40;
    for (uint64_t i = 0; st == NMC_OK && i < w->ops; i++) {
        intptr_t tag = sender | (intptr_t)i;
        nmc_field(tuple, 0) = nmc_val_long(tag);
        nmc_double_field(f[2], 0) = (double)tag;
        nmc_bytes_val(f[1])[0] = (char)i;
        st = nmc_camlbox_send(c->u.nmc.sender, tuple, NMC_CAMLBOX_ANY_SLOT, NULL);
    }
    return st;
}

static int tuple_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    if (w->index == 0)
        return tuple_receive(w, done);
    return tuple_send(w);
}

/* ---- ping-pong: 0 sends on chans[0], 1 answers on chans[1] --------------- */

static int pingpong_init(const struct nmc_procs_worker *w)
{
    bool client = w->index == 0;
    int st = chans[client ? 1 : 0].ops->attach(&chans[client ? 1 : 0], true);
    return st != NMC_OK ? st : chans[client ? 0 : 1].ops->attach(&chans[client ? 0 : 1], false);
}

static int pingpong_worker(const struct nmc_procs_worker *w, uint64_t *done)
{
    bool client = w->index == 0;
    struct chan *out = &chans[client ? 0 : 1], *in = &chans[client ? 1 : 0];
    struct rx rx = {.len = in->msg_len, .senders = 1};
    int st = NMC_OK;
    for (uint64_t i = 0; st == NMC_OK && i < w->ops; i++) {
        uint64_t t0 = nmc_stats_now_ns();
        if (client)
            st = send_tagged(out, i);
        if (st == NMC_OK)
            st = receive(in, &rx, i + 1);
        if (st == NMC_OK && !client)
            st = send_tagged(out, i);
        if (client)
            nmc_procs_sample(w, nmc_stats_now_ns() - t0);
    }
    nmc_procs_pingpong_done(w, done);
    detach(out);
    detach(in);
    return st;
}

/* ---- the benchmark body ------------------------------------------------------ */

static void bm_camlbox(nmc_bench_state *st)
{
    const struct config *cfg = nmc_bench_user(st);
    char why[160] = "";
    if (cfg->ops == &chan_iceoryx && chan_iceoryx_daemon(why, sizeof why) != NMC_OK) {
        nmc_bench_skip_with_error(st, why);
        return;
    }
    int nchans = cfg->workload == PINGPONG ? 2 : 1;
    int rc = NMC_OK, made = 0;
    for (; rc == NMC_OK && made < nchans; made++) {
        chans[made] = (struct chan){.ops = cfg->ops, .msg_len = cfg->len, .depth = DEPTH, .id = made};
        rc = cfg->ops->create(&chans[made]);
    }
    cur = cfg;
    if (rc != NMC_OK) {
        if (chans[made - 1].why[0] != '\0')
            nmc_bench_skip_with_error(st, chans[made - 1].why);
        else
            nmc_bench_skip_status(st, "create", rc);
    } else {
        struct nmc_procs_spec spec = {
            .nprocs = cfg->workload == PINGPONG ? 2 : cfg->senders + 1,
            .fn = cfg->workload == PINGPONG ? pingpong_worker
                  : cfg->workload == TUPLE  ? tuple_worker
                                            : stream_worker,
            .init = cfg->workload == PINGPONG ? pingpong_init : stream_init,
            .ops = cfg->ops_each,
            .timeout_s = 120,
            .samples_per_worker = cfg->workload == PINGPONG ? cfg->ops_each : 0,
        };
        nmc_procs_bench_run(st, &spec);
    }
    for (int i = 0; i < made - (rc != NMC_OK); i++)
        cfg->ops->destroy(&chans[i]);
}

/* ---- registration ------------------------------------------------------------- */

/* throughput_str32's sender counts: these three always, plus, when
 * NMC_BENCH_PROCS is set (bench/run.sh --procs), every count of the scaling
 * sweep (bench/common/procs_list.h), receiver not counted. */
static const int sender_counts[] = {1, 2, 4};
static const size_t payloads[] = {32, 256, 4096, 65536};
static struct config configs[NIMPLS * (3 + NMC_PROCS_LIST_MAX + 1 + 4) + 3];

static void add(const char *name, struct config cfg)
{
    static int n;
    configs[n] = cfg;
    nmc_bench_use_manual_time(nmc_bench_register_with(name, bm_camlbox, &configs[n++]));
}

NMC_BENCH_REGISTER(register_camlbox)
{
    char name[96];
    int senders[3 + NMC_PROCS_LIST_MAX];
    bool sweep;
    int nsenders = nmc_procs_list(NMC_PROCS_MAX - 1, senders, &sweep);
    if (!sweep)
        nsenders = 0;
    for (int i = 0; i < 3; i++) { /* the union, ascending */
        int at = 0;
        while (at < nsenders && senders[at] < sender_counts[i])
            at++;
        if (at < nsenders && senders[at] == sender_counts[i])
            continue;
        memmove(&senders[at + 1], &senders[at], (size_t)(nsenders - at) * sizeof *senders);
        senders[at] = sender_counts[i];
        nsenders++;
    }
    for (int k = 0; k < NIMPLS; k++)
        for (int i = 0; i < nsenders; i++) {
            snprintf(name, sizeof name, "camlbox/throughput_str32/%s/%d", impls[k]->name,
                     senders[i]);
            add(name, (struct config){impls[k], STREAM, senders[i], 32, STREAM_OPS});
        }
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "camlbox/throughput_tuple/nmc/%d", sender_counts[i]);
        add(name, (struct config){&chan_nmc, TUPLE, sender_counts[i], 64, STREAM_OPS});
    }
    for (int k = 0; k < NIMPLS; k++) {
        snprintf(name, sizeof name, "camlbox/pingpong/%s", impls[k]->name);
        add(name, (struct config){impls[k], PINGPONG, 1, 32, PINGPONG_OPS});
    }
    for (int k = 0; k < NIMPLS; k++)
        for (int i = 0; i < 4; i++) {
            snprintf(name, sizeof name, "camlbox/payload/%s/%zu", impls[k]->name, payloads[i]);
            uint64_t ops = STREAM_OPS * 32 / payloads[i];
            add(name, (struct config){impls[k], STREAM, 1, payloads[i], ops < 5000 ? 5000 : ops});
        }
}
