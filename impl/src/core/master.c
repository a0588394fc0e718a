/* The master: nmc_startup / nmc_run, the event loop, and serving workers'
 * requests.
 *
 * The loop polls a signalfd (SIGCHLD, blocked during the run) and every
 * running worker's socket, which never blocks it (link.c): each round it
 * sends what is queued for a worker, or reads what came of its request
 * and serves it once complete. End-of-file closes the socket; a malformed
 * message, or one to or from a worker that stalls past core.stall_ms,
 * drops the worker (core_proc_drop). SIGCHLD reaps the workers (waitpid
 * on each known pid, never on -1, so the program's other children are
 * left alone). The loop ends when the first worker has ended;
 * the workers still running are then sent SIGTERM and, after
 * NMC_CORE_STOP_GRACE_MS, SIGKILL, and the loop runs until all have ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core_internal.h"

struct core_state core = {
    .master_fd = -1,
    .call_lock = PTHREAD_MUTEX_INITIALIZER,
    .manifest_fd = -1,
    .sig_fd = -1,
};

/* OP_START's payload: u64 count (UINT64_MAX: all), count ids, the image. */
static void serve_start(struct core_proc *from, const struct core_msg *m, const char *payload)
{
    uint64_t n;
    int st = NMC_ECORRUPT;
    nmc_process_id pid = 0;
    if (m->len >= sizeof n) {
        memcpy(&n, payload, sizeof n);
        bool all = n == UINT64_MAX;
        size_t ids_bytes = all ? 0 : (size_t)n * sizeof(nmc_res_id);
        if (all || n <= (m->len - sizeof n) / sizeof(nmc_res_id)) {
            const char *image = payload + sizeof n + ids_bytes;
            st = core_proc_start(m->a, (const nmc_res_id *)(payload + sizeof n), all ? 0 : n, all,
                                 image, m->len - sizeof n - ids_bytes, from, &pid);
        }
    }
    if (st != NMC_OK) /* success was answered before the fork */
        core_link_reply(from, st, pid, NULL, 0);
}

static void serve_join(struct core_proc *from, const struct core_msg *m)
{
    bool queued;
    void *image = NULL;
    size_t len = 0;
    int st = core_proc_join(m->a, m->b, m->c ? from->id : 0, &queued, &image, &len);
    if (!queued) /* the image is handed over, and goes back if unsent */
        core_link_send_result(from, st, image, len, image ? core_proc_find(m->b) : NULL);
}

/* A NUL-terminated string payload, or NULL. */
static const char *string_payload(const struct core_msg *m, const char *payload)
{
    return m->len > 0 && payload[m->len - 1] == '\0' ? payload : NULL;
}

/* Serves one request of from's (m and its payload, which it frees). */
static void serve(struct core_proc *from, struct core_msg m, void *payload)
{
    int st;
    struct nmc_resource res;
    nmc_res_id id = 0;
    char name[NMC_SHM_NAME_MAX] = "";
    const char *text = string_payload(&m, payload);
    switch (m.op) {
    case OP_START:
        serve_start(from, &m, payload);
        break;
    case OP_JOIN:
        serve_join(from, &m);
        break;
    case OP_RESULT:
        core_proc_deliver(from, m.status, payload, m.len);
        return; /* the payload is kept */
    case OP_GET:
        st = core_res_use(m.a, from->id, &res);
        core_link_reply(from, st, 0, &res, st == NMC_OK ? sizeof res : 0);
        break;
    case OP_RELEASE:
        core_link_reply(from, core_res_release(m.a, from->id), 0, NULL, 0);
        break;
    case OP_MANAGE:
        st = text ? core_res_manage((enum nmc_resource_kind)m.a, text, from->id, &id) : NMC_EINVAL;
        core_link_reply(from, st, id, NULL, 0);
        break;
    case OP_CREATE_SHM:
        st = text ? core_res_create_shm(text, (size_t)m.a, from->id, &id, name) : NMC_EINVAL;
        core_link_reply(from, st, id, name, st == NMC_OK ? strlen(name) + 1 : 0);
        break;
    case OP_RELEASE_POINT:
        core_link_reply(from, core_res_drop_point(m.a, (enum nmc_resource_kind)m.b), 0, NULL, 0);
        break;
    case OP_CREATE_POOL:
        st = core_res_create_pool((size_t)m.a, m.b != 0, from->id, &id);
        core_link_reply(from, st, id, NULL, 0);
        break;
    default:
        core_link_reply(from, NMC_EINVAL, 0, NULL, 0);
        break;
    }
    free(payload);
}

/* Reads what p sent; serves its request once it is complete. */
static void receive(struct core_proc *p)
{
    struct core_msg m;
    void *payload;
    int st = core_link_receive(p, &m, &payload);
    if (st == NMC_OK) {
        serve(p, m, payload);
    } else if (st == NMC_ESYS && (errno == 0 || errno == ECONNRESET)) { /* its end */
        core_link_close(p);
        core_proc_maybe_end(p);
    } else if (st != NMC_EBUSY) {
        char why[96];
        snprintf(why, sizeof why, "its request was refused (%s)", nmc_strerror(st));
        core_proc_drop(p, why);
    }
}

/* Drops the workers with a message under way past its deadline. */
static void drop_stalled(void)
{
    double now = core_now_ms();
    /* Backwards: core_proc_drop may remove p from core.live. */
    for (size_t i = core.nlive; i-- > 0;) {
        struct core_proc *p = core.live[i];
        const char *what = p->fd >= 0 ? core_link_overdue(p, now) : NULL;
        if (what == NULL)
            continue;
        char why[96];
        snprintf(why, sizeof why, "%s stalled past %d ms", what, core.stall_ms);
        core_proc_drop(p, why);
    }
}

/* The poll timeout: timeout_ms (-1: none), or less to meet a deadline. */
static int poll_timeout(int timeout_ms)
{
    double first = 0;
    for (size_t i = 0; i < core.nlive; i++) {
        double d = core.live[i]->fd >= 0 ? core_link_deadline(core.live[i]) : 0;
        if (d != 0 && (first == 0 || d < first))
            first = d;
    }
    if (first == 0)
        return timeout_ms;
    double left = first - core_now_ms();
    int ms = left <= 0 ? 0 : (int)left + 1;
    return timeout_ms >= 0 && timeout_ms < ms ? timeout_ms : ms;
}

/* Collects the exit status of every worker that has ended. */
static void reap(void)
{
    struct signalfd_siginfo si;
    while (read(core.sig_fd, &si, sizeof si) > 0)
        ;
    /* Backwards: core_proc_maybe_end removes p from core.live. */
    for (size_t i = core.nlive; i-- > 0;) {
        struct core_proc *p = core.live[i];
        if (p->reaped)
            continue;
        pid_t r;
        do
            r = waitpid(p->pid, &p->wait_status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == p->pid || (r < 0 && errno == ECHILD)) {
            p->reaped = true;
            core_proc_maybe_end(p);
        }
    }
}

/* One round of the loop: waits up to timeout_ms for events and serves them. */
static int loop_once(int timeout_ms)
{
    struct pollfd *fds = malloc((core.nlive + 1) * sizeof *fds);
    struct core_proc **who = malloc((core.nlive + 1) * sizeof *who);
    if (fds == NULL || who == NULL) {
        free(fds);
        free(who);
        return NMC_ENOMEM;
    }
    size_t n = 0;
    fds[n++] = (struct pollfd){.fd = core.sig_fd, .events = POLLIN};
    for (size_t i = 0; i < core.nlive; i++)
        if (core.live[i]->fd >= 0) {
            who[n] = core.live[i];
            fds[n++] = (struct pollfd){.fd = core.live[i]->fd,
                                       .events = core_link_events(core.live[i])};
        }
    int ready = poll(fds, n, poll_timeout(timeout_ms));
    int st = ready < 0 && errno != EINTR ? NMC_ESYS : NMC_OK;
    /* One step per worker and round: none can keep the loop to itself. */
    for (size_t i = 1; ready > 0 && i < n; i++) {
        if (fds[i].revents == 0 || who[i]->fd < 0)
            continue;
        if (fds[i].events == POLLOUT)
            core_link_flush(who[i]);
        else
            receive(who[i]);
    }
    if (ready > 0 && fds[0].revents != 0)
        reap();
    drop_stalled();
    free(fds);
    free(who);
    return st;
}

static bool all_ended(void)
{
    return core.nlive == 0;
}

static void signal_running(int sig)
{
    for (size_t i = 0; i < core.nlive; i++)
        if (!core.live[i]->reaped)
            kill(core.live[i]->pid, sig);
}

/* Stops the workers still running: SIGTERM, then SIGKILL after the grace
 * time; serves until every one has ended. */
static void stop_workers(void)
{
    signal_running(SIGTERM);
    double kill_at = core_now_ms() + NMC_CORE_STOP_GRACE_MS;
    bool killed = false;
    while (!all_ended()) {
        if (!killed && core_now_ms() >= kill_at) {
            signal_running(SIGKILL);
            killed = true;
        }
        if (loop_once(50) != NMC_OK)
            break;
    }
}

/* Serves until the first worker has ended. */
static int supervise(nmc_process_id first)
{
    int st = NMC_OK;
    if (first < 1 || (size_t)first > core.nprocs || core.procs[first - 1] == NULL)
        return NMC_EINVAL;
    struct core_proc *p = core.procs[first - 1];
    while (st == NMC_OK && !p->ended)
        st = loop_once(-1);
    return st;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return NMC_ESYS;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f) == 0 ? NMC_OK : NMC_ESYS;
}

/* Refuses a socket directory that another user could have written to: it
 * must be owned by our euid and not writable by group or others, as ssh and
 * tmux require of theirs. Its manifest names what startup deletes, so a
 * directory anyone can write is a way to make us delete our own objects.
 * The refusal names the path on stderr (the master's log). */
static int check_socket_dir(int dirfd, const char *path)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0)
        return NMC_ESYS;
    const char *why = st.st_uid != geteuid()                ? "owned by another user"
                      : (st.st_mode & (S_IWGRP | S_IWOTH)) ? "writable by group or others"
                                                            : NULL;
    if (why == NULL)
        return NMC_OK;
    fprintf(stderr, "nmc master: socket directory %s refused: %s (uid %u, mode %04o)\n", path,
            why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    errno = EPERM;
    return NMC_EPERM;
}

/* The window for values (transfer.c); a failure names the setting. */
static int reserve_window(size_t value_max)
{
    size_t size = value_max != 0 ? value_max : core_window_default();
    int st = core_window_reserve(size);
    if (st == NMC_ESYS) {
        int saved = errno;
        fprintf(stderr,
                "nmc master: cannot reserve %zu bytes of address space for argument and "
                "result images (nmc_startup_options.value_max%s): %s\n",
                size, value_max == 0 ? " unset: the default" : "", strerror(saved));
        errno = saved;
    }
    return st;
}

/* Directory, pidfile, manifest and window: everything before the signals. */
static int prepare(const struct nmc_startup_options *opt)
{
    if (mkdir(opt->socket_directory, 0700) != 0 && errno != EEXIST)
        return NMC_ESYS;
    int dirfd = NMC_FAULT(NMC_FAULT_OPEN, EMFILE)
                    ? -1
                    : open(opt->socket_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return NMC_ESYS;
    int st = check_socket_dir(dirfd, opt->socket_directory);
    if (st == NMC_OK && realpath(opt->socket_directory, core.socket_dir) == NULL)
        st = NMC_ESYS;
    if (st != NMC_OK) {
        close(dirfd);
        return st;
    }
    st = opt->pidfile ? write_pidfile(opt->pidfile) : NMC_OK;
    if (core.manifest_fd >= 0) {
        close(core.manifest_fd);
        core.manifest_fd = -1;
    }
    if (st == NMC_OK && !opt->disable_pmanage)
        st = core_manifest_recover(dirfd, opt->no_unlink, &core.manifest_fd);
    close(dirfd);
    return st == NMC_OK ? reserve_window(opt->value_max) : st;
}

/* nmc_startup, giving the first worker's id. */
static int startup(const struct nmc_startup_options *opt, nmc_first_process_fn first_process,
                   void *ctx, nmc_process_id *first)
{
    if (opt == NULL || opt->socket_directory == NULL || first_process == NULL ||
        core.role == ROLE_WORKER || core.running)
        return NMC_EINVAL;
    int st = prepare(opt);
    if (st != NMC_OK)
        return st;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &core.saved_mask);
    core.sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (core.sig_fd < 0) {
        sigprocmask(SIG_SETMASK, &core.saved_mask, NULL);
        return NMC_ESYS;
    }
    core.role = ROLE_MASTER;
    core.running = true;
    core.stall_ms = opt->stall_ms > 0 ? opt->stall_ms : NMC_CORE_STALL_MS;
    core.master_pid = getpid();
    *first = 0;
    st = first_process(ctx, first);
    if (st == NMC_OK)
        st = supervise(*first);
    stop_workers();
    core.running = false;
    close(core.sig_fd);
    core.sig_fd = -1;
    sigprocmask(SIG_SETMASK, &core.saved_mask, NULL);
    return st;
}

int nmc_startup(const struct nmc_startup_options *opt, nmc_first_process_fn first_process,
                void *ctx)
{
    nmc_process_id first;
    return startup(opt, first_process, ctx, &first);
}

int nmc_run(const struct nmc_startup_options *opt, nmc_first_process_fn first_process,
            nmc_extract_fn extract_result, void *ctx)
{
    nmc_process_id first;
    if (extract_result == NULL)
        return NMC_EINVAL;
    int st = startup(opt, first_process, ctx, &first);
    return st == NMC_OK ? extract_result(ctx, first) : st;
}

int nmc_destroy_resources(void)
{
    if (core.role == ROLE_WORKER || core.running)
        return NMC_EINVAL;
    core_res_destroy_all();
    core_proc_forget_all();
    if (core.manifest_fd >= 0 &&
        (NMC_FAULT(NMC_FAULT_FTRUNCATE, EFBIG) || ftruncate(core.manifest_fd, 0) != 0))
        return NMC_ESYS;
    return NMC_OK;
}
