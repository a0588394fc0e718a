/* Fault injection (NMC_FAULTS builds only; see nmc/sys.h).
 *
 * The state sits in one shared anonymous page made at the first arm, so
 * the count runs across fork: a sweep over an operation that forks (the
 * process manager) fails the N-th call wherever it happens, and the
 * process that armed sees whether a failure was injected.
 */
#include "nmc/sys.h"

#ifdef NMC_FAULTS

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

struct fault_state {
    unsigned sites;
    unsigned long n;
    unsigned long calls;
    unsigned long fired;
};

static struct fault_state *state;

static struct fault_state *state_get(void)
{
    if (state == NULL) {
        void *p = mmap(NULL, sizeof *state, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED)
            abort();
        state = p;
    }
    return state;
}

void nmc_fault_arm(unsigned sites, unsigned long n)
{
    struct fault_state *s = state_get();
    __atomic_store_n(&s->sites, 0u, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->calls, 0ul, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->fired, 0ul, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->n, n, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->sites, sites & NMC_FAULT_ALL, __ATOMIC_SEQ_CST);
}

void nmc_fault_disarm(void)
{
    if (state != NULL)
        __atomic_store_n(&state->sites, 0u, __ATOMIC_SEQ_CST);
}

unsigned long nmc_fault_calls(void)
{
    return state == NULL ? 0 : __atomic_load_n(&state->calls, __ATOMIC_SEQ_CST);
}

unsigned long nmc_fault_fired(void)
{
    return state == NULL ? 0 : __atomic_load_n(&state->fired, __ATOMIC_SEQ_CST);
}

bool nmc_fault_hit(unsigned site, int err)
{
    struct fault_state *s = state;
    if (s == NULL || (__atomic_load_n(&s->sites, __ATOMIC_SEQ_CST) & site) == 0)
        return false;
    unsigned long c = __atomic_add_fetch(&s->calls, 1, __ATOMIC_SEQ_CST);
    if (c != __atomic_load_n(&s->n, __ATOMIC_SEQ_CST))
        return false;
    __atomic_add_fetch(&s->fired, 1, __ATOMIC_SEQ_CST);
    errno = err;
    return true;
}

/* NMC_FAULT_SITES / NMC_FAULT_N arm at program start. */
__attribute__((constructor)) static void fault_from_env(void)
{
    const char *sites = getenv("NMC_FAULT_SITES"), *n = getenv("NMC_FAULT_N");
    if (sites != NULL && n != NULL)
        nmc_fault_arm((unsigned)strtoul(sites, NULL, 0), strtoul(n, NULL, 0));
}

#else
/* Nothing in normal builds (ISO C wants a declaration per file). */
typedef int nmc_fault_disabled;
#endif

