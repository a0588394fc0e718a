/* nmc/sys.h - the thin system layer every other module stands on.
 *
 * Page size, POSIX shared memory with unpredictable names (created O_EXCL,
 * mode 0600), mmap helpers, futex wait / wake on shared words, committing
 * backing store with posix_fallocate, a first touch that turns SIGBUS
 * into a status, and guarded ranges, where a SIGBUS from a truncated
 * object becomes a flag. Linux only.
 */
#ifndef NMC_SYS_H
#define NMC_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest shm name we make, NUL included ("/" + prefix + "_" + 16 hex). */
#define NMC_SHM_NAME_MAX 96
/* Longest prefix accepted by the name makers. */
#define NMC_SHM_PREFIX_MAX 64

/* The system page size (cached). */
size_t nmc_sys_pagesize(void);
/* len rounded up to whole pages; NMC_EOVERFLOW if that wraps. */
int nmc_sys_round_pages(size_t len, size_t *rounded);

/* Fills buf with "/<prefix>_<16 random hex digits>" (getrandom). prefix:
 * 1..NMC_SHM_PREFIX_MAX characters of [A-Za-z0-9_.-]; else NMC_EINVAL, as
 * for a buflen too small for the name. */
int nmc_sys_unique_name(const char *prefix, char *buf, size_t buflen);

/* Creates a new POSIX shm object of size bytes under a unique name made from
 * prefix (retrying on the rare EEXIST), O_EXCL, mode 0600. On success *fd is
 * open read-write and name (NMC_SHM_NAME_MAX bytes) holds the name. A size
 * beyond INT64_MAX (no off_t holds it) is NMC_EINVAL. */
int nmc_sys_shm_create(const char *prefix, size_t size, int *fd, char *name);
/* Opens an existing shm object read-write. */
int nmc_sys_shm_open(const char *name, int *fd);
/* Removes the name; NMC_ENOT_FOUND if it does not exist. */
int nmc_sys_shm_unlink(const char *name);
/* Size of the object behind fd (fstat). */
int nmc_sys_fd_size(int fd, size_t *size);

/* Maps len bytes of fd at pos, shared, read-write. addr is a hint (NULL for
 * none); with fixed, the mapping must land exactly there or NMC_ESYS with
 * errno EEXIST (never clobbers an existing mapping). */
int nmc_sys_map(int fd, size_t len, off_t pos, void *addr, bool fixed, void **out);
/* Anonymous private read-write pages (len rounded to pages). */
int nmc_sys_map_anon(size_t len, void *addr, void **out);
int nmc_sys_unmap(void *addr, size_t len);

/* Commits [off, off+len) of the file behind fd (posix_fallocate, retrying
 * EINTR). A full tmpfs or disk gives NMC_ENOSPC; then the pages are not
 * usable and touching them could raise SIGBUS. */
int nmc_sys_commit(int fd, off_t off, off_t len);
/* Writes one byte per page of [addr, addr+len) (value unchanged) with SIGBUS
 * caught: NMC_ENOSPC if the backing store could not supply a page. Safe to
 * call from several threads; the caller's SIGBUS handler is restored.
 * NMC_EINVAL, before any write, if part of the range is not mapped (one
 * msync call checks it). */
int nmc_sys_touch(void *addr, size_t len);

/* ---- guarded ranges: SIGBUS from a truncated object becomes a flag -----
 *
 * A shared mapping of an object that another process may truncate raises
 * SIGBUS when a page past the object's new end is accessed. Registered as
 * a guarded range, the mapping survives it: the library's SIGBUS handler
 * maps private anonymous zero pages over the range from the faulting page
 * to its end (truncation cuts a suffix) and returns, so the faulting access
 * and every later one there read zeros (writes go to private pages), and
 * the range is marked faulted with the faulting address. The caller must
 * treat zeros as invalid input (they are to a validating reader), check
 * nmc_sys_guard_fault once its operation is over and report the fault,
 * then map its object afresh (the zero pages stay until it does).
 * Only BUS_ADRERR faults inside a range are taken; SIGBUS from a range
 * being moved is not.
 *
 * Cost: nothing per access. add and remove take a mutex; the first user of
 * the handler (a range or a running nmc_sys_touch) installs it and the
 * last one restores the action it found, with one sigaction each. A fault
 * that is not ours goes to that action: its handler, or, for the default
 * action or an ignored fault, the death the process would have died
 * anyway. Changing the SIGBUS action while ranges are registered is not
 * supported (the last remove restores the action saved by the first
 * add). Ranges of all threads share one registry; each range has one
 * owner, which calls move and remove, and must not unmap the range before
 * moving it away. */
typedef struct nmc_sys_guard nmc_sys_guard;

/* One range of the registry (guard.c). Its fields belong to the registry
 * and the handler: callers use the functions below (the struct is here so
 * that checking the fault, once per operation, is one load). */
struct nmc_sys_guard {
    uintptr_t start, end; /* [start, end), whole pages; start == end: no range */
    uintptr_t fault;      /* the first faulting address since the last clear, or 0 */
    unsigned seq;         /* odd while the owner changes start and end */
    bool taken;           /* handed out by nmc_sys_guard_add */
};

/* Registers [addr, addr+len) (widened to whole pages). NMC_EINVAL for
 * NULL, 0 or a wrapping range, NMC_ENOMEM, NMC_ESYS if sigaction fails. */
int nmc_sys_guard_add(void *addr, size_t len, nmc_sys_guard **out);
/* The range now is [addr, addr+len); NULL (or len 0): none for now, so
 * that no fault at the old addresses is taken for ours. Call it with NULL
 * before unmapping or moving the old range, and with the new one after.
 * The fault flag is kept. */
void nmc_sys_guard_move(nmc_sys_guard *g, void *addr, size_t len);
/* Unregisters; the last range out restores the SIGBUS action. NULL: no-op. */
void nmc_sys_guard_remove(nmc_sys_guard *g);
/* The first address that faulted since the add or the last clear; NULL if
 * none did. */
static inline void *nmc_sys_guard_fault(const nmc_sys_guard *g)
{
    return (void *)__atomic_load_n(&g->fault, __ATOMIC_ACQUIRE);
}
/* Forgets the fault (after the caller has mapped its object again). */
void nmc_sys_guard_clear(nmc_sys_guard *g);

/* Futexes on 32-bit words in shared memory (process-shared, never private).
 * wait blocks while *word == expected, until woken, a signal, or abs_deadline
 * (CLOCK_MONOTONIC; NULL = forever). Returns NMC_OK (woken, value changed or
 * interrupted: callers re-check and loop), or NMC_ETIMEDOUT. */
int nmc_futex_wait(uint32_t *word, uint32_t expected, const struct timespec *abs_deadline);
/* Wakes up to n waiters (INT32_MAX for all); returns how many woke, >= 0. */
int nmc_futex_wake(uint32_t *word, int n);

/* A CLOCK_MONOTONIC deadline seconds from now. */
void nmc_deadline_in(double seconds, struct timespec *out);
/* True once the deadline has passed. */
bool nmc_deadline_passed(const struct timespec *deadline);
/* *out = the earlier of abs_deadline (NULL: none) and now + seconds; true
 * when now + seconds is the earlier one (a periodic check comes first). */
bool nmc_deadline_earlier(const struct timespec *abs_deadline, double seconds,
                          struct timespec *out);

/* ---- fault injection (builds with NMC_FAULTS only: --config=faults) -----
 *
 * SQLite-style "fail the Nth call": with NMC_FAULTS defined, every call site
 * of the system calls below (in sys and the modules that call them
 * directly: camlbox, shmtable, mem, core) and the two library sites (pool
 * allocation, heap extension) first asks NMC_FAULT(site, err). After
 * nmc_fault_arm(sites, n), the n-th call (counted from the arm, over all
 * sites in the mask and over every process forked afterwards: the state
 * lives in a shared anonymous page) fails once as if the call had failed
 * with errno err; later calls succeed again. The environment can arm it
 * at program start: NMC_FAULT_SITES (a mask, e.g. 0x7f) and NMC_FAULT_N.
 * Without NMC_FAULTS, NMC_FAULT(site, err) is the constant 0 and none of
 * this exists: normal builds carry no cost. */
enum nmc_fault_site {
    NMC_FAULT_FTRUNCATE = 1u << 0,   /* ftruncate: EFBIG                    */
    NMC_FAULT_FALLOCATE = 1u << 1,   /* posix_fallocate: ENOSPC             */
    NMC_FAULT_MMAP = 1u << 2,        /* mmap / mremap: ENOMEM               */
    NMC_FAULT_SHM_OPEN = 1u << 3,    /* shm_open: EMFILE                    */
    NMC_FAULT_OPEN = 1u << 4,        /* open / openat: EMFILE               */
    NMC_FAULT_POOL_ALLOC = 1u << 5,  /* nmc_mempool_alloc: out of pool mem  */
    NMC_FAULT_HEAP_EXTEND = 1u << 6, /* a heap's new extent: out of pool mem */
    NMC_FAULT_ALL = (1u << 7) - 1,
};

#ifdef NMC_FAULTS
/* Arms: the n-th call (n >= 1) of any site in sites fails; resets counts. */
void nmc_fault_arm(unsigned sites, unsigned long n);
/* No more failures (counts are kept for nmc_fault_calls / _fired). */
void nmc_fault_disarm(void);
/* Calls of armed sites since the arm, and failures injected (0 or 1). */
unsigned long nmc_fault_calls(void);
unsigned long nmc_fault_fired(void);
/* The hook: true (errno = err) if this call of site is the one to fail. */
bool nmc_fault_hit(unsigned site, int err);
#define NMC_FAULT(site, err) nmc_fault_hit((site), (err))
#else
#define NMC_FAULT(site, err) 0
#endif

#ifdef __cplusplus
}
#endif
#endif
