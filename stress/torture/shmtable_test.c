/* stress/torture/shmtable_test.c - torture of a shared table (nmc/shmtable.h).
 *
 * One POSIX shm table; workers (torture.h: 2 x nproc, one SIGKILLed every
 * 100 ms and restarted) open their own descriptor in each incarnation
 * (record locking) and, on KEYS keys of their own, by probability: add
 * (15 %), replace (10 %), remove (10 %), a group of remove + add (5 %),
 * find (25 %) and find_all (20 %) checked against their model, length
 * (10 %), nmc_shmtable_check (5 %). Values are 1..150 words (one to three
 * pages), word 0 the serial, word i serial * 31 + i.
 *
 * Accounting (intent logs, torture.h): the model of a key is its stack of
 * serials; a mutation logs the old and new stacks first, and after a kill
 * the next incarnation must observe exactly one of them (or, for a group,
 * the state between its remove and its add: a group is not a
 * transaction). The first access after a kill repairs what the dead
 * writer left (nmc/shmtable.h, "Writers that die"). At the end:
 * nmc_shmtable_check passes, every key's bindings are its model's, the
 * length is the models' total, and the object is removed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/shmtable.h"
#include "nmc_test.h"
#include "stress.h"
#include "torture.h"

enum { KEYS = 12, DEPTH = 4, MAXLEN = 150, OP_KEY = 1, GROUP = 1 /* intent.b */ };

struct kstate {
    uint32_t depth;
    uint32_t serial[DEPTH]; /* [0] oldest */
};

struct worker {
    struct torture_intent intent;
    struct kstate old, new;
    struct kstate key[KEYS];
    uint32_t next_serial;
    uint64_t ops;
};

struct shared {
    char name[128];
    uint32_t resolved_old, resolved_new, resolved_between;
    struct worker w[TORTURE_MAX_WORKERS];
};

static struct shared *S;

static int32_t key_of(int w, int k)
{
    return w * 1000 + k;
}

static size_t fill(uint32_t serial, int32_t *v)
{
    size_t n = 1 + serial % MAXLEN;
    v[0] = (int32_t)serial;
    for (size_t i = 1; i < n; i++)
        v[i] = (int32_t)(serial * 31 + i);
    return n;
}

struct obs {
    struct kstate newest_first;
    bool bad;
};

static int collect(int32_t key, const int32_t *value, size_t len, void *user)
{
    (void)key;
    struct obs *o = user;
    int32_t want[MAXLEN];
    if (o->newest_first.depth == DEPTH || len == 0 || fill((uint32_t)value[0], want) != len ||
        memcmp(want, value, len * sizeof *value) != 0) {
        o->bad = true;
        return 1;
    }
    o->newest_first.serial[o->newest_first.depth++] = (uint32_t)value[0];
    return 0;
}

static bool observe(nmc_shmtable *t, int32_t key, struct kstate *out)
{
    struct obs o = {0};
    int st = nmc_shmtable_find_all(t, key, collect, &o);
    if (st != NMC_OK || o.bad) {
        struct nmc_shmtable_fault f;
        nmc_shmtable_last_fault(t, &f);
        fprintf(stderr, "observe key %d: %s%s (fault: page %u, %s)\n", (int)key,
                nmc_strerror(st), o.bad ? ", a bad value" : "", f.page, f.field ? f.field : "-");
        return false;
    }
    memset(out, 0, sizeof *out);
    out->depth = o.newest_first.depth;
    for (uint32_t i = 0; i < out->depth; i++)
        out->serial[i] = o.newest_first.serial[out->depth - 1 - i];
    return true;
}

static bool kstate_eq(const struct kstate *x, const struct kstate *y)
{
    return x->depth == y->depth &&
           memcmp(x->serial, y->serial, x->depth * sizeof x->serial[0]) == 0;
}

struct group_arg {
    int32_t key;
    int32_t *v;
    size_t n;
};

static int remove_add(nmc_shmtable *t, void *p)
{
    struct group_arg *g = p;
    int st = nmc_shmtable_remove(t, g->key);
    return st != NMC_OK ? st : nmc_shmtable_add(t, g->key, g->v, g->n);
}

static void child(int w, void *ctx)
{
    (void)ctx;
    struct worker *me = &S->w[w];
    nmc_shm_name name = {NMC_SHM_POSIX, S->name};
    nmc_shm_descr *d;
    nmc_shmtable *t;
    TORTURE_CHECK(nmc_shm_open(&name, O_RDWR, 0600, false, &d) == NMC_OK);
    int st = nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t);
    if (st != NMC_OK)
        torture_fail("manage: %s", nmc_strerror(st));
    if (me->intent.op == OP_KEY) {
        struct kstate now;
        TORTURE_CHECK(observe(t, key_of(w, (int)me->intent.a), &now));
        /* A group is not a transaction: killed between its remove and its
         * add, it leaves the remove done. */
        struct kstate between = me->old;
        between.depth -= me->intent.b == GROUP && between.depth > 0;
        if (kstate_eq(&now, &me->new))
            __atomic_add_fetch(&S->resolved_new, 1, __ATOMIC_RELAXED);
        else if (kstate_eq(&now, &me->old))
            __atomic_add_fetch(&S->resolved_old, 1, __ATOMIC_RELAXED);
        else if (me->intent.b == GROUP && kstate_eq(&now, &between))
            __atomic_add_fetch(&S->resolved_between, 1, __ATOMIC_RELAXED);
        else
            torture_fail("worker %d key %d: after a kill neither old nor new state", w,
                         (int)me->intent.a);
        me->key[me->intent.a] = now;
    }
    torture_done(&me->intent);
    int32_t v[MAXLEN];
    while (!torture_stopping()) {
        int k = (int)torture_below(KEYS), r = (int)torture_below(100);
        int32_t key = key_of(w, k);
        struct kstate *cur = &me->key[k];
        me->ops++;
        if (r < 40) {
            me->old = *cur;
            me->new = *cur;
            uint32_t serial = me->next_serial++;
            size_t n = fill(serial, v);
            struct group_arg g = {key, v, n};
            if (r < 15 && cur->depth < DEPTH) {
                me->new.serial[me->new.depth++] = serial;
                torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
                st = nmc_shmtable_add(t, key, v, n);
            } else if (r < 25 || cur->depth == 0) {
                if (me->new.depth == 0)
                    me->new.depth = 1;
                me->new.serial[me->new.depth - 1] = serial;
                torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
                st = nmc_shmtable_replace(t, key, v, n);
            } else if (r < 35) {
                me->new.depth--;
                torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
                st = nmc_shmtable_remove(t, key);
            } else {
                me->new.serial[me->new.depth - 1] = serial;
                torture_intend(&me->intent, OP_KEY, (uint64_t)k, GROUP, 0);
                st = nmc_shmtable_group(t, remove_add, &g);
            }
            if (st != NMC_OK)
                torture_fail("update: %s", nmc_strerror(st));
            *cur = me->new;
            torture_done(&me->intent);
        } else if (r < 65) {
            size_t len;
            st = nmc_shmtable_find(t, key, v, MAXLEN, &len);
            if (cur->depth == 0) {
                TORTURE_CHECK(st == NMC_ENOT_FOUND);
            } else {
                int32_t want[MAXLEN];
                size_t n = fill(cur->serial[cur->depth - 1], want);
                TORTURE_CHECK(st == NMC_OK && len == n && memcmp(v, want, n * sizeof *v) == 0);
            }
        } else if (r < 85) {
            struct kstate now;
            TORTURE_CHECK(observe(t, key, &now) && kstate_eq(&now, cur));
        } else if (r < 95) {
            size_t n;
            TORTURE_CHECK(nmc_shmtable_length(t, &n) == NMC_OK);
        } else {
            struct nmc_shmtable_fault f = {0};
            st = nmc_shmtable_check(t, &f);
            if (st != NMC_OK)
                torture_fail("check: %s at page %u field %s", nmc_strerror(st), f.page,
                             f.field ? f.field : "?");
        }
    }
    nmc_shmtable_close(t);
    nmc_shm_close(d);
}

START_TEST(shmtable_torture)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
    int workers = torture_default_workers();
    snprintf(S->name, sizeof S->name, "/%s_sttorture", nmc_test_prefix());
    nmc_shm_name name = {NMC_SHM_POSIX, S->name};
    nmc_shm_descr *d;
    nmc_shmtable *t;
    ck_assert_ok(nmc_shm_open(&name, O_RDWR | O_CREAT | O_EXCL, 0600, false, &d));
    ck_assert_ok(nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, 64, &t));
    nmc_shmtable_close(t);
    nmc_shm_close(d);
    struct torture_cfg cfg = {.seconds = torture_seconds(2.5), .child = child, .ctx = S};
    struct torture_result res;
    torture_run(&cfg, &res);

    ck_assert_ok(nmc_shm_open(&name, O_RDWR, 0600, false, &d));
    ck_assert_ok(nmc_shm_unlink(&name));
    ck_assert_uint_eq(res.failures, 0);
    ck_assert_ok(nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t));
    struct nmc_shmtable_fault f = {0};
    int st = nmc_shmtable_check(t, &f);
    ck_assert_msg(st == NMC_OK, "check: %s at page %u field %s", nmc_strerror(st), f.page,
                  f.field ? f.field : "?");
    size_t bindings = 0, length;
    uint64_t ops = 0;
    for (int w = 0; w < workers; w++) {
        ck_assert_uint_eq(S->w[w].intent.op, 0);
        ops += S->w[w].ops;
        for (int k = 0; k < KEYS; k++) {
            struct kstate now;
            ck_assert_msg(observe(t, key_of(w, k), &now), "worker %d key %d unreadable", w, k);
            ck_assert_msg(kstate_eq(&now, &S->w[w].key[k]), "worker %d key %d: %u bindings, "
                          "model %u", w, k, now.depth, S->w[w].key[k].depth);
            bindings += now.depth;
        }
    }
    ck_assert_ok(nmc_shmtable_length(t, &length));
    ck_assert_uint_eq(length, bindings);
    printf("torture shmtable: %d workers, %.1f s, %u kills, %llu ops; %zu bindings (after "
           "kills: %u old, %u new, %u between a group's two operations)\n",
           workers, res.seconds, res.kills, (unsigned long long)ops, bindings, S->resolved_old,
           S->resolved_new, S->resolved_between);
    nmc_shmtable_close(t);
    nmc_shm_close(d);
    munmap(S, sizeof *S);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("torture_shmtable");
    TCase *tc = tcase_create("torture");
    tcase_set_timeout(tc, (double)stress_timeout() + 60);
    tcase_add_test(tc, shmtable_torture);
    suite_add_tcase(s, tc);
    return s;
}
