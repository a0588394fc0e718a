/* Locking: OFD record locks on byte 0 (read / write), lock upgrades with
 * deadlock detection, groups, optimistic reads validated against the
 * change counter, and the read / write frames every operation runs in.
 * The mapping's words are read once (internal.h); an optimistic read
 * reads the change counter a second time on purpose, to compare. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "nmc/sync.h"

enum { OPTIMISTIC_TRIES = 3 };

static int ofd_lock(nmc_shmtable *t, short type, bool wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    while (fcntl(t->d->fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EDEADLK)
            return NMC_EDEADLOCK;
        if (!wait && (errno == EAGAIN || errno == EACCES))
            return NMC_EBUSY;
        return NMC_ESYS;
    }
    return NMC_OK;
}

/* Read -> write while other readers may hold the lock. Every reader that
 * waits to upgrade keeps its read lock, so two such waiters block each
 * other forever: the header's upgrade slot admits one waiter, the second
 * gets NMC_EDEADLOCK. (OFD locks get no EDEADLK from the kernel.) The slot
 * names the waiting thread (an nmc_owner: a dead waiter is seen dead even
 * when its pid runs another process); a thread that finds itself there
 * (a second descriptor of its own) would wait on itself: NMC_EDEADLOCK
 * too, as for a waiter whose liveness cannot be read. */
static int upgrade(nmc_shmtable *t)
{
    int rc = ofd_lock(t, F_WRLCK, false);
    if (rc != NMC_EBUSY)
        return rc;
    uint64_t *slot = (uint64_t *)(t->map + H_UPGRADER);
    nmc_owner self = nmc_owner_self();
    uint64_t cur = 0;
    while (!__atomic_compare_exchange_n(slot, &cur, self, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        if (nmc_owner_liveness(cur) != NMC_OWNER_GONE)
            return NMC_EDEADLOCK;
        /* A dead waiter's entry: clear it (if still there) and retry. */
        __atomic_compare_exchange_n(slot, &cur, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        cur = 0;
    }
    rc = ofd_lock(t, F_WRLCK, true);
    uint64_t mine = self;
    __atomic_compare_exchange_n(slot, &mine, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return rc;
}

int shmt_lock(nmc_shmtable *t, enum lock_mode mode)
{
    if (t->locking == NMC_SHM_NO_LOCKING || t->held >= mode)
        return NMC_OK;
    int rc = t->held == HELD_READ ? upgrade(t)
                                  : ofd_lock(t, mode == HELD_READ ? F_RDLCK : F_WRLCK, true);
    if (rc == NMC_OK)
        t->held = mode;
    return rc;
}

void shmt_unlock(nmc_shmtable *t)
{
    if (t->group_depth > 0 || t->iter_depth > 0 || t->held == HELD_NONE)
        return;
    ofd_lock(t, F_UNLCK, false);
    t->held = HELD_NONE;
}

int nmc_shmtable_group(nmc_shmtable *t, nmc_shmtable_group_fn fn, void *arg)
{
    if (t == NULL || fn == NULL)
        return NMC_EINVAL;
    t->group_depth++;
    int rc = fn(t, arg);
    t->group_depth--;
    shmt_unlock(t);
    return rc;
}

/* Outside groups and iterations a reader takes no lock: it runs fn on what
 * it sees and keeps the result if the change counter was even and
 * unchanged around it. fn must only read (and write private memory); every
 * page access is bounds-checked, so a torn view costs a retry, not a crash. */
static bool read_optimistic(nmc_shmtable *t, shmt_read_fn fn, void *arg, int *rc)
{
    for (int i = 0; i < OPTIMISTIC_TRIES; i++) {
        uint32_t s = __atomic_load_n(&t->map[H_SEQ], __ATOMIC_ACQUIRE);
        if (s & 1)
            return false;
        struct view v;
        *rc = shmt_view(t, &v);
        if (*rc == NMC_OK)
            *rc = fn(t, &v, arg);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->map[H_SEQ], __ATOMIC_RELAXED) == s)
            return true;
    }
    return false;
}

/* Finishes or undoes what a writer that died inside its mutation left
 * (shmtable.h, "Writers that die"; the write lock held, the counter s it
 * left odd), and evens the counter. */
static int repair_dead_writer(nmc_shmtable *t, uint32_t s)
{
    shmt_finish_rehash(t);
    struct view v;
    int rc = shmt_view(t, &v);
    if (rc == NMC_OK)
        rc = shmt_faulted(t) ? NMC_ECORRUPT : shmt_repair(t, &v);
    if (rc == NMC_OK && shmt_faulted(t))
        rc = NMC_ECORRUPT; /* a truncation cut the repair short: not done */
    if (rc == NMC_OK)
        __atomic_store_n(&t->map[H_SEQ], s + 1, __ATOMIC_RELEASE);
    return rc;
}

/* A reader that finds a dead writer's leftovers repairs them first when
 * it may write (locked tables only: without locks an odd counter may be a
 * live writer's). Returns with the read or the write lock held. */
static int lock_for_reading(nmc_shmtable *t)
{
    int rc = shmt_lock(t, HELD_READ);
    if (rc != NMC_OK || !(hdr_get(t, H_SEQ) & 1) || t->locking != NMC_SHM_RECORD_LOCKING ||
        !t->d->writable || t->held != HELD_READ || t->group_depth > 0 || t->iter_depth > 0)
        return rc;
    shmt_unlock(t);
    rc = shmt_lock(t, HELD_WRITE);
    uint32_t seq = rc == NMC_OK ? hdr_get(t, H_SEQ) : 0;
    if ((seq & 1) && (rc = repair_dead_writer(t, seq)) != NMC_OK)
        shmt_unlock(t);
    return rc;
}

int shmt_read(nmc_shmtable *t, bool optimistic, shmt_read_fn fn, void *arg)
{
    int rc;
    if (optimistic && t->held == HELD_NONE && t->group_depth == 0 &&
        read_optimistic(t, fn, arg, &rc))
        return shmt_end(t, rc);
    rc = lock_for_reading(t);
    if (rc == NMC_OK) {
        struct view v;
        rc = shmt_view(t, &v);
        if (rc == NMC_OK)
            rc = fn(t, &v, arg);
        shmt_unlock(t);
    }
    return shmt_end(t, rc);
}

int shmt_write(nmc_shmtable *t, shmt_write_fn fn, void *arg)
{
    if (t->iter_depth > 0)
        return NMC_ELOCKED;
    if (!t->d->writable)
        return NMC_EPERM;
    int rc = shmt_lock(t, HELD_WRITE);
    /* Odd: the writer that made it odd died inside its mutation (without
     * locks nobody else writes, shmtable.h). */
    uint32_t seq = rc == NMC_OK ? hdr_get(t, H_SEQ) : 0;
    if (seq & 1) {
        rc = repair_dead_writer(t, seq);
        seq++;
    }
    struct view v;
    if (rc == NMC_OK)
        rc = shmt_view(t, &v);
    bool cut = shmt_faulted(t); /* a mutation starts on a whole object */
    if (rc == NMC_OK && !cut) {
        /* Odd while we write (a writer that dies leaves it odd: readers
         * then lock, and the next one to hold the write lock repairs). */
        hdr_set(t, H_SEQ, seq + 1);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        rc = fn(t, &v, arg);
        /* A mutation cut short by a truncation may have written part of
         * what it meant to: the counter stays odd, as a dead writer's. */
        cut = shmt_faulted(t);
        if (!cut)
            __atomic_store_n(&t->map[H_SEQ], seq + 2, __ATOMIC_RELEASE);
    }
    shmt_unlock(t);
    return cut ? shmt_cut(t) : rc;
}
