/* Guarded ranges: mappings of objects that another process may truncate,
 * where a SIGBUS becomes a flag instead of a death (nmc/sys.h).
 *
 * The handler (sigbus.c) must find the range of a faulting address without
 * a lock and without reading memory that could be freed under it, so the
 * registry is made of chunks of fixed entries that are never freed: a
 * static first chunk and, for a process with more ranges, chunks linked
 * after it (each published with a release store). An entry (struct
 * nmc_sys_guard, nmc/sys.h) holds its range itself. Its owner changes the
 * range under a sequence count, odd meanwhile; the handler skips an entry
 * whose count is odd or changes while it reads it (the owner does not
 * touch a range while it moves it, so a fault there is not one of its
 * accesses). Taking and giving back entries (taken) is serialised by
 * registry_lock.
 *
 * Claiming a fault maps private anonymous zero pages over [the faulting
 * page, the range's end): truncation removes a suffix of the object, so
 * the pages after the faulting one are gone too, and one signal covers
 * them all. The faulting access then restarts on a zero page.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nmc/status.h"
#include "nmc/sys.h"
#include "sigbus.h"

enum { CHUNK_GUARDS = 64 };

struct chunk {
    struct nmc_sys_guard guard[CHUNK_GUARDS];
    struct chunk *next; /* the next chunk or NULL; never freed */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct chunk first_chunk;

/* The owner's side of the sequence count. */
static void set_range(nmc_sys_guard *g, uintptr_t start, uintptr_t end)
{
    unsigned s = __atomic_load_n(&g->seq, __ATOMIC_RELAXED);
    __atomic_store_n(&g->seq, s + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&g->start, start, __ATOMIC_RELAXED);
    __atomic_store_n(&g->end, end, __ATOMIC_RELAXED);
    __atomic_store_n(&g->seq, s + 2, __ATOMIC_RELEASE);
}

/* The handler's side: false if the range is changing. */
SIGBUS_HANDLER_CODE static bool read_range(const nmc_sys_guard *g, uintptr_t *start,
                                           uintptr_t *end)
{
    unsigned s = __atomic_load_n(&g->seq, __ATOMIC_ACQUIRE);
    *start = __atomic_load_n(&g->start, __ATOMIC_RELAXED);
    *end = __atomic_load_n(&g->end, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return (s & 1) == 0 && __atomic_load_n(&g->seq, __ATOMIC_RELAXED) == s;
}

/* True if [addr, addr + len) is not empty and, widened to whole pages,
 * does not wrap. */
static bool range_ok(void *addr, size_t len)
{
    uintptr_t mask = nmc_sys_pagesize() - 1;
    return addr != NULL && len > 0 && len <= UINTPTR_MAX - mask &&
           (uintptr_t)addr <= UINTPTR_MAX - mask - len;
}

/* The page size - 1, for the handler (set before any range exists). */
static uintptr_t page_mask;

/* Sets g to [addr, addr + len) widened to whole pages, or to no range. */
static void set_pages(nmc_sys_guard *g, void *addr, size_t len)
{
    uintptr_t mask = nmc_sys_pagesize() - 1, a = (uintptr_t)addr;
    __atomic_store_n(&page_mask, mask, __ATOMIC_RELAXED);
    if (range_ok(addr, len))
        set_range(g, a & ~mask, (a + len + mask) & ~mask);
    else
        set_range(g, 0, 0);
}

/* Zero pages over [a's page, end) of g, then the flag. */
SIGBUS_HANDLER_CODE static bool patch(nmc_sys_guard *g, uintptr_t a, uintptr_t end)
{
    uintptr_t page = a & ~__atomic_load_n(&page_mask, __ATOMIC_RELAXED);
    /* The mmap system call itself: async-signal-safe on Linux. */
    long p = syscall(SYS_mmap, page, end - page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p < 0)
        return false;
    uintptr_t none = 0;
    __atomic_compare_exchange_n(&g->fault, &none, a, false, __ATOMIC_RELEASE,
                                __ATOMIC_RELAXED);
    return true;
}

SIGBUS_HANDLER_CODE bool guard_claim(void *addr)
{
    uintptr_t a = (uintptr_t)addr, start, end;
    for (struct chunk *c = &first_chunk; c != NULL; c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE))
        for (int i = 0; i < CHUNK_GUARDS; i++)
            if (read_range(&c->guard[i], &start, &end) && a >= start && a < end)
                return patch(&c->guard[i], a, end);
    return false;
}

/* An entry nobody holds, marked taken; NULL if no memory for a new chunk. */
static nmc_sys_guard *take_entry(void)
{
    nmc_sys_guard *g = NULL;
    pthread_mutex_lock(&registry_lock);
    for (struct chunk *c = &first_chunk; g == NULL && c != NULL; c = c->next) {
        for (int i = 0; i < CHUNK_GUARDS && g == NULL; i++)
            if (!c->guard[i].taken)
                g = &c->guard[i];
        if (g == NULL && c->next == NULL) /* the next round takes from it */
            __atomic_store_n(&c->next, calloc(1, sizeof *c), __ATOMIC_RELEASE);
    }
    if (g != NULL)
        g->taken = true;
    pthread_mutex_unlock(&registry_lock);
    return g;
}

/* Registers [addr, addr+len); see nmc/sys.h. */
int nmc_sys_guard_add(void *addr, size_t len, nmc_sys_guard **out)
{
    if (out == NULL || !range_ok(addr, len))
        return NMC_EINVAL;
    int st = sigbus_enter();
    if (st != NMC_OK)
        return st;
    nmc_sys_guard *g = take_entry();
    if (g == NULL) {
        sigbus_leave();
        return NMC_ENOMEM;
    }
    __atomic_store_n(&g->fault, 0, __ATOMIC_RELAXED);
    set_pages(g, addr, len);
    *out = g;
    return NMC_OK;
}

void nmc_sys_guard_move(nmc_sys_guard *g, void *addr, size_t len)
{
    set_pages(g, addr, len);
}

void nmc_sys_guard_remove(nmc_sys_guard *g)
{
    if (g == NULL)
        return;
    set_range(g, 0, 0);
    pthread_mutex_lock(&registry_lock);
    g->taken = false;
    pthread_mutex_unlock(&registry_lock);
    sigbus_leave();
}

void nmc_sys_guard_clear(nmc_sys_guard *g)
{
    __atomic_store_n(&g->fault, 0, __ATOMIC_RELEASE);
}
