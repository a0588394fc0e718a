/* Hostile scenarios for the process manager (nmc/core.h): a socket
 * directory that is not ours, with a planted manifest.
 *
 * One test case per scenario; the comment above each says what the honest
 * side must observe, and a failure message starts with its verdict (crash,
 * hang, leak, wrong status, data loss). Cases that need root (chown) are
 * registered only when running as root; otherwise the suite prints a SKIP
 * line for them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nmc/core.h"
#include "nmc_test.h"

static char dir[256];
static struct nmc_startup_options opt;
static nmc_res_id idle_fork, idle_join;

static int idle(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

static int first_idle(void *ctx, nmc_process_id *pid)
{
    return nmc_start(idle_fork, NMC_VAL_UNIT, NULL, pid);
}

static void setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/nmc-hostile-XXXXXX", tmp != NULL ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    opt = (struct nmc_startup_options){.socket_directory = dir};
    ck_assert_ok(nmc_def_process(idle, &idle_fork, &idle_join));
}

static void teardown(void)
{
    ck_assert_ok(nmc_destroy_resources());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- the socket directory -------------------------------------------------- */

/* What a planted manifest names: one shm object and one /tmp file of ours. */
struct planted {
    char shm[NMC_SHM_NAME_MAX];
    char file[64];
    char manifest[300];
    char text[1024]; /* the manifest's content as planted */
};

/* "R KIND <hex of name>\n" appended to out. */
static void append_line(char *out, size_t len, const char *kind, const char *name)
{
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, len - n, "R %s ", kind);
    for (const char *c = name; *c; c++)
        n += (size_t)snprintf(out + n, len - n, "%02x", (unsigned char)*c);
    snprintf(out + n, len - n, "\n");
}

/* Creates our objects and plants a manifest naming them in dir. */
static void plant(struct planted *p)
{
    int fd;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, p->shm));
    close(fd);
    snprintf(p->file, sizeof p->file, "/tmp/%s-XXXXXX", nmc_test_prefix());
    fd = mkstemp(p->file);
    ck_assert_int_ge(fd, 0);
    close(fd);
    p->text[0] = '\0';
    append_line(p->text, sizeof p->text, "SHM", p->shm);
    append_line(p->text, sizeof p->text, "FILE", p->file);
    snprintf(p->manifest, sizeof p->manifest, "%s/nmc.pmanage", dir);
    FILE *f = fopen(p->manifest, "w");
    ck_assert_ptr_nonnull(f);
    fputs(p->text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Whether path holds exactly text. */
static bool file_is(const char *path, const char *text)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

/* nmc_startup with stderr captured into log (a NUL-terminated string). */
static int startup_logged(char *log, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s.log", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    dup2(fd, 2);
    int st = nmc_startup(&opt, first_idle, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, log, len - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return st;
}

/* Startup in a directory that is not ours must leave everything as it was
 * and say why, naming the directory. */
static void expect_refused(struct planted *p)
{
    char log[1024];
    int st = startup_logged(log, sizeof log);
    int fd;
    bool shm_kept = nmc_sys_shm_open(p->shm, &fd) == NMC_OK;
    if (shm_kept) {
        close(fd);
        nmc_sys_shm_unlink(p->shm);
    }
    bool file_kept = access(p->file, F_OK) == 0;
    unlink(p->file);
    ck_assert_msg(shm_kept, "data loss: startup deleted our shm object %s", p->shm);
    ck_assert_msg(file_kept, "data loss: startup deleted our file %s", p->file);
    ck_assert_msg(file_is(p->manifest, p->text), "data loss: startup rewrote the planted manifest");
    ck_assert_msg(st == NMC_EPERM, "wrong status: startup gave %s", nmc_strerror(st));
    ck_assert_msg(strstr(log, dir) != NULL && strstr(log, "refused") != NULL,
                  "wrong status: the log does not name the directory: \"%s\"", log);
}

/* expect: NMC_EPERM from startup naming the path; our shm object and file kept, manifest untouched */
START_TEST(socket_dir_writable_by_others)
{
    struct planted p;
    plant(&p);
    ck_assert_int_eq(chmod(p.manifest, 0666), 0);
    ck_assert_int_eq(chmod(dir, 0777), 0);
    expect_refused(&p);
}
END_TEST

/* expect: NMC_EPERM from startup naming the path; our shm object and file kept, manifest untouched */
START_TEST(socket_dir_of_another_user)
{
    struct planted p;
    plant(&p);
    ck_assert_int_eq(chown(p.manifest, 65534, 65534), 0);
    ck_assert_int_eq(chown(dir, 65534, 65534), 0);
    expect_refused(&p);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("core_hostile");
    TCase *tc = tcase_create("core_hostile");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, socket_dir_writable_by_others);
    if (geteuid() == 0)
        tcase_add_test(tc, socket_dir_of_another_user);
    else
        printf("SKIP socket_dir_of_another_user: chown needs root\n");
    suite_add_tcase(s, tc);
    return s;
}
