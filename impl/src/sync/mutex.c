/* Robust, FIFO-waking mutexes in shared memory (Netmcore_mutex).
 *
 * The lock word (64 bits). word == 0: free. Otherwise it is the owner (an
 * nmc_owner: tid in the low 30 bits, start time in the high 32) with two
 * flags in bits 30 and 31: INCONSISTENT says the owner took it from a dead
 * owner and has not called nmc_mutex_consistent yet, WAITERS says a sleeper
 * may be queued, so unlock must look at the queue. The value NOTREC (all
 * tid bits set, no real thread id) means not recoverable. The word is read
 * once per decision (LOAD into w) and every test is made on that copy.
 *
 * Fast paths (user space only): lock = CAS 0 -> self; unlock = CAS self -> 0.
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
 * named in the word still lives (nmc_sync_liveness); when that cannot be
 * told it gives up with NMC_ESYS. If the owner is gone, it swaps the word
 * from the value it saw to itself | INCONSISTENT and returns
 * NMC_EOWNER_DEAD: at most one sleeper wins, and within about
 * NMC_SYNC_POLL_MS of the death (plus the /proc read). trylock checks the
 * owner at once. Unlocking while INCONSISTENT stores NOTREC and wakes all.
 *
 * Recursion: count is touched only by the owner: 1 on acquisition, +1 per
 * relock, -1 per unlock above 1. Invariant: word names an owner => count >= 1.
 * Its stores are relaxed: the CAS that acquires the word and the one that
 * releases it order them for the next owner (a sequentially consistent
 * store would be a second locked instruction on the fast path).
 */
#include <string.h>

#include "internal.h"

#define WAITERS ((uint64_t)1 << 31)
#define INCONSISTENT ((uint64_t)1 << 30)
#define OWNER_BITS (~(WAITERS | INCONSISTENT))
#define NOTREC ((uint64_t)NMC_TID_MASK)

/* The owner a lock word names (0: none). */
#define owner_of(w) ((nmc_owner)((w)&OWNER_BITS))

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
    STORE(&m->word, (uint64_t)0);
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
static bool take_from_dead(nmc_mutex *m, uint64_t w, nmc_owner self)
{
    if (!CAS(&m->word, &w, self | INCONSISTENT | (w & WAITERS)))
        return false;
    STORE_RELAXED(&m->count, 1u);
    return true;
}

/* One attempt on the word as seen (w): acquires a free lock, or says why
 * not. Returns NMC_OK (acquired), NMC_ENOT_RECOVERABLE, or NMC_EBUSY. */
static int try_word(nmc_mutex *m, uint64_t w, nmc_owner self, uint64_t extra)
{
    if (w == NOTREC)
        return NMC_ENOT_RECOVERABLE;
    if (w != 0 || !CAS(&m->word, &w, self | extra))
        return NMC_EBUSY;
    STORE_RELAXED(&m->count, 1u);
    return NMC_OK;
}

/* The owner named in w is dead: takes the word (NMC_EOWNER_DEAD). Also
 * NMC_ESYS when its liveness cannot be read, NMC_EBUSY otherwise (w == 0:
 * the lock was free when read, try again). A word that names no thread
 * (tid 0: written by no locker) counts as a dead owner's. */
static int take_if_dead(nmc_mutex *m, uint64_t w, nmc_owner self)
{
    if (w == 0 || w == NOTREC)
        return NMC_EBUSY;
    switch (nmc_sync_liveness(owner_of(w))) {
    case NMC_OWNER_GONE:
        return take_from_dead(m, w, self) ? NMC_EOWNER_DEAD : NMC_EBUSY;
    case NMC_OWNER_UNKNOWN:
        return NMC_ESYS;
    default:
        return NMC_EBUSY;
    }
}

/* Sleeps in slot i until the lock is taken, found not recoverable, taken
 * from a dead owner, or the deadline passes. */
static int lock_queued(nmc_mutex *m, int i, nmc_owner self, const struct timespec *abs_deadline)
{
    struct nmc_sync_slot *slot = &m->q.slot[i];
    for (;;) {
        if (LOAD_RELAXED(&slot->own) != OWN(self, SLOT_WAITING))
            STORE(&slot->own, OWN(self, SLOT_WAITING)); /* woken: queue again */
        uint32_t seq = LOAD(&slot->futex);
        uint64_t w = LOAD(&m->word);
        int st = try_word(m, w, self, LOAD(&m->q.nqueued) > 1 ? WAITERS : 0);
        if (st != NMC_EBUSY)
            return st;
        if (w == 0)
            continue; /* lost a race for the free word */
        if (!(w & WAITERS) && !CAS(&m->word, &w, w | WAITERS))
            continue;
        w |= WAITERS;
        st = nmc_sync_queue_sleep(&m->q, i, seq, abs_deadline);
        if (st == NMC_ETIMEDOUT)
            return try_word(m, LOAD(&m->word), self, WAITERS) == NMC_OK ? NMC_OK : NMC_ETIMEDOUT;
        if (st == 1) {
            if ((st = take_if_dead(m, w, self)) != NMC_EBUSY)
                return st;
            nmc_sync_queue_reap(&m->q);
        }
    }
}

/* A woken sleeper gives up: the wake goes to the next sleeper now if the
 * lock is free, or at the holder's unlock (WAITERS) if it is not. */
static void pass_on_wake(nmc_mutex *m)
{
    uint64_t w = LOAD(&m->word);
    while (w != 0 && w != NOTREC && !(w & WAITERS))
        if (CAS(&m->word, &w, w | WAITERS))
            return;
    if (w == 0 && LOAD(&m->q.nqueued) != 0)
        nmc_sync_queue_wake_first(&m->q);
}

/* Slow path of lock / timedlock / trylock: the word was not free. */
static int lock_slow(nmc_mutex *m, nmc_owner self, const struct timespec *abs_deadline,
                     bool try)
{
    uint64_t w = LOAD(&m->word);
    if (owner_of(w) == self) {
        int st = relock_by_owner(m, try);
        if (st <= 0)
            return st;
    }
    if (try) {
        int st = try_word(m, w, self, 0);
        if (st == NMC_EBUSY && (st = take_if_dead(m, w, self)) == NMC_ESYS)
            st = NMC_EBUSY; /* trylock never waits: cannot tell is busy */
        return st;
    }
    int i;
    while ((i = nmc_sync_queue_claim(&m->q, self)) < 0) {
        w = LOAD(&m->word);
        int st = try_word(m, w, self, WAITERS);
        if (st != NMC_EBUSY)
            return st;
        if (nmc_sync_queue_wait_overflow(&m->q, abs_deadline) == NMC_ETIMEDOUT)
            return NMC_ETIMEDOUT;
        if ((st = take_if_dead(m, w, self)) != NMC_EBUSY)
            return st;
    }
    int st = lock_queued(m, i, self, abs_deadline);
    bool was_woken = OWN_STATE(LOAD(&m->q.slot[i].own)) == SLOT_WOKEN;
    nmc_sync_queue_release(&m->q, i);
    if (st == NMC_ENOT_RECOVERABLE)
        nmc_sync_queue_wake_all(&m->q);
    else if (was_woken && (st == NMC_ETIMEDOUT || st == NMC_ESYS))
        pass_on_wake(m);
    return st;
}

/* Lock, timed lock and trylock: the fast path, else lock_slow. */
static inline int lock(nmc_mutex *m, const struct timespec *abs_deadline, bool try)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    nmc_owner self = nmc_sync_self();
    uint64_t free_word = 0;
    if (NMC_LIKELY(CAS(&m->word, &free_word, self))) {
        STORE_RELAXED(&m->count, 1u);
        return NMC_OK;
    }
    return lock_slow(m, self, abs_deadline, try);
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
    EXCHANGE(&m->word, (uint64_t)0);
    if (LOAD(&m->q.nqueued) != 0)
        nmc_sync_queue_wake_first(&m->q);
}

int nmc_mutex_unlock(nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    nmc_owner self = nmc_sync_self();
    uint64_t w = LOAD_RELAXED(&m->word);
    if (owner_of(w) != self)
        return NMC_EPERM;
    uint32_t c = LOAD_RELAXED(&m->count);
    if (c > 1) {
        STORE_RELAXED(&m->count, c - 1);
        return NMC_OK;
    }
    if (NMC_LIKELY(w == self && CAS(&m->word, &w, (uint64_t)0)))
        return NMC_OK;
    /* w had flag bits, or a sleeper set WAITERS since it was read. */
    unlock_slow(m);
    return NMC_OK;
}

int nmc_mutex_consistent(nmc_mutex *m)
{
    if (!mutex_valid(m))
        return NMC_EINVAL;
    uint64_t w = LOAD(&m->word);
    if (owner_of(w) != nmc_sync_self())
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
    uint64_t w = LOAD(&m->word);
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
    uint64_t w = LOAD(&m->word);
    uint32_t count = LOAD(&m->count);
    if (LOAD(&m->version) != NMC_SYNC_VERSION || kind < NMC_MUTEX_NORMAL ||
        kind > NMC_MUTEX_RECURSIVE || !nmc_sync_zeroed(m->reserved, sizeof m->reserved))
        return NMC_ECORRUPT;
    if (w != 0 && w != NOTREC && (NMC_OWNER_TID(owner_of(w)) == 0 || count == 0))
        return NMC_ECORRUPT;
    if (kind != NMC_MUTEX_RECURSIVE && owner_of(w) != 0 && w != NOTREC && count != 1)
        return NMC_ECORRUPT;
    return nmc_sync_queue_check(&m->q);
}

int nmc_sync_mutex_owned(const nmc_mutex *m, nmc_owner owner)
{
    uint64_t w = LOAD(&m->word);
    if (owner_of(w) != owner)
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
