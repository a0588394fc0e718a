/* Condition variables with wait entries (Netmcore_condition), FIFO.
 *
 * The original queues wait entries in a linked list under a lock and wakes
 * the most recent one (LIFO). Here a condition holds no list: a waiter
 * publishes its entry in the wait set as WAITING with the condition's
 * offset (cond_off) and a ticket from the condition's next_ticket, and
 * sleeps on the entry's futex word. signal picks, among the set's entries
 * WAITING on this condition with a ticket older than the call, the one with
 * the smallest ticket, turns it SIGNALLED (CAS) and wakes it; broadcast
 * does so for all of them. nwaiters counts entries WAITING or SIGNALLED
 * and not yet returned, so signal on an idle condition stays in user space.
 *
 * No lost signal: the waiter publishes WAITING (and reads the futex word)
 * while it still holds the mutex, then unlocks it. A signal that follows
 * sees the entry; its futex bump makes the later futex wait return at once.
 *
 * Waiting spins on the entry before sleeping (adaptively: spin.h), so a
 * signal that comes within microseconds costs no system call on either
 * side.
 *
 * Dead waiters: when the futex wake finds no sleeper and the entry stays
 * signalled for a while, its thread is descheduled or dead; signal then
 * checks (nmc_sync_liveness), frees a gone thread's entry and signals the next
 * waiter instead, so a signal is never absorbed by a dead process.
 *
 * The condition finds its wait set by a self-relative offset (ws_off), set
 * by the first wait: both must lie in one mapping, at any address.
 * Bounds: signal and broadcast are O(capacity of the wait set).
 */
#include <limits.h>

#include "wait_set.h"

static bool cond_valid(const nmc_cond *c)
{
    return c != NULL && LOAD_RELAXED(&c->magic) == NMC_COND_MAGIC;
}

int nmc_cond_init(nmc_cond *c)
{
    if (c == NULL)
        return NMC_EINVAL;
    STORE(&c->version, (uint32_t)NMC_SYNC_VERSION);
    STORE(&c->next_ticket, 0u);
    STORE(&c->nwaiters, 0u);
    STORE(&c->ws_off, (int64_t)0);
    STORE(&c->magic, NMC_COND_MAGIC);
    return NMC_OK;
}

/* Binds c to ws on first use; NMC_EINVAL if bound to another set. */
static int bind_wait_set(nmc_cond *c, const nmc_wait_set *ws)
{
    int64_t off = (int64_t)((intptr_t)ws - (intptr_t)c);
    int64_t bound = 0;
    if (CAS(&c->ws_off, &bound, off) || bound == off)
        return NMC_OK;
    return NMC_EINVAL;
}

/* Publishes entry e of the caller as WAITING on c; its futex value in *seq. */
static int enqueue(nmc_wait_entry *we, nmc_cond *c, nmc_owner self, uint32_t *seq)
{
    struct nmc_wait_slot *e = &we->ws->entry[we->index];
    uint64_t own = LOAD(&e->own);
    if (OWN_STATE(own) != ENTRY_IDLE)
        return OWN_STATE(own) == ENTRY_FREE ? NMC_EINVAL : NMC_EBUSY;
    STORE(&e->cond_off, (int64_t)((intptr_t)c - (intptr_t)we->ws));
    STORE(&e->ticket, FETCH_ADD(&c->next_ticket, 1u));
    *seq = LOAD(&e->futex);
    FETCH_ADD(&c->nwaiters, 1u);
    if (!CAS(&e->own, &own, OWN(self, ENTRY_WAITING))) {
        FETCH_SUB(&c->nwaiters, 1u);
        return NMC_EBUSY;
    }
    return NMC_OK;
}

/* Sleeps until e is signalled (NMC_OK) or the deadline passes and the
 * caller withdraws the entry (NMC_ETIMEDOUT). Leaves e IDLE. */
static int sleep_on_entry(struct nmc_wait_slot *e, nmc_owner self, uint32_t seq,
                          const struct timespec *abs_deadline)
{
    bool seen = false;
    uint32_t n = nmc_spin_allowance(&nmc_sync_spin, NMC_WAKE_SPIN);
    for (uint32_t spin = 0; spin < n && !seen; spin++) {
        seen = OWN_STATE(LOAD_RELAXED(&e->own)) == ENTRY_SIGNALLED;
        nmc_cpu_relax();
    }
    nmc_spin_outcome(&nmc_sync_spin, NMC_WAKE_SPIN, seen);
    for (;;) {
        if (OWN_STATE(LOAD(&e->own)) == ENTRY_SIGNALLED) {
            STORE(&e->own, OWN(self, ENTRY_IDLE));
            return NMC_OK;
        }
        if (nmc_futex_wait(&e->futex, seq, abs_deadline) == NMC_ETIMEDOUT) {
            uint64_t own = OWN(self, ENTRY_WAITING);
            if (CAS(&e->own, &own, OWN(self, ENTRY_IDLE)))
                return NMC_ETIMEDOUT;
        }
        seq = LOAD(&e->futex);
    }
}

int nmc_cond_timedwait(nmc_wait_entry *we, nmc_cond *c, nmc_mutex *m,
                       const struct timespec *abs_deadline)
{
    if (!cond_valid(c) || m == NULL || LOAD_RELAXED(&m->magic) != NMC_MUTEX_MAGIC ||
        nmc_wait_entry_valid(we) != NMC_OK)
        return NMC_EINVAL;
    nmc_owner self = nmc_sync_self();
    int st = nmc_sync_mutex_owned(m, self);
    if (st != NMC_OK)
        return st;
    if ((st = bind_wait_set(c, we->ws)) != NMC_OK)
        return st;
    uint32_t seq;
    if ((st = enqueue(we, c, self, &seq)) != NMC_OK)
        return st;
    uint32_t depth = nmc_sync_mutex_release_all(m);
    st = sleep_on_entry(&we->ws->entry[we->index], self, seq, abs_deadline);
    FETCH_SUB(&c->nwaiters, 1u);
    int relock = nmc_sync_mutex_relock(m, depth);
    return relock != NMC_OK ? relock : st;
}

int nmc_cond_wait(nmc_wait_entry *we, nmc_cond *c, nmc_mutex *m)
{
    return nmc_cond_timedwait(we, c, m, NULL);
}

/* The wait set of c, or NULL if no wait ever bound one. */
static nmc_wait_set *bound_set(nmc_cond *c)
{
    int64_t off = LOAD(&c->ws_off);
    return off == 0 ? NULL : (nmc_wait_set *)((char *)c + off);
}

/* Signals entry i seen as own (WAITING) on the condition at cond_off with
 * ticket. Returns 1 if a live waiter got it, 0 if the entry changed
 * meanwhile, -1 if its thread was dead (entry freed). */
static int signal_entry(nmc_wait_set *ws, uint32_t i, uint64_t own, int64_t cond_off,
                        uint32_t ticket)
{
    struct nmc_wait_slot *e = &ws->entry[i];
    uint64_t signalled = OWN(OWN_OWNER(own), ENTRY_SIGNALLED);
    if (!CAS(&e->own, &own, signalled))
        return 0;
    /* Between the scan and the CAS the waiter may have timed out and waited
     * again, on another condition or later in line: it got a spurious
     * wake-up (it re-checks its predicate), and this signal goes on. */
    if (LOAD(&e->cond_off) != cond_off || LOAD(&e->ticket) != ticket) {
        FETCH_ADD(&e->futex, 1u);
        nmc_futex_wake(&e->futex, 1);
        return 0;
    }
    FETCH_ADD(&e->futex, 1u);
    if (nmc_futex_wake(&e->futex, 1) > 0)
        return 1;
    /* Nobody slept on the entry: its waiter is spinning, on its way into
     * the kernel (where the futex bump turns it back), or dead. A live one
     * takes the signal within moments; only an entry left signalled is
     * worth the liveness check, which reads /proc. */
    for (int spin = 0; spin < NMC_WAKE_SPIN; spin++) {
        if (LOAD_RELAXED(&e->own) != signalled)
            return 1;
        nmc_cpu_relax();
    }
    if (nmc_sync_liveness(OWN_OWNER(own)) != NMC_OWNER_GONE)
        return 1;
    nmc_wait_set_free_entry(ws, i, signalled);
    return -1;
}

/* Whether entry e waits on the condition at cond_off with a ticket before
 * end; its own word in *own. */
static bool waits_before(const struct nmc_wait_slot *e, int64_t cond_off, uint32_t end,
                         uint64_t *own)
{
    *own = LOAD(&e->own);
    return OWN_STATE(*own) == ENTRY_WAITING && LOAD(&e->cond_off) == cond_off &&
           (int32_t)(LOAD(&e->ticket) - end) < 0;
}

/* What signal and broadcast start from: the wait set of c (NULL with *st
 * NMC_OK when nobody waits), the condition's offset from it, and the
 * ticket of the next waiter (waiters from it on came after the call). */
static nmc_wait_set *waiters_of(nmc_cond *c, int64_t *cond_off, uint32_t *end, int *st)
{
    *st = cond_valid(c) ? NMC_OK : NMC_EINVAL;
    if (*st != NMC_OK || LOAD(&c->nwaiters) == 0)
        return NULL;
    nmc_wait_set *ws = bound_set(c);
    if (ws == NULL || !nmc_wait_set_valid(ws)) {
        *st = NMC_ECORRUPT;
        return NULL;
    }
    *cond_off = -LOAD(&c->ws_off);
    *end = LOAD(&c->next_ticket);
    return ws;
}

int nmc_cond_signal(nmc_cond *c)
{
    int64_t cond_off;
    uint32_t end;
    int st;
    nmc_wait_set *ws = waiters_of(c, &cond_off, &end, &st);
    if (ws == NULL)
        return st;
    uint32_t cap = LOAD(&ws->capacity);
    for (;;) {
        int64_t best = -1;
        uint32_t best_ticket = 0;
        uint64_t best_own = 0, own;
        for (uint32_t i = 0; i < cap; i++) {
            if (!waits_before(&ws->entry[i], cond_off, end, &own))
                continue;
            uint32_t ticket = LOAD(&ws->entry[i].ticket);
            if (best < 0 || (int32_t)(ticket - best_ticket) < 0) {
                best = i;
                best_ticket = ticket;
                best_own = own;
            }
        }
        if (best < 0 || signal_entry(ws, (uint32_t)best, best_own, cond_off, best_ticket) == 1)
            return NMC_OK;
    }
}

int nmc_cond_broadcast(nmc_cond *c)
{
    int64_t cond_off;
    uint32_t end;
    uint64_t own;
    int st;
    nmc_wait_set *ws = waiters_of(c, &cond_off, &end, &st);
    if (ws == NULL)
        return st;
    uint32_t cap = LOAD(&ws->capacity);
    for (uint32_t i = 0; i < cap; i++)
        while (waits_before(&ws->entry[i], cond_off, end, &own) &&
               signal_entry(ws, i, own, cond_off, LOAD(&ws->entry[i].ticket)) == 0)
            ;
    return NMC_OK;
}

int nmc_cond_destroy(nmc_cond *c)
{
    if (!cond_valid(c))
        return NMC_EINVAL;
    nmc_wait_set *ws = bound_set(c);
    if (LOAD(&c->nwaiters) != 0 && ws != NULL && nmc_wait_set_valid(ws)) {
        uint32_t cap = LOAD(&ws->capacity);
        for (uint32_t i = 0; i < cap; i++) {
            uint64_t own = LOAD(&ws->entry[i].own);
            if (OWN_STATE(own) >= ENTRY_WAITING &&
                nmc_sync_liveness(OWN_OWNER(own)) == NMC_OWNER_GONE)
                nmc_wait_set_free_entry(ws, i, own);
        }
    }
    if (LOAD(&c->nwaiters) != 0)
        return NMC_EBUSY;
    nmc_sync_poison(c, sizeof *c, &c->magic);
    return NMC_OK;
}

int nmc_cond_check(const nmc_cond *c)
{
    if (!cond_valid(c))
        return NMC_EINVAL;
    if (LOAD(&c->version) != NMC_SYNC_VERSION || LOAD(&c->ws_off) % 8 != 0 ||
        LOAD(&c->nwaiters) > INT32_MAX)
        return NMC_ECORRUPT;
    return NMC_OK;
}
