/* Who the caller is, and whether the owner a shared word names still runs.
 *
 * Owners. Shared memory names a thread by an nmc_owner (nmc/sync.h): its
 * kernel thread id and the low 32 bits of its start time (clock ticks after
 * boot, field 22 of /proc/<tid>/stat). The kernel hands a thread id out
 * again once its thread is gone; the start time tells the new thread from
 * the dead owner, so a recycled id neither keeps a dead owner alive nor
 * makes the newcomer the owner of a lock it never took. (Two threads with
 * one id and one start tick would need the id to wrap within 10 ms.)
 *
 * The caller's own owner costs a system call and a /proc read once per
 * thread: it is cached in a thread-local word. A fork child inherits the
 * parent's cache but is a new thread: a pthread_atfork child handler
 * (registered once, on first use) clears the cache of the child's only
 * thread. Without /proc the start time reads 0 and only the id is compared.
 *
 * Liveness reads /proc/<tid>/stat (it exists for every live thread of the
 * pid namespace, leader or not): absent, a zombie (state Z, X or x) or
 * another start time means gone. Reading it takes a file descriptor, so one
 * is reserved when the library is loaded and spent on the read when the
 * process has none left (EMFILE, ENFILE); it is reserved again after.
 * /proc mounted with hidepid hides other users' threads: an absent entry
 * whose id still answers kill(tid, 0) is "cannot tell", never "gone".
 * Whatever cannot be read or parsed is NMC_OWNER_UNKNOWN, which the
 * callers turn into NMC_ESYS rather than waiting on for ever.
 *
 * The thread-local cache, the reserved descriptor and its lock are the
 * module's only process-global mutable state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread nmc_owner nmc_sync_owner_cache __attribute__((tls_model("initial-exec")));
__thread struct nmc_spin nmc_sync_spin __attribute__((tls_model("initial-exec")));

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A descriptor kept for the /proc read of a process that has run out. */
static int reserved_fd = -1;
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;

static void reserve_descriptor(void)
{
    reserved_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void forget_owner(void)
{
    nmc_sync_owner_cache = 0;
    /* Another thread of the parent may have held the lock at the fork. */
    pthread_mutex_init(&reserve_lock, NULL);
}

static void register_atfork(void)
{
    /* Failure (ENOMEM) leaves the cache unprotected across fork; nothing
     * better can be done here, and glibc only fails when out of memory. */
    (void)pthread_atfork(NULL, NULL, forget_owner);
}

__attribute__((constructor)) static void ident_init(void)
{
    reserve_descriptor();
}

/* Reads up to size - 1 bytes of path into buf, NUL-terminated; the byte
 * count, or -1 with errno. */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* /proc/<tid>/stat into buf, spending the reserved descriptor if the
 * process has none left. */
static ssize_t read_stat(uint32_t tid, char *buf, size_t size)
{
    char path[32];
    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)tid);
    ssize_t n = read_file(path, buf, size);
    if (n >= 0 || (errno != EMFILE && errno != ENFILE))
        return n;
    pthread_mutex_lock(&reserve_lock);
    if (reserved_fd >= 0) {
        close(reserved_fd);
        reserved_fd = -1;
    }
    n = read_file(path, buf, size);
    int saved = errno;
    reserve_descriptor(); /* may fail if another thread took the slot: next time */
    pthread_mutex_unlock(&reserve_lock);
    errno = saved;
    return n;
}

/* The state letter and start time of a stat line; false if it does not
 * parse. */
static bool parse_stat(const char *line, char *state, uint64_t *start)
{
    /* "tid (comm) S ppid ... starttime": comm may hold ')' and spaces, so
     * the fields start after the last ')'; starttime is the 20th of them. */
    const char *p = strrchr(line, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        return false;
    *state = p[2];
    p += 2;
    for (int field = 0; field < 19; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return false;
        p++;
    }
    char *end;
    errno = 0;
    unsigned long long t = strtoull(p, &end, 10);
    if (end == p || errno != 0 || (*end != ' ' && *end != '\n' && *end != '\0'))
        return false;
    *start = t;
    return true;
}

/* Slow path of nmc_sync_self: asks the kernel and fills the cache. */
nmc_owner nmc_sync_self_slow(void)
{
    pthread_once(&atfork_once, register_atfork);
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    char buf[512], state;
    uint64_t start = 0;
    if (read_stat(tid, buf, sizeof buf) < 0 || !parse_stat(buf, &state, &start))
        start = 0;
    nmc_owner self = (nmc_owner)tid | (nmc_owner)(uint32_t)start << 32;
    nmc_sync_owner_cache = self;
    return self;
}

enum nmc_liveness nmc_sync_liveness(nmc_owner owner)
{
    uint32_t tid = NMC_OWNER_TID(owner), start32 = (uint32_t)(owner >> 32);
    if (tid == 0 || tid > NMC_TID_MASK)
        return NMC_OWNER_GONE; /* no thread has such an id */
    char buf[512], state;
    uint64_t start;
    if (read_stat(tid, buf, sizeof buf) < 0) {
        if (errno != ENOENT && errno != ESRCH)
            return NMC_OWNER_UNKNOWN;
        /* Gone, or hidden by hidepid: the id still answers a signal then. */
        return kill((pid_t)tid, 0) != 0 && errno == ESRCH ? NMC_OWNER_GONE
                                                          : NMC_OWNER_UNKNOWN;
    }
    if (!parse_stat(buf, &state, &start)) {
        errno = EPROTO;
        return NMC_OWNER_UNKNOWN;
    }
    if (state == 'Z' || state == 'X' || state == 'x')
        return NMC_OWNER_GONE;
    if (start32 != 0 && (uint32_t)start != start32)
        return NMC_OWNER_GONE; /* the id went to a newer thread */
    return NMC_OWNER_LIVE;
}

void nmc_sync_poison(void *obj, size_t size, uint32_t *magic)
{
#ifdef NDEBUG
    (void)obj;
    (void)size;
    STORE(magic, 0u);
#else
    STORE(magic, 0u);
    memset(obj, 0x55, size);
#endif
}

uint32_t nmc_thread_self(void)
{
    return NMC_OWNER_TID(nmc_sync_self());
}

nmc_owner nmc_owner_self(void)
{
    return nmc_sync_self();
}

enum nmc_liveness nmc_owner_liveness(nmc_owner owner)
{
    return nmc_sync_liveness(owner);
}
