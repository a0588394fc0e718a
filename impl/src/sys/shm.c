/* POSIX shared memory objects with unpredictable names.
 *
 * A name is "/<prefix>_<16 hex digits>", the digits from getrandom, so that
 * another user cannot guess it and pre-create it; objects are created with
 * O_CREAT | O_EXCL and mode 0600, so an existing object (a collision or a
 * planted one) is never reused: creation retries with a fresh name. A
 * created object is sized with ftruncate; if that fails, the name is
 * unlinked again so nothing is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmc/status.h"
#include "nmc/sys.h"

/* How many fresh names shm_create tries before giving up with EEXIST. */
enum { SHM_CREATE_TRIES = 16 };

/* True if prefix is 1..NMC_SHM_PREFIX_MAX characters of [A-Za-z0-9_.-]. */
static bool prefix_ok(const char *prefix)
{
    if (prefix == NULL)
        return false;
    size_t n = strnlen(prefix, NMC_SHM_PREFIX_MAX + 1);
    if (n == 0 || n > NMC_SHM_PREFIX_MAX)
        return false;
    return strspn(prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789_.-") == n;
}

/* Fills r with n random bytes, retrying EINTR and short reads. */
static int random_bytes(unsigned char *r, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(r, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return NMC_ESYS;
        }
        r += got;
        n -= (size_t)got;
    }
    return NMC_OK;
}

/* "/<prefix>_<16 random hex digits>" into buf. NMC_EINVAL for a bad prefix
 * or a buffer too small for the name; NMC_ESYS if getrandom fails. */
int nmc_sys_unique_name(const char *prefix, char *buf, size_t buflen)
{
    if (!prefix_ok(prefix) || buf == NULL)
        return NMC_EINVAL;
    size_t need = 1 + strlen(prefix) + 1 + 16 + 1;
    if (buflen < need)
        return NMC_EINVAL;
    unsigned char r[8];
    int st = random_bytes(r, sizeof r);
    if (st != NMC_OK)
        return st;
    int n = snprintf(buf, buflen, "/%s_", prefix);
    for (size_t i = 0; i < sizeof r; i++)
        n += snprintf(buf + n, buflen - (size_t)n, "%02x", r[i]);
    return NMC_OK;
}

/* Sizes a freshly created object; on failure closes and unlinks it, keeping
 * ftruncate's errno. */
static int size_new_object(int fd, const char *name, size_t size)
{
    if (!NMC_FAULT(NMC_FAULT_FTRUNCATE, EFBIG) && ftruncate(fd, (off_t)size) == 0)
        return NMC_OK;
    int saved = errno;
    close(fd);
    shm_unlink(name);
    errno = saved;
    return NMC_ESYS;
}

/* A new object of size bytes under a fresh name; see nmc/sys.h. NMC_EINVAL
 * for bad arguments or a size beyond off_t, NMC_ESYS (errno kept) when
 * shm_open or ftruncate fails or every name tried already existed. */
int nmc_sys_shm_create(const char *prefix, size_t size, int *fd, char *name)
{
    if (fd == NULL || name == NULL || !prefix_ok(prefix) || size > (size_t)INT64_MAX)
        return NMC_EINVAL;
    for (int tries = 0; tries < SHM_CREATE_TRIES; tries++) {
        int st = nmc_sys_unique_name(prefix, name, NMC_SHM_NAME_MAX);
        if (st != NMC_OK)
            return st;
        int f = NMC_FAULT(NMC_FAULT_SHM_OPEN, EMFILE) ? -1
                : shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (f < 0) {
            if (errno == EEXIST)
                continue;
            return NMC_ESYS;
        }
        st = size_new_object(f, name, size);
        if (st == NMC_OK)
            *fd = f;
        return st;
    }
    errno = EEXIST;
    return NMC_ESYS;
}

/* Opens an existing object read-write: NMC_ENOT_FOUND (errno ENOENT) if the
 * name does not exist, NMC_ESYS for other failures, NMC_EINVAL for NULLs. */
int nmc_sys_shm_open(const char *name, int *fd)
{
    if (name == NULL || fd == NULL)
        return NMC_EINVAL;
    int f = NMC_FAULT(NMC_FAULT_SHM_OPEN, EMFILE) ? -1 : shm_open(name, O_RDWR, 0);
    if (f < 0)
        return errno == ENOENT ? NMC_ENOT_FOUND : NMC_ESYS;
    *fd = f;
    return NMC_OK;
}

/* Removes the name: NMC_ENOT_FOUND if it does not exist, NMC_ESYS for other
 * failures. Mappings and open descriptors stay valid. */
int nmc_sys_shm_unlink(const char *name)
{
    if (name == NULL)
        return NMC_EINVAL;
    if (shm_unlink(name) == 0)
        return NMC_OK;
    return errno == ENOENT ? NMC_ENOT_FOUND : NMC_ESYS;
}

/* The size of the object behind fd; NMC_ESYS if fstat fails. */
int nmc_sys_fd_size(int fd, size_t *size)
{
    if (size == NULL)
        return NMC_EINVAL;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NMC_ESYS;
    *size = (size_t)st.st_size;
    return NMC_OK;
}
