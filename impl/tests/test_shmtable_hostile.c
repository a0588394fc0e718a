/* Hostile peers of a shared table (nmc/shmtable.h, "Robustness"): another
 * process truncates the object (to 0, into the header, into the data)
 * while a table is busy on it, inside an iteration or a mutation, or idle;
 * another rewrites the links of the bindings a table is removing and
 * replacing; another user owns the object; the tmpfs the table grows on
 * fills up.
 *
 * The honest side runs in a child with a deadline, so that its death or
 * its hang is the verdict ("crash: ", "hang: ") instead of the end of the
 * suite; its other failures come back as a message in a shared page,
 * starting with their verdict ("wrong status: ", "data loss: "). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"
#include "nmc/shmtable.h"
#include "nmc_test.h"
#include "shmtable_test.h"

/* ---- the honest side in a child ------------------------------------------ */

/* Shared between the test and its children (an anonymous shared page). */
struct shared {
    int phase;      /* how far the scenario got (enum phase)         */
    char msg[512];  /* the honest side's failure, verdict first      */
};

/* The steps of the truncation scenarios, in order. */
enum phase { READY = 1, CUT, SAW, RESTORED };

static struct shared *S;

static void shared_setup(void)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
    memset(S, 0, sizeof *S);
}

static void shared_teardown(void)
{
    munmap(S, sizeof *S);
}

/* In a child: records the failure (fmt starts with its verdict), exits. */
__attribute__((format(printf, 1, 2), noreturn)) static void honest_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(S->msg, sizeof S->msg, fmt, ap);
    va_end(ap);
    _exit(1);
}

static void set_phase(enum phase p)
{
    __atomic_store_n(&S->phase, (int)p, __ATOMIC_RELEASE);
}

static int phase(void)
{
    return __atomic_load_n(&S->phase, __ATOMIC_ACQUIRE);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
}

/* Forks a child that runs body(arg) and exits 0 (or fails). */
static pid_t start(void (*body)(void *), void *arg)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        body(arg);
        _exit(0);
    }
    return pid;
}

/* Waits up to seconds for pid; kills it after that. Returns its wait
 * status, or -1 if it had to be killed. */
static int reap(pid_t pid, double seconds)
{
    double deadline = now() + seconds;
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        nap();
    }
    return st;
}

/* The verdict on the honest child what, given seconds to finish: NULL if
 * it did, without failing; else why (verdict first, in a static buffer). */
static const char *verdict(pid_t pid, double seconds, const char *what)
{
    static char why[640];
    int st = reap(pid, seconds);
    if (st == -1)
        snprintf(why, sizeof why, "hang: %s did not finish within %.0f s", what, seconds);
    else if (WIFSIGNALED(st))
        snprintf(why, sizeof why, "crash: %s was killed by signal %d (%s)", what, WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else if (WEXITSTATUS(st) != 0 && S->msg[0] != '\0')
        snprintf(why, sizeof why, "%s", S->msg);
    else if (WEXITSTATUS(st) != 0)
        snprintf(why, sizeof why, "crash: %s exited with status %d and no message (a "
                 "sanitizer's report?)", what, WEXITSTATUS(st));
    else
        return NULL;
    return why;
}

/* The object behind tt opened again with a plain fd, as another process
 * would (for the hostile side). */
static int raw_open(const struct test_table *tt)
{
    int fd = tt->name.type == NMC_SHM_POSIX ? shm_open(tt->path, O_RDWR, 0) : open(tt->path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    return fd;
}

/* The honest side's own descriptor and table on tt's object. */
static void honest_open(const struct test_table *tt, struct test_table *own)
{
    *own = *tt;
    own->name.name = own->path;
    int rc = nmc_shm_open(&own->name, O_RDWR, 0, false, &own->d);
    if (rc == NMC_OK && (rc = nmc_shmtable_manage(own->d, NMC_SHM_RECORD_LOCKING, 0, -1, &own->t)) != NMC_OK)
        nmc_shm_close(own->d);
    if (rc != NMC_OK)
        honest_fail("wrong status: the honest side cannot open the table: %s", nmc_strerror(rc));
}

static void honest_close(struct test_table *own)
{
    nmc_shmtable_close(own->t);
    nmc_shm_close(own->d);
}

static int ignore_binding(int32_t key, const int32_t *value, size_t len, void *user)
{
    (void)key, (void)value, (void)len, (void)user;
    return 0;
}

/* The honest side: waits for the test side to reach p. */
static void honest_await(enum phase p)
{
    for (double deadline = now() + 10; phase() < (int)p;) {
        if (now() > deadline)
            honest_fail("hang: the honest side waited 10 s for step %d", (int)p);
        nap();
    }
}

/* The test side: waits for the honest child to reach p; false if it ended
 * (or took 10 s) first, which its verdict then explains. */
static bool await_child(pid_t child, enum phase p)
{
    for (double deadline = now() + 10; phase() < (int)p; nap()) {
        siginfo_t si = {0};
        if (now() > deadline || waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
            si.si_pid != 0)
            return false;
    }
    return true;
}

/* An honest status: one of the n allowed. */
static bool one_of(int rc, const int *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == allowed[i])
            return true;
    return false;
}

/* ---- truncation ------------------------------------------------------------ */

enum { KEYS = 600, MAXLEN = 150 };

/* Key k's value: 1 to 150 words (one to three pages of 256 bytes). */
static size_t value_of(int32_t k, int32_t *v)
{
    size_t len = 1 + (size_t)(k * 37) % MAXLEN;
    for (size_t i = 0; i < len; i++)
        v[i] = k * 1000 + (int32_t)i;
    return len;
}

/* Where the hostile side cuts: the whole object, into the header (its
 * first ten words stay), or into the data. */
static const char *const cut_names[] = {"0", "mid-header", "mid-data"};

struct victim {
    struct test_table tt;
    int fd;               /* the hostile side's own descriptor */
    size_t size;          /* the object's size before the cut */
    unsigned char *bytes; /* its content then, for the owner to restore */
    off_t cut;
    const char *cut_name;
};

/* A table of KEYS keys on an object of type _i / 3, cut as _i % 3 says. */
static void victim_new(struct victim *vi, int i)
{
    table_new(&vi->tt, i / 3 ? NMC_SHM_FILE : NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 256);
    int32_t v[MAXLEN];
    for (int32_t k = 0; k < KEYS; k++)
        ck_assert_ok(nmc_shmtable_add(vi->tt.t, k, v, value_of(k, v)));
    vi->fd = raw_open(&vi->tt);
    struct stat st;
    ck_assert_int_eq(fstat(vi->fd, &st), 0);
    vi->size = (size_t)st.st_size;
    vi->bytes = malloc(vi->size);
    ck_assert_int_eq(pread(vi->fd, vi->bytes, vi->size, 0), (ssize_t)vi->size);
    const off_t cuts[] = {0, 40, (off_t)vi->size / 2 + 100};
    vi->cut = cuts[i % 3];
    vi->cut_name = cut_names[i % 3];
}

static void victim_cut(const struct victim *vi)
{
    ck_assert_int_eq(ftruncate(vi->fd, vi->cut), 0);
    set_phase(CUT);
}

/* The owner puts back the size and the bytes from off on. */
static void victim_restore(const struct victim *vi, off_t off)
{
    ck_assert_int_eq(ftruncate(vi->fd, (off_t)vi->size), 0);
    ck_assert_int_eq(pwrite(vi->fd, vi->bytes + off, vi->size - (size_t)off, off),
                     (ssize_t)(vi->size - (size_t)off));
    set_phase(RESTORED);
}

static void victim_drop(struct victim *vi)
{
    close(vi->fd);
    free(vi->bytes);
    table_drop(&vi->tt);
}

/* The honest side: every key holds its value, and the table takes a
 * mutation and passes its check. */
static void expect_intact(nmc_shmtable *t, const char *when)
{
    int32_t want[MAXLEN], got[MAXLEN];
    size_t n;
    for (int32_t k = 0; k < KEYS; k++) {
        size_t len = value_of(k, want);
        int rc = nmc_shmtable_find(t, k, got, MAXLEN, &n);
        if (rc != NMC_OK)
            honest_fail("data loss: %s, find of key %d gave %s", when, k, nmc_strerror(rc));
        if (n != len || memcmp(want, got, len * sizeof *got) != 0)
            honest_fail("data loss: %s, key %d has another value", when, k);
    }
    int rc = nmc_shmtable_length(t, &n);
    if (rc != NMC_OK || n != KEYS)
        honest_fail("data loss: %s, length gave %s, %zu bindings", when, nmc_strerror(rc), n);
    if ((rc = nmc_shmtable_add(t, KEYS, want, 3)) != NMC_OK ||
        (rc = nmc_shmtable_remove(t, KEYS)) != NMC_OK)
        honest_fail("wrong status: %s, add or remove gave %s", when, nmc_strerror(rc));
    struct nmc_shmtable_fault f = {0};
    if ((rc = nmc_shmtable_check(t, &f)) != NMC_OK)
        honest_fail("wrong status: %s, check gave %s (page %u, %s)", when, nmc_strerror(rc),
                    f.page, f.field ? f.field : "-");
}

static void expect_corrupt(const char *what, int rc, const struct victim *vi)
{
    if (rc != NMC_ECORRUPT)
        honest_fail("wrong status: %s on a table cut to %s gave %s", what, vi->cut_name,
                    nmc_strerror(rc));
}

static int nop_block(int32_t *block, size_t len, void *user)
{
    (void)block, (void)len, (void)user;
    return NMC_SHMTABLE_NOP;
}

/* The honest side after the cut: every operation says NMC_ECORRUPT, and
 * the fault is named. */
static void expect_all_corrupt(nmc_shmtable *t, const struct victim *vi)
{
    int32_t v[MAXLEN];
    size_t n;
    bool bound;
    expect_corrupt("find", nmc_shmtable_find(t, 7, v, MAXLEN, &n), vi);
    struct nmc_shmtable_fault f = {0};
    nmc_shmtable_last_fault(t, &f);
    if (f.field == NULL || strcmp(f.field, "truncated") != 0)
        honest_fail("wrong status: the fault after the cut is %s, not truncated",
                    f.field ? f.field : "-");
    expect_corrupt("mem", nmc_shmtable_mem(t, 7, &bound), vi);
    expect_corrupt("add", nmc_shmtable_add(t, 7, v, 3), vi);
    expect_corrupt("replace", nmc_shmtable_replace(t, 8, v, 3), vi);
    expect_corrupt("remove", nmc_shmtable_remove(t, 9), vi);
    expect_corrupt("iter", nmc_shmtable_iter(t, ignore_binding, NULL), vi);
    expect_corrupt("find_all", nmc_shmtable_find_all(t, 7, ignore_binding, NULL), vi);
    expect_corrupt("read_blocks", nmc_shmtable_read_blocks(t, 7, nop_block, NULL), vi);
    expect_corrupt("write_blocks", nmc_shmtable_write_blocks(t, 0, 7, nop_block, NULL), vi);
    expect_corrupt("length", nmc_shmtable_length(t, &n), vi);
    expect_corrupt("check", nmc_shmtable_check(t, NULL), vi);
}

/* After the cut was seen: wait for the owner, then all is well again. */
static void honest_after_cut(struct test_table *own)
{
    set_phase(SAW);
    honest_await(RESTORED);
    expect_intact(own->t, "after the owner restored the object");
    honest_close(own);
}

/* What the test side checks after the child saw the cut, before the
 * restore: NULL, or why it failed (verdict first, static). */
typedef const char *(*between_fn)(const struct victim *vi);

/* Runs honest(vi) in a child while the test side cuts the object once the
 * child is READY, and restores it from restore_from on once the child SAW
 * the cut. NULL if all went as expected, else why not. */
static const char *run_cut(struct victim *vi, void (*honest)(void *), off_t restore_from,
                           between_fn between)
{
    const char *bad = NULL;
    pid_t child = start(honest, vi);
    if (await_child(child, READY)) {
        nap();
        victim_cut(vi);
        if (await_child(child, SAW)) {
            bad = between != NULL ? between(vi) : NULL;
            victim_restore(vi, restore_from);
        }
    }
    const char *why = verdict(child, 20, "the honest side");
    return bad != NULL ? bad : why;
}

/* One scenario on a fresh victim (loop index i); the objects are gone
 * before the verdict is asserted. */
static void scenario(int i, void (*honest)(void *), bool restore_cut_part, between_fn between)
{
    shared_setup();
    struct victim vi;
    victim_new(&vi, i);
    const char *why = run_cut(&vi, honest, restore_cut_part ? vi.cut : 0, between);
    victim_drop(&vi);
    shared_teardown();
    ck_assert_msg(why == NULL, "%s", why);
}

/* Busy: finds and iterations back to back; once the cut is known every one
 * must fail, and before it none may. */
static void honest_busy(void *arg)
{
    struct victim *vi = arg;
    struct test_table own;
    honest_open(&vi->tt, &own);
    expect_intact(own.t, "before the cut");
    set_phase(READY);
    int32_t want[MAXLEN], got[MAXLEN];
    for (int i = 0, after = 0; after < 20; i++) {
        bool cut = phase() >= CUT;
        int32_t k = i % KEYS;
        size_t n, len = value_of(k, want);
        int rc = i % 50 == 0 ? nmc_shmtable_iter(own.t, ignore_binding, NULL)
                             : nmc_shmtable_find(own.t, k, got, MAXLEN, &n);
        if (rc == NMC_OK && cut)
            honest_fail("wrong status: %s gave NMC_OK after the cut to %s",
                        i % 50 == 0 ? "iter" : "find", vi->cut_name);
        if (rc == NMC_OK && i % 50 != 0 && (n != len || memcmp(want, got, len * sizeof *got)))
            honest_fail("data loss: key %d has another value before the cut", k);
        if (rc != NMC_OK && rc != NMC_ECORRUPT)
            honest_fail("wrong status: a busy %s gave %s", i % 50 == 0 ? "iter" : "find",
                        nmc_strerror(rc));
        after += cut;
    }
    honest_after_cut(&own);
}

/* expect: NMC_ECORRUPT from every find and iter once a busy table's object is cut (FILE, POSIX; to 0, mid-header, mid-data), no SIGBUS; after the owner restores it the same table finds every value */
START_TEST(cut_under_busy_reads)
{
    scenario(_i, honest_busy, false, NULL);
}
END_TEST

/* An iteration callback that stops at the 100th binding until the test
 * side has cut the object. */
static int pause_binding(int32_t key, const int32_t *value, size_t len, void *user)
{
    int *calls = user;
    (void)key, (void)value, (void)len;
    if (++*calls == 100) {
        set_phase(READY);
        honest_await(CUT);
    }
    return 0;
}

static void honest_in_iteration(void *arg)
{
    struct victim *vi = arg;
    struct test_table own;
    honest_open(&vi->tt, &own);
    int calls = 0;
    expect_corrupt("the iteration the cut happened in", nmc_shmtable_iter(own.t, pause_binding, &calls), vi);
    expect_all_corrupt(own.t, vi);
    honest_after_cut(&own);
}

/* expect: NMC_ECORRUPT from the iteration whose callback the cut happened in, then from every operation, no SIGBUS; after the owner restores the object the same table finds every value */
START_TEST(cut_inside_an_iteration)
{
    scenario(_i, honest_in_iteration, false, NULL);
}
END_TEST

/* A write_blocks callback that waits for the cut on the first block. */
static int pause_block(int32_t *block, size_t len, void *user)
{
    (void)block, (void)len, (void)user;
    if (phase() < CUT) {
        set_phase(READY);
        honest_await(CUT);
    }
    return NMC_SHMTABLE_NOP;
}

static void honest_in_mutation(void *arg)
{
    struct victim *vi = arg;
    struct test_table own;
    honest_open(&vi->tt, &own);
    expect_corrupt("the write_blocks the cut happened in",
                   nmc_shmtable_write_blocks(own.t, 0, 5, pause_block, NULL), vi);
    honest_after_cut(&own);
}

/* The test side: the change counter (w6) is odd in what the object kept,
 * when it kept it. */
static const char *counter_left_odd(const struct victim *vi)
{
    static char why[128];
    uint32_t seq;
    if (vi->cut <= 24)
        return NULL;
    ck_assert_int_eq(pread(vi->fd, &seq, 4, 24), 4);
    if (seq % 2 == 1)
        return NULL;
    snprintf(why, sizeof why, "wrong status: the cut mutation completed the change counter (%u)",
             seq);
    return why;
}

/* expect: NMC_ECORRUPT from the mutation (write_blocks) the cut happened in, its change counter left odd; once the owner puts back what was cut off, the next access repairs and every value is there */
START_TEST(cut_inside_a_mutation)
{
    scenario(_i, honest_in_mutation, true, counter_left_odd);
}
END_TEST

static void honest_idle(void *arg)
{
    struct victim *vi = arg;
    struct test_table own;
    honest_open(&vi->tt, &own);
    expect_intact(own.t, "before the cut");
    set_phase(READY);
    honest_await(CUT);
    expect_all_corrupt(own.t, vi);
    honest_after_cut(&own);
}

/* expect: NMC_ECORRUPT from find, mem, add, replace, remove, iter, find_all, read_blocks, write_blocks, length and check of an idle table whose object was cut, no SIGBUS; after the owner restores it the same table works */
START_TEST(cut_under_an_idle_table)
{
    scenario(_i, honest_idle, false, NULL);
}
END_TEST

/* ---- a racing writer rewrites the links of bindings ---------------------- */

enum { RACE_KEYS = 8, RACE_PAGES = 32, SMALL = 8 };
#define RACE_SECONDS 1.5

struct race {
    struct test_table *tt;
    int fd;                          /* the racer's own fd on the object */
    uint32_t first_page, npages, pw; /* the pages the racer rewrites */
};

/* The racer: w2 (next) and w4 (length) of the first binding pages (where
 * the honest side's few keys live: freed pages are taken again first),
 * over and over,
 * with values that pass or fail validation: one-page lengths inside and
 * outside the honest side's buffer, a length no table holds, the last
 * page, a page number past every mapping. */
static void racer(void *arg)
{
    const struct race *r = arg;
    size_t len = (size_t)r->npages * r->pw * 4;
    uint32_t *w = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    if (w == MAP_FAILED)
        honest_fail("crash: the racer cannot map the table");
    static const uint32_t lens[] = {4, 50, 1u << 28}, nexts[] = {0, 0x7fffff00u};
    for (uint64_t s = 88172645463325252ull;;) {
        for (uint32_t pg = r->first_page; pg < r->npages; pg++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            __atomic_store_n(&w[(size_t)pg * r->pw + 2], nexts[s % 2], __ATOMIC_RELAXED);
            __atomic_store_n(&w[(size_t)pg * r->pw + 4], lens[(s >> 8) % 3], __ATOMIC_RELAXED);
        }
    }
}

/* The honest side: replace, remove, add, find (into a buffer of SMALL
 * words) and iterate the racer's keys, accepting only statuses. */
static void honest_mutator(void *arg)
{
    const struct race *r = arg;
    struct test_table own;
    honest_open(r->tt, &own);
    static const int ok[] = {NMC_OK, NMC_ECORRUPT, NMC_ENOT_FOUND, NMC_EOUT_OF_SPACE};
    int32_t v[SMALL] = {1, 2, 3, 4, 5, 6, 7, 8}, buf[SMALL];
    size_t n;
    double deadline = now() + RACE_SECONDS;
    for (int i = 0; now() < deadline; i++) {
        int32_t key = i % RACE_KEYS;
        const char *op[] = {"replace", "remove", "add", "find", "iter"};
        int rc[] = {
            nmc_shmtable_replace(own.t, key, v, 1 + (size_t)i % SMALL),
            nmc_shmtable_remove(own.t, key),
            nmc_shmtable_add(own.t, key, v, 4),
            nmc_shmtable_find(own.t, key, buf, SMALL, &n),
            i % 16 == 0 ? nmc_shmtable_iter(own.t, ignore_binding, NULL) : NMC_OK,
        };
        for (int k = 0; k < 5; k++)
            if (!one_of(rc[k], ok, sizeof ok / sizeof *ok))
                honest_fail("wrong status: %s gave %s", op[k], nmc_strerror(rc[k]));
    }
    struct nmc_shmtable_fault f;
    int rc = nmc_shmtable_check(own.t, &f);
    if (rc != NMC_OK && rc != NMC_ECORRUPT)
        honest_fail("wrong status: check after the race gave %s", nmc_strerror(rc));
    honest_close(&own);
}

/* expect: only statuses from replace/remove/add/find/iter, no write outside the mapping or the caller's buffer */
START_TEST(racing_writer_rewrites_links)
{
    shared_setup();
    struct test_table tt;
    table_new(&tt, NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 0);
    nmc_shmtable_close(tt.t);
    ck_assert_ok(nmc_shmtable_manage(tt.d, NMC_SHM_RECORD_LOCKING, 0, 200, &tt.t));
    int32_t v[4] = {0};
    for (int32_t k = 0; k < RACE_KEYS; k++)
        ck_assert_ok(nmc_shmtable_add(tt.t, k, v, 4));
    int32_t *w;
    size_t rows, cols;
    ck_assert_ok(nmc_shmtable_memory(tt.t, &w, &rows, &cols));
    uint32_t first = (uint32_t)(w[7] + w[8]); /* after the hash area */
    struct race r = {&tt, raw_open(&tt), first, first + RACE_PAGES, (uint32_t)cols};
    ck_assert_uint_le(r.npages, rows);
    pid_t bad = start(racer, &r);
    pid_t good = start(honest_mutator, &r);
    const char *why = verdict(good, 30, "the honest side");
    kill(bad, SIGKILL);
    waitpid(bad, NULL, 0);
    close(r.fd);
    table_drop(&tt);
    shared_teardown();
    ck_assert_msg(why == NULL, "%s", why);
}
END_TEST

/* ---- an object of another user ---------------------------------------------- */

/* The object's size as stat sees it (the path of a POSIX object is under
 * /dev/shm). */
static off_t object_size(const struct test_table *tt)
{
    char where[160];
    snprintf(where, sizeof where, "%s%s", tt->name.type == NMC_SHM_POSIX ? "/dev/shm" : "",
             tt->path);
    struct stat st;
    return stat(where, &st) == 0 ? st.st_size : -1;
}

/* Opens tt's object with flags and reads key 1 through a table on it. */
static int open_and_find(const struct test_table *tt, int flags)
{
    nmc_shm_descr *d;
    nmc_shmtable *t;
    int rc = nmc_shm_open(&tt->name, flags, 0, false, &d);
    if (rc != NMC_OK)
        return rc;
    if ((rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t)) == NMC_OK) {
        int32_t v[4];
        size_t n;
        rc = nmc_shmtable_find(t, 1, v, 4, &n);
        nmc_shmtable_close(t);
    }
    nmc_shm_close(d);
    return rc;
}

/* expect: NMC_EPERM from nmc_shm_open (also with O_TRUNC, the object left whole) of a POSIX or FILE table that uid 65534 owns with mode 0666; with NMC_SHM_ANY_OWNER it opens and reads */
START_TEST(table_of_another_owner)
{
    struct test_table tt;
    table_new(&tt, _i ? NMC_SHM_FILE : NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 0);
    int32_t v[4] = {1, 2, 3, 4};
    ck_assert_ok(nmc_shmtable_add(tt.t, 1, v, 4));
    off_t size = object_size(&tt);
    ck_assert_ok(nmc_shm_chmod(tt.d, 0666));
    ck_assert_ok(nmc_shm_chown(tt.d, 65534, 65534));
    int plain = open_and_find(&tt, O_RDWR), reader = open_and_find(&tt, O_RDONLY);
    int trunc = open_and_find(&tt, O_RDWR | O_TRUNC);
    off_t after = object_size(&tt);
    int any = open_and_find(&tt, O_RDWR | NMC_SHM_ANY_OWNER);
    ck_assert_ok(nmc_shm_chown(tt.d, geteuid(), getegid()));
    table_drop(&tt);
    const char *type = _i ? "FILE" : "POSIX";
    ck_assert_msg(plain == NMC_EPERM, "wrong status: opening a %s table of uid 65534 gave %s",
                  type, nmc_strerror(plain));
    ck_assert_msg(reader == NMC_EPERM, "wrong status: opening it read-only gave %s",
                  nmc_strerror(reader));
    ck_assert_msg(trunc == NMC_EPERM, "wrong status: opening it with O_TRUNC gave %s",
                  nmc_strerror(trunc));
    ck_assert_msg(after == size, "data loss: the refused O_TRUNC left %lld of %lld bytes",
                  (long long)after, (long long)size);
    ck_assert_msg(any == NMC_OK, "wrong status: with NMC_SHM_ANY_OWNER it gave %s",
                  nmc_strerror(any));
}
END_TEST

/* ---- a full tmpfs --------------------------------------------------------- */

/* In a fresh child: a private mount namespace with a 4 MiB tmpfs over
 * /dev/shm (as stress/mempool/overcommit_test.c does). 0, or -1 (errno). */
static int small_shm(void)
{
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    return mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=4m,mode=1777");
}

/* True if this process may make the namespace (tried in a child). */
static bool namespace_possible(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(small_shm() == 0 ? 0 : 1);
    int st;
    return child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The honest side: sets the size of object name (ftruncate: sparse). */
static void resize(enum nmc_shm_type type, const char *name, off_t size)
{
    int fd = type == NMC_SHM_POSIX ? shm_open(name, O_RDWR, 0) : open(name, O_RDWR);
    if (fd < 0 || ftruncate(fd, size) != 0)
        honest_fail("wrong status: cannot size the object %s", name);
    close(fd);
}

/* The honest side: a new object of the type in the small /dev/shm, sized
 * (sparse: ftruncate only) to size bytes; its name in name. */
static nmc_shm_descr *small_object(enum nmc_shm_type type, off_t size, char *name)
{
    char templ[128];
    snprintf(templ, sizeof templ, type == NMC_SHM_POSIX ? "/%s_XXXXXX" : "/dev/shm/%s_fXXXXXX",
             nmc_test_prefix());
    nmc_shm_name n = {type, templ};
    nmc_shm_descr *d;
    int rc = nmc_shm_create_unique(&n, 0600, &d);
    if (rc != NMC_OK)
        honest_fail("wrong status: creating an object in the small tmpfs gave %s", nmc_strerror(rc));
    snprintf(name, 128, "%s", nmc_shm_name_of(d)->name);
    resize(type, name, size);
    return d;
}

/* Adds bindings until one fails, which must be with NMC_ENOSPC; then the
 * table checks and holds every binding added before. */
static void fill_until_full(nmc_shmtable *t, const char *what)
{
    int32_t v[MAXLEN];
    int32_t k = 0;
    int rc;
    while ((rc = nmc_shmtable_add(t, k, v, value_of(k, v))) == NMC_OK)
        k++;
    if (rc != NMC_ENOSPC)
        honest_fail("wrong status: %s: the add that found the tmpfs full gave %s", what,
                    nmc_strerror(rc));
    struct nmc_shmtable_fault f = {0};
    if ((rc = nmc_shmtable_check(t, &f)) != NMC_OK)
        honest_fail("wrong status: %s: check after NMC_ENOSPC gave %s (page %u, %s)", what,
                    nmc_strerror(rc), f.page, f.field ? f.field : "-");
    int32_t got[MAXLEN];
    size_t n;
    for (int32_t i = 0; i < k; i++) {
        size_t len = value_of(i, v);
        if (nmc_shmtable_find(t, i, got, MAXLEN, &n) != NMC_OK || n != len ||
            memcmp(v, got, len * sizeof *v) != 0)
            honest_fail("data loss: %s: key %d of %d after NMC_ENOSPC", what, i, k);
    }
}

static void honest_on_small_tmpfs(void *arg)
{
    enum nmc_shm_type type = *(const enum nmc_shm_type *)arg;
    if (small_shm() != 0)
        honest_fail("wrong status: no private tmpfs: %s", strerror(errno));
    char name[128];
    nmc_shmtable *t;
    /* A table that grows until the tmpfs is full. */
    nmc_shm_descr *d = small_object(type, 0, name);
    int rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t);
    if (rc != NMC_OK)
        honest_fail("wrong status: manage of an empty object gave %s", nmc_strerror(rc));
    fill_until_full(t, "growth");
    nmc_shmtable_close(t);
    nmc_shm_close(d);
    nmc_shm_unlink(&(nmc_shm_name){type, name});
    /* Sparse objects (ftruncate only) initialised as tables: their pages
     * are committed before they are used. One four times the tmpfs is
     * NMC_ENOSPC at once; one of half the tmpfs fills, then growth is. */
    d = small_object(type, 16 << 20, name);
    rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 0, &t);
    if (rc != NMC_ENOSPC)
        honest_fail("wrong status: manage of a sparse object larger than the tmpfs gave %s",
                    nmc_strerror(rc));
    resize(type, name, 2 << 20);
    if ((rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 0, &t)) != NMC_OK)
        honest_fail("wrong status: manage of a sparse object that fits gave %s", nmc_strerror(rc));
    fill_until_full(t, "a sparse object");
    nmc_shmtable_close(t);
    nmc_shm_close(d);
}

/* expect: NMC_ENOSPC, never SIGBUS, from the add that finds the tmpfs full (FILE, POSIX), for a growing table and a sparse object larger than the tmpfs; the table then checks and holds every binding added before */
START_TEST(full_tmpfs)
{
    shared_setup();
    static const enum nmc_shm_type type[] = {NMC_SHM_POSIX, NMC_SHM_FILE};
    const char *why = verdict(start(honest_on_small_tmpfs, (void *)&type[_i]), 60,
                              "the table on a full tmpfs");
    shared_teardown();
    ck_assert_msg(why == NULL, "%s", why);
}
END_TEST

/* ---- the upgrade slot of a dead waiter whose pid was handed on ------------- */

/* A POSIX table in a pid namespace, and when its reader lets go. */
static char upgrade_path[128];
static struct {
    int reader_in;  /* the reader holds its read lock            */
    int release;    /* the reader may end its group               */
} *U;

static int reader_holds(nmc_shmtable *t, void *arg)
{
    (void)arg;
    int32_t v[2];
    size_t len;
    int rc = nmc_shmtable_find(t, 1, v, 2, &len);
    __atomic_store_n(&U->reader_in, 1, __ATOMIC_RELEASE);
    double give_up = now() + 10;
    while (now() < give_up && !__atomic_load_n(&U->release, __ATOMIC_ACQUIRE))
        nap();
    usleep(500000); /* long enough for the upgrader to find the slot and wait */
    return rc;
}

/* Reads, then mutates: the upgrade waits while the reader holds on. */
static int read_then_add(nmc_shmtable *t, void *arg)
{
    (void)arg;
    int32_t v[2];
    size_t len;
    int rc = nmc_shmtable_find(t, 1, v, 2, &len);
    return rc != NMC_OK ? rc : nmc_shmtable_add(t, 2, (int32_t[]){2, 2}, 2);
}

/* The status of a group of fn on a descriptor and table of its own. */
static int group_of_own(nmc_shmtable_group_fn fn)
{
    nmc_shm_name name = {NMC_SHM_POSIX, upgrade_path};
    nmc_shm_descr *d;
    nmc_shmtable *t;
    int rc = nmc_shm_open(&name, O_RDWR, 0, false, &d);
    if (rc != NMC_OK)
        return rc;
    if ((rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t)) == NMC_OK) {
        rc = nmc_shmtable_group(t, fn, NULL);
        nmc_shmtable_close(t);
    }
    nmc_shm_close(d);
    return rc;
}

static int reader_child(void)
{
    return group_of_own(reader_holds) == NMC_OK ? 0 : HOSTILE_SETUP_FAILED;
}

static int upgrader_child(void)
{
    group_of_own(read_then_add);
    return HOSTILE_SETUP_FAILED; /* killed in its upgrade before it gets here */
}

static int sleep_five_seconds(void)
{
    sleep(5);
    return 0;
}

/* A reader holds the table; X waits to upgrade and is killed there; a new
 * process gets X's pid; this process then reads and mutates. */
static int upgrade_after_pid_reuse(void)
{
    nmc_shm_name name = {NMC_SHM_POSIX, upgrade_path};
    nmc_shm_descr *d;
    nmc_shmtable *t;
    if (nmc_shm_open(&name, O_RDWR | O_CREAT | O_EXCL, 0600, false, &d) != NMC_OK)
        return HOSTILE_SETUP_FAILED;
    int rc = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 16, &t);
    if (rc == NMC_OK)
        rc = nmc_shmtable_add(t, 1, (int32_t[]){1, 1}, 2);
    if (rc == NMC_OK)
        nmc_shmtable_close(t);
    nmc_shm_close(d);
    pid_t reader = rc == NMC_OK ? fork() : -1;
    if (reader == 0)
        _exit(reader_child());
    while (reader > 0 && !__atomic_load_n(&U->reader_in, __ATOMIC_ACQUIRE))
        nap();
    pid_t dead = reader > 0 ? fork() : -1;
    if (dead == 0)
        _exit(upgrader_child());
    usleep(200000); /* it is in the upgrade slot, waiting for the reader */
    pid_t reuser = -1;
    if (dead > 0 && kill(dead, SIGKILL) == 0 && hostile_wait(dead, 5) == 128 + SIGKILL)
        reuser = hostile_fork_with_pid(dead, sleep_five_seconds);
    if (reuser < 0)
        return HOSTILE_SETUP_FAILED;
    __atomic_store_n(&U->release, 1, __ATOMIC_RELEASE);
    rc = group_of_own(read_then_add);
    kill(reuser, SIGKILL);
    hostile_wait(reuser, 5);
    hostile_wait(reader, 15);
    return rc == NMC_OK ? 0 : rc == NMC_EDEADLOCK ? 1 : 2;
}

/* expect: a group that reads and then mutates while a reader holds the table waits for it and succeeds, although a killed upgrade waiter's pid now runs another process (no NMC_EDEADLOCK) */
START_TEST(dead_upgrade_waiter_pid_reused)
{
    snprintf(upgrade_path, sizeof upgrade_path, "/%s_upg", nmc_test_prefix());
    U = mmap(NULL, sizeof *U, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(U, MAP_FAILED);
    int r = hostile_in_pid_namespace(upgrade_after_pid_reuse, 20);
    shm_unlink(upgrade_path);
    munmap(U, sizeof *U);
    if (hostile_skipped(r, "dead_upgrade_waiter_pid_reused"))
        return;
    ck_assert_msg(r != 1,
                  "wrong status: NMC_EDEADLOCK, the dead waiter's reused pid read as alive");
    ck_assert_msg(r == 0, "crash: the namespace child ended with %d", r);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("shmtable_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, cut_under_busy_reads, 0, 6);
    tcase_add_loop_test(tc, cut_inside_an_iteration, 0, 6);
    tcase_add_loop_test(tc, cut_inside_a_mutation, 0, 6);
    tcase_add_loop_test(tc, cut_under_an_idle_table, 0, 6);
    tcase_add_test(tc, racing_writer_rewrites_links);
    tcase_add_test(tc, dead_upgrade_waiter_pid_reused);
    if (geteuid() == 0) /* chown to another uid */
        tcase_add_loop_test(tc, table_of_another_owner, 0, 2);
    else
        printf("SKIP: table_of_another_owner needs root (to chown)\n");
    if (namespace_possible())
        tcase_add_loop_test(tc, full_tmpfs, 0, 2);
    else
        printf("SKIP: full_tmpfs cannot mount a private tmpfs over /dev/shm (needs root)\n");
    suite_add_tcase(s, tc);
    return s;
}
