/* stress/common/stress.h - what every stress test shares: the run length
 * (NMC_STRESS_SECONDS: unset is the short form of ./harness test, N the
 * long form of ./harness stress), repetition and the clock. */
#ifndef NMC_STRESS_H
#define NMC_STRESS_H

#include <stdbool.h>
#include <sys/types.h>

/* NMC_STRESS_SECONDS, or 0 when unset: the short form. */
double stress_seconds(void);
/* A Check timeout (seconds) comfortably above the run length. */
int stress_timeout(void);
/* Calls round(ctx) once in the short form; in the long form, again and
 * again for share * NMC_STRESS_SECONDS seconds. Returns the rounds run. */
int stress_repeat(void (*round)(void *ctx), void *ctx, double share);
/* Seconds on CLOCK_MONOTONIC, comparable between processes. */
double now_s(void);
/* Whether process pid still runs (a zombie, dead but not reaped, does
 * not): /proc/<pid>/stat exists and its state is not Z or X. */
bool stress_running(pid_t pid);

#endif
