/* The process's one SIGBUS handler, shared by the first touch (touch.c) and
 * the guarded ranges (guard.c).
 *
 * The action is process-wide, and two handlers installed and restored in
 * an order that is not last-in first-out would lose one of them, so there
 * is one: it is installed while it has users (a touch running, a range
 * registered). The first user saves the action in place and installs the
 * handler, the last one puts the saved action back; users are counted
 * under a mutex, the handler itself takes no lock.
 *
 * A fault goes to the touch of the faulting thread, then to the ranges
 * (BUS_ADRERR only: an address past the end of a file); one that neither
 * claims goes to the saved action: its handler (SA_SIGINFO or not), or,
 * for the default action or an ignored fault, the death the process
 * would have died without us. Changing the SIGBUS action while there are
 * users is not supported: the last one restores the action saved by the
 * first.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "nmc/status.h"
#include "sigbus.h"

static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the two below */
static unsigned users;              /* touches running + ranges registered  */
static struct sigaction prev;       /* the action to restore; stable while users */

/* Passes a SIGBUS that is not ours to the action saved on entry. */
SIGBUS_HANDLER_CODE static void forward(int sig, siginfo_t *info, void *ctx)
{
    if (prev.sa_flags & SA_SIGINFO) {
        prev.sa_sigaction(sig, info, ctx);
        return;
    }
    if (prev.sa_handler == SIG_IGN && info->si_code <= 0)
        return; /* sent with kill(): ignoring it is possible */
    if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
        prev.sa_handler(sig);
        return;
    }
    /* Default action: it stays pending (blocked in this handler) and is
     * delivered, fatally, on return. */
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

SIGBUS_HANDLER_CODE static void on_sigbus(int sig, siginfo_t *info, void *ctx)
{
    touch_claim();
    int saved = errno;
    bool ours = info->si_code == BUS_ADRERR && guard_claim(info->si_addr);
    errno = saved;
    if (!ours)
        forward(sig, info, ctx);
}

int sigbus_enter(void)
{
    int st = NMC_OK;
    pthread_mutex_lock(&users_lock);
    if (users == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGBUS, &sa, &prev) != 0)
            st = NMC_ESYS;
    }
    if (st == NMC_OK)
        users++;
    pthread_mutex_unlock(&users_lock);
    return st;
}

void sigbus_leave(void)
{
    int saved = errno;
    pthread_mutex_lock(&users_lock);
    if (--users == 0)
        sigaction(SIGBUS, &prev, NULL);
    pthread_mutex_unlock(&users_lock);
    errno = saved;
}
