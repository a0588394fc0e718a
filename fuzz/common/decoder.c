/* The value-graph decoder and shared helpers of the fuzz targets; see
 * decoder.h for the input format. */
#include "decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/status.h"

uint8_t fuzz_u8(struct fuzz_reader *r) { return r->pos < r->len ? r->data[r->pos++] : 0; }

uint16_t fuzz_u16(struct fuzz_reader *r)
{
    uint16_t lo = fuzz_u8(r);
    return (uint16_t)(lo | (uint16_t)fuzz_u8(r) << 8);
}

uint64_t fuzz_u64(struct fuzz_reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)fuzz_u8(r) << (8 * i);
    return v;
}

_Noreturn void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz check failed: %s at %s:%d\n", what, file, line);
    abort();
}

/* Field references are resolved once every node exists, so a field may
 * name a later node (cycles) or the root. */
struct pending_ref {
    nmc_value block; /* structured block holding the field */
    size_t field;    /* field index                        */
    uint8_t node;    /* referenced node, modulo the count  */
};

struct graph {
    nmc_value nodes[FUZZ_MAX_NODES];          /* built nodes               */
    size_t n;                                 /* how many                  */
    struct pending_ref refs[FUZZ_MAX_NODES * 8]; /* fields to patch        */
    size_t nrefs;
};

static int decode_structured(struct fuzz_reader *r, nmc_arena *a, struct graph *g, unsigned tag,
                             nmc_value *out)
{
    size_t wosize = 1 + fuzz_u8(r) % 8;
    int st = nmc_alloc_block(a, tag, wosize, out);
    for (size_t i = 0; st == NMC_OK && i < wosize; i++) {
        uint8_t b = fuzz_u8(r);
        if (b & 1) {
            nmc_field(*out, i) = nmc_val_long((int8_t)b >> 1);
        } else if (g->nrefs < sizeof g->refs / sizeof g->refs[0]) {
            g->refs[g->nrefs++] = (struct pending_ref){*out, i, (uint8_t)(b >> 1)};
        }
    }
    return st;
}

static int decode_bigarray(struct fuzz_reader *r, nmc_arena *a, nmc_value *out)
{
    int kind = fuzz_u8(r) % NMC_BA_KIND_COUNT;
    int layout = fuzz_u8(r) & 1 ? NMC_BA_FORTRAN_LAYOUT : NMC_BA_C_LAYOUT;
    uint8_t shape = fuzz_u8(r);
    int num_dims = shape & 0x80 ? 1 + (shape & 15) : 1 + (shape & 1);
    intptr_t dims[NMC_BA_MAX_NUM_DIMS];
    size_t elts = 1;
    for (int i = 0; i < num_dims; i++) {
        /* many dimensions stay at 1 so the element count stays small */
        dims[i] = i < 3 ? fuzz_u8(r) % 6 : 1;
        elts *= (size_t)dims[i];
    }
    unsigned char data[5 * 5 * 5 * 16];
    size_t bytes = elts * nmc_ba_element_size(kind);
    for (size_t i = 0; i < bytes; i++)
        data[i] = fuzz_u8(r);
    return nmc_alloc_bigarray(a, kind, layout, num_dims, dims, data, out);
}

static int decode_string(struct fuzz_reader *r, nmc_arena *a, nmc_value *out)
{
    uint8_t l = fuzz_u8(r);
    size_t len = l == 255 ? 4000 + fuzz_u8(r) : l % 40;
    char buf[4256];
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(i < 64 ? fuzz_u8(r) : buf[i - 64]);
    return nmc_alloc_string(a, buf, len, out);
}

static int decode_double_array(struct fuzz_reader *r, nmc_arena *a, nmc_value *out)
{
    double xs[8];
    size_t n = fuzz_u8(r) % 9;
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = fuzz_u64(r);
        memcpy(&xs[i], &bits, sizeof bits);
    }
    return nmc_alloc_double_array(a, xs, n, out);
}

static int decode_node(struct fuzz_reader *r, nmc_arena *a, struct graph *g, nmc_value *out)
{
    static const unsigned refused_tags[] = {NMC_TAG_LAZY, NMC_TAG_CLOSURE, NMC_TAG_OBJECT,
                                            NMC_TAG_INFIX, NMC_TAG_FORWARD};
    uint8_t op = fuzz_u8(r);
    uint64_t bits;
    double d;
    switch (op % 16) {
    case 0: case 1: case 2: case 3: case 4:
        return decode_structured(r, a, g, op % 16 == 4 ? fuzz_u8(r) % NMC_TAG_LAZY : 0, out);
    case 5: case 6:
        return decode_string(r, a, out);
    case 7:
        bits = fuzz_u64(r);
        memcpy(&d, &bits, sizeof d);
        return nmc_alloc_double(a, d, out);
    case 8:
        return decode_double_array(r, a, out);
    case 9:
        return nmc_alloc_int32(a, (int32_t)fuzz_u64(r), out);
    case 10:
        return nmc_alloc_int64(a, (int64_t)fuzz_u64(r), out);
    case 11:
        return nmc_alloc_nativeint(a, (intptr_t)fuzz_u64(r), out);
    case 12:
        return decode_bigarray(r, a, out);
    case 13:
        return nmc_alloc_abstract(a, 1 + fuzz_u8(r) % 3, out);
    case 14:
        *out = nmc_atom(fuzz_u8(r) % NMC_TAG_LAZY);
        return NMC_OK;
    default: /* a block the copier must refuse */
        return nmc_alloc_block(a, refused_tags[fuzz_u8(r) % 5], 1 + fuzz_u8(r) % 2, out);
    }
}

int fuzz_decode_value(struct fuzz_reader *r, nmc_arena *arena, nmc_value *root)
{
    struct graph g = {.n = 0, .nrefs = 0};
    size_t want = 1 + fuzz_u8(r) % FUZZ_MAX_NODES;
    while (g.n < want) {
        int st = decode_node(r, arena, &g, &g.nodes[g.n]);
        if (st != NMC_OK)
            return st;
        g.n++;
    }
    for (size_t i = 0; i < g.nrefs; i++)
        nmc_field(g.refs[i].block, g.refs[i].field) = g.nodes[g.refs[i].node % g.n];
    *root = g.nodes[0];
    return NMC_OK;
}

/* The copier's acceptance rule for one block (see copier.c). */
static bool block_refused(nmc_value v, unsigned flags, bool root)
{
    nmc_header hd = nmc_hd_val(v);
    unsigned tag = nmc_hd_tag(hd);
    if (nmc_hd_wosize(hd) == 0) {
        if (tag >= NMC_TAG_LAZY && tag != NMC_TAG_DOUBLE_ARRAY)
            return true;
        return !((flags & NMC_COPY_ATOM) || ((flags & NMC_KEEP_ATOM) && !root));
    }
    if (tag < NMC_TAG_LAZY || tag == NMC_TAG_STRING || tag == NMC_TAG_DOUBLE ||
        tag == NMC_TAG_DOUBLE_ARRAY)
        return false;
    if (tag != NMC_TAG_CUSTOM)
        return true;
    const struct nmc_custom_ops *ops = nmc_custom_ops_val(v);
    if (ops == &nmc_bigarray_ops)
        return !(flags & NMC_COPY_BIGARRAY);
    return !(flags & NMC_COPY_CUSTOM_INT);
}

bool fuzz_expect_unsupported(nmc_value root, unsigned flags)
{
    /* The decoder makes at most FUZZ_MAX_NODES blocks (plus atoms), so a
     * small visited list and stack suffice. */
    nmc_value seen[FUZZ_MAX_NODES * 2], stack[FUZZ_MAX_NODES * 2];
    size_t nseen = 0, top = 0;
    stack[top++] = root;
    seen[nseen++] = root;
    while (top > 0) {
        nmc_value v = stack[--top];
        if (block_refused(v, flags, v == root))
            return true;
        if (nmc_tag_val(v) >= NMC_TAG_LAZY || nmc_wosize_val(v) == 0)
            continue;
        for (size_t i = 0; i < nmc_wosize_val(v); i++) {
            nmc_value f = nmc_field(v, i);
            bool known = !nmc_is_block(f);
            for (size_t k = 0; k < nseen && !known; k++)
                known = seen[k] == f;
            if (!known && nseen < sizeof seen / sizeof seen[0]) {
                seen[nseen++] = f;
                stack[top++] = f;
            }
        }
    }
    return false;
}

bool fuzz_buffer_alloc(size_t len, struct fuzz_buffer *b)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t usable = (len + page - 1) / page * page;
    b->map_len = usable + page;
    b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b->map == MAP_FAILED)
        return false;
    if (mprotect((unsigned char *)b->map + usable, page, PROT_NONE) != 0) {
        munmap(b->map, b->map_len);
        return false;
    }
    /* the end of the buffer touches the guard page; keep it word-aligned */
    size_t aligned_len = len / NMC_WORD_SIZE * NMC_WORD_SIZE;
    b->data = (unsigned char *)b->map + usable - aligned_len;
    b->len = aligned_len;
    memset(b->map, FUZZ_CANARY, usable);
    return true;
}

void fuzz_buffer_free(struct fuzz_buffer *b)
{
    if (b->map != NULL)
        munmap(b->map, b->map_len);
    b->map = NULL;
}
