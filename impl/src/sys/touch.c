/* First touch of pages with SIGBUS turned into a status.
 *
 * Touching a page of a shared file mapping whose backing store (tmpfs, disk)
 * cannot supply it raises SIGBUS. nmc_sys_touch writes one byte per page with
 * a compare-and-swap of the byte with itself (always a write access, never a
 * change of value, even if another process writes the byte concurrently),
 * and jumps out of the fault through a thread-local sigjmp_buf.
 *
 * The handler is the process's one SIGBUS handler (sigbus.c), installed for
 * the duration of the touch; it offers every fault to touch_claim first.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "nmc/status.h"
#include "nmc/sys.h"
#include "sigbus.h"

static _Thread_local sigjmp_buf touch_env;              /* where a fault lands */
static _Thread_local volatile sig_atomic_t touch_armed; /* touch_env is valid  */

SIGBUS_HANDLER_CODE void touch_claim(void)
{
    if (touch_armed) {
        touch_armed = 0;
        siglongjmp(touch_env, 1);
    }
}

/* Writes each page of [p, end) once; returns NMC_ENOSPC on SIGBUS. */
static int touch_pages(unsigned char *p, unsigned char *end)
{
    uintptr_t mask = nmc_sys_pagesize() - 1;
    if (sigsetjmp(touch_env, 1) != 0)
        return NMC_ENOSPC;
    touch_armed = 1;
    atomic_signal_fence(memory_order_seq_cst); /* armed before the first touch */
    while (p < end) {
        unsigned char old = __atomic_load_n(p, __ATOMIC_RELAXED);
        __atomic_compare_exchange_n(p, &old, old, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        uintptr_t next = ((uintptr_t)p | mask) + 1;
        p = next > (uintptr_t)p ? (unsigned char *)next : end;
    }
    atomic_signal_fence(memory_order_seq_cst); /* disarmed after the last one */
    touch_armed = 0;
    return NMC_OK;
}

/* Whether every page of [addr, addr+len) (not wrapping) is mapped: msync
 * with MS_ASYNC writes nothing back and fails with ENOMEM at a hole. */
static bool mapped(void *addr, size_t len)
{
    uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(nmc_sys_pagesize() - 1);
    return msync((void *)start, (uintptr_t)addr - start + len, MS_ASYNC) == 0;
}

/* Touches every page of [addr, addr+len); see nmc/sys.h. NMC_OK,
 * NMC_ENOSPC if a page could not be supplied, NMC_EINVAL for a NULL addr
 * with len > 0, a range that wraps or one that is not all mapped (the
 * touch would be SIGSEGV), NMC_ESYS if sigaction fails. */
int nmc_sys_touch(void *addr, size_t len)
{
    if (len == 0)
        return NMC_OK;
    if (addr == NULL || (uintptr_t)addr > UINTPTR_MAX - len || !mapped(addr, len))
        return NMC_EINVAL;
    int st = sigbus_enter();
    if (st != NMC_OK)
        return st;
    st = touch_pages(addr, (unsigned char *)addr + len);
    sigbus_leave();
    return st;
}
