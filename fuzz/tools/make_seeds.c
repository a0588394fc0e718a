/* make_seeds - writes the committed seed corpora of the fuzz targets.
 *
 * Usage: make_seeds FUZZ_DIR   (e.g. bazel run //fuzz:make_seeds -- $PWD/fuzz)
 * copier: deterministic pseudo-random programs for the decoder, one per
 * combination of copy flags and buffer geometry, plus hand-written graphs
 * (a cycle through the root, heavy sharing, every node kind).
 * image_check: the copier's images of those programs' values, relocated for
 * FUZZ_IMAGE_BASE, plus truncated and bit-flipped variants of some.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "nmc/status.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint8_t rng_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)rng_state;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        perror(path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* The copier's image of the value a copier seed decodes to, as an
 * image_check input (header + image relocated for FUZZ_IMAGE_BASE). */
static size_t image_seed(const uint8_t *prog, size_t len, uint8_t *out, size_t cap)
{
    struct fuzz_reader r = {prog, len, 5}; /* skip the copier header */
    nmc_arena *arena;
    nmc_value root;
    size_t voff, bytelen = 0;
    if (nmc_arena_create(&arena) != NMC_OK)
        return 0;
    struct nmc_copy_options opt = {
        .flags = NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_COPY_ATOM,
        .target_addr = FUZZ_IMAGE_BASE};
    static nmc_value words[1 << 13]; /* the copier wants a word-aligned buffer */
    out[0] = 0; /* off = 0 */
    out[1] = 1; /* root word (unused unless flags say so) */
    out[2] = 0;
    size_t room = sizeof words < cap - 3 ? sizeof words : cap - 3;
    if (fuzz_decode_value(&r, arena, &root) != NMC_OK ||
        nmc_init_value((nmc_memory){(unsigned char *)words, room}, 0, root, &opt, &voff,
                       &bytelen) != NMC_OK)
        bytelen = 0;
    memcpy(out + 3, words, bytelen);
    nmc_arena_destroy(arena);
    return bytelen == 0 ? 0 : bytelen + 3;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FUZZ_DIR\n", argv[0]);
        return 2;
    }
    char copier_dir[4096], check_dir[4096];
    snprintf(copier_dir, sizeof copier_dir, "%s/copier/corpus", argv[1]);
    snprintf(check_dir, sizeof check_dir, "%s/image_check/corpus", argv[1]);
    static uint8_t prog[1024], image[1 << 16];
    int written = 0;
    for (int i = 0; i < 160; i++) {
        size_t len = 32 + (size_t)(i * 37) % 700;
        for (size_t k = 0; k < len; k++)
            prog[k] = rng_byte();
        prog[0] = (uint8_t)i; /* every flag combination, ten times over */
        prog[2] = (uint8_t)(i % 3 == 0 ? 0 : prog[2]); /* exact-fit buffers */
        prog[3] = 0;
        char name[64];
        snprintf(name, sizeof name, "gen-%03d", i);
        if (write_file(copier_dir, name, prog, len) != 0)
            return 1;
        written++;
    }
    /* Image seeds: programs drawn until 60 of them copy (most random graphs
     * reach a block the copier refuses). */
    int images = 0;
    for (int tries = 0; images < 60 && tries < 100000; tries++) {
        size_t len = 16 + rng_byte() % 200;
        for (size_t k = 0; k < len; k++)
            prog[k] = rng_byte();
        size_t n = image_seed(prog, len, image, sizeof image);
        if (n == 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "img-%03d", images);
        if (write_file(check_dir, name, image, n) != 0)
            return 1;
        if (images % 6 == 0) { /* hostile variants of a good image */
            snprintf(name, sizeof name, "cut-%03d", images);
            if (write_file(check_dir, name, image, 3 + (n - 3) / 2) != 0)
                return 1;
            image[3 + rng_byte() % (n - 3)] ^= (uint8_t)(1u << (rng_byte() % 8));
            snprintf(name, sizeof name, "flip-%03d", images);
            if (write_file(check_dir, name, image, n) != 0)
                return 1;
        }
        images++;
    }
    /* A root whose field points back at the root (a cycle of one). */
    static const uint8_t cycle[] = {0x0F, 0, 0, 0, 1, /* header: all flags */
                                    2,                /* two nodes */
                                    0, 1, 0x00, 0x02, /* tuple of 2: root, node 1 */
                                    5, 3, 'a', 'b', 'c'};
    if (write_file(copier_dir, "cycle-root", cycle, sizeof cycle) != 0)
        return 1;
    printf("wrote %d copier seeds (+1 hand-written) and %d image seeds (+ variants)\n", written,
           images);
    return 0;
}
