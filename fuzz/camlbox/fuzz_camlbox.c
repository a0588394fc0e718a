/* Fuzz target: random operation sequences on one camlbox, in one process,
 * checked against a model.
 *
 * Input: byte 0 picks the capacity (1..16), byte 1 the message size
 * (0..1020 bytes), then one operation per 3 bytes (op, a, b):
 *   send   a value of shape b % 3 (string, (int, string, float) tuple, int
 *          list) and size a, preferring slot b / 3 (or none); never blocks
 *          (a full box must give NMC_ETIMEDOUT at a past deadline)
 *   wait   at most a % capacity + 1 slots, at a past deadline
 *   get    slot a: in place, checked, copied and verified, each the value sent
 *   delete slot a
 * The model: which slots hold which value, which were not yet reported.
 * Oracles: every status is the model's; a send lands in the preferred slot
 * when that one is free, gives NMC_EMESSAGE_TOO_BIG exactly when the
 * copier's simulated image exceeds the message size, and then changes
 * nothing; wait reports only unreported slots, at least one if there is
 * one (not necessarily all: the rest come with later waits), and waits at
 * the end report every message left; nmc_camlbox_check and the message
 * count agree with the model after every operation.
 */
#include <string.h>
#include <unistd.h>

#include "decoder.h"
#include "nmc/camlbox.h"
#include "nmc/status.h"
#include "nmc/sys.h"

enum { MAX_CAP = 16, MAX_OPS = 256 };

struct model {
    uint32_t capacity;
    size_t msg_size;
    bool full[MAX_CAP];       /* slot holds a message            */
    bool unreported[MAX_CAP]; /* not yet returned by a wait      */
    nmc_value sent[MAX_CAP];  /* the value sent into the slot    */
    uint32_t count;
};

static nmc_value make_value(nmc_arena *a, unsigned shape, unsigned size, unsigned seq)
{
    nmc_value v = NMC_VAL_UNIT, s, d;
    char text[256];
    for (unsigned i = 0; i < size; i++)
        text[i] = (char)('a' + (seq + i) % 26);
    FUZZ_CHECK(nmc_alloc_string(a, text, size, &s) == NMC_OK);
    switch (shape) {
    case 0:
        return s;
    case 1:
        FUZZ_CHECK(nmc_alloc_double(a, seq * 0.5, &d) == NMC_OK);
        FUZZ_CHECK(nmc_alloc_tuple(a, 0, 3, (nmc_value[]){nmc_val_long(seq), s, d}, &v) ==
                   NMC_OK);
        return v;
    default:
        for (unsigned i = 0; i < size / 4; i++)
            FUZZ_CHECK(nmc_alloc_tuple(a, 0, 2, (nmc_value[]){nmc_val_long(i), v}, &v) == NMC_OK);
        return v == NMC_VAL_UNIT ? nmc_val_long(seq) : v;
    }
}

static size_t image_size(nmc_value v)
{
    if (nmc_is_long(v))
        return 0;
    struct nmc_copy_options sim = {.flags = NMC_COPY_SIMULATE | NMC_COPY_ATOM};
    nmc_memory none = {NULL, 0};
    size_t voffset, bytelen;
    FUZZ_CHECK(nmc_init_value(none, 0, v, &sim, &voffset, &bytelen) == NMC_OK);
    return bytelen;
}

static bool same(nmc_value a, nmc_value b)
{
    bool iso;
    if (nmc_is_long(a) || nmc_is_long(b))
        return a == b;
    return nmc_isomorphic(a, b, &iso) == NMC_OK && iso;
}

static void op_send(struct model *m, nmc_camlbox_sender *s, nmc_arena *a, unsigned x,
                    unsigned y, unsigned seq)
{
    nmc_value v = make_value(a, y % 3, x, seq);
    uint32_t prefer = y / 3 < m->capacity ? y / 3 : NMC_CAMLBOX_ANY_SLOT, slot;
    struct timespec past;
    nmc_deadline_in(0, &past);
    int st = nmc_camlbox_timedsend(s, v, prefer, &past, &slot);
    if (m->count == m->capacity) {
        FUZZ_CHECK(st == NMC_ETIMEDOUT);
        return;
    }
    if (image_size(v) > m->msg_size) {
        FUZZ_CHECK(st == NMC_EMESSAGE_TOO_BIG);
        return;
    }
    FUZZ_CHECK(st == NMC_OK && slot < m->capacity && !m->full[slot]);
    FUZZ_CHECK(prefer == NMC_CAMLBOX_ANY_SLOT || m->full[prefer] || slot == prefer);
    m->full[slot] = m->unreported[slot] = true;
    m->sent[slot] = v;
    m->count++;
}

/* Waits for at most x % capacity + 1 slots; returns how many were
 * unreported before. */
static size_t op_wait(struct model *m, nmc_camlbox *box, unsigned x)
{
    uint32_t slots[MAX_CAP];
    size_t max = x % m->capacity + 1, n, want = 0;
    struct timespec past;
    nmc_deadline_in(0, &past);
    for (uint32_t i = 0; i < m->capacity; i++)
        want += m->unreported[i];
    int st = nmc_camlbox_timedwait(box, &past, slots, max, &n);
    FUZZ_CHECK(want == 0 ? st == NMC_ETIMEDOUT && n == 0
                         : st == NMC_OK && n >= 1 && n <= (want < max ? want : max));
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(slots[i] < m->capacity && m->unreported[slots[i]]);
        m->unreported[slots[i]] = false;
    }
    return want;
}

static void op_get(struct model *m, nmc_camlbox *box, nmc_arena *a, unsigned x)
{
    uint32_t slot = x % (m->capacity + 1); /* one past the end: NMC_EINVAL */
    nmc_value v, checked, copy;
    int st = nmc_camlbox_get(box, slot, &v);
    if (slot == m->capacity) {
        FUZZ_CHECK(st == NMC_EINVAL);
        return;
    }
    if (!m->full[slot]) {
        FUZZ_CHECK(st == NMC_EEMPTY);
        return;
    }
    FUZZ_CHECK(st == NMC_OK && same(v, m->sent[slot]));
    FUZZ_CHECK(nmc_camlbox_get_checked(box, slot, &checked) == NMC_OK && checked == v);
    FUZZ_CHECK(nmc_camlbox_get_copy(box, slot, a, &copy) == NMC_OK && same(copy, v));
    FUZZ_CHECK(nmc_camlbox_get_verified(box, slot, a, &copy) == NMC_OK && same(copy, v));
}

static void op_delete(struct model *m, nmc_camlbox *box, unsigned x)
{
    uint32_t slot = x % m->capacity;
    int st = nmc_camlbox_delete(box, slot);
    FUZZ_CHECK(st == (m->full[slot] ? NMC_OK : NMC_EEMPTY));
    if (m->full[slot]) {
        m->full[slot] = m->unreported[slot] = false;
        m->count--;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct model m = {.capacity = data[0] % MAX_CAP + 1, .msg_size = (size_t)data[1] * 4};
    char name[NMC_SHM_NAME_MAX];
    int fd;
    nmc_camlbox *box;
    nmc_camlbox_sender *s;
    nmc_arena *a;
    FUZZ_CHECK(nmc_sys_shm_create("nmcfuzz_cb", 1, &fd, name) == NMC_OK);
    nmc_sys_shm_unlink(name);
    FUZZ_CHECK(nmc_camlbox_format(fd, m.capacity, m.msg_size, &box) == NMC_OK);
    FUZZ_CHECK(nmc_camlbox_sender_of_fd(fd, &s) == NMC_OK);
    close(fd);
    FUZZ_CHECK(nmc_arena_create(&a) == NMC_OK);

    size_t nops = (size - 2) / 3 < MAX_OPS ? (size - 2) / 3 : MAX_OPS;
    for (size_t k = 0; k < nops; k++) {
        const uint8_t *op = data + 2 + 3 * k;
        switch (op[0] % 4) {
        case 0:
            op_send(&m, s, a, op[1], op[2], (unsigned)k);
            break;
        case 1:
            op_wait(&m, box, op[1]);
            break;
        case 2:
            op_get(&m, box, a, op[1]);
            break;
        default:
            op_delete(&m, box, op[1]);
            break;
        }
        uint32_t count;
        FUZZ_CHECK(nmc_camlbox_check(box) == NMC_OK);
        FUZZ_CHECK(nmc_camlbox_bmessages(box, &count) == NMC_OK && count == m.count);
    }
    /* Each wait reports at least one of the messages left: they all come. */
    while (op_wait(&m, box, m.capacity - 1) > 0)
        continue;
    nmc_arena_destroy(a);
    FUZZ_CHECK(nmc_camlbox_sender_close(s) == NMC_OK);
    FUZZ_CHECK(nmc_camlbox_close(box) == NMC_OK);
    return 0;
}
