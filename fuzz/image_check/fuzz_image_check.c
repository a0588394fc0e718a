/* Fuzz target: the image verifier (nmc_image_check) on hostile bytes.
 *
 * Input: a header (offset, root offset, flags) and raw image bytes, placed in
 * a buffer that ends at a guard page. Inputs express pointers as if the
 * buffer were mapped at FUZZ_IMAGE_BASE (so seeds made by the copier stay
 * valid wherever the buffer lands): every word in
 * [FUZZ_IMAGE_BASE, FUZZ_IMAGE_BASE + len) is rebased to the real buffer. The verifier must
 * return without reading outside the image. Whatever it accepts must be safe
 * to use: every block reachable from the root is walked and read, and the
 * value copies again (success or NMC_EOUT_OF_SPACE only) into an image that
 * the verifier also accepts.
 */
#include <string.h>

#include "decoder.h"
#include "nmc/status.h"

enum { WALK_MAX = 4096 };

/* Rebases words that point into [FUZZ_IMAGE_BASE, + len) onto the buffer. */
static void rebase(struct fuzz_buffer *b)
{
    for (size_t i = 0; i + NMC_WORD_SIZE <= b->len; i += NMC_WORD_SIZE) {
        uint64_t w;
        memcpy(&w, b->data + i, sizeof w);
        if (w >= FUZZ_IMAGE_BASE && w - FUZZ_IMAGE_BASE < b->len) {
            w = w - FUZZ_IMAGE_BASE + (uintptr_t)b->data;
            memcpy(b->data + i, &w, sizeof w);
        }
    }
}

/* Reads every word of every block reachable from root (iteratively). */
static void walk(nmc_value root)
{
    static nmc_value stack[WALK_MAX], seen[WALK_MAX];
    size_t top = 0, nseen = 0;
    stack[top++] = root;
    seen[nseen++] = root;
    volatile nmc_value sink = 0;
    while (top > 0) {
        nmc_value v = stack[--top];
        size_t n = nmc_wosize_val(v);
        for (size_t i = 0; i < n; i++) {
            nmc_value f = nmc_field(v, i);
            sink ^= f;
            if (nmc_tag_val(v) >= NMC_NO_SCAN_TAG || !nmc_is_block(f) || nmc_is_atom(f))
                continue;
            bool known = false;
            for (size_t k = 0; k < nseen && !known; k++)
                known = seen[k] == f;
            if (!known && nseen < WALK_MAX) {
                seen[nseen++] = f;
                stack[top++] = f;
            }
        }
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size, 0};
    size_t off = (fuzz_u8(&r) % 4) * NMC_WORD_SIZE;
    size_t root_word = fuzz_u8(&r);
    uint8_t flags = fuzz_u8(&r);
    size_t body = size > r.pos ? size - r.pos : 0;

    struct fuzz_buffer b;
    FUZZ_CHECK(fuzz_buffer_alloc(off + body, &b));
    memcpy(b.data + off, data + r.pos, b.len - off);
    rebase(&b);
    size_t bytelen = b.len - off;
    /* Mostly the image's real root (off + 8); sometimes anywhere. */
    size_t voffset = flags & 0x80 ? off + root_word * NMC_WORD_SIZE : off + NMC_WORD_SIZE;
    struct nmc_copy_options opt = {.flags = 0, .target_addr = (uintptr_t)b.data};
    nmc_memory m = {b.data, b.len};

    if (nmc_image_check(m, off, bytelen, voffset, &opt) == NMC_OK) {
        nmc_value root = (nmc_value)(b.data + voffset);
        walk(root);
        struct fuzz_buffer again;
        FUZZ_CHECK(fuzz_buffer_alloc(bytelen + NMC_WORD_SIZE, &again));
        struct nmc_copy_options copy_opt = {
            .flags = NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_KEEP_ATOM | NMC_COPY_ATOM,
            .target_addr = (uintptr_t)again.data};
        size_t voff, len;
        int st = nmc_init_value((nmc_memory){again.data, again.len}, 0, root, &copy_opt, &voff,
                                &len);
        FUZZ_CHECK(st == NMC_OK || st == NMC_EOUT_OF_SPACE);
        if (st == NMC_OK)
            FUZZ_CHECK(nmc_image_check((nmc_memory){again.data, again.len}, 0, len, voff,
                                       &copy_opt) == NMC_OK);
        fuzz_buffer_free(&again);
    }
    fuzz_buffer_free(&b);
    return 0;
}
