/* image_check.c - nmc_image_check: is a buffer a well-formed value image?
 *
 * An image (as nmc_init_value writes it) is a sequence of blocks laid end to
 * end from off to off + bytelen; a bigarray block is followed by its data
 * (an Abstract header of wosize 0, the data length in words, the data).
 *
 * Two linear walks over the image, block by block:
 *   1. every header is checked (a copyable tag, the block fits in what is
 *      left, strings padded as OCaml pads them, doubles one word, boxed
 *      integers two words with a known ops record, bigarrays with a known
 *      ops record, 1..16 dims, a valid kind, non-negative extents, a data
 *      size that does not overflow, marked external, and their data inline
 *      just behind them with the data pointer at it); the start of every
 *      block is set in a bitmap (one bit per word);
 *   2. the same walk again, now checking that every field of a structured
 *      block is an immediate, a pointer to a block start of the image (as
 *      relocated for target_addr), one of this process's atoms of a tag the
 *      copier keeps (structured or Double_array), or inside
 *      one of opt's ranges.
 * Finally voffset must be a block start.
 *
 * nmc_image_move runs the same check on a private buffer and, in the
 * second walk, rewrites every pointer into the image (and a bigarray's
 * data pointer) from the address the image was made for to where it lies:
 * each field is read once, checked against the original target and then
 * written shifted, so the walk never reads a rewritten word.
 *
 * Bounds: every word is read once into a local before it is used, and only
 * after checking that it lies inside [m.data + off, m.data + off + bytelen),
 * so even a buffer that another process rewrites during the check cannot
 * make it read outside. Sizes are compared as word counts against the words
 * left, so nothing overflows. Cost: O(bytelen) time, bytelen / 64 bytes of
 * bitmap.
 */
#include <stdlib.h>
#include <string.h>

#include "copier_internal.h"
#include "nmc/status.h"

/* One verification. */
struct check_job {
    unsigned char *image;          /* m.data + off (written only by a move) */
    size_t words;                  /* image length in words                 */
    uintptr_t target;              /* address the image's first byte has    */
    uintptr_t shift;               /* nmc_image_move: where it lies - target */
    uint64_t *starts;              /* bitmap: a block header at word i      */
    const struct nmc_copy_options *opt; /* target ops, ranges (may be NULL) */
    const struct nmc_custom_ops *ops[COPIER_CUSTOM_KINDS]; /* this process's */
};

static nmc_value word_at(const struct check_job *j, size_t w)
{
    nmc_value x;
    memcpy(&x, j->image + w * NMC_WORD_SIZE, sizeof x);
    return x;
}

static void set_word(const struct check_job *j, size_t w, nmc_value x)
{
    memcpy(j->image + w * NMC_WORD_SIZE, &x, sizeof x);
}

static bool is_start(const struct check_job *j, size_t w)
{
    return (j->starts[w / 64] >> (w % 64)) & 1u;
}

/* The kind of a custom block's ops pointer, COPIER_CUSTOM_KINDS if it is
 * not a record the receiver knows. Never dereferences ops itself. */
static enum copier_custom_kind ops_kind(const struct check_job *j, uintptr_t ops)
{
    if (j->opt != NULL && j->opt->target_ops != NULL) {
        for (size_t i = 0; i < j->opt->n_target_ops; i++) {
            const struct nmc_custom_ops *t = j->opt->target_ops[i];
            if (t != NULL && (uintptr_t)t == ops)
                return copier_custom_kind_of(t->identifier);
        }
        return COPIER_CUSTOM_KINDS;
    }
    for (int k = 0; k < COPIER_CUSTOM_KINDS; k++)
        if (j->ops[k] != NULL && (uintptr_t)j->ops[k] == ops)
            return (enum copier_custom_kind)k;
    return COPIER_CUSTOM_KINDS;
}

/* A String of wosize words at word w: the last byte says how many padding
 * bytes precede it (0..7), and those are zero. */
static bool string_ok(const struct check_job *j, size_t w, size_t wosize)
{
    nmc_value last = word_at(j, w + wosize);
    unsigned char bytes[NMC_WORD_SIZE];
    memcpy(bytes, &last, sizeof bytes);
    unsigned pad = bytes[NMC_WORD_SIZE - 1];
    if (pad >= NMC_WORD_SIZE)
        return false;
    for (unsigned i = NMC_WORD_SIZE - 1 - pad; i < NMC_WORD_SIZE - 1; i++)
        if (bytes[i] != 0)
            return false;
    return true;
}

/* A bigarray block of wosize words at word w and its inline data; *next is
 * the word after the data. */
static bool bigarray_ok(const struct check_job *j, size_t w, size_t wosize, size_t *next)
{
    /* the descriptor (the words after header and ops), copied out */
    _Alignas(struct nmc_bigarray) unsigned char
        d[sizeof(struct nmc_bigarray) + NMC_BA_MAX_NUM_DIMS * sizeof(intptr_t)];
    if (wosize < COPIER_BA_WOSIZE(1) || wosize > COPIER_BA_WOSIZE(NMC_BA_MAX_NUM_DIMS))
        return false;
    memcpy(d, j->image + (w + 2) * NMC_WORD_SIZE, (wosize - 1) * NMC_WORD_SIZE);
    const struct nmc_bigarray *ba = (const struct nmc_bigarray *)d;
    size_t data_bytes;
    if (wosize != COPIER_BA_WOSIZE(ba->num_dims) || ba->proxy != NULL ||
        (ba->flags & NMC_BA_MANAGED_MASK) != NMC_BA_EXTERNAL ||
        copier_ba_data_bytes(ba, &data_bytes) != NMC_OK)
        return false;
    size_t prefix = w + wosize + 1; /* the pseudo-header's word */
    size_t left = j->words - prefix;
    if (left < 2 || (word_at(j, prefix) & ~((nmc_header)3u << 8)) != COPIER_BA_DATA_HEADER)
        return false;
    size_t data_words = word_at(j, prefix + 1);
    size_t need_words = data_bytes / NMC_WORD_SIZE + (data_bytes % NMC_WORD_SIZE != 0);
    if (data_words > left - 2 || data_words != need_words)
        return false;
    if ((uintptr_t)ba->data != j->target + (prefix + 2) * NMC_WORD_SIZE)
        return false;
    if (j->shift != 0) /* the data pointer: the first word after header and ops */
        set_word(j, w + 2, (nmc_value)ba->data + j->shift);
    *next = prefix + 2 + data_words;
    return true;
}

static bool custom_ok(const struct check_job *j, size_t w, size_t wosize, size_t *next)
{
    if (wosize < 1)
        return false;
    enum copier_custom_kind kind = ops_kind(j, word_at(j, w + 1));
    if (kind == COPIER_CUSTOM_KINDS)
        return false;
    if (kind == COPIER_CUSTOM_BIGARRAY)
        return bigarray_ok(j, w, wosize, next);
    *next = w + wosize + 1;
    return wosize == 2;
}

/* Whether v points at a block of the image. */
static bool into_image(const struct check_job *j, nmc_value v)
{
    uintptr_t rel = v - j->target; /* wraps for addresses below the image */
    return rel % NMC_WORD_SIZE == 0 && rel >= NMC_WORD_SIZE && rel / NMC_WORD_SIZE <= j->words &&
           is_start(j, rel / NMC_WORD_SIZE - 1);
}

/* A pointer field's value: a block of the image, an atom, or in a range. */
static bool pointer_ok(const struct check_job *j, nmc_value v)
{
    if (into_image(j, v))
        return true;
    if (nmc_is_atom(v)) /* only atoms the copier could have kept */
        return nmc_tag_val(v) < NMC_TAG_LAZY || nmc_tag_val(v) == NMC_TAG_DOUBLE_ARRAY;
    if (j->opt != NULL)
        for (size_t i = 0; i < j->opt->n_ranges; i++)
            if (v >= j->opt->ranges[i].start && v < j->opt->ranges[i].end)
                return true;
    return false;
}

static bool fields_ok(const struct check_job *j, size_t w, size_t wosize)
{
    for (size_t i = 1; i <= wosize; i++) {
        nmc_value v = word_at(j, w + i);
        if (nmc_is_block(v) && !pointer_ok(j, v))
            return false;
        if (j->shift != 0 && nmc_is_block(v) && into_image(j, v))
            set_word(j, w + i, v + j->shift);
    }
    return true;
}

/* Checks the block whose header is at word w; *next: the word after it. */
static bool block_ok(const struct check_job *j, size_t w, bool pointers, size_t *next)
{
    nmc_header hd = word_at(j, w);
    size_t wosize = nmc_hd_wosize(hd);
    if (wosize > j->words - w - 1)
        return false;
    *next = w + wosize + 1;
    unsigned tag = nmc_hd_tag(hd);
    if (tag < NMC_TAG_LAZY)
        return !pointers || fields_ok(j, w, wosize);
    switch (tag) {
    case NMC_TAG_STRING:
        return wosize >= 1 && string_ok(j, w, wosize);
    case NMC_TAG_DOUBLE:
        return wosize == 1;
    case NMC_TAG_DOUBLE_ARRAY:
        return true;
    case NMC_TAG_CUSTOM:
        return custom_ok(j, w, wosize, next);
    default: /* Lazy, Closure, Object, Infix, Forward, stray Abstract */
        return false;
    }
}

/* One walk over the whole image; the first records block starts. */
static bool walk(struct check_job *j, bool pointers)
{
    size_t w = 0;
    while (w < j->words) {
        size_t next;
        if (!block_ok(j, w, pointers, &next))
            return false;
        if (!pointers)
            j->starts[w / 64] |= (uint64_t)1 << (w % 64);
        w = next;
    }
    return true;
}

static int check_args(nmc_memory m, size_t off, size_t bytelen,
                      const struct nmc_copy_options *opt)
{
    if (m.data == NULL || off > m.len || bytelen > m.len - off ||
        (uintptr_t)(m.data + off) % NMC_WORD_SIZE != 0)
        return NMC_EINVAL;
    if (opt != NULL && (opt->target_addr % NMC_WORD_SIZE != 0 ||
                        (opt->n_ranges > 0 && opt->ranges == NULL) ||
                        (opt->n_target_ops > 0 && opt->target_ops == NULL)))
        return NMC_EINVAL;
    return NMC_OK;
}

/* nmc_image_check, moving the image to where it lies when move is set. */
static int check(nmc_memory m, size_t off, size_t bytelen, size_t voffset,
                 const struct nmc_copy_options *opt, bool move)
{
    int st = check_args(m, off, bytelen, opt);
    if (st != NMC_OK)
        return st;
    if (bytelen == 0 || bytelen % NMC_WORD_SIZE != 0 || voffset < off ||
        voffset - off < NMC_WORD_SIZE || voffset - off > bytelen ||
        (voffset - off) % NMC_WORD_SIZE != 0)
        return NMC_ECORRUPT;
    uintptr_t base = opt != NULL && opt->target_addr != 0 ? opt->target_addr : (uintptr_t)m.data;
    struct check_job j = {
        .image = m.data + off,
        .words = bytelen / NMC_WORD_SIZE,
        .target = base + off,
        .opt = opt,
    };
    for (int k = 0; k < COPIER_CUSTOM_KINDS; k++)
        j.ops[k] = nmc_custom_ops_find(copier_custom_ids[k]);
    j.starts = calloc(j.words / 64 + 1, sizeof *j.starts);
    if (j.starts == NULL)
        return NMC_ENOMEM;
    bool ok = walk(&j, false) && is_start(&j, (voffset - off) / NMC_WORD_SIZE - 1);
    j.shift = move ? (uintptr_t)(m.data + off) - j.target : 0;
    ok = ok && walk(&j, true);
    free(j.starts);
    return ok ? NMC_OK : NMC_ECORRUPT;
}

int nmc_image_check(nmc_memory m, size_t off, size_t bytelen, size_t voffset,
                    const struct nmc_copy_options *opt)
{
    return check(m, off, bytelen, voffset, opt, false);
}

int nmc_image_move(nmc_memory m, size_t off, size_t bytelen, size_t voffset,
                   const struct nmc_copy_options *opt)
{
    return check(m, off, bytelen, voffset, opt, true);
}
