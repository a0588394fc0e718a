/* nmc/value.h - the value model: OCaml's 64-bit memory layout, bit for bit.
 *
 * A value is one machine word (nmc_value). Either
 *   - an immediate integer n, stored as (n << 1) | 1 (lowest bit set), or
 *   - a pointer to the first field of a block (lowest bit clear).
 * The word before the first field is the block's header:
 *
 *     63                         10 9     8 7          0
 *    +-----------------------------+-------+------------+
 *    |   wosize (fields, in words) | color |    tag     |
 *    +-----------------------------+-------+------------+
 *
 * wosize counts the words after the header. color is free for a garbage
 * collector (the shared heap's mark bits); the copier writes WHITE. tag says
 * how to read the fields:
 *   0..245   structured block: every field is a value
 *   246      Lazy, 247 Closure, 248 Object, 249 Infix, 250 Forward:
 *            functional or runtime-internal; cannot be copied
 *   251      Abstract: opaque words, never scanned
 *   252      String: bytes, padded to whole words; the last byte of the last
 *            word is (bosize - 1 - length), so the length needs no field
 *   253      Double: one IEEE double
 *   254      Double_array: wosize doubles
 *   255      Custom: field 0 points to a struct nmc_custom_ops (first member:
 *            the identifier, e.g. "_i"), the payload follows
 * Tags >= 251 (NMC_NO_SCAN_TAG) hold no values in their fields.
 *
 * A block of wosize 0 is an atom: one static table per process holds the
 * 256 atoms (one per tag), so forked workers see them at the same address.
 * Process-local values are built in an arena and freed all at once.
 */
#ifndef NMC_VALUE_H
#define NMC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uintptr_t nmc_value;
typedef uintptr_t nmc_header;

/* ---- immediates ---------------------------------------------------------- */
#define nmc_val_long(n) ((nmc_value)(((uintptr_t)(intptr_t)(n) << 1) | 1u))
#define nmc_long_val(v) ((intptr_t)(v) >> 1)
#define nmc_is_long(v) (((v) & 1u) != 0)
#define nmc_is_block(v) (((v) & 1u) == 0)
#define NMC_VAL_UNIT nmc_val_long(0)
#define NMC_VAL_FALSE nmc_val_long(0)
#define NMC_VAL_TRUE nmc_val_long(1)
#define NMC_MAX_LONG (INTPTR_MAX >> 1)
#define NMC_MIN_LONG (INTPTR_MIN >> 1)

/* ---- headers ------------------------------------------------------------- */
#define NMC_WORD_SIZE ((size_t)sizeof(nmc_value))
#define NMC_MAX_WOSIZE (((uintptr_t)1 << 54) - 1)
#define nmc_hd_wosize(hd) ((size_t)((hd) >> 10))
#define nmc_hd_color(hd) ((unsigned)(((hd) >> 8) & 3u))
#define nmc_hd_tag(hd) ((unsigned)((hd) & 0xFFu))
#define nmc_make_header(wosize, tag, color)                                    \
    (((nmc_header)(wosize) << 10) | ((nmc_header)(color) << 8) |              \
     (nmc_header)(tag))
#define nmc_hd_with_color(hd, color)                                           \
    (((hd) & ~((nmc_header)3u << 8)) | ((nmc_header)(color) << 8))
#define nmc_hp_val(v) ((nmc_header *)(v) - 1)
#define nmc_hd_val(v) (*nmc_hp_val(v))
#define nmc_wosize_val(v) nmc_hd_wosize(nmc_hd_val(v))
#define nmc_bosize_val(v) (nmc_wosize_val(v) * NMC_WORD_SIZE)
#define nmc_tag_val(v) nmc_hd_tag(nmc_hd_val(v))
#define nmc_field(v, i) (((nmc_value *)(v))[i])

/* ---- tags ---------------------------------------------------------------- */
enum nmc_tag {
    NMC_TAG_LAZY = 246,
    NMC_TAG_CLOSURE = 247,
    NMC_TAG_OBJECT = 248,
    NMC_TAG_INFIX = 249,
    NMC_TAG_FORWARD = 250,
    NMC_NO_SCAN_TAG = 251,
    NMC_TAG_ABSTRACT = 251,
    NMC_TAG_STRING = 252,
    NMC_TAG_DOUBLE = 253,
    NMC_TAG_DOUBLE_ARRAY = 254,
    NMC_TAG_CUSTOM = 255,
};

/* ---- colors (header bits 8-9, for the shared heap's collector) ------------ */
enum nmc_color {
    NMC_COLOR_WHITE = 0,
    NMC_COLOR_GRAY = 1,
    NMC_COLOR_BLUE = 2,
    NMC_COLOR_BLACK = 3,
};

/* ---- strings and doubles ------------------------------------------------- */
/* Byte length of a String block, from its padding byte. */
static inline size_t nmc_string_length(nmc_value v)
{
    size_t bosize = nmc_bosize_val(v);
    return bosize - 1 - ((const unsigned char *)v)[bosize - 1];
}
#define nmc_string_val(v) ((const char *)(v))
#define nmc_bytes_val(v) ((char *)(v))
/* Words needed for a string of len bytes (always at least one padding byte). */
#define nmc_string_wosize(len) (((size_t)(len) + NMC_WORD_SIZE) / NMC_WORD_SIZE)

static inline double nmc_double_val(nmc_value v) { return *(const double *)v; }
#define nmc_double_field(v, i) (((double *)(v))[i])

/* ---- custom blocks ------------------------------------------------------- */
/* Field 0 of a Custom block points to one of these; the identifier names the
 * kind, so a copier can swap in the receiving process's record. */
struct nmc_custom_ops {
    const char *identifier;                      /* "_i", "_j", "_n", "_bigarr02" */
    int (*compare)(nmc_value a, nmc_value b);    /* <0, 0, >0                     */
    uint32_t (*hash)(nmc_value v);               /* OCaml's custom hash           */
};
#define nmc_custom_ops_val(v) (*(const struct nmc_custom_ops *const *)(v))
#define nmc_data_custom_val(v) ((void *)&nmc_field(v, 1))
#define nmc_int32_val(v) (*(const int32_t *)nmc_data_custom_val(v))
#define nmc_int64_val(v) (*(const int64_t *)nmc_data_custom_val(v))
#define nmc_nativeint_val(v) (*(const intptr_t *)nmc_data_custom_val(v))

extern const struct nmc_custom_ops nmc_int32_ops;     /* "_i"        */
extern const struct nmc_custom_ops nmc_int64_ops;     /* "_j"        */
extern const struct nmc_custom_ops nmc_nativeint_ops; /* "_n"        */
extern const struct nmc_custom_ops nmc_bigarray_ops;  /* "_bigarr02" */

/* This process's ops record for an identifier, or NULL if unknown. */
const struct nmc_custom_ops *nmc_custom_ops_find(const char *identifier);

/* Bigarrays: the payload of a "_bigarr02" Custom block (OCaml's
 * struct caml_ba_array); the block's wosize is 1 + 4 + num_dims. */
#define NMC_BA_MAX_NUM_DIMS 16
enum nmc_ba_kind {
    NMC_BA_FLOAT32, NMC_BA_FLOAT64, NMC_BA_SINT8, NMC_BA_UINT8,
    NMC_BA_SINT16, NMC_BA_UINT16, NMC_BA_INT32, NMC_BA_INT64,
    NMC_BA_CAML_INT, NMC_BA_NATIVE_INT, NMC_BA_COMPLEX32, NMC_BA_COMPLEX64,
    NMC_BA_CHAR,
    NMC_BA_KIND_COUNT,
    NMC_BA_KIND_MASK = 0xFF,
};
enum nmc_ba_layout { NMC_BA_C_LAYOUT = 0, NMC_BA_FORTRAN_LAYOUT = 0x100 };
enum nmc_ba_managed {
    NMC_BA_EXTERNAL = 0,        /* data not owned (e.g. copied inline)  */
    NMC_BA_MANAGED = 0x200,     /* data owned by the block              */
    NMC_BA_MAPPED_FILE = 0x400, /* data is a file mapping: not copyable */
    NMC_BA_MANAGED_MASK = 0x600,
};
struct nmc_bigarray {
    void *data;         /* the elements                          */
    intptr_t num_dims;  /* 1 .. NMC_BA_MAX_NUM_DIMS              */
    intptr_t flags;     /* kind | layout | managed               */
    void *proxy;        /* always NULL here (no sub-arrays)      */
    intptr_t dim[];     /* num_dims extents                      */
};
#define nmc_bigarray_val(v) ((struct nmc_bigarray *)nmc_data_custom_val(v))
/* Bytes per element of a kind (0 for an invalid kind). */
size_t nmc_ba_element_size(int kind);
/* Total data bytes of a bigarray; NMC_EOVERFLOW if the product overflows. */
int nmc_ba_byte_size(const struct nmc_bigarray *ba, size_t *bytes);

/* ---- atoms --------------------------------------------------------------- */
/* The zero-size block of a tag; the same address in every forked process. */
nmc_value nmc_atom(unsigned tag);
/* True if v is one of this process's atoms. */
bool nmc_is_atom(nmc_value v);

/* ---- arena: process-local values ----------------------------------------- */
/* Builders return NMC_OK or NMC_ENOMEM / NMC_EINVAL and store the new value
 * in *out. Fields of a new structured block are NMC_VAL_UNIT. Everything is
 * freed by nmc_arena_destroy. A zero wosize gives the atom, as OCaml does;
 * one beyond NMC_MAX_WOSIZE is NMC_EINVAL (a string length whose word
 * count would wrap: NMC_EOVERFLOW). */
typedef struct nmc_arena nmc_arena;

int nmc_arena_create(nmc_arena **out);
void nmc_arena_destroy(nmc_arena *arena);
/* Bytes handed out so far (headers and padding included). */
size_t nmc_arena_used(const nmc_arena *arena);
/* Raw aligned words from the arena (no header); NULL on failure and for
 * 0 words. */
void *nmc_arena_alloc_words(nmc_arena *arena, size_t words);

int nmc_alloc_block(nmc_arena *arena, unsigned tag, size_t wosize, nmc_value *out);
int nmc_alloc_string(nmc_arena *arena, const void *bytes, size_t len, nmc_value *out);
int nmc_alloc_double(nmc_arena *arena, double d, nmc_value *out);
int nmc_alloc_double_array(nmc_arena *arena, const double *d, size_t n, nmc_value *out);
int nmc_alloc_int32(nmc_arena *arena, int32_t i, nmc_value *out);
int nmc_alloc_int64(nmc_arena *arena, int64_t i, nmc_value *out);
int nmc_alloc_nativeint(nmc_arena *arena, intptr_t i, nmc_value *out);
/* Abstract block of wosize words, zero-filled. */
int nmc_alloc_abstract(nmc_arena *arena, size_t wosize, nmc_value *out);
/* Bigarray with managed data in the arena; data may be NULL (zero-filled).
 * kind: enum nmc_ba_kind; layout: enum nmc_ba_layout; 1 <= num_dims <= 16.
 * NMC_EOVERFLOW if the data's byte size does not fit a size_t. */
int nmc_alloc_bigarray(nmc_arena *arena, int kind, int layout, int num_dims,
                       const intptr_t *dims, const void *data, nmc_value *out);
/* Convenience: a block with the given fields (tag 0 = tuple / record). */
int nmc_alloc_tuple(nmc_arena *arena, unsigned tag, size_t n, const nmc_value *fields,
                    nmc_value *out);

/* ---- structural operations (OCaml's compare, =, Hashtbl.hash) ------------- */
/* Total order of OCaml's compare: immediates before blocks, then by tag, size
 * and fields; NaN handling and string order as OCaml; Forward blocks are
 * followed, objects compare by oid, Lazy blocks structurally (as OCaml: an
 * unforced lazy holds a closure and fails there). Pairs already under
 * comparison are assumed equal, so cyclic values terminate. Closures, infix
 * and abstract blocks, custom blocks without a compare function and Forward
 * chains longer than 1000 give NMC_EUNSUPPORTED (OCaml raises), a custom
 * block without ops NMC_EINVAL. *result is -1, 0 or 1. */
int nmc_compare(nmc_value a, nmc_value b, int *result);
/* Structural equality (OCaml's =); NaN is unequal to itself, also inside
 * double arrays and float bigarrays. Errors as nmc_compare. */
int nmc_equal(nmc_value a, nmc_value b, bool *equal);
/* OCaml's Hashtbl.hash: caml_hash(10, 100, 0, v), same result as OCaml
 * (4.13, 64-bit): a 30-bit hash of at most 10 meaningful values. Never fails;
 * reads at most 256 blocks, so cycles and long lists are fine. */
uint32_t nmc_hash(nmc_value v);
/* OCaml's Hashtbl.seeded_hash_param count limit seed v; a limit outside
 * 0..256 means 256. */
uint32_t nmc_hash_param(int count, int limit, uint32_t seed, nmc_value v);
/* Graph isomorphism: a and b have the same shape, the same leaves (bitwise)
 * and the same sharing and cycles (a bijection between their blocks). The test
 * and fuzz oracle of the copier. Header colors are ignored; custom ops are
 * compared by identifier and bigarray data by content (not by owner).
 * Zero-size blocks have no identity: an atom matches any zero-size block of
 * its tag. Iterative: no recursion limit. NMC_EUNSUPPORTED on closures,
 * NMC_EINVAL on a custom block without ops, NMC_ENOMEM if its bookkeeping
 * cannot be allocated. */
int nmc_isomorphic(nmc_value a, nmc_value b, bool *same);

#ifdef __cplusplus
}
#endif
#endif
