/* Camlboxes under senders that misbehave or die: a second process that
 * rewrites the shared header or a published slot, senders killed between
 * reserve and publish (also when their pid runs another process by then),
 * and a receiver whose pid was reused.
 *
 * The hostile part runs in a child that maps the box by name and writes
 * its layout (camlbox_internal.h) directly. The pid cases need a pid
 * namespace (root); without it they print SKIP and pass.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "camlbox_internal.h"
#include "camlbox_test.h"
#include "hostile.h"
#include "nmc/camlbox.h"
#include "nmc_test.h"
#include "shm_region.h"
#include "test_values.h"

static char box_name[NMC_SHM_NAME_MAX];

static const char *fresh_name(void)
{
    static int n;
    snprintf(box_name, sizeof box_name, "/%s_cbh%ld_%d", nmc_test_prefix(), (long)getpid(), n++);
    return box_name;
}

/* The box of a test and an honest sender on it. */
static nmc_camlbox *rx;
static nmc_camlbox_sender *tx;

static void box_open(uint32_t capacity, size_t msg_size)
{
    ck_assert_ok(nmc_camlbox_create(fresh_name(), capacity, msg_size, &rx));
    ck_assert_ok(nmc_camlbox_sender_open(box_name, &tx));
}

static void box_close(void)
{
    ck_assert_ok(nmc_camlbox_sender_close(tx));
    ck_assert_ok(nmc_camlbox_close(rx));
}

/* Shared with the children: a flag that stops them. */
static uint32_t *stop;

static void setup(void)
{
    test_values_setup();
    stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(stop, MAP_FAILED);
}

static void teardown(void)
{
    munmap(stop, 4096);
    nmc_camlbox_unlink(box_name);
    test_values_teardown();
}

/* In a child: the named box, mapped at an address of its own. */
static unsigned char *map_box(size_t *size)
{
    int fd = shm_open(box_name, O_RDWR, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        _exit(HOSTILE_SETUP_FAILED);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        _exit(HOSTILE_SETUP_FAILED);
    *size = (size_t)st.st_size;
    return p;
}

static struct camlbox_slot *slot_at(unsigned char *base, uint32_t i)
{
    const struct camlbox_header *h = base;
    return (struct camlbox_slot *)(base + h->slots_off + (size_t)i * h->slot_size);
}

/* Runs fn(base) in a child on its own mapping of the box; reaps it. */
static void in_child(void (*fn)(unsigned char *base, size_t size))
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        size_t size;
        unsigned char *base = map_box(&size);
        fn(base, size);
        _exit(0);
    }
    ck_assert_int_eq(hostile_wait(pid, 10), 0);
}

/* A header that describes a box of 2^20 slots of 64 KiB: consistent in
 * itself, far larger than the object. */
static void grow_header(unsigned char *base, size_t size)
{
    (void)size;
    struct camlbox_header *h = (struct camlbox_header *)base;
    h->capacity = 1u << 20;
    h->msg_size = 1u << 16;
    h->slot_size = SLOT_HEADER + (1u << 16);
    h->size = h->slots_off + ((uint64_t)1 << 20) * h->slot_size;
}

static nmc_value string_of(size_t len)
{
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    memset(text, 'x', len);
    nmc_value v;
    ck_assert_ok(nmc_alloc_string(arena, text, len, &v));
    free(text);
    return v;
}

/* expect: a receiver whose box header another process rewrote (2^20 slots of 64 KiB) keeps to its own geometry: waits, gets and deletes work, check says NMC_ECORRUPT, no signal */
START_TEST(header_rewritten_under_receiver)
{
    box_open(4, 256);
    in_child(grow_header);
    ck_assert_ok(nmc_camlbox_send(tx, string_of(32), NMC_CAMLBOX_ANY_SLOT, NULL));
    uint32_t slots[8];
    size_t n = 0;
    struct timespec now;
    nmc_deadline_in(0, &now);
    int st = nmc_camlbox_timedwait(rx, &now, slots, 8, &n);
    ck_assert_msg(st == NMC_OK && n == 1, "wrong status: wait gave %s with %zu slots",
                  nmc_strerror(st), n);
    nmc_value v;
    ck_assert_ok(nmc_camlbox_get_checked(rx, slots[0], &v));
    ck_assert_ok(nmc_camlbox_delete(rx, slots[0]));
    uint32_t capacity, messages;
    ck_assert_ok(nmc_camlbox_bcapacity(rx, &capacity));
    ck_assert_ok(nmc_camlbox_bmessages(rx, &messages));
    ck_assert_msg(capacity == 4 && messages == 0,
                  "wrong status: capacity %u, messages %u after the rewrite", capacity, messages);
    ck_assert_status(nmc_camlbox_check(rx), NMC_ECORRUPT);
    nmc_camlbox_sender *late;
    ck_assert_status(nmc_camlbox_sender_open(box_name, &late), NMC_ECORRUPT);
    box_close();
}
END_TEST

/* expect: an honest sender that opened the box before another process rewrote its msg_size (256 -> 64 KiB) refuses a 1 KiB message with NMC_EMESSAGE_TOO_BIG and writes nothing outside its slot */
START_TEST(header_rewritten_under_sender)
{
    box_open(4, 256);
    in_child(grow_header);
    int st = nmc_camlbox_send(tx, string_of(1024), 0, NULL);
    ck_assert_msg(st == NMC_EMESSAGE_TOO_BIG,
                  "wrong status: a 1 KiB message into 256-byte slots gave %s", nmc_strerror(st));
    /* The slot after it still holds the freed-slot fill (debug builds). */
    const unsigned char *next = camlbox_image(&rx->v, 1);
    for (size_t i = 0; i < 256; i++)
        ck_assert_msg(next[i] == 0x55, "data loss: byte %zu of slot 1 written", i);
    ck_assert_status(nmc_camlbox_check(rx), NMC_ECORRUPT);
    box_close();
}
END_TEST

/* The slot a flipper child rewrites, and its honest words. */
static uint32_t flip_slot;
static uint64_t honest_state, honest_root;

/* Alternates the published slot's root and length between the honest
 * ones and wild ones (a root 2^40 bytes on, a length past the slot). */
static void flip_root(unsigned char *base, size_t size)
{
    (void)size;
    struct camlbox_slot *sl = slot_at(base, flip_slot);
    for (uint64_t k = 0; !__atomic_load_n(stop, __ATOMIC_RELAXED); k++) {
        __atomic_store_n(&sl->root, k % 2 ? honest_root + ((uint64_t)1 << 40) : honest_root,
                         __ATOMIC_RELAXED);
        __atomic_store_n(&sl->state, k % 3 ? honest_state : SLOT_READY_WITH(1u << 20),
                         __ATOMIC_RELAXED);
    }
    __atomic_store_n(&sl->root, honest_root, __ATOMIC_RELAXED);
    __atomic_store_n(&sl->state, honest_state, __ATOMIC_RELAXED);
}

static pid_t start_child(void (*fn)(unsigned char *base, size_t size))
{
    *stop = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        size_t size;
        unsigned char *base = map_box(&size);
        fn(base, size);
        _exit(0);
    }
    return pid;
}

static void stop_child(pid_t pid)
{
    __atomic_store_n(stop, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(hostile_wait(pid, 10), 0);
}

/* A (int, string, float) message sent into slot 0. */
static void send_tuple(nmc_camlbox_sender *s)
{
    nmc_value f[3] = {nmc_val_long(7), string_of(40), dbl(2.5)};
    ck_assert_ok(nmc_camlbox_send(s, tuple(0, 3, f), 0, NULL));
}

/* expect: while a sender flips a published slot's root and length words, get and get_checked return NMC_ECORRUPT or a value inside the slot, never a pointer outside it */
START_TEST(get_checked_root_flipped)
{
    box_open(2, 256);
    send_tuple(tx);
    flip_slot = 0;
    honest_state = camlbox_slot(&rx->v, 0)->state;
    honest_root = camlbox_slot(&rx->v, 0)->root;
    pid_t flipper = start_child(flip_root);
    const unsigned char *lo = camlbox_image(&rx->v, 0), *hi = lo + 256;
    unsigned outside = 0, corrupt = 0, ok = 0;
    for (int i = 0; i < 200000; i++) {
        nmc_value v;
        int st = i % 2 ? nmc_camlbox_get_checked(rx, 0, &v) : nmc_camlbox_get(rx, 0, &v);
        if (st == NMC_ECORRUPT) {
            corrupt++;
            continue;
        }
        ck_assert_msg(st == NMC_OK, "wrong status: %s", nmc_strerror(st));
        ok++;
        outside += (const unsigned char *)v < lo || (const unsigned char *)v >= hi;
    }
    stop_child(flipper);
    ck_assert_msg(outside == 0, "wrong status: %u of %u gets returned a root outside the slot",
                  outside, ok);
    printf("get_checked_root_flipped: %u in the slot, %u NMC_ECORRUPT\n", ok, corrupt);
    box_close();
}
END_TEST

static void pause_a_while(void)
{
    for (int k = 0; k < 300; k++)
        nmc_cpu_relax();
}

/* Writes a random word into the published image (12 words: header and
 * fields of the tuple, the string, the float) and puts the right one
 * back, by turns. */
static void scribble_image(unsigned char *base, size_t size)
{
    (void)size;
    uint64_t *img = (uint64_t *)((unsigned char *)slot_at(base, flip_slot) + SLOT_HEADER);
    uint64_t x = 88172645463325252u;
    while (!__atomic_load_n(stop, __ATOMIC_RELAXED)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t *w = &img[x % 12], right = __atomic_load_n(w, __ATOMIC_RELAXED);
        __atomic_store_n(w, x, __ATOMIC_RELAXED);
        pause_a_while();
        __atomic_store_n(w, right, __ATOMIC_RELAXED);
        pause_a_while();
    }
}

/* expect: while a sender scribbles over a published image, get_verified returns NMC_ECORRUPT or a private value that the sender's writes no longer change */
START_TEST(get_verified_under_scribbler)
{
    box_open(2, 256);
    send_tuple(tx);
    flip_slot = 0;
    honest_root = camlbox_slot(&rx->v, 0)->root;
    pid_t scribbler = start_child(scribble_image);
    unsigned ok = 0, corrupt = 0, changed = 0;
    for (int i = 0; i < 20000; i++) {
        nmc_arena *a;
        ck_assert_ok(nmc_arena_create(&a));
        nmc_value v, copy;
        int st = nmc_camlbox_get_verified(rx, 0, a, &v);
        if (st == NMC_OK) {
            ok++;
            ck_assert_ok(nmc_copy_value(a, NMC_COPY_ATOM, v, &copy));
            usleep(i % 100 == 0 ? 1000 : 0);
            bool same;
            ck_assert_ok(nmc_equal(v, copy, &same));
            changed += !same;
        } else {
            ck_assert_msg(st == NMC_ECORRUPT, "wrong status: %s", nmc_strerror(st));
            corrupt++;
        }
        nmc_arena_destroy(a);
    }
    stop_child(scribbler);
    ck_assert_msg(changed == 0, "data loss: %u verified values changed after they were returned",
                  changed);
    printf("get_verified_under_scribbler: %u verified, %u NMC_ECORRUPT\n", ok, corrupt);
    box_close();
}
END_TEST

/* ---- a box cut short by another process -------------------------------------- */

static off_t cut_at;

/* Truncates the box to cut_at bytes (a sender may: it opened the object
 * read-write). */
static void cut_box(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = shm_open(box_name, O_RDWR, 0);
        _exit(fd >= 0 && ftruncate(fd, cut_at) == 0 ? 0 : HOSTILE_SETUP_FAILED);
    }
    ck_assert_int_eq(hostile_wait(pid, 5), 0);
}

/* A receiver in a child: an untimed wait on the box, which must end. */
static pid_t wait_in_child(nmc_camlbox *box)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint32_t slots[8];
        size_t n = 0;
        int st;
        while ((st = nmc_camlbox_wait(box, slots, 8, &n)) == NMC_OK && n > 0)
            for (size_t k = 0; k < n; k++)
                nmc_camlbox_delete(box, slots[k]);
        _exit(st == NMC_ECORRUPT ? 0 : 1);
    }
    return pid;
}

/* expect: once another process cuts the box (to 0, after its header, in the middle of its slots), every call of the receiver and of an honest sender that meets the cut says NMC_ECORRUPT, a receiver blocked in an untimed wait returns NMC_ECORRUPT, no SIGBUS */
START_TEST(box_cut_under_receiver_and_sender)
{
    box_open(8, 4096);
    const off_t cuts[] = {0, 4096, (off_t)(rx->v.size / 2)};
    cut_at = cuts[_i];
    ck_assert_ok(nmc_camlbox_send(tx, string_of(100), 7, NULL)); /* the last slot */
    pid_t waiter = wait_in_child(rx);
    usleep(50000);
    cut_box();
    int r = hostile_wait(waiter, 5);
    ck_assert_msg(r != HOSTILE_HUNG, "hang: an untimed wait went on after the cut");
    ck_assert_msg(r == 0, "%s: the waiting receiver ended with %d",
                  r >= 128 ? "crash" : "wrong status", r);
    nmc_value v;
    struct timespec d;
    nmc_deadline_in(0.2, &d);
    uint32_t slots[8], msgs;
    size_t n;
    /* Slot 7 lies beyond every cut; the wait scans every slot. */
    int st[] = {
        nmc_camlbox_get_verified(rx, 7, arena, &v),
        nmc_camlbox_timedwait(rx, &d, slots, 8, &n),
        nmc_camlbox_check(rx),
        nmc_camlbox_bmessages(rx, &msgs),
        nmc_camlbox_timedsend(tx, string_of(100), 7, &d, NULL),
        nmc_camlbox_smessages(tx, &msgs),
    };
    for (size_t k = 0; k < sizeof st / sizeof st[0]; k++)
        ck_assert_msg(st[k] == NMC_ECORRUPT, "wrong status: call %zu after a cut at %ld gave %s",
                      k, (long)cut_at, nmc_strerror(st[k]));
    nmc_camlbox_sender *late;
    ck_assert_status(nmc_camlbox_sender_open(box_name, &late), NMC_ECORRUPT);
    box_close();
}
END_TEST

/* ---- senders killed between reserve and publish ----------------------------- */

/* Leaves one slot of box RESERVED by a sender that was killed and reaped;
 * returns that sender's pid. */
static pid_t dead_reservation(nmc_camlbox *box)
{
    pid_t pid = fork();
    if (pid == 0)
        camlbox_test_park_in_send(box_name);
    uint32_t msgs = 0;
    for (int i = 0; i < 3000 && msgs == 0 && pid > 0; i++) {
        usleep(1000);
        nmc_camlbox_bmessages(box, &msgs);
    }
    if (pid < 0 || msgs != 1 || kill(pid, SIGKILL) != 0 || hostile_wait(pid, 5) != 128 + SIGKILL)
        return -1;
    return pid;
}

/* expect: a receiver that only polls (past deadlines, or 1 ms timeouts) gets a killed sender's reserved slot back within NMC_SYNC_POLL_MS, with a wide margin: 1 s */
START_TEST(dead_reservation_reclaimed_by_polls)
{
    nmc_camlbox *box;
    ck_assert_ok(nmc_camlbox_create(fresh_name(), 2, 256, &box));
    ck_assert_int_gt(dead_reservation(box), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint32_t msgs = 1;
    while (msgs != 0 && test_elapsed_since(&t0) < 1.0) {
        uint32_t slots[2];
        size_t n;
        struct timespec d;
        nmc_deadline_in(_i == 0 ? 0 : 0.001, &d);
        ck_assert_status(nmc_camlbox_timedwait(box, &d, slots, 2, &n), NMC_ETIMEDOUT);
        ck_assert_ok(nmc_camlbox_bmessages(box, &msgs));
    }
    double took = test_elapsed_since(&t0);
    ck_assert_msg(msgs == 0, "leak: the dead sender's slot still taken after %.2f s of %s", took,
                  _i == 0 ? "non-blocking polls" : "1 ms waits");
    printf("dead_reservation_reclaimed_by_polls/%d: freed after %.3f s\n", _i, took);
    ck_assert_ok(nmc_camlbox_check(box));
    ck_assert_ok(nmc_camlbox_close(box));
}
END_TEST

/* expect: a receiver that keeps receiving a stream (every wait finds a message) gets a killed sender's reserved slot back within a second */
START_TEST(dead_reservation_reclaimed_while_streaming)
{
    box_open(4, 256);
    ck_assert_int_gt(dead_reservation(rx), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint32_t msgs = 1;
    unsigned received = 0;
    while (msgs != 0 && test_elapsed_since(&t0) < 1.0) {
        uint32_t slots[4];
        size_t n;
        ck_assert_ok(nmc_camlbox_send(tx, nmc_val_long(received), NMC_CAMLBOX_ANY_SLOT, NULL));
        ck_assert_ok(nmc_camlbox_wait(rx, slots, 4, &n));
        for (size_t k = 0; k < n; k++, received++)
            ck_assert_ok(nmc_camlbox_delete(rx, slots[k]));
        ck_assert_ok(nmc_camlbox_bmessages(rx, &msgs));
    }
    ck_assert_msg(msgs == 0, "leak: the dead sender's slot still taken after %u messages in 1 s",
                  received);
    printf("dead_reservation_reclaimed_while_streaming: freed after %u messages, %.3f s\n",
           received, test_elapsed_since(&t0));
    box_close();
}
END_TEST

/* In a pid namespace: a dead sender's reservation, its pid reused. */
static int sleep_three_seconds(void)
{
    sleep(3);
    return 0;
}

static int reclaim_with_pid_reused(void)
{
    nmc_camlbox *box;
    if (nmc_camlbox_create(box_name, 2, 256, &box) != NMC_OK)
        return HOSTILE_SETUP_FAILED;
    pid_t dead = dead_reservation(box);
    pid_t reuser = dead > 0 ? hostile_fork_with_pid(dead, sleep_three_seconds) : -1;
    if (reuser < 0)
        return HOSTILE_SETUP_FAILED;
    uint32_t freed = 0;
    int st = nmc_camlbox_reclaim(box, &freed);
    kill(reuser, SIGKILL);
    hostile_wait(reuser, 5);
    nmc_camlbox_close(box);
    return st == NMC_OK && freed == 1 ? 0 : 1;
}

/* expect: the reservation of a killed sender whose pid now runs another process is reclaimed (nmc_camlbox_reclaim frees 1 slot) */
START_TEST(dead_reservation_pid_reused)
{
    fresh_name();
    int r = hostile_in_pid_namespace(reclaim_with_pid_reused, 20);
    if (hostile_skipped(r, "dead_reservation_pid_reused"))
        return;
    ck_assert_msg(r != 1, "leak: the slot of a dead sender whose pid was reused stays taken");
    ck_assert_msg(r == 0, "crash: the namespace child ended with %d", r);
}
END_TEST

/* Creates the box as its receiver and exits without closing it. */
static int receive_then_die(void)
{
    nmc_camlbox *box;
    return nmc_camlbox_create(box_name, 1, 64, &box) == NMC_OK ? 0 : HOSTILE_SETUP_FAILED;
}

static int send_to_reused_receiver(void)
{
    pid_t receiver = fork();
    if (receiver == 0)
        _exit(receive_then_die());
    if (receiver < 0 || hostile_wait(receiver, 5) != 0)
        return HOSTILE_SETUP_FAILED;
    pid_t reuser = hostile_fork_with_pid(receiver, sleep_three_seconds);
    nmc_camlbox_sender *s;
    if (reuser < 0 || nmc_camlbox_sender_open(box_name, &s) != NMC_OK ||
        nmc_camlbox_send(s, nmc_val_long(1), NMC_CAMLBOX_ANY_SLOT, NULL) != NMC_OK)
        return HOSTILE_SETUP_FAILED;
    struct timespec d;
    nmc_deadline_in(1.5, &d);
    int st = nmc_camlbox_timedsend(s, nmc_val_long(2), NMC_CAMLBOX_ANY_SLOT, &d, NULL);
    kill(reuser, SIGKILL);
    hostile_wait(reuser, 5);
    nmc_camlbox_sender_close(s);
    return st == NMC_EOWNER_DEAD ? 0 : st == NMC_ETIMEDOUT ? 1 : 2;
}

/* expect: a sender blocked on the full box of a dead receiver whose pid now runs another process gets NMC_EOWNER_DEAD (1.5 s deadline) */
START_TEST(dead_receiver_pid_reused)
{
    fresh_name();
    int r = hostile_in_pid_namespace(send_to_reused_receiver, 20);
    if (hostile_skipped(r, "dead_receiver_pid_reused"))
        return;
    ck_assert_msg(r != 1, "hang: the blocked send ran into its deadline (NMC_ETIMEDOUT)");
    ck_assert_msg(r == 0, "wrong status: the namespace child ended with %d", r);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("camlbox_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, header_rewritten_under_receiver);
    tcase_add_test(tc, header_rewritten_under_sender);
    tcase_add_test(tc, get_checked_root_flipped);
    tcase_add_test(tc, get_verified_under_scribbler);
    tcase_add_loop_test(tc, box_cut_under_receiver_and_sender, 0, 3);
    tcase_add_loop_test(tc, dead_reservation_reclaimed_by_polls, 0, 2);
    tcase_add_test(tc, dead_reservation_reclaimed_while_streaming);
    tcase_add_test(tc, dead_reservation_pid_reused);
    tcase_add_test(tc, dead_receiver_pid_reused);
    suite_add_tcase(s, tc);
    return s;
}
