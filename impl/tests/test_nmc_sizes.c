/* Sizes at the edges: every function of the public API that takes a size,
 * a count, a length, an offset or an index, called with 0, 1, the type's
 * maximum, half of it and the maximum less a page (signed types also with
 * -1 and their minimum), must give the status its row names: never a
 * crash, never a hang, never NMC_OK with less than was asked.
 *
 * How the list was made (redo it when the API changes): every prototype of
 * impl/include/nmc/, comments stripped and each declaration joined into
 * one line, that has a parameter of an integer type:
 *
 *   perl -0pe 's:/[*].*?[*]/::gs; s/\s+/ /g; s/;/;\n/g' impl/include/nmc/[a-z]*.h |
 *     grep -E '\bnmc_\w+ ?\(' |
 *     grep -E '\b(size_t|u?int(32|64)?_t|off_t|long|unsigned|int) \w+[,)]'
 *
 * then, by hand, the parameters that are sizes, counts, lengths, offsets
 * or indexes (a tag where it indexes a table: nmc_atom, nmc_alloc_block),
 * and the counts carried in structs (nmc_inherit.n). Left out, as no
 * size: file descriptors, flags, other tags, keys of shmtables, custom
 * payloads (alloc_int32 ...), descriptors (uint64_t d: an address,
 * checked against the pool), free_percent, seeds, statuses, futex values,
 * the fault injection of test builds, and the macros the pipeline also
 * matches (nmc_bigarray_val ...). Left out as pure bounds of the caller's
 * own memory, with no arithmetic to overflow: nmc_as_value (unchecked by
 * contract), nmc_copy_options.n_ranges / n_target_ops and nmc_memory.len
 * (the rows below use honest ones). nmc_queue_* take no size.
 *
 * Each row runs each value in a child of its own with a deadline
 * (hostile_wait), so that a crash or a hang names the row and the value
 * ("crash: nmc_alloc_bigarray(CHAR, dims {INT64_MAX, 2}): signal 11"). A row
 * builds what it needs (a small pool, a heap, an arena, a box, a table on
 * objects named with nmc_test_prefix(), unlinked as soon as they are
 * mapped) and, when the call says NMC_OK, checks that the result really
 * has the size asked for (WRONG_SIZE otherwise).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "hostile.h"
#include "nmc/nmc.h"
#include "nmc_test.h"

/* Huge requests must fail, not abort: ASan's allocator returns NULL for
 * them as malloc does (the library's answer is then its own status). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ---- values --------------------------------------------------------------- */

enum kind { K_SIZE, K_U32, K_I64, K_INT };
enum { V_ZERO, V_ONE, V_MAX, V_HALF, V_MAX_PAGE, V_MINUS_ONE, V_MIN, N_VALUES };

static int values_of(enum kind k)
{
    return k == K_SIZE || k == K_U32 ? V_MINUS_ONE : N_VALUES;
}

/* Value v of kind k as the 64 bits a row converts to its parameter type. */
static uint64_t value(enum kind k, int v)
{
    uint64_t page = nmc_sys_pagesize();
    uint64_t max = k == K_SIZE ? SIZE_MAX : k == K_U32 ? UINT32_MAX : k == K_I64 ? INT64_MAX
                                                                                  : INT_MAX;
    uint64_t min = k == K_I64 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)INT_MIN;
    const uint64_t all[N_VALUES] = {0, 1, max, max / 2, max - page, (uint64_t)-1, min};
    return all[v];
}

static const char *label(enum kind k, int v)
{
    static const char *const names[][N_VALUES] = {
        [K_SIZE] = {"0", "1", "SIZE_MAX", "SIZE_MAX/2", "SIZE_MAX-page"},
        [K_U32] = {"0", "1", "UINT32_MAX", "UINT32_MAX/2", "UINT32_MAX-page"},
        [K_I64] = {"0", "1", "INT64_MAX", "INT64_MAX/2", "INT64_MAX-page", "-1", "INT64_MIN"},
        [K_INT] = {"0", "1", "INT_MAX", "INT_MAX/2", "INT_MAX-page", "-1", "INT_MIN"},
    };
    return names[k][v];
}

/* Results beyond the statuses. A row returns WRONG_SIZE for an object
 * whose size is not the one asked for (after a failure: not the one it
 * had), WORKER_DIED when the worker that made the call gave no result; a
 * want of ANY_FAILURE accepts every failure status (see its row), SKIP
 * does not run the value. */
enum { WRONG_SIZE = 1000, WORKER_DIED, ANY_FAILURE, SKIP };

struct row {
    const char *call;      /* the call, %s standing for the value */
    enum kind kind;
    int (*run)(uint64_t n); /* in a child: the call's status        */
    int want[N_VALUES];
};

#define SIZE_ROW(call, fn, a, b, c, d, e) {call, K_SIZE, fn, {a, b, c, d, e}}
#define U32_ROW(call, fn, a, b, c, d, e) {call, K_U32, fn, {a, b, c, d, e}}
#define I64_ROW(call, fn, a, b, c, d, e, f, g) {call, K_I64, fn, {a, b, c, d, e, f, g}}
#define INT_ROW(call, fn, a, b, c, d, e, f, g) {call, K_INT, fn, {a, b, c, d, e, f, g}}

/* ---- fixtures (in the child) ------------------------------------------------ */

/* A step of a row's setup: the child gives up if it fails. */
static void need(bool ok)
{
    if (!ok)
        _exit(HOSTILE_SETUP_FAILED);
}

static void need_ok(int st) { need(st == NMC_OK); }

/* The status st (a variable), or WRONG_SIZE when it is NMC_OK but ok,
 * evaluated only then, is false. */
#define CHECKED(st, ok) ((st) == NMC_OK && !(ok) ? WRONG_SIZE : (st))

static size_t page(void) { return nmc_sys_pagesize(); }

/* "/<prefix>_<what><pid>": a name of this test, unique in the child. */
static const char *test_name(const char *what)
{
    static char name[NMC_SHM_NAME_MAX];
    snprintf(name, sizeof name, "/%s_%s%ld", nmc_test_prefix(), what, (long)getpid());
    return name;
}

/* A shm object of bytes, already unlinked: nothing can leak. */
static int anon_shm(size_t bytes)
{
    const char *name = test_name("o");
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    need(fd >= 0);
    shm_unlink(name);
    need(ftruncate(fd, (off_t)bytes) == 0);
    return fd;
}

static off_t fd_size(int fd)
{
    struct stat st;
    need(fstat(fd, &st) == 0);
    return st.st_size;
}

static nmc_arena *new_arena(void)
{
    nmc_arena *a;
    need_ok(nmc_arena_create(&a));
    return a;
}

/* A 4 MiB pool (its name already removed). */
static nmc_mempool *small_pool(void)
{
    nmc_mempool *p;
    char prefix[NMC_SHM_PREFIX_MAX];
    snprintf(prefix, sizeof prefix, "%s_pool", nmc_test_prefix());
    need_ok(nmc_mempool_create(prefix, (size_t)4 << 20, false, &p));
    need_ok(nmc_mempool_unlink(p));
    return p;
}

/* A block of two immediates, a root or a value to copy. */
static nmc_value small_value(void)
{
    nmc_value v, f[2] = {nmc_val_long(1), nmc_val_long(2)};
    need_ok(nmc_alloc_tuple(new_arena(), 0, 2, f, &v));
    return v;
}

static nmc_heap *small_heap(void)
{
    nmc_heap *h;
    need_ok(nmc_heap_create(small_pool(), 0, small_value(), &h));
    return h;
}

static nmc_mutator *small_mutator(void)
{
    nmc_mutator *m;
    need_ok(nmc_heap_modify_begin(small_heap(), &m));
    return m;
}

/* An aligned 64-byte buffer. */
static nmc_memory buffer64(void)
{
    static uint64_t words[8];
    return (nmc_memory){(unsigned char *)words, sizeof words};
}

/* n with its low bits cleared: an offset that is a multiple of align. */
static size_t aligned(uint64_t n, size_t align)
{
    return (size_t)n & ~(align - 1);
}

/* ---- sys -------------------------------------------------------------------- */

static int round_pages(uint64_t n)
{
    size_t r;
    int st = nmc_sys_round_pages(n, &r);
    return CHECKED(st, r >= n && r % page() == 0 && r - n < page());
}

static int unique_name(uint64_t n)
{
    char buf[NMC_SHM_NAME_MAX];
    int st = nmc_sys_unique_name("x", buf, n);
    return CHECKED(st, strlen(buf) == strlen("/x_") + 16);
}

static int shm_create(uint64_t n)
{
    int fd;
    char name[NMC_SHM_NAME_MAX];
    int st = nmc_sys_shm_create(nmc_test_prefix(), n, &fd, name);
    if (st != NMC_OK)
        return st;
    nmc_sys_shm_unlink(name);
    return CHECKED(st, (uint64_t)fd_size(fd) == n);
}

static int map_len(uint64_t n)
{
    void *p;
    int st = nmc_sys_map(anon_shm(page()), n, 0, NULL, false, &p);
    return CHECKED(st, ((volatile char *)p)[n - 1] == 0);
}

static int map_anon(uint64_t n)
{
    void *p;
    int st = nmc_sys_map_anon(n, NULL, &p);
    if (st == NMC_OK)
        ((volatile char *)p)[n - 1] = 1;
    return st;
}

static int unmap(uint64_t n)
{
    void *p;
    need_ok(nmc_sys_map_anon(page(), NULL, &p));
    return nmc_sys_unmap(p, n);
}

static int commit_off(uint64_t n)
{
    int fd = anon_shm(0);
    int st = nmc_sys_commit(fd, (off_t)n, (off_t)page());
    return CHECKED(st, fd_size(fd) == (off_t)n + (off_t)page());
}

/* tmpfs refuses a commit beyond its size limit at once; one without a
 * limit would really try (until the OOM killer answers), so there the
 * huge lengths are skipped. */
static int commit_len(uint64_t n)
{
    int fd = anon_shm(0);
    struct statvfs fs;
    if ((off_t)n > (off_t)page() && (fstatvfs(fd, &fs) != 0 || fs.f_blocks == 0))
        _exit(HOSTILE_SKIPPED);
    int st = nmc_sys_commit(fd, 0, (off_t)n);
    return CHECKED(st, fd_size(fd) == (off_t)n);
}

static int touch(uint64_t n)
{
    void *p;
    need_ok(nmc_sys_map_anon(page(), NULL, &p));
    return nmc_sys_touch(p, n);
}

/* ---- mem: blits, buffers, block initialisers, the copier, I/O ---------------- */

/* A blit between two 16-byte buffers. */
static int blit_m2b(size_t srcoff, size_t dstlen, size_t dstoff, size_t len)
{
    static unsigned char src[16], dst[16];
    return nmc_blit_memory_to_bytes((nmc_memory){src, sizeof src}, srcoff, dst, dstlen, dstoff,
                                    len);
}

static int blit_b2m(size_t srclen, size_t srcoff, size_t dstoff, size_t len)
{
    static unsigned char src[16], dst[16];
    return nmc_blit_bytes_to_memory(src, srclen, srcoff, (nmc_memory){dst, sizeof dst}, dstoff,
                                    len);
}

static int m2b_srcoff(uint64_t n) { return blit_m2b(n, 16, 0, 1); }
static int m2b_dstlen(uint64_t n) { return blit_m2b(0, n, 0, 1); }
static int m2b_dstoff(uint64_t n) { return blit_m2b(0, 16, n, 1); }
static int m2b_len(uint64_t n) { return blit_m2b(1, 16, 1, n); }
static int b2m_srclen(uint64_t n) { return blit_b2m(n, 0, 0, 1); }
static int b2m_srcoff(uint64_t n) { return blit_b2m(16, n, 0, 1); }
static int b2m_dstoff(uint64_t n) { return blit_b2m(16, 0, n, 1); }
static int b2m_len(uint64_t n) { return blit_b2m(16, 1, 1, n); }

static int memory_pages(uint64_t n)
{
    nmc_memory m;
    int st = nmc_alloc_memory_pages(n, 0, &m);
    if (st == NMC_OK)
        m.data[n - 1] = 1;
    return CHECKED(st, m.len >= n);
}

static int aligned_size(uint64_t n)
{
    nmc_memory m;
    int st = nmc_alloc_aligned_memory(8, n, &m);
    if (st == NMC_OK && n > 0)
        m.data[n - 1] = 1;
    return CHECKED(st, m.len == n);
}

static int aligned_alignment(uint64_t n)
{
    nmc_memory m;
    int st = nmc_alloc_aligned_memory(n, 8, &m);
    return CHECKED(st, (uintptr_t)m.data % n == 0);
}

/* nmc_memory_map_file on a one-page object: a failure leaves it as it
 * was, a success maps (and grows it to) what was asked. */
static int map_file(off_t pos, size_t size)
{
    int fd = anon_shm(page());
    nmc_memory m;
    int st = nmc_memory_map_file(fd, pos, 0, true, size, &m);
    if (st != NMC_OK)
        return fd_size(fd) == (off_t)page() ? st : WRONG_SIZE;
    if (size > 0)
        m.data[size - 1] = 1;
    return CHECKED(st, m.len == size && fd_size(fd) >= pos + (off_t)size);
}

static int map_file_size(uint64_t n) { return map_file(0, n); }
static int map_file_pos(uint64_t n) { return map_file((off_t)n, 1); }

/* The block initialisers on a 64-byte buffer (room for 7 fields). */
static int init_header_off(uint64_t n)
{
    return nmc_init_header(buffer64(), aligned(n, 8), 0, 1);
}

static int init_header_wosize(uint64_t n) { return nmc_init_header(buffer64(), 0, 0, n); }

/* An initialiser's results: a block of at least bytes at the offset. */
static int init_result(int st, size_t off, size_t bytes, size_t voff, size_t bytelen)
{
    return CHECKED(st, voff == off + 8 && bytelen >= bytes && bytelen % 8 == 0);
}

static int init_string_off(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_string(buffer64(), aligned(n, 8), 1, &voff, &len);
    return init_result(st, aligned(n, 8), 16, voff, len);
}

static int init_string_len(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_string(buffer64(), 0, n, &voff, &len);
    return init_result(st, 0, n + 1, voff, len);
}

static int init_array_off(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_array(buffer64(), aligned(n, 8), 1, &voff, &len);
    return init_result(st, aligned(n, 8), 16, voff, len);
}

static int init_array_n(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_array(buffer64(), 0, n, &voff, &len);
    return init_result(st, 0, 8 * (n + 1), voff, len);
}

static int init_float_array_off(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_float_array(buffer64(), aligned(n, 8), 1, &voff, &len);
    return init_result(st, aligned(n, 8), 16, voff, len);
}

static int init_float_array_n(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_float_array(buffer64(), 0, n, &voff, &len);
    return init_result(st, 0, 8 * (n + 1), voff, len);
}

/* A _bytelen function's answer: at least need, or SIZE_MAX for a block
 * no buffer can hold (reported as NMC_EOVERFLOW). */
static int bytelen_result(size_t bytes, uint64_t need)
{
    if (bytes == SIZE_MAX)
        return NMC_EOVERFLOW;
    return bytes >= need && bytes % 8 == 0 ? NMC_OK : WRONG_SIZE;
}

static int string_bytelen(uint64_t n)
{
    return bytelen_result(nmc_init_string_bytelen(n), n + 9);
}

static int array_bytelen(uint64_t n)
{
    return bytelen_result(nmc_init_array_bytelen(n), 8 * n + 8);
}

static int float_array_bytelen(uint64_t n)
{
    return bytelen_result(nmc_init_float_array_bytelen(n), 8 * n + 8);
}

static int init_value_off(uint64_t n)
{
    size_t voff = 0, len = 0;
    int st = nmc_init_value(buffer64(), aligned(n, 8), small_value(), NULL, &voff, &len);
    return init_result(st, aligned(n, 8), 24, voff, len);
}

static int copier_init_value_off(uint64_t n)
{
    nmc_copier *c;
    size_t voff = 0, len = 0;
    need_ok(nmc_copier_create(&c));
    int st = nmc_copier_init_value(c, buffer64(), aligned(n, 8), small_value(), NULL, &voff, &len);
    return init_result(st, aligned(n, 8), 24, voff, len);
}

/* The image of a pair at the start of the 64-byte buffer; its length. */
static size_t small_image(void)
{
    size_t voff = 0, len = 0;
    need_ok(nmc_init_value(buffer64(), 0, small_value(), NULL, &voff, &len));
    return len;
}

static int image(bool move, size_t off, size_t bytelen, size_t voffset)
{
    return move ? nmc_image_move(buffer64(), off, bytelen, voffset, NULL)
                : nmc_image_check(buffer64(), off, bytelen, voffset, NULL);
}

static int image_check_off(uint64_t n) { return image(false, n, small_image(), n + 8); }
static int image_check_bytelen(uint64_t n)
{
    small_image();
    return image(false, 0, n, 8);
}
static int image_check_voffset(uint64_t n) { return image(false, 0, small_image(), n); }
static int image_move_off(uint64_t n) { return image(true, n, small_image(), n + 8); }
static int image_move_bytelen(uint64_t n)
{
    small_image();
    return image(true, 0, n, 8);
}
static int image_move_voffset(uint64_t n) { return image(true, 0, small_image(), n); }

enum io { IO_READ, IO_WRITE, IO_RECV, IO_SEND };

/* One I/O call on a 16-byte buffer over a socket pair whose other end
 * has sent 16 bytes (nothing blocks). */
static int mem_io(enum io op, size_t off, size_t len)
{
    static unsigned char buf[16];
    nmc_memory m = {buf, sizeof buf};
    int sv[2];
    size_t done;
    need(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && write(sv[1], buf, 16) == 16);
    int st = op == IO_READ    ? nmc_mem_read(sv[0], m, off, len, &done)
             : op == IO_WRITE ? nmc_mem_write(sv[0], m, off, len, &done)
             : op == IO_RECV  ? nmc_mem_recv(sv[0], m, off, len, 0, &done)
                              : nmc_mem_send(sv[0], m, off, len, 0, &done);
    return CHECKED(st, done == len);
}

static int mem_read_off(uint64_t n) { return mem_io(IO_READ, n, 1); }
static int mem_read_len(uint64_t n) { return mem_io(IO_READ, 1, n); }
static int mem_write_off(uint64_t n) { return mem_io(IO_WRITE, n, 1); }
static int mem_write_len(uint64_t n) { return mem_io(IO_WRITE, 1, n); }
static int mem_recv_off(uint64_t n) { return mem_io(IO_RECV, n, 1); }
static int mem_recv_len(uint64_t n) { return mem_io(IO_RECV, 1, n); }
static int mem_send_off(uint64_t n) { return mem_io(IO_SEND, n, 1); }
static int mem_send_len(uint64_t n) { return mem_io(IO_SEND, 1, n); }

/* A block pool of the size rounded down to pages, and one block of it. */
static int block_pool(uint64_t n)
{
    nmc_block_pool *p;
    nmc_memory m;
    size_t size = aligned(n, page());
    int st = nmc_block_pool_create(size, &p);
    if (st != NMC_OK)
        return st;
    if (nmc_block_pool_block_size(p) != size)
        return WRONG_SIZE;
    st = nmc_block_pool_alloc(p, &m);
    if (st == NMC_OK)
        m.data[size - 1] = 1;
    return CHECKED(st, m.len == size);
}

static int block_pool_create(uint64_t n)
{
    nmc_block_pool *p;
    int st = nmc_block_pool_create(n, &p);
    return CHECKED(st, nmc_block_pool_block_size(p) == n);
}

/* ---- value: the arena's builders ---------------------------------------------- */

static int arena_words(uint64_t n)
{
    nmc_value *w = nmc_arena_alloc_words(new_arena(), n);
    if (w == NULL)
        return NMC_ENOMEM;
    w[n - 1] = 0;
    return NMC_OK;
}

/* A block the builder made: the atom for size 0, else wosize fields. */
static int built(int st, nmc_value v, unsigned tag, uint64_t wosize)
{
    if (st != NMC_OK)
        return st;
    if (wosize == 0)
        return nmc_is_atom(v) ? NMC_OK : WRONG_SIZE;
    return nmc_wosize_val(v) == wosize && nmc_tag_val(v) == tag ? NMC_OK : WRONG_SIZE;
}

static int alloc_block_wosize(uint64_t n)
{
    nmc_value v;
    int st = nmc_alloc_block(new_arena(), 0, n, &v);
    return built(st, v, 0, n);
}

static int alloc_block_tag(uint64_t n)
{
    nmc_value v;
    int st = nmc_alloc_block(new_arena(), (unsigned)n, 1, &v);
    return built(st, v, (unsigned)n, 1);
}

static int alloc_string(uint64_t n)
{
    static const char bytes[16];
    nmc_value v;
    int st = nmc_alloc_string(new_arena(), bytes, n, &v);
    return CHECKED(st, nmc_string_length(v) == n);
}

static int alloc_double_array(uint64_t n)
{
    static const double d[2];
    nmc_value v;
    int st = nmc_alloc_double_array(new_arena(), d, n, &v);
    return built(st, v, n == 0 ? 0 : NMC_TAG_DOUBLE_ARRAY, n);
}

static int alloc_abstract(uint64_t n)
{
    nmc_value v;
    int st = nmc_alloc_abstract(new_arena(), n, &v);
    return built(st, v, NMC_TAG_ABSTRACT, n);
}

static int alloc_tuple(uint64_t n)
{
    static const nmc_value f[2] = {1, 1};
    nmc_value v;
    int st = nmc_alloc_tuple(new_arena(), 0, n, f, &v);
    return built(st, v, 0, n);
}

/* A bigarray of kind with the dims; on NMC_OK its data is written. */
static int bigarray(int kind, int ndims, const intptr_t *dims)
{
    nmc_value v;
    int st = nmc_alloc_bigarray(new_arena(), kind, NMC_BA_C_LAYOUT, ndims, dims, NULL, &v);
    if (st != NMC_OK)
        return st;
    size_t bytes;
    need_ok(nmc_ba_byte_size(nmc_bigarray_val(v), &bytes));
    if (bytes > 0)
        ((volatile char *)nmc_bigarray_val(v)->data)[bytes - 1] = 1;
    return NMC_OK;
}

static int bigarray_char(uint64_t n) { return bigarray(NMC_BA_CHAR, 1, (intptr_t[]){(intptr_t)n}); }
static int bigarray_float64(uint64_t n)
{
    return bigarray(NMC_BA_FLOAT64, 1, (intptr_t[]){(intptr_t)n});
}
static int bigarray_char_2(uint64_t n)
{
    return bigarray(NMC_BA_CHAR, 2, (intptr_t[]){(intptr_t)n, 2});
}
static int bigarray_dims(uint64_t n)
{
    static const intptr_t ones[NMC_BA_MAX_NUM_DIMS] = {1, 1, 1, 1, 1, 1, 1, 1,
                                                       1, 1, 1, 1, 1, 1, 1, 1};
    return bigarray(NMC_BA_CHAR, (int)n, ones);
}

static int ba_element_size(uint64_t n)
{
    return nmc_ba_element_size((int)n) > 0 ? NMC_OK : NMC_EINVAL;
}

static int atom(uint64_t n)
{
    nmc_value v = nmc_atom((unsigned)n);
    return nmc_is_atom(v) && nmc_tag_val(v) == (n & 0xFF) ? NMC_OK : WRONG_SIZE;
}

/* nmc_hash_param's count and limit: any int is accepted (a limit outside
 * 0..256 means 256). */
static int hash_count(uint64_t n)
{
    return nmc_hash_param((int)n, 10, 0, small_value()) <= 0x3FFFFFFFu ? NMC_OK : WRONG_SIZE;
}

static int hash_limit(uint64_t n)
{
    int limit = (int)n;
    uint32_t h = nmc_hash_param(10, limit, 0, small_value());
    bool wide = limit < 0 || limit > 256;
    return !wide || h == nmc_hash_param(10, 256, 0, small_value()) ? NMC_OK : WRONG_SIZE;
}

/* ---- sync ------------------------------------------------------------------------ */

static int sem_init_value(uint64_t n)
{
    static nmc_sem s;
    unsigned v;
    int st = nmc_sem_init(&s, (unsigned)n);
    return CHECKED(st, nmc_sem_getvalue(&s, &v) == NMC_OK && v == n);
}

static int futex_wake(uint64_t n)
{
    static uint32_t word;
    int st = nmc_futex_wake(&word, (int)n);
    return st > 0 ? WRONG_SIZE : st; /* nobody waits: 0 woke */
}

static int wait_set_size(uint64_t n)
{
    size_t bytes = nmc_wait_set_size((uint32_t)n);
    if (bytes == 0)
        return NMC_EINVAL;
    return bytes >= sizeof(nmc_wait_set) + n * sizeof(struct nmc_wait_slot) ? NMC_OK : WRONG_SIZE;
}

/* Room for four entries: a larger capacity would be the caller's lie. */
static int wait_set_init(uint64_t n)
{
    static _Alignas(nmc_wait_set) unsigned char
        room[sizeof(nmc_wait_set) + 4 * sizeof(struct nmc_wait_slot)];
    return nmc_wait_set_init((nmc_wait_set *)room, (uint32_t)n);
}

/* ---- camlbox ------------------------------------------------------------------------ */

/* A receiver's sizes are the ones asked for; the box is closed. */
static int box_sizes(int st, nmc_camlbox *box, uint32_t capacity, size_t msg_size)
{
    if (st != NMC_OK)
        return st;
    uint32_t c;
    size_t m;
    need_ok(nmc_camlbox_bcapacity(box, &c));
    need_ok(nmc_camlbox_bmsg_size(box, &m));
    nmc_camlbox_close(box);
    return c == capacity && m == msg_size ? NMC_OK : WRONG_SIZE;
}

static int box_create(uint32_t capacity, size_t msg_size)
{
    nmc_camlbox *box = NULL;
    const char *name = test_name("b");
    int st = nmc_camlbox_create(name, capacity, msg_size, &box);
    if (st == NMC_OK)
        nmc_camlbox_unlink(name);
    return box_sizes(st, box, capacity, msg_size);
}

static int box_format(uint32_t capacity, size_t msg_size)
{
    nmc_camlbox *box = NULL;
    int st = nmc_camlbox_format(anon_shm(0), capacity, msg_size, &box);
    return box_sizes(st, box, capacity, msg_size);
}

static int mbox_create(uint32_t capacity, size_t msg_size)
{
    nmc_camlbox *box = NULL;
    nmc_res_id id = 0;
    int st = nmc_mcamlbox_create(nmc_test_prefix(), capacity, msg_size, &box, &id);
    st = box_sizes(st, box, capacity, msg_size);
    if (st == NMC_OK || st == WRONG_SIZE)
        need_ok(nmc_release(id)); /* the last use: unlinks the box */
    return st;
}

static int box_create_capacity(uint64_t n) { return box_create((uint32_t)n, 64); }
static int box_create_msg_size(uint64_t n) { return box_create(4, n); }
static int box_format_capacity(uint64_t n) { return box_format((uint32_t)n, 64); }
static int box_format_msg_size(uint64_t n) { return box_format(4, n); }
static int mbox_create_capacity(uint64_t n) { return mbox_create((uint32_t)n, 64); }
static int mbox_create_msg_size(uint64_t n) { return mbox_create(4, n); }

static int mbox_lookup_address(uint64_t n)
{
    nmc_camlbox *box = NULL;
    nmc_res_id id = 0;
    char buf[NMC_RESOURCE_NAME_MAX];
    need_ok(nmc_mcamlbox_create(nmc_test_prefix(), 4, 64, &box, &id));
    int st = nmc_mcamlbox_lookup_address(id, buf, n);
    const char *prefix = nmc_test_prefix();
    bool named = st == NMC_OK && strncmp(buf + 1, prefix, strlen(prefix)) == 0;
    nmc_camlbox_close(box);
    nmc_destroy_resources();
    return CHECKED(st, named);
}

/* A box of four slots, already unlinked, with an immediate in slot 1. */
static nmc_camlbox *small_box(void)
{
    nmc_camlbox *box = NULL;
    nmc_camlbox_sender *s;
    const char *name = test_name("b");
    need_ok(nmc_camlbox_create(name, 4, 64, &box));
    need_ok(nmc_camlbox_sender_open(name, &s));
    need_ok(nmc_camlbox_unlink(name));
    need_ok(nmc_camlbox_send(s, nmc_val_long(7), 1, NULL));
    return box;
}

enum box_read { BOX_GET, BOX_GET_CHECKED, BOX_GET_COPY, BOX_GET_VERIFIED, BOX_DELETE };

/* One slot-indexed call: slot 1 holds the message, the others are empty. */
static int box_slot(enum box_read op, uint64_t n)
{
    nmc_camlbox *box = small_box();
    nmc_value v = op == BOX_DELETE ? nmc_val_long(7) : 0; /* a get must set it */
    uint32_t slot = (uint32_t)n;
    int st = op == BOX_GET           ? nmc_camlbox_get(box, slot, &v)
             : op == BOX_GET_CHECKED ? nmc_camlbox_get_checked(box, slot, &v)
             : op == BOX_GET_COPY    ? nmc_camlbox_get_copy(box, slot, new_arena(), &v)
             : op == BOX_GET_VERIFIED ? nmc_camlbox_get_verified(box, slot, new_arena(), &v)
                                      : nmc_camlbox_delete(box, slot);
    return CHECKED(st, v == nmc_val_long(7));
}

static int box_get(uint64_t n) { return box_slot(BOX_GET, n); }
static int box_get_checked(uint64_t n) { return box_slot(BOX_GET_CHECKED, n); }
static int box_get_copy(uint64_t n) { return box_slot(BOX_GET_COPY, n); }
static int box_get_verified(uint64_t n) { return box_slot(BOX_GET_VERIFIED, n); }
static int box_delete(uint64_t n) { return box_slot(BOX_DELETE, n); }

/* A send preferring slot n of an empty box of four: that slot if there is
 * one, any for NMC_CAMLBOX_ANY_SLOT. */
static int box_send(uint64_t n, bool timed)
{
    nmc_camlbox *box = NULL;
    nmc_camlbox_sender *s;
    const char *name = test_name("b");
    need_ok(nmc_camlbox_create(name, 4, 64, &box));
    need_ok(nmc_camlbox_sender_open(name, &s));
    need_ok(nmc_camlbox_unlink(name));
    struct timespec d;
    nmc_deadline_in(1, &d);
    uint32_t slot = UINT32_MAX;
    int st = timed ? nmc_camlbox_timedsend(s, nmc_val_long(1), (uint32_t)n, &d, &slot)
                   : nmc_camlbox_send(s, nmc_val_long(1), (uint32_t)n, &slot);
    return CHECKED(st, n < 4 ? slot == n : slot < 4);
}

static int box_send_prefer(uint64_t n) { return box_send(n, false); }
static int box_timedsend_prefer(uint64_t n) { return box_send(n, true); }

/* A wait for at most n slot numbers into room for the box's four. */
static int box_wait(uint64_t n, bool timed)
{
    uint32_t slots[4];
    size_t got = 0;
    struct timespec d;
    nmc_deadline_in(1, &d);
    nmc_camlbox *box = small_box();
    int st = timed ? nmc_camlbox_timedwait(box, &d, slots, n, &got)
                   : nmc_camlbox_wait(box, slots, n, &got);
    return CHECKED(st, got == 1 && slots[0] == 1);
}

static int box_wait_max(uint64_t n) { return box_wait(n, false); }
static int box_timedwait_max(uint64_t n) { return box_wait(n, true); }

/* ---- mempool and heap ------------------------------------------------------------------ */

static int mempool_create(uint64_t n)
{
    nmc_mempool *p;
    struct nmc_mempool_stats s;
    int st = nmc_mempool_create(nmc_test_prefix(), n, false, &p);
    if (st != NMC_OK)
        return st;
    need_ok(nmc_mempool_unlink(p));
    need_ok(nmc_mempool_stats(p, &s));
    return s.total >= n ? NMC_OK : WRONG_SIZE;
}

static int mempool_alloc(uint64_t n)
{
    nmc_mempool *p = small_pool();
    void *mem;
    size_t size;
    int st = nmc_mempool_alloc(p, n, &mem);
    return CHECKED(st, nmc_mempool_size_mem(p, mem, &size) == NMC_OK && size >= n);
}

/* A heap of at least n bytes: its free words (the root took its share)
 * hold them. */
static int heap_create(uint64_t n)
{
    nmc_heap *h;
    struct nmc_heap_stats s;
    int st = nmc_heap_create(small_pool(), n, small_value(), &h);
    if (st != NMC_OK)
        return st;
    need_ok(nmc_heap_stats(h, &s));
    return (s.free_words + s.live_words) * 8 >= n ? NMC_OK : WRONG_SIZE;
}

static int heap_add_string(uint64_t n)
{
    nmc_value v;
    int st = nmc_heap_add_string(small_mutator(), n, &v);
    return CHECKED(st, nmc_tag_val(v) == NMC_TAG_STRING && nmc_string_length(v) == n);
}

/* A heap array the add gave: the atom for none, else n fields. */
static int heap_array(int st, nmc_value v, uint64_t n)
{
    if (st != NMC_OK)
        return st;
    return n == 0 ? (nmc_is_atom(v) ? NMC_OK : WRONG_SIZE)
                  : (nmc_wosize_val(v) == n && nmc_tag_val(v) == 0 ? NMC_OK : WRONG_SIZE);
}

static int heap_add_uniform_array(uint64_t n)
{
    nmc_value v;
    int st = nmc_heap_add_uniform_array(small_mutator(), n, nmc_val_long(3), &v);
    return heap_array(st, v, n);
}

static int element(size_t i, void *ctx, nmc_value *v)
{
    *v = nmc_val_long((long)i);
    return NMC_OK;
}

static int heap_add_init_array(uint64_t n)
{
    nmc_value v;
    int st = nmc_heap_add_init_array(small_mutator(), n, element, NULL, &v);
    return heap_array(st, v, n);
}

/* with_values: find names the root n times. */
static int find_roots(nmc_heap *h, void *ctx, nmc_value *v)
{
    for (uint64_t i = 0; i < *(const uint64_t *)ctx; i++)
        v[i] = nmc_heap_root(h);
    return NMC_OK;
}

static int process_roots(const nmc_value *v, void *ctx)
{
    return v[*(const uint64_t *)ctx - 1] != 0 ? NMC_OK : WRONG_SIZE;
}

static int heap_with_values(uint64_t n)
{
    return nmc_heap_with_values(small_heap(), n, find_roots, process_roots, &n);
}

/* ---- shared data structures ---------------------------------------------------------- */

static int array_made(int st, nmc_sarray *a, uint64_t n)
{
    return CHECKED(st, nmc_array_length(a) == n);
}

static int array_make(uint64_t n)
{
    nmc_sarray *a = NULL;
    int st = nmc_array_make(small_pool(), n, nmc_val_long(1), NMC_VAL_UNIT, &a);
    return array_made(st, a, n);
}

static int array_init(uint64_t n)
{
    nmc_sarray *a = NULL;
    int st = nmc_array_init(small_pool(), n, element, NULL, NMC_VAL_UNIT, &a);
    return array_made(st, a, n);
}

/* An array of two elements, 10 and 11. */
static nmc_sarray *small_array(void)
{
    nmc_sarray *a = NULL;
    need_ok(nmc_array_make(small_pool(), 2, nmc_val_long(10), NMC_VAL_UNIT, &a));
    need_ok(nmc_array_set(a, 1, nmc_val_long(11)));
    return a;
}

static int array_grow(uint64_t n)
{
    nmc_sarray *a = small_array();
    return array_made(nmc_array_grow(a, n, nmc_val_long(1)), a, n > 2 ? n : 2);
}

static int array_set(uint64_t n)
{
    nmc_sarray *a = small_array();
    nmc_value v;
    int st = nmc_array_set(a, n, nmc_val_long(5));
    return CHECKED(st, nmc_array_get_ro(a, n, &v) == NMC_OK && v == nmc_val_long(5));
}

static int array_get_ro(uint64_t n)
{
    nmc_value v;
    int st = nmc_array_get_ro(small_array(), n, &v);
    return CHECKED(st, v == nmc_val_long(10 + (long)n));
}

/* get_p's callback: the element is 10 + its index. */
static int is_element(nmc_value v, void *ctx)
{
    return v == nmc_val_long(10 + *(const long *)ctx) ? NMC_OK : WRONG_SIZE;
}

static int array_get_p(uint64_t n)
{
    long i = (long)n;
    return nmc_array_get_p(small_array(), n, is_element, &i);
}

static int array_get_c(uint64_t n)
{
    nmc_value v;
    int st = nmc_array_get_c(small_array(), n, new_arena(), &v);
    return CHECKED(st, v == nmc_val_long(10 + (long)n));
}

static int matrix_made(int st, nmc_sarray2 *m, uint64_t dim1, uint64_t dim2)
{
    size_t d1, d2;
    return CHECKED(st, nmc_matrix_dim(m, &d1, &d2) == NMC_OK && d1 == dim1 && d2 == dim2);
}

static int matrix_make(uint64_t dim1, uint64_t dim2)
{
    nmc_sarray2 *m;
    int st = nmc_matrix_make(small_pool(), dim1, dim2, nmc_val_long(1), NMC_VAL_UNIT, &m);
    return matrix_made(st, m, dim1, dim2);
}

static int element2(size_t i, size_t j, void *ctx, nmc_value *v)
{
    *v = nmc_val_long((long)(i + j));
    return NMC_OK;
}

static int matrix_init(uint64_t dim1, uint64_t dim2)
{
    nmc_sarray2 *m;
    int st = nmc_matrix_init(small_pool(), dim1, dim2, element2, NULL, NMC_VAL_UNIT, &m);
    return matrix_made(st, m, dim1, dim2);
}

static int matrix_make_nn(uint64_t n) { return matrix_make(n, n); }
static int matrix_make_0n(uint64_t n) { return matrix_make(0, n); }
static int matrix_make_n0(uint64_t n) { return matrix_make(n, 0); }
static int matrix_make_1n(uint64_t n) { return matrix_make(1, n); }
static int matrix_init_nn(uint64_t n) { return matrix_init(n, n); }
static int matrix_init_0n(uint64_t n) { return matrix_init(0, n); }

/* A 2 x 2 matrix: element (i, j) is 10 * i + j + 10. */
static nmc_sarray2 *small_matrix(void)
{
    nmc_sarray2 *m;
    need_ok(nmc_matrix_make(small_pool(), 2, 2, nmc_val_long(0), NMC_VAL_UNIT, &m));
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++)
            need_ok(nmc_matrix_set(m, i, j, nmc_val_long((long)(10 * i + j + 10))));
    return m;
}

static int matrix_grow(uint64_t dim1, uint64_t dim2)
{
    nmc_sarray2 *m = small_matrix();
    int st = nmc_matrix_grow(m, dim1, dim2, nmc_val_long(1));
    return matrix_made(st, m, dim1 > 2 ? dim1 : 2, dim2 > 2 ? dim2 : 2);
}

static int matrix_grow_n1(uint64_t n) { return matrix_grow(n, 1); }
static int matrix_grow_1n(uint64_t n) { return matrix_grow(1, n); }

static int matrix_grow_empty_0n(uint64_t n)
{
    nmc_sarray2 *m;
    need_ok(nmc_matrix_make(small_pool(), 0, 0, nmc_val_long(0), NMC_VAL_UNIT, &m));
    return matrix_made(nmc_matrix_grow(m, 0, n, nmc_val_long(1)), m, 0, n);
}

/* Element (i, j) of the small matrix by each reader, and set. */
enum matrix_op { M_SET, M_GET_RO, M_GET_P, M_GET_C };

static int matrix_at(enum matrix_op op, uint64_t i, uint64_t j)
{
    nmc_sarray2 *m = small_matrix();
    long want = (long)(10 * i + j + 10);
    nmc_value v = nmc_val_long(want);
    int st = op == M_SET      ? nmc_matrix_set(m, i, j, v)
             : op == M_GET_RO ? nmc_matrix_get_ro(m, i, j, &v)
             : op == M_GET_C  ? nmc_matrix_get_c(m, i, j, new_arena(), &v)
                              : nmc_matrix_get_p(m, i, j, is_element, &(long){(long)(10 * i + j)});
    return CHECKED(st, v == nmc_val_long(want));
}

static int matrix_set_i(uint64_t n) { return matrix_at(M_SET, n, 0); }
static int matrix_set_j(uint64_t n) { return matrix_at(M_SET, 0, n); }
static int matrix_get_ro_i(uint64_t n) { return matrix_at(M_GET_RO, n, 0); }
static int matrix_get_ro_j(uint64_t n) { return matrix_at(M_GET_RO, 0, n); }
static int matrix_get_p_i(uint64_t n) { return matrix_at(M_GET_P, n, 0); }
static int matrix_get_p_j(uint64_t n) { return matrix_at(M_GET_P, 0, n); }
static int matrix_get_c_i(uint64_t n) { return matrix_at(M_GET_C, n, 0); }
static int matrix_get_c_j(uint64_t n) { return matrix_at(M_GET_C, 0, n); }

static int buffer_create(uint64_t n)
{
    nmc_buffer *b;
    int st = nmc_buffer_create(small_pool(), n, NMC_VAL_UNIT, &b);
    return CHECKED(st, nmc_buffer_length(b) == 0 && nmc_buffer_start(b) == 0);
}

/* A buffer of 8-byte blocks holding the 16 bytes 0, 1, ..., 15. */
static nmc_buffer *small_buffer(void)
{
    nmc_buffer *b;
    unsigned char bytes[16];
    for (int i = 0; i < 16; i++)
        bytes[i] = (unsigned char)i;
    need_ok(nmc_buffer_create(small_pool(), 8, NMC_VAL_UNIT, &b));
    need_ok(nmc_buffer_add_submemory(b, bytes, sizeof bytes));
    return b;
}

/* A string of 16 bytes in the child's arena. */
static nmc_value string16(void)
{
    nmc_value s;
    need_ok(nmc_alloc_string(new_arena(), "0123456789abcdef", 16, &s));
    return s;
}

/* Bytes p[0 .. len) are the buffer's from pos on. */
static bool buffer_bytes(const unsigned char *p, size_t pos, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != pos + i)
            return false;
    return true;
}

static int buffer_sub(size_t pos, size_t len)
{
    nmc_value s;
    int st = nmc_buffer_sub(small_buffer(), pos, len, new_arena(), &s);
    return CHECKED(st, nmc_string_length(s) == len &&
                           buffer_bytes((const unsigned char *)s, pos, len));
}

static int buffer_sub_pos(uint64_t n) { return buffer_sub(n, 1); }
static int buffer_sub_len(uint64_t n) { return buffer_sub(1, n); }

static int blit_to_bytes(size_t pos, size_t off, size_t len)
{
    nmc_value s = string16();
    int st = nmc_buffer_blit_to_bytes(small_buffer(), pos, s, off, len);
    return CHECKED(st, buffer_bytes((const unsigned char *)s + off, pos, len));
}

static int blit_to_bytes_pos(uint64_t n) { return blit_to_bytes(n, 0, 1); }
static int blit_to_bytes_off(uint64_t n) { return blit_to_bytes(0, n, 1); }
static int blit_to_bytes_len(uint64_t n) { return blit_to_bytes(1, 1, n); }

static int blit_to_memory(size_t pos, size_t len)
{
    static unsigned char mem[16];
    int st = nmc_buffer_blit_to_memory(small_buffer(), pos, mem, len);
    return CHECKED(st, buffer_bytes(mem, pos, len));
}

static int blit_to_memory_pos(uint64_t n) { return blit_to_memory(n, 1); }
static int blit_to_memory_len(uint64_t n) { return blit_to_memory(1, n); }

/* An add of len bytes from s or mem to the buffer of 16: its length. */
static int buffer_added(int st, nmc_buffer *b, size_t len)
{
    return CHECKED(st, nmc_buffer_length(b) == 16 + len);
}

static int add_substring(size_t off, size_t len)
{
    nmc_buffer *b = small_buffer();
    return buffer_added(nmc_buffer_add_substring(b, string16(), off, len), b, len);
}

static int add_substring_off(uint64_t n) { return add_substring(n, 1); }
static int add_substring_len(uint64_t n) { return add_substring(1, n); }

/* 16 bytes of memory said to be n: more than 16 is the caller's lie, but
 * one the buffer must refuse before reading when no buffer can hold it. */
static int add_submemory_len(uint64_t n)
{
    static const unsigned char mem[16];
    nmc_buffer *b = small_buffer();
    return buffer_added(nmc_buffer_add_submemory(b, mem, n), b, n);
}

static int delete_hd(uint64_t n)
{
    nmc_buffer *b = small_buffer();
    int st = nmc_buffer_delete_hd(b, n);
    return CHECKED(st, nmc_buffer_length(b) == 16 - n && nmc_buffer_start(b) == n);
}

/* access's callback: the block holds the buffer's byte pos at off. */
static int at_pos(nmc_value s, size_t off, size_t len, void *ctx)
{
    return len > 0 && ((const unsigned char *)s)[off] == *(const size_t *)ctx ? NMC_OK
                                                                               : WRONG_SIZE;
}

static int buffer_access(uint64_t n)
{
    size_t pos = n;
    return nmc_buffer_access(small_buffer(), pos, at_pos, &pos);
}

static int hashtbl_create(uint64_t n)
{
    nmc_hashtbl *t;
    nmc_value data;
    int st = nmc_hashtbl_create(small_pool(), n, NMC_VAL_UNIT, &t);
    if (st != NMC_OK)
        return st;
    need_ok(nmc_hashtbl_add(t, nmc_val_long(1), nmc_val_long(2)));
    need_ok(nmc_hashtbl_find_ro(t, nmc_val_long(1), &data));
    return data == nmc_val_long(2) ? NMC_OK : WRONG_SIZE;
}

static int hashtbl_create_u32(uint64_t n) { return hashtbl_create((uint32_t)n); }

/* ---- shmtable ------------------------------------------------------------------------- */

/* A new POSIX object (already unlinked) for a table. */
static nmc_shm_descr *table_object(void)
{
    char templ[128];
    snprintf(templ, sizeof templ, "/%s_tXXXXXX", nmc_test_prefix());
    nmc_shm_name name = {NMC_SHM_POSIX, templ};
    nmc_shm_descr *d;
    need_ok(nmc_shm_create_unique(&name, 0600, &d));
    need_ok(nmc_shm_unlink(nmc_shm_name_of(d)));
    return d;
}

static int table_manage(size_t pagesize, long init)
{
    nmc_shmtable *t;
    int32_t words[1] = {5}, got[1];
    size_t len;
    int st = nmc_shmtable_manage(table_object(), NMC_SHM_RECORD_LOCKING, pagesize, init, &t);
    if (st != NMC_OK)
        return st;
    need_ok(nmc_shmtable_add(t, 1, words, 1));
    need_ok(nmc_shmtable_find(t, 1, got, 1, &len));
    return len == 1 && got[0] == 5 ? NMC_OK : WRONG_SIZE;
}

static int table_pagesize(uint64_t n) { return table_manage(n, -1); }
static int table_init(uint64_t n) { return table_manage(0, (long)n); }

/* A table with key 1 bound to {1, 2}. */
static nmc_shmtable *small_table(void)
{
    nmc_shmtable *t;
    need_ok(nmc_shmtable_manage(table_object(), NMC_SHM_RECORD_LOCKING, 0, -1, &t));
    need_ok(nmc_shmtable_add(t, 1, (const int32_t[]){1, 2}, 2));
    return t;
}

/* 16 words said to be n: a length no table can hold is refused before
 * they are read. */
static int table_put(uint64_t n, bool replace)
{
    static const int32_t words[16];
    nmc_shmtable *t = small_table();
    size_t len;
    int st = replace ? nmc_shmtable_replace(t, 1, words, n) : nmc_shmtable_add(t, 1, words, n);
    return CHECKED(st, nmc_shmtable_find(t, 1, NULL, 0, &len) != NMC_ENOT_FOUND && len == n);
}

static int table_add_len(uint64_t n) { return table_put(n, false); }
static int table_replace_len(uint64_t n) { return table_put(n, true); }

static int table_find_cap(uint64_t n)
{
    int32_t buf[2] = {0};
    size_t len;
    int st = nmc_shmtable_find(small_table(), 1, buf, n, &len);
    return CHECKED(st, len == 2 && buf[0] == 1 && buf[1] == 2);
}

/* ---- core ------------------------------------------------------------------------------ */

/* Outside a run these act on the caller's own resource table, as the
 * master does; a worker's calls travel to the master (rows "in a
 * worker"). The resource made is described as asked, and mapped there in
 * the master; then its uses (the creator's and the look-up's) are
 * dropped, which deletes it. */
static int created(int st, nmc_res_id id, uint64_t n, bool shm)
{
    if (st != NMC_OK)
        return st;
    struct nmc_resource r;
    need_ok(nmc_get_resource(id, &r));
    if (shm && r.addr != NULL)
        ((volatile char *)r.addr)[n - 1] = 1;
    need_ok(nmc_release(id));
    need_ok(nmc_release(id));
    return (shm ? r.size == n : r.size >= n) ? NMC_OK : WRONG_SIZE; /* a pool rounds up */
}

static int preallocated_shm(uint64_t n)
{
    nmc_res_id id = 0;
    char name[NMC_SHM_NAME_MAX];
    int st = nmc_create_preallocated_shm(nmc_test_prefix(), n, &id, name);
    return created(st, id, n, true);
}

static int create_mempool(uint64_t n)
{
    nmc_res_id id = 0;
    int st = nmc_create_mempool(n, false, &id);
    return created(st, id, n, false);
}

enum name_kind { NAME_FILE, NAME_SHM, NAME_SEM };

/* nmc_get_file / _shm / _sem into a buffer said to be n bytes (it has
 * room for any name). */
static int get_name(enum name_kind k, uint64_t n)
{
    char name[128], buf[NMC_RESOURCE_NAME_MAX];
    nmc_res_id id = 0;
    if (k == NAME_FILE) {
        snprintf(name, sizeof name, "/tmp/%s_f%ld", nmc_test_prefix(), (long)getpid());
        int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0600);
        need(fd >= 0);
        close(fd);
        need_ok(nmc_manage_file(name, &id));
    } else {
        snprintf(name, sizeof name, "%s", test_name("n"));
        need_ok(k == NAME_SHM ? nmc_manage_shm(name, &id) : nmc_manage_sem(name, &id));
    }
    int st = k == NAME_FILE ? nmc_get_file(id, buf, n)
             : k == NAME_SHM ? nmc_get_shm(id, buf, n)
                             : nmc_get_sem(id, buf, n);
    bool same = st == NMC_OK && strcmp(buf, name) == 0;
    need_ok(nmc_destroy_resources()); /* deletes what id names */
    return CHECKED(st, same);
}

static int get_file(uint64_t n) { return get_name(NAME_FILE, n); }
static int get_shm(uint64_t n) { return get_name(NAME_SHM, n); }
static int get_sem(uint64_t n) { return get_name(NAME_SEM, n); }

/* A run whose first worker (or master, before it) makes one call: the
 * row's function, with n, in the role asked for. */
static int (*run_call)(uint64_t n);
static uint64_t run_n;
static nmc_res_id body_fork, body_join, idle_fork, idle_join;

static int idle(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

/* The first worker: the call's status is its result. */
static int body(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = nmc_val_long(run_call(run_n));
    return NMC_OK;
}

static int first_worker(void *ctx, nmc_process_id *first)
{
    return nmc_start(body_fork, NMC_VAL_UNIT, NULL, first);
}

/* The master's own call comes first; then a worker that does nothing. */
static int first_from_master(void *ctx, nmc_process_id *first)
{
    int st = run_call(run_n);
    *(int *)ctx = st;
    return st == NMC_OK ? nmc_start(idle_fork, NMC_VAL_UNIT, NULL, first) : st;
}

static int worker_status(void *ctx, nmc_process_id first)
{
    nmc_value v;
    int st = nmc_join_nowait(body_join, first, new_arena(), &v);
    if (st == NMC_OK)
        *(int *)ctx = (int)nmc_long_val(v);
    return st;
}

static int in_run(int (*call)(uint64_t n), uint64_t n, bool in_worker)
{
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/%s_run%ld_XXXXXX", nmc_test_prefix(), (long)getpid());
    need(mkdtemp(dir) != NULL);
    need_ok(nmc_def_process(body, &body_fork, &body_join));
    need_ok(nmc_def_process(idle, &idle_fork, &idle_join));
    run_call = call;
    run_n = n;
    struct nmc_startup_options opt = {.socket_directory = dir};
    int status = WORKER_DIED, st;
    if (in_worker)
        st = nmc_run(&opt, first_worker, worker_status, &status);
    else
        st = nmc_startup(&opt, first_from_master, &status);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    need(system(cmd) == 0);
    need(st == NMC_OK || st == status || st == NMC_ENO_RESULT);
    return status;
}

/* nmc_start with an inherit list said to hold n ids (it holds one: the
 * idle fork point). */
static int start_inherit(uint64_t n)
{
    nmc_res_id ids[1] = {idle_fork};
    struct nmc_inherit inherit = {ids, n};
    nmc_process_id pid, self;
    nmc_value v;
    bool in_worker = nmc_self_process_id(&self) == NMC_OK;
    int st = nmc_start(idle_fork, NMC_VAL_UNIT, &inherit, &pid);
    if (st == NMC_OK && in_worker) /* the master may not join */
        need_ok(nmc_join(idle_join, pid, new_arena(), &v));
    return st;
}

static int start_inherit_master(uint64_t n) { return in_run(start_inherit, n, false); }
static int start_inherit_worker(uint64_t n) { return in_run(start_inherit, n, true); }
static int preallocated_shm_worker(uint64_t n) { return in_run(preallocated_shm, n, true); }
static int create_mempool_worker(uint64_t n) { return in_run(create_mempool, n, true); }

/* ---- the table -------------------------------------------------------------------------- */

#define OK NMC_OK
#define INVAL NMC_EINVAL
#define OVERFLOW NMC_EOVERFLOW
#define NOMEM NMC_ENOMEM
#define SPACE NMC_EOUT_OF_SPACE
#define POOL NMC_EOUT_OF_POOL_MEMORY
#define SYS NMC_ESYS
#define FAIL ANY_FAILURE

static const struct row rows[] = {
    /* sys */
    SIZE_ROW("nmc_sys_round_pages(%s)", round_pages, OK, OK, OVERFLOW, OK, OK),
    SIZE_ROW("nmc_sys_unique_name(\"x\", buf, buflen = %s)", unique_name, INVAL, INVAL, OK, OK, OK),
    /* tmpfs holds a sparse object of up to INT64_MAX bytes (or a page
     * at any offset below): those sizes are honoured, exactly. */
    SIZE_ROW("nmc_sys_shm_create(prefix, %s)", shm_create, OK, OK, INVAL, OK, INVAL),
    SIZE_ROW("nmc_sys_map(fd, len = %s, pos = 0)", map_len, INVAL, OK, SYS, SYS, SYS),
    SIZE_ROW("nmc_sys_map_anon(%s)", map_anon, INVAL, OK, OVERFLOW, SYS, SYS),
    SIZE_ROW("nmc_sys_unmap(page, %s)", unmap, INVAL, OK, SYS, SYS, SYS),
    I64_ROW("nmc_sys_commit(fd, off = %s, len = page)", commit_off, OK, OK, OVERFLOW, OK, OK,
            INVAL, INVAL),
    I64_ROW("nmc_sys_commit(fd, off = 0, len = %s)", commit_len, OK, OK, NMC_ENOSPC, NMC_ENOSPC,
            NMC_ENOSPC, INVAL, INVAL),
    SIZE_ROW("nmc_sys_touch(page, %s)", touch, OK, OK, INVAL, INVAL, INVAL),
    /* mem */
    SIZE_ROW("nmc_blit_memory_to_bytes(srcoff = %s, len = 1)", m2b_srcoff, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_blit_memory_to_bytes(dstlen = %s, len = 1)", m2b_dstlen, INVAL, OK, OK, OK, OK),
    SIZE_ROW("nmc_blit_memory_to_bytes(dstoff = %s, len = 1)", m2b_dstoff, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_blit_memory_to_bytes(offs = 1, len = %s)", m2b_len, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_blit_bytes_to_memory(srclen = %s, len = 1)", b2m_srclen, INVAL, OK, OK, OK, OK),
    SIZE_ROW("nmc_blit_bytes_to_memory(srcoff = %s, len = 1)", b2m_srcoff, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_blit_bytes_to_memory(dstoff = %s, len = 1)", b2m_dstoff, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_blit_bytes_to_memory(offs = 1, len = %s)", b2m_len, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_alloc_memory_pages(%s, 0)", memory_pages, INVAL, OK, OVERFLOW, SYS, SYS),
    SIZE_ROW("nmc_alloc_aligned_memory(8, %s)", aligned_size, OK, OK, NOMEM, NOMEM, NOMEM),
    SIZE_ROW("nmc_alloc_aligned_memory(alignment = %s, 8)", aligned_alignment, INVAL, INVAL, INVAL,
             INVAL, INVAL),
    SIZE_ROW("nmc_memory_map_file(page object, pos = 0, size = %s)", map_file_size, OK, OK,
             OVERFLOW, SYS, OVERFLOW),
    I64_ROW("nmc_memory_map_file(page object, pos = %s, size = 1)", map_file_pos, OK, OK, OVERFLOW,
            OK, OK, INVAL, INVAL),
    SIZE_ROW("nmc_init_header(64 bytes, off = %s & ~7, tag 0, wosize 1)", init_header_off, OK, OK,
             SPACE, SPACE, SPACE),
    SIZE_ROW("nmc_init_header(64 bytes, off 0, tag 0, wosize = %s)", init_header_wosize, OK, OK,
             SPACE, SPACE, SPACE),
    SIZE_ROW("nmc_init_string(64 bytes, off = %s & ~7, len 1)", init_string_off, OK, OK, SPACE,
             SPACE, SPACE),
    SIZE_ROW("nmc_init_string(64 bytes, off 0, len = %s)", init_string_len, OK, OK, SPACE, SPACE,
             SPACE),
    SIZE_ROW("nmc_init_string_bytelen(%s)", string_bytelen, OK, OK, OVERFLOW, OVERFLOW, OVERFLOW),
    SIZE_ROW("nmc_init_array(64 bytes, off = %s & ~7, n 1)", init_array_off, OK, OK, SPACE, SPACE,
             SPACE),
    SIZE_ROW("nmc_init_array(64 bytes, off 0, n = %s)", init_array_n, OK, OK, SPACE, SPACE, SPACE),
    SIZE_ROW("nmc_init_array_bytelen(%s)", array_bytelen, OK, OK, OVERFLOW, OVERFLOW, OVERFLOW),
    SIZE_ROW("nmc_init_float_array(64 bytes, off = %s & ~7, n 1)", init_float_array_off, OK, OK,
             SPACE, SPACE, SPACE),
    SIZE_ROW("nmc_init_float_array(64 bytes, off 0, n = %s)", init_float_array_n, OK, OK, SPACE,
             SPACE, SPACE),
    SIZE_ROW("nmc_init_float_array_bytelen(%s)", float_array_bytelen, OK, OK, OVERFLOW, OVERFLOW,
             OVERFLOW),
    SIZE_ROW("nmc_init_value(64 bytes, off = %s & ~7, pair)", init_value_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_copier_init_value(c, 64 bytes, off = %s & ~7, pair)", copier_init_value_off, OK,
             OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_image_check(pair image, off = %s)", image_check_off, OK, INVAL, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_image_check(pair image, bytelen = %s)", image_check_bytelen, NMC_ECORRUPT,
             NMC_ECORRUPT, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_image_check(pair image, voffset = %s)", image_check_voffset, NMC_ECORRUPT,
             NMC_ECORRUPT, NMC_ECORRUPT, NMC_ECORRUPT, NMC_ECORRUPT),
    SIZE_ROW("nmc_image_move(pair image, off = %s)", image_move_off, OK, INVAL, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_image_move(pair image, bytelen = %s)", image_move_bytelen, NMC_ECORRUPT,
             NMC_ECORRUPT, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_image_move(pair image, voffset = %s)", image_move_voffset, NMC_ECORRUPT,
             NMC_ECORRUPT, NMC_ECORRUPT, NMC_ECORRUPT, NMC_ECORRUPT),
    SIZE_ROW("nmc_mem_read(fd, 16 bytes, off = %s, len 1)", mem_read_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_read(fd, 16 bytes, off 1, len = %s)", mem_read_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_write(fd, 16 bytes, off = %s, len 1)", mem_write_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_write(fd, 16 bytes, off 1, len = %s)", mem_write_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_recv(fd, 16 bytes, off = %s, len 1)", mem_recv_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_recv(fd, 16 bytes, off 1, len = %s)", mem_recv_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_send(fd, 16 bytes, off = %s, len 1)", mem_send_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_mem_send(fd, 16 bytes, off 1, len = %s)", mem_send_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_block_pool_create(%s)", block_pool_create, INVAL, INVAL, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_block_pool_create(%s & ~(page - 1)), alloc", block_pool, INVAL, INVAL, NOMEM,
             NOMEM, NOMEM),
    /* value */
    SIZE_ROW("nmc_arena_alloc_words(arena, %s)", arena_words, NOMEM, OK, NOMEM, NOMEM, NOMEM),
    SIZE_ROW("nmc_alloc_block(arena, tag 0, wosize = %s)", alloc_block_wosize, OK, OK, INVAL,
             INVAL, INVAL),
    U32_ROW("nmc_alloc_block(arena, tag = %s, wosize 1)", alloc_block_tag, OK, OK, INVAL, INVAL,
            INVAL),
    SIZE_ROW("nmc_alloc_string(arena, 16 bytes, len = %s)", alloc_string, OK, OK, OVERFLOW, INVAL,
             INVAL),
    SIZE_ROW("nmc_alloc_double_array(arena, 2 doubles, n = %s)", alloc_double_array, OK, OK, INVAL,
             INVAL, INVAL),
    SIZE_ROW("nmc_alloc_abstract(arena, %s)", alloc_abstract, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_alloc_tuple(arena, 0, n = %s, 2 fields)", alloc_tuple, OK, OK, INVAL, INVAL,
             INVAL),
    I64_ROW("nmc_alloc_bigarray(CHAR, dims {%s})", bigarray_char, OK, OK, NOMEM, NOMEM, NOMEM,
            INVAL, INVAL),
    I64_ROW("nmc_alloc_bigarray(FLOAT64, dims {%s})", bigarray_float64, OK, OK, OVERFLOW,
            OVERFLOW, OVERFLOW, INVAL, INVAL),
    I64_ROW("nmc_alloc_bigarray(CHAR, dims {%s, 2})", bigarray_char_2, OK, OK, NOMEM, NOMEM, NOMEM,
            INVAL, INVAL),
    INT_ROW("nmc_alloc_bigarray(CHAR, num_dims = %s, dims 1...)", bigarray_dims, INVAL, OK, INVAL,
            INVAL, INVAL, INVAL, INVAL),
    INT_ROW("nmc_ba_element_size(%s)", ba_element_size, OK, OK, INVAL, INVAL, INVAL, INVAL, INVAL),
    U32_ROW("nmc_atom(%s)", atom, OK, OK, OK, OK, OK),
    INT_ROW("nmc_hash_param(count = %s, 10, 0, pair)", hash_count, OK, OK, OK, OK, OK, OK, OK),
    INT_ROW("nmc_hash_param(10, limit = %s, 0, pair)", hash_limit, OK, OK, OK, OK, OK, OK, OK),
    /* sync */
    U32_ROW("nmc_sem_init(s, %s)", sem_init_value, OK, OK, INVAL, OK, INVAL),
    INT_ROW("nmc_futex_wake(word, %s)", futex_wake, OK, OK, OK, OK, OK, INVAL, INVAL),
    U32_ROW("nmc_wait_set_size(%s)", wait_set_size, INVAL, OK, INVAL, OK, INVAL),
    /* UINT32_MAX/2 entries are a valid capacity: 48 GiB to zero. */
    U32_ROW("nmc_wait_set_init(4 entries, capacity = %s)", wait_set_init, INVAL, OK, INVAL, SKIP,
            INVAL),
    /* camlbox */
    U32_ROW("nmc_camlbox_create(name, capacity = %s, 64)", box_create_capacity, INVAL, OK, INVAL,
            INVAL, INVAL),
    SIZE_ROW("nmc_camlbox_create(name, 4, msg_size = %s)", box_create_msg_size, OK, OK, INVAL,
             INVAL, INVAL),
    U32_ROW("nmc_camlbox_format(fd, capacity = %s, 64)", box_format_capacity, INVAL, OK, INVAL,
            INVAL, INVAL),
    SIZE_ROW("nmc_camlbox_format(fd, 4, msg_size = %s)", box_format_msg_size, OK, OK, INVAL, INVAL,
             INVAL),
    U32_ROW("nmc_mcamlbox_create(prefix, capacity = %s, 64)", mbox_create_capacity, INVAL, OK,
            INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_mcamlbox_create(prefix, 4, msg_size = %s)", mbox_create_msg_size, OK, OK, INVAL,
             INVAL, INVAL),
    SIZE_ROW("nmc_mcamlbox_lookup_address(id, buf, buflen = %s)", mbox_lookup_address, SPACE,
             SPACE, OK, OK, OK),
    U32_ROW("nmc_camlbox_get(4 slots, slot = %s)", box_get, NMC_EEMPTY, OK, INVAL, INVAL,
            INVAL),
    U32_ROW("nmc_camlbox_get_checked(4 slots, slot = %s)", box_get_checked, NMC_EEMPTY, OK,
            INVAL, INVAL, INVAL),
    U32_ROW("nmc_camlbox_get_copy(4 slots, slot = %s)", box_get_copy, NMC_EEMPTY, OK,
            INVAL, INVAL, INVAL),
    U32_ROW("nmc_camlbox_get_verified(4 slots, slot = %s)", box_get_verified, NMC_EEMPTY,
            OK, INVAL, INVAL, INVAL),
    U32_ROW("nmc_camlbox_delete(4 slots, slot = %s)", box_delete, NMC_EEMPTY, OK, INVAL,
            INVAL, INVAL),
    /* An out-of-range slot is NMC_EINVAL, except NMC_CAMLBOX_ANY_SLOT. */
    U32_ROW("nmc_camlbox_send(4 slots, prefer = %s)", box_send_prefer, OK, OK, OK, INVAL, INVAL),
    U32_ROW("nmc_camlbox_timedsend(4 slots, prefer = %s)", box_timedsend_prefer, OK, OK, OK, INVAL,
            INVAL),
    SIZE_ROW("nmc_camlbox_wait(box, 4 slots, max = %s)", box_wait_max, INVAL, OK, OK, OK, OK),
    SIZE_ROW("nmc_camlbox_timedwait(box, 4 slots, max = %s)", box_timedwait_max, INVAL, OK, OK, OK,
             OK),
    /* mempool, heap */
    SIZE_ROW("nmc_mempool_create(prefix, %s, false)", mempool_create, INVAL, OK, OVERFLOW,
             OVERFLOW, OVERFLOW),
    SIZE_ROW("nmc_mempool_alloc(4 MiB pool, %s)", mempool_alloc, INVAL, OK, POOL, POOL, POOL),
    SIZE_ROW("nmc_heap_create(pool, %s, root)", heap_create, OK, OK, POOL, POOL, POOL),
    SIZE_ROW("nmc_heap_add_string(mut, %s)", heap_add_string, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_heap_add_uniform_array(mut, %s, 3)", heap_add_uniform_array, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_heap_add_init_array(mut, %s, f)", heap_add_init_array, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_heap_with_values(heap, %s, find, process)", heap_with_values, INVAL, OK, NOMEM,
             NOMEM, NOMEM),
    /* shared data structures */
    SIZE_ROW("nmc_array_make(pool, %s, 1)", array_make, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_init(pool, %s, f)", array_init, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_grow(2 elements, %s, 1)", array_grow, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_set(2 elements, %s, 5)", array_set, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_get_ro(2 elements, %s)", array_get_ro, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_get_p(2 elements, %s)", array_get_p, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_array_get_c(2 elements, %s)", array_get_c, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_make(pool, dim1 = dim2 = %s, 1)", matrix_make_nn, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_matrix_make(pool, 0, dim2 = %s, 1)", matrix_make_0n, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_make(pool, dim1 = %s, 0, 1)", matrix_make_n0, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_make(pool, 1, dim2 = %s, 1)", matrix_make_1n, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_init(pool, dim1 = dim2 = %s, f)", matrix_init_nn, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_matrix_init(pool, 0, dim2 = %s, f)", matrix_init_0n, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_grow(2 x 2, dim1 = %s, 1, 1)", matrix_grow_n1, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_matrix_grow(2 x 2, 1, dim2 = %s, 1)", matrix_grow_1n, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_matrix_grow(0 x 0, 0, dim2 = %s, 1)", matrix_grow_empty_0n, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_matrix_set(2 x 2, i = %s, 0)", matrix_set_i, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_set(2 x 2, 0, j = %s)", matrix_set_j, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_ro(2 x 2, i = %s, 0)", matrix_get_ro_i, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_ro(2 x 2, 0, j = %s)", matrix_get_ro_j, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_p(2 x 2, i = %s, 0)", matrix_get_p_i, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_p(2 x 2, 0, j = %s)", matrix_get_p_j, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_c(2 x 2, i = %s, 0)", matrix_get_c_i, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_matrix_get_c(2 x 2, 0, j = %s)", matrix_get_c_j, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_create(pool, bsize = %s)", buffer_create, INVAL, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_sub(16 bytes, pos = %s, len 1)", buffer_sub_pos, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_buffer_sub(16 bytes, pos 1, len = %s)", buffer_sub_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_buffer_blit_to_bytes(16 bytes, pos = %s, s, 0, 1)", blit_to_bytes_pos, OK, OK,
             INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_blit_to_bytes(16 bytes, 0, s, off = %s, 1)", blit_to_bytes_off, OK, OK,
             INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_blit_to_bytes(16 bytes, 1, s, 1, len = %s)", blit_to_bytes_len, OK, OK,
             INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_blit_to_memory(16 bytes, pos = %s, mem, 1)", blit_to_memory_pos, OK, OK,
             INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_blit_to_memory(16 bytes, 1, mem, len = %s)", blit_to_memory_len, OK, OK,
             INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_add_substring(b, s, off = %s, 1)", add_substring_off, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_buffer_add_substring(b, s, 1, len = %s)", add_substring_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_buffer_add_submemory(b, 16 bytes, len = %s)", add_submemory_len, OK, OK, OVERFLOW,
             OVERFLOW, OVERFLOW),
    SIZE_ROW("nmc_buffer_delete_hd(16 bytes, %s)", delete_hd, OK, OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_buffer_access(16 bytes, pos = %s, fn)", buffer_access, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_hashtbl_create(pool, buckets = %s)", hashtbl_create, OK, OK, INVAL, INVAL, INVAL),
    U32_ROW("nmc_hashtbl_create(pool, buckets = %s)", hashtbl_create_u32, OK, OK, POOL, POOL, POOL),
    /* shmtable */
    SIZE_ROW("nmc_shmtable_manage(d, lock, pagesize = %s, -1)", table_pagesize, OK, INVAL, INVAL,
             INVAL, INVAL),
    I64_ROW("nmc_shmtable_manage(d, lock, 0, init = %s)", table_init, OK, OK, SPACE, SPACE, SPACE,
            OK, OK),
    SIZE_ROW("nmc_shmtable_add(t, 1, 16 words, len = %s)", table_add_len, OK, OK, INVAL, INVAL,
             INVAL),
    SIZE_ROW("nmc_shmtable_replace(t, 1, 16 words, len = %s)", table_replace_len, OK, OK, INVAL,
             INVAL, INVAL),
    SIZE_ROW("nmc_shmtable_find(t, 1, 2 words, cap = %s)", table_find_cap, SPACE, SPACE, OK, OK,
             OK),
    /* core */
    /* INT64_MAX bytes: NMC_ESYS from mmap, or NMC_ENOSPC where the object's
     * pages are committed first. */
    SIZE_ROW("nmc_create_preallocated_shm(prefix, %s)", preallocated_shm, INVAL, OK, INVAL, FAIL,
             INVAL),
    SIZE_ROW("nmc_create_preallocated_shm(prefix, %s) in a worker", preallocated_shm_worker, INVAL,
             OK, INVAL, FAIL, INVAL),
    SIZE_ROW("nmc_create_mempool(%s, false)", create_mempool, INVAL, OK, OVERFLOW, OVERFLOW,
             OVERFLOW),
    SIZE_ROW("nmc_create_mempool(%s, false) in a worker", create_mempool_worker, INVAL, OK,
             OVERFLOW, OVERFLOW, OVERFLOW),
    SIZE_ROW("nmc_get_file(id, buf, buflen = %s)", get_file, SPACE, SPACE, OK, OK, OK),
    SIZE_ROW("nmc_get_shm(id, buf, buflen = %s)", get_shm, SPACE, SPACE, OK, OK, OK),
    SIZE_ROW("nmc_get_sem(id, buf, buflen = %s)", get_sem, SPACE, SPACE, OK, OK, OK),
    SIZE_ROW("nmc_start(fp, arg, inherit {1 id, n = %s}) in the master", start_inherit_master, OK,
             OK, INVAL, INVAL, INVAL),
    SIZE_ROW("nmc_start(fp, arg, inherit {1 id, n = %s}) in a worker", start_inherit_worker, OK, OK,
             INVAL, INVAL, INVAL),
};

enum { N_ROWS = sizeof rows / sizeof rows[0] };

/* Seconds a call may take; the slowest honest one (a heap's collection
 * before it asks the pool for the impossible) takes milliseconds. */
#define CALL_DEADLINE 20.0

/* Exit codes of a row's child: EXIT_STATUS - status for a status, so
 * that 1, the exit code of a sanitizer's report, is none of them. */
enum { EXIT_SANITIZER = 1, EXIT_STATUS = 10, EXIT_WRONG_SIZE = 100, EXIT_WORKER_DIED,
       EXIT_UNKNOWN };

static int exit_code(int st)
{
    if (st == WRONG_SIZE || st == WORKER_DIED)
        return st == WRONG_SIZE ? EXIT_WRONG_SIZE : EXIT_WORKER_DIED;
    return st <= 0 && EXIT_STATUS - st < EXIT_WRONG_SIZE ? EXIT_STATUS - st : EXIT_UNKNOWN;
}

/* Removes what a child that died left of the things named after its pid
 * (test_name, the run directories, get_file's file). */
static void remove_leftovers(pid_t child)
{
    static const char *const dirs[] = {"/tmp", "/dev/shm"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf %s/%s_*%ld*", dirs[i], nmc_test_prefix(), (long)child);
        ck_assert_int_eq(system(cmd), 0);
    }
}

/* Runs one value of a row in a child; appends a verdict to msg if the
 * result is not the one wanted. */
static void run_value(const struct row *r, int v, char *msg, size_t cap)
{
    char call[160];
    snprintf(call, sizeof call, r->call, label(r->kind, v));
    uint64_t n = value(r->kind, v);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(exit_code(r->run(n)));
    int code = hostile_wait(pid, CALL_DEADLINE), want = r->want[v];
    bool returned = code >= EXIT_STATUS && code <= EXIT_UNKNOWN && code != HOSTILE_SETUP_FAILED;
    if (!returned) /* crashed, hung or gave up: it did not clean up */
        remove_leftovers(pid);
    char got[96];
    size_t len = strlen(msg);
    if (code == HOSTILE_HUNG) {
        snprintf(msg + len, cap - len, "hang: %s (killed after %.0f s); ", call, CALL_DEADLINE);
        return;
    }
    if (code >= 128) {
        snprintf(msg + len, cap - len, "crash: %s: signal %d; ", call, code - 128);
        return;
    }
    if (code == EXIT_SANITIZER || code == EXIT_WORKER_DIED) {
        snprintf(msg + len, cap - len, "crash: %s: %s; ", call,
                 code == EXIT_SANITIZER ? "a sanitizer's report (above)"
                                        : "its worker died (the master says how)");
        return;
    }
    if (code == HOSTILE_SKIPPED) {
        printf("SKIP %s: not safe on this system (see its row)\n", call);
        return;
    }
    if (code == HOSTILE_SETUP_FAILED) {
        snprintf(msg + len, cap - len, "setup failed: %s; ", call);
        return;
    }
    int st = code == EXIT_WRONG_SIZE ? WRONG_SIZE : EXIT_STATUS - code;
    if (st == want || (want == ANY_FAILURE && st < 0))
        return;
    if (st == WRONG_SIZE)
        snprintf(got, sizeof got, "an object of another size than asked (or than before)");
    else if (code == EXIT_UNKNOWN || code < EXIT_STATUS)
        snprintf(got, sizeof got, "a status the test does not know");
    else
        snprintf(got, sizeof got, "%s", nmc_strerror(st));
    snprintf(msg + len, cap - len, "wrong status: %s gave %s, expected %s; ", call, got,
             want == ANY_FAILURE ? "a failure" : nmc_strerror(want));
}

/* expect: each row's call gives its status for every value (0, 1, max, max/2, max - page; -1 and min if signed): no crash, no hang, never NMC_OK with less than asked */
START_TEST(sizes)
{
    const struct row *r = &rows[_i];
    char msg[2048] = "";
    for (int v = 0; v < values_of(r->kind); v++)
        if (r->want[v] != SKIP)
            run_value(r, v, msg, sizeof msg);
    ck_assert_msg(msg[0] == '\0', "%s", msg);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("nmc_sizes");
    TCase *tc = tcase_create("sizes");
    tcase_set_timeout(tc, 7 * CALL_DEADLINE + 30);
    tcase_add_loop_test(tc, sizes, 0, N_ROWS);
    suite_add_tcase(s, tc);
    return s;
}
