/* The box's layout: sizes from (capacity, msg_size), formatting, and the
 * validation a sender runs before trusting a mapping's header. Every offset
 * is derived from capacity and msg_size alone, so validation recomputes the
 * layout and compares it field by field: a header that passes describes
 * exactly the mapping, and no slot reaches past its end.
 */
#include <string.h>
#include <unistd.h>

#include "camlbox_internal.h"

_Static_assert(sizeof(struct camlbox_header) == 5 * CAMLBOX_LINE, "header is five lines");
_Static_assert(SLOT_HEADER == 16, "slot header is two words");

static uint64_t round_line(uint64_t n)
{
    return (n + CAMLBOX_LINE - 1) & ~(uint64_t)(CAMLBOX_LINE - 1);
}

int camlbox_layout(uint32_t capacity, size_t msg_size, struct camlbox_header *h)
{
    if (capacity == 0 || capacity > NMC_CAMLBOX_MAX_CAPACITY ||
        msg_size > NMC_CAMLBOX_MAX_MSG_SIZE)
        return NMC_EINVAL;
    memset(h, 0, sizeof *h);
    h->version = CAMLBOX_VERSION;
    h->capacity = capacity;
    h->msg_size = msg_size;
    h->slot_size = round_line(SLOT_HEADER + msg_size);
    h->slots_off = sizeof *h;
    /* At most 2^20 slots of at most 2^30 + 64 bytes: no overflow. */
    h->size = h->slots_off + (uint64_t)capacity * h->slot_size;
    return NMC_OK;
}

void camlbox_init(void *base, const struct camlbox_header *h)
{
    struct camlbox_header *out = base;
    memcpy(out, h, sizeof *h);
    STORE(&out->magic, 0u);
    out->receiver_base = (uintptr_t)base;
    const struct nmc_custom_ops *ops[CAMLBOX_OPS] = {&nmc_int32_ops, &nmc_int64_ops,
                                                     &nmc_nativeint_ops, &nmc_bigarray_ops};
    for (int k = 0; k < CAMLBOX_OPS; k++)
        out->receiver_ops[k] = (uintptr_t)ops[k];
    out->receiver_tid = nmc_thread_self();

    struct camlbox_view v;
    camlbox_view_init(&v, base, h->size);
    for (uint32_t i = 0; i < h->capacity; i++) {
        memset(camlbox_slot(&v, i), 0, SLOT_HEADER);
        camlbox_poison(&v, i, 0x55);
    }
    STORE(&out->magic, CAMLBOX_MAGIC);
}

int camlbox_validate(const void *base, size_t size)
{
    const struct camlbox_header *h = base;
    struct camlbox_header want;
    if (size < sizeof *h || LOAD(&h->magic) != CAMLBOX_MAGIC || h->version != CAMLBOX_VERSION ||
        h->msg_size > SIZE_MAX || camlbox_layout(h->capacity, (size_t)h->msg_size, &want) != NMC_OK)
        return NMC_ECORRUPT;
    if (h->slot_size != want.slot_size || h->slots_off != want.slots_off ||
        h->size != want.size || h->size > size || h->receiver_base == 0 ||
        h->receiver_base % CAMLBOX_LINE != 0)
        return NMC_ECORRUPT;
    return NMC_OK;
}

void camlbox_view_init(struct camlbox_view *v, void *base, size_t size)
{
    unsigned char *b = base;
    v->hdr = base;
    v->size = size;
    v->slots = b + v->hdr->slots_off;
}

int camlbox_view_map(int fd, struct camlbox_view *v)
{
    size_t size;
    void *base;
    int st = nmc_sys_fd_size(fd, &size);
    if (st != NMC_OK)
        return st;
    if (size < sizeof(struct camlbox_header))
        return NMC_ECORRUPT;
    if ((st = nmc_sys_map(fd, size, 0, NULL, false, &base)) != NMC_OK)
        return st;
    if ((st = camlbox_validate(base, size)) != NMC_OK) {
        nmc_sys_unmap(base, size);
        return st;
    }
    camlbox_view_init(v, base, size);
    return NMC_OK;
}

void camlbox_view_unmap(struct camlbox_view *v)
{
    nmc_sys_unmap(v->hdr, v->size);
    v->hdr = NULL;
}

uint32_t camlbox_count_messages(const struct camlbox_view *v)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->hdr->capacity; i++)
        n += LOAD_RELAXED(&camlbox_slot(v, i)->state) != SLOT_FREE;
    return n;
}
