/* nmc/sync.h - semaphores, mutexes and condition variables in shared memory.
 *
 * Counterparts of Netmcore_sem, Netmcore_mutex and Netmcore_condition. Every
 * object lives in memory shared between processes (placed there by the user:
 * a pool, a heap, a plain shm mapping) and works between processes that map
 * it at different addresses: the structures hold no pointers, only counters,
 * thread ids and offsets.
 *
 * Dummies. A zeroed structure is the "dummy" of the original: every call on
 * it returns NMC_EINVAL (initialised structures carry a nonzero magic), and
 * so does every call on a destroyed one.
 *
 * Identity. The owner of a mutex is the calling thread, named in shared
 * memory by an nmc_owner: its kernel thread id (gettid()) and its start
 * time, so that the name survives the reuse of the id by a later thread
 * (cached per thread and reset in a fork child). All processes using one
 * object must share a pid namespace with a /proc mounted for it.
 *
 * Blocking. Uncontended operations are one atomic instruction in user space.
 * A semaphore or condition waiter first spins briefly (at most some tens of
 * microseconds) for the post or signal, which then costs no system call on
 * either side; a contended mutex locker hardly spins (a spinner that wins
 * makes both processes trade the cache line on every operation). Then
 * sleepers wait on futexes in FIFO order of arrival (the first
 * NMC_SYNC_SLOTS sleepers of a mutex or semaphore are strictly ordered by
 * ticket; any more queue behind them). A running thread may take a released
 * mutex or semaphore before a woken sleeper does (barging, as with pthread
 * mutexes); the sleeper then keeps its place at the head of the queue.
 * Every wait restarts after EINTR. Deadlines are absolute CLOCK_MONOTONIC
 * times (see nmc_deadline_in in nmc/sys.h).
 *
 * Dead processes. Sleepers wake every NMC_SYNC_POLL_MS to check whether the
 * owner of the mutex they wait for still lives (/proc/<tid>/stat: absent, a
 * zombie, or another start time = dead; a pid handed to a new process
 * does not keep a dead owner alive, and the new process is not the owner).
 * When that cannot be read (/proc unreadable, hidepid, no descriptor even
 * after the one reserved for it), the wait ends with NMC_ESYS, errno
 * saying why, instead of going on for ever. The first to find it dead
 * becomes the owner and gets
 * NMC_EOWNER_DEAD, as with a robust pthread mutex: it repairs the data and
 * calls nmc_mutex_consistent, or unlocks without that and the mutex becomes
 * NMC_ENOT_RECOVERABLE for everyone. Sleepers that died in a queue are
 * skipped by wakers and their slots reclaimed. A semaphore or a condition
 * has no owner: a process waiting for a counterpart that died uses a timed
 * wait.
 *
 * Module prefixes: nmc_sem_, nmc_mutex_, nmc_cond_, nmc_wait_set_,
 * nmc_wait_entry_.
 */
#ifndef NMC_SYNC_H
#define NMC_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sleepers of one mutex or semaphore kept in strict FIFO order. */
#define NMC_SYNC_SLOTS 16
/* How often (ms) a sleeper checks for dead owners and dead neighbours. */
#define NMC_SYNC_POLL_MS 100
/* Largest semaphore value; posting beyond gives NMC_EOVERFLOW. */
#define NMC_SEM_VALUE_MAX INT32_MAX
/* Layout version of every structure below. */
#define NMC_SYNC_VERSION 2
/* Magic numbers of initialised structures ("SEM1", "MTX1", "CND1", "WST1"). */
#define NMC_SEM_MAGIC 0x53454d31u
#define NMC_MUTEX_MAGIC 0x4d545831u
#define NMC_COND_MAGIC 0x434e4431u
#define NMC_WAIT_SET_MAGIC 0x57535431u

/* One sleeper's place in a queue. Internal; zero when free. */
struct nmc_sync_slot {
    uint64_t own;    /* sleeper start << 32 | tid << 2 | slot state (free/claimed/
                        waiting/woken)                                           */
    uint32_t futex;  /* bumped by each wake of this slot; the sleeper waits on it */
    uint32_t ticket; /* arrival order; the waker picks the smallest waiting one */
};

/* FIFO queue of sleepers shared by mutexes and semaphores. Internal. */
struct nmc_sync_queue {
    uint32_t next_ticket;                      /* ticket of the next arrival      */
    uint32_t nqueued;                          /* slots not free                  */
    uint32_t overflow;                         /* futex of sleepers without slot  */
    uint32_t noverflow;                        /* sleepers waiting for a slot     */
    struct nmc_sync_slot slot[NMC_SYNC_SLOTS]; /* the sleepers                    */
};

/* ---- Threads ---------------------------------------------------------- */

/* A thread as shared memory names it: its kernel thread id in the low 32
 * bits, the low 32 bits of its start time (clock ticks after boot, field
 * 22 of /proc/<tid>/stat; 0 when /proc could not be read) above. A thread
 * that gets the id of a dead one is another owner. 0 names no thread. */
typedef uint64_t nmc_owner;
#define NMC_OWNER_TID(owner) ((uint32_t)((owner)&0xffffffffu))

/* The calling thread's kernel id (gettid()), from a per-thread cache: a
 * system call only the first time in a thread and after fork. */
uint32_t nmc_thread_self(void);
/* The calling thread as an owner, from the same cache (the first call in a
 * thread also reads /proc). */
nmc_owner nmc_owner_self(void);

enum nmc_liveness {
    NMC_OWNER_LIVE = 0,    /* the thread runs (or is stopped)                   */
    NMC_OWNER_GONE = 1,    /* certainly ended: no such id, a zombie, or the id
                              belongs to a thread started at another time      */
    NMC_OWNER_UNKNOWN = 2, /* cannot tell: /proc unreadable (errno says why)    */
};
/* Whether owner still runs; the test behind every dead-owner detection of
 * this module and of camlbox. A descriptor reserved when the library is
 * loaded keeps it answering in a process that has run out of them. */
enum nmc_liveness nmc_owner_liveness(nmc_owner owner);

/* ---- Semaphores ------------------------------------------------------- */

typedef struct nmc_sem {
    uint32_t magic;          /* NMC_SEM_MAGIC once initialised, else 0      */
    uint32_t version;        /* NMC_SYNC_VERSION                            */
    uint32_t value;          /* the count, 0..NMC_SEM_VALUE_MAX             */
    uint32_t reserved[13];   /* zero; keeps the queue off the value's line  */
    struct nmc_sync_queue q; /* sleepers                                    */
} nmc_sem;

/* Initialises s in place with value (0..NMC_SEM_VALUE_MAX, else NMC_EINVAL).
 * s must not be in use by anyone. */
int nmc_sem_init(nmc_sem *s, unsigned value);
/* Adds one and wakes the longest sleeper if any. NMC_EOVERFLOW at
 * NMC_SEM_VALUE_MAX. */
int nmc_sem_post(nmc_sem *s);
/* Takes one, sleeping while the value is 0. */
int nmc_sem_wait(nmc_sem *s);
/* Takes one, or NMC_EBUSY if the value is 0. */
int nmc_sem_trywait(nmc_sem *s);
/* Like nmc_sem_wait, but NMC_ETIMEDOUT once abs_deadline (CLOCK_MONOTONIC)
 * has passed; a NULL deadline waits forever. */
int nmc_sem_timedwait(nmc_sem *s, const struct timespec *abs_deadline);
/* The current value in *value. */
int nmc_sem_getvalue(nmc_sem *s, unsigned *value);
/* Turns s back into a dummy. NMC_EBUSY while a live process sleeps on it. */
int nmc_sem_destroy(nmc_sem *s);
/* Verifies the invariants of s: NMC_OK, NMC_EINVAL (not initialised) or
 * NMC_ECORRUPT. */
int nmc_sem_check(const nmc_sem *s);

/* ---- Mutexes ---------------------------------------------------------- */

enum nmc_mutex_kind {
    NMC_MUTEX_NORMAL = 1,     /* relocking by the owner deadlocks (timed: ETIMEDOUT) */
    NMC_MUTEX_ERRORCHECK = 2, /* relocking by the owner gives NMC_EDEADLOCK          */
    NMC_MUTEX_RECURSIVE = 3,  /* the owner may relock; unlocked by as many unlocks   */
};

typedef struct nmc_mutex {
    uint32_t magic;          /* NMC_MUTEX_MAGIC once initialised, else 0            */
    uint16_t version;        /* NMC_SYNC_VERSION                                    */
    uint16_t kind;           /* enum nmc_mutex_kind                                 */
    uint64_t word;           /* owner (nmc_owner) | INCONSISTENT bit 30 | WAITERS
                                bit 31; 0 free                                     */
    uint32_t count;          /* recursion depth of the owner (1 when just locked)   */
    uint32_t reserved[11];   /* zero; keeps the queue off the lock word's line      */
    struct nmc_sync_queue q; /* sleepers                                            */
} nmc_mutex;

/* Initialises m in place, unlocked, of the given kind (else NMC_EINVAL). */
int nmc_mutex_init(nmc_mutex *m, enum nmc_mutex_kind kind);
/* Locks m. Returns NMC_OK; NMC_EOWNER_DEAD when the previous owner died
 * holding it (the caller owns m, see nmc_mutex_consistent);
 * NMC_ENOT_RECOVERABLE (not locked); NMC_EDEADLOCK when an errorcheck mutex
 * is relocked by its owner; NMC_EOVERFLOW past 2^32-1 recursive locks;
 * NMC_ESYS (not locked, errno kept) when the owner's liveness could not be
 * read at a poll (see "Dead processes"). */
int nmc_mutex_lock(nmc_mutex *m);
/* Like nmc_mutex_lock, but NMC_EBUSY instead of sleeping (also for the
 * owner of a normal or errorcheck mutex, and when the owner's liveness
 * cannot be read). */
int nmc_mutex_trylock(nmc_mutex *m);
/* Like nmc_mutex_lock, but NMC_ETIMEDOUT once abs_deadline has passed; a
 * NULL deadline waits forever. */
int nmc_mutex_timedlock(nmc_mutex *m, const struct timespec *abs_deadline);
/* Unlocks m (one level of a recursive mutex). NMC_EPERM if the caller is
 * not the owner (all kinds). If m was taken with NMC_EOWNER_DEAD and not
 * made consistent, it becomes not recoverable and its sleepers get
 * NMC_ENOT_RECOVERABLE. */
int nmc_mutex_unlock(nmc_mutex *m);
/* Marks m, locked by the caller after NMC_EOWNER_DEAD, consistent again.
 * NMC_EPERM if the caller is not the owner, NMC_EINVAL if m is not in that
 * state. */
int nmc_mutex_consistent(nmc_mutex *m);
/* Turns m back into a dummy. NMC_EBUSY if it is locked or has sleepers
 * (a not recoverable mutex may be destroyed and initialised again). */
int nmc_mutex_destroy(nmc_mutex *m);
/* Verifies the invariants of m: NMC_OK, NMC_EINVAL or NMC_ECORRUPT. */
int nmc_mutex_check(const nmc_mutex *m);

/* ---- Condition variables ---------------------------------------------- */

/* A condition: a FIFO of the wait entries sleeping on it. All waits on one
 * condition use entries of one wait set, which must lie in the same shared
 * mapping as the condition (it is found by a self-relative offset). */
typedef struct nmc_cond {
    uint32_t magic;       /* NMC_COND_MAGIC once initialised, else 0           */
    uint32_t version;     /* NMC_SYNC_VERSION                                  */
    uint32_t next_ticket; /* ticket of the next waiter (FIFO order)            */
    uint32_t nwaiters;    /* entries waiting or signalled and not yet returned */
    int64_t ws_off;       /* wait set address minus this address; 0 = unbound */
} nmc_cond;

/* One entry of a wait set. Internal. */
struct nmc_wait_slot {
    uint64_t own;     /* user start << 32 | tid << 2 | state (free/idle/
                         waiting/signalled)                                  */
    uint32_t futex;   /* bumped by each signal; the waiter sleeps on it      */
    uint32_t ticket;  /* arrival order on the condition it waits on          */
    int64_t cond_off; /* that condition's address minus the set's address    */
};

/* A collection of wait entries, one per waiting thread, shared by all the
 * conditions of a mapping. Occupies nmc_wait_set_size(capacity) bytes. */
typedef struct nmc_wait_set {
    uint32_t magic;                /* NMC_WAIT_SET_MAGIC once initialised, else 0 */
    uint32_t version;              /* NMC_SYNC_VERSION                            */
    uint32_t capacity;             /* number of entries                           */
    uint32_t nused;                /* entries allocated                           */
    struct nmc_wait_slot entry[];  /* the entries                                 */
} nmc_wait_set;

/* A process-local handle on one entry of a wait set (not to be stored in
 * shared memory: it holds this process's address of the set). */
typedef struct nmc_wait_entry {
    nmc_wait_set *ws; /* the set, at its address in this process */
    uint32_t index;   /* the entry within the set                */
} nmc_wait_entry;

/* Bytes needed for a wait set of capacity entries; 0 if capacity is 0 or
 * above INT32_MAX. */
size_t nmc_wait_set_size(uint32_t capacity);
/* Initialises an empty wait set of capacity entries in place (the memory
 * must hold nmc_wait_set_size(capacity) bytes). */
int nmc_wait_set_init(nmc_wait_set *ws, uint32_t capacity);
/* Turns ws back into a dummy. NMC_EBUSY while live entries are allocated. */
int nmc_wait_set_destroy(nmc_wait_set *ws);
/* Verifies the invariants of ws: NMC_OK, NMC_EINVAL or NMC_ECORRUPT. */
int nmc_wait_set_check(const nmc_wait_set *ws);

/* Allocates an entry of ws for the calling thread (once per process and
 * thread that waits). NMC_EOUT_OF_SPACE when every entry is taken by a live
 * thread (entries of dead threads are reclaimed). */
int nmc_wait_entry_alloc(nmc_wait_set *ws, nmc_wait_entry *we);
/* Returns the entry to its set. NMC_EBUSY while it is waiting. */
int nmc_wait_entry_free(nmc_wait_entry *we);

/* Initialises c in place, with no waiters, bound to no wait set. */
int nmc_cond_init(nmc_cond *c);
/* Atomically unlocks m (held by the caller, else NMC_EPERM; a recursive
 * mutex at any depth), sleeps on c until signalled, and locks m again.
 * A signal sent after the wait began is never lost. Returns NMC_OK, or the
 * relock's NMC_EOWNER_DEAD (caller owns m) / NMC_ENOT_RECOVERABLE (not
 * owned); NMC_EINVAL if we belongs to another wait set than the condition's
 * other waiters; NMC_EBUSY if we is already waiting. */
int nmc_cond_wait(nmc_wait_entry *we, nmc_cond *c, nmc_mutex *m);
/* Like nmc_cond_wait, but gives up at abs_deadline with NMC_ETIMEDOUT (m is
 * locked again in that case too). */
int nmc_cond_timedwait(nmc_wait_entry *we, nmc_cond *c, nmc_mutex *m,
                       const struct timespec *abs_deadline);
/* Wakes the longest waiter of c, if any (dead waiters are skipped). */
int nmc_cond_signal(nmc_cond *c);
/* Wakes every waiter that was waiting on c when the call began. */
int nmc_cond_broadcast(nmc_cond *c);
/* Turns c back into a dummy. NMC_EBUSY while a live thread waits on it. */
int nmc_cond_destroy(nmc_cond *c);
/* Verifies the invariants of c: NMC_OK, NMC_EINVAL or NMC_ECORRUPT. */
int nmc_cond_check(const nmc_cond *c);

#ifdef __cplusplus
}
#endif
#endif
