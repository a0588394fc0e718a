/* Tests of the image verifier nmc_image_check (impl/src/mem/image_check.c):
 * it accepts every image the copier writes and rejects each kind of
 * corruption, reading nothing outside the image even when it is garbage. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/mem.h"
#include "nmc_test.h"
#include "test_values.h"

static nmc_value string_of(size_t len)
{
    char s[64];
    for (size_t i = 0; i < len && i < sizeof s; i++)
        s[i] = (char)('a' + i % 26);
    nmc_value v;
    ck_assert_ok(nmc_alloc_string(arena, s, len, &v));
    return v;
}

static nmc_value boxed(int which)
{
    nmc_value v;
    if (which == 0)
        ck_assert_ok(nmc_alloc_int32(arena, 5, &v));
    else if (which == 1)
        ck_assert_ok(nmc_alloc_int64(arena, -6, &v));
    else
        ck_assert_ok(nmc_alloc_nativeint(arena, 7, &v));
    return v;
}

static nmc_value bigarray(int kind, int layout, int nd, const intptr_t *dims)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_bigarray(arena, kind, layout, nd, dims, NULL, &v));
    return v;
}

/* A value using every copyable kind: structured blocks with sharing and a
 * cycle, strings of lengths 0..16, a double, a double array, boxed
 * integers, two bigarrays, atoms. */
static nmc_value every_kind(void)
{
    nmc_value strings[17];
    for (size_t i = 0; i < 17; i++)
        strings[i] = string_of(i);
    nmc_value d, da;
    ck_assert_ok(nmc_alloc_double(arena, 2.25, &d));
    ck_assert_ok(nmc_alloc_double_array(arena, (double[]){1, 2, 3}, 3, &da));
    nmc_value ba1 = bigarray(NMC_BA_FLOAT32, NMC_BA_C_LAYOUT, 2, (intptr_t[]){3, 5});
    nmc_value ba2 = bigarray(NMC_BA_COMPLEX64, NMC_BA_FORTRAN_LAYOUT, 1, (intptr_t[]){2});
    nmc_value cyc = tuple(3, 2, (nmc_value[]){nmc_val_long(1), NMC_VAL_UNIT});
    nmc_field(cyc, 1) = cyc;
    nmc_value leaves = tuple(1, 17, strings);
    return tuple(0, 11,
                 (nmc_value[]){leaves, d, da, boxed(0), boxed(1), boxed(2), ba1, ba2, cyc,
                               nmc_atom(0), leaves});
}

#define ALL_FLAGS (NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT)

static unsigned char buf[1 << 15] __attribute__((aligned(64)));

struct image {
    size_t off;     /* where the image starts in buf */
    size_t voffset; /* root                           */
    size_t len;     /* bytes                          */
};

static struct image make_image(nmc_value v, size_t off, const struct nmc_copy_options *opt)
{
    struct image im = {.off = off};
    memset(buf, 0, sizeof buf);
    ck_assert_ok(nmc_init_value((nmc_memory){buf, sizeof buf}, off, v, opt, &im.voffset, &im.len));
    return im;
}

static int check(const struct image *im, const struct nmc_copy_options *opt)
{
    return nmc_image_check((nmc_memory){buf, sizeof buf}, im->off, im->len, im->voffset, opt);
}

static uintptr_t *word_at(size_t byte_off) { return (uintptr_t *)(buf + byte_off); }

START_TEST(accepts_copier_output)
{
    nmc_value v = every_kind();
    const unsigned flag_sets[] = {ALL_FLAGS | NMC_KEEP_ATOM, ALL_FLAGS | NMC_COPY_ATOM};
    const size_t offs[] = {0, 8, 72};
    for (size_t f = 0; f < 2; f++) {
        for (size_t o = 0; o < 3; o++) {
            struct nmc_copy_options opt = {.flags = flag_sets[f]};
            struct image im = make_image(v, offs[o], &opt);
            ck_assert_ok(check(&im, NULL));
            /* relocated for elsewhere: accepted for that address only */
            opt.target_addr = 0x7000000000;
            im = make_image(v, offs[o], &opt);
            ck_assert_ok(check(&im, &opt));
            ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
        }
    }
    /* any block start may be the root */
    struct nmc_copy_options opt = {.flags = ALL_FLAGS | NMC_KEEP_ATOM};
    struct image im = make_image(v, 0, &opt);
    im.voffset = nmc_field((nmc_value)(buf + im.voffset), 0) - (uintptr_t)buf;
    ck_assert_ok(check(&im, NULL));
}
END_TEST

/* An image made for another address, copied elsewhere and moved there, is
 * the value it was made from (bigarrays' data included), and a move of a
 * corrupt copy is refused like a check. */
START_TEST(moves_an_image_to_where_it_lies)
{
    nmc_value v = every_kind();
    uintptr_t made_for = (uintptr_t)1 << 40;
    struct nmc_copy_options opt = {.flags = ALL_FLAGS | NMC_COPY_ATOM, .target_addr = made_for};
    struct image im = make_image(v, 64, &opt);
    static unsigned char copy[sizeof buf] __attribute__((aligned(64)));
    memcpy(copy, buf + im.off, im.len);
    nmc_memory m = {copy, im.len};
    struct nmc_copy_options at = {.target_addr = made_for + im.off}; /* the image's first byte */
    ck_assert_status(nmc_image_check(m, 0, im.len, im.voffset - im.off, NULL), NMC_ECORRUPT);
    ck_assert_ok(nmc_image_move(m, 0, im.len, im.voffset - im.off, &at));
    ck_assert_ok(nmc_image_check(m, 0, im.len, im.voffset - im.off, NULL));
    bool same;
    ck_assert_ok(nmc_isomorphic(v, (nmc_value)(copy + im.voffset - im.off), &same));
    ck_assert(same);
    nmc_value ba = nmc_field((nmc_value)(copy + im.voffset - im.off), 6);
    const unsigned char *data = nmc_bigarray_val(ba)->data;
    ck_assert(data > (unsigned char *)ba && data < copy + im.len); /* moved with the copy */

    memcpy(copy, buf + im.off, im.len);
    copy[im.voffset - im.off - NMC_WORD_SIZE] = 250; /* the root's header: Forward */
    ck_assert_status(nmc_image_move(m, 0, im.len, im.voffset - im.off, &at), NMC_ECORRUPT);
}
END_TEST

START_TEST(bad_arguments)
{
    nmc_value v = tuple(0, 2, (nmc_value[]){string_of(3), NMC_VAL_UNIT});
    struct image im = make_image(v, 16, NULL);
    nmc_memory m = {buf, sizeof buf};
    ck_assert_ok(nmc_image_check(m, im.off, im.len, im.voffset, NULL));
    ck_assert_status(nmc_image_check((nmc_memory){NULL, 64}, 0, 8, 8, NULL), NMC_EINVAL);
    ck_assert_status(nmc_image_check(m, sizeof buf + 8, 8, 8, NULL), NMC_EINVAL);
    ck_assert_status(nmc_image_check(m, 16, sizeof buf, 24, NULL), NMC_EINVAL);
    ck_assert_status(nmc_image_check(m, 12, im.len, 20, NULL), NMC_EINVAL);
    struct nmc_copy_options opt = {.target_addr = 0x1001};
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.voffset, &opt), NMC_EINVAL);
    opt = (struct nmc_copy_options){.n_ranges = 2};
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.voffset, &opt), NMC_EINVAL);
    ck_assert_status(nmc_image_check(m, im.off, 0, im.voffset, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len - 4, im.voffset, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len - 8, im.voffset, NULL), NMC_ECORRUPT);
    *word_at(im.off + im.len) = nmc_make_header(5, 0, 0); /* a block too long for len + 8 */
    ck_assert_status(nmc_image_check(m, im.off, im.len + 8, im.voffset, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.off, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.voffset + 8, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.voffset + 4, NULL), NMC_ECORRUPT);
    ck_assert_status(nmc_image_check(m, im.off, im.len, im.off + im.len + 8, NULL),
                     NMC_ECORRUPT);
}
END_TEST

/* root (tag 0): [hdr][field0 -> s][field1 -> i32][field2 = 1]  s: "abc" */
static struct image small_image(void)
{
    nmc_value v = tuple(0, 3, (nmc_value[]){string_of(3), boxed(0), nmc_val_long(0)});
    struct nmc_copy_options opt = {.flags = ALL_FLAGS};
    struct image im = make_image(v, 0, &opt);
    ck_assert_uint_eq(im.len, 32 + 16 + 24);
    ck_assert_ok(check(&im, NULL));
    return im;
}

START_TEST(rejects_bad_tags)
{
    const unsigned bad[] = {NMC_TAG_LAZY,    NMC_TAG_CLOSURE,  NMC_TAG_OBJECT,
                            NMC_TAG_INFIX,   NMC_TAG_FORWARD,  NMC_TAG_ABSTRACT};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct image im = small_image();
        *word_at(0) = nmc_make_header(3, bad[i], 0);
        ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    }
    struct image im = small_image();
    *word_at(0) = nmc_make_header(3, NMC_TAG_DOUBLE, 0); /* a double of 3 words */
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
}
END_TEST

START_TEST(rejects_oversized_blocks)
{
    struct image im = small_image();
    *word_at(0) = nmc_make_header(NMC_MAX_WOSIZE, 0, 0);
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    im = small_image();
    *word_at(0) = nmc_make_header(im.len / 8, 0, 0); /* one word past the end */
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    im = small_image();
    *word_at(48) = nmc_make_header(3, NMC_TAG_CUSTOM, 0); /* boxed int past the end */
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
}
END_TEST

START_TEST(rejects_bad_string_padding)
{
    const unsigned char last_bytes[] = {8, 9, 255};
    for (size_t i = 0; i < sizeof last_bytes; i++) {
        struct image im = small_image();
        buf[32 + 8 + 7] = last_bytes[i]; /* "abc" is padded by 4 */
        ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    }
    struct image im = small_image();
    buf[32 + 8 + 5] = 'x'; /* a padding byte that is not zero */
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    im = small_image();
    buf[32 + 8 + 7] = 4; /* the original padding is fine */
    ck_assert_ok(check(&im, NULL));
}
END_TEST

START_TEST(rejects_bad_pointers)
{
    uintptr_t base = (uintptr_t)buf;
    const uintptr_t bad[] = {
        base + 48,                      /* the boxed int's header, not a value   */
        base + 56 + 8,                  /* the middle of the boxed int          */
        base + 72 + 8,                  /* just past the image                  */
        base + 32 + 4,                  /* misaligned                           */
        base - 8,                       /* before the image                     */
        (uintptr_t)boxed(1),            /* a value outside the image            */
        nmc_atom(0) + 8 * 256,          /* past the atom table                  */
        nmc_atom(NMC_TAG_CLOSURE),      /* an atom the copier never keeps       */
        nmc_atom(NMC_TAG_STRING),       /* likewise                             */
        0,                              /* NULL                                 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct image im = small_image();
        *word_at(8) = bad[i];
        ck_assert_msg(check(&im, NULL) == NMC_ECORRUPT, "pointer %zu accepted", i);
    }
    struct image im = small_image();
    *word_at(8) = nmc_atom(9); /* atoms of structured tags are fine */
    ck_assert_ok(check(&im, NULL));
    *word_at(8) = nmc_atom(NMC_TAG_DOUBLE_ARRAY); /* and the empty float array */
    ck_assert_ok(check(&im, NULL));
    *word_at(8) = base + 8; /* so is the root itself */
    ck_assert_ok(check(&im, NULL));
    /* a pointer into a range is fine only when the range is given */
    nmc_value outside = boxed(2);
    *word_at(8) = outside;
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    struct nmc_addr_range r = {outside, outside + 8};
    struct nmc_copy_options opt = {.ranges = &r, .n_ranges = 1};
    ck_assert_ok(check(&im, &opt));
}
END_TEST

static int cmp0(nmc_value a, nmc_value b) { return (a > b) - (a < b); }
static uint32_t hash0(nmc_value v) { return (uint32_t)v; }

START_TEST(rejects_unknown_custom_ops)
{
    static const struct nmc_custom_ops other_i = {"_i", cmp0, hash0};
    static const struct nmc_custom_ops foo = {"_foo", cmp0, hash0};
    const uintptr_t bad[] = {(uintptr_t)&other_i, (uintptr_t)&foo, 0,
                             (uintptr_t)&nmc_int32_ops + 8, (uintptr_t)&nmc_bigarray_ops};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct image im = small_image();
        *word_at(56) = bad[i];
        ck_assert_msg(check(&im, NULL) == NMC_ECORRUPT, "ops %zu accepted", i);
    }
    /* a boxed int of the wrong size */
    struct image im = small_image();
    *word_at(48) = nmc_make_header(1, NMC_TAG_CUSTOM, 0);
    *word_at(64) = nmc_make_header(0, 0, 0);
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);

    /* images for another process's records: accepted by those only */
    const struct nmc_custom_ops *targets[] = {&foo, &other_i};
    nmc_value v = tuple(0, 1, (nmc_value[]){boxed(0)});
    struct nmc_copy_options opt = {.flags = ALL_FLAGS, .target_ops = targets, .n_target_ops = 2};
    im = make_image(v, 0, &opt);
    ck_assert_ptr_eq((const void *)*word_at(24), &other_i);
    ck_assert_ok(check(&im, &opt));
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    opt.n_target_ops = 1;
    ck_assert_status(check(&im, &opt), NMC_ECORRUPT);
}
END_TEST

/* root (tag 0, 1 field) then a 2-dim bigarray: block at 16 (wosize 7),
 * pseudo-header at 80, length word at 88, data from 96 (3 x 5 bytes). */
static struct image bigarray_image(void)
{
    nmc_value ba = bigarray(NMC_BA_UINT8, NMC_BA_C_LAYOUT, 2, (intptr_t[]){3, 5});
    struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY};
    struct image im = make_image(tuple(0, 1, &ba), 0, &opt);
    ck_assert_uint_eq(im.len, 16 + 64 + 16 + 16);
    ck_assert_uint_eq(*word_at(80), NMC_TAG_ABSTRACT);
    ck_assert_ok(check(&im, NULL));
    return im;
}

enum { BA_DATA = 24 + 8, BA_NDIMS = 24 + 16, BA_FLAGS = 24 + 24, BA_PROXY = 24 + 32,
       BA_DIM0 = 24 + 40, BA_DIM1 = 24 + 48 };

START_TEST(rejects_bad_bigarrays)
{
    struct {
        size_t at;
        uintptr_t value;
    } bad[] = {
        {BA_NDIMS, 0},
        {BA_NDIMS, 17},
        {BA_NDIMS, 1},                                   /* wosize no longer matches */
        {BA_NDIMS, (uintptr_t)-2},
        {BA_DIM0, (uintptr_t)-1},                        /* negative extent          */
        {BA_DIM0, 4},                                    /* 20 bytes need 3 words    */
        {BA_DIM1, (uintptr_t)1 << 62},                   /* overflow                 */
        {BA_FLAGS, NMC_BA_KIND_COUNT},                   /* invalid kind             */
        {BA_FLAGS, NMC_BA_UINT8 | NMC_BA_MANAGED},       /* not external             */
        {BA_FLAGS, NMC_BA_UINT8 | NMC_BA_MAPPED_FILE},
        {BA_FLAGS, NMC_BA_UINT8 | 0x1000},               /* unknown flag bit         */
        {BA_PROXY, 64},
        {BA_DATA, (uintptr_t)buf + 104},                 /* not at its data          */
        {BA_DATA, (uintptr_t)buf + 88},
        {80, nmc_make_header(1, NMC_TAG_ABSTRACT, 0)},  /* bad pseudo-header        */
        {80, nmc_make_header(0, NMC_TAG_STRING, 0)},
        {88, 3},                                         /* wrong data length        */
        {88, 1},
        {88, (uintptr_t)-1},
        {8, (uintptr_t)buf + 88},                        /* root field to the data   */
        {8, (uintptr_t)buf + 96},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct image im = bigarray_image();
        *word_at(bad[i].at) = bad[i].value;
        ck_assert_msg(check(&im, NULL) == NMC_ECORRUPT, "corruption %zu accepted", i);
    }
    /* the image cut before its data, or the data header missing */
    struct image im = bigarray_image();
    im.len = 80;
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    im.len = 88;
    ck_assert_status(check(&im, NULL), NMC_ECORRUPT);
    im = bigarray_image();
    *word_at(BA_FLAGS) = NMC_BA_UINT8 | NMC_BA_FORTRAN_LAYOUT; /* layout alone is fine */
    ck_assert_ok(check(&im, NULL));
}
END_TEST

/* xorshift64*: deterministic noise */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* A plausible word: often a small header, a pointer near the image, an
 * immediate, else noise. */
static uintptr_t hostile_word(uint64_t *s, uintptr_t near)
{
    uint64_t r = next_random(s);
    switch (r % 6) {
    case 0:
        return nmc_make_header((r >> 8) % 40, (r >> 16) % 256, 0);
    case 1:
        return nmc_make_header((r >> 8) % 4, 240 + (r >> 16) % 16, 0);
    case 2:
        return near + ((r >> 8) % 512) * 8;
    case 3:
        return (r >> 8) | 1;
    case 4:
        return (r >> 8) % 32;
    default:
        return r;
    }
}

START_TEST(hostile_input_stays_inside)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    /* [no access][2 pages][no access]: the image fills the middle pages */
    unsigned char *map = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    unsigned char *img = map + pg;
    ck_assert_int_eq(mprotect(img, 2 * pg, PROT_READ | PROT_WRITE), 0);
    nmc_memory m = {img - 64, 2 * pg + 64}; /* the 64 bytes before off are not mapped */
    size_t len = 2 * pg;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    int accepted = 0;
    for (int round = 0; round < 3000; round++) {
        size_t words = len / 8 - (round % 7); /* images ending before the guard too */
        size_t first = len - words * 8;
        for (size_t i = 0; i < len / 8; i++)
            ((uintptr_t *)img)[i] = hostile_word(&seed, (uintptr_t)img);
        int st = nmc_image_check(m, 64 + first, words * 8, 64 + first + 8, NULL);
        if (st != NMC_OK && st != NMC_ECORRUPT)
            ck_abort_msg("round %d: %s", round, nmc_strerror(st));
        accepted += st == NMC_OK;
    }
    /* mutated real images: flip one word, check, must not fault */
    nmc_value v = every_kind();
    struct nmc_copy_options opt = {.flags = ALL_FLAGS | NMC_KEEP_ATOM};
    size_t voff, ilen;
    ck_assert_ok(nmc_init_value((nmc_memory){img, len}, 0, v, &opt, &voff, &ilen));
    unsigned char *pristine = malloc(ilen);
    ck_assert_ptr_nonnull(pristine);
    memcpy(pristine, img, ilen);
    unsigned char *at = img + len - ilen; /* the image ends at the guard page */
    nmc_memory tail = {at, ilen};
    for (int round = 0; round < 20000; round++) {
        memcpy(at, pristine, ilen);
        /* relocate for where it now lies, via target_addr */
        struct nmc_copy_options topt = {.target_addr = (uintptr_t)img};
        if (round == 0 && nmc_image_check(tail, 0, ilen, voff, &topt) != NMC_OK)
            ck_abort_msg("pristine image rejected");
        size_t w = next_random(&seed) % (ilen / 8);
        ((uintptr_t *)at)[w] = hostile_word(&seed, (uintptr_t)img);
        int st = nmc_image_check(tail, 0, ilen, voff, &topt);
        if (st != NMC_OK && st != NMC_ECORRUPT)
            ck_abort_msg("round %d: %s", round, nmc_strerror(st));
    }
    free(pristine);
    ck_assert_int_eq(munmap(map, 4 * pg), 0);
    ck_assert_int_lt(accepted, 3000);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mem_image_check");
    TCase *tc = tcase_create("image_check");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, accepts_copier_output);
    tcase_add_test(tc, moves_an_image_to_where_it_lies);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, rejects_bad_tags);
    tcase_add_test(tc, rejects_oversized_blocks);
    tcase_add_test(tc, rejects_bad_string_padding);
    tcase_add_test(tc, rejects_bad_pointers);
    tcase_add_test(tc, rejects_unknown_custom_ops);
    tcase_add_test(tc, rejects_bad_bigarrays);
    tcase_add_test(tc, hostile_input_stays_inside);
    suite_add_tcase(s, tc);
    return s;
}
