/* bench/copier/copier_bench.c - the value copier (nmc_init_value) vs memcpy.
 *
 * Workloads (values built once per benchmark run in a local arena):
 *   string_1MiB         one String of 1 MiB (1 block).
 *   int_array_100k      one tag-0 block of 100 000 immediate ints (1 block).
 *   string_list_10k_64B an OCaml `string list` of 10 000 distinct 64-byte
 *                       strings: cons cells are tag-0 blocks of 2 fields
 *                       [head; tail], the last tail is [] (immediate 0);
 *                       20 000 blocks.
 *   record_tree_16k     a complete binary tree of 16 384 records
 *                         type t = Leaf | Node of { left : t; right : t;
 *                                                   key : int; weight : float }
 *                       node i (0-based, heap order) has children 2i+1 and
 *                       2i+2 when < 16 384, else Leaf (immediate 0); a Node
 *                       is a tag-0 block of 4 fields and, the record being
 *                       mixed, weight is a boxed Double (tag 253) of its
 *                       own; 32 768 blocks.
 * Implementations (the last name component):
 *   nmc           nmc_copier_init_value with one reused nmc_copier into a
 *                 preallocated, pre-faulted buffer of the image's size.
 *   nmc_simulate  the same call with NMC_COPY_SIMULATE (sizes only).
 *   memcpy        the physical limit: memcpy of as many bytes as the image
 *                 has, from one pre-faulted buffer to another.
 * Counters: bytes_per_second (image bytes per second) everywhere; for the
 * list and the tree also ns_per_block, nanoseconds per copied block. It is
 * a Google Benchmark counter with RATE | INVERT whose value is
 * iterations * blocks / 1e9: the rate is giga-blocks per second, its inverse
 * seconds per giga-block, that is nanoseconds per block, on the same (CPU)
 * time as every other figure. Before timing, one copy is made and checked
 * with nmc_image_check, so a broken copier fails the benchmark instead of
 * measuring it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gbench.h"
#include "nmc/mem.h"
#include "nmc/status.h"
#include "nmc/value.h"

/* Builds a workload's value in the arena; *blocks = blocks in its image. */
typedef int (*build_fn)(nmc_arena *arena, nmc_value *out, size_t *blocks);

struct workload {
    const char *name;   /* second name component, e.g. "string_1MiB"       */
    build_fn build;     /* makes the value                                  */
    bool per_block;     /* report ns_per_block                              */
    bool memcpy_peer;   /* also register the memcpy baseline                */
};

/* Everything one benchmark run needs, made before timing starts. */
struct fixture {
    nmc_arena *arena;   /* holds the source value                          */
    nmc_value root;     /* the value to copy                               */
    size_t blocks;      /* blocks in its image                             */
    size_t bytelen;     /* bytes of its image                              */
    nmc_copier *copier; /* reused copier state                             */
    nmc_memory dst;     /* destination buffer, bytelen long, pre-faulted   */
    nmc_memory src;     /* memcpy source (a copy of the image), or empty   */
};

/* ---- workloads ----------------------------------------------------------- */

enum {
    STRING_BYTES = 1 << 20,
    INT_ARRAY_LEN = 100000,
    LIST_LEN = 10000,
    LIST_STRING_BYTES = 64,
    TREE_NODES = 16384,
};

static int build_string_1MiB(nmc_arena *arena, nmc_value *out, size_t *blocks)
{
    char *bytes = malloc(STRING_BYTES);
    if (bytes == NULL)
        return NMC_ENOMEM;
    for (size_t i = 0; i < STRING_BYTES; i++)
        bytes[i] = (char)('a' + i % 26);
    int st = nmc_alloc_string(arena, bytes, STRING_BYTES, out);
    free(bytes);
    *blocks = 1;
    return st;
}

static int build_int_array_100k(nmc_arena *arena, nmc_value *out, size_t *blocks)
{
    int st = nmc_alloc_block(arena, 0, INT_ARRAY_LEN, out);
    if (st != NMC_OK)
        return st;
    for (size_t i = 0; i < INT_ARRAY_LEN; i++)
        nmc_field(*out, i) = nmc_val_long(i);
    *blocks = 1;
    return NMC_OK;
}

static int build_string_list_10k_64B(nmc_arena *arena, nmc_value *out, size_t *blocks)
{
    nmc_value list = nmc_val_long(0); /* [] */
    char bytes[LIST_STRING_BYTES];
    for (size_t i = LIST_LEN; i-- > 0;) {
        memset(bytes, 'x', sizeof bytes);
        snprintf(bytes, sizeof bytes, "element %zu", i); /* distinct strings */
        nmc_value cell[2];
        int st = nmc_alloc_string(arena, bytes, sizeof bytes, &cell[0]);
        if (st != NMC_OK)
            return st;
        cell[1] = list;
        st = nmc_alloc_tuple(arena, 0, 2, cell, &list);
        if (st != NMC_OK)
            return st;
    }
    *out = list;
    *blocks = 2 * LIST_LEN;
    return NMC_OK;
}

static int build_record_tree_16k(nmc_arena *arena, nmc_value *out, size_t *blocks)
{
    nmc_value *node = malloc(TREE_NODES * sizeof *node);
    if (node == NULL)
        return NMC_ENOMEM;
    int st = NMC_OK;
    for (size_t i = TREE_NODES; st == NMC_OK && i-- > 0;) {
        size_t l = 2 * i + 1, r = 2 * i + 2;
        nmc_value f[4] = {
            l < TREE_NODES ? node[l] : nmc_val_long(0), /* left  */
            r < TREE_NODES ? node[r] : nmc_val_long(0), /* right */
            nmc_val_long(i),                            /* key   */
            0,                                          /* weight, below */
        };
        st = nmc_alloc_double(arena, (double)i * 0.5, &f[3]);
        if (st == NMC_OK)
            st = nmc_alloc_tuple(arena, 0, 4, f, &node[i]);
    }
    *out = node[0];
    free(node);
    *blocks = 2 * TREE_NODES;
    return st;
}

static const struct workload workloads[] = {
    {"string_1MiB", build_string_1MiB, false, true},
    {"int_array_100k", build_int_array_100k, false, true},
    {"string_list_10k_64B", build_string_list_10k_64B, true, false},
    {"record_tree_16k", build_record_tree_16k, true, false},
};

/* ---- fixture --------------------------------------------------------------- */

/* Anonymous private pages, touched so that no page fault is timed. */
static int map_buffer(size_t len, nmc_memory *m)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    memset(p, 0, len);
    m->data = p;
    m->len = len;
    return NMC_OK;
}

static void unmap_buffer(nmc_memory *m)
{
    if (m->data != NULL)
        munmap(m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

static void fixture_free(struct fixture *fx)
{
    unmap_buffer(&fx->dst);
    unmap_buffer(&fx->src);
    if (fx->copier != NULL)
        nmc_copier_destroy(fx->copier);
    if (fx->arena != NULL)
        nmc_arena_destroy(fx->arena);
    memset(fx, 0, sizeof *fx);
}

/* Builds the value, sizes its image (simulation), maps the buffer(s) and
 * makes one checked copy. On failure *what names the step. */
static int fixture_make(const struct workload *w, bool with_src, struct fixture *fx,
                        const char **what)
{
    struct nmc_copy_options sim = {.flags = NMC_COPY_SIMULATE};
    size_t voff, len;
    int st;
    memset(fx, 0, sizeof *fx);
    if ((st = nmc_arena_create(&fx->arena)) != NMC_OK)
        return *what = "nmc_arena_create", st;
    if ((st = w->build(fx->arena, &fx->root, &fx->blocks)) != NMC_OK)
        return *what = "building the value", st;
    if ((st = nmc_copier_create(&fx->copier)) != NMC_OK)
        return *what = "nmc_copier_create", st;
    nmc_memory none = {NULL, 0};
    if ((st = nmc_copier_init_value(fx->copier, none, 0, fx->root, &sim, &voff,
                                    &fx->bytelen)) != NMC_OK)
        return *what = "nmc_init_value (simulate)", st;
    if ((st = map_buffer(fx->bytelen, &fx->dst)) != NMC_OK)
        return *what = "mmap", st;
    if ((st = nmc_copier_init_value(fx->copier, fx->dst, 0, fx->root, NULL, &voff, &len)) !=
        NMC_OK)
        return *what = "nmc_init_value", st;
    if (len != fx->bytelen)
        return *what = "image length differs from the simulated one", NMC_ECORRUPT;
    if ((st = nmc_image_check(fx->dst, 0, len, voff, NULL)) != NMC_OK)
        return *what = "nmc_image_check", st;
    if (with_src) {
        if ((st = map_buffer(fx->bytelen, &fx->src)) != NMC_OK)
            return *what = "mmap", st;
        memcpy(fx->src.data, fx->dst.data, fx->bytelen);
    }
    return NMC_OK;
}

/* Sets up *fx for benchmark st or reports why not (skip_with_error). */
static bool fixture_setup(nmc_bench_state *st, bool with_src, struct fixture *fx)
{
    const struct workload *w = nmc_bench_user(st);
    const char *what = "";
    int rc = fixture_make(w, with_src, fx, &what);
    if (rc == NMC_OK)
        return true;
    char msg[200];
    snprintf(msg, sizeof msg, "%s setup: %s: %s", w->name, what, nmc_strerror(rc));
    nmc_bench_skip_with_error(st, msg);
    fixture_free(fx);
    return false;
}

/* The counters every variant reports, from the iterations done. */
static void report(nmc_bench_state *st, const struct fixture *fx)
{
    const struct workload *w = nmc_bench_user(st);
    int64_t it = nmc_bench_iterations(st);
    nmc_bench_set_bytes_processed(st, it * (int64_t)fx->bytelen);
    if (w->per_block)
        nmc_bench_counter(st, "ns_per_block", (double)it * (double)fx->blocks / 1e9,
                          NMC_COUNTER_RATE | NMC_COUNTER_INVERT);
}

/* ---- benchmarks ------------------------------------------------------------ */

/* The timed loop of both copier variants; opt selects simulation. */
static void copy_loop(nmc_bench_state *st, const struct nmc_copy_options *opt)
{
    struct fixture fx;
    if (!fixture_setup(st, false, &fx)) {
        while (nmc_bench_batch(st) != 0)
            ;
        return;
    }
    size_t n, voff, len;
    int rc = NMC_OK;
    while ((n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n && rc == NMC_OK; i++) {
            rc = nmc_copier_init_value(fx.copier, fx.dst, 0, fx.root, opt, &voff, &len);
            nmc_bench_do_not_optimize(fx.dst.data);
        }
    if (rc != NMC_OK)
        nmc_bench_skip_with_error(st, nmc_strerror(rc));
    else
        report(st, &fx);
    fixture_free(&fx);
}

static void bm_nmc(nmc_bench_state *st)
{
    copy_loop(st, NULL);
}

static void bm_nmc_simulate(nmc_bench_state *st)
{
    static const struct nmc_copy_options sim = {.flags = NMC_COPY_SIMULATE};
    copy_loop(st, &sim);
}

static void bm_memcpy(nmc_bench_state *st)
{
    struct fixture fx;
    if (!fixture_setup(st, true, &fx)) {
        while (nmc_bench_batch(st) != 0)
            ;
        return;
    }
    size_t n;
    while ((n = nmc_bench_batch(st)) != 0)
        for (size_t i = 0; i < n; i++) {
            nmc_bench_do_not_optimize(fx.src.data);
            memcpy(fx.dst.data, fx.src.data, fx.bytelen);
            nmc_bench_do_not_optimize(fx.dst.data);
        }
    report(st, &fx);
    fixture_free(&fx);
}

static void register_variant(const struct workload *w, const char *impl, nmc_bench_fn fn)
{
    char name[96];
    snprintf(name, sizeof name, "copier/%s/%s", w->name, impl);
    nmc_bench_register_with(name, fn, (void *)w);
}

NMC_BENCH_REGISTER(reg_copier)
{
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        const struct workload *w = &workloads[i];
        register_variant(w, "nmc", bm_nmc);
        if (w->memcpy_peer)
            register_variant(w, "memcpy", bm_memcpy);
        register_variant(w, "nmc_simulate", bm_nmc_simulate);
    }
}
