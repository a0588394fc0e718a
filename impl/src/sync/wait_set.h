/* Private interface between wait sets (wait_set.c) and conditions (cond.c). */
#ifndef NMC_SYNC_WAIT_SET_H
#define NMC_SYNC_WAIT_SET_H

#include "internal.h"

/* Wait entry states (nmc_wait_slot.own). */
enum { ENTRY_FREE = 0, ENTRY_IDLE = 1, ENTRY_WAITING = 2, ENTRY_SIGNALLED = 3 };

/* True if ws carries the wait set magic. */
bool nmc_wait_set_valid(const nmc_wait_set *ws);
/* NMC_OK if we names an entry inside an initialised set, else NMC_EINVAL. */
int nmc_wait_entry_valid(const nmc_wait_entry *we);
/* Frees entry i if its own word still equals own (a dead thread's, or the
 * caller's idle entry), dropping its condition's waiter count if it was
 * queued. True if freed. */
bool nmc_wait_set_free_entry(nmc_wait_set *ws, uint32_t i, uint64_t own);

#endif
