/* Shared memory descriptors: open / create_unique / close / unlink /
 * chmod / chown of files and POSIX shm objects. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "nmc/sys.h"

enum { UNIQUE_TRIES = 100 };

unsigned nmc_shm_supported_types(void)
{
    return (1u << NMC_SHM_FILE) | (1u << NMC_SHM_POSIX);
}

int nmc_shm_best_locking_method(enum nmc_shm_type type, enum nmc_shm_locking *out)
{
    if ((type != NMC_SHM_FILE && type != NMC_SHM_POSIX) || out == NULL)
        return NMC_EINVAL;
    *out = NMC_SHM_RECORD_LOCKING;
    return NMC_OK;
}

static bool name_ok(const nmc_shm_name *n)
{
    return n != NULL && (n->type == NMC_SHM_FILE || n->type == NMC_SHM_POSIX) &&
           n->name != NULL && n->name[0] != '\0';
}

static int errno_status(void)
{
    return errno == ENOENT ? NMC_ENOT_FOUND : NMC_ESYS;
}

static int open_name(enum nmc_shm_type type, const char *path, int flags, mode_t perm)
{
    if (type == NMC_SHM_POSIX)
        return NMC_FAULT(NMC_FAULT_SHM_OPEN, EMFILE) ? -1
                                                     : shm_open(path, flags | O_CLOEXEC, perm);
    return NMC_FAULT(NMC_FAULT_OPEN, EMFILE) ? -1
                                             : open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                                                    perm);
}

/* An object opened by name must be a regular file (not a device or FIFO
 * someone planted in place of a FILE table; a POSIX shm object is one)
 * owned by our effective uid, unless the caller accepts any owner: the
 * owner of an object can truncate or rewrite it under us at any time. A
 * FILE name itself is opened with O_NOFOLLOW (a symbolic link gives ELOOP)
 * and O_NONBLOCK (a planted FIFO cannot block the open; the flag does
 * nothing on a regular file).
 * O_TRUNC is applied here, after the check, so that a refused object is
 * never emptied. On failure fd is closed: NMC_EPERM for another owner,
 * NMC_EINVAL for a non-regular file, NMC_ESYS if fstat / ftruncate fail. */
static int check_object(int fd, bool any_owner, bool trunc)
{
    struct stat st;
    int rc = NMC_OK;
    if (fstat(fd, &st) != 0)
        rc = NMC_ESYS;
    else if (!S_ISREG(st.st_mode))
        rc = NMC_EINVAL;
    else if (st.st_uid != geteuid() && !any_owner)
        rc = NMC_EPERM;
    else if (trunc && (NMC_FAULT(NMC_FAULT_FTRUNCATE, EFBIG) || ftruncate(fd, 0) != 0))
        rc = NMC_ESYS;
    if (rc != NMC_OK) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return rc;
}

static int make_descr(enum nmc_shm_type type, char *path, int fd, bool writable,
                      nmc_shm_descr **out)
{
    nmc_shm_descr *d = malloc(sizeof *d);
    if (d == NULL) {
        close(fd);
        free(path);
        return NMC_ENOMEM;
    }
    *d = (nmc_shm_descr){.fd = fd, .writable = writable, .path = path};
    d->name = (nmc_shm_name){type, path};
    *out = d;
    return NMC_OK;
}

/* Replaces the 'X's of path's last component with random [A-Za-z0-9]. */
static void fill_template(char *path, const char *templ)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const char *slash = strrchr(templ, '/');
    size_t from = slash == NULL ? 0 : (size_t)(slash - templ) + 1;
    for (size_t i = from; templ[i] != '\0'; i++) {
        if (templ[i] != 'X')
            continue;
        unsigned char r;
        while (getrandom(&r, 1, 0) != 1)
            ;
        path[i] = alphabet[r % (sizeof alphabet - 1)];
    }
}

static int create_unique(const nmc_shm_name *templ, int flags, mode_t perm,
                         nmc_shm_descr **out)
{
    const char *slash = strrchr(templ->name, '/');
    if (strchr(slash == NULL ? templ->name : slash, 'X') == NULL)
        return NMC_EINVAL;
    char *path = strdup(templ->name);
    if (path == NULL)
        return NMC_ENOMEM;
    for (int i = 0; i < UNIQUE_TRIES; i++) {
        fill_template(path, templ->name);
        int fd = open_name(templ->type, path, flags | O_CREAT | O_EXCL, perm);
        if (fd >= 0)
            return make_descr(templ->type, path, fd, (flags & O_ACCMODE) == O_RDWR, out);
        if (errno != EEXIST)
            break;
    }
    int st = errno_status();
    free(path);
    return st;
}

_Static_assert((NMC_SHM_ANY_OWNER & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)) == 0,
               "NMC_SHM_ANY_OWNER is no O_ flag");

int nmc_shm_open(const nmc_shm_name *name, int flags, mode_t perm, bool unique,
                 nmc_shm_descr **out)
{
    const int allowed = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | NMC_SHM_ANY_OWNER;
    if (!name_ok(name) || out == NULL || (flags & ~allowed) != 0 ||
        ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR))
        return NMC_EINVAL;
    bool any_owner = (flags & NMC_SHM_ANY_OWNER) != 0, trunc = (flags & O_TRUNC) != 0;
    flags &= ~NMC_SHM_ANY_OWNER;
    if (unique)
        return create_unique(name, flags, perm, out);
    char *path = strdup(name->name);
    if (path == NULL)
        return NMC_ENOMEM;
    int fd = open_name(name->type, path, flags & ~O_TRUNC, perm);
    int st = fd < 0 ? errno_status() : check_object(fd, any_owner, trunc);
    if (st != NMC_OK) {
        free(path);
        return st;
    }
    return make_descr(name->type, path, fd, (flags & O_ACCMODE) == O_RDWR, out);
}

int nmc_shm_create_unique(const nmc_shm_name *templ, mode_t perm, nmc_shm_descr **out)
{
    if (!name_ok(templ) || out == NULL)
        return NMC_EINVAL;
    return create_unique(templ, O_RDWR, perm, out);
}

const nmc_shm_name *nmc_shm_name_of(const nmc_shm_descr *d)
{
    return d == NULL ? NULL : &d->name;
}

int nmc_shm_close(nmc_shm_descr *d)
{
    if (d == NULL)
        return NMC_OK;
    int rc = close(d->fd);
    free(d->path);
    free(d);
    return rc == 0 || errno == EINTR ? NMC_OK : NMC_ESYS;
}

int nmc_shm_unlink(const nmc_shm_name *name)
{
    if (!name_ok(name))
        return NMC_EINVAL;
    int rc = name->type == NMC_SHM_POSIX ? shm_unlink(name->name) : unlink(name->name);
    return rc == 0 ? NMC_OK : errno_status();
}

int nmc_shm_chmod(nmc_shm_descr *d, mode_t perm)
{
    if (d == NULL)
        return NMC_EINVAL;
    return fchmod(d->fd, perm) == 0 ? NMC_OK : NMC_ESYS;
}

int nmc_shm_chown(nmc_shm_descr *d, uid_t uid, gid_t gid)
{
    if (d == NULL)
        return NMC_EINVAL;
    return fchown(d->fd, uid, gid) == 0 ? NMC_OK : NMC_ESYS;
}
