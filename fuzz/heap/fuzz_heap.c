/* Fuzz target: sequences of shared data-structure operations on heaps
 * (nmc/heap.h, hashtbl.h, queue.h, ref.h) in one process, checked against
 * a process-local model.
 *
 * Input: byte 0 picks the hash table's initial buckets (1..8: growth comes
 * early) and byte 1 the heaps' free percentage, then one operation per 3
 * bytes (op, a, b). Keys are 24 ints and 8 strings (a % 32); values are
 * built in an arena from (b, the operation's number): an int, a string, a
 * (int, string, float) tuple, an int list, or a block sharing one string
 * twice (shape b % 5; the size grows with b / 5).
 *   hashtbl: add, replace, remove, find (ro, c, p, mem), find_all (c, ro),
 *            clear, length / iter
 *   queue:   push, pop (c or p), top (c), length, clear, iter
 *   ref:     assign, deref (c, p, ro)
 *   gc of one of the three heaps, heap_check of all three
 * Model: each key's stack of bindings, the queue's list and the ref's value
 * (the arena's values, compared with nmc_compare and nmc_isomorphic).
 * Oracles: every status and every value is the model's; the table's length
 * and iteration agree with the model; nmc_heap_check passes on the heap
 * written after every operation and on all three at the end; after the
 * three structures are destroyed the pool holds no block (nothing leaked).
 */
#include <stdio.h>
#include <string.h>

#include "decoder.h"
#include "nmc/hashtbl.h"
#include "nmc/heap.h"
#include "nmc/mempool.h"
#include "nmc/queue.h"
#include "nmc/ref.h"
#include "nmc/status.h"

enum { NKEYS = 32, STACK = 24, QCAP = 256, MAX_OPS = 200, POOL = 8 << 20 };

struct model {
    nmc_value key[NKEYS];
    nmc_value stack[NKEYS][STACK]; /* [0] oldest               */
    unsigned depth[NKEYS];
    size_t bindings;
    nmc_value q[QCAP];
    size_t qhead, qtail;           /* q[qhead .. qtail)         */
    nmc_value ref;
};

static nmc_value make_value(nmc_arena *a, unsigned b, unsigned seq)
{
    unsigned size = b / 5;
    nmc_value v = NMC_VAL_UNIT, s, d;
    char text[64];
    for (unsigned i = 0; i < size && i < sizeof text; i++)
        text[i] = (char)('a' + (seq + i) % 26);
    switch (b % 5) {
    case 0:
        return nmc_val_long((long)seq * 1000 + b);
    case 1:
        FUZZ_CHECK(nmc_alloc_string(a, text, size < sizeof text ? size : sizeof text, &s) ==
                   NMC_OK);
        return s;
    case 2:
        FUZZ_CHECK(nmc_alloc_string(a, text, size % 17, &s) == NMC_OK);
        FUZZ_CHECK(nmc_alloc_double(a, seq * 0.25, &d) == NMC_OK);
        FUZZ_CHECK(nmc_alloc_tuple(a, 0, 3, (nmc_value[]){nmc_val_long(seq), s, d}, &v) ==
                   NMC_OK);
        return v;
    case 3:
        for (unsigned i = 0; i < size; i++)
            FUZZ_CHECK(nmc_alloc_tuple(a, 0, 2, (nmc_value[]){nmc_val_long(seq + i), v}, &v) ==
                       NMC_OK);
        return v;
    default:
        FUZZ_CHECK(nmc_alloc_string(a, text, size % 9, &s) == NMC_OK);
        FUZZ_CHECK(nmc_alloc_tuple(a, (unsigned)size % 3, 2, (nmc_value[]){s, s}, &v) == NMC_OK);
        return v;
    }
}

static bool same(nmc_value a, nmc_value b)
{
    int c;
    bool iso;
    if (nmc_is_long(a) || nmc_is_long(b))
        return a == b;
    return nmc_compare(a, b, &c) == NMC_OK && c == 0 && nmc_isomorphic(a, b, &iso) == NMC_OK &&
           iso;
}

struct ctx {
    struct model *m;
    nmc_value want;
    int calls;
    size_t count;
};

static int expect_fn(nmc_value v, void *p)
{
    struct ctx *c = p;
    FUZZ_CHECK(same(v, c->want));
    c->calls++;
    return NMC_OK;
}

static int iter_fn(nmc_value key, nmc_value data, void *p)
{
    struct ctx *c = p;
    /* data must be one of key's bindings in the model. */
    bool found = false;
    for (unsigned k = 0; k < NKEYS && !found; k++)
        if (same(key, c->m->key[k]))
            for (unsigned i = 0; i < c->m->depth[k] && !found; i++)
                found = same(data, c->m->stack[k][i]);
    FUZZ_CHECK(found);
    c->count++;
    return NMC_OK;
}

static int qiter_fn(nmc_value v, void *p)
{
    struct ctx *c = p;
    FUZZ_CHECK(c->m->qhead + c->count < c->m->qtail);
    FUZZ_CHECK(same(v, c->m->q[c->m->qhead + c->count]));
    c->count++;
    return NMC_OK;
}

/* Compares a process-local list [x; rest] (ending in 0) with key k's
 * stack, newest first. */
static void check_list(struct model *m, unsigned k, nmc_value list)
{
    for (unsigned i = m->depth[k]; i-- > 0;) {
        FUZZ_CHECK(!nmc_is_long(list));
        FUZZ_CHECK(same(nmc_field(list, 0), m->stack[k][i]));
        list = nmc_field(list, 1);
    }
    FUZZ_CHECK(list == nmc_val_long(0));
}

static void hashtbl_op(struct model *m, nmc_hashtbl *t, nmc_arena *a, unsigned op, unsigned x,
                       unsigned y, unsigned seq)
{
    unsigned k = x % NKEYS;
    nmc_value key = m->key[k], out;
    switch (op) {
    case 0: /* add */
    case 1: /* replace */
        if (op == 0 && m->depth[k] == STACK)
            op = 1;
        {
            nmc_value v = make_value(a, y, seq);
            FUZZ_CHECK((op == 0 ? nmc_hashtbl_add : nmc_hashtbl_replace)(t, key, v) == NMC_OK);
            if (op == 0 || m->depth[k] == 0) {
                m->stack[k][m->depth[k]++] = v;
                m->bindings++;
            } else {
                m->stack[k][m->depth[k] - 1] = v;
            }
        }
        break;
    case 2: /* remove */
        FUZZ_CHECK(nmc_hashtbl_remove(t, key) == NMC_OK);
        if (m->depth[k] > 0) {
            m->depth[k]--;
            m->bindings--;
        }
        break;
    case 3: { /* find, four ways */
        bool bound = m->depth[k] > 0, mem;
        nmc_value want = bound ? m->stack[k][m->depth[k] - 1] : 0;
        int st = nmc_hashtbl_find_ro(t, key, &out);
        FUZZ_CHECK(st == (bound ? NMC_OK : NMC_ENOT_FOUND));
        if (bound)
            FUZZ_CHECK(same(out, want));
        st = nmc_hashtbl_find_c(t, key, a, &out);
        FUZZ_CHECK(st == (bound ? NMC_OK : NMC_ENOT_FOUND));
        if (bound)
            FUZZ_CHECK(same(out, want));
        struct ctx c = {.m = m, .want = want};
        st = nmc_hashtbl_find_p(t, key, expect_fn, &c);
        FUZZ_CHECK(st == (bound ? NMC_OK : NMC_ENOT_FOUND) && c.calls == (bound ? 1 : 0));
        FUZZ_CHECK(nmc_hashtbl_mem(t, key, &mem) == NMC_OK && mem == bound);
        FUZZ_CHECK(nmc_hashtbl_mem_ro(t, key, &mem) == NMC_OK && mem == bound);
        break;
    }
    case 4: /* find_all */
        FUZZ_CHECK(nmc_hashtbl_find_all_c(t, key, a, &out) == NMC_OK);
        check_list(m, k, out);
        FUZZ_CHECK(nmc_hashtbl_find_all_ro(t, key, a, &out) == NMC_OK);
        check_list(m, k, out);
        break;
    case 5: /* clear (rarely) */
        if (y % 8 != 0)
            break;
        FUZZ_CHECK(nmc_hashtbl_clear(t) == NMC_OK);
        memset(m->depth, 0, sizeof m->depth);
        m->bindings = 0;
        break;
    default: { /* length and iter */
        struct ctx c = {.m = m};
        FUZZ_CHECK(nmc_hashtbl_length(t) == m->bindings);
        FUZZ_CHECK(nmc_hashtbl_iter(t, iter_fn, &c) == NMC_OK && c.count == m->bindings);
        break;
    }
    }
}

static void queue_op(struct model *m, nmc_queue *q, nmc_arena *a, unsigned op, unsigned y,
                     unsigned seq)
{
    nmc_value out;
    bool empty = m->qhead == m->qtail;
    switch (op) {
    case 0: /* push */
        if (m->qtail == QCAP)
            break;
        m->q[m->qtail] = make_value(a, y, seq);
        FUZZ_CHECK(nmc_queue_push(q, m->q[m->qtail]) == NMC_OK);
        m->qtail++;
        break;
    case 1: /* pop_c or pop_p */
        if (y % 2 == 0) {
            int st = nmc_queue_pop_c(q, a, &out);
            FUZZ_CHECK(st == (empty ? NMC_EEMPTY : NMC_OK));
            if (!empty)
                FUZZ_CHECK(same(out, m->q[m->qhead]));
        } else {
            struct ctx c = {.m = m, .want = empty ? 0 : m->q[m->qhead]};
            int st = nmc_queue_pop_p(q, expect_fn, &c);
            FUZZ_CHECK(st == (empty ? NMC_EEMPTY : NMC_OK) && c.calls == !empty);
        }
        if (!empty)
            m->qhead++;
        break;
    case 2: { /* top, length, iter */
        int st = nmc_queue_top_c(q, a, &out);
        FUZZ_CHECK(st == (empty ? NMC_EEMPTY : NMC_OK));
        if (!empty)
            FUZZ_CHECK(same(out, m->q[m->qhead]));
        FUZZ_CHECK(nmc_queue_length(q) == m->qtail - m->qhead);
        FUZZ_CHECK(nmc_queue_is_empty(q) == empty);
        struct ctx c = {.m = m};
        FUZZ_CHECK(nmc_queue_iter(q, qiter_fn, &c) == NMC_OK && c.count == m->qtail - m->qhead);
        break;
    }
    default: /* clear (rarely) */
        if (y % 8 != 0)
            break;
        FUZZ_CHECK(nmc_queue_clear(q) == NMC_OK);
        m->qhead = m->qtail;
        break;
    }
}

static void ref_op(struct model *m, nmc_sref *r, nmc_arena *a, unsigned op, unsigned y,
                   unsigned seq)
{
    nmc_value out;
    if (op == 0) {
        m->ref = make_value(a, y, seq);
        FUZZ_CHECK(nmc_sref_assign(r, m->ref) == NMC_OK);
        return;
    }
    FUZZ_CHECK(nmc_sref_deref_c(r, a, &out) == NMC_OK && same(out, m->ref));
    FUZZ_CHECK(nmc_sref_deref_ro(r, &out) == NMC_OK && same(out, m->ref));
    struct ctx c = {.m = m, .want = m->ref};
    FUZZ_CHECK(nmc_sref_deref_p(r, expect_fn, &c) == NMC_OK && c.calls == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct model m;
    memset(&m, 0, sizeof m);
    nmc_arena *a;
    nmc_mempool *pool;
    nmc_hashtbl *t;
    nmc_queue *q;
    nmc_sref *r;
    FUZZ_CHECK(nmc_arena_create(&a) == NMC_OK);
    FUZZ_CHECK(nmc_mempool_create("nmcfuzz_hp", POOL, false, &pool) == NMC_OK);
    nmc_mempool_unlink(pool);
    for (unsigned k = 0; k < NKEYS; k++) {
        if (k < 24) {
            m.key[k] = nmc_val_long((long)k * 7 - 40);
        } else {
            char s[8];
            int n = snprintf(s, sizeof s, "key%u", k);
            FUZZ_CHECK(nmc_alloc_string(a, s, (size_t)n, &m.key[k]) == NMC_OK);
        }
    }
    nmc_value header;
    FUZZ_CHECK(nmc_alloc_string(a, "hdr", 3, &header) == NMC_OK);
    FUZZ_CHECK(nmc_hashtbl_create(pool, data[0] % 8 + 1, header, &t) == NMC_OK);
    FUZZ_CHECK(nmc_queue_create(pool, nmc_val_long(1), &q) == NMC_OK);
    m.ref = nmc_val_long(0);
    FUZZ_CHECK(nmc_sref_create(pool, m.ref, &r) == NMC_OK);
    nmc_heap *heaps[3] = {nmc_hashtbl_heap(t), nmc_queue_heap(q), nmc_sref_heap(r)};
    unsigned pct = data[1] % 90 + 1;
    for (int i = 0; i < 3; i++)
        FUZZ_CHECK(nmc_heap_set_free_percent(heaps[i], pct) == NMC_OK);

    size_t nops = (size - 2) / 3 < MAX_OPS ? (size - 2) / 3 : MAX_OPS;
    for (size_t n = 0; n < nops; n++) {
        const uint8_t *op = data + 2 + 3 * n;
        unsigned kind = op[0] % 16, x = op[1], y = op[2], seq = (unsigned)n + 1;
        nmc_heap *touched;
        if (kind < 7) {
            hashtbl_op(&m, t, a, kind, x, y, seq);
            touched = heaps[0];
        } else if (kind < 11) {
            queue_op(&m, q, a, kind - 7, y, seq);
            touched = heaps[1];
        } else if (kind < 13) {
            ref_op(&m, r, a, kind - 11, y, seq);
            touched = heaps[2];
        } else if (kind < 15) {
            touched = heaps[x % 3];
            FUZZ_CHECK(nmc_heap_gc(touched) == NMC_OK);
        } else {
            touched = heaps[0];
            for (int i = 1; i < 3; i++)
                FUZZ_CHECK(nmc_heap_check(heaps[i]) == NMC_OK);
        }
        FUZZ_CHECK(nmc_heap_check(touched) == NMC_OK);
    }
    /* The end: every binding, element and the value are the model's. */
    struct ctx c = {.m = &m};
    FUZZ_CHECK(nmc_hashtbl_length(t) == m.bindings);
    FUZZ_CHECK(nmc_hashtbl_iter(t, iter_fn, &c) == NMC_OK && c.count == m.bindings);
    for (unsigned k = 0; k < NKEYS; k++) {
        nmc_value list;
        FUZZ_CHECK(nmc_hashtbl_find_all_c(t, m.key[k], a, &list) == NMC_OK);
        check_list(&m, k, list);
    }
    c.count = 0;
    FUZZ_CHECK(nmc_queue_iter(q, qiter_fn, &c) == NMC_OK && c.count == m.qtail - m.qhead);
    ref_op(&m, r, a, 1, 0, 0);
    for (int i = 0; i < 3; i++)
        FUZZ_CHECK(nmc_heap_check(heaps[i]) == NMC_OK);
    FUZZ_CHECK(nmc_hashtbl_destroy(t) == NMC_OK);
    FUZZ_CHECK(nmc_queue_destroy(q) == NMC_OK);
    FUZZ_CHECK(nmc_sref_destroy(r) == NMC_OK);
    struct nmc_mempool_stats ps;
    FUZZ_CHECK(nmc_mempool_check(pool) == NMC_OK);
    FUZZ_CHECK(nmc_mempool_stats(pool, &ps) == NMC_OK && ps.used_blocks == 0);
    nmc_mempool_unmap(pool);
    nmc_arena_destroy(a);
    return 0;
}
