/* Returning slots to the free ones: after a delete, after a failed send,
 * and when a sender died holding one.
 *
 * The FREE store (sequentially consistent) comes before the look at the
 * senders' wait queue, so a sender that announced it will sleep either
 * sees the slot in its last scan or gets woken (waitq.c).
 */
#include <string.h>

#include "camlbox_internal.h"

void camlbox_poison(const struct camlbox_view *v, uint32_t i, int byte)
{
#ifdef NDEBUG
    (void)v;
    (void)i;
    (void)byte;
#else
    memset(camlbox_image(v, i), byte, v->slot_size - SLOT_HEADER);
#endif
}

void camlbox_slot_free(struct camlbox_view *v, uint32_t i)
{
    camlbox_poison(v, i, 0x55);
    STORE(&camlbox_slot(v, i)->state, (uint64_t)SLOT_FREE);
    camlbox_waitq_notify(&v->hdr->tx);
}

uint32_t camlbox_reclaim_dead(struct camlbox_view *v)
{
    uint32_t freed = 0;
    for (uint32_t i = 0; i < v->capacity; i++) {
        uint64_t *state = &camlbox_slot(v, i)->state;
        uint64_t s = LOAD(state);
        if (SLOT_KIND(s) != SLOT_RESERVED || nmc_owner_liveness(SLOT_OWNER(s)) != NMC_OWNER_GONE)
            continue;
        /* Only one reclaimer wins; the dead owner cannot race us. */
        if (CAS(state, &s, (uint64_t)SLOT_FREE))
            freed++;
    }
    if (freed > 0)
        camlbox_waitq_notify(&v->hdr->tx);
    return freed;
}
