/* The box's layout: sizes from (capacity, msg_size), formatting, and the
 * validation a sender runs before trusting a mapping's header. Every offset
 * is derived from capacity and msg_size alone, so validation recomputes the
 * layout and compares it field by field: a header that passes describes
 * exactly the mapping, and no slot reaches past its end. Validation runs
 * on a private copy of the header (COPY_ONCE), and the view keeps the
 * geometry of that copy: what was checked is what is used.
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

int camlbox_map(int fd, size_t size, void **base, nmc_sys_guard **guard)
{
    int st = nmc_sys_map(fd, size, 0, NULL, false, base);
    if (st == NMC_OK && (st = nmc_sys_guard_add(*base, size, guard)) != NMC_OK)
        nmc_sys_unmap(*base, size);
    return st;
}

/* The view of a mapping of size bytes whose header h was validated. */
static void view_init(struct camlbox_view *v, void *base, nmc_sys_guard *guard, size_t size,
                      const struct camlbox_header *h)
{
    v->hdr = base;
    v->guard = guard;
    v->size = size;
    v->slots = (unsigned char *)base + h->slots_off;
    v->capacity = h->capacity;
    v->msg_size = (size_t)h->msg_size;
    v->slot_size = (size_t)h->slot_size;
    v->receiver_base = h->receiver_base;
    v->receiver = h->receiver;
}

void camlbox_init(void *base, nmc_sys_guard *guard, struct camlbox_header *h,
                  struct camlbox_view *v)
{
    struct camlbox_header *out = base;
    h->receiver_base = (uintptr_t)base;
    const struct nmc_custom_ops *ops[CAMLBOX_OPS] = {&nmc_int32_ops, &nmc_int64_ops,
                                                     &nmc_nativeint_ops, &nmc_bigarray_ops};
    for (int k = 0; k < CAMLBOX_OPS; k++)
        h->receiver_ops[k] = (uintptr_t)ops[k];
    h->receiver = nmc_owner_self();
    memcpy(out, h, sizeof *h);
    STORE(&out->magic, 0u);
    view_init(v, base, guard, (size_t)h->size, h);
    for (uint32_t i = 0; i < h->capacity; i++) {
        memset(camlbox_slot(v, i), 0, SLOT_HEADER);
        camlbox_poison(v, i, 0x55);
    }
    STORE(&out->magic, CAMLBOX_MAGIC);
}

int camlbox_validate(const struct camlbox_header *h, size_t size)
{
    struct camlbox_header want;
    if (size < sizeof *h || h->magic != CAMLBOX_MAGIC || h->version != CAMLBOX_VERSION ||
        h->msg_size > SIZE_MAX || camlbox_layout(h->capacity, (size_t)h->msg_size, &want) != NMC_OK)
        return NMC_ECORRUPT;
    if (h->slot_size != want.slot_size || h->slots_off != want.slots_off ||
        h->size != want.size || h->size > size || h->receiver_base == 0 ||
        h->receiver_base % CAMLBOX_LINE != 0 || NMC_OWNER_TID(h->receiver) == 0)
        return NMC_ECORRUPT;
    return NMC_OK;
}

int camlbox_view_map(int fd, struct camlbox_view *v, struct camlbox_header *h)
{
    size_t size;
    void *base;
    int st = nmc_sys_fd_size(fd, &size);
    if (st != NMC_OK)
        return st;
    if (size < sizeof(struct camlbox_header))
        return NMC_ECORRUPT;
    nmc_sys_guard *guard;
    if ((st = camlbox_map(fd, size, &base, &guard)) != NMC_OK)
        return st;
    /* The magic first (the creator stores it last, so it orders the rest
     * before it), then one copy of the whole header, validated. */
    const struct camlbox_header *shared = base;
    bool formatted = LOAD_ACQ(&shared->magic) == CAMLBOX_MAGIC;
    if (formatted)
        COPY_ONCE(h, shared);
    if (!formatted || camlbox_validate(h, size) != NMC_OK ||
        nmc_sys_guard_fault(guard) != NULL) {
        nmc_sys_guard_remove(guard);
        nmc_sys_unmap(base, size);
        return NMC_ECORRUPT;
    }
    view_init(v, base, guard, size, h);
    return NMC_OK;
}

void camlbox_view_unmap(struct camlbox_view *v)
{
    nmc_sys_guard_remove(v->guard);
    nmc_sys_unmap(v->hdr, v->size);
    v->hdr = NULL;
    v->guard = NULL;
}

bool camlbox_message_ok(const struct camlbox_view *v, uint64_t state, uint64_t root)
{
    uint64_t bytelen = SLOT_BYTELEN(state);
    if (nmc_is_long(root))
        return bytelen == 0;
    return bytelen <= v->msg_size && bytelen % NMC_WORD_SIZE == 0 && root < bytelen &&
           root >= NMC_WORD_SIZE && root % NMC_WORD_SIZE == 0;
}

uint32_t camlbox_count_messages(const struct camlbox_view *v)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->capacity; i++)
        n += LOAD_RELAXED(&camlbox_slot(v, i)->state) != SLOT_FREE;
    return n;
}
