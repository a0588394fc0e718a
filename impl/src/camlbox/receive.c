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
 * restarts its run after the last one found.
 *
 * Dead senders. A wait that is about to sleep or to return empty (a
 * non-blocking poll, a short timeout), and every CAMLBOX_RECLAIM_EVERY-th
 * wait whose first look found nothing (a stream whose run stops at a dead
 * sender's slot once per turn of the ring), frees the slots of dead
 * senders if NMC_SYNC_POLL_MS passed since it last did: a slot a killed
 * sender held comes back about that long after its death to any receiver
 * that keeps calling, whatever its timeouts. The clock is read only
 * there (a coarse clock read costs 20-odd ns here, a ping-pong's wait
 * about 350).
 *
 * Reading a message reads the slot's state (acquire) and root once each,
 * validates them against the private geometry, and computes the value
 * from those locals.
 */
#include <string.h>
#include <time.h>

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
    return SLOT_KIND(LOAD_ACQ(&camlbox_slot(v, i)->state)) == SLOT_READY;
}

static uint32_t next_slot(const nmc_camlbox *box, uint32_t i)
{
    return i + 1 < box->v.capacity ? i + 1 : 0;
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
    for (uint32_t k = 0; k < box->v.capacity && *n < max; k++, i = next_slot(box, i)) {
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

/* Frees the slots of dead senders if NMC_SYNC_POLL_MS passed since this
 * receiver last did (the coarse clock: a few nanoseconds). */
static void reclaim_if_due(nmc_camlbox *box)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    int64_t ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    if (ns < box->reclaim_due_ns)
        return;
    box->reclaim_due_ns = ns + (int64_t)NMC_SYNC_POLL_MS * 1000000;
    camlbox_reclaim_dead(&box->v);
}

/* The wait proper (nmc_camlbox_timedwait checked the arguments). */
static int wait_messages(nmc_camlbox *box, const struct timespec *abs_deadline,
                         uint32_t *slots, size_t max, size_t *n)
{
    *n = 0;
    if (poll_once(box, false, slots, max, n))
        return NMC_OK;
    if (++box->empty_looks % CAMLBOX_RECLAIM_EVERY == 0)
        reclaim_if_due(box);
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
    reclaim_if_due(box);
    for (;;) {
        uint32_t seq = camlbox_waitq_prepare(&h->rx);
        if (poll_once(box, true, slots, max, n))
            return NMC_OK;
        struct timespec wake;
        bool poll_first = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
        int slept = camlbox_waitq_sleep(&h->rx, seq, &wake);
        if (camlbox_uncut(&box->v, NMC_OK) != NMC_OK)
            return NMC_ECORRUPT; /* no sender can wake a cut-off futex word */
        if (slept != NMC_ETIMEDOUT)
            continue;
        if (!poll_first)
            return poll_once(box, true, slots, max, n) ? NMC_OK : NMC_ETIMEDOUT;
        reclaim_if_due(box);
    }
}

int nmc_camlbox_timedwait(nmc_camlbox *box, const struct timespec *abs_deadline,
                          uint32_t *slots, size_t max, size_t *n)
{
    if (!box_valid(box) || slots == NULL || max == 0 || n == NULL)
        return NMC_EINVAL;
    return camlbox_uncut(&box->v, wait_messages(box, abs_deadline, slots, max, n));
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
    return camlbox_uncut(&box->v, NMC_OK);
}

/* A message as read once from its slot: the READY state and the root. */
struct message {
    uint64_t state, root;
};

/* Reads slot's message once: NMC_EINVAL (no such slot), NMC_EEMPTY (not
 * READY) or NMC_ECORRUPT (does not fit the slot). */
static int read_message(const nmc_camlbox *box, uint32_t slot, struct message *m)
{
    if (!box_valid(box) || slot >= box->v.capacity)
        return NMC_EINVAL;
    const struct camlbox_slot *sl = camlbox_slot(&box->v, slot);
    m->state = LOAD_ACQ(&sl->state);
    if (SLOT_KIND(m->state) != SLOT_READY)
        return camlbox_uncut(&box->v, NMC_EEMPTY);
    m->root = LOAD_ONCE(&sl->root);
    return camlbox_uncut(&box->v,
                         camlbox_message_ok(&box->v, m->state, m->root) ? NMC_OK : NMC_ECORRUPT);
}

/* The value of a message read by read_message, in place. */
static nmc_value in_place(const nmc_camlbox *box, uint32_t slot, const struct message *m)
{
    return nmc_is_long(m->root) ? (nmc_value)m->root
                                : (nmc_value)(camlbox_image(&box->v, slot) + m->root);
}

int nmc_camlbox_get(nmc_camlbox *box, uint32_t slot, nmc_value *v)
{
    struct message m;
    int st = read_message(box, slot, &m);
    if (st != NMC_OK || v == NULL)
        return st != NMC_OK ? st : NMC_EINVAL;
    *v = in_place(box, slot, &m);
    return NMC_OK;
}

/* The image's bytes of a block message m of slot, in place. */
static nmc_memory image_of(const nmc_camlbox *box, uint32_t slot, const struct message *m)
{
    return (nmc_memory){camlbox_image(&box->v, slot), (size_t)SLOT_BYTELEN(m->state)};
}

int nmc_camlbox_get_checked(nmc_camlbox *box, uint32_t slot, nmc_value *v)
{
    struct message m;
    int st = read_message(box, slot, &m);
    if (st != NMC_OK || v == NULL)
        return st != NMC_OK ? st : NMC_EINVAL;
    if (!nmc_is_long(m.root)) {
        nmc_memory img = image_of(box, slot, &m);
        st = nmc_image_check(img, 0, img.len, (size_t)m.root, NULL);
        if (st != NMC_OK)
            return st == NMC_EINVAL ? NMC_ECORRUPT : st;
    }
    *v = in_place(box, slot, &m); /* the root that was checked */
    return NMC_OK;
}

int nmc_camlbox_get_verified(nmc_camlbox *box, uint32_t slot, nmc_arena *arena, nmc_value *v)
{
    struct message m;
    int st = arena == NULL ? NMC_EINVAL : read_message(box, slot, &m);
    if (st != NMC_OK || v == NULL)
        return st != NMC_OK ? st : NMC_EINVAL;
    if (nmc_is_long(m.root)) {
        *v = (nmc_value)m.root;
        return NMC_OK;
    }
    nmc_memory img = image_of(box, slot, &m);
    unsigned char *copy = nmc_arena_alloc_words(arena, img.len / NMC_WORD_SIZE);
    if (copy == NULL)
        return NMC_ENOMEM;
    /* The one read of the image; from here on nobody else can change it. */
    memcpy(copy, img.data, img.len);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    struct nmc_copy_options made_for = {.target_addr = (uintptr_t)img.data};
    st = nmc_image_move((nmc_memory){copy, img.len}, 0, img.len, (size_t)m.root, &made_for);
    if (st != NMC_OK)
        return st == NMC_EINVAL ? NMC_ECORRUPT : st;
    if ((st = camlbox_uncut(&box->v, NMC_OK)) != NMC_OK)
        return st; /* the copy may be the guard's zeros */
    *v = (nmc_value)(copy + m.root);
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
    struct message m;
    int st = read_message(box, slot, &m);
    if (st == NMC_ECORRUPT)
        st = NMC_OK; /* a message that does not fit is deleted all the same */
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
    return camlbox_uncut(&box->v, NMC_OK);
}
