/* stress/torture/heap_test.c - torture of shared heaps and the data
 * structures on them (nmc/heap.h, hashtbl.h, queue.h, ref.h).
 *
 * One pool holds a hash table, a queue and a ref, each a heap of its own.
 * Workers (torture.h: 2 x nproc, one SIGKILLed every 100 ms and restarted)
 * pick by probability:
 *   hash table  add (15 %), replace (10 %), remove (10 %) of one of the
 *               worker's own KEYS keys; find_c / find_p (15 %) and
 *               find_all_c (5 %) checked against the worker's model
 *   queue       push (15 %) of (worker, serial, text), pop_c (15 %): each
 *               popped message is well formed, counted in a shared table,
 *               and a popper sees each producer's serials increasing (FIFO)
 *   ref         assign (5 %) and deref_c (5 %) of (worker, serial, text)
 *   heap        nmc_heap_gc (2 %) or nmc_heap_check (3 %) of one of the heaps
 * A worker killed inside a modify leaves the next writer NMC_EOWNER_DEAD and
 * the heap's dead-writer check (hp_lock); any status but NMC_OK (NMC_ECORRUPT
 * from a heap declared broken) fails the run.
 *
 * Accounting (intent logs, torture.h): the model of a key is its stack of
 * binding serials. An add / replace / remove logs the old and the new stack
 * first; the next incarnation after a kill reads the key's bindings
 * (find_all_c) and must find exactly one of the two. A push logs its
 * serial: after a kill it may or may not have happened. A pop in flight at
 * a kill may lose one message. At the end: nmc_heap_check of the three
 * heaps and nmc_mempool_check pass; every key's bindings are its model's,
 * the table's length and iteration count the models' bindings; the queue
 * drained, every message pushed was popped exactly once except those whose
 * push was in doubt (zero or once) and at most one per pop in doubt
 * (missing), none twice, none never pushed; the ref holds a well-formed
 * value some worker assigned. After destroying the three structures, the
 * pool's blocks left (leaked by kills) are at most the kills.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/hashtbl.h"
#include "nmc/heap.h"
#include "nmc/mempool.h"
#include "nmc/queue.h"
#include "nmc/ref.h"
#include "nmc_test.h"
#include "stress.h"
#include "torture.h"

enum {
    KEYS = 12,
    DEPTH = 4,
    QSER = 1 << 20,   /* pushes per worker counted               */
    QLEN_MAX = 256,   /* no push beyond this length              */
    OP_KEY = 1,       /* a: key index (b, c unused; see old/new) */
    OP_PUSH = 2,      /* a: serial                               */
    OP_POP = 3,
    OP_ASSIGN = 4,    /* a: serial                               */
    POOL_MB = 64,
};

struct kstate {
    uint32_t depth;
    uint32_t serial[DEPTH]; /* [0] oldest */
};

struct worker {
    struct torture_intent intent;
    struct kstate old, new; /* of the key in intent.a (OP_KEY)     */
    struct kstate key[KEYS];
    uint64_t next_serial;   /* hash table and ref values           */
    uint64_t next_push;     /* queue serials                       */
    uint64_t ops;
};

struct shared {
    nmc_mempool *pool;
    nmc_hashtbl *t;
    nmc_queue *q;
    nmc_sref *r;
    int workers;
    uint32_t pops_in_doubt;
    uint32_t resolved_old, resolved_new; /* key intents after kills */
    struct worker w[TORTURE_MAX_WORKERS];
    /* [w][s]: bits 0-6 times popped (saturating), bit 7 push in doubt */
    uint8_t popped[TORTURE_MAX_WORKERS][QSER];
};

static struct shared *S;

static long key_of(int w, int k)
{
    return (long)w * 1000 + k;
}

static char text_char(uint64_t serial, size_t i)
{
    return (char)('a' + (serial * 7 + i) % 26);
}

/* (a, serial, text of serial % 37 chars) */
static nmc_value make_value(nmc_arena *a, long first, uint64_t serial)
{
    char text[40];
    size_t n = serial % 37;
    for (size_t i = 0; i < n; i++)
        text[i] = text_char(serial, i);
    nmc_value s, v;
    TORTURE_CHECK(nmc_alloc_string(a, text, n, &s) == NMC_OK);
    TORTURE_CHECK(nmc_alloc_tuple(a, 0, 3,
                                  (nmc_value[]){nmc_val_long(first),
                                                nmc_val_long((long)serial), s},
                                  &v) == NMC_OK);
    return v;
}

/* Whether v is a well-formed make_value; *first and *serial its fields. */
static bool well_formed(nmc_value v, long *first, uint64_t *serial)
{
    if (nmc_is_long(v) || nmc_wosize_val(v) != 3 || !nmc_is_long(nmc_field(v, 0)) ||
        !nmc_is_long(nmc_field(v, 1)))
        return false;
    *first = nmc_long_val(nmc_field(v, 0));
    *serial = (uint64_t)nmc_long_val(nmc_field(v, 1));
    nmc_value s = nmc_field(v, 2);
    if (nmc_is_long(s) || nmc_tag_val(s) != NMC_TAG_STRING || nmc_string_length(s) != *serial % 37)
        return false;
    for (size_t i = 0; i < *serial % 37; i++)
        if (nmc_string_val(s)[i] != text_char(*serial, i))
            return false;
    return true;
}

/* The key's bindings, as a kstate (read through find_all_c). */
static void observe(nmc_arena *a, int w, int k, struct kstate *out)
{
    nmc_value list;
    int st = nmc_hashtbl_find_all_c(S->t, nmc_val_long(key_of(w, k)), a, &list);
    if (st != NMC_OK)
        torture_fail("find_all_c: %s", nmc_strerror(st));
    uint32_t newest_first[DEPTH + 1], n = 0;
    for (; !nmc_is_long(list); list = nmc_field(list, 1)) {
        long key;
        uint64_t serial;
        if (n == DEPTH || !well_formed(nmc_field(list, 0), &key, &serial) ||
            key != key_of(w, k))
            torture_fail("worker %d key %d: bad binding (#%u)", w, k, n);
        newest_first[n++] = (uint32_t)serial;
    }
    memset(out, 0, sizeof *out);
    out->depth = n;
    for (uint32_t i = 0; i < n; i++)
        out->serial[i] = newest_first[n - 1 - i];
}

static bool kstate_eq(const struct kstate *x, const struct kstate *y)
{
    return x->depth == y->depth &&
           memcmp(x->serial, y->serial, x->depth * sizeof x->serial[0]) == 0;
}

static void resolve(int w, nmc_arena *a)
{
    struct worker *me = &S->w[w];
    struct torture_intent *in = &me->intent;
    switch (in->op) {
    case OP_KEY: {
        struct kstate now;
        observe(a, w, (int)in->a, &now);
        if (kstate_eq(&now, &me->new))
            __atomic_add_fetch(&S->resolved_new, 1, __ATOMIC_RELAXED);
        else if (kstate_eq(&now, &me->old))
            __atomic_add_fetch(&S->resolved_old, 1, __ATOMIC_RELAXED);
        else
            torture_fail("worker %d key %d: after a kill, neither the old (%u bindings) "
                         "nor the new state (%u bindings) but %u bindings",
                         w, (int)in->a, me->old.depth, me->new.depth, now.depth);
        me->key[in->a] = now;
        break;
    }
    case OP_PUSH:
        S->popped[w][in->a] |= 0x80;
        if (me->next_push <= in->a)
            me->next_push = in->a + 1;
        break;
    case OP_ASSIGN:
        if (me->next_serial <= in->a)
            me->next_serial = in->a + 1;
        break;
    default:
        break;
    }
    torture_done(in);
}

static void key_op(int w, nmc_arena *a, int r)
{
    struct worker *me = &S->w[w];
    int k = (int)torture_below(KEYS);
    struct kstate *cur = &me->key[k];
    nmc_value key = nmc_val_long(key_of(w, k));
    if (r >= 35) { /* read and compare */
        struct kstate now;
        if (r < 50 && cur->depth > 0 && torture_below(2) == 0) {
            nmc_value v;
            long kk;
            uint64_t serial;
            TORTURE_CHECK(nmc_hashtbl_find_c(S->t, key, a, &v) == NMC_OK);
            TORTURE_CHECK(well_formed(v, &kk, &serial) && kk == key_of(w, k) &&
                          serial == cur->serial[cur->depth - 1]);
            return;
        }
        observe(a, w, k, &now);
        TORTURE_CHECK(kstate_eq(&now, cur));
        return;
    }
    me->old = *cur;
    me->new = *cur;
    uint64_t serial = me->next_serial++;
    int st;
    if (r < 15 && cur->depth < DEPTH) {
        me->new.serial[me->new.depth++] = (uint32_t)serial;
        torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
        st = nmc_hashtbl_add(S->t, key, make_value(a, key_of(w, k), serial));
    } else if (r < 25 || cur->depth == 0) {
        if (me->new.depth == 0)
            me->new.depth = 1;
        me->new.serial[me->new.depth - 1] = (uint32_t)serial;
        torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
        st = nmc_hashtbl_replace(S->t, key, make_value(a, key_of(w, k), serial));
    } else {
        me->new.depth--;
        torture_intend(&me->intent, OP_KEY, (uint64_t)k, 0, 0);
        st = nmc_hashtbl_remove(S->t, key);
    }
    if (st != NMC_OK)
        torture_fail("hash table update: %s", nmc_strerror(st));
    *cur = me->new;
    torture_done(&me->intent);
}

static int pinned_check(nmc_value v, void *ctx)
{
    (void)ctx;
    long first;
    uint64_t serial;
    return well_formed(v, &first, &serial) ? NMC_OK : NMC_ECORRUPT;
}

static void child(int w, void *ctx)
{
    (void)ctx;
    struct worker *me = &S->w[w];
    nmc_arena *a;
    TORTURE_CHECK(nmc_arena_create(&a) == NMC_OK);
    resolve(w, a);
    uint64_t last_seen[TORTURE_MAX_WORKERS];
    memset(last_seen, 0xff, sizeof last_seen); /* none yet */
    nmc_heap *heaps[3] = {nmc_hashtbl_heap(S->t), nmc_queue_heap(S->q), nmc_sref_heap(S->r)};
    for (unsigned n = 0; !torture_stopping(); n++) {
        if (n % 64 == 63) {
            nmc_arena_destroy(a);
            TORTURE_CHECK(nmc_arena_create(&a) == NMC_OK);
        }
        int r = (int)torture_below(100);
        me->ops++;
        if (r < 55) {
            key_op(w, a, r);
        } else if (r < 70) {
            uint64_t s = me->next_push;
            if (s >= QSER || nmc_queue_length(S->q) >= QLEN_MAX)
                continue;
            nmc_value v = make_value(a, w, s);
            torture_intend(&me->intent, OP_PUSH, s, 0, 0);
            int st = nmc_queue_push(S->q, v);
            if (st != NMC_OK)
                torture_fail("push: %s", nmc_strerror(st));
            me->next_push = s + 1;
            torture_done(&me->intent);
        } else if (r < 85) {
            nmc_value v;
            torture_intend(&me->intent, OP_POP, 0, 0, 0);
            int st = nmc_queue_pop_c(S->q, a, &v);
            if (st == NMC_OK) {
                long from;
                uint64_t s;
                TORTURE_CHECK(well_formed(v, &from, &s) && from >= 0 && from < S->workers &&
                              s < QSER);
                uint8_t *c = &S->popped[from][s];
                uint8_t old = __atomic_load_n(c, __ATOMIC_RELAXED);
                while ((old & 0x7f) < 0x7f &&
                       !__atomic_compare_exchange_n(c, &old, (uint8_t)(old + 1), false,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                    ;
                if (last_seen[from] != UINT64_MAX && s <= last_seen[from])
                    torture_fail("queue not FIFO: from worker %ld serial %llu after %llu", from,
                                 (unsigned long long)s, (unsigned long long)last_seen[from]);
                last_seen[from] = s;
            } else if (st != NMC_EEMPTY) {
                torture_fail("pop: %s", nmc_strerror(st));
            }
            torture_done(&me->intent);
        } else if (r < 90) {
            uint64_t s = me->next_serial++;
            torture_intend(&me->intent, OP_ASSIGN, s, 0, 0);
            int st = nmc_sref_assign(S->r, make_value(a, w, s));
            if (st != NMC_OK)
                torture_fail("assign: %s", nmc_strerror(st));
            torture_done(&me->intent);
        } else if (r < 95) {
            nmc_value v;
            long first;
            uint64_t s;
            if (torture_below(2) == 0) {
                TORTURE_CHECK(nmc_sref_deref_c(S->r, a, &v) == NMC_OK);
                TORTURE_CHECK(v == nmc_val_long(0) || well_formed(v, &first, &s));
            } else {
                int st = nmc_sref_deref_p(S->r, pinned_check, NULL);
                TORTURE_CHECK(st == NMC_OK || st == NMC_ECORRUPT);
            }
        } else if (r < 97) {
            int st = nmc_heap_gc(heaps[torture_below(3)]);
            if (st != NMC_OK)
                torture_fail("gc: %s", nmc_strerror(st));
        } else {
            int st = nmc_heap_check(heaps[torture_below(3)]);
            if (st != NMC_OK)
                torture_fail("heap check: %s", nmc_strerror(st));
        }
    }
    nmc_arena_destroy(a);
}

static void on_kill(int w, void *ctx)
{
    (void)ctx;
    if (S->w[w].intent.op == OP_POP)
        S->pops_in_doubt++;
}

static int count_binding(nmc_value key, nmc_value data, void *ctx)
{
    long k, first;
    uint64_t serial;
    if (!nmc_is_long(key) || !well_formed(data, &first, &serial) ||
        first != (k = nmc_long_val(key)))
        return NMC_ECORRUPT;
    ++*(size_t *)ctx;
    return NMC_OK;
}

START_TEST(heap_torture)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
    int workers = S->workers = torture_default_workers();
    ck_assert_ok(nmc_mempool_create(nmc_test_prefix(), (size_t)POOL_MB << 20, false, &S->pool));
    ck_assert_ok(nmc_mempool_unlink(S->pool)); /* the children inherit the mapping */
    ck_assert_ok(nmc_hashtbl_create(S->pool, 7, nmc_val_long(0), &S->t));
    ck_assert_ok(nmc_queue_create(S->pool, nmc_val_long(0), &S->q));
    ck_assert_ok(nmc_sref_create(S->pool, nmc_val_long(0), &S->r));
    struct torture_cfg cfg = {
        .seconds = torture_seconds(2.5), .child = child, .on_kill = on_kill, .ctx = S};
    struct torture_result res;
    torture_run(&cfg, &res);
    ck_assert_uint_eq(res.failures, 0);

    nmc_heap *heaps[3] = {nmc_hashtbl_heap(S->t), nmc_queue_heap(S->q), nmc_sref_heap(S->r)};
    for (int i = 0; i < 3; i++)
        ck_assert_ok(nmc_heap_check(heaps[i]));
    ck_assert_ok(nmc_mempool_check(S->pool));

    /* Bindings. */
    nmc_arena *a;
    ck_assert_ok(nmc_arena_create(&a));
    size_t bindings = 0;
    uint64_t ops = 0;
    for (int w = 0; w < workers; w++) {
        ck_assert_uint_eq(S->w[w].intent.op, 0);
        ops += S->w[w].ops;
        for (int k = 0; k < KEYS; k++) {
            nmc_value list;
            ck_assert_ok(nmc_hashtbl_find_all_c(S->t, nmc_val_long(key_of(w, k)), a, &list));
            struct kstate *m = &S->w[w].key[k];
            for (uint32_t i = m->depth; i-- > 0; list = nmc_field(list, 1)) {
                long first;
                uint64_t serial;
                ck_assert_msg(!nmc_is_long(list), "worker %d key %d: binding missing", w, k);
                ck_assert(well_formed(nmc_field(list, 0), &first, &serial));
                ck_assert_msg(first == key_of(w, k) && serial == m->serial[i],
                              "worker %d key %d binding %u: serial %llu, model %u", w, k, i,
                              (unsigned long long)serial, m->serial[i]);
            }
            ck_assert_msg(list == nmc_val_long(0), "worker %d key %d: extra binding", w, k);
            bindings += m->depth;
        }
    }
    size_t iterated = 0;
    ck_assert_ok(nmc_hashtbl_iter(S->t, count_binding, &iterated));
    ck_assert_uint_eq(iterated, bindings);
    ck_assert_uint_eq(nmc_hashtbl_length(S->t), bindings);

    /* Messages: drain, then account. */
    size_t left = 0;
    for (nmc_value v; nmc_queue_pop_c(S->q, a, &v) == NMC_OK; left++) {
        long from;
        uint64_t s;
        ck_assert(well_formed(v, &from, &s) && from >= 0 && from < workers && s < QSER);
        S->popped[from][s]++;
    }
    size_t pushed = 0, missing = 0, doubtful = 0;
    for (int w = 0; w < workers; w++) {
        for (uint64_t s = 0; s < QSER; s++) {
            uint8_t c = S->popped[w][s] & 0x7f;
            bool doubt = S->popped[w][s] & 0x80;
            if (s >= S->w[w].next_push) {
                ck_assert_msg(c == 0, "worker %d serial %llu popped but never pushed", w,
                              (unsigned long long)s);
                continue;
            }
            ck_assert_msg(c <= 1, "worker %d serial %llu popped %u times", w,
                          (unsigned long long)s, c);
            pushed += !doubt;
            doubtful += doubt;
            missing += c == 0 && !doubt;
        }
    }
    ck_assert_msg(missing <= S->pops_in_doubt, "%zu messages lost, only %u pops in doubt",
                  missing, S->pops_in_doubt);

    /* The ref. */
    nmc_value v;
    ck_assert_ok(nmc_sref_deref_c(S->r, a, &v));
    if (v != nmc_val_long(0)) {
        long w;
        uint64_t s;
        ck_assert(well_formed(v, &w, &s) && w >= 0 && w < workers);
        ck_assert_uint_lt(s, S->w[w].next_serial);
    }
    nmc_arena_destroy(a);
    for (int i = 0; i < 3; i++)
        ck_assert_ok(nmc_heap_check(heaps[i]));

    ck_assert_ok(nmc_hashtbl_destroy(S->t));
    ck_assert_ok(nmc_queue_destroy(S->q));
    ck_assert_ok(nmc_sref_destroy(S->r));
    ck_assert_ok(nmc_mempool_check(S->pool));
    struct nmc_mempool_stats st;
    ck_assert_ok(nmc_mempool_stats(S->pool, &st));
    ck_assert_msg(st.used_blocks <= res.kills, "%zu pool blocks left after %u kills",
                  st.used_blocks, res.kills);
    printf("torture heap: %d workers, %.1f s, %u kills, %llu ops; %zu bindings "
           "(after kills: %u old, %u new); %zu messages pushed, %zu in doubt, %zu left in "
           "the queue, %zu lost by %u pops in doubt; %zu pool blocks leaked\n",
           workers, res.seconds, res.kills, (unsigned long long)ops, bindings, S->resolved_old,
           S->resolved_new, pushed, doubtful, left, missing, S->pops_in_doubt, st.used_blocks);
    ck_assert_ok(nmc_mempool_destroy(S->pool));
    munmap(S, sizeof *S);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("torture_heap");
    TCase *tc = tcase_create("torture");
    tcase_set_timeout(tc, (double)stress_timeout() + 60);
    tcase_add_test(tc, heap_torture);
    suite_add_tcase(s, tc);
    return s;
}
