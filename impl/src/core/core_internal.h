/* Private interface of the process manager (nmc/core.h).
 *
 * Files: transfer.c (values <-> images through the window), proto.c (the
 * framed messages between a worker and the master), link.c (the master's
 * non-blocking end of each worker's socket), manifest.c (the crash
 * cleanup file), resources.c (the master's resource table), procs.c (the
 * master's process table: start, results, joins), master.c (startup and
 * the event loop), worker.c (the public calls: direct in the master, a
 * request to the master in a worker).
 *
 * Input from other processes. The process manager reads no shared memory
 * word: what other processes give it is the workers' messages and the
 * manifest. Each is read once into private memory (a message into the
 * master's buffer for that worker, link.c; the manifest whole,
 * manifest.c), validated there, and only that copy is used after the
 * check, never a second read. The preallocated objects and pools it hands
 * out are the program's memory, read by their users (nmc/mempool.h).
 */
#ifndef NMC_CORE_INTERNAL_H
#define NMC_CORE_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
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

/* Sends m and len bytes of payload (m->len is set), blocking. NMC_OK or
 * NMC_ESYS. */
int core_send(int fd, struct core_msg *m, const void *payload, size_t len);
/* Sends m (m->len bytes of payload) from byte *sent of header + payload on,
 * advancing *sent: NMC_OK once all is sent, NMC_EBUSY when the socket
 * takes no more without blocking (block false), NMC_ESYS. */
int core_send_part(int fd, const struct core_msg *m, const void *payload, size_t *sent,
                   bool block);
/* Receives a message, blocking; *payload is malloc'ed (NULL when empty).
 * NMC_ESYS with errno 0 at end-of-file, NMC_ECORRUPT for an oversized
 * payload (core_payload_max), NMC_ENOMEM. */
int core_recv(int fd, struct core_msg *m, void **payload);
/* Receives a message from byte *got on (*got 0 and *payload NULL at its
 * start), advancing *got; the payload is allocated once the header is in.
 * NMC_OK once complete, NMC_EBUSY when no more comes without blocking
 * (block false), else core_recv's failures (the caller frees *payload). */
int core_recv_part(int fd, struct core_msg *m, void **payload, size_t *got, bool block);

/* ---- process-wide state ---------------------------------------------------- */

enum core_role { ROLE_NONE, ROLE_MASTER, ROLE_WORKER };

/* A kernel object's identity, which a later object under the same name
 * does not share. */
struct core_ident {
    uint64_t dev; /* st_dev of the file behind it */
    uint64_t ino; /* st_ino                       */
};

/* What the master keeps per resource. */
struct core_use {
    nmc_process_id user; /* 0: the master itself */
    uint32_t count;
};
struct core_resource {
    struct nmc_resource pub;  /* id, kind, name, addr, size                */
    struct core_ident ident;  /* kernel objects: as registered             */
    nmc_mempool *pool;        /* NMC_RES_MEMPOOL                          */
    nmc_process_fn fn;        /* NMC_RES_FORK_POINT                       */
    nmc_res_id partner;       /* fork point <-> join point                */
    struct core_use *uses;
    size_t nuses, cap_uses;
};

/* A message the master queued for a worker (link.c). */
struct core_out {
    struct core_out *next;
    struct core_msg m;
    void *payload;               /* malloc'ed; freed once sent           */
    size_t sent;                 /* bytes of header + payload written    */
    struct core_proc *result_of; /* a join result: whose, to give back   */
};

/* The master's non-blocking end of a worker's socket (link.c). */
struct core_link {
    struct core_msg in;          /* the request being received           */
    void *in_payload;            /* its payload, once the header is in   */
    size_t in_got;               /* its bytes so far; 0: none under way  */
    double in_deadline;          /* when it must be complete (ms)        */
    struct core_out *out, *out_last; /* messages to send, oldest first   */
    double out_deadline;         /* when the oldest must be sent (ms)    */
};

/* What the master keeps per worker. */
struct core_proc {
    nmc_process_id id;
    pid_t pid;
    int fd;                  /* master's end of the worker's socket; -1 at EOF */
    struct core_link link;   /* what is under way on it                       */
    char dropped[96];        /* why the master dropped it; "" if it did not   */
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
    int stall_ms;               /* NMC_CORE_STALL_MS or the run's own     */
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
/* Appends "R" (registered) or "U" (deleted) for a kernel object and its
 * identity. */
void core_manifest_note(char what, enum nmc_resource_kind kind, const char *name,
                        const struct core_ident *id);
/* lstat of the file behind a kernel object (shm objects and semaphores
 * are files in /dev/shm). NMC_OK or NMC_ESYS. */
int core_object_stat(enum nmc_resource_kind kind, const char *name, struct stat *st);
/* The identity of the object kind and name denote now; 0 0 if none. */
void core_object_ident(enum nmc_resource_kind kind, const char *name, struct core_ident *id);
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
/* The process of id, or NULL. */
struct core_proc *core_proc_find(nmc_process_id id);
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

/* Stores a result back that a dropped joiner did not receive: it stays
 * for another join. */
void core_proc_give_back(struct core_proc *p, void *image, size_t len);
/* Drops a worker that broke the protocol or stalled (why says how): its
 * socket is closed and it is killed, so it delivers nothing more and its
 * joiners get NMC_ENO_RESULT once it is reaped; the master logs why. */
void core_proc_drop(struct core_proc *p, const char *why);

/* ---- link.c (master) -------------------------------------------------------- */

/* Sends a reply to p without blocking: what the socket does not take now
 * is copied, queued and sent as p reads (core_link_flush). A failed send
 * drops the message: p is gone, which its socket's end shows next. */
void core_link_reply(struct core_proc *p, int status, int64_t a, const void *payload,
                     size_t len);
/* The same for the result image of process of (NMC_OK) or a join's failure
 * status (image NULL); the image is taken over. Should p be dropped before
 * it has all of it, the result goes back to of. */
void core_link_send_result(struct core_proc *p, int status, void *image, size_t len,
                           struct core_proc *of);
/* Sends what is queued for p, as far as its socket takes it. */
void core_link_flush(struct core_proc *p);
/* Receives what has come of p's request: NMC_OK with the whole of it in
 * *m and *payload (malloc'ed, the caller's), NMC_EBUSY while incomplete,
 * else core_recv's failures. */
int core_link_receive(struct core_proc *p, struct core_msg *m, void **payload);
/* The poll events p waits for: its output first, and its next request
 * only when nothing is queued for it (an honest worker reads its replies
 * before it asks again; one that does not is held back, not buffered). */
short core_link_events(const struct core_proc *p);
/* The earliest deadline of what is under way on p (ms), 0 if none. */
double core_link_deadline(const struct core_proc *p);
/* What on p is past its deadline at now ("its request", "a message to
 * it"), or NULL. */
const char *core_link_overdue(const struct core_proc *p, double now);
/* Closes p's socket, freeing what was under way; unsent results go back. */
void core_link_close(struct core_proc *p);
/* Milliseconds on CLOCK_MONOTONIC. */
double core_now_ms(void);

/* ---- worker.c ----------------------------------------------------------------- */

/* Sends a request to the master and waits for the answer (workers only);
 * returns the transport's failure or the answer's status. *rpayload (may
 * be NULL if none is expected) is malloc'ed. */
int core_call(struct core_msg *req, const void *payload, size_t len, struct core_msg *rep,
              void **rpayload);

#endif
