/* nmc/mempool.h - page-granular memory pools in shared memory
 * (OCamlnet's Netmcore_mempool).
 *
 * A pool is one POSIX shm object mapped MAP_SHARED by the process that
 * creates it. Processes forked after nmc_mempool_create() inherit the
 * mapping at the same address, so pointers into the pool mean the same
 * thing in all of them; that is the only way to share a pool. There is no
 * open-by-name: a process that is not a descendant of the creator would
 * have to map the object at exactly the creator's address, which cannot be
 * guaranteed, so workers must be forked after the pool exists (the process
 * manager forks every worker from the master for this reason). A pool cannot
 * grow, for the same reason.
 *
 * Unlike the original, the creating process may use the pool too.
 *
 * Sizes. The size given to nmc_mempool_create() is the usable area, rounded
 * up to whole pages: a pool of 16 MiB holds 4,096 one-page blocks. The
 * bookkeeping (the header below: the struct, a 20-byte page-table entry
 * and a 4-byte list head per page, and the bitmap) lives in extra pages in
 * front of the usable area, so the shm object is a little larger than the
 * size asked for: about 24 bytes per page, 0.6 %; for 16 MiB (4,096 pages)
 * 25 header pages, 100 KiB. nmc_mempool_stats() reports the usable area
 * only, and nothing else limits the number of blocks: alloc fails with
 * NMC_EOUT_OF_POOL_MEMORY only when no free run is large enough.
 * Blocks are whole pages, page-aligned.
 *
 * Memory commitment. With alloc_really, every page of the shm object is
 * committed at creation (posix_fallocate), so a full tmpfs gives NMC_ENOSPC
 * from create. Without it, only the header is committed at creation and
 * each page is committed (written once with SIGBUS caught) the first time
 * an allocation hands it out, so a full tmpfs gives NMC_ENOSPC from alloc.
 * Either way, touching a block returned by alloc never raises SIGBUS.
 *
 * Lifetime. Pools have kernel persistence: the shm object lives until
 * nmc_mempool_unlink() (or nmc_mempool_destroy()) removes its name AND every
 * process has unmapped it (nmc_mempool_unmap(), or exit). Unlinking does not
 * touch any mapping; processes keep using the pool, and processes forked
 * later still inherit it.
 *
 * Locking. One nmc_mutex (nmc/sync.h) in the pool header guards the pool
 * bookkeeping; every call below takes it. If a process died while holding
 * it (the next caller learns so within about NMC_SYNC_POLL_MS as
 * NMC_EOWNER_DEAD), that caller verifies the bookkeeping (nmc_mempool_check's
 * invariants); if they are broken it rebuilds the free lists from the page
 * table (a block that the dead process was allocating or freeing may stay
 * allocated: leaked, never handed out twice). If even the page table is
 * unusable, the pool is marked broken and every later call returns
 * NMC_ECORRUPT.
 *
 * Costs: alloc and free are O(log64 pages): best fit through a bitmap
 * over run lengths, O(1) coalescing through boundary tags. See
 * src/mempool/runs.c for the algorithm and its invariants.
 */
#ifndef NMC_MEMPOOL_H
#define NMC_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#include "nmc/sync.h"
#include "nmc/sys.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the shared layout ----------------------------------------------------
 *
 * The shm object, from offset 0:
 *
 *   struct nmc_mempool           the header, this struct
 *   struct nmc_mempool_page[n]   page table, one entry per usable page
 *   uint32_t heads[n + 1]        free lists, heads[len] = runs of len pages
 *   uint64_t bitmap words        levels[0]: bit len set iff heads[len] is
 *                                non-empty; levels[k+1]: bit i set iff word
 *                                i of levels[k] is non-zero; the top level
 *                                is one word
 *   (padding to a page boundary: header_pages pages in all)
 *   n usable pages               the blocks handed out
 *
 * Everything inside the header region is addressed by offsets and page
 * indexes, never by pointers: the bookkeeping is position-independent; only
 * the addresses handed out depend on where the pool is mapped (base).
 *
 * A run is a maximal range of pages that is one allocated block (used) or
 * free space (free). Its first and last page entries carry its length and
 * state ("boundary tags"; one entry for a one-page run); every other entry
 * is all zero. Free runs are never adjacent (freeing coalesces them).
 * Links are 1 + page index, 0 meaning none, so zeroed memory is an empty
 * table.
 */

#define NMC_MEMPOOL_MAGIC 0x4c4f4f504d434d4eULL /* "NMCMPOOL" little-endian */
#define NMC_MEMPOOL_VERSION 1u
#define NMC_MEMPOOL_MAX_PAGES 0x7fffffffu /* page indexes fit in 31 bits */
#define NMC_MEMPOOL_LEVELS 6              /* 64^6 > NMC_MEMPOOL_MAX_PAGES + 1 */

enum nmc_mempool_page_flags {
    NMC_MEMPOOL_FIRST = 1, /* first page of a run                        */
    NMC_MEMPOOL_LAST = 2,  /* last page of a run                         */
    NMC_MEMPOOL_USED = 4,  /* the run is an allocated block              */
};

/* One entry per usable page. Only first and last entries of runs are
 * non-zero; next, prev and committed only in the first entry of a free run. */
struct nmc_mempool_page {
    uint32_t len;       /* pages in the run (first and last entry), else 0     */
    uint32_t flags;     /* nmc_mempool_page_flags, 0 inside a run              */
    uint32_t next;      /* free run: 1 + first page of the next run in its list */
    uint32_t prev;      /* free run: 1 + first page of the previous one, 0 = head */
    uint32_t committed; /* free run: its first `committed` pages are committed */
};

typedef struct nmc_mempool {
    uint64_t magic;          /* NMC_MEMPOOL_MAGIC                               */
    uint32_t version;        /* NMC_MEMPOOL_VERSION                             */
    uint32_t broken;         /* 1 once repair failed: every call is ECORRUPT    */
    uint64_t base;           /* address of this header in every process         */
    uint64_t page_size;      /* bytes per page                                  */
    uint64_t map_bytes;      /* size of the shm object and of the mapping       */
    uint64_t data_off;       /* offset of the usable area (header_pages pages)  */
    uint64_t pages_off;      /* offset of the page table                        */
    uint64_t heads_off;      /* offset of the free-list heads                   */
    uint64_t level_off[NMC_MEMPOOL_LEVELS];   /* offset of each bitmap level    */
    uint32_t level_words[NMC_MEMPOOL_LEVELS]; /* 64-bit words in each level     */
    uint32_t levels;         /* bitmap levels in use (the last is one word)     */
    uint32_t npages;         /* usable pages                                    */
    uint32_t free_pages;     /* pages in free runs                              */
    uint32_t free_runs;      /* number of free runs                             */
    uint32_t used_runs;      /* number of allocated blocks                      */
    uint32_t alloc_really;   /* 1 if every page was committed at creation       */
    char name[NMC_SHM_NAME_MAX]; /* the shm object's name                       */
    nmc_mutex lock;          /* NMC_MUTEX_NORMAL; guards all but constants      */
} nmc_mempool;

/* What nmc_mempool_stats() reports: bytes, then counts. */
struct nmc_mempool_stats {
    size_t total;       /* usable size of the pool                   */
    size_t free;        /* bytes in free runs                        */
    size_t contiguous;  /* largest free run                          */
    size_t used_blocks; /* allocated blocks                          */
    size_t free_runs;   /* free runs (fragments)                     */
};

/* ---- the API (OCamlnet names in brackets) ------------------------------- */

/* [create_mempool] Creates a pool whose usable area is size bytes rounded up
 * to pages, in a new shm object named from prefix (see nmc_sys_shm_create),
 * and maps it in this process. *pool is valid here and in every process
 * forked afterwards. NMC_EINVAL for a NULL argument, size 0 or a bad prefix,
 * NMC_EOVERFLOW if size exceeds NMC_MEMPOOL_MAX_PAGES pages, NMC_ENOSPC if
 * the backing store cannot hold the header (or, with alloc_really, the whole
 * pool), NMC_ESYS otherwise; on failure nothing is left behind. */
int nmc_mempool_create(const char *prefix, size_t size, bool alloc_really,
                       nmc_mempool **pool);

/* [alloc_mem] Allocates a block of size bytes rounded up to pages
 * (page-aligned); *mem receives its address. NMC_EINVAL for size 0 or NULL
 * arguments, NMC_EOUT_OF_POOL_MEMORY if no free run is large enough,
 * NMC_ENOSPC if its pages could not be committed (full tmpfs; the pool is
 * unchanged), NMC_ECORRUPT for a broken pool. */
int nmc_mempool_alloc(nmc_mempool *pool, size_t size, void **mem);

/* [free_mem] Frees the block starting at mem. NMC_ENOT_FOUND if mem is not
 * the start of an allocated block (a foreign or interior address, or a block
 * already freed), NMC_EINVAL for NULL arguments, NMC_ECORRUPT for a broken
 * pool. */
int nmc_mempool_free(nmc_mempool *pool, void *mem);

/* [size_mem] Size in bytes of the allocated block starting at mem.
 * NMC_ENOT_FOUND if mem is not the start of an allocated block. */
int nmc_mempool_size_mem(nmc_mempool *pool, const void *mem, size_t *size);

/* [size_mem_at_addr] The same for an address given as an integer. */
int nmc_mempool_size_mem_at_addr(nmc_mempool *pool, uintptr_t addr, size_t *size);

/* [stats] Total, free and largest contiguous free bytes, and counts. */
int nmc_mempool_stats(nmc_mempool *pool, struct nmc_mempool_stats *stats);

/* [debug_info] A text describing the pool and each run, one line each;
 * *text is malloc'ed, the caller frees it. NMC_ENOMEM if it cannot be
 * built. */
int nmc_mempool_debug_info(nmc_mempool *pool, char **text);

/* [shm_name] The name of the pool's shm object (inside the shared header,
 * valid while the pool is mapped); NULL if pool is NULL. */
const char *nmc_mempool_shm_name(const nmc_mempool *pool);

/* [unlink_mempool] Removes the shm object's name. Mappings stay valid in
 * every process; the memory goes back to the system when the last one is
 * unmapped. NMC_ENOT_FOUND if the name was already removed. */
int nmc_mempool_unlink(nmc_mempool *pool);

/* Unmaps the pool from this process only; pool is invalid here afterwards.
 * Other processes are not affected. */
int nmc_mempool_unmap(nmc_mempool *pool);

/* Unlinks (a missing name is not an error) and unmaps. */
int nmc_mempool_destroy(nmc_mempool *pool);

/* Verifies every invariant of the shared layout (magic, version, geometry,
 * boundary tags, no adjacent free runs, free lists, bitmap, counters,
 * mapped at base) under the pool lock, in O(pages). NMC_OK or NMC_ECORRUPT
 * (also for a pool marked broken); NMC_EINVAL for NULL. */
int nmc_mempool_check(nmc_mempool *pool);

#ifdef __cplusplus
}
#endif
#endif
