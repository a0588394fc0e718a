/* The FIFO sleeper queue of mutexes and semaphores: lock-free, in shared
 * memory, robust against sleepers that die.
 *
 * Algorithm. A thread that must sleep claims one of NMC_SYNC_SLOTS slots by
 * a compare-and-swap of its `own` word from 0 to OWN(self, CLAIMED) (the
 * owner with its start time: internal.h), takes a ticket
 * (fetch-and-add on next_ticket) and turns the slot WAITING. It then re-reads
 * the slot's futex word, re-checks the resource (lock word, semaphore value)
 * and sleeps on the futex word if the resource is still taken. A releaser
 * frees the resource first, then, if nqueued > 0, picks the WAITING slot
 * with the smallest ticket, turns it WOKEN (CAS), bumps its futex word and
 * wakes it. A woken sleeper that finds the resource taken again (a running
 * thread barged in) turns its slot WAITING again and keeps its ticket, so it
 * stays first in line.
 *
 * Invariants. A slot's `own` names its sleeper in every non-free state;
 * only that sleeper moves it out of CLAIMED and WOKEN, only wakers move it
 * from WAITING to WOKEN, and any thread may free it once its owner is gone
 * (the CAS compares the owner too, so a slot reused by a live thread is
 * never freed by mistake). nqueued counts the non-free slots. Each
 * decision is made on one LOAD of `own`.
 *
 * No lost wake-up: both sides use sequentially consistent atomics. The
 * sleeper increments nqueued before re-checking the resource, and reads
 * the futex word before re-checking; the releaser frees the resource before
 * reading nqueued, and bumps the futex word after turning the slot WOKEN.
 *
 * Bounds. Claim and wake are O(NMC_SYNC_SLOTS). Beyond NMC_SYNC_SLOTS
 * sleepers, the rest wait on the `overflow` futex (woken one per freed
 * slot, and every NMC_SYNC_POLL_MS) and are not ordered among themselves.
 * A wake given to a sleeper that died is lost for at most one poll
 * interval: sleepers wake every NMC_SYNC_POLL_MS, reap dead slots and
 * re-check the resource.
 */
#include <limits.h>

#include "internal.h"

void nmc_sync_queue_init(struct nmc_sync_queue *q)
{
    STORE(&q->next_ticket, 0u);
    STORE(&q->nqueued, 0u);
    STORE(&q->overflow, 0u);
    STORE(&q->noverflow, 0u);
    for (int i = 0; i < NMC_SYNC_SLOTS; i++) {
        STORE(&q->slot[i].own, (uint64_t)0);
        STORE(&q->slot[i].futex, 0u);
        STORE(&q->slot[i].ticket, 0u);
    }
}

int nmc_sync_queue_claim(struct nmc_sync_queue *q, nmc_owner owner)
{
    for (int i = 0; i < NMC_SYNC_SLOTS; i++) {
        uint64_t own = 0;
        if (LOAD_RELAXED(&q->slot[i].own) != 0 ||
            !CAS(&q->slot[i].own, &own, OWN(owner, SLOT_CLAIMED)))
            continue;
        FETCH_ADD(&q->nqueued, 1u);
        STORE(&q->slot[i].ticket, FETCH_ADD(&q->next_ticket, 1u));
        STORE(&q->slot[i].own, OWN(owner, SLOT_WAITING));
        return i;
    }
    return -1;
}

/* Frees a non-free slot whose `own` still equals own; true if done. */
static bool free_slot(struct nmc_sync_queue *q, int i, uint64_t own)
{
    if (!CAS(&q->slot[i].own, &own, (uint64_t)0))
        return false;
    FETCH_SUB(&q->nqueued, 1u);
    if (LOAD(&q->noverflow) != 0) {
        FETCH_ADD(&q->overflow, 1u);
        nmc_futex_wake(&q->overflow, 1);
    }
    return true;
}

void nmc_sync_queue_release(struct nmc_sync_queue *q, int i)
{
    /* A waker may turn the slot from WAITING to WOKEN between the load and
     * the CAS (the sleeper got the resource on its own meanwhile); that is
     * the only change others make to a live sleeper's slot, so retry. */
    while (!free_slot(q, i, LOAD(&q->slot[i].own)))
        ;
}

/* Index of the WAITING slot with the smallest ticket (wrap-safe), or -1. */
static int first_waiting(struct nmc_sync_queue *q, uint64_t *own_out)
{
    int best = -1;
    uint32_t best_ticket = 0;
    for (int i = 0; i < NMC_SYNC_SLOTS; i++) {
        uint64_t own = LOAD(&q->slot[i].own);
        if (OWN_STATE(own) != SLOT_WAITING)
            continue;
        uint32_t ticket = LOAD(&q->slot[i].ticket);
        if (best < 0 || (int32_t)(ticket - best_ticket) < 0) {
            best = i;
            best_ticket = ticket;
            *own_out = own;
        }
    }
    return best;
}

/* Turns slot i from own (WAITING) to WOKEN and wakes its sleeper. */
static bool wake_slot(struct nmc_sync_queue *q, int i, uint64_t own)
{
    if (!CAS(&q->slot[i].own, &own, OWN(OWN_OWNER(own), SLOT_WOKEN)))
        return false;
    FETCH_ADD(&q->slot[i].futex, 1u);
    nmc_futex_wake(&q->slot[i].futex, 1);
    return true;
}

bool nmc_sync_queue_wake_first(struct nmc_sync_queue *q)
{
    for (;;) {
        uint64_t own = 0;
        int i = first_waiting(q, &own);
        if (i < 0)
            return false;
        if (wake_slot(q, i, own))
            return true;
    }
}

void nmc_sync_queue_wake_all(struct nmc_sync_queue *q)
{
    while (nmc_sync_queue_wake_first(q))
        ;
    FETCH_ADD(&q->overflow, 1u);
    nmc_futex_wake(&q->overflow, INT_MAX);
}

void nmc_sync_queue_reap(struct nmc_sync_queue *q)
{
    for (int i = 0; i < NMC_SYNC_SLOTS; i++) {
        uint64_t own = LOAD(&q->slot[i].own);
        if (own != 0 && nmc_sync_liveness(OWN_OWNER(own)) == NMC_OWNER_GONE)
            free_slot(q, i, own);
    }
}

int nmc_sync_queue_wait_overflow(struct nmc_sync_queue *q, const struct timespec *abs_deadline)
{
    struct timespec wake;
    FETCH_ADD(&q->noverflow, 1u);
    uint32_t seq = LOAD(&q->overflow);
    int st = NMC_OK;
    if (LOAD(&q->nqueued) >= NMC_SYNC_SLOTS) {
        bool poll = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
        st = nmc_futex_wait(&q->overflow, seq, &wake);
        if (st == NMC_ETIMEDOUT && poll)
            st = NMC_OK;
    }
    FETCH_SUB(&q->noverflow, 1u);
    if (st == NMC_OK)
        nmc_sync_queue_reap(q);
    return st == NMC_ETIMEDOUT ? NMC_ETIMEDOUT : NMC_OK;
}

int nmc_sync_queue_sleep(struct nmc_sync_queue *q, int i, uint32_t seq,
                         const struct timespec *abs_deadline)
{
    struct timespec wake;
    bool poll = nmc_deadline_earlier(abs_deadline, NMC_SYNC_POLL_MS / 1000.0, &wake);
    int st = nmc_futex_wait(&q->slot[i].futex, seq, &wake);
    if (st != NMC_ETIMEDOUT)
        return NMC_OK; /* woken, value changed, EINTR, or a futex error: re-check */
    return poll ? 1 : NMC_ETIMEDOUT;
}

int nmc_sync_queue_check(const struct nmc_sync_queue *q)
{
    uint32_t busy = 0;
    for (int i = 0; i < NMC_SYNC_SLOTS; i++) {
        uint64_t own = LOAD(&q->slot[i].own);
        if (own == 0)
            continue;
        if (OWN_STATE(own) == SLOT_FREE || NMC_OWNER_TID(OWN_OWNER(own)) == 0)
            return NMC_ECORRUPT;
        busy++;
    }
    if (busy != LOAD(&q->nqueued) || LOAD(&q->noverflow) > (uint32_t)INT32_MAX)
        return NMC_ECORRUPT;
    return NMC_OK;
}
