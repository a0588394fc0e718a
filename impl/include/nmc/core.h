/* nmc/core.h - the process manager: master, workers, fork and join points,
 * managed resources (Netmcore, Netmcore_process).
 *
 * Roles. nmc_startup() turns the calling process into the master: a
 * supervisor with an event loop that never runs user work. It starts the
 * first worker (through the caller's first_process function, which normally
 * calls nmc_start) and returns when that worker has finished; workers still
 * running then are stopped (SIGTERM, SIGKILL after NMC_CORE_STOP_GRACE_MS)
 * and reaped. Every worker is forked by the master, also when another
 * worker asked for it: a worker is a fresh copy of the master as it was
 * when the request arrived, never of the process that asked.
 *
 * Processes. nmc_def_process(fn) (in the master, before or between
 * startups) gives a fork point and a join point. nmc_start(fork_point, arg)
 * starts a worker that runs fn(arena, arg, &result); it works from the
 * master (first_process) and from any worker (the request goes to the
 * master over the worker's Unix socket). Process ids are the master's own
 * counter, from 1, never reused. The first nmc_join / nmc_join_nowait that
 * finds the result consumes it; later ones get NMC_ENO_RESULT.
 *
 * Values. Arguments and results cross processes as value images made by
 * the copier (nmc/mem.h, flags NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT), so
 * any copyable value travels (immediates too); the receiver verifies the
 * image (nmc_image_check) and copies it into the arena it passed.
 * An image is at most value_max bytes (struct nmc_startup_options): the
 * master reserves that much address space (no memory) at startup, where
 * every process of the run places the images it receives. By default
 * value_max is NMC_CORE_VALUE_MAX, or a quarter of the address-space limit
 * (RLIMIT_AS, ulimit -v) when one is set lower, so that the default
 * configuration starts under any limit it can run in.
 *
 * Failures. A worker that crashes, exits on its own, is dropped by the
 * master (see "Transport") or whose fn returns a status other than NMC_OK
 * delivers no result: join gives NMC_ENO_RESULT, and the master logs the
 * cause (signal, exit code, status or why it dropped it) on stderr.
 *
 * Resources. The master keeps a table of resources, each with an id
 * (nmc_res_id, from 1, never reused) and a use count: files, shm objects
 * and named semaphores handed over with nmc_manage_*, preallocated shm
 * objects and memory pools created by the master and mapped at the same
 * address in the workers forked afterwards that inherit them, and the
 * fork and join points. The creator of a resource is its first user;
 * nmc_get_resource (and the nmc_get_* shorthands) adds a use, nmc_release
 * drops one, and when the last use is gone the kernel object is deleted
 * (unlinked; a pool is destroyed). A worker that ends drops the uses it
 * still held. Unknown ids and ids of another kind give NMC_ENO_RESOURCE.
 *
 * Inheritance. nmc_start's inherit list (NULL: all resources) names the
 * preallocated shm objects and pools the new worker keeps mapped; the
 * others are unmapped in it before fn runs. The process that creates a
 * preallocated object never sees it mapped (it was created in the master
 * after this process was forked): nmc_get_shm_addr there gives
 * NMC_ENO_RESOURCE, as in the original.
 *
 * Crash cleanup. Every kernel object the master creates or is handed gets
 * a line in the manifest <socket_directory>/nmc.pmanage (unless
 * disable_pmanage) when it is registered and another when it is deleted,
 * each with the object's identity (device and inode of the file behind
 * it, in /dev/shm for shm objects and semaphores). nmc_startup first
 * deletes the objects a previous run in the same directory left
 * registered (unless no_unlink), then empties the manifest. It trusts only
 * a directory of its own: one owned by another user or writable by group
 * or others is refused (NMC_EPERM) before anything in it is read, and so
 * is a manifest that is not a regular file of ours with one link. The
 * manifest is read once, as untrusted input: a malformed line makes
 * nmc_startup return NMC_ECORRUPT before deleting anything; shm and
 * semaphore names must be "/" plus [A-Za-z0-9_.-], files must be absolute
 * paths without "." or ".." components below the socket directory, /tmp
 * or $TMPDIR (also the only files nmc_manage_file accepts). A leftover is
 * deleted only if it is still the object that run registered (a later
 * object under the same name is kept) and a regular file of ours (not a
 * symbolic link, owned by our euid); one kept is named on stderr. An
 * object that did not exist when it was handed over is never deleted
 * after a crash. Objects the master creates get unpredictable names
 * (prefix_ + random hex), created O_EXCL with mode 0600.
 *
 * Transport. Each worker talks to the master over its own Unix stream
 * socket pair, made at fork: the master knows who sent each request
 * without credentials, and a dead worker's end-of-file is certain. A
 * worker blocks on its own requests; the master serves all workers from
 * one thread and never blocks on one: it reads and writes each socket as
 * far as it goes and resumes later, so a worker that does not read its
 * replies, trickles a request or is stopped does not delay the others. A
 * message between the master and a worker must be complete within
 * stall_ms (default NMC_CORE_STALL_MS) of its first byte (a request) or of
 * its turn to be sent (a reply or a join's result); past that the master
 * drops the worker: it closes its socket, kills it (SIGKILL) and logs
 * "dropped by the master: ... stalled past N ms" on stderr. Its joiners
 * get NMC_ENO_RESULT, and a result that was being sent to it stays for
 * another join. A worker asks again only after it has read its reply; one
 * that asks before is not read from until then (nothing piles up).
 *
 * Master death. Workers are killed (SIGKILL) when the master dies; the
 * kernel objects of that run are then removed by the next nmc_startup in
 * the same socket directory.
 *
 * Signals. A new worker starts with the master's signal handlers, except
 * for SIGTERM and SIGCHLD, which are back to their defaults (SIGTERM is how
 * the master stops workers left over at the end).
 *
 * Threads. The master must not run other threads during nmc_startup (they
 * would be forked half-way). A worker may use threads, but calls into this
 * API from several threads of one worker are serialised.
 *
 * Module prefix: nmc_ (the original's names); internal: nmc_core_.
 */
#ifndef NMC_CORE_H
#define NMC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/mempool.h"
#include "nmc/status.h"
#include "nmc/sys.h"
#include "nmc/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int64_t nmc_res_id;     /* a resource: 1, 2, ... never reused     */
typedef int64_t nmc_process_id; /* a worker: 1, 2, ... never reused       */

/* Largest value image an argument or a result may take (value_max's
 * default and upper bound). */
#define NMC_CORE_VALUE_MAX ((size_t)1 << 32)
/* How long stopping leftover workers waits between SIGTERM and SIGKILL. */
#define NMC_CORE_STOP_GRACE_MS 1000
/* How long a message between the master and a worker may take before the
 * master drops the worker (see "Transport"; nmc_startup_options.stall_ms).
 * Ample for the largest image: NMC_CORE_VALUE_MAX in 10 s is 430 MB/s. */
#define NMC_CORE_STALL_MS 10000
/* Longest name or path a resource may have (with the NUL). */
#define NMC_RESOURCE_NAME_MAX 256

/* The body of a worker: reads arg (valid until it returns), builds its
 * result in arena (or returns an immediate) and returns NMC_OK; any other
 * status means "no result". */
typedef int (*nmc_process_fn)(nmc_arena *arena, nmc_value arg, nmc_value *result);

/* ---- startup -------------------------------------------------------------- */

struct nmc_startup_options {
    const char *socket_directory; /* required; created (0700) if missing; must
                                     be ours, not writable by group or others */
    const char *pidfile;          /* if set, the master's pid is written there */
    bool disable_pmanage;         /* no manifest at all                        */
    bool no_unlink;               /* keep a previous run's leftovers           */
    size_t value_max;             /* largest argument / result image, bytes
                                     (<= NMC_CORE_VALUE_MAX); 0: the default
                                     (see "Values" above)                      */
    int stall_ms;                 /* a message's deadline (see "Transport");
                                     <= 0: NMC_CORE_STALL_MS. Tests shorten it */
};

/* Called once in the master to start the first worker; normally
 * `return nmc_start(fork_point, arg, NULL, first);`. */
typedef int (*nmc_first_process_fn)(void *ctx, nmc_process_id *first);
/* Called in the master after the first worker finished (nmc_run). */
typedef int (*nmc_extract_fn)(void *ctx, nmc_process_id first);

/* Makes the caller the master, starts the first worker and supervises until
 * it has finished. NMC_OK, or: NMC_EINVAL (no socket directory, already
 * inside nmc_startup, called from a worker), NMC_EPERM (the socket
 * directory is owned by another user or writable by group or others, as
 * ssh and tmux refuse theirs: nothing in it is read, written or deleted,
 * and a line on stderr names the path and the reason), NMC_ECORRUPT
 * (malformed manifest), NMC_ESYS (directory, pidfile, manifest, socket or
 * fork failed; also the address space for value_max, with errno ENOMEM
 * and a line on stderr naming value_max), or first_process's own status.
 * NMC_EINVAL also for a value_max beyond NMC_CORE_VALUE_MAX. */
int nmc_startup(const struct nmc_startup_options *opt, nmc_first_process_fn first_process,
                void *ctx);
/* nmc_startup, then extract_result(ctx, first) in the master (for
 * nmc_join_nowait); returns startup's failure or extract_result's status. */
int nmc_run(const struct nmc_startup_options *opt, nmc_first_process_fn first_process,
            nmc_extract_fn extract_result, void *ctx);
/* Deletes every resource left in the master's table (kernel objects
 * unlinked, pools destroyed, points dropped) and empties the manifest.
 * Master only, outside nmc_startup (NMC_EINVAL otherwise). */
int nmc_destroy_resources(void);

/* ---- processes -------------------------------------------------------------- */

/* Defines a process: a fork point and a join point. Master only. */
int nmc_def_process(nmc_process_fn fn, nmc_res_id *fork_point, nmc_res_id *join_point);

/* Which preallocated resources a new worker keeps mapped. */
struct nmc_inherit {
    const nmc_res_id *ids; /* these resources                        */
    size_t n;              /* how many ids (0: none)                  */
};

/* Starts a worker running fork_point's function on a copy of arg.
 * inherit NULL: all. NMC_ENO_RESOURCE (not a fork point, released),
 * NMC_EUNSUPPORTED / NMC_EOUT_OF_SPACE (arg cannot be copied / is larger
 * than value_max), NMC_ESYS (fork failed; errno as the master saw
 * it is not carried), NMC_EINVAL (no master, or an inherit count beyond
 * PTRDIFF_MAX / sizeof(nmc_res_id): no array holds that many ids). */
int nmc_start(nmc_res_id fork_point, nmc_value arg, const struct nmc_inherit *inherit,
              nmc_process_id *pid);
/* Waits until process pid has ended, then copies its result into arena.
 * Workers only (NMC_EINVAL in the master, which must not block).
 * NMC_ENO_RESULT: no result (crash, exit, dropped, fn's failure, already
 * joined);
 * NMC_ENO_RESOURCE: not a join point, or not the one of pid's fork point;
 * NMC_ENOT_FOUND: no such process. */
int nmc_join(nmc_res_id join_point, nmc_process_id pid, nmc_arena *arena, nmc_value *result);
/* Like nmc_join without waiting, also in the master: NMC_EBUSY while pid
 * still runs. */
int nmc_join_nowait(nmc_res_id join_point, nmc_process_id pid, nmc_arena *arena,
                    nmc_value *result);
/* Drops the fork point (no more starts) or the join point (results of its
 * processes are discarded, not kept for a join). */
int nmc_release_fork_point(nmc_res_id fork_point);
int nmc_release_join_point(nmc_res_id join_point);
/* The calling worker's id; NMC_EINVAL in the master or outside a run. */
int nmc_self_process_id(nmc_process_id *pid);

/* ---- resources ---------------------------------------------------------------- */

enum nmc_resource_kind {
    NMC_RES_FILE = 1,             /* a file, by absolute path                  */
    NMC_RES_SHM = 2,              /* a POSIX shm object, by name               */
    NMC_RES_SHM_PREALLOCATED = 3, /* shm mapped at one address (inherited)     */
    NMC_RES_SEM = 4,              /* a named POSIX semaphore                   */
    NMC_RES_FORK_POINT = 5,
    NMC_RES_JOIN_POINT = 6,
    NMC_RES_MEMPOOL = 7,          /* an nmc_mempool (preallocated, inherited)  */
};

struct nmc_resource {
    nmc_res_id id;
    enum nmc_resource_kind kind;
    char name[NMC_RESOURCE_NAME_MAX]; /* path or shm / semaphore name; "" for points */
    void *addr;   /* preallocated and pools: where it is mapped in every
                     inheriting worker; NULL when not mapped in the caller */
    size_t size;  /* preallocated: bytes; pools: usable bytes          */
};

/* Marks a use of id by the caller and describes it. */
int nmc_get_resource(nmc_res_id id, struct nmc_resource *out);
/* Drops one use by the caller; the last use deletes the object.
 * NMC_EPERM if the caller holds no use of id. */
int nmc_release(nmc_res_id id);

/* Hands an existing object to the manager; the caller is its first user.
 * Files: an absolute path; shm and semaphores: "/name". */
int nmc_manage_file(const char *path, nmc_res_id *id);
int nmc_manage_shm(const char *name, nmc_res_id *id);
int nmc_manage_sem(const char *name, nmc_res_id *id);
/* nmc_get_resource for one kind, giving the name (buf of buflen bytes;
 * NMC_EOUT_OF_SPACE if too small). */
int nmc_get_file(nmc_res_id id, char *buf, size_t buflen);
int nmc_get_shm(nmc_res_id id, char *buf, size_t buflen);
int nmc_get_sem(nmc_res_id id, char *buf, size_t buflen);
/* nmc_get_resource for a preallocated shm object: its address in the
 * caller; NMC_ENO_RESOURCE where it is not mapped. */
int nmc_get_shm_addr(nmc_res_id id, void **addr, size_t *size);

/* Creates a shm object of size bytes named prefix_<random hex> in the master
 * and maps it there; workers started afterwards inherit it at that address.
 * name receives the object's name (NMC_SHM_NAME_MAX bytes). Its pages are
 * committed (nmc_sys_commit) before it is handed out: NMC_ENOSPC when the
 * tmpfs cannot hold it, and then no object is left behind. */
int nmc_create_preallocated_shm(const char *prefix, size_t size, nmc_res_id *id, char *name);
/* Creates a memory pool (nmc_mempool_create) in the master as a resource;
 * workers started afterwards inherit it. Releasing the last use destroys
 * it. */
int nmc_create_mempool(size_t size, bool alloc_really, nmc_res_id *id);
/* The pool of a NMC_RES_MEMPOOL resource, marking a use;
 * NMC_ENO_RESOURCE where it is not mapped. */
int nmc_get_mempool(nmc_res_id id, nmc_mempool **pool);

#ifdef __cplusplus
}
#endif
#endif
