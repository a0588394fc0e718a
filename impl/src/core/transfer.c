/* Values between processes: images through the window.
 *
 * An image made by the copier holds absolute pointers, valid only where it
 * was meant to be mapped. Every process of a run descends from the master,
 * so one address range reserved there (PROT_NONE, no memory) exists at the
 * same address in every worker: the window. A sender makes its image for
 * the window's address; a receiver maps memory into the window, copies the
 * bytes there, verifies them as untrusted input (nmc_image_check), deep
 * copies the value into the caller's arena and gives the memory back. The
 * window is process-local memory: two processes using it at once do not
 * meet. Calls into it are serialised per process by the caller (worker.c's
 * lock; the master is single-threaded).
 *
 * The window's size bounds an image. Reserved address space counts against
 * RLIMIT_AS (ulimit -v), so by default it is NMC_CORE_VALUE_MAX only when
 * the address space is not limited, else a quarter of the limit: a
 * received image occupies the window, the message that brought it and its
 * copy in the arena, and the program needs room of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "core_internal.h"
#include "nmc/sys.h"

/* Copy flags for arguments and results: bigarrays and boxed integers
 * travel; atoms stay pointers to the atom table, which is at one address in
 * every process of the run (so an atom root travels as it is, like an
 * immediate). */
#define TRANSFER_FLAGS (NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT)

size_t core_window_default(void)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY ||
        as.rlim_cur / 4 >= NMC_CORE_VALUE_MAX)
        return NMC_CORE_VALUE_MAX;
    return (size_t)as.rlim_cur / 4 / nmc_sys_pagesize() * nmc_sys_pagesize();
}

int core_window_reserve(size_t size)
{
    if (size == 0 || size > NMC_CORE_VALUE_MAX || nmc_sys_round_pages(size, &size) != NMC_OK)
        return NMC_EINVAL;
    if (core.window != NULL && core.window_size == size)
        return NMC_OK;
    if (core.window != NULL)
        munmap(core.window, core.window_size);
    core.window = NULL;
    void *p = NMC_FAULT(NMC_FAULT_MMAP, ENOMEM)
                  ? MAP_FAILED
                  : mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                         0);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    core.window = p;
    core.window_size = size;
    return NMC_OK;
}

size_t core_payload_max(void)
{
    return core.window_size + ((size_t)1 << 20);
}

int core_image_make(nmc_value v, void **buf, size_t *len)
{
    struct core_image_hdr hdr = {0};
    if (nmc_is_long(v) || nmc_is_atom(v)) {
        hdr.immediate = v;
        if ((*buf = malloc(sizeof hdr)) == NULL)
            return NMC_ENOMEM;
        memcpy(*buf, &hdr, sizeof hdr);
        *len = sizeof hdr;
        return NMC_OK;
    }
    if (core.window == NULL)
        return NMC_EINVAL;
    struct nmc_copy_options opt = {.flags = TRANSFER_FLAGS | NMC_KEEP_ATOM | NMC_COPY_SIMULATE,
                                   .target_addr = (uintptr_t)core.window};
    nmc_memory probe = {.data = NULL, .len = core.window_size};
    size_t voff, bytes;
    int st = nmc_init_value(probe, 0, v, &opt, &voff, &bytes);
    if (st != NMC_OK)
        return st;
    char *b = malloc(sizeof hdr + bytes);
    if (b == NULL)
        return NMC_ENOMEM;
    opt.flags = TRANSFER_FLAGS | NMC_KEEP_ATOM;
    nmc_memory m = {.data = (unsigned char *)b + sizeof hdr, .len = bytes};
    st = nmc_init_value(m, 0, v, &opt, &voff, &bytes);
    if (st != NMC_OK) {
        free(b);
        return st;
    }
    hdr.voffset = voff;
    memcpy(b, &hdr, sizeof hdr);
    *buf = b;
    *len = sizeof hdr + bytes;
    return NMC_OK;
}

int core_image_read(const void *buf, size_t len, nmc_arena *arena, nmc_value *out)
{
    struct core_image_hdr hdr;
    if (buf == NULL || len < sizeof hdr || arena == NULL || out == NULL)
        return NMC_EINVAL;
    memcpy(&hdr, buf, sizeof hdr);
    size_t bytes = len - sizeof hdr;
    if (hdr.immediate != 0) {
        if (!(nmc_is_long(hdr.immediate) || nmc_is_atom(hdr.immediate)) || bytes != 0)
            return NMC_ECORRUPT;
        *out = (nmc_value)hdr.immediate;
        return NMC_OK;
    }
    if (core.window == NULL)
        return NMC_EINVAL;
    if (bytes == 0 || bytes > core.window_size || hdr.voffset >= bytes)
        return NMC_ECORRUPT;
    size_t mapped;
    int st = nmc_sys_round_pages(bytes, &mapped);
    if (st != NMC_OK)
        return st;
    if (NMC_FAULT(NMC_FAULT_MMAP, ENOMEM) ||
        mmap(core.window, mapped, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        return NMC_ESYS;
    memcpy(core.window, (const char *)buf + sizeof hdr, bytes);
    nmc_memory m = {.data = (unsigned char *)core.window, .len = bytes};
    st = nmc_image_check(m, 0, bytes, hdr.voffset, NULL);
    if (st == NMC_OK)
        st = nmc_copy_value(arena, TRANSFER_FLAGS, (nmc_value)(core.window + hdr.voffset), out);
    /* Back to reserved address space: the pages are freed. */
    if (mmap(core.window, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0) == MAP_FAILED && st == NMC_OK)
        st = NMC_ESYS;
    return st;
}
