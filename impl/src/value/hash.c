/* Generic hashing: OCaml 4.13's caml_hash (runtime/hash.c), bit for bit.
 *
 * A breadth-first walk over a fixed queue of at most `limit` (<= 256) values,
 * stopping once `count` meaningful values have been mixed. Each value mixes
 * into a 32-bit MurmurHash3 state (hash_mix.h):
 *   - immediate: the tagged word as a native int (counts);
 *   - string: bytes then length (counts); double: normalised NaN and -0.0
 *     (counts); double array: each element (each counts, stopping at count);
 *   - custom: ops->hash truncated to 32 bits (counts), nothing if no hash;
 *   - abstract: nothing; Object: its oid (counts);
 *   - Forward: followed, at most 1000 links, else the value is skipped;
 *   - Infix: its offset, then the enclosing closure;
 *   - Closure: the header, then its code pointers / closure info words
 *     (count, as OCaml mixes them: outside the heap, so as native ints) and
 *     its environment fields into the queue;
 *   - any other block: the header with color bits cleared (does not
 *     count), fields into the queue.
 * Zero-size blocks have no fields to read: an abstract or double-array one
 * mixes nothing (as in OCaml), any other only its header (OCaml's atoms).
 * Then the final mix, folded to 30 bits. Queue entries that are raw words
 * (closure code pointers) are flagged so they are never dereferenced. No
 * allocation, no recursion; O(limit + count) time.
 */
#include <stdbool.h>

#include "hash_mix.h"
#include "nmc/value.h"

enum { HASH_QUEUE_SIZE = 256, HASH_MAX_FORWARD = 1000 };

/* The walk state of one caml_hash call. */
struct hash_walk {
    nmc_value queue[HASH_QUEUE_SIZE]; /* values to examine, in order       */
    bool raw[HASH_QUEUE_SIZE];        /* queue[i] is a word, not a value   */
    size_t rd;                        /* next entry to examine             */
    size_t wr;                        /* one past the last entry           */
    size_t sz;                        /* most entries ever queued          */
    intptr_t num;                     /* meaningful values still to mix    */
    uint32_t h;                       /* rolling hash                      */
};

static void hash_enqueue(struct hash_walk *w, nmc_value v, bool raw)
{
    if (w->wr < w->sz) {
        w->raw[w->wr] = raw;
        w->queue[w->wr++] = v;
    }
}

static void hash_word(struct hash_walk *w, nmc_value v)
{
    w->h = hash_mix_intnat(w->h, (intptr_t)v);
    w->num--;
}

/* A block whose fields go into the queue: the header (color cleared, not
 * counted), then the fields; the first raw_prefix are words, not values. */
static void hash_fields(struct hash_walk *w, nmc_value v, size_t raw_prefix)
{
    w->h = hash_mix_uint32(w->h, (uint32_t)nmc_hd_with_color(nmc_hd_val(v), NMC_COLOR_WHITE));
    size_t len = nmc_wosize_val(v);
    for (size_t i = 0; i < len && w->wr < w->sz; i++)
        hash_enqueue(w, nmc_field(v, i), i < raw_prefix);
}

/* Closure: code pointers, closure info and infix headers come before the
 * environment, whose start is in the closure info (field 1). */
static void hash_closure(struct hash_walk *w, nmc_value v)
{
    size_t len = nmc_wosize_val(v), startenv = len;
    if (len >= 2 && nmc_is_long(nmc_field(v, 1))) {
        startenv = (size_t)(((uintptr_t)nmc_field(v, 1) << 8) >> 9);
        if (startenv > len)
            startenv = len;
    }
    hash_fields(w, v, startenv);
}

/* Object: its oid (field 1, untagged); without one, an ordinary block. */
static void hash_object(struct hash_walk *w, nmc_value v)
{
    if (nmc_wosize_val(v) < 2)
        hash_fields(w, v, 0);
    else
        hash_word(w, (nmc_value)nmc_long_val(nmc_field(v, 1)));
}

static void hash_custom(struct hash_walk *w, nmc_value v)
{
    const struct nmc_custom_ops *ops = nmc_custom_ops_val(v);
    if (ops != NULL && ops->hash != NULL) {
        w->h = hash_mix_uint32(w->h, ops->hash(v));
        w->num--;
    }
}

static void hash_double_array(struct hash_walk *w, nmc_value v)
{
    size_t len = nmc_wosize_val(v);
    for (size_t i = 0; i < len; i++) {
        w->h = hash_mix_double(w->h, nmc_double_field(v, i));
        if (--w->num <= 0)
            break;
    }
}

/* Follows Forward links; false if still on a Forward after the limit. */
static bool hash_skip_forward(nmc_value *v)
{
    for (int links = 0; links < HASH_MAX_FORWARD; links++) {
        *v = nmc_field(*v, 0);
        if (nmc_is_long(*v) || nmc_tag_val(*v) != NMC_TAG_FORWARD || nmc_wosize_val(*v) == 0)
            return true;
    }
    return false;
}

/* Mixes one queued value. */
static void hash_value(struct hash_walk *w, nmc_value v)
{
    for (;;) { /* loops only to re-examine after Infix / Forward */
        if (nmc_is_long(v)) {
            hash_word(w, v);
            return;
        }
        unsigned tag = nmc_tag_val(v);
        if (nmc_wosize_val(v) == 0 && tag != NMC_TAG_ABSTRACT && tag != NMC_TAG_DOUBLE_ARRAY)
            tag = 0; /* no fields to read: the header alone, as for an atom */
        switch (tag) {
        case NMC_TAG_STRING:
            w->h = hash_mix_bytes(w->h, (const unsigned char *)v, nmc_string_length(v));
            w->num--;
            return;
        case NMC_TAG_DOUBLE:
            w->h = hash_mix_double(w->h, nmc_double_val(v));
            w->num--;
            return;
        case NMC_TAG_DOUBLE_ARRAY:
            hash_double_array(w, v);
            return;
        case NMC_TAG_ABSTRACT:
            return;
        case NMC_TAG_INFIX: {
            uint32_t offset = (uint32_t)nmc_bosize_val(v);
            w->h = hash_mix_uint32(w->h, offset);
            v -= offset;
            continue;
        }
        case NMC_TAG_FORWARD:
            if (!hash_skip_forward(&v))
                return;
            continue;
        case NMC_TAG_OBJECT:
            hash_object(w, v);
            return;
        case NMC_TAG_CUSTOM:
            hash_custom(w, v);
            return;
        case NMC_TAG_CLOSURE:
            hash_closure(w, v);
            return;
        default:
            hash_fields(w, v, 0);
            return;
        }
    }
}

uint32_t nmc_hash_param(int count, int limit, uint32_t seed, nmc_value v)
{
    struct hash_walk w;
    w.sz = limit < 0 || limit > HASH_QUEUE_SIZE ? HASH_QUEUE_SIZE : (size_t)limit;
    w.num = count;
    w.h = seed;
    w.queue[0] = v;
    w.raw[0] = false;
    w.rd = 0;
    w.wr = 1;
    while (w.rd < w.wr && w.num > 0) {
        size_t i = w.rd++;
        if (w.raw[i])
            hash_word(&w, w.queue[i]);
        else
            hash_value(&w, w.queue[i]);
    }
    return hash_final_mix(w.h) & 0x3FFFFFFFu;
}

uint32_t nmc_hash(nmc_value v) { return nmc_hash_param(10, 100, 0, v); }
