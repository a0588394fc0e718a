/* Private helpers of the sync module: atomics on shared words, the caller's
 * thread id, liveness of other threads, and the FIFO sleeper queue used by
 * mutexes and semaphores (queue.c).
 *
 * All shared fields are accessed with the __atomic builtins (sequentially
 * consistent unless a comment says otherwise), never with plain loads and
 * stores, so that processes and threads agree on their order.
 *
 * The objects are input (impl/README.md, "Shared memory is input"): any
 * process that maps them may write any word. Each decision reads the word
 * it rests on once into a local (a lock word, a slot's own word) and makes
 * every test and the compare-and-swap on that local. A word that names no
 * thread or an impossible state is not trusted to mean "someone holds
 * it": a lock word naming no live owner is taken over (NMC_EOWNER_DEAD),
 * so random words never make a locker wait for ever; only a word naming a
 * live thread does, as it would for that thread's own lock.
 */
#ifndef NMC_SYNC_INTERNAL_H
#define NMC_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomics.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "nmc/sys.h"
#include "spin.h"

#define NMC_LIKELY(x) __builtin_expect(!!(x), 1)

/* Spins (pause + load) a semaphore or condition waiter makes before
 * sleeping, at most: adaptive per thread (spin.h). Mutexes do not spin
 * (mutex.c). */
#define NMC_WAKE_SPIN 1024
extern __thread struct nmc_spin nmc_sync_spin __attribute__((tls_model("initial-exec")));

/* Thread ids fit in 30 bits (pid_max is at most 2^22). */
#define NMC_TID_MASK 0x3fffffffu

/* A queue slot's or wait entry's `own` word: the owner's start time in the
 * high half (as in an nmc_owner), its tid << 2 | the state in the low. */
#define OWN_START_BITS 0xffffffff00000000u
#define OWN(owner, state)                                                      \
    (((owner)&OWN_START_BITS) | (uint64_t)NMC_OWNER_TID(owner) << 2 | (uint64_t)(state))
#define OWN_OWNER(own) (((own)&OWN_START_BITS) | ((own)&0xffffffffu) >> 2)
#define OWN_STATE(own) ((unsigned)((own)&3u))

/* Queue slot states (nmc_sync_slot.own). */
enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_WAITING = 2, SLOT_WOKEN = 3 };

/* ---- identity (ident.c) ---- */

/* Per-thread cache of the caller's owner, 0 until first use; reset in fork
 * children. */
extern __thread nmc_owner nmc_sync_owner_cache __attribute__((tls_model("initial-exec")));
nmc_owner nmc_sync_self_slow(void);

/* The calling thread as an owner, without a system call after the first. */
static inline nmc_owner nmc_sync_self(void)
{
    nmc_owner self = nmc_sync_owner_cache;
    return NMC_LIKELY(self != 0) ? self : nmc_sync_self_slow();
}

/* nmc_owner_liveness: gone only when the owner certainly no longer runs;
 * NMC_OWNER_UNKNOWN (errno says why) when that cannot be read. */
enum nmc_liveness nmc_sync_liveness(nmc_owner owner);

/* ---- sleeper queue (queue.c) ---- */

/* Claims a free slot for owner (the caller), giving it the next ticket, in
 * state WAITING. Returns its index, or -1 when all slots are taken. */
int nmc_sync_queue_claim(struct nmc_sync_queue *q, nmc_owner owner);
/* Frees the caller's slot i; lets one slot-less sleeper in. */
void nmc_sync_queue_release(struct nmc_sync_queue *q, int i);
/* Wakes the waiting slot with the smallest ticket; returns whether one was
 * woken. */
bool nmc_sync_queue_wake_first(struct nmc_sync_queue *q);
/* Wakes every waiting slot and every slot-less sleeper. */
void nmc_sync_queue_wake_all(struct nmc_sync_queue *q);
/* Frees the slots of threads that died while queued (gone for certain). */
void nmc_sync_queue_reap(struct nmc_sync_queue *q);
/* Sleeps a slot-less thread until a slot may be free, the poll interval or
 * abs_deadline. NMC_ETIMEDOUT only when abs_deadline has passed. */
int nmc_sync_queue_wait_overflow(struct nmc_sync_queue *q, const struct timespec *abs_deadline);
/* Sleeps in slot i while its futex still holds seq, until the poll interval
 * or abs_deadline. Returns NMC_OK (woken or spurious), 1 (poll interval
 * over: check for dead owners) or NMC_ETIMEDOUT (abs_deadline passed). */
int nmc_sync_queue_sleep(struct nmc_sync_queue *q, int i, uint32_t seq,
                         const struct timespec *abs_deadline);
/* Verifies a queue's invariants (exact when nobody is using it). */
int nmc_sync_queue_check(const struct nmc_sync_queue *q);
/* Initialises a queue: empty. */
void nmc_sync_queue_init(struct nmc_sync_queue *q);

/* ---- mutex internals for condition waits (mutex.c) ---- */

/* NMC_OK if owner holds m and m is consistent; NMC_EPERM if it does not
 * hold it; NMC_EINVAL if it must call nmc_mutex_consistent first. */
int nmc_sync_mutex_owned(const nmc_mutex *m, nmc_owner owner);
/* Unlocks m, owned by the caller, whatever its recursion depth; returns the
 * depth. */
uint32_t nmc_sync_mutex_release_all(nmc_mutex *m);
/* Locks m again and restores depth; the status of nmc_mutex_lock. */
int nmc_sync_mutex_relock(nmc_mutex *m, uint32_t depth);

/* True if the len bytes at p are all zero (reserved fields). */
static inline bool nmc_sync_zeroed(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* Marks a structure of size bytes destroyed: 0x55 fill in debug builds, a
 * zero magic otherwise. */
void nmc_sync_poison(void *obj, size_t size, uint32_t *magic);

#endif
