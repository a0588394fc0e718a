/* Receiving: wait for announced slots, read them in place, delete them.
 *
 * wait swaps each non-zero ready-bitmap word to zero and adds its bits to
 * the process-local pending set; a pending slot is reported if it is READY
 * and not already reported (delivered), else dropped (a stale bit of a slot
 * deleted without a wait). delete clears delivered and marks the slot FREE,
 * but sets its free bit only at the next wait (one fetch_or per batch
 * rather than per message) or at once when a sender announced a sleep;
 * senders that find no free bit scan the states. When idle, wait frees
 * the slots of dead senders and adopts orphans: READY slots never announced
 * because their sender died between the READY store and the ready bit.
 */
#include <string.h>

#include "camlbox_internal.h"

static bool box_valid(const nmc_camlbox *box)
{
    return box != NULL && box->v.hdr != NULL;
}

static uint64_t bit_of(uint32_t i)
{
    return (uint64_t)1 << (i % 64);
}

static bool slot_ready(const struct camlbox_view *v, uint32_t i)
{
    return LOAD_ACQ(&camlbox_slot(v, i)->state) == SLOT_READY;
}

/* Moves announced slots into pending; true if there were any. */
static bool collect(nmc_camlbox *box)
{
    bool any = false;
    for (uint32_t w = 0; w < box->v.hdr->nwords; w++)
        if (LOAD_RELAXED(&box->v.ready_bits[w]) != 0) {
            box->pending[w] |= EXCHANGE(&box->v.ready_bits[w], 0);
            any = true;
        }
    return any;
}

/* Reports pending slots into slots[*n .. max). */
static void report(nmc_camlbox *box, uint32_t *slots, size_t max, size_t *n)
{
    for (uint32_t w = 0; w < box->v.hdr->nwords && *n < max; w++)
        while (box->pending[w] != 0 && *n < max) {
            uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(box->pending[w]);
            box->pending[w] &= box->pending[w] - 1;
            if (!(box->delivered[w] & bit_of(i)) && slot_ready(&box->v, i)) {
                box->delivered[w] |= bit_of(i);
                slots[(*n)++] = i;
            }
        }
}

/* Queues READY slots that nobody announced and no wait reported. */
static void adopt_orphans(nmc_camlbox *box)
{
    for (uint32_t i = 0; i < box->v.hdr->capacity; i++) {
        uint32_t w = i / 64;
        if (!(box->delivered[w] & bit_of(i)) && slot_ready(&box->v, i) &&
            !(LOAD(&box->v.ready_bits[w]) & bit_of(i)))
            box->pending[w] |= bit_of(i);
    }
}

static bool kicked(nmc_camlbox *box)
{
    return LOAD_RELAXED(&box->v.hdr->rx_kick) != 0 && EXCHANGE(&box->v.hdr->rx_kick, 0u) != 0;
}

/* Collects and reports; true when the wait may return. */
static bool poll_once(nmc_camlbox *box, uint32_t *slots, size_t max, size_t *n)
{
    collect(box);
    report(box, slots, max, n);
    return kicked(box) || *n > 0;
}

int nmc_camlbox_timedwait(nmc_camlbox *box, const struct timespec *abs_deadline,
                          uint32_t *slots, size_t max, size_t *n)
{
    if (!box_valid(box) || slots == NULL || max == 0 || n == NULL)
        return NMC_EINVAL;
    *n = 0;
    camlbox_publish_freed(box);
    if (poll_once(box, slots, max, n))
        return NMC_OK;
    struct camlbox_header *h = box->v.hdr;
    /* Polls less and less often, so as not to pull the ready bitmap away
     * from a sender that is about to set a bit in it. */
    for (unsigned spun = 0, delay = 1; spun < CAMLBOX_SPIN; spun += delay, delay += delay < 64) {
        for (unsigned k = 0; k < delay; k++)
            nmc_cpu_relax();
        if (poll_once(box, slots, max, n))
            return NMC_OK;
    }
    for (;;) {
        uint32_t seq = camlbox_waitq_prepare(&h->rx);
        if (poll_once(box, slots, max, n))
            return NMC_OK;
        struct timespec wake;
        bool poll_first = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
        if (camlbox_waitq_sleep(&h->rx, seq, &wake) != NMC_ETIMEDOUT)
            continue;
        if (!poll_first)
            return poll_once(box, slots, max, n) ? NMC_OK : NMC_ETIMEDOUT;
        camlbox_reclaim_dead(&box->v);
        adopt_orphans(box);
    }
}

int nmc_camlbox_wait(nmc_camlbox *box, uint32_t *slots, size_t max, size_t *n)
{
    return nmc_camlbox_timedwait(box, NULL, slots, max, n);
}

int nmc_camlbox_cancel_wait(nmc_camlbox *box)
{
    if (!box_valid(box))
        return NMC_EINVAL;
    STORE(&box->v.hdr->rx_kick, 1u);
    camlbox_waitq_notify(&box->v.hdr->rx);
    return NMC_OK;
}

/* The READY slot's message, or NMC_EEMPTY / NMC_EINVAL. */
static int ready_slot(const nmc_camlbox *box, uint32_t slot)
{
    if (!box_valid(box) || slot >= box->v.hdr->capacity)
        return NMC_EINVAL;
    return slot_ready(&box->v, slot) ? NMC_OK : NMC_EEMPTY;
}

static nmc_value message(const nmc_camlbox *box, uint32_t slot)
{
    uint64_t root = camlbox_slot(&box->v, slot)->root;
    return nmc_is_long(root) ? (nmc_value)root
                             : (nmc_value)(camlbox_image(&box->v, slot) + root);
}

int nmc_camlbox_get(nmc_camlbox *box, uint32_t slot, nmc_value *v)
{
    int st = ready_slot(box, slot);
    if (st != NMC_OK || v == NULL)
        return st != NMC_OK ? st : NMC_EINVAL;
    *v = message(box, slot);
    return NMC_OK;
}

int nmc_camlbox_get_checked(nmc_camlbox *box, uint32_t slot, nmc_value *v)
{
    int st = ready_slot(box, slot);
    if (st != NMC_OK || v == NULL)
        return st != NMC_OK ? st : NMC_EINVAL;
    const struct camlbox_slot *sl = camlbox_slot(&box->v, slot);
    uint64_t root = sl->root, bytelen = sl->bytelen;
    if (!nmc_is_long(root)) {
        nmc_memory m = {camlbox_image(&box->v, slot), (size_t)box->v.hdr->msg_size};
        if (bytelen > m.len || root >= bytelen)
            return NMC_ECORRUPT;
        st = nmc_image_check(m, 0, (size_t)bytelen, (size_t)root, NULL);
        if (st != NMC_OK)
            return st == NMC_EINVAL ? NMC_ECORRUPT : st;
    }
    *v = message(box, slot);
    return NMC_OK;
}

int nmc_camlbox_get_copy(nmc_camlbox *box, uint32_t slot, nmc_arena *arena, nmc_value *v)
{
    nmc_value in;
    int st = arena == NULL ? NMC_EINVAL : nmc_camlbox_get(box, slot, &in);
    if (st != NMC_OK)
        return st;
    return nmc_copy_value(arena, NMC_COPY_ATOM | NMC_COPY_CUSTOM_INT | NMC_COPY_BIGARRAY, in, v);
}

int nmc_camlbox_delete(nmc_camlbox *box, uint32_t slot)
{
    int st = ready_slot(box, slot);
    if (st != NMC_OK)
        return st;
    box->delivered[slot / 64] &= ~bit_of(slot);
    camlbox_poison(&box->v, slot, 0x55);
    /* Sequentially consistent: ordered before the look at the senders'
     * queue, as their scan of the states is after their announcement. */
    STORE(&camlbox_slot(&box->v, slot)->state, (uint32_t)SLOT_FREE);
    box->freed[slot / 64] |= bit_of(slot);
    if (LOAD(&box->v.hdr->tx.want) != 0)
        camlbox_publish_freed(box);
    return NMC_OK;
}

int nmc_camlbox_reclaim(nmc_camlbox *box, uint32_t *freed)
{
    if (!box_valid(box))
        return NMC_EINVAL;
    camlbox_publish_freed(box);
    uint32_t n = camlbox_reclaim_dead(&box->v);
    adopt_orphans(box);
    if (freed != NULL)
        *freed = n;
    return NMC_OK;
}
