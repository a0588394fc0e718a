/* stress/torture/camlbox_test.c - torture of a camlbox (nmc/camlbox.h).
 *
 * The supervisor is the receiver: between kills it waits, verifies each
 * message with nmc_camlbox_get_checked, counts it and deletes it, and now
 * and then runs nmc_camlbox_reclaim. Workers (torture.h: 2 x nproc, one
 * SIGKILLed every 100 ms and restarted) open a sender by name in each
 * incarnation and send (worker, serial, text) messages: 95 % fitting, 5 %
 * too big for a slot (must give NMC_EMESSAGE_TOO_BIG and send nothing).
 * A sender killed inside a send leaves a RESERVED slot that the receiver's
 * reclaim must free, or an announced message.
 *
 * Accounting (intent logs, torture.h): a send logs its serial first; after
 * a kill, that one serial may or may not arrive. At the end the receiver
 * reclaims and drains the box: nmc_camlbox_check passes, no slot is still
 * taken, every serial below a worker's next serial arrived exactly once
 * except the ones in doubt (zero or once), none arrived twice, none that
 * was never sent, and every message was well formed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "nmc/camlbox.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "stress.h"
#include "torture.h"

enum { CAPACITY = 64, MSG_SIZE = 512, SER = 1 << 22, OP_SEND = 1, BIG = 800 };

struct worker {
    struct torture_intent intent;
    uint64_t next_serial;
    uint64_t too_big;
};

struct shared {
    char name[NMC_SHM_NAME_MAX + 16];
    nmc_camlbox *box;
    int workers;
    uint64_t received, bad, reclaimed;
    struct worker w[TORTURE_MAX_WORKERS];
    /* [w][s]: bits 0-6 times received (saturating), bit 7 send in doubt */
    uint8_t seen[TORTURE_MAX_WORKERS][SER];
};

static struct shared *S;

static char text_char(uint64_t serial, size_t i)
{
    return (char)('a' + (serial * 7 + i) % 26);
}

static nmc_value make_value(nmc_arena *a, long w, uint64_t serial, size_t n)
{
    char text[BIG];
    for (size_t i = 0; i < n; i++)
        text[i] = text_char(serial, i);
    nmc_value s, v;
    TORTURE_CHECK(nmc_alloc_string(a, text, n, &s) == NMC_OK);
    TORTURE_CHECK(nmc_alloc_tuple(a, 0, 3,
                                  (nmc_value[]){nmc_val_long(w), nmc_val_long((long)serial), s},
                                  &v) == NMC_OK);
    return v;
}

static bool well_formed(nmc_value v, long *w, uint64_t *serial)
{
    if (nmc_is_long(v) || nmc_wosize_val(v) != 3 || !nmc_is_long(nmc_field(v, 0)) ||
        !nmc_is_long(nmc_field(v, 1)))
        return false;
    *w = nmc_long_val(nmc_field(v, 0));
    *serial = (uint64_t)nmc_long_val(nmc_field(v, 1));
    nmc_value s = nmc_field(v, 2);
    if (nmc_is_long(s) || nmc_tag_val(s) != NMC_TAG_STRING ||
        nmc_string_length(s) != *serial % 37)
        return false;
    for (size_t i = 0; i < *serial % 37; i++)
        if (nmc_string_val(s)[i] != text_char(*serial, i))
            return false;
    return *w >= 0 && *w < S->workers && *serial < SER;
}

static void child(int w, void *ctx)
{
    (void)ctx;
    struct worker *me = &S->w[w];
    if (me->intent.op == OP_SEND) { /* the killed incarnation's send */
        S->seen[w][me->intent.a] |= 0x80;
        if (me->next_serial <= me->intent.a)
            me->next_serial = me->intent.a + 1;
    }
    torture_done(&me->intent);
    nmc_camlbox_sender *s;
    TORTURE_CHECK(nmc_camlbox_sender_open(S->name, &s) == NMC_OK);
    nmc_arena *a;
    TORTURE_CHECK(nmc_arena_create(&a) == NMC_OK);
    for (unsigned n = 0; !torture_stopping(); n++) {
        if (n % 64 == 63) {
            nmc_arena_destroy(a);
            TORTURE_CHECK(nmc_arena_create(&a) == NMC_OK);
        }
        uint64_t serial = me->next_serial;
        if (serial >= SER) { /* the accounting is full: idle until the stop */
            usleep(1000);
            continue;
        }
        struct timespec deadline;
        nmc_deadline_in(0.1, &deadline);
        uint32_t prefer = torture_below(4) == 0 ? (uint32_t)torture_below(CAPACITY)
                                                : NMC_CAMLBOX_ANY_SLOT;
        if (torture_below(20) == 0) { /* too big: nothing may arrive */
            int st = nmc_camlbox_timedsend(s, make_value(a, w, serial, BIG - 1), prefer,
                                           &deadline, NULL);
            if (st != NMC_EMESSAGE_TOO_BIG && st != NMC_ETIMEDOUT)
                torture_fail("oversize send: %s", nmc_strerror(st));
            me->too_big++;
            continue;
        }
        nmc_value v = make_value(a, w, serial, serial % 37);
        torture_intend(&me->intent, OP_SEND, serial, 0, 0);
        int st = nmc_camlbox_timedsend(s, v, prefer, &deadline, NULL);
        if (st == NMC_OK)
            me->next_serial = serial + 1;
        else if (st != NMC_ETIMEDOUT)
            torture_fail("send: %s", nmc_strerror(st));
        torture_done(&me->intent);
    }
    nmc_arena_destroy(a);
    TORTURE_CHECK(nmc_camlbox_sender_close(s) == NMC_OK);
}

/* Receives until `until` (or until nothing comes for 20 ms when drain). */
static void receive(double until, bool drain)
{
    uint32_t slots[CAPACITY];
    for (;;) {
        double left = until - now_s();
        if (left <= 0)
            return;
        struct timespec deadline;
        nmc_deadline_in(left < 0.02 ? left : 0.02, &deadline);
        size_t n;
        int st = nmc_camlbox_timedwait(S->box, &deadline, slots, CAPACITY, &n);
        if (st == NMC_ETIMEDOUT || (st == NMC_OK && n == 0)) {
            uint32_t freed = 0;
            ck_assert_ok(nmc_camlbox_reclaim(S->box, &freed));
            S->reclaimed += freed;
            if (drain && freed == 0)
                return;
            continue;
        }
        ck_assert_ok(st);
        for (size_t i = 0; i < n; i++) {
            nmc_value v;
            long w;
            uint64_t serial;
            st = nmc_camlbox_get_checked(S->box, slots[i], &v);
            if (st != NMC_OK || !well_formed(v, &w, &serial)) {
                S->bad++;
            } else {
                uint8_t *c = &S->seen[w][serial];
                if ((*c & 0x7f) < 0x7f)
                    ++*c;
                S->received++;
            }
            ck_assert_ok(nmc_camlbox_delete(S->box, slots[i]));
        }
    }
}

static void tick(void *ctx, double until)
{
    (void)ctx;
    receive(until, false);
}

START_TEST(camlbox_torture)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
             -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
    int workers = S->workers = torture_default_workers();
    snprintf(S->name, sizeof S->name, "/%s_cbtorture", nmc_test_prefix());
    ck_assert_ok(nmc_camlbox_create(S->name, CAPACITY, MSG_SIZE, &S->box));
    struct torture_cfg cfg = {
        .seconds = torture_seconds(2.5), .child = child, .tick = tick, .ctx = S};
    struct torture_result res;
    torture_run(&cfg, &res);
    ck_assert_ok(nmc_camlbox_unlink(S->name));
    ck_assert_uint_eq(res.failures, 0);

    receive(now_s() + 10, true);
    ck_assert_ok(nmc_camlbox_check(S->box));
    uint32_t messages;
    ck_assert_ok(nmc_camlbox_bmessages(S->box, &messages));
    ck_assert_msg(messages == 0, "%u slots still taken after reclaim and drain", messages);
    ck_assert_uint_eq(S->bad, 0);
    size_t sent = 0, doubtful = 0, doubt_arrived = 0, too_big = 0;
    for (int w = 0; w < workers; w++) {
        too_big += S->w[w].too_big;
        /* Plain tests, not ck_assert: Check records every passing
         * assertion, seconds for these millions of serials. */
        for (uint64_t s = 0; s < SER; s++) {
            uint8_t c = S->seen[w][s] & 0x7f;
            bool doubt = S->seen[w][s] & 0x80;
            if (c > 1)
                ck_abort_msg("worker %d serial %llu arrived %u times", w, (unsigned long long)s, c);
            if (s >= S->w[w].next_serial) {
                if (c != 0 && !doubt)
                    ck_abort_msg("worker %d serial %llu arrived, never sent", w,
                                 (unsigned long long)s);
                continue;
            }
            if (doubt) {
                doubtful++;
                doubt_arrived += c;
            } else {
                if (c != 1)
                    ck_abort_msg("worker %d serial %llu lost", w, (unsigned long long)s);
                sent++;
            }
        }
    }
    printf("torture camlbox: %d workers, %.1f s, %u kills, %zu messages sent and received, "
           "%zu sends in doubt (%zu arrived), %zu oversize refused, %llu slots reclaimed\n",
           workers, res.seconds, res.kills, sent, doubtful, doubt_arrived, too_big,
           (unsigned long long)S->reclaimed);
    ck_assert_ok(nmc_camlbox_close(S->box));
    munmap(S, sizeof *S);
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("torture_camlbox");
    TCase *tc = tcase_create("torture");
    tcase_set_timeout(tc, (double)stress_timeout() + 60);
    tcase_add_test(tc, camlbox_torture);
    suite_add_tcase(s, tc);
    return s;
}
