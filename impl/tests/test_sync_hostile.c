/* Dead owners that a plain "does /proc/<tid> exist" test gets wrong: a
 * dead owner's pid handed to a new process, a process with no descriptor
 * left, and a /proc that cannot tell.
 *
 * The pid cases run in a new pid namespace with its own /proc (unshare,
 * then a fork: the child is its init), where writing ns_last_pid makes the
 * next fork get the dead owner's pid. That needs root; without it they
 * print a SKIP line and pass. Each case reports through the exit status of
 * a child, so nothing here blocks the runner: every wait has a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nmc/sync.h"
#include "nmc/sys.h"
#include "hostile.h"
#include "nmc_test.h"

struct shared {
    nmc_mutex m;
    int status; /* what the interesting call returned */
};

static struct shared *S;

static void setup(void)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
}

static void teardown(void)
{
    munmap(S, sizeof *S);
}

/* Forks a child that locks S->m and exits holding it; reaps it.
 * Returns its pid. */
static pid_t die_holding(void)
{
    pid_t owner = fork();
    if (owner == 0)
        _exit(nmc_mutex_lock(&S->m) == NMC_OK ? 0 : 1);
    int st;
    if (owner < 0 || waitpid(owner, &st, 0) != owner || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return owner;
}

/* The pid of a dead owner, reused by a process that sleeps a while. */
static int sleep_two_seconds(void)
{
    sleep(2);
    return 0;
}

/* The pid of a dead owner, reused by a process that then locks. */
static int relock_as_newcomer(void)
{
    S->status = nmc_mutex_trylock(&S->m);
    return 0;
}

static int locker_while_pid_reused(void)
{
    if (nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL) != NMC_OK)
        return HOSTILE_SETUP_FAILED;
    pid_t dead = die_holding();
    pid_t reuser = dead > 0 ? hostile_fork_with_pid(dead, sleep_two_seconds) : -1;
    if (reuser < 0)
        return HOSTILE_SETUP_FAILED;
    struct timespec d;
    nmc_deadline_in(1.0, &d);
    S->status = nmc_mutex_timedlock(&S->m, &d);
    kill(reuser, SIGKILL);
    waitpid(reuser, NULL, 0);
    return 0;
}

/* expect: a locker gets NMC_EOWNER_DEAD within a poll interval although the dead owner's pid now runs another process */
START_TEST(dead_owner_pid_reused_by_sleeper)
{
    int r = hostile_in_pid_namespace(locker_while_pid_reused, 20);
    if (hostile_skipped(r, "dead_owner_pid_reused_by_sleeper"))
        return;
    ck_assert_msg(r == 0, "crash: the namespace child ended with %d", r);
    ck_assert_msg(S->status == NMC_EOWNER_DEAD,
                  "hang: timedlock (1 s) gave %s while the dead owner's pid ran another process",
                  nmc_strerror(S->status));
}
END_TEST

static enum nmc_mutex_kind newcomer_kind;

static int newcomer_relocks(void)
{
    if (nmc_mutex_init(&S->m, newcomer_kind) != NMC_OK)
        return HOSTILE_SETUP_FAILED;
    S->status = NMC_OK - 1000;
    pid_t dead = die_holding();
    pid_t reuser = dead > 0 ? hostile_fork_with_pid(dead, relock_as_newcomer) : -1;
    if (reuser < 0)
        return HOSTILE_SETUP_FAILED;
    return hostile_wait(reuser, 5) == 0 ? 0 : HOSTILE_SETUP_FAILED;
}

/* expect: a new process with a dead owner's pid is not the owner: its trylock of a recursive, errorcheck or normal mutex takes it over with NMC_EOWNER_DEAD */
START_TEST(newcomer_with_dead_owners_pid)
{
    const enum nmc_mutex_kind kinds[] = {NMC_MUTEX_RECURSIVE, NMC_MUTEX_ERRORCHECK,
                                         NMC_MUTEX_NORMAL};
    newcomer_kind = kinds[_i];
    int r = hostile_in_pid_namespace(newcomer_relocks, 20);
    if (hostile_skipped(r, "newcomer_with_dead_owners_pid"))
        return;
    ck_assert_msg(r == 0, "crash: the namespace child ended with %d", r);
    ck_assert_msg(S->status == NMC_EOWNER_DEAD,
                  "wrong status: kind %d: the newcomer's trylock gave %s, expected %s",
                  (int)newcomer_kind, nmc_strerror(S->status), nmc_strerror(NMC_EOWNER_DEAD));
}
END_TEST

/* Uses up every descriptor of this process; returns how many it took. */
static int exhaust_descriptors(void)
{
    int n = 0;
    while (open("/dev/null", O_RDONLY) >= 0)
        n++;
    return errno == EMFILE ? n : -1;
}

/* expect: a locker with no descriptor left still finds the dead owner (NMC_EOWNER_DEAD), through the descriptor reserved for it */
START_TEST(dead_owner_seen_without_descriptors)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_int_gt(die_holding(), 0);
    pid_t locker = fork();
    ck_assert_int_ge(locker, 0);
    if (locker == 0) {
        struct rlimit lim = {64, 64};
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0 || exhaust_descriptors() < 0)
            _exit(HOSTILE_SETUP_FAILED);
        struct timespec d;
        nmc_deadline_in(1.0, &d);
        S->status = nmc_mutex_timedlock(&S->m, &d);
        _exit(0);
    }
    ck_assert_int_eq(hostile_wait(locker, 5), 0);
    ck_assert_msg(S->status == NMC_EOWNER_DEAD,
                  "hang: timedlock (1 s) without descriptors gave %s", nmc_strerror(S->status));
}
END_TEST

/* expect: a locker whose /proc cannot show the live owner gets NMC_ESYS after one poll interval, neither the lock nor a wait without end */
START_TEST(owner_liveness_unreadable)
{
    ck_assert_ok(nmc_mutex_init(&S->m, NMC_MUTEX_NORMAL));
    ck_assert_ok(nmc_mutex_lock(&S->m)); /* this process stays the live owner */
    pid_t locker = fork();
    ck_assert_int_ge(locker, 0);
    if (locker == 0) {
        /* An empty /proc, as hidepid shows another user's threads. */
        if (unshare(CLONE_NEWNS) != 0)
            _exit(errno == EPERM ? HOSTILE_SKIPPED : HOSTILE_SETUP_FAILED);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", "/proc", "tmpfs", 0, "size=64k") != 0)
            _exit(HOSTILE_SETUP_FAILED);
        struct timespec d;
        nmc_deadline_in(2.0, &d);
        S->status = nmc_mutex_timedlock(&S->m, &d);
        _exit(0);
    }
    int r = hostile_wait(locker, 5);
    int unlocked = nmc_mutex_unlock(&S->m);
    if (hostile_skipped(r, "owner_liveness_unreadable"))
        return;
    ck_assert_int_eq(r, 0);
    ck_assert_msg(S->status == NMC_ESYS,
                  "wrong status: with the owner alive and /proc empty, timedlock gave %s",
                  nmc_strerror(S->status));
    ck_assert_ok(unlocked);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("sync_hostile");
    TCase *tc = tcase_create("dead_owners");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dead_owner_pid_reused_by_sleeper);
    tcase_add_loop_test(tc, newcomer_with_dead_owners_pid, 0, 3);
    tcase_add_test(tc, dead_owner_seen_without_descriptors);
    tcase_add_test(tc, owner_liveness_unreadable);
    suite_add_tcase(s, tc);
    return s;
}
