/* Tests of camlboxes in one process (nmc/camlbox.h): creation, names and
 * sizes, every function's error statuses, messages of every kind read in
 * place, copied and checked, preferred slots, oversize messages, batches,
 * wake and cancel_wait, stale announcements, corrupt slots, format into an
 * fd. The multi-process tests are in test_camlbox_procs.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nmc/camlbox.h"
#include "nmc/mem.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "test_values.h"

static char box_name[NMC_SHM_NAME_MAX];

static const char *fresh_name(void)
{
    static int n;
    snprintf(box_name, sizeof box_name, "/%s_cb%ld_%d", nmc_test_prefix(), (long)getpid(), n++);
    return box_name;
}

/* A box of capacity x msg_size under a fresh name, with a sender. */
static nmc_camlbox *open_box(uint32_t capacity, size_t msg_size, nmc_camlbox_sender **s)
{
    nmc_camlbox *box;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), capacity, msg_size, &box));
    ck_assert_ok(nmc_camlbox_sender_open(box_name, s));
    return box;
}

static void close_box(nmc_camlbox *box, nmc_camlbox_sender *s)
{
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_sender_close(s));
    ck_assert_ok(nmc_camlbox_close(box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}

static uint32_t box_messages(const nmc_camlbox *box)
{
    uint32_t n;
    ck_assert_ok(nmc_camlbox_bmessages(box, &n));
    return n;
}

static void assert_iso(nmc_value a, nmc_value b)
{
    bool same;
    ck_assert_ok(nmc_isomorphic(a, b, &same));
    ck_assert(same);
}

/* Waits (at most 1 s) for exactly the slots in want, in any order. */
/* Waits until exactly the slots of want are reported: a wait may report
 * some of them, each at least one, none twice. */
static void expect_slots(nmc_camlbox *box, const uint32_t *want, size_t nwant)
{
    bool seen[64] = {false};
    for (size_t total = 0; total < nwant;) {
        uint32_t got[64];
        size_t n;
        struct timespec d;
        nmc_deadline_in(1.0, &d);
        ck_assert_ok(nmc_camlbox_timedwait(box, &d, got, 64, &n));
        ck_assert_uint_gt(n, 0);
        for (size_t j = 0; j < n; j++) {
            size_t i = 0;
            while (i < nwant && want[i] != got[j])
                i++;
            ck_assert_msg(i < nwant && !seen[i], "slot %u not expected", got[j]);
            seen[i] = true;
        }
        total += n;
    }
}

static void expect_nothing(nmc_camlbox *box)
{
    uint32_t got[4];
    size_t n = 99;
    struct timespec d;
    nmc_deadline_in(0.02, &d);
    ck_assert_status(nmc_camlbox_timedwait(box, &d, got, 4, &n), NMC_ETIMEDOUT);
    ck_assert_uint_eq(n, 0);
}

/* ---- names and sizes ------------------------------------------------------ */

START_TEST(create_sizes_and_names)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(100, 1000, &s);
    uint32_t cap, msgs;
    size_t size;
    ck_assert_ok(nmc_camlbox_capacity(box_name, &cap));
    ck_assert_uint_eq(cap, 100);
    ck_assert_ok(nmc_camlbox_msg_size(box_name, &size));
    ck_assert_uint_eq(size, 1000);
    ck_assert_ok(nmc_camlbox_messages(box_name, &msgs));
    ck_assert_uint_eq(msgs, 0);
    ck_assert_ok(nmc_camlbox_bcapacity(box, &cap));
    ck_assert_uint_eq(cap, 100);
    ck_assert_ok(nmc_camlbox_bmsg_size(box, &size));
    ck_assert_uint_eq(size, 1000);
    ck_assert_ok(nmc_camlbox_scapacity(s, &cap));
    ck_assert_uint_eq(cap, 100);
    ck_assert_ok(nmc_camlbox_smsg_size(s, &size));
    ck_assert_uint_eq(size, 1000);
    ck_assert_ok(nmc_camlbox_send(s, str("hello"), NMC_CAMLBOX_ANY_SLOT, NULL));
    ck_assert_ok(nmc_camlbox_smessages(s, &msgs));
    ck_assert_uint_eq(msgs, 1);
    ck_assert_ok(nmc_camlbox_messages(box_name, &msgs));
    ck_assert_uint_eq(msgs, 1);
    ck_assert_uint_eq(box_messages(box), 1);

    int fd;
    nmc_camlbox_sender *s2;
    ck_assert_ok(nmc_camlbox_fd(box_name, &fd));
    ck_assert_ok(nmc_camlbox_sender_of_fd(fd, &s2));
    close(fd);
    ck_assert_ok(nmc_camlbox_send(s2, str("second"), NMC_CAMLBOX_ANY_SLOT, NULL));
    ck_assert_ok(nmc_camlbox_sender_close(s2));
    ck_assert_uint_eq(box_messages(box), 2);
    close_box(box, s);
    ck_assert_status(nmc_camlbox_capacity(box_name, &cap), NMC_ENOT_FOUND);
}
END_TEST

START_TEST(format_into_fd)
{
    int fd;
    char name[NMC_SHM_NAME_MAX];
    nmc_camlbox *box;
    nmc_camlbox_sender *s;
    nmc_value v;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 1, &fd, name));
    ck_assert_ok(nmc_camlbox_format(fd, 3, 64, &box));
    ck_assert_ok(nmc_camlbox_sender_of_fd(fd, &s));
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(42), 2, NULL));
    expect_slots(box, (uint32_t[]){2}, 1);
    ck_assert_ok(nmc_camlbox_get(box, 2, &v));
    ck_assert_uint_eq(v, nmc_val_long(42));
    ck_assert_ok(nmc_camlbox_delete(box, 2));
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_sender_close(s));
    ck_assert_ok(nmc_camlbox_close(box));
    close(fd);
    ck_assert_ok(nmc_camlbox_unlink(name));
}
END_TEST

START_TEST(error_statuses)
{
    nmc_camlbox *box;
    nmc_camlbox_sender *s;
    uint32_t u, slots[4];
    size_t z, n;
    nmc_value v;
    int fd;

    /* create / format */
    ck_assert_status(nmc_camlbox_create(fresh_name(), 0, 64, &box), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_create(box_name, NMC_CAMLBOX_MAX_CAPACITY + 1, 64, &box),
                     NMC_EINVAL);
    ck_assert_status(nmc_camlbox_create(box_name, 1, NMC_CAMLBOX_MAX_MSG_SIZE + 1, &box),
                     NMC_EINVAL);
    ck_assert_status(nmc_camlbox_create("no-slash", 1, 64, &box), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_create(NULL, 1, 64, &box), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_create(box_name, 1, 64, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_format(-1, 1, 64, &box), NMC_EINVAL);
    ck_assert_int_eq(nmc_test_shm_count(nmc_test_prefix()), 0);
    ck_assert_ok(nmc_camlbox_create(box_name, 2, 64, &box));
    nmc_camlbox *again;
    ck_assert_status(nmc_camlbox_create(box_name, 2, 64, &again), NMC_ESYS);
    ck_assert_int_eq(errno, EEXIST);

    /* unknown and malformed objects */
    ck_assert_status(nmc_camlbox_sender_open("/nmc-no-such-box", &s), NMC_ENOT_FOUND);
    ck_assert_status(nmc_camlbox_fd("/nmc-no-such-box", &fd), NMC_ENOT_FOUND);
    ck_assert_status(nmc_camlbox_unlink("/nmc-no-such-box"), NMC_ENOT_FOUND);
    ck_assert_status(nmc_camlbox_messages("/nmc-no-such-box", &u), NMC_ENOT_FOUND);
    char other[NMC_SHM_NAME_MAX];
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), 4096, &fd, other));
    ck_assert_status(nmc_camlbox_sender_of_fd(fd, &s), NMC_ECORRUPT);
    ck_assert_status(nmc_camlbox_capacity(other, &u), NMC_ECORRUPT);
    ck_assert_ok(ftruncate(fd, 8) == 0 ? NMC_OK : NMC_ESYS);
    ck_assert_status(nmc_camlbox_sender_of_fd(fd, &s), NMC_ECORRUPT);
    close(fd);
    ck_assert_ok(nmc_sys_shm_unlink(other));
    ck_assert_status(nmc_camlbox_sender_of_fd(-1, &s), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_sender_open(box_name, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_sender_open(NULL, &s), NMC_EINVAL);

    /* NULL handles and out-parameters */
    ck_assert_ok(nmc_camlbox_sender_open(box_name, &s));
    ck_assert_status(nmc_camlbox_bcapacity(NULL, &u), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_bmsg_size(box, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_smessages(NULL, &u), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_msg_size(box_name, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_send(NULL, nmc_val_long(1), NMC_CAMLBOX_ANY_SLOT, NULL),
                     NMC_EINVAL);
    ck_assert_status(nmc_camlbox_send(s, nmc_val_long(1), 2, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_wake(NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_wait(NULL, slots, 4, &n), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_wait(box, NULL, 4, &n), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_wait(box, slots, 0, &n), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_wait(box, slots, 4, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_cancel_wait(NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_get(box, 2, &v), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_get(NULL, 0, &v), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_get_checked(box, 2, &v), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_get_copy(box, 0, NULL, &v), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_delete(box, 2), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_reclaim(NULL, NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_check(NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_close(NULL), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_sender_close(NULL), NMC_EINVAL);

    /* empty slots */
    ck_assert_status(nmc_camlbox_get(box, 0, &v), NMC_EEMPTY);
    ck_assert_status(nmc_camlbox_get_checked(box, 1, &v), NMC_EEMPTY);
    ck_assert_status(nmc_camlbox_get_copy(box, 1, arena, &v), NMC_EEMPTY);
    ck_assert_status(nmc_camlbox_delete(box, 0), NMC_EEMPTY);
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(5), 0, NULL));
    ck_assert_status(nmc_camlbox_get(box, 0, NULL), NMC_EINVAL);
    ck_assert_ok(nmc_camlbox_delete(box, 0));
    ck_assert_status(nmc_camlbox_delete(box, 0), NMC_EEMPTY);

    /* values the copier refuses: nothing sent, the slot is back */
    ck_assert_status(nmc_camlbox_send(s, tagged(NMC_TAG_CLOSURE, 1, (nmc_value[]){1}),
                                      NMC_CAMLBOX_ANY_SLOT, NULL),
                     NMC_EUNSUPPORTED);
    ck_assert_uint_eq(box_messages(box), 0);
    expect_nothing(box);
    ck_assert_ok(nmc_camlbox_msg_size(box_name, &z));
    close_box(box, s);
}
END_TEST

/* ---- security ------------------------------------------------------------------ */

/* In a child running as uid (and gid): opens a sender for name and, with
 * send, sends 7. Returns the first failing status (NMC_OK if none). */
static int open_as(uid_t uid, const char *name, bool send)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)
            _exit(100);
        nmc_camlbox_sender *s;
        int st = nmc_camlbox_sender_open(name, &s);
        if (st == NMC_OK) {
            if (send)
                st = nmc_camlbox_send(s, nmc_val_long(7), NMC_CAMLBOX_ANY_SLOT, NULL);
            nmc_camlbox_sender_close(s);
        }
        _exit(-st);
    }
    int ws;
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert(WIFEXITED(ws));
    ck_assert_int_ne(WEXITSTATUS(ws), 100);
    return -WEXITSTATUS(ws);
}

/* A box is created O_EXCL with mode 0600; a sender of another uid is
 * refused (NMC_EPERM) even where the mode lets it in, until the receiver
 * allows its uid; root is refused a box someone else owns, likewise. */
START_TEST(other_uid_sender_needs_allowance)
{
    nmc_camlbox *box;
    int fd;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 2, 64, &box));
    ck_assert_ok(nmc_camlbox_fd(box_name, &fd));
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    ck_assert_uint_eq(st.st_uid, geteuid());
    ck_assert_status(nmc_camlbox_allow_uid(NULL, 1), NMC_EINVAL);
    ck_assert_status(nmc_camlbox_allow_uid(box, (uid_t)-1), NMC_EINVAL);
    if (geteuid() != 0) {
        printf("other_uid_sender_needs_allowance: skipped the other-uid part (needs root)\n");
    } else {
        const uid_t nobody = 65534;
        /* Mode 0600: the other user cannot even open the object. */
        ck_assert_int_eq(open_as(nobody, box_name, false), NMC_ESYS);
        /* A wider mode lets it map the box; the owner check refuses it. */
        ck_assert_int_eq(fchmod(fd, 0666), 0);
        ck_assert_int_eq(open_as(nobody, box_name, true), NMC_EPERM);
        ck_assert_uint_eq(box_messages(box), 0);
        ck_assert_ok(nmc_camlbox_allow_uid(box, nobody));
        ck_assert_int_eq(open_as(nobody, box_name, true), NMC_OK);
        ck_assert_uint_eq(box_messages(box), 1);
        /* Root and a box owned by somebody else: refused until allowed. */
        ck_assert_int_eq(fchown(fd, nobody, nobody), 0);
        nmc_camlbox_sender *s;
        ck_assert_status(nmc_camlbox_sender_open(box_name, &s), NMC_EPERM);
        ck_assert_status(nmc_camlbox_sender_of_fd(fd, &s), NMC_EPERM);
        ck_assert_ok(nmc_camlbox_allow_uid(box, 0));
        ck_assert_ok(nmc_camlbox_sender_open(box_name, &s));
        ck_assert_ok(nmc_camlbox_sender_close(s));
    }
    close(fd);
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_close(box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}
END_TEST

/* ---- messages ---------------------------------------------------------------- */

START_TEST(messages_in_place_copied_and_checked)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(8, 4096, &s);
    nmc_value cyc = pair(nmc_val_long(1), NMC_VAL_UNIT);
    nmc_field(cyc, 1) = cyc;
    nmc_value i32, atom_pair;
    ck_assert_ok(nmc_alloc_int32(arena, -7, &i32));
    atom_pair = pair(nmc_atom(0), str(""));
    const double ds[3] = {1.5, -2.0, 1e300};
    nmc_value msgs[] = {
        str("0123456789abcdef0123456789abcdef"),
        tuple(0, 3, (nmc_value[]){nmc_val_long(7), str("seven"), dbl(7.5)}),
        nmc_val_long(-12),
        cyc,
        i32,
        atom_pair,
        darr(3, ds),
    };
    enum { N = sizeof msgs / sizeof msgs[0] };
    uint32_t used[N];
    for (uint32_t i = 0; i < N; i++)
        ck_assert_ok(nmc_camlbox_send(s, msgs[i], NMC_CAMLBOX_ANY_SLOT, &used[i]));
    ck_assert_uint_eq(box_messages(box), N);
    expect_slots(box, used, N);
    for (uint32_t i = 0; i < N; i++) {
        nmc_value in, checked, copy;
        ck_assert_ok(nmc_camlbox_get(box, used[i], &in));
        ck_assert_ok(nmc_camlbox_get_checked(box, used[i], &checked));
        ck_assert_uint_eq(in, checked);
        ck_assert_ok(nmc_camlbox_get_copy(box, used[i], arena, &copy));
        if (nmc_is_long(msgs[i])) {
            ck_assert_uint_eq(in, msgs[i]);
            continue;
        }
        assert_iso(msgs[i], in);
        assert_iso(msgs[i], copy);
        ck_assert_ptr_ne((void *)in, (void *)msgs[i]);
    }
    ck_assert_ok(nmc_camlbox_check(box));
    for (uint32_t i = 0; i < N; i++)
        ck_assert_ok(nmc_camlbox_delete(box, used[i]));
    ck_assert_uint_eq(box_messages(box), 0);
    expect_nothing(box);
    close_box(box, s);
}
END_TEST

START_TEST(preferred_slot)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(4, 64, &s);
    uint32_t slot;
    ck_assert_ok(nmc_camlbox_send(s, str("a"), 3, &slot));
    ck_assert_uint_eq(slot, 3);
    ck_assert_ok(nmc_camlbox_send(s, str("b"), 3, &slot)); /* taken: any other */
    ck_assert_uint_ne(slot, 3);
    uint32_t free_one = slot == 0 ? 1 : 0;
    ck_assert_ok(nmc_camlbox_send(s, str("c"), free_one, &slot));
    ck_assert_uint_eq(slot, free_one);
    close_box(box, s);
}
END_TEST

START_TEST(oversize_message_gives_slot_back)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(3, 64, &s);
    nmc_value big = str("this string needs more than sixty-four bytes of image: 72 at least");
    nmc_value neighbour = str("neighbour"), fits = str("0123456789abcdef0123456789abcdef");
    nmc_value v;
    ck_assert_ok(nmc_camlbox_send(s, neighbour, 1, NULL));
    for (int round = 0; round < 10; round++) /* the original leaked a slot each time */
        ck_assert_status(nmc_camlbox_send(s, big, 0, NULL), NMC_EMESSAGE_TOO_BIG);
    ck_assert_uint_eq(box_messages(box), 1);
    /* A list too long for the slot fails the same way, wherever it starts. */
    nmc_value list = NMC_VAL_UNIT;
    for (int i = 0; i < 100; i++)
        list = pair(nmc_val_long(i), list);
    ck_assert_status(nmc_camlbox_send(s, list, 2, NULL), NMC_EMESSAGE_TOO_BIG);
    ck_assert_ok(nmc_camlbox_send(s, fits, 0, NULL));
    ck_assert_ok(nmc_camlbox_send(s, fits, 2, NULL));
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_get_checked(box, 1, &v));
    assert_iso(neighbour, v);
    for (uint32_t i = 0; i < 3; i += 2) {
        ck_assert_ok(nmc_camlbox_get_checked(box, i, &v));
        assert_iso(fits, v);
    }
    close_box(box, s);
}
END_TEST

START_TEST(ring_order_and_messages_off_it)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(8, 32, &s);
    uint32_t slot;
    for (uint32_t i = 0; i < 3; i++) { /* senders fill the ring in order */
        ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(i), NMC_CAMLBOX_ANY_SLOT, &slot));
        ck_assert_uint_eq(slot, i);
    }
    expect_slots(box, (uint32_t[]){0, 1, 2}, 3);
    /* A failed send leaves a hole where the receiver's run stops; a
     * preferred slot lies off the ring order: both found by its scan. */
    nmc_value big = str("this string needs more than thirty-two bytes of image");
    ck_assert_status(nmc_camlbox_send(s, big, NMC_CAMLBOX_ANY_SLOT, NULL), NMC_EMESSAGE_TOO_BIG);
    uint32_t after_hole, preferred;
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(4), NMC_CAMLBOX_ANY_SLOT, &after_hole));
    ck_assert_uint_eq(after_hole, 4);
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(7), 7, &preferred));
    ck_assert_uint_eq(preferred, 7);
    expect_slots(box, (uint32_t[]){after_hole, preferred}, 2);
    expect_nothing(box);
    ck_assert_ok(nmc_camlbox_check(box));
    close_box(box, s);
}
END_TEST

START_TEST(batches_and_max)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(130, 32, &s);
    uint32_t got[130], seen[130] = {0};
    size_t n, total = 0;
    for (int i = 0; i < 130; i++)
        ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(i), NMC_CAMLBOX_ANY_SLOT, NULL));
    while (total < 130) {
        ck_assert_ok(nmc_camlbox_wait(box, got, 7, &n));
        ck_assert_uint_le(n, 7);
        ck_assert_uint_gt(n, 0);
        for (size_t i = 0; i < n; i++) {
            nmc_value v;
            ck_assert_ok(nmc_camlbox_get(box, got[i], &v));
            ck_assert(nmc_long_val(v) >= 0 && nmc_long_val(v) < 130);
            ck_assert_uint_eq(seen[nmc_long_val(v)]++, 0);
        }
        total += n;
    }
    expect_nothing(box);
    ck_assert_uint_eq(box_messages(box), 130);
    ck_assert_ok(nmc_camlbox_check(box));
    close_box(box, s);
}
END_TEST

START_TEST(deleted_before_wait_is_not_reported)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(2, 32, &s);
    uint32_t slot;
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(1), NMC_CAMLBOX_ANY_SLOT, &slot));
    ck_assert_ok(nmc_camlbox_delete(box, slot));
    expect_nothing(box);
    /* Refilled before the next wait: reported once. */
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(2), slot, NULL));
    ck_assert_ok(nmc_camlbox_delete(box, slot));
    ck_assert_ok(nmc_camlbox_send(s, nmc_val_long(3), slot, NULL));
    expect_slots(box, &slot, 1);
    expect_nothing(box);
    close_box(box, s);
}
END_TEST

START_TEST(wake_and_cancel_wait)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(2, 32, &s);
    uint32_t got[2];
    size_t n = 9;
    ck_assert_ok(nmc_camlbox_wake(s));
    ck_assert_ok(nmc_camlbox_wait(box, got, 2, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_ok(nmc_camlbox_cancel_wait(box));
    ck_assert_ok(nmc_camlbox_wait(box, got, 2, &n));
    ck_assert_uint_eq(n, 0);
    expect_nothing(box); /* each wake ends one wait */
    close_box(box, s);
}
END_TEST

START_TEST(corrupt_slot_fails_check)
{
    nmc_camlbox_sender *s;
    nmc_camlbox *box = open_box(1, 256, &s);
    nmc_value v;
    uint32_t slot;
    ck_assert_ok(nmc_camlbox_send(s, pair(str("x"), str("y")), NMC_CAMLBOX_ANY_SLOT, &slot));
    ck_assert_ok(nmc_camlbox_get_checked(box, slot, &v));
    /* A hostile sender rewrites the pair's second field to point outside. */
    nmc_field(v, 1) = (nmc_value)&v;
    ck_assert_status(nmc_camlbox_get_checked(box, slot, &v), NMC_ECORRUPT);
    ck_assert_ok(nmc_camlbox_get(box, slot, &v));
    ck_assert_ok(nmc_camlbox_delete(box, slot));
    close_box(box, s);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("camlbox");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, test_values_setup, test_values_teardown);
    tcase_add_test(tc, create_sizes_and_names);
    tcase_add_test(tc, format_into_fd);
    tcase_add_test(tc, error_statuses);
    tcase_add_test(tc, other_uid_sender_needs_allowance);
    tcase_add_test(tc, messages_in_place_copied_and_checked);
    tcase_add_test(tc, preferred_slot);
    tcase_add_test(tc, oversize_message_gives_slot_back);
    tcase_add_test(tc, ring_order_and_messages_off_it);
    tcase_add_test(tc, batches_and_max);
    tcase_add_test(tc, deleted_before_wait_is_not_reported);
    tcase_add_test(tc, wake_and_cancel_wait);
    tcase_add_test(tc, corrupt_slot_fails_check);
    suite_add_tcase(s, tc);
    return s;
}
