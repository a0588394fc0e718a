/* The master SIGKILLed in the middle of a run: its workers die with it, and
 * the next startup in the same socket directory deletes what the run left
 * (a preallocated shm object, a memory pool, a managed file), leaving
 * /dev/shm and the directory clean.
 *
 * Short form: one crash. NMC_STRESS_SECONDS=N: crashes for N seconds. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/core.h"
#include "nmc_test.h"
#include "stress.h"

/* What the doomed run tells the test, through a pipe. */
struct leftovers {
    pid_t worker;
    char shm[NMC_SHM_NAME_MAX];
    char pool[NMC_SHM_NAME_MAX];
    char file[NMC_RESOURCE_NAME_MAX];
};

static char dir[256];
static int report_fd = -1;
static nmc_res_id doomed_fork, doomed_join, idle_fork, idle_join;

/* Creates one object of each kind, reports them, and waits to be killed. */
static int doomed(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    struct leftovers l = {.worker = getpid()};
    struct nmc_resource pool;
    nmc_res_id id;
    int fd;
    snprintf(l.file, sizeof l.file, "%s/managed", dir);
    if (nmc_create_preallocated_shm(nmc_test_prefix(), 65536, &id, l.shm) != NMC_OK ||
        nmc_create_mempool(1 << 20, true, &id) != NMC_OK || nmc_get_resource(id, &pool) != NMC_OK)
        return NMC_EINVAL;
    strcpy(l.pool, pool.name);
    if ((fd = open(l.file, O_CREAT | O_EXCL | O_WRONLY, 0600)) < 0)
        return NMC_ESYS;
    close(fd);
    if (nmc_manage_file(l.file, &id) != NMC_OK)
        return NMC_EINVAL;
    if (write(report_fd, &l, sizeof l) != (ssize_t)sizeof l)
        return NMC_ESYS;
    pause();
    return NMC_OK;
}

static int first_doomed(void *ctx, nmc_process_id *pid)
{
    return nmc_start(doomed_fork, NMC_VAL_UNIT, NULL, pid);
}

static int idle(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

static int first_idle(void *ctx, nmc_process_id *pid)
{
    return nmc_start(idle_fork, NMC_VAL_UNIT, NULL, pid);
}

static bool shm_exists(const char *name)
{
    char path[NMC_SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return access(path, F_OK) == 0;
}

/* Files in dir other than the (empty) manifest. */
static int stray_files(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "nmc.pmanage"))
            n++;
    closedir(d);
    return n;
}

static void crash_and_recover(void *unused)
{
    int fds[2];
    /* Defined afresh each round: nmc_destroy_resources drops them. */
    ck_assert_ok(nmc_def_process(doomed, &doomed_fork, &doomed_join));
    ck_assert_ok(nmc_def_process(idle, &idle_fork, &idle_join));
    ck_assert_int_eq(pipe(fds), 0);
    pid_t master = fork();
    ck_assert_int_ge(master, 0);
    if (master == 0) {
        close(fds[0]);
        report_fd = fds[1];
        struct nmc_startup_options opt = {.socket_directory = dir};
        int st = nmc_startup(&opt, first_doomed, NULL);
        fprintf(stderr, "the doomed run ended: %s\n", nmc_strerror(st));
        _exit(1); /* never reached: killed while the first worker waits */
    }
    close(fds[1]);
    struct leftovers l;
    ck_assert_int_eq(read(fds[0], &l, sizeof l), (ssize_t)sizeof l);
    close(fds[0]);
    ck_assert(shm_exists(l.shm) && shm_exists(l.pool) && access(l.file, F_OK) == 0);
    kill(master, SIGKILL);
    int status;
    ck_assert_int_eq(waitpid(master, &status, 0), master);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* The worker follows its master (within a second). */
    for (int i = 0; i < 1000 && stress_running(l.worker); i++)
        usleep(1000);
    ck_assert_msg(!stress_running(l.worker), "worker %d outlived its master", (int)l.worker);
    ck_assert(shm_exists(l.shm) && shm_exists(l.pool)); /* the crash left them */

    struct nmc_startup_options opt = {.socket_directory = dir};
    ck_assert_ok(nmc_startup(&opt, first_idle, NULL));
    ck_assert_ok(nmc_destroy_resources());
    ck_assert(!shm_exists(l.shm));
    ck_assert(!shm_exists(l.pool));
    ck_assert_int_ne(access(l.file, F_OK), 0);
    ck_assert_int_eq(stray_files(), 0);
}

START_TEST(master_killed_mid_run)
{
    snprintf(dir, sizeof dir, "%s/nmc-crash-XXXXXX",
             getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int rounds = stress_repeat(crash_and_recover, NULL, 1.0);
    fprintf(stderr, "master_killed_mid_run: %d crash(es) recovered\n", rounds);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("core_master_crash");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, master_killed_mid_run);
    suite_add_tcase(s, tc);
    return s;
}
