/* The crash-cleanup manifest, <socket_directory>/nmc.pmanage.
 *
 * One line per event: "R KIND NAME DEV INO\n" when the master registers a
 * kernel object, "U KIND NAME DEV INO\n" when it deletes one; KIND is
 * FILE, SHM or SEM, NAME the name in lower-case hex (no quoting problems),
 * DEV and INO the object's device and inode number in lower-case hex (0 0
 * when it did not exist when it was handed over). Lines are appended with
 * O_APPEND, one write each. After a crash the objects registered and not
 * deleted are the leftovers. A line of the earlier format, without DEV
 * and INO (a manifest the previous release left), reads as 0 0: what it
 * names is kept, since nothing says it is still the object registered.
 *
 * The manifest is input another process may have written, so it is read
 * once, whole (at most MANIFEST_MAX bytes, from a regular file of ours
 * with one link), and every line is validated in that private copy before
 * anything is deleted. A name in it is not trusted for what it names
 * today: a leftover is deleted only if it is still the very object the run
 * registered (same device and inode, not a later object under the same
 * name), a regular file owned by this user, and of the right shape (see
 * nmc/core.h) - for files, also in the socket directory or the temporary
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"

#define MANIFEST_NAME "nmc.pmanage"
/* Where glibc keeps POSIX shm objects (NAME) and named semaphores
 * (sem.NAME without its slash). */
#define SHM_DIR "/dev/shm"
enum {
    ID_DIGITS = 16, /* most hex digits of a device or inode number */
    MANIFEST_MAX = 16 << 20,
    LINE_MAX_BYTES = 8 + 2 * NMC_RESOURCE_NAME_MAX + 2 * (1 + ID_DIGITS),
};

static const char *kind_word(enum nmc_resource_kind kind)
{
    switch (kind) {
    case NMC_RES_FILE:
        return "FILE";
    case NMC_RES_SEM:
        return "SEM";
    default:
        return "SHM";
    }
}

/* True if kind and name may be deleted by us (see nmc/core.h). */
bool core_name_ok(enum nmc_resource_kind kind, const char *name)
{
    size_t n = strlen(name);
    if (n < 2 || n >= NMC_RESOURCE_NAME_MAX || name[0] != '/')
        return false;
    if (kind != NMC_RES_FILE)
        return strspn(name + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789_.-") == n - 1;
    /* An absolute path without "." or ".." components or empty ones. */
    for (const char *c = name; *c != '\0';) {
        const char *next = strchr(c + 1, '/');
        size_t len = (next ? (size_t)(next - c) : strlen(c)) - 1;
        if (len == 0 || (len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.'))
            return false;
        if (next == NULL)
            break;
        c = next;
    }
    return true;
}

/* True if dir is "/" or a prefix of path ending at a '/'. */
static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '/' || dir[n - 1] == '/');
}

bool core_file_place_ok(const char *path)
{
    /* The directory the file is in, with symbolic links resolved. */
    char parent[NMC_RESOURCE_NAME_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    if (n >= sizeof parent)
        return false;
    memcpy(parent, path, n);
    parent[n] = '\0';
    if (realpath(n ? parent : "/", real) == NULL)
        return false;
    strcat(real, "/");
    const char *tmp = getenv("TMPDIR");
    char real_tmp[PATH_MAX];
    return (core.socket_dir[0] != '\0' && under(real, core.socket_dir)) || under(real, "/tmp") ||
           (tmp != NULL && realpath(tmp, real_tmp) != NULL && under(real, real_tmp));
}

int core_object_stat(enum nmc_resource_kind kind, const char *name, struct stat *st)
{
    char path[sizeof SHM_DIR + sizeof "/sem." + NMC_RESOURCE_NAME_MAX];
    if (kind == NMC_RES_FILE)
        snprintf(path, sizeof path, "%s", name);
    else if (kind == NMC_RES_SEM)
        snprintf(path, sizeof path, SHM_DIR "/sem.%s", name + 1);
    else
        snprintf(path, sizeof path, SHM_DIR "%s", name);
    return lstat(path, st) == 0 ? NMC_OK : NMC_ESYS;
}

void core_object_ident(enum nmc_resource_kind kind, const char *name, struct core_ident *id)
{
    struct stat st;
    *id = (struct core_ident){0};
    if (core_name_ok(kind, name) && core_object_stat(kind, name, &st) == NMC_OK)
        *id = (struct core_ident){.dev = st.st_dev, .ino = st.st_ino};
}

int core_delete_object(enum nmc_resource_kind kind, const char *name)
{
    if (!core_name_ok(kind, name))
        return NMC_EINVAL;
    int rc;
    switch (kind) {
    case NMC_RES_FILE: {
        struct stat st;
        if (lstat(name, &st) != 0)
            return errno == ENOENT ? NMC_OK : NMC_ESYS;
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || !core_file_place_ok(name))
            return NMC_EPERM;
        rc = unlink(name);
        break;
    }
    case NMC_RES_SEM:
        rc = sem_unlink(name);
        break;
    default:
        rc = shm_unlink(name);
        break;
    }
    return rc == 0 || errno == ENOENT ? NMC_OK : NMC_ESYS;
}

void core_manifest_note(char what, enum nmc_resource_kind kind, const char *name,
                        const struct core_ident *id)
{
    if (core.manifest_fd < 0)
        return;
    char line[LINE_MAX_BYTES + 2]; /* fits: names are shorter than NMC_RESOURCE_NAME_MAX */
    int n = snprintf(line, sizeof line, "%c %s ", what, kind_word(kind));
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%02x", *c);
    n += snprintf(line + n, sizeof line - (size_t)n, " %llx %llx\n", (unsigned long long)id->dev,
                  (unsigned long long)id->ino);
    /* One append per line: a crash leaves at worst a last partial line,
     * which the next startup reports as corrupt rather than guessing. */
    ssize_t w;
    do
        w = write(core.manifest_fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
}

/* One parsed line. */
struct entry {
    size_t seq;                       /* line number                    */
    char what;                        /* 'R' registered, 'U' deleted    */
    enum nmc_resource_kind kind;      /* FILE, SHM or SEM               */
    char name[NMC_RESOURCE_NAME_MAX]; /* decoded and shape-checked      */
    struct core_ident id;             /* the object the run registered  */
};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parses " HEX" (1 to ID_DIGITS digits) at *p, before end, into *v. */
static bool parse_number(const char **p, const char *end, uint64_t *v)
{
    const char *c = *p;
    if (c == end || *c++ != ' ')
        return false;
    size_t n = 0;
    for (*v = 0; c < end && *c != ' '; c++, n++) {
        int d = hex_digit(*c);
        if (d < 0 || n == ID_DIGITS)
            return false;
        *v = *v << 4 | (uint64_t)d;
    }
    *p = c;
    return n > 0;
}

/* Parses line (len bytes, no newline) into e; false if malformed. */
static bool parse_line(const char *line, size_t len, struct entry *e)
{
    if (len < 6 || (line[0] != 'R' && line[0] != 'U') || line[1] != ' ')
        return false;
    e->what = line[0];
    const char *p = line + 2, *end = line + len;
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL)
        return false;
    size_t kw = (size_t)(sp - p);
    if (kw == 4 && memcmp(p, "FILE", 4) == 0)
        e->kind = NMC_RES_FILE;
    else if (kw == 3 && memcmp(p, "SHM", 3) == 0)
        e->kind = NMC_RES_SHM;
    else if (kw == 3 && memcmp(p, "SEM", 3) == 0)
        e->kind = NMC_RES_SEM;
    else
        return false;
    p = sp + 1;
    sp = memchr(p, ' ', (size_t)(end - p));
    size_t hex = (size_t)((sp ? sp : end) - p);
    if (hex == 0 || hex % 2 != 0 || hex / 2 >= NMC_RESOURCE_NAME_MAX)
        return false;
    for (size_t i = 0; i < hex / 2; i++) {
        int hi = hex_digit(p[2 * i]), lo = hex_digit(p[2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        e->name[i] = (char)(hi << 4 | lo);
    }
    e->name[hex / 2] = '\0';
    e->id.dev = e->id.ino = 0;
    p = sp;
    bool earlier_format = sp == NULL;
    return (earlier_format || (parse_number(&p, end, &e->id.dev) &&
                               parse_number(&p, end, &e->id.ino) && p == end)) &&
           core_name_ok(e->kind, e->name);
}

/* A manifest someone else owns, or a link to another file (which the
 * truncation at startup would empty), is not ours to read or rewrite. */
static int refuse_manifest(const struct stat *st)
{
    fprintf(stderr,
            "nmc master: manifest %s/" MANIFEST_NAME " refused: owned by uid %u with %lu links, "
            "not a file of ours with one link\n",
            core.socket_dir, (unsigned)st->st_uid, (unsigned long)st->st_nlink);
    errno = EPERM;
    return NMC_EPERM;
}

/* Reads the whole manifest (NULL, 0 if absent) into *buf. */
static int read_manifest(int dirfd, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = NMC_FAULT(NMC_FAULT_OPEN, EMFILE)
                 ? -1
                 : openat(dirfd, MANIFEST_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? NMC_OK : NMC_ESYS;
    struct stat st;
    int status = NMC_OK;
    if (fstat(fd, &st) != 0)
        status = NMC_ESYS;
    else if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX)
        status = NMC_ECORRUPT;
    else if (st.st_uid != geteuid() || st.st_nlink != 1)
        status = refuse_manifest(&st);
    else if ((*buf = malloc((size_t)st.st_size + 1)) == NULL)
        status = NMC_ENOMEM;
    while (status == NMC_OK && *len < (size_t)st.st_size) {
        ssize_t n = read(fd, *buf + *len, (size_t)st.st_size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            status = n < 0 ? NMC_ESYS : NMC_ECORRUPT;
            break;
        }
        *len += (size_t)n;
    }
    close(fd);
    if (status != NMC_OK) {
        free(*buf);
        *buf = NULL;
    }
    return status;
}

/* Parses every line of buf into *entries (all or nothing). */
static int parse_manifest(const char *buf, size_t len, struct entry **entries, size_t *n)
{
    size_t cap = 0;
    *entries = NULL;
    *n = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (nl == NULL)
            return NMC_ECORRUPT; /* a partial last line */
        size_t l = (size_t)(nl - (buf + pos));
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            struct entry *e = realloc(*entries, cap * sizeof *e);
            if (e == NULL)
                return NMC_ENOMEM;
            *entries = e;
        }
        if (l > LINE_MAX_BYTES || !parse_line(buf + pos, l, &(*entries)[*n]))
            return NMC_ECORRUPT;
        (*entries)[*n].seq = *n;
        ++*n;
        pos += l + 1;
    }
    return NMC_OK;
}

/* Orders entries by kind and name, keeping file order within one name. */
static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Deletes a leftover if it is still the object its run registered and
 * ours (see the top of this file). Its directory is /dev/shm, /tmp (both
 * sticky) or one of ours, so nobody else can put another object under the
 * name between this check and the deletion. */
static void delete_leftover(const struct entry *e)
{
    struct stat st;
    if (core_object_stat(e->kind, e->name, &st) != NMC_OK)
        return; /* gone already */
    if (S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_dev == e->id.dev &&
        st.st_ino == e->id.ino) {
        core_delete_object(e->kind, e->name);
        return;
    }
    fprintf(stderr,
            "nmc master: %s %s left by a previous run is kept: it is not the object that run "
            "registered, or not ours\n",
            kind_word(e->kind), e->name);
}

/* Deletes the objects whose last line is R: registered, never deleted. */
static void delete_leftovers(struct entry *e, size_t n)
{
    qsort(e, n, sizeof *e, entry_cmp);
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n || e[i + 1].kind != e[i].kind || strcmp(e[i + 1].name, e[i].name) != 0;
        if (last && e[i].what == 'R')
            delete_leftover(&e[i]);
    }
}

int core_manifest_recover(int dirfd, bool no_unlink, int *fd)
{
    char *buf;
    size_t len;
    int st = read_manifest(dirfd, &buf, &len);
    if (st != NMC_OK)
        return st;
    struct entry *entries = NULL;
    size_t n = 0;
    st = parse_manifest(buf, len, &entries, &n);
    if (st == NMC_OK && !no_unlink && n > 0)
        delete_leftovers(entries, n);
    free(entries);
    free(buf);
    if (st != NMC_OK)
        return st;
    /* With no_unlink the leftovers stay listed, for a later startup. */
    int trunc = no_unlink ? 0 : O_TRUNC;
    *fd = NMC_FAULT(NMC_FAULT_OPEN, EMFILE)
              ? -1
              : openat(dirfd, MANIFEST_NAME,
                       O_WRONLY | O_CREAT | trunc | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    return *fd < 0 ? NMC_ESYS : NMC_OK;
}
