/* The process's one SIGBUS handler (sigbus.c) and the two kinds of fault it
 * serves: a first touch (touch.c) and the guarded ranges (guard.c). Private
 * to the sys layer. */
#ifndef NMC_SYS_SIGBUS_H
#define NMC_SYS_SIGBUS_H

#include <stdbool.h>

/* The code that runs inside the handler: no sanitizer instrumentation
 * (ThreadSanitizer's runtime is not reentrant: a SIGBUS raised by an
 * access it was instrumenting deadlocked the handler on the runtime's
 * slot lock), and system calls made directly, not through wrappers a
 * sanitizer intercepts. */
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define SIGBUS_HANDLER_CODE __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef SIGBUS_HANDLER_CODE
#define SIGBUS_HANDLER_CODE
#endif

/* One more user of the handler; the first installs it, saving the action
 * in place. NMC_OK, or NMC_ESYS if sigaction fails. */
int sigbus_enter(void);
/* One user less; the last puts the saved action back. Keeps errno. */
void sigbus_leave(void);

/* Called by the handler first: if this thread is inside nmc_sys_touch, jumps
 * out of the fault there and does not return. */
void touch_claim(void);
/* Called by the handler next, for a BUS_ADRERR fault at addr: true if addr
 * lies in a registered range, which now reads zeros from addr's page to
 * its end and is marked faulted. Async-signal-safe. */
bool guard_claim(void *addr);

#endif
