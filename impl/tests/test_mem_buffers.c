/* Tests of memory buffers (impl/src/mem/buffers.c, init_blocks.c, io.c):
 * blits, pages, aligned memory, file mappings, block initialisers,
 * cmp_string and I/O. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/mem.h"
#include "nmc/sys.h"
#include "nmc_test.h"

/* Sanitizer runtimes read these: a huge allocation must fail with NULL (the
 * ENOMEM path under test), not abort the test. */
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__tsan_default_options(void) { return "allocator_may_return_null=1"; }

/* A word-aligned scratch buffer, refilled with 0xEE before each test. */
static uint64_t scratch_words[64];
static nmc_memory scratch(void)
{
    memset(scratch_words, 0xEE, sizeof scratch_words);
    return (nmc_memory){(unsigned char *)scratch_words, sizeof scratch_words};
}

/* True if bytes [from, to) of m are all 0xEE (untouched). */
static bool untouched(nmc_memory m, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (m.data[i] != 0xEE)
            return false;
    return true;
}

/* ---- blits ----------------------------------------------------------------- */

START_TEST(blits_copy_and_check_ranges)
{
    unsigned char buf[16] = "0123456789abcdef";
    nmc_memory m = scratch();
    ck_assert_ok(nmc_blit_bytes_to_memory(buf, sizeof buf, 2, m, 5, 10));
    ck_assert_int_eq(memcmp(m.data + 5, "23456789ab", 10), 0);
    ck_assert(untouched(m, 0, 5) && untouched(m, 15, m.len));
    unsigned char out[8] = {0};
    ck_assert_ok(nmc_blit_memory_to_bytes(m, 7, out, sizeof out, 1, 7));
    ck_assert_int_eq(memcmp(out + 1, "456789a", 7), 0);
    ck_assert_int_eq(out[0], 0);

    /* exact ends are fine, one past is not */
    ck_assert_ok(nmc_blit_memory_to_bytes(m, m.len - 8, out, sizeof out, 0, 8));
    ck_assert_status(nmc_blit_memory_to_bytes(m, m.len - 7, out, sizeof out, 0, 8), NMC_EINVAL);
    ck_assert_status(nmc_blit_memory_to_bytes(m, 0, out, sizeof out, 1, 8), NMC_EINVAL);
    ck_assert_status(nmc_blit_bytes_to_memory(buf, sizeof buf, 9, m, 0, 8), NMC_EINVAL);
    ck_assert_status(nmc_blit_bytes_to_memory(buf, sizeof buf, 0, m, m.len - 3, 4), NMC_EINVAL);
    ck_assert_ok(nmc_blit_bytes_to_memory(buf, sizeof buf, 16, m, m.len, 0));
    ck_assert_status(nmc_blit_bytes_to_memory(buf, sizeof buf, 17, m, 0, 0), NMC_EINVAL);
    /* sums that would wrap are refused, not wrapped */
    ck_assert_status(nmc_blit_memory_to_bytes(m, SIZE_MAX, out, sizeof out, 0, 2), NMC_EINVAL);
    ck_assert_status(nmc_blit_memory_to_bytes(m, 2, out, sizeof out, 0, SIZE_MAX), NMC_EINVAL);
    ck_assert_status(nmc_blit_bytes_to_memory(buf, sizeof buf, 1, m, SIZE_MAX - 1, 2),
                     NMC_EINVAL);
    /* NULL buffers: only empty copies */
    ck_assert_ok(nmc_blit_memory_to_bytes((nmc_memory){NULL, 0}, 0, NULL, 0, 0, 0));
    ck_assert_status(nmc_blit_memory_to_bytes(m, 0, NULL, 4, 0, 4), NMC_EINVAL);
    ck_assert_status(nmc_blit_bytes_to_memory(buf, 4, 0, (nmc_memory){NULL, 4}, 0, 4),
                     NMC_EINVAL);
    ck_assert_uint_eq(nmc_memory_address(m), (uintptr_t)scratch_words);
    ck_assert_uint_eq(nmc_getpagesize(), (size_t)sysconf(_SC_PAGESIZE));
}
END_TEST

/* ---- pages and aligned memory ------------------------------------------------- */

START_TEST(memory_pages)
{
    size_t ps = nmc_getpagesize();
    nmc_memory m;
    ck_assert_ok(nmc_alloc_memory_pages(ps + 1, 0, &m));
    ck_assert_uint_eq(m.len, 2 * ps);
    ck_assert_uint_eq(nmc_memory_address(m) % ps, 0);
    ck_assert_int_eq(m.data[0] | m.data[2 * ps - 1], 0);
    m.data[2 * ps - 1] = 1;
    uintptr_t where = nmc_memory_address(m);
    ck_assert_ok(nmc_free_memory_pages(m));
    /* the range is free again: the hint is honoured */
    ck_assert_ok(nmc_alloc_memory_pages(2 * ps, where, &m));
    ck_assert_uint_eq(nmc_memory_address(m), where);
    ck_assert_ok(nmc_free_memory_pages(m));

    ck_assert_status(nmc_alloc_memory_pages(0, 0, &m), NMC_EINVAL);
    ck_assert_status(nmc_alloc_memory_pages(ps, where + 1, &m), NMC_EINVAL);
    ck_assert_status(nmc_alloc_memory_pages(ps, 0, NULL), NMC_EINVAL);
    ck_assert_status(nmc_alloc_memory_pages(SIZE_MAX, 0, &m), NMC_EOVERFLOW);
    ck_assert_status(nmc_free_memory_pages((nmc_memory){NULL, ps}), NMC_EINVAL);
    ck_assert_status(nmc_free_memory_pages((nmc_memory){(unsigned char *)where + 8, ps}),
                     NMC_EINVAL);
}
END_TEST

START_TEST(aligned_memory)
{
    size_t aligns[] = {8, 16, 64, 4096, 1 << 20};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        nmc_memory m;
        ck_assert_ok(nmc_alloc_aligned_memory(aligns[i], 1000, &m));
        ck_assert_uint_eq(m.len, 1000);
        ck_assert_uint_eq(nmc_memory_address(m) % aligns[i], 0);
#ifndef NDEBUG
        ck_assert_int_eq(m.data[0], 0xAA);
        ck_assert_int_eq(m.data[999], 0xAA);
#endif
        memset(m.data, 1, m.len);
        nmc_free_aligned_memory(m);
    }
    nmc_memory m;
    ck_assert_ok(nmc_alloc_aligned_memory(64, 0, &m));
    ck_assert_uint_eq(m.len, 0);
    nmc_free_aligned_memory(m);
    nmc_free_aligned_memory((nmc_memory){NULL, 0});
    size_t bad[] = {0, 1, 2, 4, 24, 100, (SIZE_MAX >> 1) + 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_status(nmc_alloc_aligned_memory(bad[i], 64, &m), NMC_EINVAL);
    ck_assert_status(nmc_alloc_aligned_memory(64, 64, NULL), NMC_EINVAL);
    ck_assert_status(nmc_alloc_aligned_memory(64, SIZE_MAX - 4096, &m), NMC_ENOMEM);
}
END_TEST

/* ---- file mappings ---------------------------------------------------------------- */

/* A temporary file with content "hello", already unlinked. */
static int temp_file(void)
{
    const char *dir = getenv("NMC_TEST_TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = getenv("TEST_TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/nmc_mapXXXXXX", dir != NULL && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    ck_assert_int_eq(write(fd, "hello", 5), 5);
    return fd;
}

static off_t file_size(int fd)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    return st.st_size;
}

START_TEST(map_file_grows_and_shares)
{
    size_t ps = nmc_getpagesize();
    int fd = temp_file();
    nmc_memory m;
    ck_assert_ok(nmc_memory_map_file(fd, 0, 0, true, 3 * ps, &m));
    ck_assert_uint_eq(m.len, 3 * ps);
    ck_assert_int_eq(file_size(fd), (off_t)(3 * ps));
    ck_assert_int_eq(memcmp(m.data, "hello", 5), 0);
    ck_assert_int_eq(m.data[3 * ps - 1], 0);

    /* a forked child's writes reach the parent's view and the file */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        memcpy(m.data + 2 * ps, "child", 5);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(memcmp(m.data + 2 * ps, "child", 5), 0);
    char back[5];
    ck_assert_int_eq(pread(fd, back, 5, (off_t)(2 * ps)), 5);
    ck_assert_int_eq(memcmp(back, "child", 5), 0);

    /* a second map at an unaligned pos sees the same bytes */
    nmc_memory w;
    ck_assert_ok(nmc_memory_map_file(fd, (off_t)(2 * ps + 1), 0, true, 10, &w));
    ck_assert_uint_eq(w.len, 10);
    ck_assert_uint_eq(nmc_memory_address(w) % ps, 1);
    ck_assert_int_eq(memcmp(w.data, "hild", 4), 0);
    ck_assert_int_eq(file_size(fd), (off_t)(3 * ps)); /* long enough already */
    ck_assert_ok(nmc_memory_unmap_file(&w));
    ck_assert_ptr_null(w.data);
    ck_assert_uint_eq(w.len, 0);
    ck_assert_ok(nmc_memory_unmap_file(&w)); /* already unmapped: nothing */

    ck_assert_ok(nmc_memory_unmap_file(&m));
    close(fd);
}
END_TEST

START_TEST(map_file_private_and_errors)
{
    size_t ps = nmc_getpagesize();
    int fd = temp_file();
    nmc_memory m;
    /* growth from an unaligned pos: the file ends exactly at pos + size */
    ck_assert_ok(nmc_memory_map_file(fd, 7, 0, false, ps, &m));
    ck_assert_int_eq(file_size(fd), (off_t)(7 + ps));
    m.data[0] = 'X'; /* private: the file keeps its byte */
    char c;
    ck_assert_int_eq(pread(fd, &c, 1, 7), 1);
    ck_assert_int_eq(c, 0);
    ck_assert_ok(nmc_memory_unmap_file(&m));

    ck_assert_ok(nmc_memory_map_file(fd, 0, 0, true, 0, &m));
    ck_assert_ptr_null(m.data);
    ck_assert_status(nmc_memory_map_file(fd, -1, 0, true, ps, &m), NMC_EINVAL);
    ck_assert_status(nmc_memory_map_file(fd, 0, 0, true, ps, NULL), NMC_EINVAL);
    ck_assert_status(nmc_memory_map_file(fd, INT64_MAX, 0, true, 2, &m), NMC_EOVERFLOW);
    ck_assert_status(nmc_memory_map_file(fd, 0, 0, true, SIZE_MAX, &m), NMC_EOVERFLOW);
    ck_assert_status(nmc_memory_map_file(-1, 0, 0, true, ps, &m), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_status(nmc_memory_unmap_file(NULL), NMC_EINVAL);
    close(fd);
}
END_TEST

/* ---- values in buffers ---------------------------------------------------------------- */

START_TEST(as_value_and_value_area)
{
    nmc_memory m = scratch();
    ck_assert_uint_eq(nmc_as_value(m, 8), (uintptr_t)scratch_words + 8);
    ck_assert_ok(nmc_value_area(m));
    ck_assert_status(nmc_value_area((nmc_memory){m.data + 4, 8}), NMC_EINVAL);
    ck_assert_status(nmc_value_area((nmc_memory){m.data, 0}), NMC_EINVAL);
    ck_assert_status(nmc_value_area((nmc_memory){NULL, 8}), NMC_EINVAL);
}
END_TEST

START_TEST(init_header_bits_and_bounds)
{
    nmc_memory m = scratch();
    ck_assert_ok(nmc_init_header(m, 16, 7, 3));
    ck_assert_uint_eq(scratch_words[2], ((uint64_t)3 << 10) | 7u);
    ck_assert(untouched(m, 0, 16) && untouched(m, 24, m.len));
    /* the block fills the buffer exactly: 63 fields after a header at 0 */
    ck_assert_ok(nmc_init_header(m, 0, NMC_TAG_ABSTRACT, 63));
    ck_assert_uint_eq(scratch_words[0], ((uint64_t)63 << 10) | 251u);
    ck_assert_status(nmc_init_header(m, 0, 0, 64), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, 8, 0, 63), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, m.len, 0, 0), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, SIZE_MAX - 7, 0, 0), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, 0, 0, SIZE_MAX), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, 0, 0, NMC_MAX_WOSIZE), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_header(m, 4, 0, 1), NMC_EINVAL);
    ck_assert_status(nmc_init_header(m, 0, 256, 1), NMC_EINVAL);
    ck_assert_status(nmc_init_header((nmc_memory){m.data + 1, 100}, 0, 0, 1), NMC_EINVAL);
    ck_assert_status(nmc_init_header((nmc_memory){NULL, 100}, 0, 0, 1), NMC_EINVAL);
}
END_TEST

START_TEST(init_string_layout)
{
    for (size_t len = 0; len <= 33; len++) {
        nmc_memory m = scratch();
        size_t voff = 0, used = 0;
        ck_assert_ok(nmc_init_string(m, 8, len, &voff, &used));
        size_t wosize = len / 8 + 1;
        ck_assert_uint_eq(voff, 16);
        ck_assert_uint_eq(used, (wosize + 1) * 8);
        ck_assert_uint_eq(used, nmc_init_string_bytelen(len));
        ck_assert_uint_eq(scratch_words[1], (wosize << 10) | 252u); /* white */
        nmc_value v = nmc_as_value(m, voff);
        ck_assert_uint_eq(nmc_tag_val(v), NMC_TAG_STRING);
        ck_assert_uint_eq(nmc_string_length(v), len);
        ck_assert_uint_eq(m.data[voff + wosize * 8 - 1], wosize * 8 - 1 - len);
        /* the padding bytes of the last word are zero */
        for (size_t i = len; i < wosize * 8 - 1; i++)
            ck_assert_int_eq(m.data[voff + i], 0);
        ck_assert(untouched(m, 0, 8) && untouched(m, 8 + used, m.len));
    }
    /* sizes: exact fit, one byte too small, misaligned */
    nmc_memory m = scratch();
    size_t need = nmc_init_string_bytelen(20); /* 32 */
    ck_assert_uint_eq(need, 32);
    ck_assert_ok(nmc_init_string((nmc_memory){m.data, 40}, 8, 20, NULL, NULL));
    m = scratch();
    ck_assert_status(nmc_init_string((nmc_memory){m.data, 39}, 8, 20, NULL, NULL),
                     NMC_EOUT_OF_SPACE);
    ck_assert(untouched(m, 0, m.len));
    ck_assert_status(nmc_init_string(m, 3, 20, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_init_string(m, 0, SIZE_MAX, NULL, NULL), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_string(m, 0, SIZE_MAX - 8, NULL, NULL), NMC_EOUT_OF_SPACE);
    ck_assert(untouched(m, 0, m.len));
    ck_assert_uint_eq(nmc_init_string_bytelen(SIZE_MAX), SIZE_MAX);
    ck_assert_uint_eq(nmc_init_string_bytelen(0), 16);
    ck_assert_uint_eq(nmc_init_string_bytelen(7), 16);
    ck_assert_uint_eq(nmc_init_string_bytelen(8), 24);
}
END_TEST

START_TEST(init_arrays_layout)
{
    nmc_memory m = scratch();
    size_t voff, used;
    ck_assert_ok(nmc_init_array(m, 0, 5, &voff, &used));
    ck_assert_uint_eq(voff, 8);
    ck_assert_uint_eq(used, 48);
    ck_assert_uint_eq(used, nmc_init_array_bytelen(5));
    ck_assert_uint_eq(scratch_words[0], (uint64_t)5 << 10);
    for (int i = 1; i <= 5; i++)
        ck_assert_uint_eq(scratch_words[i], NMC_VAL_UNIT);
    ck_assert(untouched(m, 48, m.len));

    m = scratch();
    ck_assert_ok(nmc_init_array(m, 16, 0, &voff, &used));
    ck_assert_uint_eq(used, 8);
    ck_assert_uint_eq(scratch_words[2], 0);
    ck_assert(untouched(m, 24, m.len));

    m = scratch();
    ck_assert_ok(nmc_init_float_array(m, 8, 3, &voff, &used));
    ck_assert_uint_eq(voff, 16);
    ck_assert_uint_eq(used, 32);
    ck_assert_uint_eq(used, nmc_init_float_array_bytelen(3));
    ck_assert_uint_eq(scratch_words[1], ((uint64_t)3 << 10) | 254u);
    nmc_value v = nmc_as_value(m, voff);
    for (int i = 0; i < 3; i++)
        ck_assert(nmc_double_field(v, i) == 0.0 && scratch_words[2 + i] == 0);
    ck_assert(untouched(m, 0, 8) && untouched(m, 40, m.len));

    /* one byte too small, misaligned, impossible sizes: nothing written */
    m = scratch();
    ck_assert_status(nmc_init_array((nmc_memory){m.data, 47}, 0, 5, NULL, NULL),
                     NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_float_array((nmc_memory){m.data, 31}, 0, 3, NULL, NULL),
                     NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_array(m, 12, 1, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_init_float_array(m, 1, 1, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_init_array(m, 0, SIZE_MAX, NULL, NULL), NMC_EOUT_OF_SPACE);
    ck_assert_status(nmc_init_float_array(m, 0, SIZE_MAX / 8, NULL, NULL), NMC_EOUT_OF_SPACE);
    ck_assert(untouched(m, 0, m.len));
    ck_assert_uint_eq(nmc_init_array_bytelen(SIZE_MAX), SIZE_MAX);
    ck_assert_uint_eq(nmc_init_float_array_bytelen(SIZE_MAX / 8), SIZE_MAX);
    ck_assert_uint_eq(nmc_init_float_array_bytelen(0), 8);
}
END_TEST

/* A string value of len bytes from s, made in the scratch buffer at off. */
static nmc_value buffer_string(nmc_memory m, size_t off, const char *s, size_t len)
{
    size_t voff, used;
    ck_assert_ok(nmc_init_string(m, off, len, &voff, &used));
    memcpy(m.data + voff, s, len);
    return nmc_as_value(m, voff);
}

START_TEST(cmp_string_semantics)
{
    nmc_memory m = scratch();
    nmc_value abc = buffer_string(m, 0, "abc", 3);
    nmc_value abd = buffer_string(m, 16, "abd", 3);
    nmc_value ab = buffer_string(m, 32, "ab", 2);
    nmc_value empty = buffer_string(m, 48, "", 0);
    nmc_value high = buffer_string(m, 64, "\xff", 1);
    nmc_value nul = buffer_string(m, 80, "ab\0", 3);
    nmc_value longer = buffer_string(m, 96, "abcdefghijklmnop", 16);
    ck_assert_int_eq(nmc_cmp_string(abc, abc), 0);
    ck_assert_int_eq(nmc_cmp_string(abc, abd), -1);
    ck_assert_int_eq(nmc_cmp_string(abd, abc), 1);
    ck_assert_int_eq(nmc_cmp_string(ab, abc), -1);
    ck_assert_int_eq(nmc_cmp_string(abc, ab), 1);
    ck_assert_int_eq(nmc_cmp_string(empty, ab), -1);
    ck_assert_int_eq(nmc_cmp_string(empty, buffer_string(m, 200, "", 0)), 0);
    ck_assert_int_eq(nmc_cmp_string(high, abc), 1); /* bytes are unsigned */
    ck_assert_int_eq(nmc_cmp_string(nul, ab), 1);   /* NUL is a byte, not an end */
    ck_assert_int_eq(nmc_cmp_string(nul, abc), -1);
    ck_assert_int_eq(nmc_cmp_string(abc, longer), -1);
    /* a string in an arena compares with one in a buffer */
    nmc_arena *arena;
    ck_assert_ok(nmc_arena_create(&arena));
    nmc_value a;
    ck_assert_ok(nmc_alloc_string(arena, "abc", 3, &a));
    ck_assert_int_eq(nmc_cmp_string(a, abc), 0);
    ck_assert_int_eq(nmc_cmp_string(abd, a), 1);
    nmc_arena_destroy(arena);
}
END_TEST

/* ---- I/O --------------------------------------------------------------------------- */

START_TEST(io_over_socketpair)
{
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    nmc_memory m = scratch();
    memcpy(m.data + 10, "payload!", 8);
    size_t done = 99;
    ck_assert_ok(nmc_mem_send(sv[0], m, 10, 8, 0, &done));
    ck_assert_uint_eq(done, 8);
    unsigned char in[32] = {0};
    nmc_memory r = {in, sizeof in};
    ck_assert_ok(nmc_mem_recv(sv[1], r, 4, 3, MSG_PEEK, &done));
    ck_assert_uint_eq(done, 3);
    ck_assert_ok(nmc_mem_recv(sv[1], r, 4, 28, 0, &done));
    ck_assert_uint_eq(done, 8);
    ck_assert_int_eq(memcmp(in + 4, "payload!", 8), 0);
    ck_assert_status(nmc_mem_recv(sv[1], r, 0, 8, MSG_DONTWAIT, &done), NMC_ESYS);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    /* ranges */
    ck_assert_status(nmc_mem_send(sv[0], m, m.len - 3, 4, 0, &done), NMC_EINVAL);
    ck_assert_status(nmc_mem_recv(sv[1], r, 1, SIZE_MAX, 0, &done), NMC_EINVAL);
    ck_assert_status(nmc_mem_send(sv[0], m, 0, 1, 0, NULL), NMC_EINVAL);
    close(sv[0]);
    ck_assert_ok(nmc_mem_recv(sv[1], r, 0, 8, 0, &done));
    ck_assert_uint_eq(done, 0); /* peer closed */
    close(sv[1]);
    ck_assert_status(nmc_mem_send(sv[0], m, 0, 1, 0, &done), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_status(nmc_mem_recv(-1, r, 0, 1, 0, &done), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(io_over_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    nmc_memory m = scratch();
    memcpy(m.data, "0123456789", 10);
    size_t done;
    ck_assert_ok(nmc_mem_write(p[1], m, 2, 5, &done));
    ck_assert_uint_eq(done, 5);
    ck_assert_ok(nmc_mem_write(p[1], m, m.len, 0, &done));
    ck_assert_uint_eq(done, 0);
    nmc_memory r = scratch();
    ck_assert_ok(nmc_mem_read(p[0], r, 100, 50, &done));
    ck_assert_uint_eq(done, 5);
    ck_assert_int_eq(memcmp(r.data + 100, "23456", 5), 0);
    ck_assert(untouched(r, 0, 100) && untouched(r, 105, r.len));
    ck_assert_status(nmc_mem_read(p[0], r, r.len + 1, 0, &done), NMC_EINVAL);
    ck_assert_status(nmc_mem_write(p[1], m, SIZE_MAX, 2, &done), NMC_EINVAL);
    ck_assert_status(nmc_mem_read(p[1], r, 0, 1, &done), NMC_ESYS); /* write end */
    ck_assert_int_eq(errno, EBADF);
    close(p[1]);
    ck_assert_ok(nmc_mem_read(p[0], r, 0, 1, &done));
    ck_assert_uint_eq(done, 0); /* end of file */
    close(p[0]);
    ck_assert_status(nmc_mem_read(p[0], r, 0, 1, &done), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_status(nmc_mem_write(-1, m, 0, 1, &done), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

static atomic_int alarms; /* lock-free: safe in a handler, race-free */
static void on_alarm(int sig)
{
    int saved = errno;
    atomic_fetch_add(&alarms, 1);
    errno = saved;
}

/* Writes one byte to the pipe after the read has been interrupted. */
static void *late_writer(void *arg)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &block, NULL); /* alarms go to the reader */
    struct timespec nap = {0, 1000000};
    for (int i = 0; i < 2000 && atomic_load(&alarms) < 2; i++)
        nanosleep(&nap, NULL);
    ck_assert_int_eq(write(*(int *)arg, "!", 1), 1);
    return NULL;
}

START_TEST(io_retries_eintr)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; /* no SA_RESTART: read fails with EINTR */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, late_writer, &p[1]), 0);
    struct itimerval every_10ms = {{0, 10000}, {0, 10000}};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &every_10ms, NULL), 0);
    nmc_memory r = scratch();
    size_t done = 0;
    ck_assert_ok(nmc_mem_read(p[0], r, 0, 8, &done));
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(done, 1);
    ck_assert_int_eq(r.data[0], '!');
    ck_assert_int_ge(atomic_load(&alarms), 2);
    close(p[0]);
    close(p[1]);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("mem_buffers");
    TCase *tc = tcase_create("mem_buffers");
    tcase_add_test(tc, blits_copy_and_check_ranges);
    tcase_add_test(tc, memory_pages);
    tcase_add_test(tc, aligned_memory);
    tcase_add_test(tc, map_file_grows_and_shares);
    tcase_add_test(tc, map_file_private_and_errors);
    tcase_add_test(tc, as_value_and_value_area);
    tcase_add_test(tc, init_header_bits_and_bounds);
    tcase_add_test(tc, init_string_layout);
    tcase_add_test(tc, init_arrays_layout);
    tcase_add_test(tc, cmp_string_semantics);
    tcase_add_test(tc, io_over_socketpair);
    tcase_add_test(tc, io_over_pipe);
    tcase_add_test(tc, io_retries_eintr);
    suite_add_tcase(s, tc);
    return s;
}
