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
 * At most NMC_CORE_VALUE_MAX bytes of image.
 *
 * Failures. A worker that crashes, exits on its own or whose fn returns a
 * status other than NMC_OK delivers no result: join gives NMC_ENO_RESULT,
 * and the master logs the cause (signal, exit code or status) on stderr.
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
 * disable_pmanage) when it is registered and another when it is deleted.
 * nmc_startup first deletes the objects a previous run in the same
 * directory left registered (unless no_unlink), then empties the manifest.
 * The manifest is read as untrusted input: a malformed line makes
 * nmc_startup return NMC_ECORRUPT before deleting anything; shm and
 * semaphore names must be "/" plus [A-Za-z0-9_.-], files must be absolute
 * paths without "." or ".." components naming a regular file of ours (not
 * a symbolic link) below the socket directory, /tmp or $TMPDIR (also the
 * only files nmc_manage_file accepts). Objects the master creates get unpredictable names
 * (prefix_ + random hex), created O_EXCL with mode 0600.
 *
 * Transport. Each worker talks to the master over its own Unix stream
 * socket pair, made at fork: the master knows who sent each request
 * without credentials, and a dead worker's end-of-file is certain.
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

/* Largest value image an argument or a result may take. */
#define NMC_CORE_VALUE_MAX ((size_t)1 << 32)
/* How long stopping leftover workers waits between SIGTERM and SIGKILL. */
#define NMC_CORE_STOP_GRACE_MS 1000
/* Longest name or path a resource may have (with the NUL). */
#define NMC_RESOURCE_NAME_MAX 256

/* The body of a worker: reads arg (valid until it returns), builds its
 * result in arena (or returns an immediate) and returns NMC_OK; any other
 * status means "no result". */
typedef int (*nmc_process_fn)(nmc_arena *arena, nmc_value arg, nmc_value *result);

/* ---- startup -------------------------------------------------------------- */

struct nmc_startup_options {
    const char *socket_directory; /* required; created (0700) if missing      */
    const char *pidfile;          /* if set, the master's pid is written there */
    bool disable_pmanage;         /* no manifest at all                        */
    bool no_unlink;               /* keep a previous run's leftovers           */
};

/* Called once in the master to start the first worker; normally
 * `return nmc_start(fork_point, arg, NULL, first);`. */
typedef int (*nmc_first_process_fn)(void *ctx, nmc_process_id *first);
/* Called in the master after the first worker finished (nmc_run). */
typedef int (*nmc_extract_fn)(void *ctx, nmc_process_id first);

/* Makes the caller the master, starts the first worker and supervises until
 * it has finished. NMC_OK, or: NMC_EINVAL (no socket directory, already
 * inside nmc_startup, called from a worker), NMC_ECORRUPT (malformed
 * manifest), NMC_ESYS (directory, pidfile, manifest, socket or fork
 * failed), or first_process's own status. */
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
 * than NMC_CORE_VALUE_MAX), NMC_ESYS (fork failed; errno as the master saw
 * it is not carried), NMC_EINVAL (no master, or an inherit count beyond
 * PTRDIFF_MAX / sizeof(nmc_res_id): no array holds that many ids). */
int nmc_start(nmc_res_id fork_point, nmc_value arg, const struct nmc_inherit *inherit,
              nmc_process_id *pid);
/* Waits until process pid has ended, then copies its result into arena.
 * Workers only (NMC_EINVAL in the master, which must not block).
 * NMC_ENO_RESULT: no result (crash, exit, fn's failure, already joined);
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
 * name receives the object's name (NMC_SHM_NAME_MAX bytes). */
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
