/* hash_mix.h - OCaml's hash mixing primitives (runtime/hash.c, 4.x).
 *
 * MurmurHash3's 32-bit block mix and finaliser, and the typed mixers OCaml
 * builds on them. They are bit-for-bit those of OCaml so that nmc_hash and
 * the custom blocks' hash functions give OCaml's Hashtbl.hash results.
 * Private to the value module.
 */
#ifndef NMC_VALUE_HASH_MIX_H
#define NMC_VALUE_HASH_MIX_H

#include <stdint.h>
#include <string.h>

static inline uint32_t hash_rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static inline uint32_t hash_mix_uint32(uint32_t h, uint32_t d)
{
    d *= 0xcc9e2d51u;
    d = hash_rotl32(d, 15);
    d *= 0x1b873593u;
    h ^= d;
    h = hash_rotl32(h, 13);
    return h * 5 + 0xe6546b64u;
}

static inline uint32_t hash_final_mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* A native int folded to 32 bits so that values in [-2^31, 2^31) hash as on
 * a 32-bit platform: (d >> 32) ^ (d >> 63) is 0 there. */
static inline uint32_t hash_fold_intnat(intptr_t d)
{
    return (uint32_t)((d >> 32) ^ (d >> 63) ^ d);
}

static inline uint32_t hash_mix_intnat(uint32_t h, intptr_t d)
{
    return hash_mix_uint32(h, hash_fold_intnat(d));
}

static inline uint32_t hash_mix_int64(uint32_t h, int64_t d)
{
    h = hash_mix_uint32(h, (uint32_t)d);
    return hash_mix_uint32(h, (uint32_t)((uint64_t)d >> 32));
}

/* NaNs hash alike, and -0.0 like +0.0. */
static inline uint32_t hash_mix_double(uint32_t h, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    uint32_t hi = (uint32_t)(bits >> 32), lo = (uint32_t)bits;
    if ((hi & 0x7FF00000u) == 0x7FF00000u && (lo | (hi & 0xFFFFFu)) != 0) {
        hi = 0x7FF00000u;
        lo = 1;
    } else if (hi == 0x80000000u && lo == 0) {
        hi = 0;
    }
    h = hash_mix_uint32(h, lo);
    return hash_mix_uint32(h, hi);
}

static inline uint32_t hash_mix_float(uint32_t h, float f)
{
    uint32_t n;
    memcpy(&n, &f, sizeof n);
    if ((n & 0x7F800000u) == 0x7F800000u && (n & 0x007FFFFFu) != 0)
        n = 0x7F800001u;
    else if (n == 0x80000000u)
        n = 0;
    return hash_mix_uint32(h, n);
}

/* Little-endian 32-bit words of the bytes, then the 1-3 byte tail packed in
 * one more word (no length: bigarray hashing stops there). */
static inline uint32_t hash_mix_byte_words(uint32_t h, const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        h = hash_mix_uint32(h, (uint32_t)s[i] | (uint32_t)s[i + 1] << 8 |
                                   (uint32_t)s[i + 2] << 16 | (uint32_t)s[i + 3] << 24);
    uint32_t w = 0;
    switch (len & 3) {
    case 3: w = (uint32_t)s[i + 2] << 16; /* fall through */
    case 2: w |= (uint32_t)s[i + 1] << 8; /* fall through */
    case 1:
        w |= s[i];
        h = hash_mix_uint32(h, w);
    }
    return h;
}

/* OCaml's caml_hash_mix_string on a byte range: the words, then the length. */
static inline uint32_t hash_mix_bytes(uint32_t h, const unsigned char *s, size_t len)
{
    return hash_mix_byte_words(h, s, len) ^ (uint32_t)len;
}

#endif
