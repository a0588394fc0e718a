/* The worker side: the first code a new worker runs, and requests to the
 * master.
 *
 * A new worker is a copy of the master at the moment of the fork, with the
 * master's tables and every worker socket open. It keeps only its own
 * socket, restores the signal mask the program had before nmc_startup,
 * unmaps the preallocated objects it does not inherit, drops its copy of
 * the tables, reads its argument and runs the process function. Its result
 * goes to the master as an image; then it leaves with _exit, so that
 * handlers the master registered with atexit do not run in it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core_internal.h"

int core_call(struct core_msg *req, const void *payload, size_t len, struct core_msg *rep,
              void **rpayload)
{
    void *ignored = NULL;
    pthread_mutex_lock(&core.call_lock);
    int st = core_send(core.master_fd, req, payload, len);
    if (st == NMC_OK)
        st = core_recv(core.master_fd, rep, rpayload ? rpayload : &ignored);
    pthread_mutex_unlock(&core.call_lock);
    free(ignored);
    return st != NMC_OK ? st : rep->status;
}

static bool listed(nmc_res_id id, const nmc_res_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* Keeps the inherited preallocated objects mapped (listed in core.mapped)
 * and unmaps the others. */
static void apply_inheritance(const nmc_res_id *inherit, size_t n, bool all)
{
    core.mapped = calloc(core.nres ? core.nres : 1, sizeof *core.mapped);
    core.nmapped = 0;
    for (size_t i = 0; i < core.nres; i++) {
        struct core_resource *r = core.res[i];
        if (r == NULL ||
            (r->pub.kind != NMC_RES_SHM_PREALLOCATED && r->pub.kind != NMC_RES_MEMPOOL))
            continue;
        if ((all || listed(r->pub.id, inherit, n)) && core.mapped != NULL)
            core.mapped[core.nmapped++] = r->pub.id;
        else if (r->pub.kind == NMC_RES_MEMPOOL)
            nmc_mempool_unmap(r->pool);
        else
            munmap(r->pub.addr, r->pub.size);
    }
}

/* Closes what belongs to the master: the other workers' sockets and its
 * own descriptors. */
static void leave_master(struct core_proc *self)
{
    for (size_t i = 0; i < core.nlive; i++) {
        struct core_proc *p = core.live[i];
        if (p != self && p->fd >= 0)
            close(p->fd);
    }
    if (core.sig_fd >= 0)
        close(core.sig_fd);
    if (core.manifest_fd >= 0)
        close(core.manifest_fd);
    core.sig_fd = core.manifest_fd = -1;
    /* SIGTERM is how the master stops leftover workers: a handler the
     * program installed in the master must not turn it into something
     * else (a test framework's handler, say, that signals the master's
     * whole process group). */
    signal(SIGTERM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &core.saved_mask, NULL);
}

/* Runs fn on the argument image; the result image in *out. */
static int run_process(nmc_process_fn fn, const void *image, size_t image_len, void **out,
                       size_t *out_len)
{
    nmc_arena *arena;
    int st = nmc_arena_create(&arena);
    if (st != NMC_OK)
        return st;
    nmc_value arg, result = NMC_VAL_UNIT;
    st = core_image_read(image, image_len, arena, &arg);
    if (st == NMC_OK)
        st = fn(arena, arg, &result);
    if (st == NMC_OK)
        st = core_image_make(result, out, out_len);
    nmc_arena_destroy(arena);
    return st;
}

/* The master's tables as this worker inherited them (never used again). */
static void *inherited_tables[3];

_Noreturn void core_worker_main(struct core_proc *self, nmc_process_fn fn, const void *image,
                                size_t image_len, const nmc_res_id *inherit, size_t ninherit,
                                bool inherit_all, int fd)
{
    /* A worker does not outlive its master: the run is lost with it, and a
     * new startup in the same directory removes what the run left. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != core.master_pid)
        _exit(1);
    leave_master(self);
    core.role = ROLE_WORKER;
    core.running = false;
    core.self = self->id;
    core.master_fd = fd;
    apply_inheritance(inherit, ninherit, inherit_all);
    /* The master's tables are not ours: drop them without freeing, which
     * would write to (and so copy) every page they occupy. They stay
     * reachable from inherited_tables, so leak checkers (valgrind, LSan)
     * do not report them at the worker's exit. */
    inherited_tables[0] = core.res;
    inherited_tables[1] = core.procs;
    inherited_tables[2] = core.live;
    core.res = NULL;
    core.procs = core.live = NULL;
    core.nres = core.nprocs = core.cap_procs = core.nlive = core.cap_live = 0;
    void *out = NULL;
    size_t out_len = 0;
    struct core_msg msg = {.op = OP_RESULT};
    msg.status = run_process(fn, image, image_len, &out, &out_len);
    core_send(core.master_fd, &msg, out, out_len);
    fflush(NULL);
    _exit(0);
}
