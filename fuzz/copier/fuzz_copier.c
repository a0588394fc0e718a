/* Fuzz target: the value copier (nmc_init_value).
 *
 * Input: a header (flags, buffer size, target choice) and a value graph
 * (fuzz/common/decoder.h). Oracle, for every input:
 *   - the copy fails with NMC_EUNSUPPORTED exactly when the graph reaches a
 *     block the flags do not allow, and simulation agrees with the real copy;
 *   - NMC_EOUT_OF_SPACE only when the simulated size does not fit; nothing is
 *     written outside the image (the buffer ends at a guard page and is
 *     surrounded by a canary);
 *   - a successful image passes nmc_image_check, is isomorphic to the input
 *     when it was relocated for its own address, and copying the copy for
 *     the same target address gives the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "nmc/status.h"

static const unsigned flag_choices = NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_COPY_ATOM |
                                     NMC_KEEP_ATOM;

static void check_canary(const struct fuzz_buffer *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        FUZZ_CHECK(b->data[i] == FUZZ_CANARY);
}

/* Copies the image in first (relocated for its own address) once more, for
 * that same target address, and checks the bytes are the same. */
static void check_recopy(const struct fuzz_buffer *first, size_t off, size_t bytelen,
                         const struct nmc_copy_options *opt)
{
    struct fuzz_buffer again;
    FUZZ_CHECK(fuzz_buffer_alloc(off + bytelen, &again));
    nmc_value copy = (nmc_value)(first->data + off + NMC_WORD_SIZE);
    size_t voff, len;
    int st = nmc_init_value((nmc_memory){again.data, again.len}, off, copy, opt, &voff, &len);
    FUZZ_CHECK(st == NMC_OK);
    FUZZ_CHECK(len == bytelen);
    FUZZ_CHECK(memcmp(again.data + off, first->data + off, bytelen) == 0);
    fuzz_buffer_free(&again);
}

static void check_image(const struct fuzz_buffer *b, nmc_value root, size_t off, size_t bytelen,
                        const struct nmc_copy_options *opt)
{
    nmc_memory m = {b->data, b->len};
    FUZZ_CHECK(nmc_image_check(m, off, bytelen, off + NMC_WORD_SIZE, opt) == NMC_OK);
    check_canary(b, 0, off);
    check_canary(b, off + bytelen, b->len);
    if (opt->target_addr == (uintptr_t)b->data) {
        bool same = false;
        FUZZ_CHECK(nmc_isomorphic(root, (nmc_value)(b->data + off + NMC_WORD_SIZE), &same) ==
                   NMC_OK);
        FUZZ_CHECK(same);
        /* only an image relocated for where it lies can be read in place */
        check_recopy(b, off, bytelen, opt);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader r = {data, size, 0};
    unsigned flags = fuzz_u8(&r) & flag_choices;
    size_t off = (fuzz_u8(&r) % 4) * NMC_WORD_SIZE;
    uint16_t space = fuzz_u16(&r);
    uint8_t target_choice = fuzz_u8(&r);

    nmc_arena *arena;
    if (nmc_arena_create(&arena) != NMC_OK)
        return 0;
    nmc_value root;
    if (fuzz_decode_value(&r, arena, &root) != NMC_OK) {
        nmc_arena_destroy(arena);
        return 0;
    }

    struct nmc_copy_options sim = {.flags = flags | NMC_COPY_SIMULATE};
    size_t sim_voff = 0, sim_len = 0;
    int sim_st = nmc_init_value((nmc_memory){NULL, 0}, 0, root, &sim, &sim_voff, &sim_len);
    FUZZ_CHECK((sim_st == NMC_EUNSUPPORTED) == fuzz_expect_unsupported(root, flags));
    FUZZ_CHECK(sim_st == NMC_OK || sim_st == NMC_EUNSUPPORTED);

    /* The buffer: exactly fitting, a little short, or what the input asks. */
    size_t want = sim_st == NMC_OK ? off + sim_len : off + space;
    size_t short_by_a_word = want >= off + NMC_WORD_SIZE ? want - NMC_WORD_SIZE : off;
    size_t len = space % 3 == 0 ? want : space % 3 == 1 ? short_by_a_word : space;
    struct fuzz_buffer b;
    FUZZ_CHECK(fuzz_buffer_alloc(len < off ? off : len, &b));
    struct nmc_copy_options opt = {.flags = flags};
    opt.target_addr = target_choice & 1 ? (uintptr_t)b.data
                                        : (uintptr_t)0x7f0000000000u + (target_choice << 12);
    size_t voff = 0, bytelen = 0;
    int st = nmc_init_value((nmc_memory){b.data, b.len}, off, root, &opt, &voff, &bytelen);

    if (sim_st == NMC_OK && off + sim_len <= b.len) {
        FUZZ_CHECK(st == NMC_OK);
        FUZZ_CHECK(voff == off + NMC_WORD_SIZE && bytelen == sim_len);
        check_image(&b, root, off, bytelen, &opt);
    } else if (sim_st == NMC_OK) {
        FUZZ_CHECK(st == NMC_EOUT_OF_SPACE);
    } else {
        FUZZ_CHECK(st == sim_st || st == NMC_EOUT_OF_SPACE);
    }
    if (st != NMC_OK)
        check_canary(&b, 0, off); /* nothing before the image, whatever happened */
    fuzz_buffer_free(&b);
    nmc_arena_destroy(arena);
    return 0;
}
