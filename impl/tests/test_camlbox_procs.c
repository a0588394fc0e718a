/* Tests of camlboxes across processes (nmc/camlbox.h): many forked senders
 * with every message checked, a sender that is a freshly executed program
 * (mapping the box at its own address), a full box blocking its senders and
 * releasing them, a sender killed in the middle of a send, a receiver that
 * died or closed the box, a wake from another process. */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "camlbox_test.h"
#include "nmc/camlbox.h"
#include "nmc/mem.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "shm_region.h"

extern char **environ;

static char box_name[NMC_SHM_NAME_MAX];

static const char *fresh_name(void)
{
    static int n;
    snprintf(box_name, sizeof box_name, "/%s_cbp%ld_%d", nmc_test_prefix(), (long)getpid(), n++);
    return box_name;
}

/* ---- messages: (sender, seq, "m<sender>.<seq>" padded, seq / 4.0) ------------ */

static int make_msg(nmc_arena *a, int sender, int seq, nmc_value *out)
{
    char text[40];
    snprintf(text, sizeof text, "m%d.%d-padding-to-thirty-bytes", sender, seq);
    nmc_value f[4] = {nmc_val_long(sender), nmc_val_long(seq)};
    int st = nmc_alloc_string(a, text, strlen(text), &f[2]);
    if (st == NMC_OK)
        st = nmc_alloc_double(a, seq / 4.0, &f[3]);
    return st != NMC_OK ? st : nmc_alloc_tuple(a, 0, 4, f, out);
}

/* Checks a received message against what its sender must have built. */
static void check_msg(nmc_value v, int *sender, int *seq)
{
    ck_assert(nmc_is_block(v) && nmc_tag_val(v) == 0 && nmc_wosize_val(v) == 4);
    *sender = (int)nmc_long_val(nmc_field(v, 0));
    *seq = (int)nmc_long_val(nmc_field(v, 1));
    nmc_arena *a;
    nmc_value want;
    bool same;
    ck_assert_ok(nmc_arena_create(&a));
    ck_assert_ok(make_msg(a, *sender, *seq, &want));
    ck_assert_ok(nmc_equal(v, want, &same));
    ck_assert_msg(same, "message %d.%d garbled", *sender, *seq);
    nmc_arena_destroy(a);
}

/* Sends count messages as sender id through the named box; the exit code
 * of a child. */
static int send_messages(const char *name, int id, int count)
{
    nmc_camlbox_sender *s;
    nmc_arena *a;
    if (nmc_camlbox_sender_open(name, &s) != NMC_OK || nmc_arena_create(&a) != NMC_OK)
        return 90;
    for (int i = 0; i < count; i++) {
        nmc_value v;
        if (make_msg(a, id, i, &v) != NMC_OK ||
            nmc_camlbox_send(s, v, NMC_CAMLBOX_ANY_SLOT, NULL) != NMC_OK)
            return 91;
    }
    nmc_arena_destroy(a);
    nmc_camlbox_sender_close(s);
    return 0;
}

/* Run as a separate program: the test binary re-executed with
 * NMC_CAMLBOX_SENDER="name id count" sends and exits before Check starts. */
__attribute__((constructor)) static void sender_program(void)
{
    const char *spec = getenv("NMC_CAMLBOX_SENDER");
    char name[NMC_SHM_NAME_MAX];
    int id, count;
    if (spec != NULL && sscanf(spec, "%95s %d %d", name, &id, &count) == 3)
        _exit(send_messages(name, id, count));
}

static pid_t spawn_program(int id, int count)
{
    char env[160];
    snprintf(env, sizeof env, "NMC_CAMLBOX_SENDER=%s %d %d", box_name, id, count);
    char *argv[] = {"camlbox_sender", NULL};
    char *envp[] = {env, NULL};
    pid_t pid;
    /* The path rather than /proc/self/exe itself: under valgrind that
     * names the tool, while readlink gives the program (valgrind fakes it). */
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(len, 0);
    exe[len] = '\0';
    ck_assert_int_eq(posix_spawn(&pid, exe, NULL, NULL, argv, envp), 0);
    return pid;
}

static pid_t fork_sender(int id, int count)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(send_messages(box_name, id, count));
    return pid;
}

/* Receives senders x count messages, checking each and that each arrives
 * once. */
static void receive_all(nmc_camlbox *box, int senders, int count)
{
    char *seen = calloc((size_t)senders * count, 1);
    uint32_t slots[64];
    int total = 0;
    while (total < senders * count) {
        size_t n;
        struct timespec d;
        nmc_deadline_in(10.0, &d);
        ck_assert_ok(nmc_camlbox_timedwait(box, &d, slots, 64, &n));
        for (size_t i = 0; i < n; i++) {
            nmc_value v;
            int sender, seq;
            ck_assert_ok(nmc_camlbox_get(box, slots[i], &v));
            check_msg(v, &sender, &seq);
            ck_assert(sender >= 0 && sender < senders && seq >= 0 && seq < count);
            ck_assert_msg(seen[sender * count + seq]++ == 0, "%d.%d twice", sender, seq);
            ck_assert_ok(nmc_camlbox_delete(box, slots[i]));
            total++;
        }
    }
    free(seen);
    ck_assert_ok(nmc_camlbox_check(box));
}

static void finish(nmc_camlbox *box)
{
    uint32_t msgs;
    ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
    ck_assert_uint_eq(msgs, 0);
    ck_assert_ok(nmc_camlbox_close(box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(many_senders_every_message_checked)
{
    enum { SENDERS = 6, COUNT = 3000 };
    nmc_camlbox *box;
    pid_t pid[SENDERS];
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 16, 128, &box));
    for (int i = 0; i < SENDERS; i++)
        pid[i] = fork_sender(i, COUNT);
    receive_all(box, SENDERS, COUNT);
    for (int i = 0; i < SENDERS; i++)
        test_reap_ok(pid[i]);
    finish(box);
}
END_TEST

START_TEST(unrelated_sender_programs)
{
    enum { SENDERS = 3, COUNT = 2000 };
    nmc_camlbox *box;
    pid_t pid[SENDERS];
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 8, 128, &box));
    for (int i = 0; i < SENDERS; i++)
        pid[i] = i == 0 ? fork_sender(i, COUNT) : spawn_program(i, COUNT);
    receive_all(box, SENDERS, COUNT);
    for (int i = 0; i < SENDERS; i++)
        test_reap_ok(pid[i]);
    finish(box);
}
END_TEST

START_TEST(full_box_blocks_senders_and_releases_them)
{
    enum { COUNT = 40 };
    nmc_camlbox *box;
    uint32_t msgs;
    int st;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 2, 128, &box));
    pid_t a = fork_sender(0, COUNT), b = fork_sender(1, COUNT);
    for (int i = 0; i < 2000; i++) {
        ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
        if (msgs == 2)
            break;
        usleep(1000);
    }
    usleep(50000);
    ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
    ck_assert_uint_eq(msgs, 2);
    ck_assert_int_eq(waitpid(a, &st, WNOHANG), 0); /* both still blocked */
    ck_assert_int_eq(waitpid(b, &st, WNOHANG), 0);
    receive_all(box, 2, COUNT);
    test_reap_ok(a);
    test_reap_ok(b);
    finish(box);
}
END_TEST

static pid_t kill_mid_send(nmc_camlbox *box)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        camlbox_test_park_in_send(box_name);
    uint32_t msgs = 0;
    for (int i = 0; i < 3000 && msgs == 0; i++) {
        usleep(1000);
        ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
    }
    ck_assert_uint_eq(msgs, 1); /* the slot is reserved, the copy stuck */
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    return pid;
}

START_TEST(sender_killed_mid_send_is_reclaimed)
{
    nmc_camlbox *box;
    nmc_camlbox_sender *s;
    uint32_t freed, msgs, slot;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 1, 1024, &box));
    ck_assert_ok(nmc_camlbox_sender_open(box_name, &s));

    /* Explicitly, by the receiver. */
    pid_t pid = kill_mid_send(box);
    test_reap_killed(pid);
    ck_assert_ok(nmc_camlbox_reclaim(box, &freed));
    ck_assert_uint_eq(freed, 1);
    ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
    ck_assert_uint_eq(msgs, 0);
    ck_assert_ok(nmc_camlbox_check(box));

    /* By a sender blocked on the full box, the dead one not yet reaped. */
    pid = kill_mid_send(box);
    struct timespec d;
    nmc_deadline_in(5.0, &d);
    ck_assert_ok(nmc_camlbox_timedsend(s, nmc_val_long(7), NMC_CAMLBOX_ANY_SLOT, &d, &slot));
    test_reap_killed(pid);
    nmc_value v;
    ck_assert_ok(nmc_camlbox_get(box, slot, &v));
    ck_assert_uint_eq(v, nmc_val_long(7));
    ck_assert_ok(nmc_camlbox_delete(box, slot));
    ck_assert_ok(nmc_camlbox_sender_close(s));
    finish(box);
}
END_TEST

START_TEST(dead_receiver_is_detected)
{
    nmc_camlbox_sender *s;
    struct timespec d, t0, t1;
    fresh_name();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nmc_camlbox *box;
        _exit(nmc_camlbox_create(box_name, 1, 64, &box) == NMC_OK ? 0 : 90);
    }
    test_reap_ok(pid);
    ck_assert_ok(nmc_camlbox_sender_open(box_name, &s));
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(1), NMC_CAMLBOX_ANY_SLOT, NULL));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nmc_deadline_in(10.0, &d);
    ck_assert_status(nmc_camlbox_timedsend(s, nmc_val_long(2), NMC_CAMLBOX_ANY_SLOT, &d, NULL),
                     NMC_EOWNER_DEAD);
    ck_assert_status(nmc_camlbox_send(s, nmc_val_long(2), NMC_CAMLBOX_ANY_SLOT, NULL),
                     NMC_EOWNER_DEAD);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
    ck_assert_ok(nmc_camlbox_sender_close(s));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}
END_TEST

START_TEST(closed_box_releases_blocked_sender)
{
    nmc_camlbox *box;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 1, 64, &box));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nmc_camlbox_sender *s;
        struct timespec d;
        nmc_deadline_in(10.0, &d);
        if (nmc_camlbox_sender_open(box_name, &s) != NMC_OK ||
            nmc_camlbox_send(s, nmc_val_long(1), NMC_CAMLBOX_ANY_SLOT, NULL) != NMC_OK)
            _exit(90);
        _exit(nmc_camlbox_timedsend(s, nmc_val_long(2), NMC_CAMLBOX_ANY_SLOT, &d, NULL) ==
                      NMC_EOWNER_DEAD
                  ? 0
                  : 91);
    }
    uint32_t slots[1];
    size_t n;
    ck_assert_ok(nmc_camlbox_wait(box, slots, 1, &n));
    ck_assert_uint_eq(n, 1);
    usleep(20000); /* let the child block */
    ck_assert_ok(nmc_camlbox_close(box));
    test_reap_ok(pid);
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}
END_TEST

START_TEST(wake_from_another_process)
{
    nmc_camlbox *box;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 1, 64, &box));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        nmc_camlbox_sender *s;
        usleep(50000);
        _exit(nmc_camlbox_sender_open(box_name, &s) == NMC_OK && nmc_camlbox_wake(s) == NMC_OK
                  ? 0
                  : 90);
    }
    uint32_t slots[1];
    size_t n = 9;
    ck_assert_ok(nmc_camlbox_wait(box, slots, 1, &n));
    ck_assert_uint_eq(n, 0);
    test_reap_ok(pid);
    finish(box);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("camlbox_procs");
    TCase *tc = tcase_create("procs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, many_senders_every_message_checked);
    tcase_add_test(tc, unrelated_sender_programs);
    tcase_add_test(tc, full_box_blocks_senders_and_releases_them);
    tcase_add_test(tc, sender_killed_mid_send_is_reclaimed);
    tcase_add_test(tc, dead_receiver_is_detected);
    tcase_add_test(tc, closed_box_releases_blocked_sender);
    tcase_add_test(tc, wake_from_another_process);
    suite_add_tcase(s, tc);
    return s;
}
