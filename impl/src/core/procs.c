/* The master's process table: starting workers, their results, joins, and
 * the end of a worker. Runs in the master only, except core_worker_main,
 * the first code of a new worker.
 *
 * Joins are answered when the worker delivers its result (or its failure
 * status), as the original posts its result semaphore then; a worker that
 * delivers nothing is answered when it has ended: both its exit status
 * collected (waitpid) and its socket at end-of-file, so that a result it
 * sent cannot be missed. The uses it held are dropped at the end. Ids are
 * indexes + 1 into core.procs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core_internal.h"

struct core_proc *core_proc_find(nmc_process_id id)
{
    if (id < 1 || (size_t)id > core.nprocs)
        return NULL;
    return core.procs[id - 1];
}

/* Appends p to *arr (n used, cap allocated). */
static int push(struct core_proc ***arr, size_t *n, size_t *cap, struct core_proc *p)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        struct core_proc **t = realloc(*arr, c * sizeof *t);
        if (t == NULL)
            return NMC_ENOMEM;
        *arr = t;
        *cap = c;
    }
    (*arr)[(*n)++] = p;
    return NMC_OK;
}

static void live_remove(struct core_proc *p)
{
    for (size_t i = 0; i < core.nlive; i++)
        if (core.live[i] == p) {
            core.live[i] = core.live[--core.nlive];
            return;
        }
}

static void free_proc(struct core_proc *p)
{
    free(p->result);
    free(p->waiters);
    free(p);
}

void core_proc_forget_all(void)
{
    /* Links first: what they still hold may go back to another process. */
    for (size_t i = 0; i < core.nprocs; i++)
        if (core.procs[i] != NULL)
            core_link_close(core.procs[i]);
    for (size_t i = 0; i < core.nprocs; i++)
        if (core.procs[i] != NULL)
            free_proc(core.procs[i]);
    free(core.procs);
    free(core.live);
    core.procs = core.live = NULL;
    core.nprocs = core.cap_procs = core.nlive = core.cap_live = 0;
}

/* Checks an inherit list: every id must be a resource. */
static int inherit_ok(const nmc_res_id *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (core_res_find(ids[i], 0) == NULL)
            return NMC_ENO_RESOURCE;
    return NMC_OK;
}

int core_proc_start(nmc_res_id fork_point, const nmc_res_id *inherit, size_t ninherit,
                    bool inherit_all, const void *image, size_t image_len,
                    struct core_proc *requester, nmc_process_id *pid)
{
    struct core_resource *fp = core_res_find(fork_point, NMC_RES_FORK_POINT);
    if (fp == NULL)
        return NMC_ENO_RESOURCE;
    int st = inherit_all ? NMC_OK : inherit_ok(inherit, ninherit);
    if (st != NMC_OK)
        return st;
    struct core_proc *p = calloc(1, sizeof *p);
    int sv[2];
    if (p == NULL || push(&core.procs, &core.nprocs, &core.cap_procs, p) != NMC_OK) {
        free(p);
        return NMC_ENOMEM;
    }
    if (push(&core.live, &core.nlive, &core.cap_live, p) != NMC_OK ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        core.nprocs--; /* the id was not given out */
        live_remove(p);
        free(p);
        return NMC_ESYS;
    }
    p->id = (nmc_process_id)core.nprocs;
    p->fork_point = fork_point;
    p->join_point = fp->partner;
    *pid = p->id;
    /* A worker that asked gets its answer before the fork, so that its
     * next request (usually the join) travels while the master forks. */
    if (requester != NULL)
        core_link_reply(requester, NMC_OK, p->id, NULL, 0);
    fflush(NULL); /* no stdio buffer is written twice */
    /* SIGTERM stays blocked in the child until it has reset its handler
     * (core_worker_main), so a stop cannot run the master's handler there. */
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        core_worker_main(p, fp->fn, image, image_len, inherit, ninherit, inherit_all, sv[1]);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    if (child < 0) {
        int saved = errno;
        close(sv[0]);
        fprintf(stderr, "nmc master: process %lld gave no result: fork failed: %s\n",
                (long long)p->id, strerror(saved));
        p->fd = -1;
        p->reaped = p->ended = true; /* never ran: joins get NMC_ENO_RESULT */
        live_remove(p);
        errno = saved;
        return requester != NULL ? NMC_OK : NMC_ESYS;
    }
    p->pid = child;
    p->fd = sv[0];
    return NMC_OK;
}

/* Hands p's result to a joiner, once. */
static int take_result(struct core_proc *p, void **image, size_t *len)
{
    if (p->result == NULL || p->consumed)
        return NMC_ENO_RESULT;
    *image = p->result;
    *len = p->result_len;
    p->result = NULL;
    p->consumed = true;
    return NMC_OK;
}

int core_proc_join(nmc_res_id join_point, nmc_process_id pid, nmc_process_id waiter,
                   bool *queued, void **image, size_t *image_len)
{
    *queued = false;
    if (core_res_find(join_point, NMC_RES_JOIN_POINT) == NULL)
        return NMC_ENO_RESOURCE;
    struct core_proc *p = core_proc_find(pid);
    if (p == NULL)
        return NMC_ENOT_FOUND;
    if (p->join_point != join_point)
        return NMC_ENO_RESOURCE;
    if (p->ended || p->delivered)
        return take_result(p, image, image_len);
    if (waiter <= 0)
        return NMC_EBUSY;
    if (p->nwaiters == p->cap_waiters) {
        size_t cap = p->cap_waiters ? 2 * p->cap_waiters : 2;
        nmc_process_id *w = realloc(p->waiters, cap * sizeof *w);
        if (w == NULL)
            return NMC_ENOMEM;
        p->waiters = w;
        p->cap_waiters = cap;
    }
    p->waiters[p->nwaiters++] = waiter;
    *queued = true;
    return NMC_OK;
}

/* Says on stderr why p gives no result, if it does not, or why it was
 * dropped. */
static void log_end(const struct core_proc *p)
{
    int ws = p->wait_status;
    bool result = p->delivered && p->fn_status == NMC_OK;
    if (result && p->dropped[0] == '\0' && WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        return;
    char why[160];
    if (p->dropped[0] != '\0')
        snprintf(why, sizeof why, "dropped by the master: %s", p->dropped);
    else if (WIFSIGNALED(ws))
        snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(ws), strsignal(WTERMSIG(ws)));
    else if (p->delivered && p->fn_status != NMC_OK)
        snprintf(why, sizeof why, "its function returned %s", nmc_strerror(p->fn_status));
    else
        snprintf(why, sizeof why, "exited with code %d%s", WEXITSTATUS(ws),
                 p->delivered ? "" : " before delivering a result");
    fprintf(stderr, "nmc master: process %lld (pid %d) %s: %s\n", (long long)p->id, (int)p->pid,
            result ? "ended" : "gave no result", why);
}

/* Answers one queued join of p. */
static void answer_waiter(struct core_proc *p, nmc_process_id waiter)
{
    struct core_proc *w = core_proc_find(waiter);
    if (w == NULL || w->fd < 0)
        return; /* the joiner is gone: the result stays for another join */
    void *image = NULL;
    size_t len = 0;
    int st = take_result(p, &image, &len);
    core_link_send_result(w, st, image, len, p);
}

/* Answers every queued join of p: the first live joiner gets the result. */
static void answer_waiters(struct core_proc *p)
{
    for (size_t i = 0; i < p->nwaiters; i++)
        answer_waiter(p, p->waiters[i]);
    p->nwaiters = 0;
}

void core_proc_deliver(struct core_proc *p, int status, void *image, size_t len)
{
    if (p->delivered) { /* a worker sends one result; a second is ignored */
        free(image);
        return;
    }
    p->delivered = true;
    p->fn_status = status;
    if (status == NMC_OK && image != NULL && core_res_find(p->join_point, NMC_RES_JOIN_POINT)) {
        p->result = image;
        p->result_len = len;
    } else {
        free(image);
    }
    answer_waiters(p);
}

void core_proc_give_back(struct core_proc *p, void *image, size_t len)
{
    /* take_result left p->result NULL, and a result is delivered once. */
    p->result = image;
    p->result_len = len;
    p->consumed = false;
}

void core_proc_drop(struct core_proc *p, const char *why)
{
    if (p->fd < 0)
        return; /* dropped already, or at its end */
    snprintf(p->dropped, sizeof p->dropped, "%s", why);
    core_link_close(p);
    if (!p->reaped)
        kill(p->pid, SIGKILL);
    core_proc_maybe_end(p);
}

void core_proc_maybe_end(struct core_proc *p)
{
    if (p->ended || !p->reaped || p->fd >= 0)
        return;
    p->ended = true;
    live_remove(p);
    log_end(p);
    core_res_release_all(p->id);
    answer_waiters(p);
}
