/* bench/heap/heap_bench.c - the shared heap and the data structures on it.
 *
 * Workloads (one process; a pool of 256 MiB created per benchmark run,
 * pages committed on first use, i.e. during warm-up):
 *   heap/ref_assign_intlist10   nmc_sref_assign of a 10-int list (copy in,
 *                               under the lock; old lists collected by the
 *                               heap's GC as they pile up).
 *   heap/gc_live_<N>MiB         one full collection (nmc_heap_gc) of a heap
 *                               holding N MiB of live data: a list of
 *                               40-byte strings. Time per collection; the
 *                               counter live_MiB is the heap's live data.
 *   ds/hashtbl_add_100k         a fresh table filled with 100,000 int keys
 *                               (data = key), from 391 buckets with its
 *                               resizes; items are adds.
 *   ds/hashtbl_find_100k        finds of present int keys in a table of
 *                               100,000, in a strided order: _ro (no lock),
 *                               _p (lock, pin, callback, unpin), _c (the
 *                               same with a copy into an arena).
 *   ds/queue_push_pop           a push and a pop_p of an int.
 *   ds/buffer_add_32B           nmc_buffer_add_submemory of 32 bytes (blocks
 *                               of 4 KiB; cleared every 1,024 adds).
 * Peers: boost_ipc for the hash table: boost::unordered_map<int64,int64>
 * in a managed_shared_memory segment (bench/peers/boost_ipc_map.h),
 * inserts under an interprocess mutex, finds without a lock; a fresh map
 * per iteration of the add workload. items_per_second is operations per
 * second throughout. A failed call skips the benchmark with the status.
 */
#include <stdlib.h>

#include "boost_ipc_map.h"
#include "gbench.h"
#include "skip_status.h"
#include "nmc/buffer.h"
#include "nmc/hashtbl.h"
#include "nmc/heap.h"
#include "nmc/queue.h"
#include "nmc/ref.h"
#include "nmc/sys.h"

enum { POOL_BYTES = 256 << 20, BOOST_SEGMENT_BYTES = 64 << 20 };
enum { TABLE = 100000, STRIDE = 7919 /* prime, so i * STRIDE mod TABLE visits all */ };

/* Everything one benchmark needs, released by done(). */
struct env {
    nmc_mempool *pool;
    nmc_arena *arena;
};

static bool start(nmc_bench_state *st, struct env *e)
{
    int rc = nmc_mempool_create("nmcbench", POOL_BYTES, false, &e->pool);
    if (rc == NMC_OK && (rc = nmc_arena_create(&e->arena)) != NMC_OK)
        nmc_mempool_destroy(e->pool);
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, "setup", rc);
    return rc == NMC_OK;
}

static void done(struct env *e)
{
    nmc_arena_destroy(e->arena);
    nmc_mempool_destroy(e->pool);
}

/* Ends the benchmark on a failed call (true if it failed). */
static bool failed(nmc_bench_state *st, const char *what, int rc)
{
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, what, rc);
    return rc != NMC_OK;
}

/* ---- heap ------------------------------------------------------------------ */

static nmc_value int_list(nmc_arena *arena, long n)
{
    nmc_value l = nmc_val_long(0);
    for (long i = n - 1; i >= 0; i--)
        nmc_alloc_tuple(arena, 0, 2, (nmc_value[]){nmc_val_long(i), l}, &l);
    return l;
}

static void bm_ref_assign(nmc_bench_state *st)
{
    struct env e;
    if (!start(st, &e))
        return;
    nmc_sref *s;
    nmc_value list = int_list(e.arena, 10);
    int rc = nmc_sref_create(e.pool, list, &s);
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; rc == NMC_OK && i < n; i++)
            rc = nmc_sref_assign(s, list);
    if (!failed(st, "nmc_sref_assign", rc))
        nmc_sref_destroy(s);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    done(&e);
}

/* A list of strings of 40 bytes: cell (3 words) + string (7 words). */
static nmc_value string_list(nmc_arena *arena, size_t bytes)
{
    static const char text[41] = "forty bytes of live data in a shared heap";
    nmc_value l = nmc_val_long(0), s;
    for (size_t have = 0; have < bytes; have += 10 * sizeof(nmc_value)) {
        nmc_alloc_string(arena, text, 40, &s);
        nmc_alloc_tuple(arena, 0, 2, (nmc_value[]){s, l}, &l);
    }
    return l;
}

static void bm_gc_live(nmc_bench_state *st)
{
    size_t live = *(const size_t *)nmc_bench_user(st);
    struct env e;
    if (!start(st, &e))
        return;
    nmc_value root = string_list(e.arena, live);
    nmc_heap *h;
    size_t size;
    int rc = nmc_heap_minimum_size(root, &size);
    if (rc == NMC_OK)
        rc = nmc_heap_create(e.pool, size, root, &h);
    if (failed(st, "nmc_heap_create", rc)) {
        done(&e);
        return;
    }
    while (rc == NMC_OK && nmc_bench_keep_running(st))
        rc = nmc_heap_gc(h);
    struct nmc_heap_stats hs;
    if (!failed(st, "nmc_heap_gc", rc) && nmc_heap_stats(h, &hs) == NMC_OK)
        nmc_bench_counter(st, "live_MiB", hs.live_words * 8.0 / (1 << 20), NMC_COUNTER_DEFAULT);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_heap_destroy(h);
    done(&e);
}

/* ---- hash tables -------------------------------------------------------------- */

static void bm_nmc_hashtbl_add(nmc_bench_state *st)
{
    struct env e;
    if (!start(st, &e))
        return;
    int rc = NMC_OK;
    struct nmc_heap_stats hs = {0};
    while (rc == NMC_OK && nmc_bench_keep_running(st)) {
        nmc_hashtbl *t;
        rc = nmc_hashtbl_create(e.pool, 0, NMC_VAL_UNIT, &t);
        for (long k = 0; rc == NMC_OK && k < TABLE; k++)
            rc = nmc_hashtbl_add(t, nmc_val_long(k), nmc_val_long(k));
        if (rc == NMC_OK && (rc = nmc_heap_stats(nmc_hashtbl_heap(t), &hs)) == NMC_OK)
            rc = nmc_hashtbl_destroy(t);
    }
    if (!failed(st, "nmc_hashtbl_add", rc)) /* of the last table */
        nmc_bench_counter(st, "gcs_per_table", (double)hs.gc_runs, NMC_COUNTER_DEFAULT);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st) * TABLE);
    done(&e);
}

static nmc_boost_map *boost_map(nmc_bench_state *st)
{
    char name[NMC_SHM_NAME_MAX], err[160];
    nmc_boost_map *map;
    int rc = nmc_sys_unique_name("nmcbench", name, sizeof name);
    if (failed(st, "nmc_sys_unique_name", rc))
        return NULL;
    if (nmc_boost_map_create(name + 1, BOOST_SEGMENT_BYTES, &map, err, sizeof err) != 0) {
        nmc_bench_skip_with_error(st, err);
        return NULL;
    }
    return map;
}

static bool boost_fill(nmc_boost_map *map)
{
    for (long k = 0; k < TABLE; k++)
        if (!nmc_boost_map_insert(map, k, k))
            return false;
    return true;
}

static void bm_boost_hashtbl_add(nmc_bench_state *st)
{
    nmc_boost_map *map = boost_map(st);
    if (map == NULL)
        return;
    bool ok = true;
    while (ok && nmc_bench_keep_running(st)) {
        ok = boost_fill(map);
        nmc_boost_map_clear(map);
    }
    if (!ok)
        nmc_bench_skip_with_error(st, "insert failed: segment full");
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st) * TABLE);
    nmc_boost_map_destroy(map);
}

enum find_flavour { FIND_RO, FIND_P, FIND_C };

static int add_data(nmc_value data, void *ctx)
{
    *(long *)ctx += nmc_long_val(data);
    return NMC_OK;
}

static void bm_nmc_hashtbl_find(nmc_bench_state *st)
{
    enum find_flavour how = *(const enum find_flavour *)nmc_bench_user(st);
    struct env e;
    if (!start(st, &e))
        return;
    nmc_hashtbl *t;
    int rc = nmc_hashtbl_create(e.pool, 0, NMC_VAL_UNIT, &t);
    for (long k = 0; rc == NMC_OK && k < TABLE; k++)
        rc = nmc_hashtbl_add(t, nmc_val_long(k), nmc_val_long(k));
    if (failed(st, "nmc_hashtbl_add", rc)) {
        done(&e);
        return;
    }
    long sum = 0, k = 0;
    nmc_value v;
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0) {
        for (size_t i = 0; rc == NMC_OK && i < n; i++) {
            k = (k + STRIDE) % TABLE;
            switch (how) {
            case FIND_RO:
                rc = nmc_hashtbl_find_ro(t, nmc_val_long(k), &v);
                sum += nmc_long_val(v);
                break;
            case FIND_P:
                rc = nmc_hashtbl_find_p(t, nmc_val_long(k), add_data, &sum);
                break;
            case FIND_C:
                rc = nmc_hashtbl_find_c(t, nmc_val_long(k), e.arena, &v);
                sum += nmc_long_val(v);
                break;
            }
        }
    }
    nmc_bench_do_not_optimize(&sum);
    failed(st, "nmc_hashtbl_find", rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_hashtbl_destroy(t);
    done(&e);
}

static void bm_boost_hashtbl_find(nmc_bench_state *st)
{
    nmc_boost_map *map = boost_map(st);
    if (map == NULL)
        return;
    if (!boost_fill(map)) {
        nmc_bench_skip_with_error(st, "insert failed: segment full");
        nmc_boost_map_destroy(map);
        return;
    }
    bool ok = true;
    int64_t sum = 0, k = 0, v;
    size_t n;
    while (ok && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; ok && i < n; i++) {
            k = (k + STRIDE) % TABLE;
            ok = nmc_boost_map_find(map, k, &v);
            sum += v;
        }
    nmc_bench_do_not_optimize(&sum);
    if (!ok)
        nmc_bench_skip_with_error(st, "a key went missing");
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_boost_map_destroy(map);
}

/* ---- queue and buffer ------------------------------------------------------------ */

static void bm_queue_push_pop(nmc_bench_state *st)
{
    struct env e;
    if (!start(st, &e))
        return;
    nmc_queue *q;
    long sum = 0;
    int rc = nmc_queue_create(e.pool, NMC_VAL_UNIT, &q);
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; rc == NMC_OK && i < n; i++) {
            rc = nmc_queue_push(q, nmc_val_long((long)i));
            if (rc == NMC_OK)
                rc = nmc_queue_pop_p(q, add_data, &sum);
        }
    nmc_bench_do_not_optimize(&sum);
    if (!failed(st, "nmc_queue_push/pop", rc))
        nmc_queue_destroy(q);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    done(&e);
}

static void bm_buffer_add(nmc_bench_state *st)
{
    static const char bytes[32] = "thirty-two bytes for the buffer";
    struct env e;
    if (!start(st, &e))
        return;
    nmc_buffer *b;
    int rc = nmc_buffer_create(e.pool, 4096, NMC_VAL_UNIT, &b);
    size_t n, added = 0;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; rc == NMC_OK && i < n; i++) {
            rc = nmc_buffer_add_submemory(b, bytes, sizeof bytes);
            if (rc == NMC_OK && ++added % 1024 == 0)
                rc = nmc_buffer_clear(b);
        }
    if (!failed(st, "nmc_buffer_add_submemory", rc))
        nmc_buffer_destroy(b);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    nmc_bench_set_bytes_processed(st, nmc_bench_iterations(st) * (int64_t)sizeof bytes);
    done(&e);
}

/* Parameters passed as the user pointer (an Arg would change the names). */
static const size_t one_mib = 1 << 20, sixteen_mib = 16 << 20;
static const enum find_flavour ro = FIND_RO, pinned = FIND_P, copied = FIND_C;

NMC_BENCH_REGISTER(register_heap)
{
    nmc_bench_register("heap/ref_assign_intlist10/nmc", bm_ref_assign);
    nmc_bench_unit(nmc_bench_register_with("heap/gc_live_1MiB/nmc", bm_gc_live, (void *)&one_mib),
                   NMC_BENCH_US);
    nmc_bench_unit(nmc_bench_register_with("heap/gc_live_16MiB/nmc", bm_gc_live,
                                           (void *)&sixteen_mib),
                   NMC_BENCH_MS);
    nmc_bench_unit(nmc_bench_register("ds/hashtbl_add_100k/nmc", bm_nmc_hashtbl_add), NMC_BENCH_MS);
    nmc_bench_unit(nmc_bench_register("ds/hashtbl_add_100k/boost_ipc", bm_boost_hashtbl_add),
                   NMC_BENCH_MS);
    nmc_bench_register_with("ds/hashtbl_find_100k/nmc_ro", bm_nmc_hashtbl_find, (void *)&ro);
    nmc_bench_register_with("ds/hashtbl_find_100k/nmc_p", bm_nmc_hashtbl_find, (void *)&pinned);
    nmc_bench_register_with("ds/hashtbl_find_100k/nmc_c", bm_nmc_hashtbl_find, (void *)&copied);
    nmc_bench_register("ds/hashtbl_find_100k/boost_ipc", bm_boost_hashtbl_find);
    nmc_bench_register("ds/queue_push_pop/nmc", bm_queue_push_pop);
    nmc_bench_register("ds/buffer_add_32B/nmc", bm_buffer_add);
}
