/* First touch of pages with SIGBUS turned into a status.
 *
 * Touching a page of a shared file mapping whose backing store (tmpfs, disk)
 * cannot supply it raises SIGBUS. nmc_sys_touch writes one byte per page with
 * a compare-and-swap of the byte with itself (always a write access, never a
 * change of value, even if another process writes the byte concurrently),
 * and jumps out of the fault through a thread-local sigjmp_buf.
 *
 * The SIGBUS handler is process-wide, so installing it is reference counted
 * under a mutex: the first thread to enter installs it and saves the
 * caller's action, the last one to leave restores that action. A SIGBUS that
 * arrives while the handler is installed but in a thread that is not inside
 * a touch is forwarded to the saved action (default or ignored: the default
 * action, i.e. the process dies as it would have without us). Changing the
 * SIGBUS action while a touch is running is not supported: the last touch
 * restores the action saved on entry.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "nmc/status.h"
#include "nmc/sys.h"

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static unsigned guard_users;        /* threads inside nmc_sys_touch          */
static struct sigaction guard_prev; /* action to restore; stable while users */

static _Thread_local sigjmp_buf touch_env;              /* where a fault lands */
static _Thread_local volatile sig_atomic_t touch_armed; /* touch_env is valid  */

/* Passes a SIGBUS that is not ours to the action saved on entry. */
static void forward_sigbus(int sig, siginfo_t *info, void *ctx)
{
    if (guard_prev.sa_flags & SA_SIGINFO) {
        guard_prev.sa_sigaction(sig, info, ctx);
        return;
    }
    if (guard_prev.sa_handler == SIG_IGN && info->si_code <= 0)
        return; /* sent with kill(): ignoring it is possible */
    if (guard_prev.sa_handler != SIG_DFL && guard_prev.sa_handler != SIG_IGN) {
        guard_prev.sa_handler(sig);
        return;
    }
    /* Default action: it stays pending (blocked in this handler) and is
     * delivered, fatally, on return. */
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    if (touch_armed) {
        touch_armed = 0;
        siglongjmp(touch_env, 1);
    }
    forward_sigbus(sig, info, ctx);
}

/* Installs the handler if this is the first thread inside a touch. */
static int guard_enter(void)
{
    int st = NMC_OK;
    pthread_mutex_lock(&guard_lock);
    if (guard_users == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, &guard_prev) != 0)
            st = NMC_ESYS;
    }
    if (st == NMC_OK)
        guard_users++;
    pthread_mutex_unlock(&guard_lock);
    return st;
}

/* Restores the saved action if this is the last thread inside a touch. */
static void guard_leave(void)
{
    int saved = errno;
    pthread_mutex_lock(&guard_lock);
    if (--guard_users == 0)
        sigaction(SIGBUS, &guard_prev, NULL);
    pthread_mutex_unlock(&guard_lock);
    errno = saved;
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
    int st = guard_enter();
    if (st != NMC_OK)
        return st;
    st = touch_pages(addr, (unsigned char *)addr + len);
    guard_leave();
    return st;
}
