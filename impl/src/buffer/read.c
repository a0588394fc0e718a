/* The readers: copies out under the lock, and access under a pin. */
#include <string.h>

#include "buffer_internal.h"

/* A copy of the bytes [pos, pos + len) (all of them with `all`) to dst,
 * or to a new string in arena. */
struct copy_out {
    size_t pos, len;
    bool all;
    unsigned char *dst;
    nmc_arena *arena;
    nmc_value *out;
};

/* Whether [pos, pos + len) lies in the buffer. */
static bool in_buffer(const nmc_heap *h, size_t pos, size_t len)
{
    size_t start = buf_get(h, B_START), length = buf_get(h, B_LENGTH);
    return pos >= start && pos - start <= length && len <= length - (pos - start);
}

/* A string of len bytes in arena, contents undefined. */
static int new_string(nmc_arena *arena, size_t len, nmc_value *out)
{
    size_t wosize = nmc_string_wosize(len), bytes = wosize * NMC_WORD_SIZE;
    nmc_header *p = nmc_arena_alloc_words(arena, wosize + 1);
    if (p == NULL)
        return NMC_ENOMEM;
    p[0] = nmc_make_header(wosize, NMC_TAG_STRING, NMC_COLOR_WHITE);
    p[wosize] = 0;
    ((unsigned char *)(p + 1))[bytes - 1] = (unsigned char)(bytes - 1 - len); /* padding */
    *out = (nmc_value)(p + 1);
    return NMC_OK;
}

static int copy_out(nmc_mutator *mut, void *ctx)
{
    struct copy_out *c = ctx;
    nmc_heap *h = nmc_heap_of_mutator(mut);
    size_t bsize = buf_get(h, B_BSIZE);
    if (c->all) {
        c->pos = buf_get(h, B_START);
        c->len = buf_get(h, B_LENGTH);
    }
    if (!in_buffer(h, c->pos, c->len))
        return NMC_EINVAL;
    if (c->arena != NULL) {
        int st = new_string(c->arena, c->len, c->out);
        if (st != NMC_OK)
            return st;
        c->dst = (unsigned char *)*c->out;
    }
    for (size_t done = 0, k, off; done < c->len; done += k) {
        nmc_value block = buf_block(h, c->pos + done, &off);
        k = c->len - done < bsize - off ? c->len - done : bsize - off;
        memcpy(c->dst + done, nmc_string_val(block) + off, k);
    }
    return NMC_OK;
}

int nmc_buffer_contents(nmc_buffer *b, nmc_arena *arena, nmc_value *out)
{
    struct copy_out c = {.all = true, .arena = arena, .out = out};
    if (arena == NULL || out == NULL)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(b), copy_out, &c);
}

int nmc_buffer_sub(nmc_buffer *b, size_t pos, size_t len, nmc_arena *arena, nmc_value *out)
{
    struct copy_out c = {.pos = pos, .len = len, .arena = arena, .out = out};
    if (arena == NULL || out == NULL)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(b), copy_out, &c);
}

int nmc_buffer_blit_to_memory(nmc_buffer *b, size_t pos, void *mem, size_t len)
{
    struct copy_out c = {.pos = pos, .len = len, .dst = mem};
    if (mem == NULL && len > 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(b), copy_out, &c);
}

int nmc_buffer_blit_to_bytes(nmc_buffer *b, size_t pos, nmc_value bytes, size_t off, size_t len)
{
    if (!buf_fits_string(bytes, off, len))
        return NMC_EINVAL;
    return nmc_buffer_blit_to_memory(b, pos, nmc_bytes_val(bytes) + off, len);
}

struct access {
    size_t pos, off, len;
    int (*fn)(nmc_value s, size_t off, size_t len, void *ctx);
    void *ctx;
};

/* ds_find_fn of access: the block of pos, under the lock. */
static int find_block(nmc_heap *h, const void *args, nmc_value *v)
{
    struct access *a = (struct access *)args;
    if (!in_buffer(h, a->pos, 1))
        return NMC_EINVAL;
    size_t bsize = buf_get(h, B_BSIZE);
    size_t left = buf_get(h, B_START) + buf_get(h, B_LENGTH) - a->pos;
    *v = buf_block(h, a->pos, &a->off);
    a->len = bsize - a->off < left ? bsize - a->off : left;
    return NMC_OK;
}

static int call_access(nmc_value block, void *ctx)
{
    const struct access *a = ctx;
    return a->fn(block, a->off, a->len, a->ctx);
}

int nmc_buffer_access(nmc_buffer *b, size_t pos,
                      int (*fn)(nmc_value s, size_t off, size_t len, void *ctx), void *ctx)
{
    struct access a = {.pos = pos, .fn = fn, .ctx = ctx};
    if (fn == NULL)
        return NMC_EINVAL;
    return ds_read_p(HEAP(b), find_block, &a, call_access, &a);
}
