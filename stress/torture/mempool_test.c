/* stress/torture/mempool_test.c - torture of one memory pool (nmc/mempool.h).
 *
 * Workers (torture.h: 2 x nproc, one SIGKILLed every 100 ms and restarted)
 * each own SLOTS block slots in a shared table and, by probability:
 * allocate a block of 1..16 pages (sometimes 64) into an empty slot (40 %),
 * free a held one (40 %), verify a held one's size and stamp (10 %), read
 * the statistics (5 %) or run nmc_mempool_check (5 %). Every block carries
 * a stamp (its address, owner and slot, at its start and its end) written
 * before it is recorded and verified before it is freed and at the end, so
 * a block handed out twice shows. Killed inside the pool lock, a worker
 * leaves the next locker NMC_EOWNER_DEAD and the repair of lock.c.
 *
 * Accounting: an alloc or free in flight at a kill (its intent logged)
 * may leave one block allocated and unrecorded (leaked, never handed out
 * twice); nothing else may. At the end: nmc_mempool_check passes, every
 * recorded block has its stamp and size, the pool's used blocks minus the
 * recorded ones is between 0 and the number of kills with an alloc or free
 * in flight, and after freeing the recorded blocks the check passes again.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/mempool.h"
#include "nmc_test.h"
#include "stress.h"
#include "torture.h"

enum { SLOTS = 24, OP_ALLOC = 1, OP_FREE = 2 };

struct worker {
    struct torture_intent intent;
    uint64_t block[SLOTS]; /* address, 0 = empty */
    uint64_t ops;
};

struct shared {
    nmc_mempool *pool;
    size_t page;
    uint32_t in_doubt; /* kills with an alloc or free in flight */
    struct worker w[TORTURE_MAX_WORKERS];
};

static uint64_t stamp_word(uint64_t addr, int w, int slot)
{
    return addr ^ ((uint64_t)w << 48) ^ ((uint64_t)slot << 40) ^ 0x5354414d50ull;
}

static void stamp(struct shared *s, void *mem, size_t size, int w, int slot)
{
    uint64_t *p = mem, v = stamp_word((uint64_t)(uintptr_t)mem, w, slot);
    p[0] = v;
    p[size / 8 - 1] = ~v;
}

/* Whether the block at addr has its stamp and its recorded size. */
static bool stamped(struct shared *s, uint64_t addr, int w, int slot)
{
    size_t size;
    if (nmc_mempool_size_mem(s->pool, (void *)(uintptr_t)addr, &size) != NMC_OK)
        return false;
    const uint64_t *p = (const uint64_t *)(uintptr_t)addr;
    uint64_t v = stamp_word(addr, w, slot);
    return p[0] == v && p[size / 8 - 1] == ~v;
}

/* A new incarnation resolves the killed one's operation. */
static void resolve(struct shared *s, int w)
{
    struct worker *me = &s->w[w];
    if (me->intent.op == OP_FREE)
        me->block[me->intent.a] = 0; /* freed, or leaked: either way not ours */
    /* OP_ALLOC: the slot is recorded only after the stamp; if it is not,
     * the block (if any) leaked. */
    torture_done(&me->intent);
}

static void child(int w, void *ctx)
{
    struct shared *s = ctx;
    struct worker *me = &s->w[w];
    resolve(s, w);
    while (!torture_stopping()) {
        int slot = (int)torture_below(SLOTS), r = (int)torture_below(100);
        uint64_t addr = me->block[slot];
        me->ops++;
        if (r < 40 && addr == 0) {
            size_t pages = torture_below(20) == 0 ? 64 : 1 + torture_below(16);
            void *mem;
            torture_intend(&me->intent, OP_ALLOC, (uint64_t)slot, 0, 0);
            int st = nmc_mempool_alloc(s->pool, pages * s->page, &mem);
            TORTURE_CHECK(st == NMC_OK || st == NMC_EOUT_OF_POOL_MEMORY);
            if (st == NMC_OK) {
                stamp(s, mem, pages * s->page, w, slot);
                __atomic_store_n(&me->block[slot], (uint64_t)(uintptr_t)mem, __ATOMIC_RELEASE);
            }
            torture_done(&me->intent);
        } else if (r < 80 && addr != 0) {
            TORTURE_CHECK(stamped(s, addr, w, slot));
            torture_intend(&me->intent, OP_FREE, (uint64_t)slot, addr, 0);
            TORTURE_CHECK(nmc_mempool_free(s->pool, (void *)(uintptr_t)addr) == NMC_OK);
            me->block[slot] = 0;
            torture_done(&me->intent);
        } else if (r < 90 && addr != 0) {
            TORTURE_CHECK(stamped(s, addr, w, slot));
        } else if (r < 95) {
            struct nmc_mempool_stats st;
            TORTURE_CHECK(nmc_mempool_stats(s->pool, &st) == NMC_OK);
            TORTURE_CHECK(st.free <= st.total && st.contiguous <= st.free);
        } else if (r >= 95) {
            TORTURE_CHECK(nmc_mempool_check(s->pool) == NMC_OK);
        }
    }
}

static void on_kill(int w, void *ctx)
{
    struct shared *s = ctx;
    if (s->w[w].intent.op != 0)
        s->in_doubt++;
}

START_TEST(mempool_torture)
{
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(s, MAP_FAILED);
    memset(s, 0, sizeof *s);
    int workers = torture_default_workers();
    s->page = (size_t)sysconf(_SC_PAGESIZE);
    /* Room for about half of what the workers could hold at once. */
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), (size_t)workers * SLOTS * 6 * s->page,
                                    false, &s->pool));
    ck_assert_ok(nmc_mempool_unlink(s->pool)); /* the children inherit the mapping */
    struct torture_cfg cfg = {
        .seconds = torture_seconds(2.5), .child = child, .on_kill = on_kill, .ctx = s};
    struct torture_result res;
    torture_run(&cfg, &res);
    ck_assert_uint_eq(res.failures, 0);

    ck_assert_ok(nmc_mempool_check(s->pool));
    size_t recorded = 0;
    uint64_t ops = 0;
    for (int w = 0; w < workers; w++) {
        ck_assert_uint_eq(s->w[w].intent.op, 0);
        ops += s->w[w].ops;
        for (int i = 0; i < SLOTS; i++)
            if (s->w[w].block[i] != 0) {
                ck_assert_msg(stamped(s, s->w[w].block[i], w, i),
                              "worker %d slot %d: block lost its stamp", w, i);
                recorded++;
            }
    }
    struct nmc_mempool_stats st;
    ck_assert_ok(nmc_mempool_stats(s->pool, &st));
    ck_assert_uint_ge(st.used_blocks, recorded);
    size_t leaked = st.used_blocks - recorded;
    ck_assert_msg(leaked <= s->in_doubt, "%zu blocks leaked, only %u operations in doubt",
                  leaked, s->in_doubt);
    for (int w = 0; w < workers; w++)
        for (int i = 0; i < SLOTS; i++)
            if (s->w[w].block[i] != 0)
                ck_assert_ok(nmc_mempool_free(s->pool, (void *)(uintptr_t)s->w[w].block[i]));
    ck_assert_ok(nmc_mempool_check(s->pool));
    ck_assert_ok(nmc_mempool_stats(s->pool, &st));
    ck_assert_uint_eq(st.used_blocks, leaked);
    printf("torture mempool: %d workers, %.1f s, %u kills, %llu ops, %zu blocks held, "
           "%zu leaked by %u kills in doubt\n",
           workers, res.seconds, res.kills, (unsigned long long)ops, recorded, leaked,
           s->in_doubt);
    ck_assert_ok(nmc_mempool_destroy(s->pool));
    munmap(s, sizeof *s);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("torture_mempool");
    TCase *tc = tcase_create("torture");
    tcase_set_timeout(tc, (double)stress_timeout() + 60);
    tcase_add_test(tc, mempool_torture);
    suite_add_tcase(s, tc);
    return s;
}
