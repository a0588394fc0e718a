/* nmc/shmtable.h - persistent shared hash tables (OCamlnet's Netshm).
 *
 * A table maps int32 keys to int32 arrays and lives in a regular file or a
 * POSIX shm object, so that several processes (each with its own
 * descriptor) share it and it outlives them. As in Hashtbl, bindings of a
 * key stack up: add pushes, remove pops, find sees the newest.
 *
 * ---- Descriptors ----------------------------------------------------------
 * An nmc_shm_descr is one open file description of the object. Every process
 * opens its own (a descriptor inherited over fork shares its locks with the
 * parent: do not use it in the child). Descriptors and tables are not
 * thread-safe: one per thread.
 *
 * ---- Locking --------------------------------------------------------------
 * NMC_SHM_RECORD_LOCKING uses fcntl open-file-description locks (F_OFD_SETLKW)
 * on byte 0 of the object, in read or write mode: one lock region covering
 * the whole table. OFD locks belong to the descriptor, not to the process,
 * so closing some other fd on the same file never drops them (the
 * original's lockf locks did), and two descriptors in one process exclude
 * each other like two processes do.
 *  - A mutation write-locks the table for its duration.
 *  - A read outside a group takes no lock at all when it can: it reads
 *    optimistically and validates against the table's change counter
 *    (odd while a writer is inside, bumped by every mutation); after a
 *    failed validation it read-locks and reads again.
 *  - Inside nmc_shmtable_group every operation locks for real and the
 *    unlocks wait for the outermost group's end, so the group's sequence
 *    sees no interference. A group that read-locked and then mutates must
 *    upgrade its lock; two groups doing so at once would wait on each other
 *    forever. The second one gets NMC_EDEADLOCK instead (the header records
 *    the one thread allowed to wait for an upgrade, by thread id and start
 *    time as an nmc_owner of nmc/sync.h; a recorder that is gone, also one
 *    whose pid a new process got since, is ignored). Nothing was changed by the refused operation; return the
 *    status from the group, whose end releases the locks, then retry the
 *    whole group. Deadlocks across two different tables are not detected.
 *  - Iterations (iter, iter_keys, fold, find_all, read_blocks, write_blocks)
 *    hold the lock while their callbacks run; a mutation through the same
 *    table from inside such a callback gives NMC_ELOCKED.
 * NMC_SHM_NO_LOCKING takes no locks: fine when nobody writes concurrently.
 * Its reads outside groups and iterations are optimistic as well (checked
 * against the change counter).
 *
 * ---- Robustness -----------------------------------------------------------
 * Any file content (truncated, bit-flipped, hostile) gives NMC_ECORRUPT,
 * never a crash, a hang or a write outside the object: every page number is
 * checked against the mapped size, every chain walk is bounded, values are
 * copied with the caller's capacity. That holds too while another process
 * rewrites the object under an operation: each word is read once and used
 * as it was checked (a mutation frees the pages its validation found, not
 * what the links say by then). nmc_shmtable_last_fault says which page and
 * field failed. The object grows automatically (other processes remap
 * when they notice) and never shrinks; freed pages are reused. Pages are
 * committed (posix_fallocate) before they are used: the object's own when
 * a table is initialised, sparse or not, and the new ones when it grows,
 * so a full tmpfs or disk is NMC_ENOSPC from the call that needs the
 * space, with the table as it was, never a SIGBUS later.
 * A process that truncates the object (FILE or POSIX) under a table, so
 * that the last system page the table maps is gone, makes every operation
 * of that table which ends after the cut give NMC_ECORRUPT (field
 * "truncated", with a page that is gone), never SIGBUS, whether the table
 * was busy or idle: the mapping is a guarded range (nmc/sys.h), where
 * pages past the new end read as zeros. (A cut inside that last page only
 * zeroes its tail, which the kernel keeps mapped: the table reads it as
 * content, like any rewrite.) A mutation caught by a cut leaves the change
 * counter odd, as a dead writer does (below). The table stays usable: once
 * the object is whole again (its size and the content that was cut off
 * put back), the same table works again. While tables are open the
 * library's SIGBUS handler is installed; do not change the SIGBUS action
 * meanwhile. The owner of an object can always do this to it, so
 * nmc_shm_open refuses an object that another uid owns (FILE or POSIX,
 * even to root, whatever its mode) unless the caller accepts that with
 * NMC_SHM_ANY_OWNER.
 *
 * ---- Writers that die ----------------------------------------------------
 * A process killed inside a mutation leaves the table as it was before the
 * mutation or as it would be after it, never in between: a mutation writes
 * what it adds into free pages, publishes it with one store (a hash cell,
 * or an older-binding link), and frees what it replaced or removed after
 * that; replace too writes new pages (a value is never overwritten in
 * place) and a hash-area switch goes through a journal (w18-19). What such
 * a writer leaves (pages taken but not published, or unpublished but not
 * freed, stale counts, a half-done switch, the change counter odd) is
 * repaired by the next process that takes the write lock, or that reads
 * through a writable descriptor with RECORD_LOCKING: it rebuilds the free
 * list from the pages nothing reaches and recounts. Until then read-only
 * descriptors see the committed state (through the journal if a switch
 * was torn), with stale counts (length) possible. Not covered: a group
 * is a sequence of mutations, not a transaction (killed between two, the
 * first stays done), and write_blocks modifies values in place.
 *
 * ---- Format (version 1) ---------------------------------------------------
 * Host-endian uint32 words; the object is a sequence of pages of P bytes
 * (P >= 160, P % 4 == 0, P <= 1 MiB, fixed at creation; default 256).
 * Page numbers are uint32, page 0 is the header:
 *   w0 magic 0x4e4d4353, w1 magic 0x48544231, w2 version 1, w3 P,
 *   w4 npages: pages formatted (the object holds at least npages * P bytes),
 *   w5 top: pages [top, npages) were never used (the reserve),
 *   w6 change counter (odd while a mutation is in progress),
 *   w7 hash_start, w8 hash_pages: the hash area, contiguous pages,
 *   w9 ncells: hash cells (a power of two >= 16; hash_pages = ceil(8 ncells / P)),
 *   w10 used cells (live + deleted), w11 keys (live cells), w12 bindings,
 *   w13 free list head (0 = empty), w14 free pages, w15 0,
 *   w16-17 the upgrade waiter (locking, see above: an nmc_owner, 0 = none),
 *   w18-19 a hash-area
 *   switch in progress: its start page and cells (0 = none); the rest is 0.
 * Hash area: ncells cells of 2 words {key, page}: page 0 = never used,
 *   0xffffffff = deleted, else the first page of the key's newest binding.
 *   Slot of a key: (key * 0x9e3779b1) >> (32 - log2 ncells), then linear
 *   probing. A new key is inserted after rehashing into a fresh area
 *   (old pages freed) when 2 (used + 1) > ncells.
 * Binding pages, each with a 5-word header then P/4 - 5 data words:
 *   first page:  w0 0x42494e44 "BIND", w1 key, w2 next page of this
 *                binding (0 = last), w3 first page of the next older binding
 *                of the same key (0 = none), w4 value length in words;
 *   follow page: w0 0x434f4e54 "CONT", w1 key, w2 next, w3 sequence number
 *                (1, 2, ...), w4 0.
 *   A value of n words takes max(1, ceil(n / (P/4 - 5))) pages, exactly.
 * Free page: w0 0x46524545 "FREE", w1 next free page (0 = end).
 * nmc_shmtable_check verifies all of it: every page in [1, top) is exactly
 * one of hash, binding or free page, reached exactly once, and the counters
 * match.
 */
#ifndef NMC_SHMTABLE_H
#define NMC_SHMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nmc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- descriptors (Netshm.shm_descr) ----------------------------------- */

enum nmc_shm_type { NMC_SHM_FILE = 0, NMC_SHM_POSIX = 1 };

/* A name: a file path, or a POSIX shm name ("/name"). */
typedef struct nmc_shm_name {
    enum nmc_shm_type type;
    const char *name;
} nmc_shm_name;

typedef struct nmc_shm_descr nmc_shm_descr;

enum nmc_shm_locking { NMC_SHM_NO_LOCKING = 0, NMC_SHM_RECORD_LOCKING = 1 };

/* Bit set of the supported types: (1u << NMC_SHM_FILE) | (1u << NMC_SHM_POSIX). */
unsigned nmc_shm_supported_types(void);

/* The best locking method other than NO_LOCKING for a type
 * (RECORD_LOCKING for both); NMC_EINVAL for an unknown type. */
int nmc_shm_best_locking_method(enum nmc_shm_type type, enum nmc_shm_locking *out);

/* nmc_shm_open flag (not an O_ flag): accept an object that another uid
 * owns. */
#define NMC_SHM_ANY_OWNER 0x40000000

/* Opens an object. flags: O_RDONLY or O_RDWR, plus O_CREAT, O_EXCL,
 * O_TRUNC, NMC_SHM_ANY_OWNER (anything else: NMC_EINVAL, for both types,
 * as the manual limits POSIX shm); perm is the mode for O_CREAT. With
 * unique, the name is a template as in nmc_shm_create_unique and O_CREAT |
 * O_EXCL are implied. A missing object gives NMC_ENOT_FOUND, other
 * failures NMC_ESYS. The object must be a regular file (NMC_EINVAL; a
 * POSIX shm object is one) owned by the caller's effective uid (NMC_EPERM,
 * also for root, whatever the object's mode), unless flags has
 * NMC_SHM_ANY_OWNER: its owner can truncate or rewrite it under the table
 * at any time, which the table survives ("Robustness") but cannot undo.
 * The check comes before O_TRUNC, so a refused object is left as it was.
 * NMC_SHM_FILE names are opened with O_NOFOLLOW (a symbolic link gives
 * NMC_ESYS, errno ELOOP). */
int nmc_shm_open(const nmc_shm_name *name, int flags, mode_t perm, bool unique,
                 nmc_shm_descr **out);
/* Creates a new object (read-write, O_EXCL, mode perm) whose name is the
 * template's with every 'X' of its last path component replaced by a random
 * letter or digit; at least one 'X' is required (NMC_EINVAL). */
int nmc_shm_create_unique(const nmc_shm_name *templ, mode_t perm, nmc_shm_descr **out);
/* The object's actual name, valid until nmc_shm_close. */
const nmc_shm_name *nmc_shm_name_of(const nmc_shm_descr *d);
/* Closes the descriptor (dropping its locks); the object stays. NULL is a no-op.
 * Close tables managing it first. */
int nmc_shm_close(nmc_shm_descr *d);
/* Removes the name; NMC_ENOT_FOUND if it does not exist. */
int nmc_shm_unlink(const nmc_shm_name *name);
int nmc_shm_chmod(nmc_shm_descr *d, mode_t perm);
int nmc_shm_chown(nmc_shm_descr *d, uid_t uid, gid_t gid);

/* ---- tables (Netshm.shm_table) ---------------------------------------- */

typedef struct nmc_shmtable nmc_shmtable;

#define NMC_SHMTABLE_DEFAULT_PAGESIZE 256
#define NMC_SHMTABLE_MIN_PAGESIZE 160
#define NMC_SHMTABLE_MAX_PAGESIZE (1 << 20)

/* Starts managing d as a table. An empty object is initialised; a
 * non-empty one must hold a valid table (NMC_ECORRUPT otherwise). pagesize:
 * 0 = the object's (NMC_SHMTABLE_DEFAULT_PAGESIZE for a new one), else it
 * must be valid and equal to the object's (NMC_EINVAL). init >= 0
 * re-initialises the table (all bindings are dropped; the object keeps its
 * size), sized so that about init bindings of one page fit without
 * reorganisation; init < 0 keeps the content. Initialising commits the
 * object's whole size: NMC_ENOSPC if the backing store cannot hold it. A
 * read-only descriptor can manage an existing table; its mutations give
 * NMC_EPERM. */
int nmc_shmtable_manage(nmc_shm_descr *d, enum nmc_shm_locking locking, size_t pagesize,
                        long init, nmc_shmtable **out);
/* Stops managing (unmaps; the descriptor stays open). NULL is a no-op. */
void nmc_shmtable_close(nmc_shmtable *t);

/* Runs fn(t, arg) as a group and returns its result. Groups nest. */
typedef int (*nmc_shmtable_group_fn)(nmc_shmtable *t, void *arg);
int nmc_shmtable_group(nmc_shmtable *t, nmc_shmtable_group_fn fn, void *arg);

/* Pushes a binding key -> value[0 .. len). */
int nmc_shmtable_add(nmc_shmtable *t, int32_t key, const int32_t *value, size_t len);
/* Replaces the newest binding of key (adds one if there is none). */
int nmc_shmtable_replace(nmc_shmtable *t, int32_t key, const int32_t *value, size_t len);
/* Pops the newest binding of key; nothing if key is unbound. */
int nmc_shmtable_remove(nmc_shmtable *t, int32_t key);

/* Copies the newest value of key into buf (up to cap words) and sets *len
 * to its length. NMC_ENOT_FOUND if unbound; NMC_EOUT_OF_SPACE if
 * cap < *len (then only *len is meaningful). buf may be NULL when cap is 0. */
int nmc_shmtable_find(nmc_shmtable *t, int32_t key, int32_t *buf, size_t cap, size_t *len);
/* *bound = whether key has a binding. */
int nmc_shmtable_mem(nmc_shmtable *t, int32_t key, bool *bound);
/* *n = number of bindings (several for a key count several times). */
int nmc_shmtable_length(nmc_shmtable *t, size_t *n);

/* Callbacks of the iterations get a value as a pointer and a length, valid
 * during the call only. They return 0 to go on; any other value stops the
 * iteration, which returns it. */
typedef int (*nmc_shmtable_binding_fn)(int32_t key, const int32_t *value, size_t len,
                                       void *user);
typedef int (*nmc_shmtable_key_fn)(int32_t key, void *user);

/* Calls fn for each binding of key, newest first (find_all). */
int nmc_shmtable_find_all(nmc_shmtable *t, int32_t key, nmc_shmtable_binding_fn fn,
                          void *user);
/* Calls fn once per binding, in unspecified key order; a key's bindings
 * come newest first. The table is read-locked meanwhile. */
int nmc_shmtable_iter(nmc_shmtable *t, nmc_shmtable_binding_fn fn, void *user);
/* Calls fn once per bound key. */
int nmc_shmtable_iter_keys(nmc_shmtable *t, nmc_shmtable_key_fn fn, void *user);
/* iter with an accumulator: fn(key, value, len, acc) updates *acc. */
int nmc_shmtable_fold(nmc_shmtable *t, nmc_shmtable_binding_fn fn, void *acc);

/* Block access (read_blocks / write_blocks). For each binding of key,
 * newest first, fn gets the value's blocks in order, pointers into the
 * shared object, then (NULL, 0) to end the binding. It returns one of: */
enum nmc_shmtable_ctrl {
    NMC_SHMTABLE_NOP = 0,            /* go on                                   */
    NMC_SHMTABLE_REMOVE_BINDING = 1, /* write_blocks: remove this binding       */
    NMC_SHMTABLE_NEXT = 2,           /* skip to the next binding (exception Next) */
    NMC_SHMTABLE_BREAK = 3,          /* stop (exception Break)                   */
};
/* ops of write_blocks: the modifications fn may ask for. */
#define NMC_SHMTABLE_OP_REMOVE_BINDING 1u

typedef int (*nmc_shmtable_block_fn)(int32_t *block, size_t len, void *user);
/* The blocks are read-locked; fn must not write through them. fn may return
 * NOP, NEXT or BREAK; anything else stops and is returned. */
int nmc_shmtable_read_blocks(nmc_shmtable *t, int32_t key, nmc_shmtable_block_fn fn,
                             void *user);
/* The blocks are write-locked; fn may modify them in place. A binding for
 * which fn returned REMOVE_BINDING at least once is removed once fn has
 * finished with it (also after NEXT or BREAK). REMOVE_BINDING without the
 * bit in ops stops with NMC_EINVAL; a value other than the four is
 * returned as is. */
int nmc_shmtable_write_blocks(nmc_shmtable *t, unsigned ops, int32_t key,
                              nmc_shmtable_block_fn fn, void *user);

/* Where the last NMC_ECORRUPT of this table was found. */
struct nmc_shmtable_fault {
    uint32_t page;     /* page number (0 = the header)      */
    const char *field; /* a static name: "magic", "next", ... */
};
void nmc_shmtable_last_fault(const nmc_shmtable *t, struct nmc_shmtable_fault *out);

/* fsck: verifies the whole format (read-locked). NMC_ECORRUPT with
 * *fault (optional) set to the first violation found. */
int nmc_shmtable_check(nmc_shmtable *t, struct nmc_shmtable_fault *fault);
/* Writes a human-readable description (header, then each key's bindings)
 * to out. */
int nmc_shmtable_dump(nmc_shmtable *t, FILE *out);
/* The memory view (Netshm.memory): the object as a matrix of int32 words,
 * *rows pages of *cols = P/4 words. The pointer stays valid until the next
 * operation on t (a growing or a truncated table moves). Writing through it
 * bypasses every check. */
int nmc_shmtable_memory(nmc_shmtable *t, int32_t **words, size_t *rows, size_t *cols);

#ifdef __cplusplus
}
#endif
#endif
