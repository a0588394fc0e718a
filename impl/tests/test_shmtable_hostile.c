/* Hostile peers of a shared table (nmc/shmtable.h, "Robustness"): another
 * process rewrites the links of the bindings a table is removing and
 * replacing.
 *
 * The honest side runs in a child with a deadline, so that its death or
 * its hang is the verdict ("crash: ", "hang: ") instead of the end of the
 * suite; its other failures come back as a message in a shared page,
 * starting with their verdict ("wrong status: ", "data loss: "). */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/shmtable.h"
#include "nmc_test.h"
#include "shmtable_test.h"

/* ---- the honest side in a child ------------------------------------------ */

/* Shared between the test and its children (an anonymous shared page). */
struct shared {
    char msg[512];  /* the honest side's failure, verdict first      */
};

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

/* An honest status: one of the n allowed. */
static bool one_of(int rc, const int *allowed, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == allowed[i])
            return true;
    return false;
}

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
    ck_assert_msg(why == NULL, "%s", why);
    table_drop(&tt);
    shared_teardown();
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("shmtable_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, racing_writer_rewrites_links);
    suite_add_tcase(s, tc);
    return s;
}
