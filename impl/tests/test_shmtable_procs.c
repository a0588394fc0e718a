/* shmtable with several processes, each opening and managing its own
 * descriptor: disjoint writers, the manual's "add one" group example with
 * exact counts, a deadlock between two groups detected, and readers that
 * never see a torn value while a writer replaces and grows the table. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/shmtable.h"
#include "nmc_test.h"
#include "shmtable_test.h"

enum { NPROCS = 4 };

/* Forks n children running fn(tt, i) on their own descriptor; their exit
 * status is the number of failures. Returns the total. */
static int run_children(const struct test_table *tt, int n,
                        int (*fn)(struct test_table *own, int i))
{
    pid_t pids[16];
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            struct test_table own;
            table_open(tt, &own, NMC_SHM_RECORD_LOCKING);
            int bad = fn(&own, i);
            table_close(&own);
            _exit(bad);
        }
    }
    int failures = 0;
    for (int i = 0; i < n; i++) {
        int st;
        ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
        failures += WIFEXITED(st) ? WEXITSTATUS(st) : 100;
    }
    return failures;
}

static void assert_checks(nmc_shmtable *t)
{
    struct nmc_shmtable_fault f = {0};
    int rc = nmc_shmtable_check(t, &f);
    ck_assert_msg(rc == NMC_OK, "check: %s at page %u field %s", nmc_strerror(rc), f.page,
                  f.field ? f.field : "-");
}

/* ---- disjoint writers ---------------------------------------------------- */

enum { PER_CHILD = 3000 };

static int add_disjoint(struct test_table *own, int i)
{
    int bad = 0;
    for (int32_t k = 0; k < PER_CHILD; k++) {
        int32_t v[3] = {i, k, i ^ k};
        bad += nmc_shmtable_add(own->t, i * PER_CHILD + k, v, 1 + (size_t)(k % 3)) != NMC_OK;
    }
    return bad > 0;
}

START_TEST(disjoint_writers)
{
    struct test_table a;
    table_new(&a, _i ? NMC_SHM_FILE : NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 0);
    ck_assert_int_eq(run_children(&a, NPROCS, add_disjoint), 0);
    size_t n;
    ck_assert_ok(nmc_shmtable_length(a.t, &n)); /* the parent remaps */
    ck_assert_uint_eq(n, NPROCS * PER_CHILD);
    for (int32_t i = 0; i < NPROCS; i++)
        for (int32_t k = 0; k < PER_CHILD; k += 97) {
            int32_t buf[4];
            ck_assert_ok(nmc_shmtable_find(a.t, i * PER_CHILD + k, buf, 4, &n));
            ck_assert_uint_eq(n, 1 + (size_t)(k % 3));
            ck_assert_int_eq(buf[0], i);
        }
    assert_checks(a.t);
    table_drop(&a);
}
END_TEST

/* ---- add one --------------------------------------------------------------- */

enum { INCREMENTS = 300, COUNTERS = 3 };

/* The manual's add_one: find (or a fresh 0), increment, replace. */
static int add_one(nmc_shmtable *t, void *arg)
{
    int32_t key = *(const int32_t *)arg, v = 0;
    size_t n;
    int rc = nmc_shmtable_find(t, key, &v, 1, &n);
    if (rc != NMC_OK && rc != NMC_ENOT_FOUND)
        return rc;
    v = rc == NMC_OK ? v + 1 : 1;
    return nmc_shmtable_replace(t, key, &v, 1);
}

static int add_ones(struct test_table *own, int i)
{
    int bad = 0;
    for (int k = 0; k < INCREMENTS * COUNTERS; k++) {
        int32_t key = (k + i) % COUNTERS;
        int rc;
        /* a refused upgrade changed nothing: the whole group is retried */
        while ((rc = nmc_shmtable_group(own->t, add_one, &key)) == NMC_EDEADLOCK)
            ;
        bad += rc != NMC_OK;
    }
    return bad > 0;
}

START_TEST(add_one_exact_counts)
{
    struct test_table a;
    table_new(&a, NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 0);
    ck_assert_int_eq(run_children(&a, NPROCS, add_ones), 0);
    for (int32_t key = 0; key < COUNTERS; key++) {
        int32_t v;
        size_t n;
        ck_assert_ok(nmc_shmtable_find(a.t, key, &v, 1, &n));
        ck_assert_int_eq(v, NPROCS * INCREMENTS);
    }
    size_t n;
    ck_assert_ok(nmc_shmtable_length(a.t, &n));
    ck_assert_uint_eq(n, COUNTERS);
    assert_checks(a.t);
    table_drop(&a);
}
END_TEST

/* ---- deadlock -------------------------------------------------------------- */

static _Atomic int *arrived; /* shared: processes past their read */

static int read_then_write(nmc_shmtable *t, void *arg)
{
    (void)arg;
    int32_t v = 0;
    size_t n;
    int rc = nmc_shmtable_find(t, 1, &v, 1, &n); /* read-locks until the end */
    if (rc != NMC_OK)
        return rc;
    atomic_fetch_add(arrived, 1);
    while (atomic_load(arrived) < 2)
        usleep(100);
    v++;
    return nmc_shmtable_replace(t, 1, &v, 1); /* both want to upgrade */
}

static int deadlocking_group(struct test_table *own, int i)
{
    (void)i;
    int rc = nmc_shmtable_group(own->t, read_then_write, NULL);
    return rc == NMC_OK ? 0 : rc == NMC_EDEADLOCK ? 1 : 50;
}

START_TEST(deadlock_detected)
{
    struct test_table a;
    table_new(&a, NMC_SHM_FILE, NMC_SHM_RECORD_LOCKING, 0);
    arrived = mmap(NULL, sizeof *arrived, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    ck_assert_ptr_ne(arrived, MAP_FAILED);
    int32_t zero = 0;
    ck_assert_ok(nmc_shmtable_add(a.t, 1, &zero, 1));
    /* exactly one of the two is refused; the other completes */
    ck_assert_int_eq(run_children(&a, 2, deadlocking_group), 1);
    int32_t v;
    size_t n;
    ck_assert_ok(nmc_shmtable_find(a.t, 1, &v, 1, &n));
    ck_assert_int_eq(v, 1);
    munmap(arrived, sizeof *arrived);
    table_drop(&a);
}
END_TEST

/* ---- readers never see torn values ---------------------------------------- */

enum { WORDS = 300, ROUNDS = 3000 };

static int writer_or_reader(struct test_table *own, int i)
{
    int32_t v[WORDS];
    size_t n;
    if (i == 0) {
        for (int32_t r = 1; r <= ROUNDS; r++) {
            for (int w = 0; w < WORDS; w++)
                v[w] = r;
            /* alternate lengths so pages are freed and reused; new keys grow it */
            if (nmc_shmtable_replace(own->t, 0, v, r % 2 ? WORDS : WORDS / 2) != NMC_OK ||
                nmc_shmtable_add(own->t, 1000 + r, v, 1) != NMC_OK)
                return 1;
        }
        return 0;
    }
    int bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int rc = nmc_shmtable_find(own->t, 0, v, WORDS, &n);
        if (rc == NMC_ENOT_FOUND)
            continue;
        bad += rc != NMC_OK || (n != WORDS && n != WORDS / 2) || v[n - 1] != v[0];
    }
    return bad > 0;
}

START_TEST(readers_see_whole_values)
{
    struct test_table a;
    table_new(&a, NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 160);
    ck_assert_int_eq(run_children(&a, 3, writer_or_reader), 0);
    assert_checks(a.t);
    table_drop(&a);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("shmtable_procs");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, disjoint_writers, 0, 2);
    tcase_add_test(tc, add_one_exact_counts);
    tcase_add_test(tc, deadlock_detected);
    tcase_add_test(tc, readers_see_whole_values);
    suite_add_tcase(s, tc);
    return s;
}
