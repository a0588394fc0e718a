/* stress/mempool/overcommit_test.c - a pool larger than its tmpfs never
 * raises SIGBUS.
 *
 * Each case runs in a child that makes a private mount namespace
 * (unshare(CLONE_NEWNS), / made MS_REC|MS_PRIVATE) and mounts a 4 MiB tmpfs
 * over /dev/shm, then creates 64 MiB pools there:
 *   control       a raw ftruncate'd shm mapping of 64 MiB, written past
 *                 4 MiB, dies of SIGBUS: proof that the environment
 *                 reproduces the hazard the other cases avoid.
 *   alloc_really  create commits everything: NMC_ENOSPC from create; a
 *                 pool that fits is then usable to its last page.
 *   lazy          create succeeds; one-page blocks allocated and written
 *                 until failure end with NMC_ENOSPC (not a signal), the pool
 *                 passes its check, and freed pages are reused.
 *   lazy_big      one 8 MiB allocation fails with NMC_ENOSPC and leaves
 *                 the pool as it was.
 * A case's child reports through its exit status (0 = as expected, else
 * the number of the failed step); dying of a signal fails the case.
 *
 * Making the namespace needs root (CAP_SYS_ADMIN). Without it the suite
 * prints a SKIP line and registers no case, so nothing counts as passed.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/mempool.h"
#include "nmc_test.h"

enum { MiB = 1 << 20, POOL_BYTES = 64 * MiB };

/* In a fresh child: private mount namespace with a 4 MiB /dev/shm.
 * Returns 0, or -1 with errno set. */
static int small_shm(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    return mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=4m,mode=1777");
}

/* Runs body in a child inside the small /dev/shm; returns the wait status. */
static int run_in_small_shm(int (*body)(void))
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        if (small_shm() != 0) {
            fprintf(stderr, "overcommit: namespace: %s\n", strerror(errno));
            _exit(100);
        }
        _exit(body());
    }
    int ws;
    ck_assert_int_eq(waitpid(child, &ws, 0), child);
    return ws;
}

/* Asserts the child exited 0 (no signal, every step as expected). */
static void expect_clean_exit(int (*body)(void))
{
    int ws = run_in_small_shm(body);
    ck_assert_msg(!WIFSIGNALED(ws), "killed by signal %d", WTERMSIG(ws));
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "failed at step %d",
                  WEXITSTATUS(ws));
}

/* ---- control ------------------------------------------------------------- */

static int raw_mapping_body(void)
{
    int fd;
    char name[NMC_SHM_NAME_MAX];
    void *p;
    if (nmc_sys_shm_create(nmc_test_prefix(), POOL_BYTES, &fd, name) != NMC_OK ||
        nmc_sys_map(fd, POOL_BYTES, 0, NULL, false, &p) != NMC_OK)
        return 1;
    signal(SIGBUS, SIG_DFL); /* the default fate, not a sanitizer's report */
    memset(p, 1, POOL_BYTES); /* must die here */
    return 2;
}

/* The raw mapping is written from a grandchild so that its SIGBUS is the
 * observation, not the failure. */
static int control_body(void)
{
    pid_t child = fork();
    if (child < 0)
        return 3;
    if (child == 0)
        _exit(raw_mapping_body());
    int ws;
    if (waitpid(child, &ws, 0) != child)
        return 4;
    if (!WIFSIGNALED(ws) || WTERMSIG(ws) != SIGBUS) {
        fprintf(stderr, "control: expected SIGBUS, got status %#x\n", ws);
        return 5;
    }
    return 0;
}

START_TEST(control_raw_mapping_dies_of_sigbus)
{
    expect_clean_exit(control_body);
}
END_TEST

/* ---- pools --------------------------------------------------------------- */

/* Allocates one-page blocks and writes each fully until alloc fails;
 * returns that status and the count in *n. */
static int fill_and_touch(nmc_mempool *pool, void **blocks, size_t max, size_t *n)
{
    size_t ps = nmc_sys_pagesize();
    for (*n = 0; *n < max; (*n)++) {
        int st = nmc_mempool_alloc(pool, ps, &blocks[*n]);
        if (st != NMC_OK)
            return st;
        memset(blocks[*n], 0x5a, ps);
    }
    return NMC_OK;
}

static int alloc_really_body(void)
{
    nmc_mempool *pool;
    if (nmc_mempool_create(nmc_test_prefix(), POOL_BYTES, true, &pool) != NMC_ENOSPC)
        return 1;
    if (nmc_test_shm_count(nmc_test_prefix()) != 0)
        return 2; /* a failed create leaves nothing */
    if (nmc_mempool_create(nmc_test_prefix(), 2 * MiB, true, &pool) != NMC_OK)
        return 3;
    static void *blocks[2 * MiB / 4096 + 1];
    size_t n;
    if (fill_and_touch(pool, blocks, 2 * MiB / nmc_sys_pagesize() + 1, &n) !=
            NMC_EOUT_OF_POOL_MEMORY ||
        n != 2 * MiB / nmc_sys_pagesize())
        return 4;
    if (nmc_mempool_check(pool) != NMC_OK || nmc_mempool_destroy(pool) != NMC_OK)
        return 5;
    return 0;
}

START_TEST(alloc_really_fails_at_create)
{
    expect_clean_exit(alloc_really_body);
}
END_TEST

static int lazy_body(void)
{
    size_t ps = nmc_sys_pagesize(), max = POOL_BYTES / ps;
    nmc_mempool *pool;
    if (nmc_mempool_create(nmc_test_prefix(), POOL_BYTES, false, &pool) != NMC_OK)
        return 1;
    void **blocks = calloc(max, sizeof *blocks);
    size_t n;
    if (blocks == NULL || fill_and_touch(pool, blocks, max, &n) != NMC_ENOSPC)
        return 2;
    fprintf(stderr, "lazy: %zu pages of 4 MiB tmpfs handed out before NMC_ENOSPC\n", n);
    if (n == 0 || n * ps > 4 * MiB || nmc_mempool_check(pool) != NMC_OK)
        return 3;
    for (size_t i = 0; i < n; i += 2) /* committed pages come back */
        if (nmc_mempool_free(pool, blocks[i]) != NMC_OK)
            return 4;
    for (size_t i = 0; i < n; i += 2) {
        if (nmc_mempool_alloc(pool, ps, &blocks[i]) != NMC_OK)
            return 5;
        memset(blocks[i], 0xa5, ps);
    }
    if (nmc_mempool_check(pool) != NMC_OK || nmc_mempool_destroy(pool) != NMC_OK)
        return 6;
    free(blocks);
    return 0;
}

START_TEST(lazy_fails_at_alloc)
{
    expect_clean_exit(lazy_body);
}
END_TEST

static int lazy_big_body(void)
{
    nmc_mempool *pool;
    if (nmc_mempool_create(nmc_test_prefix(), POOL_BYTES, false, &pool) != NMC_OK)
        return 1;
    void *m;
    if (nmc_mempool_alloc(pool, 8 * MiB, &m) != NMC_ENOSPC)
        return 2;
    struct nmc_mempool_stats s;
    if (nmc_mempool_stats(pool, &s) != NMC_OK || s.free != s.total || s.used_blocks != 0)
        return 3;
    if (nmc_mempool_alloc(pool, MiB, &m) != NMC_OK)
        return 4;
    memset(m, 1, MiB);
    if (nmc_mempool_check(pool) != NMC_OK || nmc_mempool_destroy(pool) != NMC_OK)
        return 5;
    return 0;
}

START_TEST(lazy_big_alloc_leaves_pool_unchanged)
{
    expect_clean_exit(lazy_big_body);
}
END_TEST

/* True if this process may make the namespace (tried in a child). */
static bool namespace_possible(void)
{
    pid_t child = fork();
    if (child < 0)
        return false;
    if (child == 0)
        _exit(small_shm() == 0 ? 0 : errno);
    int ws;
    if (waitpid(child, &ws, 0) != child || !WIFEXITED(ws))
        return false;
    if (WEXITSTATUS(ws) != 0)
        printf("SKIP: stress/mempool overcommit: cannot mount a private tmpfs over "
               "/dev/shm (%s; needs root)\n", strerror(WEXITSTATUS(ws)));
    return WEXITSTATUS(ws) == 0;
}

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mempool_overcommit");
    if (!namespace_possible())
        return s;
    TCase *tc = tcase_create("overcommit");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, control_raw_mapping_dies_of_sigbus);
    tcase_add_test(tc, alloc_really_fails_at_create);
    tcase_add_test(tc, lazy_fails_at_alloc);
    tcase_add_test(tc, lazy_big_alloc_leaves_pool_unchanged);
    suite_add_tcase(s, tc);
    return s;
}
