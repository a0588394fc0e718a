/* fuzz/common/decoder.h - fuzzer bytes to value graphs, and the checks the
 * fuzz targets share.
 *
 * The decoder reads the input as a little program: a short header choosing
 * copy flags and buffer geometry, then one opcode per node (block, string,
 * double, double array, boxed integers, bigarray, abstract, atom, or a block
 * of a tag the copier must refuse). Structured blocks name their fields as
 * immediates or as references to any node, earlier or later, so sharing and
 * cycles (to the root too) come out of plain bytes. Past the end of the
 * input every read yields 0, so any byte string decodes. Sizes are bounded
 * so that one input runs in well under a millisecond.
 */
#ifndef NMC_FUZZ_DECODER_H
#define NMC_FUZZ_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/mem.h"
#include "nmc/value.h"

enum { FUZZ_MAX_NODES = 48 };

/* The address image_check inputs are relocated for (see fuzz_image_check.c). */
#define FUZZ_IMAGE_BASE ((uint64_t)0x10000000000u)

struct fuzz_reader {
    const uint8_t *data; /* the input                   */
    size_t len;          /* its length                  */
    size_t pos;          /* next byte to read           */
};

uint8_t fuzz_u8(struct fuzz_reader *r);
uint16_t fuzz_u16(struct fuzz_reader *r);
uint64_t fuzz_u64(struct fuzz_reader *r);

/* Decodes a value graph into arena; *root is always a block (a tuple is
 * made around an immediate). NMC_ENOMEM is the only failure. */
int fuzz_decode_value(struct fuzz_reader *r, nmc_arena *arena, nmc_value *root);

/* Whether copying root with these flags must fail with NMC_EUNSUPPORTED:
 * a reachable block of a refused kind (the copier's documented rules). */
bool fuzz_expect_unsupported(nmc_value root, unsigned flags);

/* A buffer of len bytes whose last byte sits just before a PROT_NONE page,
 * filled with a canary byte; fuzz_buffer_free releases it. */
struct fuzz_buffer {
    unsigned char *data; /* len usable bytes            */
    size_t len;          /* usable length               */
    void *map;           /* the whole mapping           */
    size_t map_len;      /* its length                  */
};
enum { FUZZ_CANARY = 0xC5 };
bool fuzz_buffer_alloc(size_t len, struct fuzz_buffer *b);
void fuzz_buffer_free(struct fuzz_buffer *b);

/* Dies loudly: the signal of a finding for libFuzzer and the replay. */
#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fuzz_fail(#cond, __FILE__, __LINE__);                              \
        }                                                                      \
    } while (0)
_Noreturn void fuzz_fail(const char *what, const char *file, int line);

#endif
