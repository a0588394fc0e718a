/* stress/racing/racing_test.c - the honest API against a process that
 * writes random words into the very shared object it uses.
 *
 * Each race: the test process makes the object (a camlbox, a shmtable,
 * a mutex) and maps its bytes a second time; then two
 * children run side by side until the deadline:
 *   honest     the API in a loop (camlbox send / wait / get_verified /
 *              delete; shmtable add / find / replace / remove; mutex timed
 *              lock / unlock), every blocking call with a timeout, counting
 *              the statuses it gets;
 *   scribbler  bursts of 1..4 random 64-bit words (noise, small numbers,
 *              a flipped bit of the word there) at random offsets of the
 *              object, about 10,000 bursts a second, so that the honest
 *              side meets both sound and damaged states.
 * The honest side may only return statuses: it must not die of a signal
 * (crash) and must end within its timeout plus a margin (hang); under the
 * ASan build a write outside the object's mapping is a crash too. What it
 * got is printed as one line per race, e.g.
 *   racing camlbox: seconds=1.0 ops=123456 ok=... NMC_ECORRUPT=... verdict=held
 *
 * Short form (./harness test): 1 s per race. Long form (`./harness stress
 * racing --seconds S`): S / 4 s per race.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostile.h"
#include "nmc/camlbox.h"
#include "nmc/shmtable.h"
#include "nmc/sync.h"
#include "nmc/sys.h"
#include "nmc_test.h"
#include "shmtable_test.h"
#include "stress.h"

/* Statuses counted: NMC_OK at 0, -status for the others (status.h codes
 * are small negative numbers). */
enum { MAX_STATUS = 64 };

struct tally {
    uint64_t ops;
    uint64_t by_status[MAX_STATUS];
};

/* The children share the tally and the stop flag. */
struct shared {
    struct tally t;
    uint32_t stop;
};

static struct shared *S;

static void count(int status)
{
    S->t.ops++;
    S->t.by_status[status <= 0 && -status < MAX_STATUS ? -status : MAX_STATUS - 1]++;
}

/* "NMC_ECORRUPT" of "NMC_ECORRUPT: corrupt structure or image". */
static const char *status_name(int status)
{
    static char name[64];
    const char *text = nmc_strerror(status);
    size_t n = strcspn(text, ":");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), text);
    return name;
}

static double race_seconds(void)
{
    double s = stress_seconds();
    return s > 0 ? s / 4 : 1.0;
}

static bool stopping(void)
{
    return __atomic_load_n(&S->stop, __ATOMIC_RELAXED) != 0;
}

/* xorshift64: the scribbler's and the honest side's dice. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Writes bursts of random words into [base, base + len) until stopped. */
static void scribble(unsigned char *base, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1, *words = (uint64_t *)base;
    size_t n = len / sizeof *words;
    while (!stopping()) {
        for (uint64_t k = next_random(&x) % 4 + 1; k > 0; k--) {
            uint64_t r = next_random(&x);
            /* Small values and flipped bits hit more checks than noise. */
            uint64_t w = r % 4 == 0 ? r >> 56 : r % 4 == 1 ? words[r % n] ^ (1ull << (r >> 58)) : r;
            __atomic_store_n(&words[next_random(&x) % n], w, __ATOMIC_RELAXED);
        }
        usleep((useconds_t)(next_random(&x) % 200));
    }
}

/* The object's second mapping (the scribbler's), made before the fork. */
struct target {
    unsigned char *base;
    size_t len;
};

/* Maps the whole object behind fd (shm or file) once more. */
static struct target map_again(int fd)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return (struct target){p, (size_t)st.st_size};
}

/* Runs honest() and the scribbler over target for the race's seconds;
 * fails the test on a crash or a hang of the honest side. */
static void race(const char *what, struct target target, void (*honest)(double end))
{
    memset(S, 0, sizeof *S);
    double seconds = race_seconds(), end = now_s() + seconds;
    pid_t scribbler = fork();
    ck_assert_int_ge(scribbler, 0);
    if (scribbler == 0) {
        scribble(target.base, target.len, (uint64_t)getpid() * 0x9e3779b97f4a7c15u);
        _exit(0);
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        honest(end);
        _exit(0);
    }
    /* The honest side's calls time out within 0.1 s; allow it 5 s more. */
    int r = hostile_wait(pid, seconds + 5);
    __atomic_store_n(&S->stop, 1, __ATOMIC_RELAXED);
    ck_assert_int_eq(hostile_wait(scribbler, 10), 0);
    munmap(target.base, target.len);
    const char *verdict = r == 0 ? "held" : r == HOSTILE_HUNG ? "hang" : "crash";
    printf("racing %s: seconds=%.1f ops=%llu ok=%llu", what, seconds,
           (unsigned long long)S->t.ops, (unsigned long long)S->t.by_status[0]);
    for (int i = 1; i < MAX_STATUS; i++)
        if (S->t.by_status[i] != 0)
            printf(" %s=%llu", i == MAX_STATUS - 1 ? "other" : status_name(-i),
                   (unsigned long long)S->t.by_status[i]);
    printf(" verdict=%s\n", verdict);
    ck_assert_msg(r != HOSTILE_HUNG, "hang: the honest %s side did not finish", what);
    ck_assert_msg(r == 0, "crash: the honest %s side ended with %s %d", what,
                  r >= 128 ? "signal" : "status", r >= 128 ? r - 128 : r);
}

static void setup(void)
{
    S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(S, MAP_FAILED);
}

static void teardown(void)
{
    munmap(S, sizeof *S);
}

/* A deadline 0.1 s away at most, for every blocking call. */
static struct timespec soon(void)
{
    struct timespec d;
    nmc_deadline_in(0.01, &d);
    return d;
}

/* ---- camlbox ----------------------------------------------------------- */

static char box_name[NMC_SHM_NAME_MAX];
static nmc_camlbox *box;
static nmc_camlbox_sender *sender;

static void honest_camlbox(double end)
{
    nmc_camlbox_sender *s = sender;
    nmc_arena *a;
    if (nmc_arena_create(&a) != NMC_OK)
        _exit(HOSTILE_SETUP_FAILED);
    nmc_value text;
    if (nmc_alloc_string(a, "a message of some forty bytes, roughly", 38, &text) != NMC_OK)
        _exit(HOSTILE_SETUP_FAILED);
    for (uint64_t i = 0; now_s() < end; i++) {
        struct timespec d = soon();
        count(nmc_camlbox_timedsend(s, i % 2 ? text : nmc_val_long((intptr_t)i),
                                    NMC_CAMLBOX_ANY_SLOT, &d, NULL));
        uint32_t slots[8];
        size_t n = 0;
        d = soon();
        count(nmc_camlbox_timedwait(box, &d, slots, 8, &n));
        for (size_t k = 0; k < n; k++) {
            nmc_arena *m;
            nmc_value v;
            if (nmc_arena_create(&m) != NMC_OK)
                _exit(HOSTILE_SETUP_FAILED);
            count(nmc_camlbox_get_verified(box, slots[k], m, &v));
            nmc_arena_destroy(m);
            count(nmc_camlbox_delete(box, slots[k]));
        }
        if (i % 64 == 0) {
            uint32_t freed;
            count(nmc_camlbox_reclaim(box, &freed));
            count(nmc_camlbox_check(box));
        }
    }
    nmc_arena_destroy(a);
}

/* expect: camlbox send / wait / get_verified / delete while another process writes random words into the box: statuses only, no signal, no hang */
START_TEST(racing_camlbox)
{
    snprintf(box_name, sizeof box_name, "/%s_race", nmc_test_prefix());
    ck_assert_ok(nmc_camlbox_create(box_name, 8, 256, &box));
    ck_assert_ok(nmc_camlbox_sender_open(box_name, &sender));
    int fd;
    ck_assert_ok(nmc_camlbox_fd(box_name, &fd));
    struct target t = map_again(fd);
    close(fd);
    race("camlbox", t, honest_camlbox);
    ck_assert_ok(nmc_camlbox_sender_close(sender));
    ck_assert_ok(nmc_camlbox_close(box));
    ck_assert_ok(nmc_camlbox_unlink(box_name));
}
END_TEST

/* ---- shmtable ---------------------------------------------------------- */

static struct test_table table;

/* Counts st; after 100 NMC_ECORRUPT in a row, formats the table afresh
 * (as a user would after nmc_shmtable_check failed), so the race goes on
 * over sound states too. */
static void count_table(int st)
{
    static int corrupt_in_a_row;
    count(st);
    corrupt_in_a_row = st == NMC_ECORRUPT ? corrupt_in_a_row + 1 : 0;
    if (corrupt_in_a_row < 100)
        return;
    corrupt_in_a_row = 0;
    nmc_shmtable_close(table.t);
    st = nmc_shmtable_manage(table.d, NMC_SHM_RECORD_LOCKING, 0, 64, &table.t);
    count(st);
    if (st != NMC_OK)
        _exit(HOSTILE_SETUP_FAILED);
}

static void honest_shmtable(double end)
{
    uint64_t x = 12345;
    int32_t value[300], out[300];
    for (size_t i = 0; i < 300; i++)
        value[i] = (int32_t)i;
    while (now_s() < end) {
        uint64_t r = next_random(&x);
        int32_t key = (int32_t)(r % 64);
        size_t len = (r >> 8) % 300, got;
        switch ((r >> 20) % 5) {
        case 0:
            count_table(nmc_shmtable_add(table.t, key, value, len));
            break;
        case 1:
            count_table(nmc_shmtable_replace(table.t, key, value, len));
            break;
        case 2:
            count_table(nmc_shmtable_remove(table.t, key));
            break;
        case 3:
            count_table(nmc_shmtable_find(table.t, key, out, 300, &got));
            break;
        default: {
            size_t n;
            count_table(nmc_shmtable_length(table.t, &n));
            count_table(nmc_shmtable_check(table.t, NULL));
        }
        }
    }
}

/* expect: shmtable add / replace / remove / find / length / check while another process writes random words into the table's object: statuses only, no signal, no hang */
START_TEST(racing_shmtable)
{
    table_new(&table, NMC_SHM_POSIX, NMC_SHM_RECORD_LOCKING, 256);
    for (int32_t k = 0; k < 64; k++)
        ck_assert_ok(nmc_shmtable_add(table.t, k, (int32_t[]){k, k}, 2));
    int fd = shm_open(table.path, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    struct target t = map_again(fd);
    close(fd);
    race("shmtable", t, honest_shmtable);
    table_drop(&table);
}
END_TEST

/* ---- mutex ------------------------------------------------------------- */

static nmc_mutex *lock;

static void honest_lock(double end)
{
    uint64_t x = 99;
    while (now_s() < end) {
        struct timespec d = soon();
        int st = nmc_mutex_timedlock(lock, &d);
        count(st);
        if (st == NMC_EOWNER_DEAD)
            count(nmc_mutex_consistent(lock));
        if (st == NMC_OK || st == NMC_EOWNER_DEAD)
            count(nmc_mutex_unlock(lock));
        if (st == NMC_EINVAL || st == NMC_ENOT_RECOVERABLE || next_random(&x) % 256 == 0)
            count(nmc_mutex_init(lock, NMC_MUTEX_RECURSIVE));
        count(nmc_mutex_check(lock));
    }
}

/* expect: mutex timed lock / unlock / consistent / check while another process writes random words into the mutex: statuses only, no signal, no hang */
START_TEST(racing_lock)
{
    char name[NMC_SHM_NAME_MAX];
    int fd;
    ck_assert_ok(nmc_sys_shm_create(nmc_test_prefix(), sizeof(nmc_mutex), &fd, name));
    ck_assert_ok(nmc_sys_map(fd, sizeof(nmc_mutex), 0, NULL, false, (void **)&lock));
    ck_assert_ok(nmc_mutex_init(lock, NMC_MUTEX_RECURSIVE));
    struct target t = map_again(fd);
    close(fd);
    race("lock", t, honest_lock);
    ck_assert_ok(nmc_sys_unmap(lock, sizeof(nmc_mutex)));
    ck_assert_ok(nmc_sys_shm_unlink(name));
}
END_TEST

Suite *nmc_test_suite(void)
{
    Suite *s = suite_create("racing");
    TCase *tc = tcase_create("racing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, racing_camlbox);
    tcase_add_test(tc, racing_shmtable);
    tcase_add_test(tc, racing_lock);
    suite_add_tcase(s, tc);
    return s;
}
