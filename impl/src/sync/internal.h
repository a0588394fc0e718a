/* Private helpers of the sync module: atomics on shared words, the caller's
 * thread id, liveness of other threads, and the FIFO sleeper queue used by
 * mutexes and semaphores (queue.c).
 *
 * All shared fields are accessed with the __atomic builtins (sequentially
 * consistent unless a comment says otherwise), never with plain loads and
 * stores, so that processes and threads agree on their order.
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

/* A slot's or entry's `own` word: tid << 2 | state. */
#define OWN(tid, state) ((uint32_t)(tid) << 2 | (uint32_t)(state))
#define OWN_TID(own) ((own) >> 2)
#define OWN_STATE(own) ((own)&3u)

/* Queue slot states (nmc_sync_slot.own). */
enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_WAITING = 2, SLOT_WOKEN = 3 };

/* Thread ids fit in 30 bits (pid_max is at most 2^22). */
#define NMC_TID_MASK 0x3fffffffu

/* ---- identity (ident.c) ---- */

/* Per-thread cache of gettid(), 0 until first use; reset in fork children. */
extern __thread uint32_t nmc_sync_tid_cache __attribute__((tls_model("initial-exec")));
uint32_t nmc_sync_self_slow(void);

/* The calling thread's kernel id, without a system call after the first. */
static inline uint32_t nmc_sync_self(void)
{
    uint32_t tid = nmc_sync_tid_cache;
    return NMC_LIKELY(tid != 0) ? tid : nmc_sync_self_slow();
}

/* False only when thread tid certainly no longer runs: /proc/<tid> is gone or
 * the thread is a zombie. Any doubt (no /proc, no file descriptors) answers
 * true, so a live owner is never robbed. */
bool nmc_sync_alive(uint32_t tid);

/* ---- sleeper queue (queue.c) ---- */

/* Claims a free slot for tid, giving it the next ticket, in state WAITING.
 * Returns its index, or -1 when all slots are taken. */
int nmc_sync_queue_claim(struct nmc_sync_queue *q, uint32_t tid);
/* Frees the caller's slot i; lets one slot-less sleeper in. */
void nmc_sync_queue_release(struct nmc_sync_queue *q, int i);
/* Wakes the waiting slot with the smallest ticket; returns whether one was
 * woken. */
bool nmc_sync_queue_wake_first(struct nmc_sync_queue *q);
/* Wakes every waiting slot and every slot-less sleeper. */
void nmc_sync_queue_wake_all(struct nmc_sync_queue *q);
/* Frees the slots of threads that died while queued. */
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

/* NMC_OK if thread tid owns m and m is consistent; NMC_EPERM if it does not
 * own it; NMC_EINVAL if it must call nmc_mutex_consistent first. */
int nmc_sync_mutex_owned(const nmc_mutex *m, uint32_t tid);
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
