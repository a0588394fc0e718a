/* Receiving: wait for messages, read them in place, delete them.
 *
 * A wait reports READY slots the receiver has not reported yet (its
 * process-local delivered set). It first walks its run: the ring from
 * where the last one stopped, over READY slots (reported) and delivered
 * ones (passed over), up to the first slot that is FREE or being written;
 * senders fill the ring in that order, so a streaming receiver reads the
 * slot after the last one it saw and nothing else. When the run finds
 * nothing it scans every slot (on every CAMLBOX_SCAN_EVERY-th spin, and
 * always before sleeping) for the messages the run cannot reach, and
 * restarts its run after the last one found. When idle, wait also frees
 * the slots of dead senders.
 */
#include <string.h>

#include "camlbox_internal.h"

/* This thread's spinning before its waits sleep (spin.h). */
static __thread struct nmc_spin rx_spin;

static bool box_valid(const nmc_camlbox *box)
{
    return box != NULL && box->v.hdr != NULL;
}

static uint64_t bit_of(uint32_t i)
{
    return (uint64_t)1 << (i % 64);
}

static bool delivered(const nmc_camlbox *box, uint32_t i)
{
    return (box->delivered[i / 64] & bit_of(i)) != 0;
}

static bool slot_ready(const struct camlbox_view *v, uint32_t i)
{
    return LOAD_ACQ(&camlbox_slot(v, i)->state) == SLOT_READY;
}

static uint32_t next_slot(const nmc_camlbox *box, uint32_t i)
{
    return i + 1 < box->v.hdr->capacity ? i + 1 : 0;
}

/* Reports slot i into slots[*n] and restarts the run after it. */
static void deliver(nmc_camlbox *box, uint32_t i, uint32_t *slots, size_t *n)
{
    box->delivered[i / 64] |= bit_of(i);
    slots[(*n)++] = i;
    box->run = next_slot(box, i);
}

/* Reports READY slots not reported yet into slots[*n .. max), in ring
 * order from the run's start: only the run (up to the first slot neither
 * READY nor delivered), or the whole ring. */
static void report(nmc_camlbox *box, bool whole_ring, uint32_t *slots, size_t max, size_t *n)
{
    uint32_t i = box->run;
    for (uint32_t k = 0; k < box->v.hdr->capacity && *n < max; k++, i = next_slot(box, i)) {
        if (delivered(box, i))
            continue;
        if (slot_ready(&box->v, i))
            deliver(box, i, slots, n);
        else if (!whole_ring)
            break;
    }
}

static bool kicked(nmc_camlbox *box)
{
    return LOAD_RELAXED(&box->v.hdr->rx_kick) != 0 && EXCHANGE(&box->v.hdr->rx_kick, 0u) != 0;
}

/* Walks the run, and scans every slot if it found nothing and thorough;
 * true when the wait may return. */
static bool poll_once(nmc_camlbox *box, bool thorough, uint32_t *slots, size_t max, size_t *n)
{
    report(box, false, slots, max, n);
    if (*n == 0 && thorough)
        report(box, true, slots, max, n);
    return kicked(box) || *n > 0;
}

int nmc_camlbox_timedwait(nmc_camlbox *box, const struct timespec *abs_deadline,
                          uint32_t *slots, size_t max, size_t *n)
{
    if (!box_valid(box) || slots == NULL || max == 0 || n == NULL)
        return NMC_EINVAL;
    *n = 0;
    if (poll_once(box, false, slots, max, n))
        return NMC_OK;
    struct camlbox_header *h = box->v.hdr;
    /* A thread that woke a sleeper since its last wait (a reply it asked
     * for comes after a wake-up's latency) learns nothing from a failed
     * spin. */
    bool woke = camlbox_woke_sleeper();
    /* Polls less and less often, so as not to pull the slot a sender is
     * writing away from it. */
    unsigned polls = 0, allowance = nmc_spin_allowance(&rx_spin, CAMLBOX_SPIN);
    for (unsigned spun = 0, delay = 1; spun < allowance; spun += delay, delay += delay < 64) {
        for (unsigned k = 0; k < delay; k++)
            nmc_cpu_relax();
        if (poll_once(box, polls++ % CAMLBOX_SCAN_EVERY == 0, slots, max, n)) {
            nmc_spin_outcome(&rx_spin, CAMLBOX_SPIN, true);
            return NMC_OK;
        }
    }
    if (!woke)
        nmc_spin_outcome(&rx_spin, CAMLBOX_SPIN, false);
    for (;;) {
        uint32_t seq = camlbox_waitq_prepare(&h->rx);
        if (poll_once(box, true, slots, max, n))
            return NMC_OK;
        struct timespec wake;
        bool poll_first = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
        if (camlbox_waitq_sleep(&h->rx, seq, &wake) != NMC_ETIMEDOUT)
            continue;
        if (!poll_first)
            return poll_once(box, true, slots, max, n) ? NMC_OK : NMC_ETIMEDOUT;
        camlbox_reclaim_dead(&box->v);
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
    camlbox_slot_free(&box->v, slot);
    return NMC_OK;
}

int nmc_camlbox_reclaim(nmc_camlbox *box, uint32_t *freed)
{
    if (!box_valid(box))
        return NMC_EINVAL;
    uint32_t n = camlbox_reclaim_dead(&box->v);
    if (freed != NULL)
        *freed = n;
    return NMC_OK;
}
