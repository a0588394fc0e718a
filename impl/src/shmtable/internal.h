/* Internals of the shmtable module: the descriptor and table structs, the
 * format's constants (documented in nmc/shmtable.h) and the helpers the
 * source files share.
 *
 * The mapped object is input (impl/README.md, "Shared memory is input"):
 * any process that can open it may rewrite any word at any time. So every
 * word of it is read once into a local (LOAD_ONCE, or hdr_get for a header
 * word, which is the same), the local is validated, and only the local is
 * used after that: a check followed by a second read of the same word is a
 * bug. What a walk validated is handed on in locals (struct binding, the
 * page numbers a mutation frees) rather than read again. The geometry
 * checked when the table was opened (the page size) is kept in the handle;
 * the header's other words are checked by every view. */
#ifndef NMC_SHMTABLE_INTERNAL_H
#define NMC_SHMTABLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"
#include "nmc/shmtable.h"
#include "nmc/status.h"
#include "nmc/sys.h"

struct nmc_shm_descr {
    int fd;
    bool writable;
    nmc_shm_name name; /* name.name points to path */
    char *path;
};

/* Header words (page 0). */
enum {
    H_MAGIC0,
    H_MAGIC1,
    H_VERSION,
    H_PAGESIZE,
    H_NPAGES,
    H_TOP,
    H_SEQ,
    H_HASH_START,
    H_HASH_PAGES,
    H_NCELLS,
    H_USED,
    H_NKEYS,
    H_NBINDINGS,
    H_FREE_HEAD,
    H_NFREE,
    H_ZERO,
    H_UPGRADER,            /* 64-bit, words 16-17 */
    H_PENDING_START = 18,  /* a hash-area switch in progress: its start, */
    H_PENDING_CELLS,       /* and its cells (0: none; shmt_finish_rehash) */
    H_WORDS,
};

#define SHMT_MAGIC0 0x4e4d4353u
#define SHMT_MAGIC1 0x48544231u
#define SHMT_VERSION 1u
#define TAG_FIRST 0x42494e44u /* "BIND" */
#define TAG_CONT 0x434f4e54u  /* "CONT" */
#define TAG_FREE 0x46524545u  /* "FREE" */
#define CELL_EMPTY 0u
#define CELL_DELETED 0xffffffffu
#define MIN_CELLS 16u
#define MAX_CELLS (1u << 30)
#define MAX_PAGES 0x7fffffffu

/* Binding page words. */
enum { P_TAG, P_KEY, P_NEXT, P_OLDER, P_LEN, P_DATA };
#define P_SEQNO P_OLDER /* follow pages: sequence number in place of "older" */

enum lock_mode { HELD_NONE, HELD_READ, HELD_WRITE };

struct nmc_shmtable {
    nmc_shm_descr *d;
    enum nmc_shm_locking locking;
    uint32_t pagesize, pw; /* bytes and words per page */
    uint32_t *map;         /* the object, mapped */
    size_t map_len;
    nmc_sys_guard *guard;  /* the mapping's SIGBUS guard; NULL while unmapped */
    enum lock_mode held;
    int group_depth;
    int iter_depth;        /* callbacks holding pointers run: no remap, no mutation */
    struct nmc_shmtable_fault fault;
};

/* A validated snapshot of the header: what an operation works with. */
struct view {
    uint32_t *w;     /* the whole mapping as words */
    uint32_t pw;     /* words per page */
    uint32_t npages, top;
    uint32_t hstart, hpages, ncells, shift;
};

/* Records where corruption was found and returns NMC_ECORRUPT. */
int shmt_corrupt(nmc_shmtable *t, uint32_t page, const char *field);

/* LOAD_ONCE of header word i. */
static inline uint32_t hdr_get(const nmc_shmtable *t, int i)
{
    return LOAD_ONCE(&t->map[i]);
}
static inline void hdr_set(nmc_shmtable *t, int i, uint32_t x)
{
    __atomic_store_n(&t->map[i], x, __ATOMIC_RELAXED);
}
static inline uint32_t *page_at(const struct view *v, uint32_t pg)
{
    return v->w + (size_t)pg * v->pw;
}
static inline uint32_t *cell_at(const struct view *v, uint32_t i)
{
    return v->w + (size_t)v->hstart * v->pw + 2 * (size_t)i;
}
static inline uint32_t hash_slot(const struct view *v, int32_t key)
{
    return ((uint32_t)key * 0x9e3779b1u) >> v->shift;
}
static inline uint32_t data_words(const struct view *v)
{
    return v->pw - P_DATA;
}
/* True for a page number that may hold a binding or be free. */
static inline bool page_ok(const struct view *v, uint32_t pg)
{
    return pg >= 1 && pg < v->top && (pg < v->hstart || pg - v->hstart >= v->hpages);
}
/* The page whose data words start at data (a walk's block). */
static inline uint32_t page_of_data(const struct view *v, const int32_t *data)
{
    return (uint32_t)(((const uint32_t *)data - P_DATA - v->w) / v->pw);
}

/* Cell i, read once: its page (CELL_EMPTY, CELL_DELETED or the first page
 * of the key's newest binding, unchecked); *key = its key. */
static inline uint32_t cell_get(const struct view *v, uint32_t i, int32_t *key)
{
    const uint32_t *c = cell_at(v, i);
    *key = (int32_t)LOAD_ONCE(&c[0]);
    return LOAD_ONCE(&c[1]);
}
static inline bool cell_live(uint32_t pg)
{
    return pg != CELL_EMPTY && pg != CELL_DELETED;
}

/* The first page of a binding as shmt_binding read and validated it. */
struct binding {
    int32_t key;
    uint32_t first;  /* its first page                                   */
    uint32_t len;    /* value length in words                            */
    uint32_t npages; /* pages the value takes (>= 1, < top)              */
    uint32_t older;  /* first page of the next older binding, unchecked  */
};

/* ---- format.c ----------------------------------------------------------- */
/* Maps the whole object (nothing when empty); *size = its size. */
int shmt_map_object(nmc_shmtable *t, size_t *size);
void shmt_unmap(nmc_shmtable *t);
/* Records the page of a fault at address at (field "truncated"); true. */
bool shmt_fault_noted(nmc_shmtable *t, const void *at);
/* True if the object was truncated under the mapping: the guard caught a
 * fault since the mapping was made, or does now at its last byte (the
 * object never shrinks otherwise, so this catches a cut whatever pages
 * the operation used). Records the fault. */
static inline bool shmt_faulted(nmc_shmtable *t)
{
    if (t->guard == NULL)
        return false;
    (void)((volatile const unsigned char *)t->map)[t->map_len - 1];
    const void *at = nmc_sys_guard_fault(t->guard);
    return at != NULL && shmt_fault_noted(t, at);
}
/* After shmt_faulted said so: NMC_ECORRUPT, and the mapping is made afresh
 * for the next operation (outside iterations: their callbacks hold
 * pointers into it). */
int shmt_cut(nmc_shmtable *t);
/* The status of an operation that got rc: shmt_cut's if the object was
 * truncated under it. Reads end with it; mutations look before they start
 * and before they complete (lock.c). */
int shmt_end(nmc_shmtable *t, int rc);
/* Remaps if another process grew the object, then loads and validates the
 * header into *v. */
int shmt_view(nmc_shmtable *t, struct view *v);
/* Pages needed by a value of len words (0 if it cannot be stored). */
uint32_t shmt_pages_for(const struct view *v, size_t len);
/* Hash pages for ncells cells. */
uint32_t shmt_hash_pages(uint32_t pagesize, uint32_t ncells);
/* Smallest power of two >= MIN_CELLS with 2 * (nkeys + 1) <= ncells. */
uint32_t shmt_cells_for(uint64_t nkeys);
/* Makes sure n pages can be allocated (growing the object: *v is reloaded). */
int shmt_reserve(nmc_shmtable *t, struct view *v, uint64_t n);
/* Takes one page (after shmt_reserve); 0 if the free list is corrupt. */
uint32_t shmt_alloc_page(nmc_shmtable *t, struct view *v);
/* Returns a page to the free list. */
void shmt_free_page(nmc_shmtable *t, const struct view *v, uint32_t pg);
/* Writes a fresh header (init hint) over the whole mapped object. */
int shmt_format(nmc_shmtable *t, uint64_t hint);
/* Makes a new hash area for the current keys plus extra and rehashes. */
int shmt_rehash(nmc_shmtable *t, struct view *v, uint64_t extra);
/* Completes a hash-area switch a dead writer left half done (header only;
 * a journal entry that does not describe a possible area is dropped). */
void shmt_finish_rehash(nmc_shmtable *t);

/* ---- lock.c -------------------------------------------------------------- */
int shmt_lock(nmc_shmtable *t, enum lock_mode mode);
/* Unlocks unless a group or an iteration keeps the lock. */
void shmt_unlock(nmc_shmtable *t);
/* Runs fn under a read: optimistically first when asked and allowed (fn
 * may then run more than once, on torn data), else read-locked. */
typedef int (*shmt_read_fn)(nmc_shmtable *t, const struct view *v, void *arg);
int shmt_read(nmc_shmtable *t, bool optimistic, shmt_read_fn fn, void *arg);
/* Runs fn write-locked, as a mutation (change counter odd meanwhile). */
typedef int (*shmt_write_fn)(nmc_shmtable *t, struct view *v, void *arg);
int shmt_write(nmc_shmtable *t, shmt_write_fn fn, void *arg);

/* ---- ops.c --------------------------------------------------------------- */
/* Cell index of key, or v->ncells if absent; *pg = the cell's page (the
 * newest binding, unchecked) when present. */
uint32_t shmt_lookup(const struct view *v, int32_t key, uint32_t *pg);
/* Reads and validates first page pg of a binding of key into *b. */
int shmt_binding(nmc_shmtable *t, const struct view *v, uint32_t pg, int32_t key,
                 struct binding *b);
/* Walks the pages of binding b (from shmt_binding), validating each link,
 * and calls fn(data, words, arg) per page, b->len words in all; a nonzero
 * fn result stops and is returned. */
typedef int (*shmt_block_fn)(int32_t *data, size_t n, void *arg);
int shmt_walk(nmc_shmtable *t, const struct view *v, const struct binding *b,
              shmt_block_fn fn, void *arg);
/* A shmt_block_fn appending to *(int32_t **)arg. */
int shmt_copy_out(int32_t *data, size_t n, void *arg);
/* Removes binding b of cell c: validates all its pages, unlinks it with one
 * store (from the older link of page prev, or from the cell when prev is
 * 0), then frees the pages the validation found. */
int shmt_remove_binding(nmc_shmtable *t, const struct view *v, uint32_t c, uint32_t prev,
                        const struct binding *b);

/* ---- check.c ------------------------------------------------------------ */
/* After a writer died inside a mutation (write-locked, change counter
 * odd): rebuilds the free list from the pages no binding or hash area
 * reaches, and recounts used cells, keys and bindings. */
int shmt_repair(nmc_shmtable *t, const struct view *v);

#endif
