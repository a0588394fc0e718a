/* Futex wait / wake on 32-bit words in shared memory, and monotonic
 * deadlines.
 *
 * The words live in memory shared between processes, so FUTEX_PRIVATE_FLAG
 * is never used (a private futex is keyed by address space and would miss
 * waiters in other processes). Waits use FUTEX_WAIT_BITSET with all bits,
 * whose timeout is an absolute time; without FUTEX_CLOCK_REALTIME that time
 * is on CLOCK_MONOTONIC, so wall-clock jumps do not shorten or stretch it.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nmc/status.h"
#include "nmc/sys.h"

static long sys_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts,
                      uint32_t val3)
{
    return syscall(SYS_futex, word, op, val, ts, NULL, val3);
}

/* Blocks while *word == expected; see nmc/sys.h. NMC_OK when woken, when the
 * value differed, or on a signal; NMC_ETIMEDOUT at the deadline; NMC_EINVAL
 * for a NULL or misaligned word; NMC_ESYS for other kernel errors. */
int nmc_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *abs_deadline)
{
    if (word == NULL || (uintptr_t)word % sizeof *word != 0)
        return NMC_EINVAL;
    if (sys_futex(word, FUTEX_WAIT_BITSET, expected, abs_deadline, FUTEX_BITSET_MATCH_ANY) == 0)
        return NMC_OK;
    switch (errno) {
    case EAGAIN:
    case EINTR:
        return NMC_OK;
    case ETIMEDOUT:
        return NMC_ETIMEDOUT;
    default:
        return NMC_ESYS;
    }
}

/* Wakes up to n waiters; returns the number woken (>= 0), NMC_EINVAL for a
 * NULL or misaligned word or n < 0, NMC_ESYS if the kernel refuses. */
int nmc_futex_wake(uint32_t *word, int n)
{
    if (word == NULL || (uintptr_t)word % sizeof *word != 0 || n < 0)
        return NMC_EINVAL;
    long woke = sys_futex(word, FUTEX_WAKE, (uint32_t)n, NULL, 0);
    return woke < 0 ? NMC_ESYS : (int)woke;
}

/* now(CLOCK_MONOTONIC) + seconds. Negative or NaN seconds give now; a
 * deadline beyond what time_t holds saturates (in effect: never). */
void nmc_deadline_in(double seconds, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    if (!(seconds > 0))
        return;
    if (seconds >= (double)(INT64_MAX / 4)) {
        out->tv_sec = (time_t)(INT64_MAX / 2);
        return;
    }
    int64_t whole = (int64_t)seconds; /* truncation: seconds > 0 */
    out->tv_sec += (time_t)whole;
    out->tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

/* True once CLOCK_MONOTONIC has reached the deadline; false for NULL
 * (no deadline). */
bool nmc_deadline_passed(const struct timespec *deadline)
{
    if (deadline == NULL)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

bool nmc_deadline_earlier(const struct timespec *abs_deadline, double seconds,
                          struct timespec *out)
{
    nmc_deadline_in(seconds, out);
    if (abs_deadline != NULL &&
        (abs_deadline->tv_sec < out->tv_sec ||
         (abs_deadline->tv_sec == out->tv_sec && abs_deadline->tv_nsec <= out->tv_nsec))) {
        *out = *abs_deadline;
        return false;
    }
    return true;
}
