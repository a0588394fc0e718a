/* Creating buffers, descriptors, and the writers. */
#include <string.h>

#include "buffer_internal.h"

int nmc_buffer_create(nmc_mempool *pool, size_t bsize, nmc_value header, nmc_buffer **out)
{
    if (out == NULL || bsize == 0 || bsize > NMC_MAX_LONG)
        return NMC_EINVAL;
    nmc_value fields[B_FIELDS];
    for (int i = 0; i < B_FIELDS; i++)
        fields[i] = nmc_val_long(0);
    fields[B_BSIZE] = nmc_val_long(bsize);
    fields[B_RING] = nmc_atom(0); /* no slots yet */
    return ds_create(pool, DS_BUFFER, header, B_FIELDS, fields, (nmc_heap **)out);
}

/* Doubles the ring (at least 4 slots), its blocks from slot 0 on. */
static int grow_ring(nmc_mutator *mut, nmc_heap *h)
{
    nmc_value old = ds_fields(h)[B_RING], ring;
    size_t cap = nmc_wosize_val(old), n = buf_get(h, B_NBLOCKS), head = buf_get(h, B_HEAD);
    int st = nmc_heap_add_uniform_array(mut, cap < 2 ? 4 : 2 * cap, nmc_val_long(0), &ring);
    if (st != NMC_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        nmc_field(ring, i) = nmc_field(old, (head + i) % cap);
    ds_fields(h)[B_RING] = ring;
    buf_set(h, B_HEAD, 0);
    return NMC_OK;
}

/* A new block after the last one. */
static int append_block(nmc_mutator *mut, nmc_heap *h)
{
    size_t n = buf_get(h, B_NBLOCKS);
    nmc_value block;
    int st = n == nmc_wosize_val(ds_fields(h)[B_RING]) ? grow_ring(mut, h) : NMC_OK;
    if (st == NMC_OK)
        st = nmc_heap_add_string(mut, buf_get(h, B_BSIZE), &block);
    if (st != NMC_OK)
        return st;
    nmc_value ring = ds_fields(h)[B_RING];
    nmc_field(ring, (buf_get(h, B_HEAD) + n) % nmc_wosize_val(ring)) = block;
    buf_set(h, B_NBLOCKS, n + 1);
    return NMC_OK;
}

struct bytes {
    const unsigned char *p;
    size_t len;
};

static int add(nmc_mutator *mut, void *ctx)
{
    const struct bytes *src = ctx;
    nmc_heap *h = nmc_heap_of_mutator(mut);
    size_t bsize = buf_get(h, B_BSIZE), length = buf_get(h, B_LENGTH);
    size_t end = buf_get(h, B_START) + length;
    /* Positions are tagged immediates: the end may not pass NMC_MAX_LONG,
     * which is checked before a byte of src is read. */
    if (src->len > NMC_MAX_LONG - end)
        return NMC_EOVERFLOW;
    int st = NMC_OK;
    for (size_t done = 0, k, off; st == NMC_OK && done < src->len; done += k) {
        if (end + done == buf_get(h, B_BASE) + buf_get(h, B_NBLOCKS) * bsize &&
            (st = append_block(mut, h)) != NMC_OK)
            break; /* the length stays: the bytes copied so far are not added */
        nmc_value block = buf_block(h, end + done, &off);
        k = src->len - done < bsize - off ? src->len - done : bsize - off;
        memcpy(nmc_bytes_val(block) + off, src->p + done, k);
    }
    if (st == NMC_OK)
        buf_set(h, B_LENGTH, length + src->len);
    return st;
}

int nmc_buffer_add_submemory(nmc_buffer *b, const void *mem, size_t len)
{
    struct bytes src = {mem, len};
    if (mem == NULL && len > 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(b), add, &src);
}

int nmc_buffer_add_substring(nmc_buffer *b, nmc_value s, size_t off, size_t len)
{
    if (!buf_fits_string(s, off, len))
        return NMC_EINVAL;
    return nmc_buffer_add_submemory(b, nmc_string_val(s) + off, len);
}

int nmc_buffer_add_string(nmc_buffer *b, nmc_value s)
{
    if (!buf_fits_string(s, 0, 0))
        return NMC_EINVAL;
    return nmc_buffer_add_submemory(b, nmc_string_val(s), nmc_string_length(s));
}

static int delete_hd(nmc_mutator *mut, void *ctx)
{
    nmc_heap *h = nmc_heap_of_mutator(mut);
    size_t n = *(const size_t *)ctx, length = buf_get(h, B_LENGTH);
    if (n == SIZE_MAX)
        n = length; /* clear */
    if (n > length)
        return NMC_EINVAL;
    size_t start = buf_get(h, B_START) + n, bsize = buf_get(h, B_BSIZE);
    buf_set(h, B_START, start);
    buf_set(h, B_LENGTH, length - n);
    /* Blocks wholly before start go to the collector. */
    nmc_value ring = ds_fields(h)[B_RING];
    size_t cap = nmc_wosize_val(ring), head = buf_get(h, B_HEAD);
    size_t nblocks = buf_get(h, B_NBLOCKS), base = buf_get(h, B_BASE);
    for (; nblocks > 0 && base + bsize <= start; nblocks--, base += bsize) {
        nmc_field(ring, head) = nmc_val_long(0);
        head = (head + 1) % cap;
    }
    buf_set(h, B_HEAD, head);
    buf_set(h, B_NBLOCKS, nblocks);
    buf_set(h, B_BASE, nblocks > 0 ? base : start);
    return NMC_OK;
}

int nmc_buffer_delete_hd(nmc_buffer *b, size_t n)
{
    if (n == SIZE_MAX)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(b), delete_hd, &n);
}

int nmc_buffer_clear(nmc_buffer *b)
{
    size_t all = SIZE_MAX;
    return nmc_heap_modify(HEAP(b), delete_hd, &all);
}

size_t nmc_buffer_length(const nmc_buffer *b)
{
    return b != NULL ? buf_get(HEAP(b), B_LENGTH) : 0;
}

size_t nmc_buffer_start(const nmc_buffer *b)
{
    return b != NULL ? buf_get(HEAP(b), B_START) : 0;
}

int nmc_buffer_header(const nmc_buffer *b, nmc_value *header)
{
    return ds_header(HEAP(b), header);
}

nmc_heap *nmc_buffer_heap(nmc_buffer *b)
{
    return HEAP(b);
}

uint64_t nmc_buffer_descr(const nmc_buffer *b)
{
    return nmc_heap_descr(HEAP(b));
}

int nmc_buffer_of_descr(nmc_mempool *pool, uint64_t d, nmc_buffer **out)
{
    return ds_of_descr(pool, d, DS_BUFFER, (nmc_heap **)out);
}

int nmc_buffer_destroy(nmc_buffer *b)
{
    return nmc_heap_destroy(HEAP(b));
}
