/* Semaphores in shared memory (Netmcore_sem, without its kernel sem_t).
 *
 * value is the count. wait decrements it with a compare-and-swap when it is
 * positive (user space only); otherwise, after an adaptive spin (spin.h),
 * the caller sleeps in the FIFO queue (queue.c) and retries on each wake. post
 * increments value and wakes the longest sleeper only when nqueued says
 * someone sleeps, so an uncontended post stays in user space too.
 * Invariant: 0 <= value <= NMC_SEM_VALUE_MAX, except for the instant a
 * post past the maximum takes its unit back (getvalue clamps).
 */
#include "internal.h"

#include <string.h>

static bool sem_valid(const nmc_sem *s)
{
    return s != NULL && LOAD_RELAXED(&s->magic) == NMC_SEM_MAGIC;
}

/* Takes one unit if value > 0. */
static bool sem_take(nmc_sem *s)
{
    uint32_t v = LOAD_RELAXED(&s->value);
    while (v > 0)
        if (CAS(&s->value, &v, v - 1))
            return true;
    return false;
}

int nmc_sem_init(nmc_sem *s, unsigned value)
{
    if (s == NULL || value > NMC_SEM_VALUE_MAX)
        return NMC_EINVAL;
    STORE(&s->magic, 0u);
    memset(s->reserved, 0, sizeof s->reserved);
    STORE(&s->version, (uint32_t)NMC_SYNC_VERSION);
    STORE(&s->value, (uint32_t)value);
    nmc_sync_queue_init(&s->q);
    STORE(&s->magic, NMC_SEM_MAGIC);
    return NMC_OK;
}

int nmc_sem_post(nmc_sem *s)
{
    if (!sem_valid(s))
        return NMC_EINVAL;
    /* One fetch-add; a post past the maximum is taken back (a waiter may
     * have used the unit meanwhile: the count stays right). */
    if (FETCH_ADD(&s->value, 1u) >= NMC_SEM_VALUE_MAX) {
        FETCH_SUB(&s->value, 1u);
        return NMC_EOVERFLOW;
    }
    if (LOAD(&s->q.nqueued) != 0)
        nmc_sync_queue_wake_first(&s->q);
    return NMC_OK;
}

/* Slow path of wait: sleeps in the queue until a unit is taken or the
 * deadline passes. */
static int sem_wait_slow(nmc_sem *s, const struct timespec *abs_deadline)
{
    uint32_t n = nmc_spin_allowance(&nmc_sync_spin, NMC_WAKE_SPIN);
    for (uint32_t spin = 0; spin < n; spin++) {
        nmc_cpu_relax();
        if (sem_take(s)) {
            nmc_spin_outcome(&nmc_sync_spin, NMC_WAKE_SPIN, true);
            return NMC_OK;
        }
    }
    nmc_spin_outcome(&nmc_sync_spin, NMC_WAKE_SPIN, false);
    nmc_owner self = nmc_sync_self();
    int i;
    while ((i = nmc_sync_queue_claim(&s->q, self)) < 0) {
        if (sem_take(s))
            return NMC_OK;
        if (nmc_sync_queue_wait_overflow(&s->q, abs_deadline) == NMC_ETIMEDOUT)
            return sem_take(s) ? NMC_OK : NMC_ETIMEDOUT;
    }
    struct nmc_sync_slot *slot = &s->q.slot[i];
    int st;
    for (;;) {
        STORE(&slot->own, OWN(self, SLOT_WAITING));
        uint32_t seq = LOAD(&slot->futex);
        if (sem_take(s)) {
            st = NMC_OK;
            break;
        }
        st = nmc_sync_queue_sleep(&s->q, i, seq, abs_deadline);
        if (st == NMC_ETIMEDOUT) {
            st = sem_take(s) ? NMC_OK : NMC_ETIMEDOUT;
            break;
        }
        if (st == 1)
            nmc_sync_queue_reap(&s->q);
    }
    bool was_woken = OWN_STATE(LOAD(&slot->own)) == SLOT_WOKEN;
    nmc_sync_queue_release(&s->q, i);
    /* A wake this sleeper will not use goes to the next one. */
    if (was_woken && st != NMC_OK && LOAD(&s->value) > 0)
        nmc_sync_queue_wake_first(&s->q);
    return st;
}

int nmc_sem_timedwait(nmc_sem *s, const struct timespec *abs_deadline)
{
    if (!sem_valid(s))
        return NMC_EINVAL;
    if (NMC_LIKELY(sem_take(s)))
        return NMC_OK;
    return sem_wait_slow(s, abs_deadline);
}

int nmc_sem_wait(nmc_sem *s)
{
    return nmc_sem_timedwait(s, NULL);
}

int nmc_sem_trywait(nmc_sem *s)
{
    if (!sem_valid(s))
        return NMC_EINVAL;
    return sem_take(s) ? NMC_OK : NMC_EBUSY;
}

int nmc_sem_getvalue(nmc_sem *s, unsigned *value)
{
    if (!sem_valid(s) || value == NULL)
        return NMC_EINVAL;
    uint32_t v = LOAD(&s->value);
    *value = v < NMC_SEM_VALUE_MAX ? v : NMC_SEM_VALUE_MAX;
    return NMC_OK;
}

int nmc_sem_destroy(nmc_sem *s)
{
    if (!sem_valid(s))
        return NMC_EINVAL;
    nmc_sync_queue_reap(&s->q);
    if (LOAD(&s->q.nqueued) != 0 || LOAD(&s->q.noverflow) != 0)
        return NMC_EBUSY;
    nmc_sync_poison(s, sizeof *s, &s->magic);
    return NMC_OK;
}

int nmc_sem_check(const nmc_sem *s)
{
    if (!sem_valid(s))
        return NMC_EINVAL;
    if (LOAD(&s->version) != NMC_SYNC_VERSION || LOAD(&s->value) > NMC_SEM_VALUE_MAX ||
        !nmc_sync_zeroed(s->reserved, sizeof s->reserved))
        return NMC_ECORRUPT;
    return nmc_sync_queue_check(&s->q);
}

_Static_assert(offsetof(nmc_sem, q) == 64, "the queue starts on the second cache line");
