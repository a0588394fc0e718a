/* Tests of the system layer (impl/src/sys/): pages, shm names and objects,
 * mappings, commit, SIGBUS-guarded touch, guarded ranges, futexes and
 * deadlines. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/sys.h"
#include "nmc_test.h"

/* ---- helpers ------------------------------------------------------------- */

/* A fresh shm object of size bytes, mapped; the name is unlinked at once so
 * no test can leave it in /dev/shm. */
static void *shared_pages(size_t size, int *fd)
{
    char name[NMC_SHM_NAME_MAX];
    void *p = NULL;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), size, fd, name));
    ck_assert_ok(nmc_sys_shm_unlink(name));
    ck_assert_ok(nmc_sys_map(*fd, size, 0, NULL, false, &p));
    return p;
}

static double elapsed_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* ---- pages --------------------------------------------------------------- */

START_TEST(pagesize_and_rounding)
{
    size_t ps = nmc_sys_pagesize();
    ck_assert_uint_eq(ps, (size_t)sysconf(_SC_PAGESIZE));
    ck_assert_uint_eq(ps & (ps - 1), 0);
    size_t r = 123;
    ck_assert_ok(nmc_sys_round_pages(0, &r));
    ck_assert_uint_eq(r, 0);
    ck_assert_ok(nmc_sys_round_pages(1, &r));
    ck_assert_uint_eq(r, ps);
    ck_assert_ok(nmc_sys_round_pages(ps, &r));
    ck_assert_uint_eq(r, ps);
    ck_assert_ok(nmc_sys_round_pages(ps + 1, &r));
    ck_assert_uint_eq(r, 2 * ps);
    ck_assert_ok(nmc_sys_round_pages(SIZE_MAX - ps + 1, &r));
    ck_assert_uint_eq(r, SIZE_MAX - ps + 1);
    ck_assert_status(nmc_sys_round_pages(SIZE_MAX - ps + 2, &r), NMC_EOVERFLOW);
    ck_assert_status(nmc_sys_round_pages(SIZE_MAX, &r), NMC_EOVERFLOW);
    ck_assert_status(nmc_sys_round_pages(1, NULL), NMC_EINVAL);
}
END_TEST

/* ---- names --------------------------------------------------------------- */

START_TEST(unique_name_format)
{
    char a[NMC_SHM_NAME_MAX], b[NMC_SHM_NAME_MAX];
    ck_assert_ok(nmc_sys_unique_name("pre.fix-9_", a, sizeof a));
    ck_assert_ok(nmc_sys_unique_name("pre.fix-9_", b, sizeof b));
    ck_assert_uint_eq(strlen(a), 1 + 10 + 1 + 16);
    ck_assert_int_eq(strncmp(a, "/pre.fix-9__", 12), 0);
    ck_assert_uint_eq(strspn(a + 12, "0123456789abcdef"), 16);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(unique_name_rejects_bad_prefixes)
{
    char buf[NMC_SHM_NAME_MAX];
    char longest[NMC_SHM_PREFIX_MAX + 2];
    memset(longest, 'x', sizeof longest - 1);
    longest[NMC_SHM_PREFIX_MAX] = '\0';
    ck_assert_ok(nmc_sys_unique_name(longest, buf, sizeof buf));
    ck_assert_uint_eq(strlen(buf), 1 + NMC_SHM_PREFIX_MAX + 1 + 16);
    longest[NMC_SHM_PREFIX_MAX] = 'x';
    longest[NMC_SHM_PREFIX_MAX + 1] = '\0';
    ck_assert_status(nmc_sys_unique_name(longest, buf, sizeof buf), NMC_EINVAL);
    ck_assert_status(nmc_sys_unique_name("", buf, sizeof buf), NMC_EINVAL);
    ck_assert_status(nmc_sys_unique_name(NULL, buf, sizeof buf), NMC_EINVAL);
    const char *bad[] = {"a/b", "a b", "../x", "x\n", "\xc3\xa9t\xc3\xa9", "a%b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_status(nmc_sys_unique_name(bad[i], buf, sizeof buf), NMC_EINVAL);
    /* the buffer must hold "/ab_" + 16 digits + NUL = 21 bytes */
    ck_assert_status(nmc_sys_unique_name("ab", buf, 20), NMC_EINVAL);
    ck_assert_ok(nmc_sys_unique_name("ab", buf, 21));
    ck_assert_status(nmc_sys_unique_name("ab", NULL, 21), NMC_EINVAL);
}
END_TEST

/* ---- shm objects ----------------------------------------------------------- */

START_TEST(shm_create_open_unlink)
{
    size_t ps = nmc_sys_pagesize();
    char name[NMC_SHM_NAME_MAX];
    int fd = -1, fd2 = -1;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 3 * ps, &fd, name));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(name[0], '/');
    ck_assert_int_eq(strncmp(name + 1, nmc_test_prefix(), strlen(nmc_test_prefix())), 0);
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 1);

    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    size_t size = 0;
    ck_assert_ok(nmc_sys_fd_size(fd, &size));
    ck_assert_uint_eq(size, 3 * ps);

    ck_assert_ok(nmc_sys_shm_open(name, &fd2));
    void *p = NULL, *q = NULL;
    ck_assert_ok(nmc_sys_map(fd, 3 * ps, 0, NULL, false, &p));
    ck_assert_ok(nmc_sys_map(fd2, ps, (off_t)ps, NULL, false, &q));
    ((char *)p)[ps + 7] = 'z';
    ck_assert_int_eq(((char *)q)[7], 'z');

    ck_assert_ok(nmc_sys_shm_unlink(name));
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
    ck_assert_status(nmc_sys_shm_unlink(name), NMC_ENOT_FOUND);
    ck_assert_status(nmc_sys_shm_open(name, &fd2), NMC_ENOT_FOUND);
    ck_assert_int_eq(errno, ENOENT);
    /* the mappings outlive the name */
    ck_assert_int_eq(((char *)p)[ps + 7], 'z');
    ck_assert_ok(nmc_sys_unmap(p, 3 * ps));
    ck_assert_ok(nmc_sys_unmap(q, ps));
    close(fd);
    close(fd2);
}
END_TEST

/* Every status has its own name, "NMC_..." and the code's meaning; an
 * unknown code (positive, or beyond the last) gives "unknown status". */
START_TEST(status_names)
{
    for (int st = NMC_OK; st >= NMC_EOVERFLOW; st--) {
        const char *name = nmc_strerror(st);
        ck_assert_ptr_nonnull(name);
        ck_assert_msg(strncmp(name, "NMC_", 4) == 0 && strchr(name, ':') != NULL,
                      "status %d: \"%s\"", st, name);
        for (int other = NMC_OK; other > st; other--)
            ck_assert_str_ne(name, nmc_strerror(other));
    }
    ck_assert_str_eq(nmc_strerror(NMC_EOVERFLOW - 1), "unknown status");
    ck_assert_str_eq(nmc_strerror(1), "unknown status");
}
END_TEST

/* Security: two creations under one prefix get different random names
 * (16 hex digits from getrandom, not a counter), each a fresh object of
 * mode 0600 owned by us; the name of an existing object is never reused. */
START_TEST(shm_names_unpredictable_and_private)
{
    char a[NMC_SHM_NAME_MAX], b[NMC_SHM_NAME_MAX];
    int fa, fb;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 100, &fa, a));
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 100, &fb, b));
    ck_assert_str_ne(a, b);
    size_t plen = 1 + strlen(nmc_test_prefix()) + 1;
    ck_assert_uint_eq(strlen(a), plen + 16);
    /* Random digits: the two suffixes differ in more than the last digit
     * or two (a counter or a pid would not); 16 hex digits agree on 14 by
     * chance with probability ~2^-50. */
    int same = 0;
    for (size_t i = plen; i < plen + 16; i++)
        same += a[i] == b[i];
    ck_assert_int_lt(same, 14);
    struct stat sa, sb;
    ck_assert_int_eq(fstat(fa, &sa), 0);
    ck_assert_int_eq(fstat(fb, &sb), 0);
    ck_assert_uint_eq(sa.st_mode & 07777, 0600);
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);
    ck_assert_uint_eq(sa.st_uid, geteuid());
    ck_assert(sa.st_ino != sb.st_ino);
    ck_assert_ok(nmc_sys_shm_unlink(a));
    ck_assert_ok(nmc_sys_shm_unlink(b));
    close(fa);
    close(fb);
}
END_TEST

START_TEST(shm_error_paths)
{
    char name[NMC_SHM_NAME_MAX];
    int fd = -1;
    ck_assert_status(nmc_sys_shm_create("bad/prefix", 4096, &fd, name), NMC_EINVAL);
    ck_assert_status(nmc_sys_shm_create(nmc_test_prefix(), 4096, NULL, name), NMC_EINVAL);
    ck_assert_status(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, NULL), NMC_EINVAL);
    ck_assert_status(nmc_sys_shm_create(nmc_test_prefix(), SIZE_MAX, &fd, name), NMC_EINVAL);
    ck_assert_int_eq(fd, -1);
    ck_assert_status(nmc_sys_shm_unlink("/nmc-surely-not-there-0123456789"), NMC_ENOT_FOUND);
    ck_assert_status(nmc_sys_shm_unlink(NULL), NMC_EINVAL);
    ck_assert_status(nmc_sys_shm_open(NULL, &fd), NMC_EINVAL);
    size_t size;
    ck_assert_status(nmc_sys_fd_size(-1, &size), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
}
END_TEST

START_TEST(shm_zero_size_and_many)
{
    /* many objects: all names distinct, all removed again */
    enum { N = 32 };
    char names[N][NMC_SHM_NAME_MAX];
    int fds[N];
    for (int i = 0; i < N; i++)
        ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 0, &fds[i], names[i]));
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), N);
    for (int i = 0; i < N; i++) {
        size_t size = 1;
        ck_assert_ok(nmc_sys_fd_size(fds[i], &size));
        ck_assert_uint_eq(size, 0);
        ck_assert_ok(nmc_sys_shm_unlink(names[i]));
        close(fds[i]);
    }
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
}
END_TEST

/* ---- mappings ------------------------------------------------------------- */

START_TEST(map_fixed_never_clobbers)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    void *shared = shared_pages(2 * ps, &fd);
    void *occupied = NULL;
    ck_assert_ok(nmc_sys_map_anon(2 * ps, NULL, &occupied));
    memset(occupied, 0x5c, 2 * ps);

    void *p = NULL;
    ck_assert_status(nmc_sys_map(fd, 2 * ps, 0, occupied, true, &p), NMC_ESYS);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(((unsigned char *)occupied)[0], 0x5c);
    ck_assert_int_eq(((unsigned char *)occupied)[2 * ps - 1], 0x5c);
    /* overlapping only the second page is refused as well */
    ck_assert_status(nmc_sys_map(fd, 2 * ps, 0, (char *)occupied + ps, true, &p), NMC_ESYS);
    ck_assert_int_eq(errno, EEXIST);
    ck_assert_int_eq(((unsigned char *)occupied)[2 * ps - 1], 0x5c);

    /* once the range is free, the fixed mapping lands exactly there */
    ck_assert_ok(nmc_sys_unmap(occupied, 2 * ps));
    ck_assert_ok(nmc_sys_map(fd, 2 * ps, 0, occupied, true, &p));
    ck_assert_ptr_eq(p, occupied);
    ((char *)p)[5] = 'q';
    ck_assert_int_eq(((char *)shared)[5], 'q');
    ck_assert_ok(nmc_sys_unmap(p, 2 * ps));
    ck_assert_ok(nmc_sys_unmap(shared, 2 * ps));
    close(fd);
}
END_TEST

START_TEST(map_error_paths)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    void *shared = shared_pages(ps, &fd);
    void *p = NULL;
    ck_assert_status(nmc_sys_map(fd, 0, 0, NULL, false, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(fd, ps, 1, NULL, false, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(fd, ps, -(off_t)ps, NULL, false, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(fd, ps, 0, NULL, false, NULL), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(fd, ps, 0, NULL, true, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(fd, ps, 0, (char *)shared + 1, true, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map(-1, ps, 0, NULL, false, &p), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_status(nmc_sys_map_anon(0, NULL, &p), NMC_EINVAL);
    ck_assert_status(nmc_sys_map_anon(ps, NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_sys_map_anon(SIZE_MAX, NULL, &p), NMC_EOVERFLOW);
    ck_assert_status(nmc_sys_unmap(NULL, ps), NMC_EINVAL);
    ck_assert_status(nmc_sys_unmap(shared, 0), NMC_EINVAL);
    ck_assert_status(nmc_sys_unmap((char *)shared + 1, ps), NMC_ESYS);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_ok(nmc_sys_unmap(shared, ps));
    close(fd);
}
END_TEST

START_TEST(map_anon_rounds_to_pages)
{
    size_t ps = nmc_sys_pagesize();
    unsigned char *p = NULL;
    ck_assert_ok(nmc_sys_map_anon(ps + 1, NULL, (void **)&p));
    ck_assert_uint_eq((uintptr_t)p % ps, 0);
    ck_assert_int_eq(p[0], 0);
    p[2 * ps - 1] = 7; /* the rounded second page is there */
    ck_assert_int_eq(p[2 * ps - 1], 7);
    ck_assert_ok(nmc_sys_unmap(p, 2 * ps));
}
END_TEST

/* ---- commit and touch -------------------------------------------------------- */

START_TEST(commit_paths)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    void *p = shared_pages(4 * ps, &fd);
    ck_assert_ok(nmc_sys_commit(fd, 0, (off_t)(4 * ps)));
    ck_assert_ok(nmc_sys_commit(fd, 0, 0));
    ck_assert_ok(nmc_sys_touch(p, 4 * ps));
    ck_assert_status(nmc_sys_commit(fd, -1, 10), NMC_EINVAL);
    ck_assert_status(nmc_sys_commit(fd, 0, -10), NMC_EINVAL);
    ck_assert_status(nmc_sys_commit(fd, INT64_MAX, 10), NMC_EOVERFLOW);
    ck_assert_status(nmc_sys_commit(-1, 0, 10), NMC_ESYS);
    ck_assert_int_eq(errno, EBADF);
    /* /dev/shm is a size-limited tmpfs: 32 TiB cannot be reserved */
    ck_assert_status(nmc_sys_commit(fd, 0, (off_t)1 << 45), NMC_ENOSPC);
    ck_assert_int_eq(errno, ENOSPC);
    size_t size;
    ck_assert_ok(nmc_sys_fd_size(fd, &size));
    ck_assert_uint_eq(size, 4 * ps); /* a failed commit does not grow the file */
    ck_assert_ok(nmc_sys_unmap(p, 4 * ps));
    close(fd);
}
END_TEST

static volatile sig_atomic_t user_sigbus_calls;
static void user_sigbus(int sig) { user_sigbus_calls++; }

/* Installs user_sigbus as the SIGBUS action. */
static void install_user_handler(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = user_sigbus;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
}

static void assert_user_handler_installed(void)
{
    struct sigaction now;
    ck_assert_int_eq(sigaction(SIGBUS, NULL, &now), 0);
    ck_assert(!(now.sa_flags & SA_SIGINFO));
    ck_assert(now.sa_handler == user_sigbus);
}

START_TEST(touch_turns_sigbus_into_enospc)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    unsigned char *p = shared_pages(2 * ps, &fd);
    p[0] = 42;
    install_user_handler();
    ck_assert_ok(nmc_sys_touch(p, 2 * ps));
    ck_assert_int_eq(p[0], 42); /* value unchanged */
    assert_user_handler_installed();

    ck_assert_int_eq(ftruncate(fd, 0), 0); /* the pages lose their backing */
    ck_assert_status(nmc_sys_touch(p, 2 * ps), NMC_ENOSPC);
    ck_assert_status(nmc_sys_touch(p + ps + 1, 3), NMC_ENOSPC);
    assert_user_handler_installed();
    ck_assert_int_eq(user_sigbus_calls, 0);

    ck_assert_ok(nmc_sys_touch(p, 0));
    ck_assert_status(nmc_sys_touch(NULL, 1), NMC_EINVAL);
    ck_assert_status(nmc_sys_touch((void *)(UINTPTR_MAX - 2), 8), NMC_EINVAL);
    ck_assert_ok(nmc_sys_unmap(p, 2 * ps));
    close(fd);
}
END_TEST

/* Whatever action the process starts with (SIG_DFL, or a sanitizer's
 * handler) is the one in place after a touch. */
START_TEST(touch_restores_initial_action)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    unsigned char *p = shared_pages(ps, &fd);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    struct sigaction before, after;
    ck_assert_int_eq(sigaction(SIGBUS, NULL, &before), 0);
    ck_assert_status(nmc_sys_touch(p, ps), NMC_ENOSPC);
    ck_assert_int_eq(sigaction(SIGBUS, NULL, &after), 0);
    int visible = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER | SA_RESETHAND;
    ck_assert_int_eq(after.sa_flags & visible, before.sa_flags & visible);
    ck_assert(after.sa_sigaction == before.sa_sigaction);
    ck_assert_ok(nmc_sys_unmap(p, ps));
    close(fd);
}
END_TEST

/* Threads touch a truncated mapping (and a good one) at the same time. */
struct touch_job {
    unsigned char *bad;  /* pages without backing */
    unsigned char *good; /* committed pages       */
    size_t len;          /* bytes of each         */
    int failures;        /* wrong statuses seen   */
};

static void *touch_worker(void *arg)
{
    struct touch_job *job = arg;
    for (int i = 0; i < 200; i++) {
        if (nmc_sys_touch(job->bad, job->len) != NMC_ENOSPC)
            job->failures++;
        if (nmc_sys_touch(job->good, job->len) != NMC_OK)
            job->failures++;
    }
    return NULL;
}

START_TEST(touch_is_thread_safe)
{
    size_t ps = nmc_sys_pagesize();
    int bad_fd, good_fd;
    unsigned char *bad = shared_pages(4 * ps, &bad_fd);
    unsigned char *good = shared_pages(4 * ps, &good_fd);
    ck_assert_int_eq(ftruncate(bad_fd, 0), 0);
    install_user_handler();
    enum { THREADS = 4 };
    pthread_t t[THREADS];
    struct touch_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (struct touch_job){bad, good, 4 * ps, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, touch_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(jobs[i].failures, 0);
    }
    assert_user_handler_installed();
    ck_assert_int_eq(user_sigbus_calls, 0);
    ck_assert_ok(nmc_sys_unmap(bad, 4 * ps));
    ck_assert_ok(nmc_sys_unmap(good, 4 * ps));
    close(bad_fd);
    close(good_fd);
}
END_TEST

/* ---- guarded ranges ---------------------------------------------------------- */

/* Reads one byte through a volatile pointer (a real access, never elided). */
static unsigned char peek(const unsigned char *p)
{
    return *(const volatile unsigned char *)p;
}

/* A second, independent mapping of the object behind fd: what the object
 * itself holds, whatever was patched over the first one. */
static unsigned char object_byte(int fd, size_t off)
{
    unsigned char b = 0xee;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
    return b;
}

/* Truncation under a guarded mapping: the access past the new end reads
 * zeros instead of raising SIGBUS, the range reports the first faulting
 * address, the pages before it still show the object, a write past the end
 * never reaches the object, and a fresh mapping (after the object is whole
 * again) shows the object. The user's handler is never called. */
START_TEST(guard_turns_truncation_into_a_flag)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    unsigned char *p = shared_pages(4 * ps, &fd);
    p[0] = 1;
    p[2 * ps + 5] = 7;
    install_user_handler();
    nmc_sys_guard *g;
    ck_assert_ok(nmc_sys_guard_add(p, 4 * ps, &g));
    ck_assert_ptr_null(nmc_sys_guard_fault(g));
    ck_assert_int_eq(ftruncate(fd, (off_t)ps), 0);
    ck_assert_int_eq(peek(p + 2 * ps + 5), 0);
    ck_assert_ptr_eq(nmc_sys_guard_fault(g), p + 2 * ps + 5);
    ck_assert_int_eq(peek(p), 1);  /* before the cut: still the object */
    p[3 * ps] = 9;                 /* already zero pages: no new fault */
    ck_assert_ptr_eq(nmc_sys_guard_fault(g), p + 2 * ps + 5);
    ck_assert_int_eq(ftruncate(fd, (off_t)(4 * ps)), 0);
    ck_assert_int_eq(object_byte(fd, 3 * ps), 0); /* the write stayed private */
    ck_assert_int_eq(peek(p + 2 * ps + 5), 0);    /* until the caller maps again */
    unsigned char *q = NULL;
    ck_assert_ok(nmc_sys_map(fd, 4 * ps, 0, NULL, false, (void **)&q));
    nmc_sys_guard_move(g, NULL, 0);
    ck_assert_ok(nmc_sys_unmap(p, 4 * ps));
    nmc_sys_guard_move(g, q, 4 * ps);
    nmc_sys_guard_clear(g);
    ck_assert_ptr_null(nmc_sys_guard_fault(g));
    ck_assert_int_eq(peek(q), 1);
    q[3 * ps] = 9;
    ck_assert_int_eq(object_byte(fd, 3 * ps), 9);
    ck_assert_ptr_null(nmc_sys_guard_fault(g));
    nmc_sys_guard_remove(g);
    assert_user_handler_installed();
    ck_assert_int_eq(user_sigbus_calls, 0);
    ck_assert_status(nmc_sys_guard_add(NULL, ps, &g), NMC_EINVAL);
    ck_assert_status(nmc_sys_guard_add(q, 0, &g), NMC_EINVAL);
    ck_assert_status(nmc_sys_guard_add((void *)(UINTPTR_MAX - ps), 2 * ps, &g), NMC_EINVAL);
    ck_assert_ok(nmc_sys_unmap(q, 4 * ps));
    close(fd);
}
END_TEST

static sigjmp_buf user_jump;
static void *volatile user_fault_addr;

static void user_siginfo(int sig, siginfo_t *info, void *ctx)
{
    user_fault_addr = info->si_addr;
    siglongjmp(user_jump, 1);
}

static void user_plain(int sig)
{
    user_sigbus_calls++;
    siglongjmp(user_jump, 1);
}

/* A SIGBUS that is not a guarded range's (another mapping, a range moved
 * away, one raised with kill) reaches the handler installed before, with
 * SA_SIGINFO or without; a guarded fault in between does not. */
START_TEST(guard_passes_other_faults_on)
{
    size_t ps = nmc_sys_pagesize();
    int gfd, ofd;
    unsigned char *guarded = shared_pages(2 * ps, &gfd), *other = shared_pages(2 * ps, &ofd);
    ck_assert_int_eq(ftruncate(gfd, 0), 0);
    ck_assert_int_eq(ftruncate(ofd, 0), 0);
    nmc_sys_guard *g;
    struct sigaction sa = {0};
    sa.sa_sigaction = user_siginfo;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
    ck_assert_ok(nmc_sys_guard_add(guarded, 2 * ps, &g));
    if (sigsetjmp(user_jump, 1) == 0)
        peek(other + 3);
    ck_assert_ptr_eq(user_fault_addr, other + 3);
    ck_assert_int_eq(peek(guarded + ps), 0);
    ck_assert_ptr_eq(nmc_sys_guard_fault(g), guarded + ps);
    user_fault_addr = NULL;
    nmc_sys_guard_move(g, NULL, 0); /* not ours while it moves */
    if (sigsetjmp(user_jump, 1) == 0)
        peek(guarded); /* the first page still maps the (empty) object */
    ck_assert_ptr_eq(user_fault_addr, guarded);
    nmc_sys_guard_move(g, guarded, 2 * ps);
    nmc_sys_guard_remove(g);

    install_user_handler(); /* now a plain handler */
    sa.sa_handler = user_plain;
    sa.sa_flags = 0;
    ck_assert_int_eq(sigaction(SIGBUS, &sa, NULL), 0);
    ck_assert_ok(nmc_sys_guard_add(other + ps, ps, &g));
    if (sigsetjmp(user_jump, 1) == 0)
        peek(other);
    ck_assert_int_eq(user_sigbus_calls, 1);
    if (sigsetjmp(user_jump, 1) == 0)
        raise(SIGBUS); /* si_code SI_TKILL: never a range's */
    ck_assert_int_eq(user_sigbus_calls, 2);
    ck_assert_int_eq(peek(other + ps), 0);
    ck_assert_int_eq(user_sigbus_calls, 2);
    nmc_sys_guard_remove(g);
    ck_assert_ok(nmc_sys_unmap(guarded, 2 * ps));
    ck_assert_ok(nmc_sys_unmap(other, 2 * ps));
    close(gfd);
    close(ofd);
}
END_TEST

/* With the default action in place, a fault outside every range still
 * kills the process with SIGBUS (in a child). */
START_TEST(guard_keeps_default_death)
{
    size_t ps = nmc_sys_pagesize();
    int gfd, ofd;
    unsigned char *guarded = shared_pages(ps, &gfd), *other = shared_pages(ps, &ofd);
    ck_assert_int_eq(ftruncate(ofd, 0), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* the default fate, not a sanitizer's report */
        nmc_sys_guard *g;
        if (nmc_sys_guard_add(guarded, ps, &g) != NMC_OK)
            _exit(1);
        peek(other);
        _exit(2);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "child status %#x", st);
    ck_assert_ok(nmc_sys_unmap(guarded, ps));
    ck_assert_ok(nmc_sys_unmap(other, ps));
    close(gfd);
    close(ofd);
}
END_TEST

/* Ranges and touches share one handler: a touch that ends while a range is
 * registered leaves the handler installed (the range's next fault is still
 * caught), and the action found first is back after the last range goes,
 * in whatever order they go. */
START_TEST(guard_and_touch_share_the_handler)
{
    size_t ps = nmc_sys_pagesize();
    int fd, tfd;
    unsigned char *p = shared_pages(4 * ps, &fd), *t = shared_pages(ps, &tfd);
    install_user_handler();
    nmc_sys_guard *a, *b;
    ck_assert_ok(nmc_sys_guard_add(p, 2 * ps, &a));
    ck_assert_ok(nmc_sys_guard_add(p + 2 * ps, 2 * ps, &b));
    ck_assert_ok(nmc_sys_touch(t, ps));
    ck_assert_int_eq(ftruncate(tfd, 0), 0);
    ck_assert_status(nmc_sys_touch(t, ps), NMC_ENOSPC);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(peek(p + 3 * ps), 0);
    ck_assert_ptr_eq(nmc_sys_guard_fault(b), p + 3 * ps);
    ck_assert_ptr_null(nmc_sys_guard_fault(a));
    nmc_sys_guard_remove(a); /* not last in, first out */
    ck_assert_int_eq(peek(p + 2 * ps), 0);
    nmc_sys_guard_remove(b);
    assert_user_handler_installed();
    ck_assert_int_eq(user_sigbus_calls, 0);
    ck_assert_ok(nmc_sys_unmap(p, 4 * ps));
    ck_assert_ok(nmc_sys_unmap(t, ps));
    close(fd);
    close(tfd);
}
END_TEST

/* Threads each fault in a truncated range of their own and map it again,
 * over and over, while another thread registers and removes ranges enough
 * to need a second chunk of the registry. */
enum { GUARD_THREADS = 4, GUARD_ROUNDS = 200, CHURN_RANGES = 100 };

struct guard_job {
    int fd;         /* an object truncated to 0 */
    int failures;
};

static void *guard_worker(void *arg)
{
    struct guard_job *job = arg;
    size_t ps = nmc_sys_pagesize();
    unsigned char *p = NULL;
    nmc_sys_guard *g;
    if (nmc_sys_map(job->fd, 2 * ps, 0, NULL, false, (void **)&p) != NMC_OK ||
        nmc_sys_guard_add(p, 2 * ps, &g) != NMC_OK) {
        job->failures++;
        return NULL;
    }
    for (int i = 0; i < GUARD_ROUNDS; i++) {
        unsigned char *q = NULL;
        job->failures += peek(p + ps + (size_t)i) != 0;
        job->failures += nmc_sys_guard_fault(g) != p + ps + i;
        if (nmc_sys_map(job->fd, 2 * ps, 0, NULL, false, (void **)&q) != NMC_OK) {
            job->failures++;
            break;
        }
        nmc_sys_guard_move(g, NULL, 0);
        nmc_sys_unmap(p, 2 * ps);
        nmc_sys_guard_move(g, q, 2 * ps);
        nmc_sys_guard_clear(g);
        p = q;
    }
    nmc_sys_guard_remove(g);
    nmc_sys_unmap(p, 2 * ps);
    return NULL;
}

static void *guard_churn(void *arg)
{
    static unsigned char area[CHURN_RANGES];
    nmc_sys_guard *g[CHURN_RANGES];
    int *failures = arg;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < CHURN_RANGES; i++)
            *failures += nmc_sys_guard_add(area + i, 1, &g[i]) != NMC_OK;
        for (int i = 0; i < CHURN_RANGES; i++)
            nmc_sys_guard_remove(g[i]);
    }
    return NULL;
}

START_TEST(guard_is_thread_safe)
{
    install_user_handler();
    pthread_t t[GUARD_THREADS], churn;
    struct guard_job jobs[GUARD_THREADS];
    int churn_failures = 0;
    for (int i = 0; i < GUARD_THREADS; i++) {
        void *p = shared_pages(nmc_sys_pagesize(), &jobs[i].fd);
        ck_assert_ok(nmc_sys_unmap(p, nmc_sys_pagesize()));
        ck_assert_int_eq(ftruncate(jobs[i].fd, 0), 0);
        jobs[i].failures = 0;
        ck_assert_int_eq(pthread_create(&t[i], NULL, guard_worker, &jobs[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&churn, NULL, guard_churn, &churn_failures), 0);
    for (int i = 0; i < GUARD_THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(jobs[i].failures, 0);
        close(jobs[i].fd);
    }
    ck_assert_int_eq(pthread_join(churn, NULL), 0);
    ck_assert_int_eq(churn_failures, 0);
    assert_user_handler_installed();
    ck_assert_int_eq(user_sigbus_calls, 0);
}
END_TEST

/* ---- futexes and deadlines ------------------------------------------------------- */

START_TEST(futex_wait_returns_at_once_on_other_value)
{
    uint32_t word = 5;
    ck_assert_ok(nmc_futex_wait(&word, 4, NULL));
    ck_assert_int_eq(nmc_futex_wake(&word, 1), 0);
    ck_assert_int_eq(nmc_futex_wake(&word, INT32_MAX), 0);
    ck_assert_status(nmc_futex_wait(NULL, 0, NULL), NMC_EINVAL);
    ck_assert_status(nmc_futex_wait((uint32_t *)((char *)&word + 1), 0, NULL), NMC_EINVAL);
    ck_assert_status(nmc_futex_wake(NULL, 1), NMC_EINVAL);
    ck_assert_status(nmc_futex_wake(&word, -1), NMC_EINVAL);
}
END_TEST

START_TEST(futex_wait_times_out)
{
    uint32_t word = 0;
    struct timespec t0, t1, deadline;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nmc_deadline_in(0.05, &deadline);
    ck_assert_status(nmc_futex_wait(&word, 0, &deadline), NMC_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert(nmc_deadline_passed(&deadline));
    ck_assert_double_ge(elapsed_s(&t0, &t1), 0.049);
    ck_assert_double_lt(elapsed_s(&t0, &t1), 2.0);
    /* a deadline already past times out at once */
    ck_assert_status(nmc_futex_wait(&word, 0, &t0), NMC_ETIMEDOUT);
}
END_TEST

/* Child: waits on word[0] until it becomes 1; exit 0 on success. */
static void futex_child(uint32_t *word)
{
    struct timespec deadline;
    nmc_deadline_in(3.0, &deadline);
    while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0)
        if (nmc_futex_wait(word, 0, &deadline) != NMC_OK)
            _exit(1);
    _exit(0);
}

START_TEST(futex_wakes_across_fork)
{
    size_t ps = nmc_sys_pagesize();
    int fd;
    uint32_t *word = shared_pages(ps, &fd);
    *word = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        futex_child(word);
    /* keep waking until the kernel reports it woke the child's wait: that
     * proves the (non-private) futex is shared across the processes */
    struct timespec deadline, nap = {0, 1000000};
    nmc_deadline_in(2.0, &deadline);
    int woke = 0;
    while (woke == 0 && !nmc_deadline_passed(&deadline)) {
        woke = nmc_futex_wake(word, 1);
        if (woke == 0)
            nanosleep(&nap, NULL);
    }
    ck_assert_int_eq(woke, 1);
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    ck_assert_int_ge(nmc_futex_wake(word, INT32_MAX), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_ok(nmc_sys_unmap(word, ps));
    close(fd);
}
END_TEST

START_TEST(deadlines)
{
    struct timespec d, now;
    nmc_deadline_in(0, &d);
    ck_assert(nmc_deadline_passed(&d));
    nmc_deadline_in(-5, &d);
    ck_assert(nmc_deadline_passed(&d));
    nmc_deadline_in(0.0 / 0.0, &d);
    ck_assert(nmc_deadline_passed(&d));
    clock_gettime(CLOCK_MONOTONIC, &now);
    nmc_deadline_in(10.75, &d);
    ck_assert(!nmc_deadline_passed(&d));
    ck_assert(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    double ahead = elapsed_s(&now, &d);
    ck_assert_double_ge(ahead, 10.74);
    ck_assert_double_le(ahead, 10.9);
    nmc_deadline_in(1e300, &d);
    ck_assert(!nmc_deadline_passed(&d));
    ck_assert_int_gt(d.tv_sec, now.tv_sec);
    ck_assert(!nmc_deadline_passed(NULL));
}
END_TEST

START_TEST(earlier_deadline)
{
    struct timespec soon, late, out;
    nmc_deadline_in(0.5, &soon);
    nmc_deadline_in(60, &late);
    ck_assert(!nmc_deadline_earlier(&soon, 10, &out)); /* the given one is earlier */
    ck_assert(out.tv_sec == soon.tv_sec && out.tv_nsec == soon.tv_nsec);
    ck_assert(nmc_deadline_earlier(&late, 10, &out)); /* now + 10 s is earlier */
    ck_assert_int_lt(out.tv_sec, late.tv_sec);
    ck_assert(!nmc_deadline_passed(&out));
    ck_assert(nmc_deadline_earlier(NULL, 10, &out)); /* no deadline: the period */
    ck_assert_double_ge(elapsed_s(&soon, &out), 9.0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sys");
    TCase *tc = tcase_create("sys");
    tcase_add_test(tc, pagesize_and_rounding);
    tcase_add_test(tc, status_names);
    tcase_add_test(tc, unique_name_format);
    tcase_add_test(tc, unique_name_rejects_bad_prefixes);
    tcase_add_test(tc, shm_create_open_unlink);
    tcase_add_test(tc, shm_names_unpredictable_and_private);
    tcase_add_test(tc, shm_error_paths);
    tcase_add_test(tc, shm_zero_size_and_many);
    tcase_add_test(tc, map_fixed_never_clobbers);
    tcase_add_test(tc, map_error_paths);
    tcase_add_test(tc, map_anon_rounds_to_pages);
    tcase_add_test(tc, commit_paths);
    tcase_add_test(tc, touch_turns_sigbus_into_enospc);
    tcase_add_test(tc, touch_restores_initial_action);
    tcase_add_test(tc, touch_is_thread_safe);
    tcase_add_test(tc, guard_turns_truncation_into_a_flag);
    tcase_add_test(tc, guard_passes_other_faults_on);
    tcase_add_test(tc, guard_keeps_default_death);
    tcase_add_test(tc, guard_and_touch_share_the_handler);
    tcase_add_test(tc, guard_is_thread_safe);
    tcase_add_test(tc, futex_wait_returns_at_once_on_other_value);
    tcase_add_test(tc, futex_wait_times_out);
    tcase_add_test(tc, futex_wakes_across_fork);
    tcase_add_test(tc, deadlines);
    tcase_add_test(tc, earlier_deadline);
    suite_add_tcase(s, tc);
    return s;
}
