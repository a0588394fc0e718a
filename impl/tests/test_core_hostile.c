/* Hostile scenarios for the process manager (nmc/core.h): workers that
 * stall the master (never reading their replies, trickling a request,
 * stopped while a large result is sent to them); a socket directory that
 * is not ours, with a planted manifest; a crashed run's manifest naming
 * objects that are no longer the ones it registered, and a manifest that
 * is a hard link; a preallocated object larger than its tmpfs; startup
 * under an address-space limit.
 *
 * One test case per scenario; the comment above each says what the honest
 * side must observe, and a failure message starts with its verdict (crash,
 * hang, leak, wrong status, data loss). A scenario that could hang runs in
 * a child process (the master of its run) with a deadline: a child still
 * running then is killed and reported as a hang; the processes of its run
 * report failed expectations through a pipe. Cases that need root (chown,
 * a private mount namespace) are registered only when running as root;
 * otherwise the suite prints a SKIP line for them; so are the cases that
 * limit RLIMIT_AS under AddressSanitizer, whose shadow memory needs
 * terabytes of address space. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h" /* the wire format, for workers that write raw bytes */
#include "nmc/core.h"
#include "nmc_test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(UNDER_ASAN)
#define UNDER_ASAN 1
#endif

static char dir[256];
static struct nmc_startup_options opt;
static nmc_res_id idle_fork, idle_join;

static int idle(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

static int first_idle(void *ctx, nmc_process_id *pid)
{
    return nmc_start(idle_fork, NMC_VAL_UNIT, NULL, pid);
}

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/nmc-hostile-XXXXXX", tmp != NULL ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt = (struct nmc_startup_options){.socket_directory = dir};
    ck_assert_ok(nmc_def_process(idle, &idle_fork, &idle_join));
}

static void teardown(void)
{
    ck_assert_ok(nmc_destroy_resources());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- scenarios in a child -------------------------------------------------- */

static int verdict_fd = -1; /* the pipe to the test process, in the child */

/* In any process of a child's run: reports a failed expectation. The test
 * process fails with the first one. */
static void report(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n > (int)sizeof line - 2 ? (int)sizeof line - 2 : n;
    line[n++] = '\n';
    if (write(verdict_fd, line, (size_t)n) < 0)
        perror("report");
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Runs body in a child and fails the test with the first report of its
 * run, or "hang: " if it is not done within seconds, or "crash: " if it
 * dies of a signal. */
static void in_child(void (*body)(void), const char *what, double seconds)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        verdict_fd = fds[1];
        body();
        _exit(0);
    }
    close(fds[1]);
    int ws = 0;
    pid_t r = 0;
    for (double end = now() + seconds; r == 0 && now() < end; usleep(10 * 1000))
        r = waitpid(child, &ws, WNOHANG);
    /* Read before a kill: what the run says as it dies is not a verdict. */
    char verdict[512] = "";
    struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
    if (poll(&pfd, 1, 0) == 1) {
        ssize_t n = read(fds[0], verdict, sizeof verdict - 1);
        verdict[n > 0 ? n : 0] = '\0';
        verdict[strcspn(verdict, "\n")] = '\0';
    }
    close(fds[0]);
    if (r == 0) {
        kill(child, SIGKILL); /* its workers follow (PR_SET_PDEATHSIG) */
        waitpid(child, &ws, 0);
    }
    ck_assert_msg(verdict[0] == '\0', "%s", verdict);
    ck_assert_msg(r != 0, "hang: %s not done within %.0f s", what, seconds);
    ck_assert_msg(!WIFSIGNALED(ws), "crash: %s killed by signal %d", what, WTERMSIG(ws));
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "crash: %s exited with %d", what,
                  WEXITSTATUS(ws));
}

/* nmc_startup with stderr captured into log (a NUL-terminated string). */
static int startup_logged(nmc_first_process_fn first, char *log, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s.log", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    dup2(fd, 2);
    int st = nmc_startup(&opt, first, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, log, len - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return st;
}

/* ---- workers that stall the master ------------------------------------------ */

/* The master drops a stalled worker after STALL_MS here; a call of another
 * worker must come back well before that, however the stalled one acts. */
enum { STALL_MS = 1000, CALL_BOUND_MS = 400, DROP_BOUND_MS = 5000, BIG = 32 << 20 };

static nmc_res_id echo_fork, echo_join, stalled_fork, stalled_join, first_fork, first_join;
static nmc_res_id producer_fork, producer_join;

static int echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = arg;
    return NMC_OK;
}

/* What the processes of a stall scenario share (mapped before the run, so
 * that every process of it has this page). */
struct stall_page {
    pid_t victim; /* the stopped joiner's pid, once it runs  */
    int go;       /* the producer returns its result once set */
};
static struct stall_page *page;

/* A few calls of an honest worker: a use taken and dropped, and now and
 * then a worker started and joined. */
static int honest_calls(nmc_arena *arena, int round)
{
    int st = nmc_get_resource(echo_fork, NULL);
    if (st == NMC_OK)
        st = nmc_release(echo_fork);
    if (st == NMC_OK && round % 10 == 0) {
        nmc_process_id pid;
        nmc_value v;
        st = nmc_start(echo_fork, nmc_val_long(round), NULL, &pid);
        if (st == NMC_OK)
            st = nmc_join(echo_join, pid, arena, &v);
        if (st == NMC_OK && nmc_long_val(v) != round)
            st = NMC_ECORRUPT;
    }
    return st;
}

/* In the first worker, while process stalled misbehaves (how): keeps
 * calling the master until it has dropped stalled, each call within
 * CALL_BOUND_MS, the drop within DROP_BOUND_MS; then the joiner's status. */
static void keep_calling(nmc_arena *arena, nmc_process_id stalled, const char *how)
{
    double start = now();
    nmc_value v;
    for (int round = 0;; round++) {
        double t0 = now();
        int st = honest_calls(arena, round);
        double took = now() - t0;
        if (st != NMC_OK) {
            report("wrong status: another worker's call gave %s while one %s", nmc_strerror(st),
                   how);
            return;
        }
        if (took * 1e3 > CALL_BOUND_MS) {
            report("hang: another worker's call took %.2f s while one %s", took, how);
            return;
        }
        st = nmc_join_nowait(stalled_join, stalled, arena, &v);
        if (st != NMC_EBUSY)
            break;
        if ((now() - start) * 1e3 > DROP_BOUND_MS) {
            report("hang: the worker that %s was not dropped within %d ms", how, DROP_BOUND_MS);
            return;
        }
        usleep(2000);
    }
    int st = nmc_join(stalled_join, stalled, arena, &v);
    if (st != NMC_ENO_RESULT)
        report("wrong status: the join of the worker that %s gave %s", how, nmc_strerror(st));
}

/* Sends requests and never reads a reply. */
static int never_reads(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    struct core_msg m = {.op = OP_GET}; /* resource 0: a short refusal */
    while (write(core.master_fd, &m, sizeof m) == (ssize_t)sizeof m)
        ;
    return NMC_ESYS;
}

/* Sends requests one byte every 100 ms. */
static int trickles(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    struct core_msg m = {.op = OP_GET};
    for (;;)
        for (size_t i = 0; i < sizeof m; i++) {
            if (write(core.master_fd, (char *)&m + i, 1) != 1)
                return NMC_ESYS;
            usleep(100 * 1000);
        }
}

/* Joins the producer its argument names; it is stopped meanwhile. */
static int stopped_joiner(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    __atomic_store_n(&page->victim, getpid(), __ATOMIC_RELEASE);
    return nmc_join(producer_join, nmc_long_val(arg), arena, result);
}

/* Returns a BIG string once page->go is set. */
static int producer(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    while (!__atomic_load_n(&page->go, __ATOMIC_ACQUIRE))
        usleep(1000);
    char *text = malloc(BIG);
    if (text == NULL)
        return NMC_ENOMEM;
    memset(text, 'r', BIG);
    int st = nmc_alloc_string(arena, text, BIG, result);
    free(text);
    return st;
}

static int (*stall_body)(nmc_arena *arena);

static int run_stall_body(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = NMC_VAL_UNIT;
    return stall_body(arena);
}

static int first_stall(void *ctx, nmc_process_id *pid)
{
    return nmc_start(first_fork, NMC_VAL_UNIT, NULL, pid);
}

/* The master's side of a stall scenario: a run whose log must say that
 * the stalled worker was dropped. */
static void stall_run(void)
{
    char log[8192];
    opt.stall_ms = STALL_MS;
    int st = startup_logged(first_stall, log, sizeof log);
    if (st != NMC_OK)
        report("wrong status: startup gave %s", nmc_strerror(st));
    else if (strstr(log, "dropped by the master") == NULL)
        report("wrong status: no line of the master's log says it dropped the worker: \"%s\"",
               log);
}

/* Runs body in the first worker of a run in a child; the stalled worker
 * runs fn. */
static void stall_scenario(int (*body)(nmc_arena *), nmc_process_fn fn, const char *what)
{
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join));
    ck_assert_ok(nmc_def_process(fn, &stalled_fork, &stalled_join));
    ck_assert_ok(nmc_def_process(producer, &producer_fork, &producer_join));
    ck_assert_ok(nmc_def_process(run_stall_body, &first_fork, &first_join));
    stall_body = body;
    page = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(page != MAP_FAILED);
    in_child(stall_run, what, 20);
    munmap(page, sizeof *page);
}

/* The first worker: starts the stalled worker and calls meanwhile. */
static int simple_stall_body(nmc_arena *arena, const char *how)
{
    nmc_process_id w;
    int st = nmc_start(stalled_fork, NMC_VAL_UNIT, NULL, &w);
    if (st != NMC_OK)
        report("wrong status: start gave %s", nmc_strerror(st));
    else
        keep_calling(arena, w, how);
    return NMC_OK;
}

static int never_reads_body(nmc_arena *arena)
{
    return simple_stall_body(arena, "never reads its replies");
}

/* expect: the others' calls return within 400 ms; the non-reader is dropped after 1 s, NMC_ENO_RESULT to its joiner */
START_TEST(worker_never_reads_replies)
{
    stall_scenario(never_reads_body, never_reads, "a run with a worker that never reads");
}
END_TEST

static int trickles_body(nmc_arena *arena)
{
    return simple_stall_body(arena, "trickles its request");
}

/* expect: the others' calls return within 400 ms; the trickler is dropped after 1 s, NMC_ENO_RESULT to its joiner */
START_TEST(worker_trickles_request)
{
    stall_scenario(trickles_body, trickles, "a run with a worker that trickles");
}
END_TEST

/* The producer's BIG result goes to a joiner that is stopped meanwhile;
 * once it is dropped, the result is still there for another join. */
static int stopped_body(nmc_arena *arena)
{
    nmc_process_id prod, joiner;
    int st = nmc_start(producer_fork, NMC_VAL_UNIT, NULL, &prod);
    if (st == NMC_OK)
        st = nmc_start(stalled_fork, nmc_val_long(prod), NULL, &joiner);
    if (st != NMC_OK) {
        report("wrong status: start gave %s", nmc_strerror(st));
        return NMC_OK;
    }
    while (__atomic_load_n(&page->victim, __ATOMIC_ACQUIRE) == 0)
        usleep(1000);
    usleep(200 * 1000); /* its join request is at the master now */
    kill(page->victim, SIGSTOP);
    __atomic_store_n(&page->go, 1, __ATOMIC_RELEASE);
    keep_calling(arena, joiner, "is stopped while a 32 MiB result is sent to it");
    nmc_value v;
    st = nmc_join(producer_join, prod, arena, &v);
    if (st != NMC_OK || nmc_string_length(v) != BIG)
        report("data loss: the result the stopped joiner did not receive is gone (join gave %s)",
               nmc_strerror(st));
    return NMC_OK;
}

/* expect: the others' calls return within 400 ms; the stopped joiner is dropped after 1 s, NMC_ENO_RESULT to its joiner; the result stays for another join */
START_TEST(joiner_stopped_during_large_result)
{
    stall_scenario(stopped_body, stopped_joiner, "a run with a stopped joiner");
}
END_TEST

/* ---- the socket directory -------------------------------------------------- */

/* What a planted manifest names: one shm object and one /tmp file of ours. */
struct planted {
    char shm[NMC_SHM_NAME_MAX];
    char file[64];
    char manifest[300];
    char text[1024]; /* the manifest's content as planted */
};

/* "R KIND <hex of name> <dev> <ino>\n" appended to out, for the object at
 * path: a line as the run that made it would have written it (anyone can
 * stat our objects). */
static void append_line(char *out, size_t len, const char *kind, const char *name,
                        const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, len - n, "R %s ", kind);
    for (const char *c = name; *c; c++)
        n += (size_t)snprintf(out + n, len - n, "%02x", (unsigned char)*c);
    snprintf(out + n, len - n, " %llx %llx\n", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
}

/* Creates our objects and plants a manifest naming them in dir. */
static void plant(struct planted *p)
{
    int fd;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, p->shm));
    close(fd);
    snprintf(p->file, sizeof p->file, "/tmp/%s-XXXXXX", nmc_test_prefix());
    fd = mkstemp(p->file);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char path[NMC_SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", p->shm);
    p->text[0] = '\0';
    append_line(p->text, sizeof p->text, "SHM", p->shm, path);
    append_line(p->text, sizeof p->text, "FILE", p->file, p->file);
    snprintf(p->manifest, sizeof p->manifest, "%s/nmc.pmanage", dir);
    FILE *f = fopen(p->manifest, "w");
    ck_assert_ptr_nonnull(f);
    fputs(p->text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Whether path holds exactly text. */
static bool file_is(const char *path, const char *text)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* Startup in a directory that is not ours must leave everything as it was
 * and say why, naming the directory. */
static void expect_refused(struct planted *p)
{
    char log[1024];
    int st = startup_logged(first_idle, log, sizeof log);
    int fd;
    bool shm_kept = nmc_sys_shm_open(p->shm, &fd) == NMC_OK;
    if (shm_kept) {
        close(fd);
        nmc_sys_shm_unlink(p->shm);
    }
    bool file_kept = access(p->file, F_OK) == 0;
    unlink(p->file);
    ck_assert_msg(shm_kept, "data loss: startup deleted our shm object %s", p->shm);
    ck_assert_msg(file_kept, "data loss: startup deleted our file %s", p->file);
    ck_assert_msg(file_is(p->manifest, p->text), "data loss: startup rewrote the planted manifest");
    ck_assert_msg(st == NMC_EPERM, "wrong status: startup gave %s", nmc_strerror(st));
    ck_assert_msg(strstr(log, dir) != NULL && strstr(log, "refused") != NULL,
                  "wrong status: the log does not name the directory: \"%s\"", log);
}

/* expect: NMC_EPERM from startup naming the path; our shm object and file kept, manifest untouched */
START_TEST(socket_dir_writable_by_others)
{
    struct planted p;
    plant(&p);
    ck_assert_int_eq(chmod(p.manifest, 0666), 0);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    expect_refused(&p);
}
END_TEST

/* expect: NMC_EPERM from startup naming the path; our shm object and file kept, manifest untouched */
START_TEST(socket_dir_of_another_user)
{
    struct planted p;
    plant(&p);
    ck_assert_int_eq(chown(p.manifest, 65534, 65534), 0);
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    expect_refused(&p);
}
END_TEST

/* ---- what a crashed run's manifest names ----------------------------------- */

static char managed[NMC_SHM_NAME_MAX]; /* the shm object the doomed run manages */
static int leftovers_fd = -1;          /* where the doomed run reports          */
static nmc_res_id doomed_fork, doomed_join;

/* Creates a preallocated object, manages `managed`, reports the former's
 * name and waits for the master to be killed. */
static int doomed(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    char name[NMC_SHM_NAME_MAX];
    nmc_res_id id;
    if (nmc_create_preallocated_shm(nmc_test_prefix(), 4096, &id, name) != NMC_OK ||
        nmc_manage_shm(managed, &id) != NMC_OK ||
        write(leftovers_fd, name, sizeof name) != (ssize_t)sizeof name)
        return NMC_EINVAL;
    pause();
    return NMC_OK;
}

static int first_doomed(void *ctx, nmc_process_id *pid)
{
    return nmc_start(doomed_fork, NMC_VAL_UNIT, NULL, pid);
}

/* A run in dir whose master is killed while it holds a preallocated object
 * (its name in prealloc) and the managed object `managed`. */
static void crashed_run(char *prealloc)
{
    int fds[2], fd;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, managed));
    close(fd);
    ck_assert_ok(nmc_def_process(doomed, &doomed_fork, &doomed_join));
    ck_assert_int_eq(pipe(fds), 0);
    pid_t master = fork();
    ck_assert_int_ge(master, 0);
    if (master == 0) {
        close(fds[0]);
        leftovers_fd = fds[1];
        nmc_startup(&opt, first_doomed, NULL);
        _exit(1); /* not reached: killed while its first worker waits */
    }
    close(fds[1]);
    ssize_t n = read(fds[0], prealloc, NMC_SHM_NAME_MAX);
    close(fds[0]);
    kill(master, SIGKILL);
    waitpid(master, NULL, 0);
    ck_assert_int_eq(n, NMC_SHM_NAME_MAX);
}

static bool shm_exists(const char *name)
{
    int fd;
    if (nmc_sys_shm_open(name, &fd) != NMC_OK)
        return false;
    close(fd);
    return true;
}

/* expect: startup deletes the crashed run's own leftover and keeps the new object under the name it had managed */
START_TEST(leftover_name_reused_after_crash)
{
    char prealloc[NMC_SHM_NAME_MAX];
    crashed_run(prealloc);
    /* The program makes its object afresh under the same name. */
    ck_assert_ok(nmc_sys_shm_unlink(managed));
    int fd = shm_open(managed, O_CREAT | O_EXCL | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    int st = nmc_startup(&opt, first_idle, NULL);
    bool kept = shm_exists(managed), own_gone = !shm_exists(prealloc);
    nmc_sys_shm_unlink(managed);
    nmc_sys_shm_unlink(prealloc);
    ck_assert_msg(kept, "data loss: startup deleted the new object under the reused name %s",
                  managed);
    ck_assert_msg(st == NMC_OK, "wrong status: startup gave %s", nmc_strerror(st));
    ck_assert_msg(own_gone, "leak: the crashed run's preallocated object %s is left", prealloc);
}
END_TEST

/* expect: startup keeps a leftover that another user owns now */
START_TEST(leftover_owned_by_another_user)
{
    char prealloc[NMC_SHM_NAME_MAX];
    crashed_run(prealloc);
    int fd;
    ck_assert_ok(nmc_sys_shm_open(managed, &fd));
    ck_assert_int_eq(fchown(fd, 65534, 65534), 0);
    close(fd);
    int st = nmc_startup(&opt, first_idle, NULL);
    bool kept = shm_exists(managed);
    nmc_sys_shm_unlink(managed);
    nmc_sys_shm_unlink(prealloc);
    ck_assert_msg(kept, "data loss: startup deleted %s, which uid 65534 owns", managed);
    ck_assert_msg(st == NMC_OK, "wrong status: startup gave %s", nmc_strerror(st));
}
END_TEST

/* expect: a manifest the previous release wrote (lines without device and inode) starts with NMC_OK and deletes nothing it names */
START_TEST(manifest_of_the_earlier_format_is_read)
{
    int fd;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, managed));
    close(fd);
    char path[300], line[2 * NMC_SHM_NAME_MAX + 16];
    int n = snprintf(line, sizeof line, "R SHM ");
    for (const char *c = managed; *c != '\0'; c++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%02x", (unsigned char)*c);
    snprintf(line + n, sizeof line - (size_t)n, "\n");
    snprintf(path, sizeof path, "%s/nmc.pmanage", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(line, f);
    fclose(f);
    int st = nmc_startup(&opt, first_idle, NULL);
    bool kept = shm_exists(managed);
    nmc_sys_shm_unlink(managed);
    ck_assert_msg(st == NMC_OK, "wrong status: startup gave %s", nmc_strerror(st));
    ck_assert_msg(kept, "data loss: startup deleted %s, named by a line it cannot verify", managed);
}
END_TEST

/* A preallocated object (a line in the manifest), then the idle worker. */
static int first_registers(void *ctx, nmc_process_id *pid)
{
    char name[NMC_SHM_NAME_MAX];
    nmc_res_id id;
    int st = nmc_create_preallocated_shm(nmc_test_prefix(), 4096, &id, name);
    return st == NMC_OK ? first_idle(ctx, pid) : st;
}

/* expect: NMC_EPERM from startup; the file the manifest is a hard link of is not written */
START_TEST(manifest_hard_link_is_refused)
{
    /* Another socket directory's (empty) manifest, linked into ours: what
     * this run registers must not land in that directory's record. */
    char other[300], ours[300];
    snprintf(other, sizeof other, "%s.other", dir);
    snprintf(ours, sizeof ours, "%s/nmc.pmanage", dir);
    int fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(link(other, ours), 0);
    int st = nmc_startup(&opt, first_registers, NULL);
    bool same = file_is(other, "");
    unlink(other);
    ck_assert_msg(same, "data loss: startup wrote into the file its manifest is a link of");
    ck_assert_msg(st == NMC_EPERM, "wrong status: startup gave %s", nmc_strerror(st));
}
END_TEST

/* ---- a preallocated object larger than its tmpfs ---------------------------- */

enum { MiB = 1 << 20 };

static nmc_res_id writer_fork, writer_join;

/* Writes every byte of the preallocated object its argument names. */
static int writer(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    void *addr;
    size_t size;
    int st = nmc_get_shm_addr(nmc_long_val(arg), &addr, &size);
    if (st == NMC_OK)
        memset(addr, 1, size);
    *result = NMC_VAL_UNIT;
    return st;
}

/* In the first worker: an object 8 times the size of /dev/shm. */
static int create_too_big(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    nmc_res_id id;
    nmc_process_id pid;
    nmc_value v;
    char name[NMC_SHM_NAME_MAX];
    *result = NMC_VAL_UNIT;
    int st = nmc_create_preallocated_shm(nmc_test_prefix(), 8 * MiB, &id, name);
    if (st == NMC_OK) { /* what a user would do next */
        int wst = nmc_start(writer_fork, nmc_val_long(id), NULL, &pid);
        if (wst == NMC_OK)
            wst = nmc_join(writer_join, pid, arena, &v);
        report("wrong status: create gave NMC_OK; the worker that wrote it then gave %s",
               nmc_strerror(wst));
        nmc_release(id);
    } else if (st != NMC_ENOSPC) {
        report("wrong status: create gave %s", nmc_strerror(st));
    }
    if (nmc_test_shm_count(nmc_test_prefix()) != 0)
        report("leak: an object named %s* is left in /dev/shm", nmc_test_prefix());
    return NMC_OK;
}

static nmc_res_id too_big_fork, too_big_join;

static int first_too_big(void *ctx, nmc_process_id *pid)
{
    return nmc_start(too_big_fork, NMC_VAL_UNIT, NULL, pid);
}

/* In a private mount namespace with a 1 MiB tmpfs over /dev/shm. */
static void too_big_run(void)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") != 0) {
        report("crash: no small /dev/shm: %s", strerror(errno));
        return;
    }
    int st = nmc_startup(&opt, first_too_big, NULL);
    if (st != NMC_OK)
        report("wrong status: startup gave %s", nmc_strerror(st));
}

/* expect: NMC_ENOSPC from nmc_create_preallocated_shm, no SIGBUS, no object left */
START_TEST(preallocated_shm_larger_than_tmpfs)
{
    ck_assert_ok(nmc_def_process(writer, &writer_fork, &writer_join));
    ck_assert_ok(nmc_def_process(create_too_big, &too_big_fork, &too_big_join));
    in_child(too_big_run, "the run on a full tmpfs", 20);
}
END_TEST

/* ---- startup under ulimit -v ----------------------------------------------- */

static nmc_res_id big_echo_fork, big_echo_join;

/* In the first worker: a 1 MiB string goes to a worker and back. */
static int big_echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    static char text[MiB];
    nmc_value s, back;
    nmc_process_id pid;
    bool same = false;
    memset(text, 'x', sizeof text);
    int st = nmc_alloc_string(arena, text, sizeof text, &s);
    if (st == NMC_OK)
        st = nmc_start(echo_fork, s, NULL, &pid);
    if (st == NMC_OK)
        st = nmc_join(echo_join, pid, arena, &back);
    if (st == NMC_OK)
        st = nmc_equal(s, back, &same);
    if (st != NMC_OK || !same)
        report("wrong status: a 1 MiB value's round trip gave %s%s", nmc_strerror(st),
               same ? "" : " (not equal)");
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

static int first_big_echo(void *ctx, nmc_process_id *pid)
{
    return nmc_start(big_echo_fork, NMC_VAL_UNIT, NULL, pid);
}

/* The address space ulimit -v 1048576 allows. */
static void limit_address_space(void)
{
    struct rlimit as = {.rlim_cur = (rlim_t)1 << 30, .rlim_max = (rlim_t)1 << 30};
    if (setrlimit(RLIMIT_AS, &as) != 0)
        report("crash: setrlimit: %s", strerror(errno));
}

static void default_under_ulimit_run(void)
{
    limit_address_space();
    int st = nmc_startup(&opt, first_big_echo, NULL);
    if (st != NMC_OK)
        report("wrong status: startup with the default options gave %s (%s)", nmc_strerror(st),
               strerror(errno));
}

/* expect: NMC_OK from startup with the default options, a 1 MiB value travels */
START_TEST(default_startup_under_ulimit_v)
{
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join));
    ck_assert_ok(nmc_def_process(big_echo, &big_echo_fork, &big_echo_join));
    in_child(default_under_ulimit_run, "startup under ulimit -v", 20);
}
END_TEST

static void value_max_over_ulimit_run(void)
{
    char log[1024];
    limit_address_space();
    opt.value_max = (size_t)2 << 30;
    int st = startup_logged(first_idle, log, sizeof log);
    if (st != NMC_ESYS || errno != ENOMEM)
        report("wrong status: startup with value_max 2 GiB gave %s (%s)", nmc_strerror(st),
               strerror(errno));
    else if (strstr(log, "value_max") == NULL)
        report("wrong status: the log does not name value_max: \"%s\"", log);
}

/* expect: NMC_ESYS (ENOMEM) from startup, a log line naming value_max */
START_TEST(value_max_beyond_ulimit_v_is_named)
{
    in_child(value_max_over_ulimit_run, "startup under ulimit -v", 20);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("core_hostile");
    TCase *tc = tcase_create("core_hostile");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, worker_never_reads_replies);
    tcase_add_test(tc, worker_trickles_request);
    tcase_add_test(tc, joiner_stopped_during_large_result);
    tcase_add_test(tc, socket_dir_writable_by_others);
    tcase_add_test(tc, leftover_name_reused_after_crash);
    tcase_add_test(tc, manifest_of_the_earlier_format_is_read);
    tcase_add_test(tc, manifest_hard_link_is_refused);
    if (geteuid() == 0) {
        tcase_add_test(tc, socket_dir_of_another_user);
        tcase_add_test(tc, leftover_owned_by_another_user);
        tcase_add_test(tc, preallocated_shm_larger_than_tmpfs);
    } else {
        printf("SKIP socket_dir_of_another_user, leftover_owned_by_another_user, "
               "preallocated_shm_larger_than_tmpfs: chown and mount namespaces need root\n");
    }
#ifdef UNDER_ASAN
    printf("SKIP default_startup_under_ulimit_v, value_max_beyond_ulimit_v_is_named: "
           "AddressSanitizer needs more address space than ulimit -v allows\n");
#else
    tcase_add_test(tc, default_startup_under_ulimit_v);
    tcase_add_test(tc, value_max_beyond_ulimit_v_is_named);
#endif
    suite_add_tcase(s, tc);
    return s;
}
