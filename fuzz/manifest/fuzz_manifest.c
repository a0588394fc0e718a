/* Fuzz target: the process manager's crash-cleanup manifest
 * (<socket_directory>/nmc.pmanage, impl/src/core/manifest.c), read by
 * core_manifest_recover at every startup.
 *
 * The input is the manifest's content, written into a fresh temporary
 * directory. An independent parser of the format (R|U, FILE|SHM|SEM, the
 * name in lower-case hex, the object's device and inode numbers in 1 to 16
 * lower-case hex digits (or neither: the earlier format, read as 0 0),
 * fields separated by one space, every line ended by '\n', names of the
 * shape nmc/core.h allows) is the oracle:
 *   - malformed input gives NMC_ECORRUPT, well-formed input NMC_OK and a
 *     manifest fd; nothing else, no crash, no hang;
 *   - with no_unlink (the default path here) the file is left exactly as
 *     it was and nothing is deleted;
 *   - when every name of a well-formed input is a POSIX shm object of this
 *     fuzzer's own namespace (/nmcfzm...: at most 8 names), recovery also
 *     runs for real: those objects are created first, and afterwards
 *     exactly the leftovers (last line R) that are still the object the
 *     line names (its device and inode) are gone, the others still exist,
 *     and the manifest is empty. Any other name never reaches the deleting
 *     path, so no input deletes anything outside this fuzzer's namespace
 *     and its temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_internal.h"
#include "decoder.h"
#include "nmc/core.h"
#include "nmc/status.h"

#define OWN_PREFIX "/nmcfzm"
enum { MAX_OWN = 8, ID_DIGITS = 16, LINE_MAX_BYTES = 8 + 2 * NMC_RESOURCE_NAME_MAX + 2 * 17 };

struct own {
    char name[NMC_RESOURCE_NAME_MAX];
    char last;         /* 'R' or 'U': the last line naming it */
    uint64_t dev, ino; /* the identity that line gives         */
};

/* The oracle's view of one well-formed input. */
struct oracle {
    bool ok;         /* well-formed                                      */
    bool all_own;    /* every name is an SHM name under OWN_PREFIX       */
    struct own own[MAX_OWN];
    size_t nown;
};

static bool shm_name_ok(const char *s, size_t n)
{
    if (n < 2 || n >= NMC_RESOURCE_NAME_MAX || s[0] != '/')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* An absolute path, no empty, "." or ".." component. */
static bool file_name_ok(const char *s, size_t n)
{
    if (n < 2 || n >= NMC_RESOURCE_NAME_MAX || s[0] != '/')
        return false;
    size_t start = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || s[i] == '/') {
            size_t len = i - start;
            if (len == 0 || (len == 1 && s[start] == '.') ||
                (len == 2 && s[start] == '.' && s[start + 1] == '.'))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static int hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* " HEX" at l[*p ..): 1 to ID_DIGITS lower-case hex digits. */
static bool parse_id(const uint8_t *l, size_t len, size_t *p, uint64_t *v)
{
    if (*p >= len || l[*p] != ' ')
        return false;
    size_t start = ++*p;
    for (*v = 0; *p < len && l[*p] != ' '; ++*p) {
        int d = hexval(l[*p]);
        if (d < 0 || *p - start == ID_DIGITS)
            return false;
        *v = *v << 4 | (uint64_t)d;
    }
    return *p > start;
}

static bool parse_line(const uint8_t *l, size_t len, struct oracle *o)
{
    if (len < 2 || (l[0] != 'R' && l[0] != 'U') || l[1] != ' ')
        return false;
    size_t p = 2, kind; /* 0 FILE, 1 SHM, 2 SEM */
    if (len - p >= 5 && memcmp(l + p, "FILE ", 5) == 0)
        kind = 0, p += 5;
    else if (len - p >= 4 && memcmp(l + p, "SHM ", 4) == 0)
        kind = 1, p += 4;
    else if (len - p >= 4 && memcmp(l + p, "SEM ", 4) == 0)
        kind = 2, p += 4;
    else
        return false;
    const uint8_t *sp = memchr(l + p, ' ', len - p);
    size_t hex = sp != NULL ? (size_t)(sp - (l + p)) : len - p;
    if (hex == 0 || hex % 2 != 0 || hex / 2 >= NMC_RESOURCE_NAME_MAX)
        return false;
    char name[NMC_RESOURCE_NAME_MAX];
    for (size_t i = 0; i < hex / 2; i++) {
        int hi = hexval(l[p + 2 * i]), lo = hexval(l[p + 2 * i + 1]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            return false;
        name[i] = (char)(hi << 4 | lo);
    }
    size_t n = hex / 2;
    name[n] = '\0';
    uint64_t dev = 0, ino = 0;
    size_t q = p + hex;
    if (sp != NULL && (!parse_id(l, len, &q, &dev) || !parse_id(l, len, &q, &ino) || q != len))
        return false;
    if (!(kind == 0 ? file_name_ok(name, n) : shm_name_ok(name, n)))
        return false;
    if (kind != 1 || strncmp(name, OWN_PREFIX, strlen(OWN_PREFIX)) != 0) {
        o->all_own = false;
        return true;
    }
    size_t i = 0;
    while (i < o->nown && strcmp(o->own[i].name, name) != 0)
        i++;
    if (i == MAX_OWN) {
        o->all_own = false;
        return true;
    }
    if (i == o->nown)
        memcpy(o->own[o->nown++].name, name, n + 1);
    o->own[i].last = (char)l[0];
    o->own[i].dev = dev;
    o->own[i].ino = ino;
    return true;
}

static void oracle_parse(const uint8_t *d, size_t size, struct oracle *o)
{
    o->ok = true;
    o->all_own = true;
    o->nown = 0;
    for (size_t pos = 0; pos < size;) {
        const uint8_t *nl = memchr(d + pos, '\n', size - pos);
        if (nl == NULL || (size_t)(nl - (d + pos)) > LINE_MAX_BYTES ||
            !parse_line(d + pos, (size_t)(nl - (d + pos)), o)) {
            o->ok = false;
            return;
        }
        pos = (size_t)(nl - d) + 1;
    }
}

static bool shm_exists(const char *name)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

static void write_all(int fd, const uint8_t *d, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, d, n);
        FUZZ_CHECK(w > 0 || (w < 0 && errno == EINTR));
        if (w > 0)
            d += w, n -= (size_t)w;
    }
}

/* The manifest's current content equals d[0 .. size). */
static bool content_is(int dirfd, const uint8_t *d, size_t size)
{
    int fd = openat(dirfd, "nmc.pmanage", O_RDONLY);
    if (fd < 0)
        return false;
    struct stat st;
    bool same = fstat(fd, &st) == 0 && (size_t)st.st_size == size;
    if (same && size > 0) {
        uint8_t *buf = malloc(size);
        same = buf != NULL && pread(fd, buf, size, 0) == (ssize_t)size &&
               memcmp(buf, d, size) == 0;
        free(buf);
    }
    close(fd);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *tmp = getenv("TEST_TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/nmcfzm.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(dirfd >= 0);
    int mfd = openat(dirfd, "nmc.pmanage", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FUZZ_CHECK(mfd >= 0);
    write_all(mfd, data, size);
    close(mfd);

    struct oracle o;
    oracle_parse(data, size, &o);

    /* The safe path: no_unlink, nothing may change. */
    int fd = -1;
    int st = core_manifest_recover(dirfd, true, &fd);
    FUZZ_CHECK(st == (o.ok ? NMC_OK : NMC_ECORRUPT));
    FUZZ_CHECK(o.ok ? fd >= 0 : fd == -1);
    if (fd >= 0)
        close(fd);
    FUZZ_CHECK(content_is(dirfd, data, size));

    /* The deleting path, only on this fuzzer's own shm objects. */
    if (o.ok && o.all_own) {
        bool leftover[MAX_OWN];
        for (size_t i = 0; i < o.nown; i++) {
            int sfd = shm_open(o.own[i].name, O_RDWR | O_CREAT, 0600);
            struct stat sst;
            FUZZ_CHECK(sfd >= 0 && fstat(sfd, &sst) == 0);
            close(sfd);
            leftover[i] = o.own[i].last == 'R' && o.own[i].dev == (uint64_t)sst.st_dev &&
                          o.own[i].ino == (uint64_t)sst.st_ino;
        }
        fd = -1;
        FUZZ_CHECK(core_manifest_recover(dirfd, false, &fd) == NMC_OK && fd >= 0);
        close(fd);
        FUZZ_CHECK(content_is(dirfd, NULL, 0));
        for (size_t i = 0; i < o.nown; i++) {
            bool exists = shm_exists(o.own[i].name);
            FUZZ_CHECK(exists == !leftover[i]);
            if (exists)
                shm_unlink(o.own[i].name);
        }
    }

    unlinkat(dirfd, "nmc.pmanage", 0);
    close(dirfd);
    FUZZ_CHECK(rmdir(dir) == 0);
    return 0;
}
