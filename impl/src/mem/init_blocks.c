/* Values in buffers: as_value, value_area, cmp_string and the block
 * initialisers init_header / init_string / init_array / init_float_array.
 *
 * An initialiser lays out one block at mem + off: the header word (colour
 * white) followed by wosize words, so it needs (wosize + 1) words of room;
 * the value is at off + one word. It checks, before writing anything, that
 * the header address is word-aligned (NMC_EINVAL) and that the whole block
 * fits in [off, len) (NMC_EOUT_OF_SPACE). wosize is bounded by
 * NMC_MAX_WOSIZE (2^54 - 1), so (wosize + 1) * 8 cannot overflow; a
 * request beyond it cannot fit any buffer and is NMC_EOUT_OF_SPACE. The
 * _bytelen functions return SIZE_MAX for such requests.
 */
#include <string.h>

#include "mem_internal.h"
#include "nmc/mem.h"
#include "nmc/status.h"

/* Bytes of a block of wosize fields, header included, or SIZE_MAX when
 * wosize is beyond NMC_MAX_WOSIZE. */
static size_t block_bytes(size_t wosize)
{
    return wosize > NMC_MAX_WOSIZE ? SIZE_MAX : (wosize + 1) * NMC_WORD_SIZE;
}

/* Checks that a block of wosize fields fits word-aligned at m + off and
 * writes its header; *hp is the header's address. */
static int place_block(nmc_memory m, size_t off, unsigned tag, size_t wosize, nmc_header **hp)
{
    if (m.data == NULL || ((uintptr_t)m.data + off) % NMC_WORD_SIZE != 0 || tag > 0xFF)
        return NMC_EINVAL;
    size_t bytes = block_bytes(wosize);
    if (bytes == SIZE_MAX || !mem_range_ok(m.len, off, bytes))
        return NMC_EOUT_OF_SPACE;
    *hp = (nmc_header *)(m.data + off);
    **hp = nmc_make_header(wosize, tag, NMC_COLOR_WHITE);
    return NMC_OK;
}

/* Stores the results common to every initialiser. */
static void report_block(size_t off, size_t wosize, size_t *voffset, size_t *bytelen)
{
    if (voffset != NULL)
        *voffset = off + NMC_WORD_SIZE;
    if (bytelen != NULL)
        *bytelen = block_bytes(wosize);
}

/* The value whose first field is at m + off (unchecked). */
nmc_value nmc_as_value(nmc_memory m, size_t off) { return (nmc_value)(m.data + off); }

/* NMC_OK if m is non-empty and word-aligned, else NMC_EINVAL (see
 * nmc/mem.h: there is no runtime to register the area with). */
int nmc_value_area(nmc_memory m)
{
    if (m.data == NULL || m.len == 0 || (uintptr_t)m.data % NMC_WORD_SIZE != 0)
        return NMC_EINVAL;
    return NMC_OK;
}

/* String.compare: bytes compared unsigned over the common prefix, then the
 * shorter string first. Returns -1, 0 or 1. */
int nmc_cmp_string(nmc_value a, nmc_value b)
{
    if (a == b)
        return 0;
    size_t la = nmc_string_length(a), lb = nmc_string_length(b);
    int c = memcmp((const void *)a, (const void *)b, la < lb ? la : lb);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

/* Writes the header of a block of wosize fields with tag at m + off; the
 * fields are left as they are. NMC_EINVAL (misaligned, NULL data, tag >
 * 255) or NMC_EOUT_OF_SPACE (block does not fit). */
int nmc_init_header(nmc_memory m, size_t off, unsigned tag, size_t wosize)
{
    nmc_header *hp;
    return place_block(m, off, tag, wosize, &hp);
}

/* Words of a String of len bytes, or SIZE_MAX (which no block fits) when
 * nmc_string_wosize would wrap. */
static size_t string_wosize(size_t len)
{
    return len > SIZE_MAX - NMC_WORD_SIZE ? SIZE_MAX : nmc_string_wosize(len);
}

/* Bytes nmc_init_string uses for len bytes (SIZE_MAX if impossible). */
size_t nmc_init_string_bytelen(size_t len) { return block_bytes(string_wosize(len)); }

/* A String of len bytes: header, the last word zeroed and its last byte
 * the padding count (bosize - 1 - len); the other bytes are left as they
 * are. Errors as nmc_init_header. */
int nmc_init_string(nmc_memory m, size_t off, size_t len, size_t *voffset, size_t *bytelen)
{
    size_t wosize = string_wosize(len);
    nmc_header *hp;
    int st = place_block(m, off, NMC_TAG_STRING, wosize, &hp);
    if (st != NMC_OK)
        return st;
    size_t bosize = wosize * NMC_WORD_SIZE;
    hp[wosize] = 0;
    ((unsigned char *)(hp + 1))[bosize - 1] = (unsigned char)(bosize - 1 - len);
    report_block(off, wosize, voffset, bytelen);
    return NMC_OK;
}

/* Bytes nmc_init_array uses for n fields (SIZE_MAX if impossible). */
size_t nmc_init_array_bytelen(size_t n) { return block_bytes(n); }

/* A tag-0 block of n fields, each unit. Errors as nmc_init_header. */
int nmc_init_array(nmc_memory m, size_t off, size_t n, size_t *voffset, size_t *bytelen)
{
    nmc_header *hp;
    int st = place_block(m, off, 0, n, &hp);
    if (st != NMC_OK)
        return st;
    for (size_t i = 1; i <= n; i++)
        hp[i] = NMC_VAL_UNIT;
    report_block(off, n, voffset, bytelen);
    return NMC_OK;
}

/* Bytes nmc_init_float_array uses for n doubles (SIZE_MAX if impossible). */
size_t nmc_init_float_array_bytelen(size_t n) { return block_bytes(n); }

/* A Double_array of n zeros (one word per double). Errors as
 * nmc_init_header. */
int nmc_init_float_array(nmc_memory m, size_t off, size_t n, size_t *voffset, size_t *bytelen)
{
    nmc_header *hp;
    int st = place_block(m, off, NMC_TAG_DOUBLE_ARRAY, n, &hp);
    if (st != NMC_OK)
        return st;
    for (size_t i = 1; i <= n; i++)
        ((double *)hp)[i] = 0.0;
    report_block(off, n, voffset, bytelen);
    return NMC_OK;
}
