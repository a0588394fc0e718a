/* The shared layout of a camlbox and the helpers its files share.
 *
 * Shared memory is input (impl/README.md). The receiver and every sender
 * read the geometry (capacity, msg_size, slot_size, the receiver's base
 * address and owner) once, from a private copy of the header made when the
 * box is created or opened and validated there (camlbox_view_map), and keep
 * it in their camlbox_view: no decision ever reads a size from the shared
 * header again, so a header rewritten later cannot steer a copy or an
 * index. A slot's words are read once per decision (LOAD_ONCE, LOAD_ACQ)
 * and the local is what is validated and used.
 *
 * One shm object, offsets from its start, every part on its own cache line:
 *
 *   0          struct camlbox_header   fixed fields, the two wait queues and
 *                                      the senders' ticket
 *   slots_off  capacity slots          slot_size bytes each (a multiple of 64)
 *
 * A slot is a struct camlbox_slot (16 bytes) followed by msg_size bytes of
 * image. Its state word is the only truth about it; nothing else in the
 * shared object says which slots are free or full, so a message costs no
 * read-modify-write on a line shared by both sides:
 *
 *   FREE -(sender: CAS)-> RESERVED|owner
 *   RESERVED|owner -(sender: copy, store READY|bytelen)-> READY|bytelen
 *   RESERVED|owner -(sender: copy failed / reclaim: owner gone)-> FREE
 *   READY|bytelen -(receiver: delete)-> FREE
 *
 * The owner is an nmc_owner (thread id and start time, nmc/sync.h), so a
 * sender's slot is reclaimed when it dies even if its pid runs another
 * process by then; the image's length travels in the READY word, so one
 * acquire load gives the receiver both.
 *
 * Ring order. A sender takes a ticket (fetch-add on a line only senders
 * touch) and claims the first FREE slot from ticket % capacity on, so
 * messages land in ring order and concurrent senders start at different
 * slots. The receiver walks the ring from where it stopped (its run): it
 * reports READY slots and passes over the ones it reported and still holds
 * (its process-local delivered set), and stops at the first slot that is
 * FREE or being written. Slots the run cannot reach (a message behind a
 * hole a failed send left, a preferred slot, a sender slower than the ones
 * after it) are found by a scan of every state, which the receiver runs
 * when its run finds nothing: periodically while spinning and always before
 * it sleeps.
 *
 * All shared words are accessed with __atomic builtins.
 */
#ifndef NMC_CAMLBOX_INTERNAL_H
#define NMC_CAMLBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atomics.h"
#include "spin.h"
#include "nmc/camlbox.h"
#include "nmc/mem.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "nmc/sys.h"

#define CAMLBOX_MAGIC 0x43424f58u /* "CBOX" */
#define CAMLBOX_VERSION 3u
#define CAMLBOX_LINE 64
/* Spins (pause + load) before a side goes to sleep, at most (adaptive,
 * spin.h): about ten microseconds, less than a sleep and a wake-up cost. */
#define CAMLBOX_SPIN 2048
/* While spinning, the receiver scans every slot on every this many polls
 * (the others only look at its run). */
#define CAMLBOX_SCAN_EVERY 8
/* Yields of a sender facing a full box before it sleeps, at the full
 * spin allowance (fewer as it shrinks). */
#define CAMLBOX_YIELDS 16
/* A wait whose first look found nothing checks whether dead senders'
 * slots are due for reclaiming once in this many (receive.c). */
#define CAMLBOX_RECLAIM_EVERY 64


/* Slot states: the kind in the low two bits; above them the owner when
 * RESERVED (its start time in the high half, its tid << 2 in the low, as
 * sync's queue slots), the image's byte count when READY. */
enum { SLOT_FREE = 0, SLOT_READY = 1, SLOT_RESERVED = 2 };
#define SLOT_START_BITS 0xffffffff00000000u
#define SLOT_OWNED_BY(owner)                                                   \
    (((owner)&SLOT_START_BITS) | (uint64_t)NMC_OWNER_TID(owner) << 2 | SLOT_RESERVED)
#define SLOT_READY_WITH(bytelen) ((uint64_t)(bytelen) << 2 | SLOT_READY)
#define SLOT_KIND(state) ((unsigned)((state)&3u))
#define SLOT_OWNER(state) (((state)&SLOT_START_BITS) | ((state)&0xffffffffu) >> 2)
#define SLOT_BYTELEN(state) ((state) >> 2)

/* A sleeping side: it reads seq, raises want, re-checks, and sleeps on seq;
 * the other side, after publishing, wakes it only if want was raised. */
struct camlbox_waitq {
    uint32_t seq;  /* futex word, bumped by each wake-up          */
    uint32_t want; /* 1 while somebody is about to sleep on seq   */
};

/* Custom kinds whose ops records a sender compares with the receiver's. */
enum { CAMLBOX_OPS = 4 };

struct camlbox_header {
    uint32_t magic;          /* CAMLBOX_MAGIC once formatted                  */
    uint32_t version;        /* CAMLBOX_VERSION                               */
    uint32_t capacity;       /* number of slots                               */
    uint32_t reserved0;      /* zero                                          */
    uint64_t msg_size;       /* bytes of image a slot accepts (as created)    */
    uint64_t slot_size;      /* bytes per slot, header included, 64-multiple  */
    uint64_t slots_off;      /* offset of slot 0                              */
    uint64_t size;           /* bytes of the whole box                        */
    uint64_t receiver_base;  /* the receiver's address of byte 0 (data only)  */
    uint64_t receiver_ops[CAMLBOX_OPS]; /* its int32/int64/nativeint/bigarray
                                           ops addresses, compared, never read */
    uint64_t receiver;       /* the receiving thread (nmc_owner), for liveness */
    uint32_t closed;         /* 1 once the receiver closed the box            */
    uint32_t allowed_uid1;   /* a sender uid the receiver allowed, plus 1
                                (0: none; nmc_camlbox_allow_uid, sender.c)   */
    struct camlbox_waitq rx __attribute__((aligned(CAMLBOX_LINE)));   /* receiver sleeps */
    uint32_t rx_kick;        /* 1: wake / cancel_wait asked the wait to return */
    struct camlbox_waitq tx __attribute__((aligned(CAMLBOX_LINE)));   /* senders sleep   */
    uint32_t ticket __attribute__((aligned(CAMLBOX_LINE))); /* senders' next start slot,
                                                           modulo capacity      */
};

struct camlbox_slot {
    uint64_t state;   /* SLOT_FREE, SLOT_READY_WITH(bytelen) or
                         SLOT_OWNED_BY(owner)                                 */
    uint64_t root;    /* the message: an immediate, or the root's offset in
                         the image (READY)                                    */
};
#define SLOT_HEADER ((size_t)sizeof(struct camlbox_slot))

/* The shared part of both handles: one mapping of the box, and the
 * geometry read once from a validated private copy of its header. */
struct camlbox_view {
    struct camlbox_header *hdr; /* byte 0 of the mapping (its sync words)     */
    size_t size;                /* bytes mapped                               */
    nmc_sys_guard *guard;       /* the mapping as a guarded range             */
    unsigned char *slots;       /* slot 0                                     */
    uint32_t capacity;          /* slots                                      */
    size_t msg_size;            /* bytes of image a slot accepts              */
    size_t slot_size;           /* bytes per slot                             */
    uint64_t receiver_base;     /* the receiver's address of byte 0           */
    nmc_owner receiver;         /* the receiving thread                       */
};

struct nmc_camlbox {
    struct camlbox_view v;
    uint32_t run;           /* the slot its next run starts at                  */
    uint64_t *delivered;    /* bit per slot: reported by a wait and not deleted */
    int64_t reclaim_due_ns; /* CLOCK_MONOTONIC_COARSE time of the next reclaim  */
    uint32_t empty_looks;   /* waits whose first look found nothing             */
};

struct nmc_camlbox_sender {
    struct camlbox_view v;
    unsigned copy_flags; /* NMC_COPY_ATOM, plus the custom kinds if the ops match */
};

/* ---- layout.c ---- */

/* Fills a header's fixed size fields for capacity and msg_size (NMC_EINVAL
 * outside the bounds). */
int camlbox_layout(uint32_t capacity, size_t msg_size, struct camlbox_header *h);
/* Maps size bytes of the box in fd as a guarded range (nmc/sys.h): where
 * another process truncates the object, accesses read zeros and mark the
 * guard instead of raising SIGBUS. */
int camlbox_map(int fd, size_t size, void **base, nmc_sys_guard **guard);
/* Formats a mapping (camlbox_map) of h->size bytes whose size fields h
 * describes (and completes h with the receiver's fields), and sets up the
 * receiver's view of it from h. */
void camlbox_init(void *base, nmc_sys_guard *guard, struct camlbox_header *h,
                  struct camlbox_view *v);
/* Validates a private copy h of the header of a mapping of size bytes:
 * NMC_ECORRUPT unless it is a formatted box of this version that fits. */
int camlbox_validate(const struct camlbox_header *h, size_t size);
/* Maps the box in fd, copies its header once into *h, validates the copy
 * and sets up the view from it. */
int camlbox_view_map(int fd, struct camlbox_view *v, struct camlbox_header *h);
void camlbox_view_unmap(struct camlbox_view *v);

/* st, or NMC_ECORRUPT once an access of this process hit a part of the
 * box that another process cut off (the mapping is not remapped: from
 * then on every call on the handle says so). */
static inline int camlbox_uncut(const struct camlbox_view *v, int st)
{
    return __builtin_expect(nmc_sys_guard_fault(v->guard) != NULL, 0) ? NMC_ECORRUPT : st;
}

static inline struct camlbox_slot *camlbox_slot(const struct camlbox_view *v, uint32_t i)
{
    return (struct camlbox_slot *)(v->slots + (size_t)i * v->slot_size);
}

static inline unsigned char *camlbox_image(const struct camlbox_view *v, uint32_t i)
{
    return (unsigned char *)camlbox_slot(v, i) + SLOT_HEADER;
}

/* Slots not FREE (messages, including those being written): O(capacity). */
uint32_t camlbox_count_messages(const struct camlbox_view *v);
/* Whether a READY state and the root word read with it describe a message
 * that fits its slot: an immediate, or an image of whole words within
 * msg_size with the root inside it. */
bool camlbox_message_ok(const struct camlbox_view *v, uint64_t state, uint64_t root);

/* ---- slots.c ---- */

/* Returns slot i, held by the caller (RESERVED or READY), to the free
 * slots and wakes a sleeping sender. */
void camlbox_slot_free(struct camlbox_view *v, uint32_t i);
/* Frees RESERVED slots whose owner thread is dead; returns how many. */
uint32_t camlbox_reclaim_dead(struct camlbox_view *v);
/* Debug builds: fills slot i's image with byte (0xAA fresh, 0x55 freed). */
void camlbox_poison(const struct camlbox_view *v, uint32_t i, int byte);

/* ---- waitq.c ---- */

uint32_t camlbox_waitq_prepare(struct camlbox_waitq *q);
/* NMC_OK (woken, or seq moved on) or NMC_ETIMEDOUT at deadline. */
int camlbox_waitq_sleep(struct camlbox_waitq *q, uint32_t seq, const struct timespec *deadline);
/* Wakes the sleepers if one announced itself. */
void camlbox_waitq_notify(struct camlbox_waitq *q);
/* Whether this thread woke sleepers since the last call. */
bool camlbox_woke_sleeper(void);

#endif
