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
#include "stress.h"

/* Polls (every ms, up to limit seconds) until *word >= value. */
bool poll_until(const uint32_t *word, uint32_t value, double limit);

struct region {
    int fd;
    size_t size;
    void *base; /* the parent's mapping */
    char name[NMC_SHM_NAME_MAX];
};

/* Creates a zeroed region named after nmc_test_prefix() and maps it. */
void region_create(struct region *r, size_t size);
/* Unmaps and unlinks it. */
void region_destroy(struct region *r);

/* Forks a child that maps r afresh and exits with fn(its mapping, arg);
 * SIGALRM ends it after limit seconds. */
pid_t spawn_child(const struct region *r, int (*fn)(void *base, int arg), int arg,
                  unsigned limit);
/* Reaps pid: true if it exited 0 (or, with killed, died of SIGKILL);
 * otherwise prints what and the status. */
bool reap_child(pid_t pid, bool killed, const char *what);
/* Asserts the caller has no child left to reap. */
void assert_no_children(void);

#endif
