/* Adaptive spinning before a sleep, for the modules that wait on another
 * process without a lock (sync's semaphores and conditions, camlbox's
 * receiver and senders). Private to the library (//impl:atomics).
 *
 * A waiter spins a while before sleeping: the other process usually acts
 * within a cache-line transfer when it is running, and a short spin saves
 * the two system calls and the scheduler latency of a sleep and a wake-up.
 * The allowance adapts per thread and per use: a spin that saw the event
 * restores it to the full amount, one that ended in a sleep halves it
 * (down to NMC_SPIN_MIN). When the other process runs on another core,
 * spins succeed and the allowance stays high; when the cores are
 * oversubscribed the other process is not running while we spin, spins
 * fail, and waiting turns into plain sleeping instead of burning the time
 * slice the other process needs. A full-allowance probe every
 * NMC_SPIN_PROBE waits brings it back when the other process runs again
 * (without it a low allowance stays low: short spins rarely see the
 * event). Measured with sem/pingpong_2proc on 2 cores: 57-111 k/s without
 * the probe, 341-452 k/s with it, posix_sem 43-54 k/s.
 */
#ifndef NMC_SPIN_H
#define NMC_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define NMC_SPIN_MIN 8
#define NMC_SPIN_PROBE 64

/* One thread's state for one kind of wait (a __thread variable, zero at
 * first). */
struct nmc_spin {
    uint32_t allowance; /* 0: not set yet (the full amount)           */
    uint32_t waits;     /* waits so far, for the probe                */
};

/* How much the next wait may spin, of full. */
static inline uint32_t nmc_spin_allowance(struct nmc_spin *s, uint32_t full)
{
    if (s->allowance == 0 || ++s->waits % NMC_SPIN_PROBE == 0)
        return full;
    return s->allowance;
}

/* Records how the last spin ended: it saw the event, or it gave up. */
static inline void nmc_spin_outcome(struct nmc_spin *s, uint32_t full, bool saw_event)
{
    uint32_t a = s->allowance != 0 ? s->allowance : full;
    s->allowance = saw_event ? full : (a / 2 < NMC_SPIN_MIN ? NMC_SPIN_MIN : a / 2);
}

#endif
