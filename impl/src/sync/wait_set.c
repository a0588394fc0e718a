/* Wait sets: the wait entries of condition variables (Netmcore_condition's
 * wait_set and wait_entry).
 *
 * A wait set is a header followed by `capacity` entries. An entry's `own`
 * word is OWN(owner, state) (internal.h): FREE (0), IDLE (allocated), WAITING (queued on
 * the condition at cond_off with a ticket), SIGNALLED (woken, not yet
 * returned). Allocation is a compare-and-swap from 0, so the set needs no
 * lock; nused counts the non-free entries.
 *
 * Entries of dead threads are reclaimed when allocation finds no free one
 * (and by signal, for waiters, see cond.c): the CAS compares the whole own
 * word, so an entry reused by a live thread in between is left alone.
 * Bounds: alloc and reclaim are O(capacity).
 */
#include <string.h>

#include "wait_set.h"

bool nmc_wait_set_valid(const nmc_wait_set *ws)
{
    return ws != NULL && LOAD_RELAXED(&ws->magic) == NMC_WAIT_SET_MAGIC;
}

size_t nmc_wait_set_size(uint32_t capacity)
{
    /* Capped at INT32_MAX entries, the size fits any 64-bit size_t. */
    if (capacity == 0 || capacity > INT32_MAX)
        return 0;
    return sizeof(nmc_wait_set) + (size_t)capacity * sizeof(struct nmc_wait_slot);
}

int nmc_wait_set_init(nmc_wait_set *ws, uint32_t capacity)
{
    if (ws == NULL || nmc_wait_set_size(capacity) == 0)
        return NMC_EINVAL;
    STORE(&ws->version, (uint32_t)NMC_SYNC_VERSION);
    STORE(&ws->capacity, capacity);
    STORE(&ws->nused, 0u);
    memset(ws->entry, 0, (size_t)capacity * sizeof ws->entry[0]);
    STORE(&ws->magic, NMC_WAIT_SET_MAGIC);
    return NMC_OK;
}

bool nmc_wait_set_free_entry(nmc_wait_set *ws, uint32_t i, uint64_t own)
{
    struct nmc_wait_slot *e = &ws->entry[i];
    unsigned state = OWN_STATE(own);
    int64_t cond_off = LOAD(&e->cond_off);
    if (!CAS(&e->own, &own, (uint64_t)0))
        return false;
    if (state == ENTRY_WAITING || state == ENTRY_SIGNALLED) {
        nmc_cond *c = (nmc_cond *)((char *)ws + cond_off);
        if (LOAD(&c->magic) == NMC_COND_MAGIC)
            FETCH_SUB(&c->nwaiters, 1u);
    }
    FETCH_SUB(&ws->nused, 1u);
    return true;
}

/* Frees every entry whose thread is dead; returns how many. */
static uint32_t reap_dead(nmc_wait_set *ws)
{
    uint32_t n = 0, cap = LOAD(&ws->capacity);
    for (uint32_t i = 0; i < cap; i++) {
        uint64_t own = LOAD(&ws->entry[i].own);
        if (own != 0 && nmc_sync_liveness(OWN_OWNER(own)) == NMC_OWNER_GONE &&
            nmc_wait_set_free_entry(ws, i, own))
            n++;
    }
    return n;
}

/* Claims a free entry for tid; its index or -1. */
static int64_t claim(nmc_wait_set *ws, nmc_owner owner)
{
    uint32_t cap = LOAD(&ws->capacity);
    for (uint32_t i = 0; i < cap; i++) {
        uint64_t own = 0;
        if (LOAD_RELAXED(&ws->entry[i].own) == 0 &&
            CAS(&ws->entry[i].own, &own, OWN(owner, ENTRY_IDLE))) {
            FETCH_ADD(&ws->nused, 1u);
            return i;
        }
    }
    return -1;
}

int nmc_wait_entry_alloc(nmc_wait_set *ws, nmc_wait_entry *we)
{
    if (!nmc_wait_set_valid(ws) || we == NULL)
        return NMC_EINVAL;
    nmc_owner self = nmc_sync_self();
    int64_t i = claim(ws, self);
    if (i < 0 && reap_dead(ws) > 0)
        i = claim(ws, self);
    if (i < 0)
        return NMC_EOUT_OF_SPACE;
    we->ws = ws;
    we->index = (uint32_t)i;
    return NMC_OK;
}

int nmc_wait_entry_valid(const nmc_wait_entry *we)
{
    if (we == NULL || !nmc_wait_set_valid(we->ws) || we->index >= LOAD(&we->ws->capacity))
        return NMC_EINVAL;
    return NMC_OK;
}

int nmc_wait_entry_free(nmc_wait_entry *we)
{
    int st = nmc_wait_entry_valid(we);
    if (st != NMC_OK)
        return st;
    uint64_t own = LOAD(&we->ws->entry[we->index].own);
    switch (OWN_STATE(own)) {
    case ENTRY_FREE:
        return NMC_EINVAL;
    case ENTRY_IDLE:
        return nmc_wait_set_free_entry(we->ws, we->index, own) ? NMC_OK : NMC_EBUSY;
    default:
        return NMC_EBUSY;
    }
}

int nmc_wait_set_destroy(nmc_wait_set *ws)
{
    if (!nmc_wait_set_valid(ws))
        return NMC_EINVAL;
    reap_dead(ws);
    if (LOAD(&ws->nused) != 0)
        return NMC_EBUSY;
    nmc_sync_poison(ws, nmc_wait_set_size(LOAD(&ws->capacity)), &ws->magic);
    return NMC_OK;
}

int nmc_wait_set_check(const nmc_wait_set *ws)
{
    if (!nmc_wait_set_valid(ws))
        return NMC_EINVAL;
    uint32_t cap = LOAD(&ws->capacity), used = 0;
    if (LOAD(&ws->version) != NMC_SYNC_VERSION || cap == 0 || cap > INT32_MAX)
        return NMC_ECORRUPT;
    for (uint32_t i = 0; i < cap; i++) {
        const struct nmc_wait_slot *e = &ws->entry[i];
        uint64_t own = LOAD(&e->own);
        if (own == 0)
            continue;
        if (OWN_STATE(own) == ENTRY_FREE || NMC_OWNER_TID(OWN_OWNER(own)) == 0)
            return NMC_ECORRUPT;
        if (OWN_STATE(own) >= ENTRY_WAITING && LOAD(&e->cond_off) % 8 != 0)
            return NMC_ECORRUPT;
        used++;
    }
    return used == LOAD(&ws->nused) ? NMC_OK : NMC_ECORRUPT;
}
