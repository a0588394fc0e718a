/* Private interface of the process manager (nmc/core.h).
 *
 * Files: transfer.c (values <-> images through the window), proto.c (the
 * framed messages between a worker and the master), manifest.c (the crash
 * cleanup file), resources.c (the master's resource table), procs.c (the
 * master's process table: start, results, joins), master.c (startup and
 * the event loop), worker.c (the public calls: direct in the master, a
 * request to the master in a worker).
 */
#ifndef NMC_CORE_INTERNAL_H
#define NMC_CORE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nmc/core.h"
#include "nmc/mem.h"
#include "nmc/status.h"

/* ---- transfer.c: value images ------------------------------------------- */

/* An image as it travels: this header, then the copier's bytes (made for
 * the window's address), or no bytes for an immediate value. */
struct core_image_hdr {
    uint64_t immediate; /* the value itself when immediate or an atom, else 0 */
    uint64_t voffset;   /* root offset within the bytes                  */
};

/* The window's default size: NMC_CORE_VALUE_MAX, less under RLIMIT_AS. */
size_t core_window_default(void);
/* Reserves the window, size bytes rounded up to pages: address space (no
 * memory) at one address in the master and so in every worker, where
 * received images are placed to be read. Keeps a window of that size
 * already there; master only, outside a run. NMC_EINVAL for 0 or beyond
 * NMC_CORE_VALUE_MAX, NMC_ESYS (errno ENOMEM) when it does not fit. */
int core_window_reserve(size_t size);
/* Largest payload accepted: an image as large as the window plus its
 * header and an inherit list. */
size_t core_payload_max(void);
/* Copies v into a fresh malloc'ed buffer (header + image); *len its size. */
int core_image_make(nmc_value v, void **buf, size_t *len);
/* Verifies the image in buf and copies its value into arena. */
int core_image_read(const void *buf, size_t len, nmc_arena *arena, nmc_value *out);

/* ---- proto.c: messages ------------------------------------------------------ */

enum core_op {
    OP_START = 1,  /* a = fork point; payload: inherit list, image     -> a = pid */
    OP_JOIN,       /* a = join point, b = pid, c = wait                -> image   */
    OP_RESULT,     /* status = fn's status; payload: image (no reply)             */
    OP_GET,        /* a = resource                     -> payload: nmc_resource   */
    OP_RELEASE,    /* a = resource                                                */
    OP_MANAGE,     /* a = kind; payload: name                      -> a = id      */
    OP_CREATE_SHM, /* a = size; payload: prefix        -> a = id, payload: name   */
    OP_CREATE_POOL,/* a = size, b = alloc_really                   -> a = id      */
    OP_RELEASE_POINT, /* a = point, b = its kind                                  */
};

struct core_msg {
    uint32_t op;     /* enum core_op (requests); 0 in replies      */
    int32_t status;  /* replies and OP_RESULT: an NMC_ status       */
    int64_t a, b, c; /* arguments, see enum core_op                 */
    uint64_t len;    /* payload bytes that follow                   */
};

/* Sends m and len bytes of payload (m->len is set). NMC_OK or NMC_ESYS. */
int core_send(int fd, struct core_msg *m, const void *payload, size_t len);
/* Receives a message; *payload is malloc'ed (NULL when empty). NMC_ESYS
 * with errno 0 at end-of-file, NMC_ECORRUPT for an oversized payload,
 * NMC_ETIMEDOUT when no byte comes for timeout_ms (-1: block). */
int core_recv(int fd, struct core_msg *m, void **payload, int timeout_ms);

/* ---- process-wide state ---------------------------------------------------- */

enum core_role { ROLE_NONE, ROLE_MASTER, ROLE_WORKER };

/* What the master keeps per resource. */
struct core_use {
    nmc_process_id user; /* 0: the master itself */
    uint32_t count;
};
struct core_resource {
    struct nmc_resource pub;  /* id, kind, name, addr, size                */
    nmc_mempool *pool;        /* NMC_RES_MEMPOOL                          */
    nmc_process_fn fn;        /* NMC_RES_FORK_POINT                       */
    nmc_res_id partner;       /* fork point <-> join point                */
    struct core_use *uses;
    size_t nuses, cap_uses;
};

/* What the master keeps per worker. */
struct core_proc {
    nmc_process_id id;
    pid_t pid;
    int fd;                  /* master's end of the worker's socket; -1 at EOF */
    nmc_res_id fork_point, join_point;
    bool reaped, ended;      /* waitpid done; both EOF and waitpid done     */
    int wait_status;         /* from waitpid                                */
    bool delivered;          /* OP_RESULT arrived                           */
    int fn_status;           /* its status                                  */
    void *result;            /* image (NULL: none or consumed)              */
    size_t result_len;
    bool consumed;           /* a join took the result                      */
    nmc_process_id *waiters; /* workers blocked in a join of this one     */
    size_t nwaiters, cap_waiters;
};

struct core_state {
    enum core_role role;
    /* worker */
    nmc_process_id self;
    int master_fd;
    pthread_mutex_t call_lock;  /* one request at a time per worker */
    sigset_t saved_mask;        /* the signal mask before nmc_startup  */
    nmc_res_id *mapped;         /* preallocated resources mapped here */
    size_t nmapped;
    /* window (master reserves; workers inherit) */
    char *window;
    size_t window_size;         /* bytes: the largest image              */
    /* master */
    bool running;               /* inside nmc_startup                    */
    pid_t master_pid;           /* getpid() of the master                */
    char socket_dir[4096];      /* its real path, from the last startup  */
    struct core_resource **res; /* index id - 1; NULL once deleted       */
    size_t nres;
    struct core_proc **procs;   /* index id - 1; NULL once forgotten     */
    size_t nprocs, cap_procs;
    struct core_proc **live;    /* the workers not ended, in no order    */
    size_t nlive, cap_live;
    int manifest_fd;            /* -1: no manifest                       */
    int sig_fd;                 /* signalfd for SIGCHLD during a run     */
};

extern struct core_state core;

/* ---- resources.c (master) -------------------------------------------------- */

struct core_resource *core_res_find(nmc_res_id id, enum nmc_resource_kind kind);
/* Adds a resource with user as its first user; *out its table entry. */
int core_res_add(enum nmc_resource_kind kind, const char *name, nmc_process_id user,
                 struct core_resource **out);
int core_res_use(nmc_res_id id, nmc_process_id user, struct nmc_resource *out);
int core_res_release(nmc_res_id id, nmc_process_id user);
/* Deletes a fork or join point (of kind) whoever uses it. */
int core_res_drop_point(nmc_res_id id, enum nmc_resource_kind kind);
/* Drops every use user holds (it ended). */
void core_res_release_all(nmc_process_id user);
int core_res_manage(enum nmc_resource_kind kind, const char *name, nmc_process_id user,
                    nmc_res_id *id);
int core_res_create_shm(const char *prefix, size_t size, nmc_process_id user, nmc_res_id *id,
                        char *name);
int core_res_create_pool(size_t size, bool alloc_really, nmc_process_id user, nmc_res_id *id);
/* Deletes every resource. */
void core_res_destroy_all(void);

/* ---- manifest.c (master) ------------------------------------------------------- */

/* Reads a previous run's manifest in dirfd, deletes what it left (unless
 * no_unlink), and opens the manifest afresh (truncated) in *fd. */
int core_manifest_recover(int dirfd, bool no_unlink, int *fd);
/* Appends "R" (registered) or "U" (deleted) for a kernel object. */
void core_manifest_note(char what, enum nmc_resource_kind kind, const char *name);
/* Whether a file lies where the manager may delete it: below the socket
 * directory, /tmp or $TMPDIR (after resolving symbolic links). */
bool core_file_place_ok(const char *path);
/* Whether name has the shape we accept for kind (see nmc/core.h). */
bool core_name_ok(enum nmc_resource_kind kind, const char *name);
/* Deletes a kernel object of kind by name (shm, semaphore, file). */
int core_delete_object(enum nmc_resource_kind kind, const char *name);

/* ---- procs.c (master) ---------------------------------------------------------- */

/* Starts a worker. requester: the worker that asked (NULL: the master
 * itself); once the id is assigned it is answered, before the fork, and a
 * failed fork then shows as a process without result. */
int core_proc_start(nmc_res_id fork_point, const nmc_res_id *inherit, size_t ninherit,
                    bool inherit_all, const void *image, size_t image_len,
                    struct core_proc *requester, nmc_process_id *pid);
/* Join: NMC_OK with the image in *image (malloc'ed, caller frees), a
 * failure status, or NMC_EBUSY while pid runs and waiter is 0. With a
 * waiter (a worker's id) and pid running, the answer goes to the waiter
 * when pid ends, and *queued is set. */
int core_proc_join(nmc_res_id join_point, nmc_process_id pid, nmc_process_id waiter,
                   bool *queued, void **image, size_t *image_len);
/* Stores a worker's delivered result. */
void core_proc_deliver(struct core_proc *p, int status, void *image, size_t len);
/* Finishes p if it is reaped and at EOF: logs, releases, answers joins. */
void core_proc_maybe_end(struct core_proc *p);
/* Frees the process table. */
void core_proc_forget_all(void);
/* The child side of a start: never returns. */
_Noreturn void core_worker_main(struct core_proc *self, nmc_process_fn fn, const void *image,
                                size_t image_len, const nmc_res_id *inherit, size_t ninherit,
                                bool inherit_all, int fd);

/* ---- worker.c ----------------------------------------------------------------- */

/* Sends a request to the master and waits for the answer (workers only);
 * returns the transport's failure or the answer's status. *rpayload (may
 * be NULL if none is expected) is malloc'ed. */
int core_call(struct core_msg *req, const void *payload, size_t len, struct core_msg *rep,
              void **rpayload);

/* ---- master.c ----------------------------------------------------------------- */

/* Serves one request read from a worker's socket. */
void core_master_serve(struct core_proc *from);

#endif
