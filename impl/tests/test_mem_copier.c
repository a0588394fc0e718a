/* Tests of the value copier: nmc_init_value, nmc_copier_*, nmc_copy_value
 * (impl/src/mem/copier*.c, copy_value.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/mem.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "test_values.h"

/* ---- builders ------------------------------------------------------------ */

static nmc_value bigarray(int kind, int layout, int nd, const intptr_t *dims)
{
    nmc_value v;
    ck_assert_ok(nmc_alloc_bigarray(arena, kind, layout, nd, dims, NULL, &v));
    struct nmc_bigarray *ba = nmc_bigarray_val(v);
    size_t bytes;
    ck_assert_ok(nmc_ba_byte_size(ba, &bytes));
    for (size_t i = 0; i < bytes; i++)
        ((unsigned char *)ba->data)[i] = (unsigned char)(i * 7 + 1);
    return v;
}

/* A list of n immediates (n-1 .. 0 from the head). Check's assertions
 * record each passing call, so loops this long test by hand. */
static nmc_value int_list(size_t n)
{
    nmc_value l = NMC_VAL_UNIT;
    for (size_t i = 0; i < n; i++)
        if (nmc_alloc_tuple(arena, 0, 2, (nmc_value[]){nmc_val_long(i), l}, &l) != NMC_OK)
            ck_abort_msg("allocation %zu failed", i);
    return l;
}

/* ---- copying helpers ----------------------------------------------------- */

static unsigned char buf[1 << 16] __attribute__((aligned(64)));

static nmc_memory whole_buf(void) { return (nmc_memory){buf, sizeof buf}; }

/* Copies v into buf at off with flags; returns the copy. */
static nmc_value copy_flags(nmc_value v, size_t off, unsigned flags, size_t *bytelen)
{
    struct nmc_copy_options opt = {.flags = flags};
    size_t voff, len;
    ck_assert_ok(nmc_init_value(whole_buf(), off, v, &opt, &voff, &len));
    ck_assert_uint_eq(voff, off + 8);
    if (bytelen != NULL)
        *bytelen = len;
    return (nmc_value)(buf + voff);
}

static size_t simulated_len(nmc_value v, unsigned flags)
{
    struct nmc_copy_options opt = {.flags = flags | NMC_COPY_SIMULATE};
    size_t voff, len;
    ck_assert_ok(nmc_init_value((nmc_memory){NULL, 0}, 0, v, &opt, &voff, &len));
    ck_assert_uint_eq(voff, 8);
    return len;
}

static int copy_status(nmc_value v, unsigned flags)
{
    struct nmc_copy_options opt = {.flags = flags};
    size_t voff, len;
    return nmc_init_value(whole_buf(), 0, v, &opt, &voff, &len);
}

static void assert_isomorphic(nmc_value a, nmc_value b)
{
    bool same = false;
    ck_assert_ok(nmc_isomorphic(a, b, &same));
    ck_assert_msg(same, "copy is not isomorphic to the original");
}

static uintptr_t word(size_t off) { return ((uintptr_t *)buf)[off / 8]; }

/* ---- layout ---------------------------------------------------------------- */

START_TEST(exact_image_of_a_small_value)
{
    /* (7, "abc", 2.5, <same "abc">): root, then string, then double. */
    nmc_value s = str("abc");
    nmc_value root = tuple(0, 4, (nmc_value[]){nmc_val_long(7), s, dbl(2.5), s});
    memset(buf, 0xEE, 256);
    size_t len;
    copy_flags(root, 16, 0, &len);
    uintptr_t b = (uintptr_t)buf;
    double d = 2.5;
    uintptr_t dbits;
    memcpy(&dbits, &d, 8);
    uintptr_t abc;
    memcpy(&abc, "abc\0\0\0\0\4", 8);
    const uintptr_t expect[] = {
        nmc_make_header(4, 0, 0), 15, b + 64, b + 80, b + 64,
        nmc_make_header(1, 252, 0), abc,
        nmc_make_header(1, 253, 0), dbits,
    };
    ck_assert_uint_eq(len, sizeof expect);
    ck_assert_mem_eq(buf + 16, expect, sizeof expect);
    ck_assert_uint_eq(word(8), 0xEEEEEEEEEEEEEEEEu);               /* before off: untouched */
    ck_assert_uint_eq(word(16 + sizeof expect), 0xEEEEEEEEEEEEEEEEu); /* after: untouched */
}
END_TEST

START_TEST(breadth_first_order)
{
    /* root = (A, B), A = (C), B = (D): BFS places root, A, B, C, D. */
    nmc_value c = tuple(1, 1, (nmc_value[]){nmc_val_long(3)});
    nmc_value d = tuple(2, 1, (nmc_value[]){nmc_val_long(4)});
    nmc_value a = tuple(3, 1, (nmc_value[]){c});
    nmc_value b = tuple(4, 1, (nmc_value[]){d});
    nmc_value root = pair(a, b);
    size_t len;
    copy_flags(root, 0, 0, &len);
    ck_assert_uint_eq(len, 24 + 4 * 16);
    uintptr_t base = (uintptr_t)buf;
    ck_assert_uint_eq(word(8), base + 32);  /* A at 24 */
    ck_assert_uint_eq(word(16), base + 48); /* B at 40 */
    ck_assert_uint_eq(nmc_hd_tag(word(24)), 3);
    ck_assert_uint_eq(word(32), base + 64); /* A -> C at 56 */
    ck_assert_uint_eq(nmc_hd_tag(word(40)), 4);
    ck_assert_uint_eq(word(48), base + 80); /* B -> D at 72 */
    ck_assert_uint_eq(nmc_hd_tag(word(56)), 1);
    ck_assert_uint_eq(nmc_hd_tag(word(72)), 2);
}
END_TEST

START_TEST(headers_are_white)
{
    nmc_value s = str("x");
    nmc_value root = pair(s, NMC_VAL_UNIT);
    nmc_hd_val(root) = nmc_hd_with_color(nmc_hd_val(root), NMC_COLOR_BLACK);
    nmc_hd_val(s) = nmc_hd_with_color(nmc_hd_val(s), NMC_COLOR_GRAY);
    nmc_value c = copy_flags(root, 0, 0, NULL);
    ck_assert_uint_eq(nmc_hd_color(nmc_hd_val(c)), NMC_COLOR_WHITE);
    ck_assert_uint_eq(nmc_hd_color(nmc_hd_val(nmc_field(c, 0))), NMC_COLOR_WHITE);
    ck_assert_uint_eq(nmc_hd_color(nmc_hd_val(root)), NMC_COLOR_BLACK); /* source kept */
}
END_TEST

START_TEST(bad_arguments)
{
    nmc_value v = pair(NMC_VAL_UNIT, NMC_VAL_UNIT);
    size_t voff, len;
    nmc_memory m = whole_buf();
    ck_assert_status(nmc_init_value(m, 0, nmc_val_long(3), NULL, &voff, &len), NMC_EINVAL);
    ck_assert_status(nmc_init_value(m, 4, v, NULL, &voff, &len), NMC_EINVAL);
    ck_assert_status(nmc_init_value(m, sizeof buf + 8, v, NULL, &voff, &len), NMC_EINVAL);
    ck_assert_status(nmc_init_value((nmc_memory){buf + 4, 64}, 0, v, NULL, &voff, &len),
                     NMC_EINVAL);
    ck_assert_status(nmc_init_value(m, 0, v, NULL, NULL, &len), NMC_EINVAL);
    ck_assert_status(nmc_init_value(m, 0, v, NULL, &voff, NULL), NMC_EINVAL);
    ck_assert_status(nmc_init_value(m, 0, 0, NULL, &voff, &len), NMC_EINVAL);
    ck_assert_status(nmc_init_value((nmc_memory){NULL, 0}, 0, v, NULL, &voff, &len), NMC_EINVAL);
    struct nmc_copy_options opt = {.flags = 64};
    ck_assert_status(nmc_init_value(m, 0, v, &opt, &voff, &len), NMC_EINVAL);
    opt = (struct nmc_copy_options){.target_addr = 0x1004};
    ck_assert_status(nmc_init_value(m, 0, v, &opt, &voff, &len), NMC_EINVAL);
    opt = (struct nmc_copy_options){.flags = NMC_COPY_CONDITIONALLY, .n_ranges = 1};
    ck_assert_status(nmc_init_value(m, 0, v, &opt, &voff, &len), NMC_EINVAL);
    /* off == len: nothing fits */
    ck_assert_status(nmc_init_value(m, sizeof buf, v, NULL, &voff, &len), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_copier_init_value(NULL, m, 0, v, NULL, &voff, &len), NMC_EINVAL);
    ck_assert_status(nmc_copier_create(NULL), NMC_EINVAL);
    nmc_copier_destroy(NULL);
}
END_TEST

/* ---- space ------------------------------------------------------------------- */

/* A value with structured blocks, strings, doubles and a bigarray. */
static nmc_value mixed_value(void)
{
    nmc_value l = NMC_VAL_UNIT;
    for (int i = 0; i < 20; i++)
        l = pair(str("a string of some forty bytes in length.."), l);
    nmc_value ba = bigarray(NMC_BA_UINT8, NMC_BA_C_LAYOUT, 1, (intptr_t[]){13});
    return tuple(0, 3, (nmc_value[]){l, dbl(1.5), ba});
}

START_TEST(one_byte_too_small)
{
    nmc_value v = mixed_value();
    size_t need = simulated_len(v, NMC_COPY_BIGARRAY);
    struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY};
    size_t voff, len;
    memset(buf, 0x77, sizeof buf);
    ck_assert_status(nmc_init_value((nmc_memory){buf, 64 + need - 1}, 64, v, &opt, &voff, &len),
                     NMC_EOUT_OF_SPACE);
    for (size_t i = 64 + need - 1; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0x77);
    ck_assert_ok(nmc_init_value((nmc_memory){buf, 64 + need}, 64, v, &opt, &voff, &len));
    ck_assert_uint_eq(len, need);
    ck_assert_uint_eq(buf[64 + need], 0x77);
}
END_TEST

START_TEST(guard_page_never_touched)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *map = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + 3 * pg, pg, PROT_NONE), 0);
    unsigned char *end = map + 3 * pg;
    nmc_value v = mixed_value();
    struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY};
    size_t need = simulated_len(v, opt.flags);
    ck_assert_uint_lt(need, 3 * pg);
    size_t voff, len;
    /* every shorter buffer ending at the guard page fails cleanly */
    for (size_t avail = 0; avail < need; avail += 8) {
        nmc_memory m = {end - avail, avail};
        ck_assert_status(nmc_init_value(m, 0, v, &opt, &voff, &len), NMC_EOUT_OF_SPACE);
    }
    /* a string larger than the whole buffer */
    size_t big_len = 4 * pg;
    char *big = malloc(big_len);
    ck_assert_ptr_nonnull(big);
    memset(big, 'q', big_len);
    nmc_value s;
    ck_assert_ok(nmc_alloc_string(arena, big, big_len, &s));
    free(big);
    ck_assert_status(nmc_init_value((nmc_memory){end - 3 * pg, 3 * pg}, 0, s, NULL, &voff, &len),
                     NMC_EOUT_OF_SPACE);
    /* exactly fitting up to the guard page works */
    nmc_memory m = {end - need, need};
    ck_assert_ok(nmc_init_value(m, 0, v, &opt, &voff, &len));
    ck_assert_uint_eq(len, need);
    assert_isomorphic(v, (nmc_value)(m.data + voff));
    ck_assert_int_eq(munmap(map, 4 * pg), 0);
}
END_TEST

/* ---- unsupported kinds ------------------------------------------------------ */

START_TEST(unsupported_tags)
{
    const unsigned tags[] = {NMC_TAG_LAZY,  NMC_TAG_CLOSURE, NMC_TAG_OBJECT,
                             NMC_TAG_INFIX, NMC_TAG_FORWARD, NMC_TAG_ABSTRACT};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        nmc_value b;
        ck_assert_ok(nmc_alloc_block(arena, tags[i], 2, &b));
        const unsigned all = NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_COPY_ATOM;
        ck_assert_status(copy_status(b, all), NMC_EUNSUPPORTED);
        ck_assert_status(copy_status(pair(nmc_val_long(1), b), all), NMC_EUNSUPPORTED);
    }
    nmc_value a;
    ck_assert_ok(nmc_alloc_abstract(arena, 3, &a));
    ck_assert_status(copy_status(pair(a, a), 0), NMC_EUNSUPPORTED);
}
END_TEST

START_TEST(atoms_under_each_flag)
{
    nmc_value atom = nmc_atom(0);
    nmc_value v = tuple(0, 3, (nmc_value[]){atom, nmc_atom(5), atom});
    ck_assert_status(copy_status(v, 0), NMC_EUNSUPPORTED);

    size_t len;
    nmc_value k = copy_flags(v, 0, NMC_KEEP_ATOM, &len);
    ck_assert_uint_eq(len, 32);
    ck_assert_uint_eq(nmc_field(k, 0), atom);
    ck_assert_uint_eq(nmc_field(k, 1), nmc_atom(5));

    for (int both = 0; both < 2; both++) {
        nmc_value c = copy_flags(v, 0, NMC_COPY_ATOM | (both ? NMC_KEEP_ATOM : 0), &len);
        ck_assert_uint_eq(len, 32 + 8 + 8); /* two atom copies, shared one once */
        ck_assert_uint_eq(nmc_field(c, 0), (uintptr_t)buf + 40);
        ck_assert_uint_eq(nmc_field(c, 1), (uintptr_t)buf + 48);
        ck_assert_uint_eq(nmc_field(c, 2), nmc_field(c, 0));
        ck_assert_uint_eq(word(32), nmc_make_header(0, 0, 0));
        ck_assert_uint_eq(word(40), nmc_make_header(0, 5, 0));
        ck_assert(!nmc_is_atom(nmc_field(c, 0)));
    }
    /* a root atom: copied under COPY_ATOM only */
    ck_assert_status(copy_status(nmc_atom(3), 0), NMC_EUNSUPPORTED);
    ck_assert_status(copy_status(nmc_atom(3), NMC_KEEP_ATOM), NMC_EUNSUPPORTED);
    nmc_value r = copy_flags(nmc_atom(3), 0, NMC_COPY_ATOM, &len);
    ck_assert_uint_eq(len, 8);
    ck_assert_uint_eq(nmc_hd_val(r), nmc_make_header(0, 3, 0));
    /* zero-size blocks of tags whose layout needs words are refused */
    ck_assert_status(copy_status(pair(nmc_atom(NMC_TAG_STRING), 1), NMC_COPY_ATOM),
                     NMC_EUNSUPPORTED);
    ck_assert_status(copy_status(pair(nmc_atom(NMC_TAG_CLOSURE), 1), NMC_KEEP_ATOM),
                     NMC_EUNSUPPORTED);
}
END_TEST

/* ---- custom blocks ------------------------------------------------------------ */

static int no_compare(nmc_value a, nmc_value b) { return (a > b) - (a < b); }
static uint32_t no_hash(nmc_value v) { return (uint32_t)v; }

START_TEST(custom_integers)
{
    nmc_value i32, i64, nat;
    ck_assert_ok(nmc_alloc_int32(arena, -5, &i32));
    ck_assert_ok(nmc_alloc_int64(arena, INT64_MIN + 3, &i64));
    ck_assert_ok(nmc_alloc_nativeint(arena, 123456789, &nat));
    nmc_value v = tuple(0, 3, (nmc_value[]){i32, i64, nat});
    ck_assert_status(copy_status(v, 0), NMC_EUNSUPPORTED);
    ck_assert_status(copy_status(v, NMC_COPY_BIGARRAY), NMC_EUNSUPPORTED);
    size_t len;
    nmc_value c = copy_flags(v, 0, NMC_COPY_CUSTOM_INT, &len);
    ck_assert_uint_eq(len, 32 + 3 * 24);
    ck_assert_int_eq(nmc_int32_val(nmc_field(c, 0)), -5);
    ck_assert_int_eq(nmc_int64_val(nmc_field(c, 1)), INT64_MIN + 3);
    ck_assert_int_eq(nmc_nativeint_val(nmc_field(c, 2)), 123456789);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 0)), &nmc_int32_ops);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 1)), &nmc_int64_ops);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 2)), &nmc_nativeint_ops);
    assert_isomorphic(v, c);

    /* the receiver's records, by identifier */
    static const struct nmc_custom_ops t32 = {"_i", no_compare, no_hash};
    static const struct nmc_custom_ops t64 = {"_j", no_compare, no_hash};
    static const struct nmc_custom_ops tn = {"_n", no_compare, no_hash};
    const struct nmc_custom_ops *const targets[] = {&tn, &t64, &t32};
    struct nmc_copy_options opt = {.flags = NMC_COPY_CUSTOM_INT, .target_ops = targets,
                                   .n_target_ops = 3};
    size_t voff;
    ck_assert_ok(nmc_init_value(whole_buf(), 0, v, &opt, &voff, &len));
    c = (nmc_value)(buf + voff);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 0)), &t32);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 1)), &t64);
    ck_assert_ptr_eq(nmc_custom_ops_val(nmc_field(c, 2)), &tn);
    /* a receiver without "_j" cannot take an int64 */
    opt.n_target_ops = 1;
    ck_assert_status(nmc_init_value(whole_buf(), 0, v, &opt, &voff, &len), NMC_EUNSUPPORTED);
    ck_assert_ok(nmc_init_value(whole_buf(), 0, pair(nat, nat), &opt, &voff, &len));
}
END_TEST

START_TEST(unknown_custom_refused)
{
    static const struct nmc_custom_ops foo = {"_foo", no_compare, no_hash};
    static const struct nmc_custom_ops b = {"_b", no_compare, no_hash};
    const struct nmc_custom_ops *recs[] = {&foo, &b};
    for (int i = 0; i < 2; i++) {
        nmc_value cb;
        ck_assert_ok(nmc_alloc_block(arena, NMC_TAG_CUSTOM, 2, &cb));
        nmc_field(cb, 0) = (nmc_value)recs[i];
        ck_assert_status(copy_status(pair(cb, 1), NMC_COPY_CUSTOM_INT | NMC_COPY_BIGARRAY),
                         NMC_EUNSUPPORTED);
    }
}
END_TEST

/* ---- bigarrays ------------------------------------------------------------------ */

static void check_bigarray_copy(nmc_value src, nmc_value c, size_t at)
{
    const struct nmc_bigarray *s = nmc_bigarray_val(src);
    const struct nmc_bigarray *d = nmc_bigarray_val(c);
    size_t bytes;
    ck_assert_ok(nmc_ba_byte_size(s, &bytes));
    size_t wosize = 5 + (size_t)s->num_dims;
    ck_assert_uint_eq(nmc_hd_val(c), nmc_make_header(wosize, NMC_TAG_CUSTOM, 0));
    ck_assert_ptr_eq(nmc_custom_ops_val(c), &nmc_bigarray_ops);
    ck_assert_int_eq(d->num_dims, s->num_dims);
    ck_assert_int_eq(d->flags, (s->flags & ~NMC_BA_MANAGED_MASK) | NMC_BA_EXTERNAL);
    ck_assert_ptr_null(d->proxy);
    for (intptr_t i = 0; i < s->num_dims; i++)
        ck_assert_int_eq(d->dim[i], s->dim[i]);
    size_t after = at + (wosize + 1) * 8; /* the pseudo-header */
    size_t words = (bytes + 7) / 8;
    ck_assert_uint_eq(word(after), NMC_TAG_ABSTRACT);
    ck_assert_uint_eq(word(after + 8), words);
    ck_assert_ptr_eq(d->data, buf + after + 16);
    if (bytes > 0)
        ck_assert_mem_eq(d->data, s->data, bytes);
    for (size_t i = bytes; i < words * 8; i++)
        ck_assert_uint_eq(((unsigned char *)d->data)[i], 0);
}

START_TEST(bigarrays_of_many_shapes)
{
    struct {
        int kind, layout, nd;
        intptr_t dims[3];
    } cases[] = {
        {NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 1, {5}},
        {NMC_BA_SINT8, NMC_BA_FORTRAN_LAYOUT, 2, {3, 3}},
        {NMC_BA_UINT16, NMC_BA_C_LAYOUT, 3, {2, 3, 1}},
        {NMC_BA_COMPLEX64, NMC_BA_FORTRAN_LAYOUT, 1, {3}},
        {NMC_BA_CHAR, NMC_BA_C_LAYOUT, 2, {0, 7}},
        {NMC_BA_INT32, NMC_BA_C_LAYOUT, 1, {1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nmc_value ba = bigarray(cases[i].kind, cases[i].layout, cases[i].nd, cases[i].dims);
        memset(buf, 0xCC, 4096);
        ck_assert_status(copy_status(ba, NMC_COPY_CUSTOM_INT), NMC_EUNSUPPORTED);
        size_t len;
        nmc_value c = copy_flags(ba, 0, NMC_COPY_BIGARRAY, &len);
        check_bigarray_copy(ba, c, 0);
        ck_assert_uint_eq(len, simulated_len(ba, NMC_COPY_BIGARRAY));
        assert_isomorphic(ba, c);
        /* as a field, after another block, shared twice */
        nmc_value v = tuple(0, 3, (nmc_value[]){str("before"), ba, ba});
        c = copy_flags(v, 8, NMC_COPY_BIGARRAY, &len);
        ck_assert_uint_eq(nmc_field(c, 1), nmc_field(c, 2));
        check_bigarray_copy(ba, nmc_field(c, 1), 8 + 32 + 16);
        ck_assert_uint_eq(len, simulated_len(v, NMC_COPY_BIGARRAY));
    }
}
END_TEST

START_TEST(bigarray_refusals)
{
    nmc_value ba = bigarray(NMC_BA_INT64, NMC_BA_C_LAYOUT, 1, (intptr_t[]){4});
    struct nmc_bigarray *b = nmc_bigarray_val(ba);
    b->flags = (b->flags & ~NMC_BA_MANAGED_MASK) | NMC_BA_MAPPED_FILE;
    ck_assert_status(copy_status(ba, NMC_COPY_BIGARRAY), NMC_EUNSUPPORTED);
    b->flags = (b->flags & ~NMC_BA_MANAGED_MASK) | NMC_BA_EXTERNAL;
    ck_assert_status(copy_status(ba, NMC_COPY_BIGARRAY), NMC_OK);
    b->dim[0] = -1;
    ck_assert_status(copy_status(ba, NMC_COPY_BIGARRAY), NMC_EUNSUPPORTED);
    b->dim[0] = 4;
    b->flags = (b->flags & ~NMC_BA_KIND_MASK) | 0x3F;
    ck_assert_status(copy_status(ba, NMC_COPY_BIGARRAY), NMC_EUNSUPPORTED);
    b->flags = NMC_BA_INT64;
    b->num_dims = 2; /* wosize no longer matches */
    ck_assert_status(copy_status(ba, NMC_COPY_BIGARRAY), NMC_EUNSUPPORTED);
    b->num_dims = 1;
    /* a bigarray larger than the buffer */
    nmc_value big = bigarray(NMC_BA_FLOAT64, NMC_BA_C_LAYOUT, 1, (intptr_t[]){sizeof buf / 8});
    ck_assert_status(copy_status(big, NMC_COPY_BIGARRAY), NMC_EOUT_OF_SPACE);
}
END_TEST

/* ---- graphs ----------------------------------------------------------------------- */

START_TEST(cycles_preserved)
{
    nmc_value a = pair(nmc_val_long(1), NMC_VAL_UNIT);
    nmc_value b = pair(nmc_val_long(2), a);
    nmc_field(a, 1) = b;                 /* a -> b -> a */
    nmc_value self = pair(str("s"), NMC_VAL_UNIT);
    nmc_field(self, 1) = self;           /* self loop */
    nmc_value root = pair(a, self);
    size_t len;
    nmc_value c = copy_flags(root, 0, 0, &len);
    ck_assert_uint_eq(len, 4 * 24 + 16);
    nmc_value ca = nmc_field(c, 0);
    ck_assert_uint_eq(nmc_field(nmc_field(ca, 1), 1), ca);
    nmc_value cs = nmc_field(c, 1);
    ck_assert_uint_eq(nmc_field(cs, 1), cs);
    assert_isomorphic(root, c);
}
END_TEST

START_TEST(sharing_preserved)
{
    nmc_value shared = pair(str("shared"), dbl(3.0));
    nmc_value l = NMC_VAL_UNIT;
    for (int i = 0; i < 50; i++)
        l = pair(i % 3 == 1 ? shared : str("other"), l);
    nmc_value root = tuple(0, 3, (nmc_value[]){l, shared, l});
    size_t len;
    nmc_value c = copy_flags(root, 0, 0, &len);
    ck_assert_uint_eq(nmc_field(c, 0), nmc_field(c, 2));
    ck_assert_uint_eq(nmc_field(nmc_field(c, 0), 0), nmc_field(c, 1));
    assert_isomorphic(root, c);
    ck_assert_uint_eq(len, simulated_len(root, 0));
}
END_TEST

START_TEST(ten_million_element_list)
{
    const size_t n = 10 * 1000 * 1000;
    nmc_value l = int_list(n);
    nmc_copier *copier;
    ck_assert_ok(nmc_copier_create(&copier));
    struct nmc_copy_options sim = {.flags = NMC_COPY_SIMULATE};
    size_t voff, need, len;
    ck_assert_ok(nmc_copier_init_value(copier, (nmc_memory){NULL, 0}, 0, l, &sim, &voff, &need));
    ck_assert_uint_eq(need, n * 24);
    nmc_memory m;
    m.len = need;
    m.data = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(m.data, MAP_FAILED);
    ck_assert_ok(nmc_copier_init_value(copier, m, 0, l, NULL, &voff, &len));
    ck_assert_uint_eq(len, need);
    nmc_copier_destroy(copier);
    size_t count = 0;
    for (nmc_value c = (nmc_value)(m.data + voff); nmc_is_block(c); c = nmc_field(c, 1)) {
        if ((unsigned char *)c <= m.data || (unsigned char *)c >= m.data + m.len ||
            nmc_long_val(nmc_field(c, 0)) != (intptr_t)(n - 1 - count))
            ck_abort_msg("element %zu wrong", count);
        count++;
    }
    ck_assert_uint_eq(count, n);
    ck_assert_int_eq(munmap(m.data, m.len), 0);
}
END_TEST

/* ---- relocation, ranges, simulation, reuse ------------------------------------------ */

START_TEST(relocated_for_a_second_mapping)
{
    char name[NMC_SHM_NAME_MAX];
    int fd;
    const size_t size = 1 << 16;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), size, &fd, name));
    unsigned char *w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *r = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert_ok(nmc_sys_shm_unlink(name)); /* the mappings stay */
    ck_assert_ptr_ne(w, MAP_FAILED);
    ck_assert_ptr_ne(r, MAP_FAILED);
    ck_assert_ptr_ne(w, r);
    nmc_value v = mixed_value();
    struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY, .target_addr = (uintptr_t)r};
    size_t voff, len;
    ck_assert_ok(nmc_init_value((nmc_memory){w, size}, 128, v, &opt, &voff, &len));
    nmc_value c = (nmc_value)(r + voff);
    assert_isomorphic(v, c);
    /* the bigarray's data follows its 7-word block and the 2-word prefix */
    nmc_value bav = nmc_field(c, 2);
    ck_assert_ptr_eq(nmc_bigarray_val(bav)->data, (unsigned char *)bav - 8 + 7 * 8 + 16);
    /* every pointer of the copy lies in the reader's mapping */
    ck_assert((unsigned char *)nmc_field(c, 0) > r && (unsigned char *)nmc_field(c, 0) < r + size);
    ck_assert_ok(nmc_image_check((nmc_memory){r, size}, 128, len, voff, NULL));
    ck_assert_ok(nmc_image_check((nmc_memory){w, size}, 128, len, voff, &opt));
    ck_assert_int_eq(munmap(w, size), 0);
    ck_assert_int_eq(munmap(r, size), 0);
}
END_TEST

START_TEST(conditional_ranges)
{
    nmc_value outside = pair(str("stays"), nmc_val_long(9));
    nmc_value inner = pair(str("copied"), outside);
    nmc_value root = tuple(0, 3, (nmc_value[]){inner, outside, NMC_VAL_UNIT});
    nmc_field(root, 2) = root; /* a pointer back to the root */
    struct nmc_addr_range ranges[] = {
        {0x10, 0x20},
        {(uintptr_t)outside, (uintptr_t)outside + 8},
        {(uintptr_t)root, (uintptr_t)root + 8}, /* the root is in a range too */
    };
    struct nmc_copy_options opt = {.flags = NMC_COPY_CONDITIONALLY, .ranges = ranges,
                                   .n_ranges = 3};
    size_t voff, len;
    ck_assert_ok(nmc_init_value(whole_buf(), 0, root, &opt, &voff, &len));
    nmc_value c = (nmc_value)(buf + voff);
    ck_assert_uint_eq(nmc_field(c, 1), outside);               /* left alone */
    ck_assert_uint_eq(nmc_field(nmc_field(c, 0), 1), outside); /* also inside */
    ck_assert_uint_eq(nmc_field(c, 2), c); /* root copied, so relocated as OCamlnet */
    ck_assert_uint_eq(len, 32 + 24 + 16); /* root, inner, "copied" */
    opt.flags |= NMC_COPY_SIMULATE;
    size_t slen;
    ck_assert_ok(nmc_init_value((nmc_memory){NULL, 0}, 0, root, &opt, &voff, &slen));
    ck_assert_uint_eq(slen, len);
    /* without the flag the ranges are ignored */
    opt.flags = 0;
    ck_assert_ok(nmc_init_value(whole_buf(), 0, root, &opt, &voff, &len));
    ck_assert_uint_eq(len, 32 + 24 + 16 + 24 + 16);
}
END_TEST

START_TEST(simulation_writes_nothing)
{
    nmc_value values[] = {mixed_value(), int_list(100), str(""), dbl(0.0)};
    for (size_t i = 0; i < 4; i++) {
        memset(buf, 0x5A, sizeof buf);
        struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY | NMC_COPY_SIMULATE};
        size_t voff, slen, len;
        ck_assert_ok(nmc_init_value((nmc_memory){buf, 16}, 8, values[i], &opt, &voff, &slen));
        ck_assert_uint_eq(voff, 16);
        for (size_t k = 0; k < sizeof buf; k++)
            if (buf[k] != 0x5A)
                ck_abort_msg("simulation wrote byte %zu", k);
        opt.flags = NMC_COPY_BIGARRAY;
        ck_assert_ok(nmc_init_value(whole_buf(), 8, values[i], &opt, &voff, &len));
        ck_assert_uint_eq(slen, len);
    }
}
END_TEST

START_TEST(copier_reuse)
{
    nmc_copier *c;
    ck_assert_ok(nmc_copier_create(&c));
    static unsigned char fresh[1 << 16], reused[1 << 16];
    nmc_value values[] = {mixed_value(), int_list(2000), pair(str("a"), str("b"))};
    /* one fake target for both copies, so the images compare bit for bit */
    struct nmc_copy_options opt = {.flags = NMC_COPY_BIGARRAY, .target_addr = 0x10000};
    nmc_value bad;
    ck_assert_ok(nmc_alloc_block(arena, NMC_TAG_CLOSURE, 1, &bad));
    nmc_value failing = pair(int_list(100), bad);
    nmc_memory into_reused = {reused, sizeof reused}, into_fresh = {fresh, sizeof fresh};
    size_t voff, len, voff2, len2;
    /* 70000 copies also wrap the copier's 16-bit stamp */
    for (int round = 0; round < 70000; round++) {
        if (round % 1000 == 999) {
            ck_assert_status(nmc_copier_init_value(c, into_reused, 0, failing, &opt, &voff, &len),
                             NMC_EUNSUPPORTED);
            continue;
        }
        nmc_value v = round % 997 == 0 ? values[(round / 997) % 2] : values[2];
        ck_assert_ok(nmc_copier_init_value(c, into_reused, 0, v, &opt, &voff, &len));
        if (round % 997 != 0 && round % 101 != 0 && round < 69990)
            continue;
        memset(fresh, 0, sizeof fresh);
        ck_assert_ok(nmc_init_value(into_fresh, 0, v, &opt, &voff2, &len2));
        ck_assert_uint_eq(len, len2);
        ck_assert_uint_eq(voff, voff2);
        ck_assert_mem_eq(reused, fresh, len);
    }
    nmc_copier_destroy(c);
}
END_TEST

/* Threads copying with nmc_init_value, each through its own cached
 * copier; one of them first copies a value too large for the cache. */
struct copier_thread {
    nmc_value v, huge;            /* what it copies (read-only, shared)   */
    const unsigned char *want;    /* v's image                            */
    size_t want_len;
    int failures;
};

static void *copy_in_thread(void *arg)
{
    struct copier_thread *t = arg;
    struct nmc_copy_options opt = {.target_addr = 0x10000};
    size_t cap = 1 << 16, voff, len;
    unsigned char *out = malloc(t->huge != 0 ? 1 << 26 : cap);
    if (out == NULL)
        return NULL;
    if (t->huge != 0)
        t->failures += nmc_init_value((nmc_memory){out, 1 << 26}, 0, t->huge, &opt, &voff,
                                      &len) != NMC_OK;
    for (int round = 0; round < 2000; round++)
        t->failures += nmc_init_value((nmc_memory){out, cap}, 0, t->v, &opt, &voff, &len) !=
                           NMC_OK ||
                       len != t->want_len || memcmp(out, t->want, len) != 0;
    free(out);
    return NULL;
}

START_TEST(threads_copy_through_their_own_cached_copier)
{
    static unsigned char want[1 << 16];
    struct nmc_copy_options opt = {.target_addr = 0x10000};
    nmc_copier *c;
    size_t voff, len;
    nmc_value v = pair(int_list(500), str("shared by every thread"));
    ck_assert_ok(nmc_copier_create(&c));
    ck_assert_ok(nmc_copier_init_value(c, (nmc_memory){want, sizeof want}, 0, v, &opt, &voff, &len));
    nmc_copier_destroy(c);
    struct copier_thread t[4];
    pthread_t id[4];
    for (int i = 0; i < 4; i++) {
        /* 600,000 cells outgrow the largest table the cache keeps */
        t[i] = (struct copier_thread){v, i == 0 ? int_list(600000) : 0, want, len, 0};
        ck_assert_int_eq(pthread_create(&id[i], NULL, copy_in_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(id[i], NULL), 0);
        ck_assert_int_eq(t[i].failures, 0);
    }
}
END_TEST

/* ---- copy_value ---------------------------------------------------------------- */

START_TEST(copy_value_into_arena)
{
    nmc_value out;
    ck_assert_ok(nmc_copy_value(arena, 0, nmc_val_long(42), &out));
    ck_assert_uint_eq(out, nmc_val_long(42));
    ck_assert_ok(nmc_copy_value(arena, 0, nmc_atom(4), &out));
    ck_assert_uint_eq(out, nmc_atom(4));

    nmc_value v = tuple(0, 3, (nmc_value[]){mixed_value(), nmc_atom(0), int_list(10)});
    ck_assert_status(nmc_copy_value(arena, 0, v, &out), NMC_EUNSUPPORTED); /* bigarray */
    ck_assert_ok(nmc_copy_value(arena, NMC_COPY_BIGARRAY, v, &out));
    ck_assert_uint_ne(out, v);
    assert_isomorphic(v, out);
    ck_assert_uint_eq(nmc_field(out, 1), nmc_atom(0)); /* atoms kept */
    const struct nmc_bigarray *ba = nmc_bigarray_val(nmc_field(nmc_field(out, 0), 2));
    ck_assert_int_eq(ba->flags & NMC_BA_MANAGED_MASK, NMC_BA_MANAGED);
    ck_assert_ok(nmc_copy_value(arena, NMC_COPY_BIGARRAY | NMC_COPY_ATOM, v, &out));
    ck_assert(!nmc_is_atom(nmc_field(out, 1)));
    assert_isomorphic(nmc_field(v, 0), nmc_field(out, 0));

    ck_assert_status(nmc_copy_value(arena, NMC_COPY_SIMULATE, v, &out), NMC_EINVAL);
    ck_assert_status(nmc_copy_value(NULL, 0, v, &out), NMC_EINVAL);
    ck_assert_status(nmc_copy_value(arena, 0, v, NULL), NMC_EINVAL);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mem_copier");
    TCase *tc = tcase_create("copier");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, exact_image_of_a_small_value);
    tcase_add_test(tc, breadth_first_order);
    tcase_add_test(tc, headers_are_white);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, one_byte_too_small);
    tcase_add_test(tc, guard_page_never_touched);
    tcase_add_test(tc, unsupported_tags);
    tcase_add_test(tc, atoms_under_each_flag);
    tcase_add_test(tc, custom_integers);
    tcase_add_test(tc, unknown_custom_refused);
    tcase_add_test(tc, bigarrays_of_many_shapes);
    tcase_add_test(tc, bigarray_refusals);
    tcase_add_test(tc, cycles_preserved);
    tcase_add_test(tc, sharing_preserved);
    tcase_add_test(tc, relocated_for_a_second_mapping);
    tcase_add_test(tc, conditional_ranges);
    tcase_add_test(tc, simulation_writes_nothing);
    tcase_add_test(tc, copier_reuse);
    tcase_add_test(tc, threads_copy_through_their_own_cached_copier);
    tcase_add_test(tc, copy_value_into_arena);
    suite_add_tcase(s, tc);

    TCase *big = tcase_create("big");
    tcase_add_checked_fixture(big, test_values_setup, test_values_teardown);
    tcase_set_timeout(big, 600);
    tcase_add_test(big, ten_million_element_list);
    suite_add_tcase(s, big);
    return s;
}
