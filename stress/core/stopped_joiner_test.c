/* Honest workers under load while one of them is stopped in a join: the
 * master must keep serving the others and drop the stopped one.
 *
 * Each round is a run (its master in a child) whose first worker starts
 * CLIENTS workers that start and join echo workers with values of up to 2
 * MiB (large replies, sent a part at a time as each reader takes them),
 * and a joiner that is SIGSTOPped while an 8 MiB result is sent to it.
 * Every call of the clients must return within CALL_BOUND_S and with the
 * right value; the stopped joiner is dropped (its join gives
 * NMC_ENO_RESULT) and the result it did not receive is still there for the
 * first worker's join.
 *
 * Short form: one round. NMC_STRESS_SECONDS=N: rounds for N seconds. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/core.h"
#include "nmc_test.h"
#include "stress.h"

enum { CLIENTS = 8, CALLS = 20, STALL_MS = 500, BIG = 8 << 20 };
static const double CALL_BOUND_S = 2.0;

/* Shared by every process of a round (mapped before its master forks). */
struct round_page {
    pid_t victim;   /* the joiner to stop, once it runs       */
    int go;         /* the producer returns its result then   */
    int failed;     /* set by the first failure               */
    char why[256];  /* what it was                            */
};
static struct round_page *page;
static char dir[256];
static nmc_res_id echo_fork, echo_join, client_fork, client_join, victim_fork, victim_join;
static nmc_res_id producer_fork, producer_join, first_fork, first_join;

/* In any process of the round: keeps the first failure. */
static void failed(const char *why)
{
    if (__atomic_exchange_n(&page->failed, 1, __ATOMIC_ACQ_REL) == 0)
        snprintf(page->why, sizeof page->why, "%s", why);
}

static int echo(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    *result = arg;
    return NMC_OK;
}

/* CALLS echo round trips of strings of pseudo-random sizes up to 2 MiB. */
static int client(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    static char text[2 << 20];
    unsigned seed = (unsigned)nmc_long_val(arg);
    memset(text, 'c', sizeof text);
    for (int i = 0; i < CALLS; i++) {
        size_t len = (size_t)rand_r(&seed) % sizeof text;
        nmc_value s, back;
        nmc_process_id pid;
        double t0 = now_s();
        int st = nmc_alloc_string(arena, text, len, &s);
        if (st == NMC_OK)
            st = nmc_start(echo_fork, s, NULL, &pid);
        if (st == NMC_OK)
            st = nmc_join(echo_join, pid, arena, &back);
        if (st != NMC_OK || nmc_string_length(back) != len) {
            failed("wrong status: a client's echo failed or came back changed");
            break;
        }
        if (now_s() - t0 > CALL_BOUND_S) {
            failed("hang: a client's echo took longer than the bound");
            break;
        }
    }
    *result = NMC_VAL_UNIT;
    return NMC_OK;
}

static int producer(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    while (!__atomic_load_n(&page->go, __ATOMIC_ACQUIRE))
        usleep(1000);
    char *text = malloc(BIG);
    if (text == NULL)
        return NMC_ENOMEM;
    memset(text, 'p', BIG);
    int st = nmc_alloc_string(arena, text, BIG, result);
    free(text);
    return st;
}

static int victim(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    __atomic_store_n(&page->victim, getpid(), __ATOMIC_RELEASE);
    return nmc_join(producer_join, nmc_long_val(arg), arena, result);
}

/* The first worker: the clients, and the joiner stopped meanwhile. */
static int first(nmc_arena *arena, nmc_value arg, nmc_value *result)
{
    nmc_process_id clients[CLIENTS], prod, vict;
    nmc_value v;
    *result = NMC_VAL_UNIT;
    if (nmc_start(producer_fork, NMC_VAL_UNIT, NULL, &prod) != NMC_OK ||
        nmc_start(victim_fork, nmc_val_long(prod), NULL, &vict) != NMC_OK) {
        failed("wrong status: start failed");
        return NMC_OK;
    }
    for (int i = 0; i < CLIENTS; i++)
        if (nmc_start(client_fork, nmc_val_long(i + 1), NULL, &clients[i]) != NMC_OK) {
            failed("wrong status: a client's start failed");
            return NMC_OK;
        }
    while (__atomic_load_n(&page->victim, __ATOMIC_ACQUIRE) == 0)
        usleep(1000);
    usleep(100 * 1000); /* its join request is at the master now */
    kill(page->victim, SIGSTOP);
    __atomic_store_n(&page->go, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < CLIENTS; i++)
        if (nmc_join(client_join, clients[i], arena, &v) != NMC_OK)
            failed("wrong status: a client gave no result");
    if (nmc_join(victim_join, vict, arena, &v) != NMC_ENO_RESULT)
        failed("wrong status: the stopped joiner's join did not give NMC_ENO_RESULT");
    if (nmc_join(producer_join, prod, arena, &v) != NMC_OK || nmc_string_length(v) != BIG)
        failed("data loss: the result the stopped joiner did not receive is gone");
    return NMC_OK;
}

static int first_process(void *ctx, nmc_process_id *pid)
{
    return nmc_start(first_fork, NMC_VAL_UNIT, NULL, pid);
}

static void one_round(void *unused)
{
    memset(page, 0, sizeof *page);
    ck_assert_ok(nmc_def_process(echo, &echo_fork, &echo_join));
    ck_assert_ok(nmc_def_process(client, &client_fork, &client_join));
    ck_assert_ok(nmc_def_process(victim, &victim_fork, &victim_join));
    ck_assert_ok(nmc_def_process(producer, &producer_fork, &producer_join));
    ck_assert_ok(nmc_def_process(first, &first_fork, &first_join));
    pid_t master = fork();
    ck_assert_int_ge(master, 0);
    if (master == 0) {
        struct nmc_startup_options opt = {.socket_directory = dir, .stall_ms = STALL_MS};
        int st = nmc_startup(&opt, first_process, NULL);
        if (st != NMC_OK)
            failed("wrong status: startup failed");
        _exit(0);
    }
    int ws = 0;
    pid_t r = 0;
    for (double end = now_s() + 60; r == 0 && now_s() < end; usleep(10 * 1000))
        r = waitpid(master, &ws, WNOHANG);
    if (r == 0) {
        kill(master, SIGKILL); /* its workers follow */
        waitpid(master, &ws, 0);
    }
    ck_assert_msg(page->why[0] == '\0', "%s", page->why);
    ck_assert_msg(r != 0, "hang: a round did not end within 60 s");
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "crash: the master ended with %#x", ws);
    ck_assert_ok(nmc_destroy_resources());
}

START_TEST(stopped_joiner_under_load)
{
    snprintf(dir, sizeof dir, "%s/nmc-stopped-XXXXXX",
             getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    page = mmap(NULL, sizeof *page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(page != MAP_FAILED);
    int rounds = stress_repeat(one_round, NULL, 1.0);
    fprintf(stderr, "stopped_joiner_under_load: %d round(s)\n", rounds);
    munmap(page, sizeof *page);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("core_stopped_joiner");
    TCase *tc = tcase_create("stopped");
    tcase_set_timeout(tc, stress_timeout() + 60);
    tcase_add_test(tc, stopped_joiner_under_load);
    suite_add_tcase(s, tc);
    return s;
}
