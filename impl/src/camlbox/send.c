/* Sending: claim a free slot, copy the value into it, announce it.
 *
 * Claim: take a ticket (fetch-add on the header's ticket word, a line the
 * receiver never touches) and CAS the state of the first FREE slot from
 * ticket % capacity on: FREE -> RESERVED|owner. The CAS is the claim: a
 * thread killed right after it leaves a RESERVED slot naming a dead
 * thread, which camlbox_reclaim_dead frees. Capacity, msg_size and the
 * receiver's address and owner come from the sender's private view, read
 * and validated once when it opened the box. Tickets put messages in ring
 * order, where the receiver's run finds them, and give concurrent senders
 * different slots to try. A box without a FREE slot is full: the sender
 * spins, yields, then sleeps until a delete wakes it.
 *
 * Copy: nmc_init_value into the slot's image area only (msg_size bytes),
 * relocated for the receiver's address of that area. Nothing is locked.
 *
 * Announce: store READY with the image's length (sequentially consistent:
 * the image is visible before it, and it is ordered before the look at the
 * receiver's wait queue), wake the receiver if it announced a sleep.
 */
#include <sched.h>

#include "camlbox_internal.h"

#include "nmc/sync.h"

/* This thread's spinning before a send to a full box sleeps (spin.h). */
static __thread struct nmc_spin tx_spin;

static bool sender_valid(const nmc_camlbox_sender *s)
{
    return s != NULL && s->v.hdr != NULL;
}

/* Tries to take slot i for owner. */
static bool claim_slot(struct camlbox_view *v, uint32_t i, nmc_owner owner)
{
    uint64_t *state = &camlbox_slot(v, i)->state;
    uint64_t expected = SLOT_FREE;
    return LOAD_RELAXED(state) == SLOT_FREE && CAS(state, &expected, SLOT_OWNED_BY(owner));
}

/* One pass over the slots from start on (prefer first, if it is a slot);
 * the slot taken, or -1 if none was FREE. */
static int64_t claim_from(struct camlbox_view *v, nmc_owner owner, uint32_t prefer,
                          uint32_t start)
{
    uint32_t cap = v->capacity;
    if (prefer < cap && claim_slot(v, prefer, owner))
        return prefer;
    for (uint32_t k = 0, i = start; k < cap; k++, i = i + 1 < cap ? i + 1 : 0)
        if (claim_slot(v, i, owner))
            return i;
    return -1;
}

/* Whether the receiver can still free a slot: NMC_OK; NMC_EOWNER_DEAD when
 * it closed the box or died; NMC_ESYS (errno kept) when its liveness
 * cannot be read. */
static int receiver_status(const struct camlbox_view *v)
{
    if (LOAD(&v->hdr->closed) != 0)
        return NMC_EOWNER_DEAD;
    switch (nmc_owner_liveness(v->receiver)) {
    case NMC_OWNER_GONE:
        return NMC_EOWNER_DEAD;
    case NMC_OWNER_UNKNOWN:
        return NMC_ESYS;
    default:
        return NMC_OK;
    }
}

/* The box is full: spin, then sleep until a slot frees, the receiver is
 * gone or abs_deadline passes. Frees dead senders' slots while waiting. */
static int claim_slow(struct camlbox_view *v, nmc_owner owner, uint32_t prefer, uint32_t start,
                      const struct timespec *abs_deadline, uint32_t *slot)
{
    /* A full box waits for the receiver: spin a little, then give it the
     * processor (with more processes than cores, a spinning sender would
     * only delay it), as much as spinning has paid lately (spin.h). */
    int64_t got = -1;
    uint32_t allowance = nmc_spin_allowance(&tx_spin, CAMLBOX_SPIN);
    for (uint32_t spin = 0; spin < allowance / 16 && got < 0; spin++) {
        nmc_cpu_relax();
        got = claim_from(v, owner, prefer, start);
    }
    for (uint32_t spin = 0; spin < CAMLBOX_YIELDS * allowance / CAMLBOX_SPIN && got < 0; spin++) {
        sched_yield();
        got = claim_from(v, owner, prefer, start);
    }
    nmc_spin_outcome(&tx_spin, CAMLBOX_SPIN, got >= 0);
    bool poll = true;
    while (got < 0) {
        int st;
        if (poll && camlbox_reclaim_dead(v) == 0 && (st = receiver_status(v)) != NMC_OK)
            return st;
        uint32_t seq = camlbox_waitq_prepare(&v->hdr->tx);
        if ((got = claim_from(v, owner, prefer, start)) >= 0)
            break;
        struct timespec wake;
        bool poll_first = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
        poll = camlbox_waitq_sleep(&v->hdr->tx, seq, &wake) == NMC_ETIMEDOUT;
        if (camlbox_uncut(v, NMC_OK) != NMC_OK)
            return NMC_ECORRUPT; /* no receiver can free a cut-off slot */
        if (poll && !poll_first && (got = claim_from(v, owner, prefer, start)) < 0)
            return NMC_ETIMEDOUT;
    }
    *slot = (uint32_t)got;
    return NMC_OK;
}

/* Copies v into slot i and fills in its root; *bytelen: the image's
 * length (0 for an immediate). */
static int fill_slot(nmc_camlbox_sender *s, uint32_t i, nmc_value v, size_t *bytelen)
{
    struct camlbox_slot *sl = camlbox_slot(&s->v, i);
    if (nmc_is_long(v)) {
        *bytelen = 0;
        sl->root = v;
        return NMC_OK;
    }
    unsigned char *image = camlbox_image(&s->v, i);
    struct nmc_copy_options opt = {
        .flags = s->copy_flags,
        .target_addr = s->v.receiver_base + (uintptr_t)(image - (unsigned char *)s->v.hdr),
    };
    nmc_memory m = {image, s->v.msg_size & ~(NMC_WORD_SIZE - 1)};
    size_t voffset;
    int st = nmc_init_value(m, 0, v, &opt, &voffset, bytelen);
    if (st != NMC_OK)
        return st == NMC_EOUT_OF_SPACE ? NMC_EMESSAGE_TOO_BIG : st;
    sl->root = voffset;
    return NMC_OK;
}

/* The send proper (nmc_camlbox_timedsend checked the arguments). */
static int send_value(nmc_camlbox_sender *s, nmc_value v, uint32_t prefer,
                      const struct timespec *abs_deadline, uint32_t *slot)
{
    struct camlbox_view *view = &s->v;
    nmc_owner self = nmc_owner_self();
    uint32_t start = FETCH_ADD(&view->hdr->ticket, 1u) % view->capacity;
    int64_t got = claim_from(view, self, prefer, start);
    uint32_t i;
    if (__builtin_expect(got >= 0, 1)) {
        i = (uint32_t)got;
    } else {
        int st = claim_slow(view, self, prefer, start, abs_deadline, &i);
        if (st != NMC_OK)
            return st;
    }
    camlbox_poison(view, i, 0xAA);
    size_t bytelen;
    int st = fill_slot(s, i, v, &bytelen);
    if (st != NMC_OK) {
        camlbox_slot_free(view, i);
        return st;
    }
    STORE(&camlbox_slot(view, i)->state, SLOT_READY_WITH(bytelen));
    camlbox_waitq_notify(&view->hdr->rx);
    if (slot != NULL)
        *slot = i;
    return NMC_OK;
}

int nmc_camlbox_timedsend(nmc_camlbox_sender *s, nmc_value v, uint32_t prefer,
                          const struct timespec *abs_deadline, uint32_t *slot)
{
    if (!sender_valid(s) || (prefer >= s->v.capacity && prefer != NMC_CAMLBOX_ANY_SLOT))
        return NMC_EINVAL;
    return camlbox_uncut(&s->v, send_value(s, v, prefer, abs_deadline, slot));
}

int nmc_camlbox_send(nmc_camlbox_sender *s, nmc_value v, uint32_t prefer, uint32_t *slot)
{
    return nmc_camlbox_timedsend(s, v, prefer, NULL, slot);
}

int nmc_camlbox_wake(nmc_camlbox_sender *s)
{
    if (!sender_valid(s))
        return NMC_EINVAL;
    STORE(&s->v.hdr->rx_kick, 1u);
    camlbox_waitq_notify(&s->v.hdr->rx);
    return camlbox_uncut(&s->v, NMC_OK);
}
