/* Robust, FIFO-waking mutexes in shared memory (Netmcore_mutex).
 *
 * The lock word. word == 0: free. Otherwise its low 30 bits are the owner's
 * thread id, bit 30 (INCONSISTENT) says the owner took it from a dead owner
 * and has not called nmc_mutex_consistent yet, and bit 31 (WAITERS) says a
 * sleeper may be queued, so unlock must look at the queue. The value
 * NOTREC (all tid bits set, no real thread id) means not recoverable.
 *
 * Fast paths (user space only): lock = CAS 0 -> tid; unlock = CAS tid -> 0.
 * Any other word sends the caller to a slow path in its own function.
 *
 * Slow lock: no spinning (under sustained contention a spinner that wins
 * steals the lock word's cache line on every operation and both processes
 * crawl, while a sleeper leaves the holder at fast-path speed; glibc does
 * not spin either): sleep in the FIFO queue (queue.c). Before sleeping the sleeper sets WAITERS in the word (CAS on
 * the value it saw, so an unlock in between is noticed). Slow unlock swaps
 * the word to 0 and wakes the oldest sleeper; a running thread may take the
 * lock first, and the woken sleeper then sleeps again with its ticket. The
 * acquirer re-sets WAITERS when others remain queued.
 *
 * Dead owners. Every NMC_SYNC_POLL_MS a sleeper checks whether the owner
 * named in the word still lives (nmc_sync_alive). If not, it swaps the word
 * from the value it saw to its own tid | INCONSISTENT and returns
 * NMC_EOWNER_DEAD: at most one sleeper wins, and within about
 * NMC_SYNC_POLL_MS of the death (plus the /proc read). trylock checks the
 * owner at once. Unlocking while INCONSISTENT stores NOTREC and wakes all.
 *
 * Recursion: count is touched only by the owner: 1 on acquisition, +1 per
 * relock, -1 per unlock above 1. Invariant: word holds a tid => count >= 1.
 * Its stores are relaxed: the CAS that acquires the word and the one that
 * releases it order them for the next owner (a sequentially consistent
 * store would be a second locked instruction on the fast path).
 */
#include <string.h>

#include "internal.h"

#define WAITERS 0x80000000u
#define INCONSISTENT 0x40000000u
#define NOTREC NMC_TID_MASK

static bool mutex_valid(const nmc_mutex *m)
{
    return m != NULL && LOAD_RELAXED(&m->magic) == NMC_MUTEX_MAGIC;
}

int nmc_mutex_init(nmc_mutex *m, enum nmc_mutex_kind kind)
{
    if (m == NULL || kind < NMC_MUTEX_NORMAL || kind > NMC_MUTEX_RECURSIVE)
        return NMC_EINVAL;
    STORE(&m->magic, 0u);
    memset(m->reserved, 0, sizeof m->reserved);
    STORE(&m->version, (uint16_t)NMC_SYNC_VERSION);
    STORE(&m->kind, (uint16_t)kind);
    STORE(&m->word, 0u);
    STORE(&m->count, 0u);
    nmc_sync_queue_init(&m->q);
    STORE(&m->magic, NMC_MUTEX_MAGIC);
    return NMC_OK;
}

/* The owner relocks: count for recursive, refuse for the others. */
static int relock_by_owner(nmc_mutex *m, bool try)
{
    switch (LOAD_RELAXED(&m->kind)) {
    case NMC_MUTEX_RECURSIVE: {
        uint32_t c = LOAD_RELAXED(&m->count);
        if (c == UINT32_MAX)
            return NMC_EOVERFLOW;
        STORE_RELAXED(&m->count, c + 1);
        return NMC_OK;
    }
    case NMC_MUTEX_ERRORCHECK:
        return try ? NMC_EBUSY : NMC_EDEADLOCK;
    default:
        return try ? NMC_EBUSY : 1; /* 1: go and wait for ourselves */
    }
}

/* Takes the word from a dead owner if it still reads w. */
static bool take_from_dead(nmc_mutex *m, uint32_t w, uint32_t tid)
{
    if (!CAS(&m->word, &w, tid | INCONSISTENT | (w & WAITERS)))
        return false;
    STORE_RELAXED(&m->count, 1u);
    return true;
}

/* One attempt on the word as seen (w): acquires a free lock, or says why
 * not. Returns NMC_OK (acquired), NMC_ENOT_RECOVERABLE, or NMC_EBUSY. */
static int try_word(nmc_mutex *m, uint32_t w, uint32_t tid, uint32_t extra)
{
    if (w == NOTREC)
        return NMC_ENOT_RECOVERABLE;
    if (w != 0 || !CAS(&m->word, &w, tid | extra))
        return NMC_EBUSY;
    STORE_RELAXED(&m->count, 1u);
    return NMC_OK;
}

/* Sleeps in slot i until the lock is taken, found not recoverable, taken
 * from a dead owner, or the deadline passes. */
static int lock_queued(nmc_mutex *m, int i, uint32_t tid, const struct timespec *abs_deadline)
{
    struct nmc_sync_slot *slot = &m->q.slot[i];
    for (;;) {
        if (LOAD_RELAXED(&slot->own) != OWN(tid, SLOT_WAITING))
            STORE(&slot->own, OWN(tid, SLOT_WAITING)); /* woken: queue again */
        uint32_t seq = LOAD(&slot->futex);
        uint32_t w = LOAD(&m->word);
        int st = try_word(m, w, tid, LOAD(&m->q.nqueued) > 1 ? WAITERS : 0);
        if (st != NMC_EBUSY)
            return st;
        if (w == 0)
            continue; /* lost a race for the free word */
        if (!(w & WAITERS) && !CAS(&m->word, &w, w | WAITERS))
            continue;
        w |= WAITERS;
        st = nmc_sync_queue_sleep(&m->q, i, seq, abs_deadline);
        if (st == NMC_ETIMEDOUT)
            return try_word(m, LOAD(&m->word), tid, WAITERS) == NMC_OK ? NMC_OK : NMC_ETIMEDOUT;
        if (st == 1) {
            if (!nmc_sync_alive(w & NMC_TID_MASK) && take_from_dead(m, w, tid))
                return NMC_EOWNER_DEAD;
            nmc_sync_queue_reap(&m->q);
        }
    }
}

/* A woken sleeper gives up: the wake goes to the next sleeper now if the
 * lock is free, or at the holder's unlock (WAITERS) if it is not. */
static void pass_on_wake(nmc_mutex *m)
{
    uint32_t w = LOAD(&m->word);
    while (w != 0 && w != NOTREC && !(w & WAITERS))
        if (CAS(&m->word, &w, w | WAITERS))
            return;
    if (w == 0 && LOAD(&m->q.nqueued) != 0)
        nmc_sync_queue_wake_first(&m->q);
}

/* Slow path of lock / timedlock / trylock: the word was not free. */
static int lock_slow(nmc_mutex *m, uint32_t tid, const struct timespec *abs_deadline, bool try)
{
    uint32_t w = LOAD(&m->word);
    if ((w & NMC_TID_MASK) == tid) {
        int st = relock_by_owner(m, try);
        if (st <= 0)
            return st;
    }
    if (try) {
        int st = try_word(m, w, tid, 0);
        if (st == NMC_EBUSY && !nmc_sync_alive(w & NMC_TID_MASK) && take_from_dead(m, w, tid))
            return NMC_EOWNER_DEAD;
        return st;
    }
    int i;
    while ((i = nmc_sync_queue_claim(&m->q, tid)) < 0) {
        w = LOAD(&m->word);
        int st = try_word(m, w, tid, WAITERS);
        if (st != NMC_EBUSY)
            return st;
        if (nmc_sync_queue_wait_overflow(&m->q, abs_deadline) == NMC_ETIMEDOUT)
            return NMC_ETIMEDOUT;
        if (!nmc_sync_alive(w & NMC_TID_MASK) && take_from_dead(m, w, tid))
            return NMC_EOWNER_DEAD;
    }
    int st = lock_queued(m, i, tid, abs_deadline);
    bool was_woken = OWN_STATE(LOAD(&m->q.slot[i].own)) == SLOT_WOKEN;
    nmc_sync_queue_release(&m->q, i);
    if (st == NMC_ENOT_RECOVERABLE)
        nmc_sync_queue_wake_all(&m->q);
    else if (was_woken && st == NMC_ETIMEDOUT)
        pass_on_wake(m);
    return st;
}

/* Lock, timed lock and trylock: the fast path, else lock_slow. */
static inline int lock(nmc_mutex *m, const struct timespec *abs_deadline, bool try)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint32_t tid = nmc_sync_self();
    uint32_t free_word = 0;
    if (NMC_LIKELY(CAS(&m->word, &free_word, tid))) {
        STORE_RELAXED(&m->count, 1u);
        return NMC_OK;
    }
    return lock_slow(m, tid, abs_deadline, try);
}

int nmc_mutex_timedlock(nmc_mutex *m, const struct timespec *abs_deadline)
{
    return lock(m, abs_deadline, false);
}

int nmc_mutex_lock(nmc_mutex *m)
{
    return nmc_mutex_timedlock(m, NULL);
}

int nmc_mutex_trylock(nmc_mutex *m)
{
    return lock(m, NULL, true);
}

/* Slow path of unlock: sleepers to wake, or the mutex to give up. */
static void unlock_slow(nmc_mutex *m)
{
    if (LOAD(&m->word) & INCONSISTENT) {
        STORE(&m->word, NOTREC);
        nmc_sync_queue_wake_all(&m->q);
        return;
    }
    EXCHANGE(&m->word, 0u);
    if (LOAD(&m->q.nqueued) != 0)
        nmc_sync_queue_wake_first(&m->q);
}

int nmc_mutex_unlock(nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint32_t tid = nmc_sync_self();
    uint32_t w = LOAD_RELAXED(&m->word);
    if ((w & NMC_TID_MASK) != tid)
        return NMC_EPERM;
    uint32_t c = LOAD_RELAXED(&m->count);
    if (c > 1) {
        STORE_RELAXED(&m->count, c - 1);
        return NMC_OK;
    }
    if (NMC_LIKELY(w == tid && CAS(&m->word, &w, 0u)))
        return NMC_OK;
    /* w had flag bits, or a sleeper set WAITERS since it was read. */
    unlock_slow(m);
    return NMC_OK;
}

int nmc_mutex_consistent(nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint32_t tid = nmc_sync_self();
    uint32_t w = LOAD(&m->word);
    if ((w & NMC_TID_MASK) != tid)
        return NMC_EPERM;
    if (!(w & INCONSISTENT))
        return NMC_EINVAL;
    /* Only the owner clears INCONSISTENT; sleepers may set WAITERS. */
    __atomic_fetch_and(&m->word, ~INCONSISTENT, __ATOMIC_SEQ_CST);
    return NMC_OK;
}

int nmc_mutex_destroy(nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint32_t w = LOAD(&m->word);
    if (w != 0 && w != NOTREC)
        return NMC_EBUSY;
    nmc_sync_queue_reap(&m->q);
    if (LOAD(&m->q.nqueued) != 0 || LOAD(&m->q.noverflow) != 0)
        return NMC_EBUSY;
    nmc_sync_poison(m, sizeof *m, &m->magic);
    return NMC_OK;
}

int nmc_mutex_check(const nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint16_t kind = LOAD(&m->kind);
    uint32_t w = LOAD(&m->word);
    if (LOAD(&m->version) != NMC_SYNC_VERSION || kind < NMC_MUTEX_NORMAL ||
        kind > NMC_MUTEX_RECURSIVE || !nmc_sync_zeroed(m->reserved, sizeof m->reserved))
        return NMC_ECORRUPT;
    if (w != 0 && w != NOTREC && ((w & NMC_TID_MASK) == 0 || LOAD(&m->count) == 0))
        return NMC_ECORRUPT;
    if (kind != NMC_MUTEX_RECURSIVE && (w & NMC_TID_MASK) != 0 && w != NOTREC &&
        LOAD(&m->count) != 1)
        return NMC_ECORRUPT;
    return nmc_sync_queue_check(&m->q);
}

int nmc_sync_mutex_owned(const nmc_mutex *m, uint32_t tid)
{
    uint32_t w = LOAD(&m->word);
    if ((w & NMC_TID_MASK) != tid)
        return NMC_EPERM;
    return (w & INCONSISTENT) ? NMC_EINVAL : NMC_OK;
}

uint32_t nmc_sync_mutex_release_all(nmc_mutex *m)
{
    uint32_t depth = LOAD(&m->count);
    STORE_RELAXED(&m->count, 1u);
    nmc_mutex_unlock(m);
    return depth;
}

int nmc_sync_mutex_relock(nmc_mutex *m, uint32_t depth)
{
    int st = nmc_mutex_lock(m);
    if (st == NMC_OK || st == NMC_EOWNER_DEAD)
        STORE_RELAXED(&m->count, depth);
    return st;
}

_Static_assert(offsetof(nmc_mutex, q) == 64, "the queue starts on the second cache line");
