/* The shared layout of a camlbox and the helpers its files share.
 *
 * One shm object, offsets from its start, every part on its own cache line:
 *
 *   0     struct camlbox_header   fixed fields, then the two wait queues
 *   free_off   free bitmap        nwords x 64 bits: bit set = slot may be FREE
 *   ready_off  ready bitmap       nwords x 64 bits: bit set = slot announced
 *   slots_off  capacity slots     slot_size bytes each (a multiple of 64)
 *
 * A slot is a struct camlbox_slot (16 bytes) followed by msg_size bytes of
 * image. Its state word is the truth; the bitmaps are hints kept in step:
 *
 *   FREE -(sender: CAS, then clear free bit)-> RESERVED|tid
 *   RESERVED|tid -(sender: copy, store READY, then set ready bit)-> READY
 *   RESERVED|tid -(sender: copy failed / reclaim: owner dead)-> FREE, bit set
 *   READY -(receiver: delete)-> FREE; bit set at the receiver's next wait
 *                                 (or at once if a sender waits)
 *
 * Invariants: a FREE slot's free bit is set, or the slot is in the
 * receiver's local freed set, or its bit is about to be set by whoever
 * freed it; a sender that finds no bit scans the states before sleeping.
 * A set free bit on a non-FREE slot is stale and costs a look at the state.
 * A set ready bit means READY was stored before it; the receiver re-reads
 * the state and keeps a process-local set of the slots it reported
 * (delivered), so stale or duplicate bits report nothing twice.
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
#include "nmc/camlbox.h"
#include "nmc/mem.h"
#include "nmc/status.h"
#include "nmc/sync.h"
#include "nmc/sys.h"

#define CAMLBOX_MAGIC 0x43424f58u /* "CBOX" */
#define CAMLBOX_VERSION 1u
#define CAMLBOX_LINE 64
/* Spins (pause + load) before a side goes to sleep: about ten
 * microseconds, less than a sleep and a wake-up cost. */
#define CAMLBOX_SPIN 2048
/* Yields of a sender facing a full box before it sleeps. */
#define CAMLBOX_YIELDS 16


/* Slot states: low two bits, the owner's tid above them when RESERVED. */
enum { SLOT_FREE = 0, SLOT_READY = 1, SLOT_RESERVED = 2 };
#define SLOT_OWNED_BY(tid) ((uint32_t)(tid) << 2 | SLOT_RESERVED)
#define SLOT_KIND(state) ((state)&3u)
#define SLOT_OWNER(state) ((state) >> 2)

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
    uint32_t nwords;         /* 64-bit words per bitmap: ceil(capacity / 64) */
    uint64_t msg_size;       /* bytes of image a slot accepts (as created)    */
    uint64_t slot_size;      /* bytes per slot, header included, 64-multiple  */
    uint64_t free_off;       /* offset of the free bitmap                     */
    uint64_t ready_off;      /* offset of the ready bitmap                    */
    uint64_t slots_off;      /* offset of slot 0                              */
    uint64_t size;           /* bytes of the whole box                        */
    uint64_t receiver_base;  /* the receiver's address of byte 0 (data only)  */
    uint64_t receiver_ops[CAMLBOX_OPS]; /* its int32/int64/nativeint/bigarray
                                           ops addresses, compared, never read */
    uint32_t receiver_tid;   /* the receiving thread, for liveness checks     */
    uint32_t closed;         /* 1 once the receiver closed the box            */
    uint32_t allowed_uid1;   /* a sender uid the receiver allowed, plus 1
                                (0: none; nmc_camlbox_allow_uid, sender.c)   */
    struct camlbox_waitq rx __attribute__((aligned(CAMLBOX_LINE)));   /* receiver sleeps */
    uint32_t rx_kick;        /* 1: wake / cancel_wait asked the wait to return */
    struct camlbox_waitq tx __attribute__((aligned(CAMLBOX_LINE)));   /* senders sleep   */
};

struct camlbox_slot {
    uint32_t state;   /* SLOT_FREE, SLOT_READY or SLOT_OWNED_BY(tid)          */
    uint32_t bytelen; /* bytes of the image (READY)                           */
    uint64_t root;    /* the message: an immediate, or the root's offset in
                         the image (READY)                                    */
};
#define SLOT_HEADER ((size_t)sizeof(struct camlbox_slot))

/* The shared part of both handles: one mapping of the box. */
struct camlbox_view {
    struct camlbox_header *hdr; /* byte 0 of the mapping   */
    size_t size;                /* bytes mapped            */
    uint64_t *free_bits;        /* the free bitmap         */
    uint64_t *ready_bits;       /* the ready bitmap        */
    unsigned char *slots;       /* slot 0                  */
};

struct nmc_camlbox {
    struct camlbox_view v;
    uint64_t *pending;   /* announced, not yet reported (nwords words)        */
    uint64_t *delivered; /* reported by a wait and not deleted (nwords words) */
    uint64_t *freed;     /* deleted, free bit not yet set (nwords words)      */
};

struct nmc_camlbox_sender {
    struct camlbox_view v;
    unsigned copy_flags; /* NMC_COPY_ATOM, plus the custom kinds if the ops match */
    uint32_t cursor;     /* where its next slot search starts: after the slot
                            it took last, so its sends walk the box in order
                            (a slot just freed by the receiver is not taken
                            again at once: its cache line has time to come
                            back). A hint, accessed relaxed: threads may
                            share a sender. */
};

/* ---- layout.c ---- */

/* Fills a header's fixed size fields for capacity and msg_size (NMC_EINVAL
 * outside the bounds). */
int camlbox_layout(uint32_t capacity, size_t msg_size, struct camlbox_header *h);
/* Formats a mapping of h->size bytes whose size fields h describes. */
void camlbox_init(void *base, const struct camlbox_header *h);
/* Validates the header of a mapping of size bytes: NMC_ECORRUPT unless it
 * is a formatted box of this version that fits. */
int camlbox_validate(const void *base, size_t size);
/* Sets up a view over a validated mapping. */
void camlbox_view_init(struct camlbox_view *v, void *base, size_t size);
/* Maps the box in fd and validates it. */
int camlbox_view_map(int fd, struct camlbox_view *v);
void camlbox_view_unmap(struct camlbox_view *v);

static inline struct camlbox_slot *camlbox_slot(const struct camlbox_view *v, uint32_t i)
{
    return (struct camlbox_slot *)(v->slots + (size_t)i * v->hdr->slot_size);
}

static inline unsigned char *camlbox_image(const struct camlbox_view *v, uint32_t i)
{
    return (unsigned char *)camlbox_slot(v, i) + SLOT_HEADER;
}

/* Slots not FREE (messages, including those being written): O(capacity). */
uint32_t camlbox_count_messages(const struct camlbox_view *v);

/* ---- slots.c ---- */

/* Sets the free bits of the slots the receiver deleted since the last
 * call, and wakes sleeping senders. */
void camlbox_publish_freed(nmc_camlbox *box);

/* Returns slot i, held by the caller (RESERVED or READY), to the free set
 * and wakes a sleeping sender. */
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

#endif
