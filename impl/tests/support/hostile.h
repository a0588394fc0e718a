/* What the hostile-peer suites (test_*_hostile.c) share: children with a
 * deadline, and a pid namespace of their own where a dead process's pid
 * can be handed to a new one.
 *
 * Those suites state each scenario's expectation in a comment
 * "expect: ..." above its test, and their failure messages start with
 * the verdict they stand for ("crash: ", "hang: ", "leak: ", "wrong
 * status: ", "data loss: "); reports/reliability.py reads both. */
#ifndef NMC_TEST_HOSTILE_H
#define NMC_TEST_HOSTILE_H

#include <stdbool.h>
#include <sys/types.h>

/* Exit statuses of a case's child beyond its own step numbers. */
enum { HOSTILE_SKIPPED = 77, HOSTILE_SETUP_FAILED = 78, HOSTILE_HUNG = -1 };

/* Waits up to seconds for child; its exit status, 128 + the signal that
 * killed it, or HOSTILE_HUNG (it is then killed and reaped). */
int hostile_wait(pid_t child, double seconds);

/* Runs body as the init process of a new pid namespace with its own
 * /proc (in a private mount namespace); body's result, HOSTILE_SKIPPED
 * without the privileges (root), HOSTILE_HUNG after seconds. */
int hostile_in_pid_namespace(int (*body)(void), double seconds);

/* In such a namespace: forks a child that gets pid want (ns_last_pid)
 * and exits with fn()'s result; its pid, or -1 if the pid could not be
 * had. Waits 30 ms first, so the child's start time differs from that of
 * a process that had the pid before (two clock ticks). */
pid_t hostile_fork_with_pid(pid_t want, int (*fn)(void));

/* Prints "SKIP what: why" and returns true when result is HOSTILE_SKIPPED. */
bool hostile_skipped(int result, const char *what);

#endif
