/* What the multi-process suites share: a shm object mapped twice in the
 * test process (at two different addresses), children that map it afresh
 * by name (each at an address of its own), reaping them, and bounded
 * waits on words in shared memory. Failures in the test process are Check
 * assertions; a child that cannot map exits with status 90. */
#ifndef NMC_TEST_SHM_REGION_H
#define NMC_TEST_SHM_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "nmc/sys.h"

struct shm_region {
    int fd;
    char name[NMC_SHM_NAME_MAX];
    size_t size;
    void *first;  /* one mapping        */
    void *second; /* another, elsewhere */
};

/* Creates a zeroed object of size bytes (named with nmc_test_prefix()) and
 * maps it twice. */
void shm_region_create(struct shm_region *r, size_t size);
/* Unmaps both views and removes the object. */
void shm_region_destroy(struct shm_region *r);
/* In a child: maps the object by name at an address of its own. */
void *shm_region_child_map(const struct shm_region *r);

/* Forks a child that runs fn(arg) and exits 0. */
pid_t test_spawn(void (*fn)(int), int arg);
/* Reaps pid, which must have exited 0 / died of SIGKILL. */
void test_reap_ok(pid_t pid);
void test_reap_killed(pid_t pid);
/* Polls (every ms, up to limit seconds) until *word >= value; whether it
 * got there. */
bool test_poll_until(const uint32_t *word, uint32_t value, double limit);
/* test_poll_until with a limit of 3 s, as an assertion. */
void test_await(const uint32_t *word, uint32_t value);
/* Seconds since t0 (CLOCK_MONOTONIC). */
double test_elapsed_since(const struct timespec *t0);

#endif
