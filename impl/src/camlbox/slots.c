/* Returning slots to the free set: after a delete, after a failed send, and
 * when a sender died holding one.
 *
 * The state store comes before the free bit, so a sender that finds the bit
 * finds FREE behind it; the bit's fetch_or comes before the look at the
 * senders' wait queue, so a sender that announced it will sleep either sees
 * the bit in its last check or gets woken (waitq.c).
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
    memset(camlbox_image(v, i), byte, v->hdr->slot_size - SLOT_HEADER);
#endif
}

/* Publishes slot i, already FREE, in the free bitmap. */
static void announce_free(struct camlbox_view *v, uint32_t i)
{
    FETCH_OR(&v->free_bits[i / 64], (uint64_t)1 << (i % 64));
    camlbox_waitq_notify(&v->hdr->tx);
}

void camlbox_slot_free(struct camlbox_view *v, uint32_t i)
{
    camlbox_poison(v, i, 0x55);
    STORE_REL(&camlbox_slot(v, i)->state, (uint32_t)SLOT_FREE);
    announce_free(v, i);
}

uint32_t camlbox_reclaim_dead(struct camlbox_view *v)
{
    uint32_t freed = 0;
    for (uint32_t i = 0; i < v->hdr->capacity; i++) {
        uint32_t *state = &camlbox_slot(v, i)->state;
        uint32_t s = LOAD(state);
        if (SLOT_KIND(s) != SLOT_RESERVED || nmc_thread_alive(SLOT_OWNER(s)))
            continue;
        /* Only one reclaimer wins; the dead owner cannot race us. */
        if (CAS(state, &s, (uint32_t)SLOT_FREE)) {
            announce_free(v, i);
            freed++;
        }
    }
    return freed;
}

void camlbox_publish_freed(nmc_camlbox *box)
{
    bool any = false;
    for (uint32_t w = 0; w < box->v.hdr->nwords; w++)
        if (box->freed[w] != 0) {
            FETCH_OR(&box->v.free_bits[w], box->freed[w]);
            box->freed[w] = 0;
            any = true;
        }
    if (any)
        camlbox_waitq_notify(&box->v.hdr->tx);
}
