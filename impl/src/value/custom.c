/* The custom block kinds of the value model: boxed int32 ("_i"), int64
 * ("_j"), nativeint ("_n") and bigarrays ("_bigarr02").
 *
 * Their compare and hash functions are those of OCaml's runtime (ints.c,
 * bigarray.c) so that nmc_compare and nmc_hash order and hash them as OCaml
 * does, including OCaml's flag for unordered float pairs (NaN), which makes
 * `=` false on a bigarray holding NaN (custom_unordered.h).
 */
#include <string.h>

#include "custom_unordered.h"
#include "hash_mix.h"
#include "nmc/status.h"
#include "nmc/value.h"

#define CMP(a, b) (((a) > (b)) - ((a) < (b)))

_Thread_local bool nmc_custom_compare_unordered = false;

static int int32_compare(nmc_value a, nmc_value b)
{
    return CMP(nmc_int32_val(a), nmc_int32_val(b));
}

static uint32_t int32_hash(nmc_value v) { return (uint32_t)nmc_int32_val(v); }

static int int64_compare(nmc_value a, nmc_value b)
{
    return CMP(nmc_int64_val(a), nmc_int64_val(b));
}

static uint32_t int64_hash(nmc_value v)
{
    uint64_t x = (uint64_t)nmc_int64_val(v);
    return (uint32_t)x ^ (uint32_t)(x >> 32);
}

static int nativeint_compare(nmc_value a, nmc_value b)
{
    return CMP(nmc_nativeint_val(a), nmc_nativeint_val(b));
}

static uint32_t nativeint_hash(nmc_value v) { return hash_fold_intnat(nmc_nativeint_val(v)); }

size_t nmc_ba_element_size(int kind)
{
    static const unsigned char sizes[NMC_BA_KIND_COUNT] = {
        [NMC_BA_FLOAT32] = 4, [NMC_BA_FLOAT64] = 8,    [NMC_BA_SINT8] = 1,
        [NMC_BA_UINT8] = 1,   [NMC_BA_SINT16] = 2,     [NMC_BA_UINT16] = 2,
        [NMC_BA_INT32] = 4,   [NMC_BA_INT64] = 8,      [NMC_BA_CAML_INT] = 8,
        [NMC_BA_NATIVE_INT] = 8, [NMC_BA_COMPLEX32] = 8, [NMC_BA_COMPLEX64] = 16,
        [NMC_BA_CHAR] = 1,
    };
    return kind >= 0 && kind < NMC_BA_KIND_COUNT ? sizes[kind] : 0;
}

/* Element count (product of the dims); false on overflow or a negative dim. */
static bool ba_num_elts(const struct nmc_bigarray *ba, size_t *n)
{
    size_t count = 1;
    for (intptr_t i = 0; i < ba->num_dims; i++) {
        if (ba->dim[i] < 0 || __builtin_mul_overflow(count, (size_t)ba->dim[i], &count))
            return false;
    }
    *n = count;
    return true;
}

int nmc_ba_byte_size(const struct nmc_bigarray *ba, size_t *bytes)
{
    if (ba == NULL || bytes == NULL || ba->num_dims < 1 || ba->num_dims > NMC_BA_MAX_NUM_DIMS)
        return NMC_EINVAL;
    size_t elt = nmc_ba_element_size((int)(ba->flags & NMC_BA_KIND_MASK));
    size_t n;
    if (elt == 0)
        return NMC_EINVAL;
    for (intptr_t i = 0; i < ba->num_dims; i++)
        if (ba->dim[i] < 0)
            return NMC_EINVAL;
    if (!ba_num_elts(ba, &n))
        return NMC_EOVERFLOW;
    if (__builtin_mul_overflow(n, elt, bytes))
        return NMC_EOVERFLOW;
    return NMC_OK;
}

/* Lexicographic element order; floats: NaN before numbers and equal to NaN
 * (OCaml's rule), an unordered pair raising nmc_custom_compare_unordered. */
#define BA_INT_COMPARE(type)                                                   \
    do {                                                                       \
        const type *p1 = b1->data, *p2 = b2->data;                             \
        for (size_t i = 0; i < n; i++)                                         \
            if (p1[i] != p2[i])                                                \
                return p1[i] < p2[i] ? -1 : 1;                                 \
        return 0;                                                              \
    } while (0)
#define BA_FLOAT_COMPARE(type)                                                 \
    do {                                                                       \
        const type *p1 = b1->data, *p2 = b2->data;                             \
        for (size_t i = 0; i < n; i++) {                                       \
            type e1 = p1[i], e2 = p2[i];                                       \
            if (e1 < e2)                                                       \
                return -1;                                                     \
            if (e1 > e2)                                                       \
                return 1;                                                      \
            if (e1 != e2) {                                                    \
                nmc_custom_compare_unordered = true;                           \
                if (e1 == e1)                                                  \
                    return 1;                                                  \
                if (e2 == e2)                                                  \
                    return -1;                                                 \
            }                                                                  \
        }                                                                      \
        return 0;                                                              \
    } while (0)

static int bigarray_compare(nmc_value a, nmc_value b)
{
    const struct nmc_bigarray *b1 = nmc_bigarray_val(a), *b2 = nmc_bigarray_val(b);
    intptr_t type_mask = NMC_BA_KIND_MASK | NMC_BA_FORTRAN_LAYOUT;
    intptr_t f1 = b1->flags & type_mask, f2 = b2->flags & type_mask;
    if (f1 != f2)
        return CMP(f2, f1); /* OCaml returns flags2 - flags1 */
    if (b1->num_dims != b2->num_dims)
        return CMP(b2->num_dims, b1->num_dims);
    for (intptr_t i = 0; i < b1->num_dims; i++)
        if (b1->dim[i] != b2->dim[i])
            return b1->dim[i] < b2->dim[i] ? -1 : 1;
    size_t n;
    if (!ba_num_elts(b1, &n))
        return 0;
    switch (b1->flags & NMC_BA_KIND_MASK) {
    case NMC_BA_COMPLEX32: n *= 2; /* fall through */
    case NMC_BA_FLOAT32: BA_FLOAT_COMPARE(float);
    case NMC_BA_COMPLEX64: n *= 2; /* fall through */
    case NMC_BA_FLOAT64: BA_FLOAT_COMPARE(double);
    case NMC_BA_CHAR:
    case NMC_BA_UINT8: BA_INT_COMPARE(uint8_t);
    case NMC_BA_SINT8: BA_INT_COMPARE(int8_t);
    case NMC_BA_SINT16: BA_INT_COMPARE(int16_t);
    case NMC_BA_UINT16: BA_INT_COMPARE(uint16_t);
    case NMC_BA_INT32: BA_INT_COMPARE(int32_t);
    case NMC_BA_INT64: BA_INT_COMPARE(int64_t);
    case NMC_BA_CAML_INT:
    case NMC_BA_NATIVE_INT: BA_INT_COMPARE(intptr_t);
    }
    return 0;
}

/* OCaml's caml_ba_hash: the first elements only (at most 256 bytes' worth
 * for small kinds, 64 or 32 elements for the others). */
static uint32_t bigarray_hash(nmc_value v)
{
    const struct nmc_bigarray *b = nmc_bigarray_val(v);
    size_t n;
    uint32_t h = 0;
    if (!ba_num_elts(b, &n))
        return 0;
#define BA_MIX(type, cap, mix)                                                 \
    do {                                                                       \
        const type *p = b->data;                                               \
        if (n > (cap))                                                         \
            n = (cap);                                                         \
        for (size_t i = 0; i < n; i++)                                         \
            h = mix(h, p[i]);                                                  \
    } while (0)
    switch (b->flags & NMC_BA_KIND_MASK) {
    case NMC_BA_CHAR:
    case NMC_BA_SINT8:
    case NMC_BA_UINT8:
        h = hash_mix_byte_words(h, b->data, n > 256 ? 256 : n);
        break;
    case NMC_BA_SINT16:
    case NMC_BA_UINT16: {
        const uint16_t *p = b->data;
        if (n > 128)
            n = 128;
        size_t i = 0;
        for (; i + 2 <= n; i += 2)
            h = hash_mix_uint32(h, (uint32_t)p[i] | (uint32_t)p[i + 1] << 16);
        if (n & 1)
            h = hash_mix_uint32(h, p[i]);
        break;
    }
    case NMC_BA_INT32: BA_MIX(uint32_t, 64, hash_mix_uint32); break;
    case NMC_BA_CAML_INT:
    case NMC_BA_NATIVE_INT: BA_MIX(intptr_t, 64, hash_mix_intnat); break;
    case NMC_BA_INT64: BA_MIX(int64_t, 32, hash_mix_int64); break;
    case NMC_BA_COMPLEX32: n *= 2; /* fall through */
    case NMC_BA_FLOAT32: BA_MIX(float, 64, hash_mix_float); break;
    case NMC_BA_COMPLEX64: n *= 2; /* fall through */
    case NMC_BA_FLOAT64: BA_MIX(double, 32, hash_mix_double); break;
    }
#undef BA_MIX
    return h;
}

const struct nmc_custom_ops nmc_int32_ops = {"_i", int32_compare, int32_hash};
const struct nmc_custom_ops nmc_int64_ops = {"_j", int64_compare, int64_hash};
const struct nmc_custom_ops nmc_nativeint_ops = {"_n", nativeint_compare, nativeint_hash};
const struct nmc_custom_ops nmc_bigarray_ops = {"_bigarr02", bigarray_compare, bigarray_hash};

const struct nmc_custom_ops *nmc_custom_ops_find(const char *identifier)
{
    static const struct nmc_custom_ops *const known[] = {
        &nmc_int32_ops, &nmc_int64_ops, &nmc_nativeint_ops, &nmc_bigarray_ops};
    if (identifier == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(known[i]->identifier, identifier) == 0)
            return known[i];
    return NULL;
}
