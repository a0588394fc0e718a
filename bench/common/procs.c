/* bench/common/procs.c - fork, barrier, run, reap (the algorithm is in procs.h).
 *
 * The control region is private to one run: a header of three futex words
 * and the number of fairness counts, followed by one 64-byte slot per worker
 * (so that workers writing their results do not share cache lines), the
 * nprocs fairness counts and then the sample slots. Invariants:
 * ready counts workers past fork and only grows; go goes 0 -> 1 once, after
 * ready == nprocs; stop goes 0 -> 1 at most once; a slot is written only by
 * its worker, and its `reported` flag is stored last (release), so the
 * parent reads counts only from workers that finished their function; the
 * fairness counts are written by at most one worker, before that flag.
 * The parent keeps SIGCHLD blocked during the run and sleeps in sigtimedwait,
 * so it costs no CPU while the workers are measured.
 */
#include "procs.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/status.h"
#include "stats.h"

struct procs_slot {
    uint64_t count;     /* operations the worker reported                 */
    uint64_t end_ns;    /* CLOCK_MONOTONIC when its function returned     */
    uint64_t n_samples; /* samples recorded (may exceed the kept ones)    */
    int32_t status;     /* the function's return value                    */
    uint32_t reported;  /* 1 once the fields above are final              */
    char pad[32];       /* one slot per 64-byte cache line                */
};

struct procs_ctrl {
    uint32_t ready;     /* workers checked in at the barrier              */
    uint32_t go;        /* 1: barrier released                            */
    uint32_t stop;      /* 1: until-stop workers must finish              */
    uint32_t n_fairness; /* fairness counts set, or NMC_PROCS_FAIRNESS_UNSET */
    char pad[48];       /* header fills one cache line                    */
    struct procs_slot slot[]; /* nprocs slots, fairness counts, samples   */
};

/* Everything the parent tracks during one run. */
struct procs_run {
    const struct nmc_procs_spec *spec; /* what to run                     */
    struct procs_ctrl *ctrl;           /* shared control region           */
    size_t ctrl_len;                   /* its mapped length               */
    uint64_t *fairness;                /* fairness counts inside ctrl     */
    uint64_t *samples;                 /* sample slots inside ctrl        */
    pid_t pid[NMC_PROCS_MAX];          /* forked workers; 0 once reaped   */
    int wstatus[NMC_PROCS_MAX];        /* waitpid status of each worker   */
    int forked;                        /* entries of pid in use           */
    int live;                          /* forked and not yet reaped       */
};

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *rel)
{
    return syscall(SYS_futex, word, op, val, rel, NULL, 0);
}

static void ns_to_timespec(uint64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

int nmc_procs_map_shared(size_t len, void **out)
{
    if (len == 0 || out == NULL)
        return NMC_EINVAL;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    *out = p;
    return NMC_OK;
}

int nmc_procs_unmap_shared(void *p, size_t len)
{
    return munmap(p, len) == 0 ? NMC_OK : NMC_ESYS;
}

void nmc_procs_set_fairness(const struct nmc_procs_worker *w, const uint64_t *counts, size_t n)
{
    if (n > (size_t)w->nprocs)
        n = (size_t)w->nprocs;
    if (n != 0)
        memcpy(w->fairness, counts, n * sizeof *counts);
    *w->n_fairness = (uint32_t)n;
}

void nmc_procs_pingpong_done(const struct nmc_procs_worker *w, uint64_t *done)
{
    *done = w->index == 0 ? w->ops : 0;
    if (w->index == 0)
        nmc_procs_set_fairness(w, NULL, 0);
}

void nmc_procs_result_free(struct nmc_procs_result *res)
{
    if (res == NULL)
        return;
    free(res->samples);
    res->samples = NULL;
    res->n_samples = 0;
}

/* ---- the worker side ------------------------------------------------------ */

static void worker_main(struct procs_run *r, int i)
{
    struct procs_ctrl *c = r->ctrl;
    struct procs_slot *slot = &c->slot[i];
    struct nmc_procs_worker w = {
        .index = i,
        .nprocs = r->spec->nprocs,
        .ops = r->spec->ops,
        .arg = r->spec->arg,
        .stop = &c->stop,
        .samples = r->samples + (size_t)i * r->spec->samples_per_worker,
        .n_samples = &slot->n_samples,
        .max_samples = r->spec->samples_per_worker,
        .fairness = r->fairness,
        .n_fairness = &c->n_fairness,
    };
    /* A failed init exits before the barrier: the run fails there. */
    if (r->spec->init != NULL && r->spec->init(&w) != NMC_OK)
        _exit(1);
    __atomic_add_fetch(&c->ready, 1, __ATOMIC_ACQ_REL);
    futex(&c->ready, FUTEX_WAKE, 1, NULL);
    while (__atomic_load_n(&c->go, __ATOMIC_ACQUIRE) == 0)
        futex(&c->go, FUTEX_WAIT, 0, NULL);

    uint64_t done = 0;
    int st = r->spec->fn(&w, &done);
    slot->end_ns = nmc_stats_now_ns();
    slot->count = done;
    slot->status = st;
    __atomic_store_n(&slot->reported, 1, __ATOMIC_RELEASE);
    _exit(st == NMC_OK ? 0 : 1);
}

/* ---- the parent side ------------------------------------------------------ */

/* Reaps every worker that has exited, without blocking. */
static void reap_exited(struct procs_run *r)
{
    for (int i = 0; i < r->forked; i++) {
        if (r->pid[i] == 0)
            continue;
        pid_t got = waitpid(r->pid[i], &r->wstatus[i], WNOHANG);
        if (got == r->pid[i] || (got < 0 && errno == ECHILD)) {
            r->pid[i] = 0;
            r->live--;
        }
    }
}

/* Kills and reaps every live worker (blocking until each is gone). */
static void kill_all(struct procs_run *r)
{
    __atomic_store_n(&r->ctrl->stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->ctrl->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < r->forked; i++)
        if (r->pid[i] != 0)
            kill(r->pid[i], SIGKILL);
    for (int i = 0; i < r->forked; i++) {
        if (r->pid[i] == 0)
            continue;
        while (waitpid(r->pid[i], &r->wstatus[i], 0) < 0 && errno == EINTR)
            ;
        r->pid[i] = 0;
        r->live--;
    }
}

static int fork_workers(struct procs_run *r, const sigset_t *old_mask,
                        struct nmc_procs_result *res)
{
    for (int i = 0; i < r->spec->nprocs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            snprintf(res->error, sizeof res->error, "fork of worker %d: %s", i, strerror(e));
            errno = e;
            return NMC_ESYS;
        }
        if (pid == 0) {
            sigprocmask(SIG_SETMASK, old_mask, NULL);
            worker_main(r, i);
        }
        r->pid[i] = pid;
        r->wstatus[i] = 0;
        r->forked++;
        r->live++;
    }
    return NMC_OK;
}

/* Waits until every worker checked in at the barrier (or died, or the
 * deadline passed). */
static int await_ready(struct procs_run *r, uint64_t deadline_ns, struct nmc_procs_result *res)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};
    uint32_t n = (uint32_t)r->spec->nprocs;
    for (;;) {
        uint32_t ready = __atomic_load_n(&r->ctrl->ready, __ATOMIC_ACQUIRE);
        if (ready == n)
            return NMC_OK;
        reap_exited(r);
        if (r->live < r->forked) {
            snprintf(res->error, sizeof res->error, "a worker died before the start barrier");
            return NMC_ECORRUPT;
        }
        if (nmc_stats_now_ns() >= deadline_ns) {
            snprintf(res->error, sizeof res->error, "workers not ready within the timeout");
            return NMC_ETIMEDOUT;
        }
        futex(&r->ctrl->ready, FUTEX_WAIT, ready, &tick);
    }
}

/* Sleeps until all workers exited; raises stop at stop_ns (0: never). */
static int await_exit(struct procs_run *r, uint64_t stop_ns, uint64_t deadline_ns,
                      struct nmc_procs_result *res)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        reap_exited(r);
        if (r->live == 0)
            return NMC_OK;
        uint64_t now = nmc_stats_now_ns();
        if (stop_ns != 0 && now >= stop_ns) {
            __atomic_store_n(&r->ctrl->stop, 1, __ATOMIC_RELEASE);
            stop_ns = 0;
        }
        if (now >= deadline_ns) {
            snprintf(res->error, sizeof res->error, "%d worker(s) still running at the timeout",
                     r->live);
            return NMC_ETIMEDOUT;
        }
        uint64_t wake = stop_ns != 0 && stop_ns < deadline_ns ? stop_ns : deadline_ns;
        struct timespec rel;
        ns_to_timespec(wake - now, &rel);
        sigtimedwait(&chld, NULL, &rel);
    }
}

/* The fairness counts a worker set (nmc_procs_set_fairness keeps n <= nprocs),
 * else the done counts. */
static void collect_fairness(struct procs_run *r, struct nmc_procs_result *res)
{
    uint32_t n = r->ctrl->n_fairness;
    if (n == NMC_PROCS_FAIRNESS_UNSET) {
        memcpy(res->fairness, res->counts, (size_t)res->nprocs * sizeof *res->counts);
        res->n_fairness = res->nprocs;
    } else {
        memcpy(res->fairness, r->fairness, n * sizeof *r->fairness);
        res->n_fairness = (int)n;
    }
}

/* Turns the reaped workers' slots and exit statuses into *res. */
static int collect(struct procs_run *r, uint64_t t0, struct nmc_procs_result *res)
{
    const struct nmc_procs_spec *s = r->spec;
    uint64_t last = t0;
    size_t kept = 0;
    for (int i = 0; i < s->nprocs; i++) {
        const struct procs_slot *slot = &r->ctrl->slot[i];
        int ws = r->wstatus[i];
        if (!__atomic_load_n(&slot->reported, __ATOMIC_ACQUIRE) || !WIFEXITED(ws)) {
            snprintf(res->error, sizeof res->error, "worker %d %s %d", i,
                     WIFSIGNALED(ws) ? "killed by signal" : "exited without result, status",
                     WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
            return NMC_ECORRUPT;
        }
        if (slot->status != NMC_OK) {
            snprintf(res->error, sizeof res->error, "worker %d: %s", i,
                     nmc_strerror(slot->status));
            return slot->status;
        }
        res->counts[i] = slot->count;
        res->total += slot->count;
        if (slot->end_ns > last)
            last = slot->end_ns;
        kept += slot->n_samples < s->samples_per_worker ? slot->n_samples
                                                        : s->samples_per_worker;
    }
    res->nprocs = s->nprocs;
    res->wall_s = (double)(last - t0) / 1e9;
    collect_fairness(r, res);
    if (kept == 0)
        return NMC_OK;
    res->samples = malloc(kept * sizeof *res->samples);
    if (res->samples == NULL) {
        snprintf(res->error, sizeof res->error, "no memory for %zu samples", kept);
        return NMC_ENOMEM;
    }
    for (int i = 0; i < s->nprocs; i++) {
        uint64_t n = r->ctrl->slot[i].n_samples;
        size_t k = n < s->samples_per_worker ? (size_t)n : s->samples_per_worker;
        memcpy(res->samples + res->n_samples, r->samples + (size_t)i * s->samples_per_worker,
               k * sizeof *res->samples);
        res->n_samples += k;
    }
    return NMC_OK;
}

static int check_spec(const struct nmc_procs_spec *s, struct nmc_procs_result *res)
{
    if (s->nprocs < 1 || s->nprocs > NMC_PROCS_MAX || s->fn == NULL ||
        (s->ops == 0 && !(s->seconds > 0)) ||
        s->samples_per_worker > SIZE_MAX / sizeof(uint64_t) / NMC_PROCS_MAX) {
        snprintf(res->error, sizeof res->error, "invalid nmc_procs_spec");
        return NMC_EINVAL;
    }
    return NMC_OK;
}

/* Forks, releases, waits and collects; the caller maps and unmaps. */
static int run_mapped(struct procs_run *r, struct nmc_procs_result *res)
{
    const struct nmc_procs_spec *s = r->spec;
    double limit = s->timeout_s > 0 ? s->timeout_s : 60.0;
    uint64_t deadline = nmc_stats_now_ns() + (uint64_t)(limit * 1e9);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);

    int st = fork_workers(r, &old, res);
    if (st == NMC_OK)
        st = await_ready(r, deadline, res);
    uint64_t t0 = nmc_stats_now_ns();
    if (st == NMC_OK) {
        __atomic_store_n(&r->ctrl->go, 1, __ATOMIC_RELEASE);
        futex(&r->ctrl->go, FUTEX_WAKE, INT_MAX, NULL);
        uint64_t stop = s->ops == 0 ? t0 + (uint64_t)(s->seconds * 1e9) : 0;
        st = await_exit(r, stop, deadline, res);
    }
    if (st != NMC_OK)
        kill_all(r);
    else
        st = collect(r, t0, res);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return st;
}

int nmc_procs_run(const struct nmc_procs_spec *spec, struct nmc_procs_result *res)
{
    if (spec == NULL || res == NULL)
        return NMC_EINVAL;
    memset(res, 0, sizeof *res);
    int st = check_spec(spec, res);
    if (st != NMC_OK)
        return st;

    struct procs_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NMC_ENOMEM;
    r->spec = spec;
    size_t fairness_at = sizeof(struct procs_ctrl) +
                         (size_t)spec->nprocs * sizeof(struct procs_slot);
    size_t samples_at = fairness_at + (size_t)spec->nprocs * sizeof(uint64_t);
    r->ctrl_len = samples_at + (size_t)spec->nprocs * spec->samples_per_worker * sizeof(uint64_t);
    void *mem;
    st = nmc_procs_map_shared(r->ctrl_len, &mem);
    if (st != NMC_OK) {
        snprintf(res->error, sizeof res->error, "mmap of %zu bytes: %s", r->ctrl_len,
                 strerror(errno));
        free(r);
        return st;
    }
    r->ctrl = mem;
    r->ctrl->n_fairness = NMC_PROCS_FAIRNESS_UNSET;
    r->fairness = (uint64_t *)((char *)mem + fairness_at);
    r->samples = (uint64_t *)((char *)mem + samples_at);
    st = run_mapped(r, res);
    nmc_procs_unmap_shared(mem, r->ctrl_len);
    free(r);
    return st;
}
