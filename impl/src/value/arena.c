/* Arenas: process-local values, freed all at once.
 *
 * An arena is a list of malloc'ed chunks with a bump pointer in the newest.
 * Every allocation is a whole number of words, word-aligned; a block is its
 * header word followed by its fields, and the value is the address of the
 * first field. Requests larger than a quarter chunk get a chunk of their own
 * so the bump chunk is not wasted. Nothing is freed before
 * nmc_arena_destroy. Not thread-safe: one arena per thread.
 *
 * In debug builds (NDEBUG undefined) fresh words are filled with 0xAA so that
 * a builder that forgets to initialise a field shows at once.
 */
#include <stdlib.h>
#include <string.h>

#include "nmc/status.h"
#include "nmc/value.h"

enum { ARENA_CHUNK_BYTES = 1 << 20 };

struct arena_chunk {
    struct arena_chunk *next; /* older chunk, or NULL                */
    size_t words;             /* capacity of data[], in words         */
    nmc_value data[];         /* the words handed out                 */
};

struct nmc_arena {
    struct arena_chunk *chunks; /* newest first                          */
    size_t bump;                /* words used in chunks (the newest)     */
    size_t used_bytes;          /* total handed out, for nmc_arena_used  */
};

int nmc_arena_create(nmc_arena **out)
{
    if (out == NULL)
        return NMC_EINVAL;
    nmc_arena *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NMC_ENOMEM;
    *out = a;
    return NMC_OK;
}

void nmc_arena_destroy(nmc_arena *arena)
{
    if (arena == NULL)
        return;
    for (struct arena_chunk *c = arena->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(arena);
}

size_t nmc_arena_used(const nmc_arena *arena)
{
    return arena == NULL ? 0 : arena->used_bytes;
}

/* Slow path: a new chunk, either the next bump chunk or a private one for a
 * large request (linked behind the bump chunk so bumping continues). */
static void *arena_alloc_chunk(nmc_arena *a, size_t words)
{
    size_t chunk_words = ARENA_CHUNK_BYTES / sizeof(nmc_value);
    bool large = words > chunk_words / 4;
    size_t cap = large ? words : chunk_words;
    if (cap > (SIZE_MAX - sizeof(struct arena_chunk)) / sizeof(nmc_value))
        return NULL;
    struct arena_chunk *c = malloc(sizeof *c + cap * sizeof(nmc_value));
    if (c == NULL)
        return NULL;
    c->words = cap;
    if (large && a->chunks != NULL) {
        c->next = a->chunks->next;
        a->chunks->next = c;
    } else {
        c->next = a->chunks;
        a->chunks = c;
        a->bump = large ? cap : words;
    }
    return c->data;
}

void *nmc_arena_alloc_words(nmc_arena *arena, size_t words)
{
    if (arena == NULL || words == 0 || words > SIZE_MAX / sizeof(nmc_value))
        return NULL;
    void *p;
    struct arena_chunk *c = arena->chunks;
    if (c != NULL && c->words - arena->bump >= words) {
        p = &c->data[arena->bump];
        arena->bump += words;
    } else {
        p = arena_alloc_chunk(arena, words);
        if (p == NULL)
            return NULL;
    }
    arena->used_bytes += words * sizeof(nmc_value);
#ifndef NDEBUG
    memset(p, 0xAA, words * sizeof(nmc_value));
#endif
    return p;
}

/* A block with header (wosize, tag), fields uninitialised; wosize > 0. */
static int arena_block(nmc_arena *a, unsigned tag, size_t wosize, nmc_value *out)
{
    if (wosize > NMC_MAX_WOSIZE)
        return NMC_EINVAL;
    nmc_header *hp = nmc_arena_alloc_words(a, wosize + 1);
    if (hp == NULL)
        return NMC_ENOMEM;
    *hp = nmc_make_header(wosize, tag, NMC_COLOR_WHITE);
    *out = (nmc_value)(hp + 1);
    return NMC_OK;
}

int nmc_alloc_block(nmc_arena *arena, unsigned tag, size_t wosize, nmc_value *out)
{
    if (arena == NULL || out == NULL || tag > 255)
        return NMC_EINVAL;
    if (wosize == 0) {
        *out = nmc_atom(tag);
        return NMC_OK;
    }
    int st = arena_block(arena, tag, wosize, out);
    if (st != NMC_OK)
        return st;
    if (tag < NMC_NO_SCAN_TAG) {
        for (size_t i = 0; i < wosize; i++)
            nmc_field(*out, i) = NMC_VAL_UNIT;
    } else {
        memset((void *)*out, 0, wosize * NMC_WORD_SIZE);
    }
    return NMC_OK;
}

int nmc_alloc_tuple(nmc_arena *arena, unsigned tag, size_t n, const nmc_value *fields,
                    nmc_value *out)
{
    if (tag >= NMC_NO_SCAN_TAG || (n > 0 && fields == NULL))
        return NMC_EINVAL;
    int st = nmc_alloc_block(arena, tag, n, out);
    if (st == NMC_OK && n > 0)
        memcpy((void *)*out, fields, n * sizeof(nmc_value));
    return st;
}

int nmc_alloc_string(nmc_arena *arena, const void *bytes, size_t len, nmc_value *out)
{
    if (arena == NULL || out == NULL || (len > 0 && bytes == NULL))
        return NMC_EINVAL;
    if (len > SIZE_MAX - NMC_WORD_SIZE)
        return NMC_EOVERFLOW;
    size_t wosize = nmc_string_wosize(len);
    int st = arena_block(arena, NMC_TAG_STRING, wosize, out);
    if (st != NMC_OK)
        return st;
    unsigned char *s = (unsigned char *)*out;
    size_t bosize = wosize * NMC_WORD_SIZE;
    nmc_field(*out, wosize - 1) = 0;
    if (len > 0)
        memcpy(s, bytes, len);
    s[bosize - 1] = (unsigned char)(bosize - 1 - len);
    return NMC_OK;
}

int nmc_alloc_double(nmc_arena *arena, double d, nmc_value *out)
{
    if (arena == NULL || out == NULL)
        return NMC_EINVAL;
    int st = arena_block(arena, NMC_TAG_DOUBLE, 1, out);
    if (st == NMC_OK)
        nmc_double_field(*out, 0) = d;
    return st;
}

int nmc_alloc_double_array(nmc_arena *arena, const double *d, size_t n, nmc_value *out)
{
    if (arena == NULL || out == NULL || (n > 0 && d == NULL))
        return NMC_EINVAL;
    if (n == 0) {
        *out = nmc_atom(0); /* OCaml's [||] is the tag-0 atom */
        return NMC_OK;
    }
    int st = arena_block(arena, NMC_TAG_DOUBLE_ARRAY, n, out);
    if (st == NMC_OK)
        memcpy((void *)*out, d, n * sizeof(double));
    return st;
}

/* A two-word custom block (ops, payload word) as OCaml's boxed integers. */
static int alloc_boxed(nmc_arena *a, const struct nmc_custom_ops *ops, const void *payload,
                       size_t payload_bytes, nmc_value *out)
{
    if (a == NULL || out == NULL)
        return NMC_EINVAL;
    int st = arena_block(a, NMC_TAG_CUSTOM, 2, out);
    if (st != NMC_OK)
        return st;
    nmc_field(*out, 0) = (nmc_value)ops;
    nmc_field(*out, 1) = 0;
    memcpy(nmc_data_custom_val(*out), payload, payload_bytes);
    return NMC_OK;
}

int nmc_alloc_int32(nmc_arena *arena, int32_t i, nmc_value *out)
{
    return alloc_boxed(arena, &nmc_int32_ops, &i, sizeof i, out);
}

int nmc_alloc_int64(nmc_arena *arena, int64_t i, nmc_value *out)
{
    return alloc_boxed(arena, &nmc_int64_ops, &i, sizeof i, out);
}

int nmc_alloc_nativeint(nmc_arena *arena, intptr_t i, nmc_value *out)
{
    return alloc_boxed(arena, &nmc_nativeint_ops, &i, sizeof i, out);
}

int nmc_alloc_abstract(nmc_arena *arena, size_t wosize, nmc_value *out)
{
    return nmc_alloc_block(arena, NMC_TAG_ABSTRACT, wosize, out);
}

int nmc_alloc_bigarray(nmc_arena *arena, int kind, int layout, int num_dims,
                       const intptr_t *dims, const void *data, nmc_value *out)
{
    if (arena == NULL || out == NULL || dims == NULL || kind < 0 ||
        kind >= NMC_BA_KIND_COUNT ||
        (layout != NMC_BA_C_LAYOUT && layout != NMC_BA_FORTRAN_LAYOUT) || num_dims < 1 ||
        num_dims > NMC_BA_MAX_NUM_DIMS)
        return NMC_EINVAL;
    for (int i = 0; i < num_dims; i++)
        if (dims[i] < 0)
            return NMC_EINVAL;

    size_t wosize = 1 + sizeof(struct nmc_bigarray) / NMC_WORD_SIZE + (size_t)num_dims;
    int st = arena_block(arena, NMC_TAG_CUSTOM, wosize, out);
    if (st != NMC_OK)
        return st;
    nmc_field(*out, 0) = (nmc_value)&nmc_bigarray_ops;
    struct nmc_bigarray *ba = nmc_bigarray_val(*out);
    ba->num_dims = num_dims;
    ba->flags = kind | layout | NMC_BA_MANAGED;
    ba->proxy = NULL;
    memcpy(ba->dim, dims, (size_t)num_dims * sizeof(intptr_t));

    size_t bytes;
    st = nmc_ba_byte_size(ba, &bytes);
    if (st != NMC_OK)
        return st;
    /* bytes + NMC_WORD_SIZE - 1 could wrap (dims {INTPTR_MAX, 2} of chars). */
    size_t words = bytes / NMC_WORD_SIZE + (bytes % NMC_WORD_SIZE != 0);
    ba->data = words == 0 ? NULL : nmc_arena_alloc_words(arena, words);
    if (words != 0 && ba->data == NULL)
        return NMC_ENOMEM;
    if (bytes > 0) {
        if (data != NULL)
            memcpy(ba->data, data, bytes);
        else
            memset(ba->data, 0, bytes);
    }
    return NMC_OK;
}
