/* stress/sync/stress_sync.h - what the sync stress tests share: the run
 * length, a shm region that children map afresh by name (each at an address
 * of its own), and children bounded in time so a hang fails a test instead
 * of blocking it. Failures in the parent are Check assertions. */
#ifndef NMC_STRESS_SYNC_H
#define NMC_STRESS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nmc/sys.h"
#include "shm_region.h"
#include "stress.h"


/* The region is a struct shm_region (impl/tests/support/shm_region.h):
 * shm_region_create / shm_region_destroy; the parent uses r->first. */

/* Forks a child that maps r afresh and exits with fn(its mapping, arg);
 * SIGALRM ends it after limit seconds. */
pid_t spawn_child(const struct shm_region *r, int (*fn)(void *base, int arg), int arg,
                  unsigned limit);
/* Reaps pid: true if it exited 0 (or, with killed, died of SIGKILL);
 * otherwise prints what and the status. */
bool reap_child(pid_t pid, bool killed, const char *what);
/* Asserts the caller has no child left to reap. */
void assert_no_children(void);

#endif
