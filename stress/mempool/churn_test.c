/* stress/mempool/churn_test.c - many processes allocating and freeing at
 * random in one pool, one of them killed on the way.
 *
 * Workers (2 per CPU, at least 4) run for NMC_STRESS_SECONDS (default 1):
 * each keeps up to 16 blocks of 1..32 pages; at each step it frees a held
 * block (after verifying the pattern it wrote: its worker number and a
 * sequence number in every page, so a block handed out twice shows) or
 * allocates a new one (60 % when it holds fewer than 16). One worker is
 * SIGKILLed halfway, possibly inside the pool lock: the others must carry
 * on through the dead-owner repair. At the end the pool passes
 * nmc_mempool_check, and freeing the killed worker's leftovers is not
 * needed for that. One parseable summary line is printed.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/mempool.h"
#include "nmc_test.h"
#include "stress.h"

enum { HELD = 16, MAX_PAGES = 32, POOL_PAGES = 2048 };

/* Per-page stamp a worker writes into its blocks. */
struct stamp {
    uint32_t worker; /* who owns the block  */
    uint32_t seq;    /* which allocation    */
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static void stamp_block(char *b, size_t pages, struct stamp st)
{
    for (size_t i = 0; i < pages; i++)
        memcpy(b + i * nmc_sys_pagesize(), &st, sizeof st);
}

static bool stamp_ok(const char *b, size_t pages, struct stamp st)
{
    for (size_t i = 0; i < pages; i++)
        if (memcmp(b + i * nmc_sys_pagesize(), &st, sizeof st) != 0)
            return false;
    return true;
}

/* One worker's loop; returns its exit code (0, or the failed step). */
static int worker(nmc_mempool *pool, uint32_t id, double seconds)
{
    struct {
        char *mem;    /* block, NULL if the slot is empty */
        size_t pages; /* its size                          */
        uint32_t seq; /* its stamp                         */
    } held[HELD] = {{0}};
    uint64_t r = 0x9e3779b97f4a7c15ULL * (id + 1);
    uint32_t seq = 0;
    struct timespec end;
    nmc_deadline_in(seconds, &end);
    while (!nmc_deadline_passed(&end)) {
        for (int step = 0; step < 256; step++) {
            int k = (int)(rnd(&r) % HELD);
            if (held[k].mem != NULL && rnd(&r) % 100 >= 60) {
                if (!stamp_ok(held[k].mem, held[k].pages, (struct stamp){id, held[k].seq}))
                    return 1;
                if (nmc_mempool_free(pool, held[k].mem) != NMC_OK)
                    return 2;
                held[k].mem = NULL;
            } else if (held[k].mem == NULL) {
                size_t pages = 1 + rnd(&r) % MAX_PAGES;
                int st = nmc_mempool_alloc(pool, pages * nmc_sys_pagesize(), (void **)&held[k].mem);
                if (st == NMC_EOUT_OF_POOL_MEMORY)
                    continue;
                if (st != NMC_OK)
                    return 3;
                held[k].pages = pages;
                held[k].seq = ++seq;
                stamp_block(held[k].mem, pages, (struct stamp){id, seq});
            }
        }
    }
    for (int k = 0; k < HELD; k++)
        if (held[k].mem != NULL && nmc_mempool_free(pool, held[k].mem) != NMC_OK)
            return 4;
    return 0;
}

START_TEST(churn_with_a_killed_worker)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = cpus > 2 ? (int)(2 * cpus) : 4;
    double seconds = stress_seconds() > 0 ? stress_seconds() : 1.0; /* short form: 1 s */
    nmc_mempool *pool;
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), POOL_PAGES * nmc_sys_pagesize(),
                                    false, &pool));
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    for (int i = 0; i < workers; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            _exit(worker(pool, (uint32_t)i, seconds));
    }
    usleep((useconds_t)(seconds * 5e5));
    kill(pids[0], SIGKILL);
    int failed = 0;
    for (int i = 0; i < workers; i++) {
        int ws;
        ck_assert_int_eq(waitpid(pids[i], &ws, 0), pids[i]);
        if (i == 0)
            ck_assert_msg(WIFSIGNALED(ws) || (WIFEXITED(ws) && WEXITSTATUS(ws) == 0),
                          "killed worker: status %#x", ws);
        else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
            failed++, fprintf(stderr, "worker %d: status %#x\n", i, ws);
    }
    ck_assert_int_eq(failed, 0);
    ck_assert_ok(nmc_mempool_check(pool));
    struct nmc_mempool_stats s;
    ck_assert_ok(nmc_mempool_stats(pool, &s));
    printf("stress mempool churn: workers=%d seconds=%.1f leaked_blocks=%zu "
           "free_bytes=%zu total_bytes=%zu check=ok\n",
           workers, seconds, s.used_blocks, s.free, s.total);
    ck_assert_uint_le(s.used_blocks, HELD); /* only the killed worker's */
    free(pids);
    ck_assert_ok(nmc_mempool_destroy(pool));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mempool_churn");
    TCase *tc = tcase_create("churn");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, churn_with_a_killed_worker);
    suite_add_tcase(s, tc);
    return s;
}
