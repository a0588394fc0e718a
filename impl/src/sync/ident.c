/* Who the caller is, whether another thread still lives, and poll deadlines.
 *
 * Thread ids: gettid() is a system call, too slow for an uncontended lock, so
 * each thread caches its id in a thread-local word. A fork child inherits the
 * parent's cache but has a new id: a pthread_atfork child handler (registered
 * once, on first use) clears the cache of the child's only thread. This
 * cache is the module's only process-global mutable state.
 *
 * Liveness: /proc/<tid>/stat exists for every live thread of the pid
 * namespace, leader or not; its state letter is Z or X once the thread has
 * exited but is not reaped yet (kill(pid, 0) would still succeed then). A
 * recycled id (pid_max wrapped while the owner lay dead) reads as alive: the
 * error is on the safe side (wait on), never a stolen live lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread uint32_t nmc_sync_tid_cache __attribute__((tls_model("initial-exec")));
__thread struct nmc_spin nmc_sync_spin __attribute__((tls_model("initial-exec")));

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_tid(void)
{
    nmc_sync_tid_cache = 0;
}

static void register_atfork(void)
{
    /* Failure (ENOMEM) leaves the cache unprotected across fork; nothing
     * better can be done here, and glibc only fails when out of memory. */
    (void)pthread_atfork(NULL, NULL, forget_tid);
}

/* Slow path of nmc_sync_self: asks the kernel and fills the cache. */
uint32_t nmc_sync_self_slow(void)
{
    pthread_once(&atfork_once, register_atfork);
    uint32_t tid = (uint32_t)syscall(SYS_gettid);
    nmc_sync_tid_cache = tid;
    return tid;
}

bool nmc_sync_alive(uint32_t tid)
{
    char path[32], buf[512];
    if (tid == 0 || tid > NMC_TID_MASK)
        return true;
    snprintf(path, sizeof path, "/proc/%u/stat", (unsigned)tid);
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno != ENOENT && errno != ESRCH;
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return errno != ESRCH;
    buf[n] = '\0';
    /* "tid (comm) S ...": comm may hold ')' so take the last one. */
    const char *paren = strrchr(buf, ')');
    if (paren == NULL || paren[1] != ' ')
        return true;
    char state = paren[2];
    return state != 'Z' && state != 'X' && state != 'x';
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
    return nmc_sync_self();
}

bool nmc_thread_alive(uint32_t tid)
{
    return nmc_sync_alive(tid);
}
