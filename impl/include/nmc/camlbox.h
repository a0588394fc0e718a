/* nmc/camlbox.h - camlboxes: multi-sender, single-receiver mailboxes of
 * values in one shared memory object (Netcamlbox).
 *
 * The receiver creates the box: capacity slots of at most msg_size bytes
 * each. Any number of senders map the box (by name or fd, at any address,
 * from any process of the same pid namespace: they need not be forked from
 * the receiver) and send values. A message is the copier's image of a value
 * (nmc_init_value) written into a free slot with target_addr = the address
 * of that slot in the receiver, so the receiver reads it in place, with no
 * decoding. The header holds everything a sender needs as offsets and
 * counts; the only absolute address in it is the receiver's base address
 * (and, for comparison only, the addresses of its custom-ops records).
 *
 * How it works (the layout is documented in src/camlbox/camlbox_internal.h):
 *   - Each slot has a state word: FREE, RESERVED by an owner (a thread id
 *     and its start time, nmc_owner in nmc/sync.h), or READY with the
 *     image's length;
 *     it is the only shared bookkeeping, so a message moves one cache line
 *     (its slot) from sender to receiver and back. A sender takes a ticket
 *     (a counter only senders touch) and claims the first FREE slot from
 *     ticket % capacity on with a compare-and-swap on the state word
 *     (FREE -> RESERVED | its tid). No lock: senders never wait for each
 *     other, and none is held while copying.
 *   - The sender copies its value into the slot, bounded by the slot: a
 *     value whose image exceeds msg_size gives NMC_EMESSAGE_TOO_BIG, writes
 *     nothing outside the slot, and the slot goes back to the free set.
 *   - It marks the slot READY. Tickets fill the ring in order, so the
 *     receiver's wait reads the slots after the last one it reported and
 *     stops at the first without a message; when that finds nothing it
 *     scans every slot's state (O(capacity), like the original's wait),
 *     which also finds messages sent to a preferred slot.
 *   - delete marks the slot FREE: O(1).
 *   - A side that finds nothing to do spins briefly (about ten
 *     microseconds), then sleeps on a futex; the other side issues a wake
 *     only when a sleeper announced itself, so while both run no message
 *     costs a system call. The spin adapts per thread: spins that keep
 *     failing (more processes than cores: the other side is not running)
 *     shrink until waiting is plain sleeping, and come back when they pay.
 *   - A sender that dies while its slot is RESERVED (killed mid-copy) does
 *     not leak it: every wait that finds no message at once (a
 *     non-blocking poll, a short timeout, a wait about to sleep) frees the
 *     slots whose owner is gone if NMC_SYNC_POLL_MS passed since it last
 *     did, so the slot comes back within that interval of the death to a
 *     receiver that keeps calling; senders blocked on a full box and
 *     nmc_camlbox_reclaim do it too. "Gone" is nmc_owner_liveness: a pid
 *     that a new process got since does not keep the dead sender alive.
 *   - Senders blocked on a full box check every NMC_SYNC_POLL_MS that the
 *     receiving thread lives and has not closed the box: otherwise the send
 *     returns NMC_EOWNER_DEAD rather than hanging (NMC_ESYS, errno kept,
 *     when the receiver's liveness cannot be read).
 *   - The synchronisation words live in the shared object and are never
 *     destroyed: closing or unlinking the box leaves every sender's mapping
 *     valid.
 *
 * Bounds: 1 <= capacity <= NMC_CAMLBOX_MAX_CAPACITY; msg_size <=
 * NMC_CAMLBOX_MAX_MSG_SIZE bytes of image (a 32-byte string needs 48: a
 * header word and five words of text and padding). A slot takes 16 bytes
 * of bookkeeping plus msg_size, rounded up to 64. The object's pages are committed
 * at creation (posix_fallocate): a full tmpfs gives NMC_ENOSPC then, never
 * a SIGBUS later.
 *
 * Messages. Immediate values are sent as they are. Blocks are copied with
 * NMC_COPY_ATOM (zero-size blocks become real blocks in the slot, since the
 * receiver's atoms may live elsewhere); int32 / int64 / nativeint and
 * bigarray customs are copied when the sender's custom-ops records are at
 * the receiver's addresses (processes forked from one program), otherwise
 * such a message gives NMC_EUNSUPPORTED. The receiver reads a message in
 * place (nmc_camlbox_get) until it deletes it; nmc_camlbox_get_checked runs
 * the image verifier first, for senders the receiver does not trust.
 *
 * Senders that misbehave. The object is shared with every sender, and a
 * sender can write any byte of it at any time. What the receiver and the
 * honest senders rely on is private: the geometry (capacity, msg_size,
 * slot size, the receiver's address and identity) is read once, from a
 * copy of the header validated when the box is created or opened, and
 * never from the shared header again, so a rewritten header steers no
 * index and no copy (nmc_camlbox_check reports it: NMC_ECORRUPT). A slot's
 * state and root words are read once per call and validated against that
 * geometry: get and get_checked return NMC_ECORRUPT for a message that
 * does not fit its slot, and get_checked returns the very root it
 * checked. The image stays in the shared slot, though: a sender that
 * keeps writing a slot after publishing it can change a value under a
 * reader that already checked it. For senders the receiver does not
 * trust, nmc_camlbox_get_verified copies the image into private memory
 * first, verifies the copy and returns that. A sender may also truncate
 * the object (it has it open read-write): every mapping of the box is a
 * guarded range (nmc/sys.h), so an access past the cut reads zeros
 * instead of raising SIGBUS, and from then on every call on that handle
 * returns NMC_ECORRUPT (a receiver blocked in a wait too, within
 * NMC_SYNC_POLL_MS); a handle whose accesses never reach the cut learns
 * of it only when one does.
 *
 * Threads. Any number of threads may send through one sender handle. The
 * receiving side (wait, get, delete) belongs to one thread at a time; only
 * nmc_camlbox_cancel_wait may be called from another thread.
 *
 * Statuses common to all functions: NMC_EINVAL for NULL handles or
 * out-parameters and out-of-range slot numbers; NMC_ESYS (errno kept) when
 * a system call fails; NMC_ECORRUPT when an object is not a well-formed
 * camlbox of this version (layout version 3), or a slot's words do not
 * describe a message that fits it.
 */
#ifndef NMC_CAMLBOX_H
#define NMC_CAMLBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "nmc/value.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NMC_CAMLBOX_MAX_CAPACITY (1u << 20)
#define NMC_CAMLBOX_MAX_MSG_SIZE ((size_t)1 << 30)
/* "No preferred slot" for the send functions. */
#define NMC_CAMLBOX_ANY_SLOT UINT32_MAX

typedef struct nmc_camlbox nmc_camlbox;               /* the receiver's handle */
typedef struct nmc_camlbox_sender nmc_camlbox_sender; /* a sender's handle     */

/* ---- creating and naming (create_camlbox, format_camlbox, ...) ---------- */

/* Creates the POSIX shm object name ("/..." , created O_EXCL, mode 0600)
 * holding an empty box of capacity slots for messages of up to msg_size
 * bytes, and maps it for the calling thread, which becomes the receiver.
 * NMC_EINVAL for bad sizes, NMC_ESYS with errno EEXIST if the name exists,
 * NMC_ENOSPC if the backing store is full (the name is then removed). */
int nmc_camlbox_create(const char *name, uint32_t capacity, size_t msg_size,
                       nmc_camlbox **out);
/* The same in an open file descriptor (shm or file, resized to fit): the
 * caller keeps the fd, e.g. to pass it to senders. */
int nmc_camlbox_format(int fd, uint32_t capacity, size_t msg_size, nmc_camlbox **out);
/* Removes the name (NMC_ENOT_FOUND if absent); mappings stay valid. */
int nmc_camlbox_unlink(const char *name);
/* Opens the named box's object read-write into *fd (camlbox_fd). */
int nmc_camlbox_fd(const char *name, int *fd);
/* Unmaps the receiver's view and frees the handle. Senders blocked on the
 * full box then get NMC_EOWNER_DEAD. Never destroys anything a sender uses. */
int nmc_camlbox_close(nmc_camlbox *box);

/* ---- senders ------------------------------------------------------------ */

/* A sender for the named box (camlbox_sender; NMC_ENOT_FOUND if absent).
 * A sender whose effective uid is not the owner of the box's object gets
 * NMC_EPERM (even root, even if the object's mode lets it map the box),
 * unless the receiver allowed that uid with nmc_camlbox_allow_uid. */
int nmc_camlbox_sender_open(const char *name, nmc_camlbox_sender **out);
/* A sender for the box in fd (the fd may be closed afterwards); the same
 * owner check. */
int nmc_camlbox_sender_of_fd(int fd, nmc_camlbox_sender **out);
/* Lets senders running as uid (one uid at a time; a second call replaces
 * the first) open the box although they do not own it. The object's mode
 * (0600 at creation) must let them open it too: widen it with fchmod on
 * nmc_camlbox_fd, or use fd passing. NMC_EINVAL for NULL or uid -1. */
int nmc_camlbox_allow_uid(nmc_camlbox *box, uid_t uid);
/* Unmaps the sender's view and frees the handle. */
int nmc_camlbox_sender_close(nmc_camlbox_sender *s);

/* Copies v into a free slot for the receiver: prefer if that slot is free
 * (NMC_CAMLBOX_ANY_SLOT for no preference), else any. Blocks while the box
 * is full. *slot (may be NULL) receives the slot used. Returns NMC_OK;
 * NMC_EMESSAGE_TOO_BIG (image larger than msg_size; nothing sent);
 * NMC_EUNSUPPORTED (a value the copier refuses, see above); NMC_ENOMEM;
 * NMC_EOWNER_DEAD (the box is full and its receiver died or closed it). */
int nmc_camlbox_send(nmc_camlbox_sender *s, nmc_value v, uint32_t prefer, uint32_t *slot);
/* Like nmc_camlbox_send, but NMC_ETIMEDOUT once abs_deadline
 * (CLOCK_MONOTONIC, see nmc_deadline_in) passes with the box still full. */
int nmc_camlbox_timedsend(nmc_camlbox_sender *s, nmc_value v, uint32_t prefer,
                          const struct timespec *abs_deadline, uint32_t *slot);
/* Makes the receiver's current or next wait return, with no new slots if
 * none arrived (camlbox_wake). */
int nmc_camlbox_wake(nmc_camlbox_sender *s);

/* ---- receiving ---------------------------------------------------------- */

/* Blocks until messages arrive that earlier waits did not report, and
 * stores slot numbers of such messages in slots[0 .. *n): at least one, at
 * most max (>= 1, else NMC_EINVAL), not necessarily all of them (those
 * the ring walk cannot reach yet, e.g. behind a slot still being written,
 * come with a later wait; every message is reported once). *n may be 0
 * after a wake or cancel_wait. */
int nmc_camlbox_wait(nmc_camlbox *box, uint32_t *slots, size_t max, size_t *n);
/* Like nmc_camlbox_wait, but NMC_ETIMEDOUT (*n = 0) once abs_deadline
 * passes with nothing new. */
int nmc_camlbox_timedwait(nmc_camlbox *box, const struct timespec *abs_deadline,
                          uint32_t *slots, size_t max, size_t *n);
/* Makes the current or next wait return (callable from any thread). */
int nmc_camlbox_cancel_wait(nmc_camlbox *box);

/* The message in slot, in place (no copy): valid until the slot is
 * deleted. NMC_EEMPTY if the slot holds no message. */
int nmc_camlbox_get(nmc_camlbox *box, uint32_t slot, nmc_value *v);
/* The same after nmc_image_check accepted the slot's image: NMC_ECORRUPT
 * otherwise. The check holds for the bytes as they were: a sender can
 * still write the slot afterwards (see "Senders that misbehave"). */
int nmc_camlbox_get_checked(nmc_camlbox *box, uint32_t slot, nmc_value *v);
/* The message copied into arena as the slot held it (one read of its
 * bytes), verified there (nmc_image_move) and returned from there: what
 * the sender writes into the slot afterwards cannot change it, and the
 * slot may be deleted at once. NMC_ECORRUPT if the copy is not a
 * well-formed image, NMC_ENOMEM if the arena cannot hold it. Costs one
 * memcpy and one verification of the image's bytes. */
int nmc_camlbox_get_verified(nmc_camlbox *box, uint32_t slot, nmc_arena *arena,
                             nmc_value *v);
/* A deep copy of the message into arena (NMC_ENOMEM if it fails). */
int nmc_camlbox_get_copy(nmc_camlbox *box, uint32_t slot, nmc_arena *arena, nmc_value *v);
/* Frees slot for the next message: O(1). NMC_EEMPTY if it holds none. */
int nmc_camlbox_delete(nmc_camlbox *box, uint32_t slot);
/* Frees the slots of senders that died in a send; *freed (may be NULL)
 * counts them. Waits and blocked senders do this on their own when idle;
 * this makes it happen now. */
int nmc_camlbox_reclaim(nmc_camlbox *box, uint32_t *freed);
/* Verifies the shared layout, every slot's state word and READY slot's
 * header, and that the slots a wait reported and the receiver has not
 * deleted still hold their messages: NMC_OK or NMC_ECORRUPT. */
int nmc_camlbox_check(const nmc_camlbox *box);

/* ---- sizes (camlbox_capacity, _msg_size, _messages; b*: box, s*: sender) */

/* capacity: slots; msg_size: bytes per message; messages: slots not free
 * (messages waiting or being written). By name, NMC_ENOT_FOUND if absent. */
int nmc_camlbox_capacity(const char *name, uint32_t *capacity);
int nmc_camlbox_msg_size(const char *name, size_t *msg_size);
int nmc_camlbox_messages(const char *name, uint32_t *messages);
int nmc_camlbox_bcapacity(const nmc_camlbox *box, uint32_t *capacity);
int nmc_camlbox_bmsg_size(const nmc_camlbox *box, size_t *msg_size);
int nmc_camlbox_bmessages(const nmc_camlbox *box, uint32_t *messages);
int nmc_camlbox_scapacity(const nmc_camlbox_sender *s, uint32_t *capacity);
int nmc_camlbox_smsg_size(const nmc_camlbox_sender *s, size_t *msg_size);
int nmc_camlbox_smessages(const nmc_camlbox_sender *s, uint32_t *messages);

#ifdef __cplusplus
}
#endif
#endif
