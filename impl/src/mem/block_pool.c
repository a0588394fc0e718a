/* Pools of same-size, page-aligned blocks (Netsys_mem's memory_pool).
 *
 * Blocks are carved from chunks: one anonymous mmap of blocks_per_chunk
 * blocks, so that a system call (and a page-table entry range) serves many
 * blocks. Each chunk has a process-local descriptor holding a 64-bit mask
 * of the blocks in use. Invariants, under the pool's mutex:
 *   - every chunk has at least one block in use (a chunk whose last block is
 *     freed is unmapped at once);
 *   - chunks[] holds every chunk, sorted by base address, so a freed block
 *     finds its chunk by binary search;
 *   - the open list links exactly the chunks with a free block;
 *   - free_blocks = sum over chunks of the clear bits of their masks.
 * Allocation takes the lowest free block of the first open chunk, or maps a
 * new chunk; free checks that the block is one of ours, in use and whole
 * (else NMC_EINVAL), so a double free or a foreign buffer is refused. Both
 * are O(log chunks) apart from the mmap / munmap.
 *
 * blocks_per_chunk is 1 MiB / block_size clamped to [1, 64] (the mask's
 * width). Debug builds (NDEBUG undefined) fill handed-out blocks with 0xAA
 * and freed ones with 0x55. The default pool (64 KiB blocks) is created
 * once with pthread_once and lives until the process ends.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nmc/mem.h"
#include "nmc/status.h"
#include "nmc/sys.h"

enum {
    POOL_CHUNK_TARGET = 1 << 20,      /* bytes a chunk aims for          */
    POOL_MAX_BLOCKS_PER_CHUNK = 64,   /* width of pool_chunk.used        */
    DEFAULT_POOL_BLOCK = 64 * 1024,   /* block size of the default pool  */
};

struct pool_chunk {
    unsigned char *base;     /* first block (page-aligned mmap)          */
    uint64_t used;           /* bit i set: block i is handed out         */
    struct pool_chunk *next; /* next chunk on the open list              */
    struct pool_chunk *prev; /* previous chunk on the open list          */
    bool open;               /* on the open list (has a free block)      */
};

struct nmc_block_pool {
    pthread_mutex_t lock;       /* guards everything below               */
    size_t block_size;          /* bytes per block, a page multiple      */
    unsigned blocks_per_chunk;  /* 1..64                                 */
    uint64_t full_mask;         /* used mask of a chunk with no free one */
    struct pool_chunk **chunks; /* all chunks, sorted by base            */
    size_t n_chunks;            /* entries of chunks[]                   */
    size_t cap_chunks;          /* capacity of chunks[]                  */
    struct pool_chunk *open;    /* chunks with a free block              */
    size_t free_blocks;         /* free blocks over all chunks           */
    bool is_default;            /* the process-wide pool: never destroyed */
};

/* ---- creation ---------------------------------------------------------------- */

/* A pool of block_size-byte blocks. NMC_EINVAL unless block_size is a
 * positive multiple of the page size; NMC_ENOMEM if malloc fails. */
int nmc_block_pool_create(size_t block_size, nmc_block_pool **out)
{
    if (out == NULL || block_size == 0 || block_size % nmc_sys_pagesize() != 0)
        return NMC_EINVAL;
    nmc_block_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NMC_ENOMEM;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NMC_ENOMEM;
    }
    size_t bpc = POOL_CHUNK_TARGET / block_size;
    p->block_size = block_size;
    p->blocks_per_chunk = bpc < 1 ? 1 : bpc > POOL_MAX_BLOCKS_PER_CHUNK ? POOL_MAX_BLOCKS_PER_CHUNK
                                                                         : (unsigned)bpc;
    p->full_mask = p->blocks_per_chunk == 64 ? UINT64_MAX
                                             : ((uint64_t)1 << p->blocks_per_chunk) - 1;
    *out = p;
    return NMC_OK;
}

static size_t chunk_bytes(const nmc_block_pool *p) { return p->block_size * p->blocks_per_chunk; }

/* Unmaps every chunk and frees the pool. The default pool is never
 * destroyed (the call does nothing for it); NULL does nothing. */
void nmc_block_pool_destroy(nmc_block_pool *p)
{
    if (p == NULL || p->is_default)
        return;
    for (size_t i = 0; i < p->n_chunks; i++) {
        nmc_sys_unmap(p->chunks[i]->base, chunk_bytes(p));
        free(p->chunks[i]);
    }
    free(p->chunks);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

size_t nmc_block_pool_block_size(const nmc_block_pool *p) { return p == NULL ? 0 : p->block_size; }

/* ---- chunk bookkeeping (callers hold p->lock: the "Locked" suffix) ----------- */

static void open_list_add_locked(nmc_block_pool *p, struct pool_chunk *c)
{
    c->prev = NULL;
    c->next = p->open;
    if (p->open != NULL)
        p->open->prev = c;
    p->open = c;
    c->open = true;
}

static void open_list_remove_locked(nmc_block_pool *p, struct pool_chunk *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->open = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->open = false;
}

/* Index of the first chunk whose base is >= base. */
static size_t chunk_search_locked(const nmc_block_pool *p, const unsigned char *base)
{
    size_t lo = 0, hi = p->n_chunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)p->chunks[mid]->base < (uintptr_t)base)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The chunk holding address a, or NULL. */
static struct pool_chunk *chunk_find_locked(const nmc_block_pool *p, const unsigned char *a)
{
    size_t i = chunk_search_locked(p, a);
    if (i < p->n_chunks && p->chunks[i]->base == a)
        return p->chunks[i];
    if (i == 0)
        return NULL;
    struct pool_chunk *c = p->chunks[i - 1];
    return (uintptr_t)a - (uintptr_t)c->base < chunk_bytes(p) ? c : NULL;
}

/* Maps a new chunk, records it and puts it on the open list. */
static int chunk_add_locked(nmc_block_pool *p)
{
    if (p->n_chunks == p->cap_chunks) {
        size_t cap = p->cap_chunks == 0 ? 8 : 2 * p->cap_chunks;
        struct pool_chunk **grown = realloc(p->chunks, cap * sizeof *grown);
        if (grown == NULL)
            return NMC_ENOMEM;
        p->chunks = grown;
        p->cap_chunks = cap;
    }
    struct pool_chunk *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NMC_ENOMEM;
    void *base;
    if (nmc_sys_map_anon(chunk_bytes(p), NULL, &base) != NMC_OK) {
        free(c);
        return NMC_ENOMEM;
    }
    c->base = base;
    size_t i = chunk_search_locked(p, c->base);
    memmove(&p->chunks[i + 1], &p->chunks[i], (p->n_chunks - i) * sizeof *p->chunks);
    p->chunks[i] = c;
    p->n_chunks++;
    p->free_blocks += p->blocks_per_chunk;
    open_list_add_locked(p, c);
    return NMC_OK;
}

/* Unmaps a chunk whose blocks are all free and forgets it. */
static void chunk_release_locked(nmc_block_pool *p, struct pool_chunk *c)
{
    size_t i = chunk_search_locked(p, c->base);
    memmove(&p->chunks[i], &p->chunks[i + 1], (p->n_chunks - i - 1) * sizeof *p->chunks);
    p->n_chunks--;
    p->free_blocks -= p->blocks_per_chunk;
    open_list_remove_locked(p, c);
    nmc_sys_unmap(c->base, chunk_bytes(p));
    free(c);
}

/* ---- alloc and free ----------------------------------------------------------- */

/* Hands out the lowest free block of the first open chunk. */
static unsigned char *block_take_locked(nmc_block_pool *p)
{
    struct pool_chunk *c = p->open;
    unsigned i = (unsigned)__builtin_ctzll(~c->used);
    c->used |= (uint64_t)1 << i;
    p->free_blocks--;
    if (c->used == p->full_mask)
        open_list_remove_locked(p, c);
    return c->base + (size_t)i * p->block_size;
}

/* A block of the pool's size, page-aligned (0xAA-filled in debug builds).
 * NMC_EINVAL for NULL arguments, NMC_ENOMEM if a new chunk cannot be
 * mapped. */
int nmc_block_pool_alloc(nmc_block_pool *p, nmc_memory *out)
{
    if (p == NULL || out == NULL)
        return NMC_EINVAL;
    pthread_mutex_lock(&p->lock);
    int st = p->open != NULL ? NMC_OK : chunk_add_locked(p);
    unsigned char *b = st == NMC_OK ? block_take_locked(p) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (st != NMC_OK)
        return st;
#ifndef NDEBUG
    memset(b, 0xAA, p->block_size);
#endif
    *out = (nmc_memory){b, p->block_size};
    return NMC_OK;
}

/* Returns a block to the pool; its chunk is unmapped if it was the last one
 * in use. NMC_EINVAL if m is not a whole block of this pool currently
 * handed out (foreign memory, a part of a block, a double free). */
int nmc_block_pool_free(nmc_block_pool *p, nmc_memory m)
{
    if (p == NULL || m.data == NULL || m.len != p->block_size)
        return NMC_EINVAL;
    int st = NMC_EINVAL;
    pthread_mutex_lock(&p->lock);
    struct pool_chunk *c = chunk_find_locked(p, m.data);
    size_t off = c == NULL ? 0 : (size_t)(m.data - c->base);
    uint64_t bit = (uint64_t)1 << (off / p->block_size);
    if (c != NULL && off % p->block_size == 0 && (c->used & bit) != 0) {
#ifndef NDEBUG
        memset(m.data, 0x55, p->block_size);
#endif
        c->used &= ~bit;
        p->free_blocks++;
        if (c->used == 0)
            chunk_release_locked(p, c);
        else if (!c->open)
            open_list_add_locked(p, c);
        st = NMC_OK;
    }
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* ---- the default pool and reports ------------------------------------------------ */

static pthread_once_t default_once = PTHREAD_ONCE_INIT; /* creates default_pool */
static nmc_block_pool *default_pool; /* written once, under default_once */

static void default_pool_create(void)
{
    if (nmc_block_pool_create(DEFAULT_POOL_BLOCK, &default_pool) == NMC_OK)
        default_pool->is_default = true;
    else
        default_pool = NULL;
}

/* The process-wide pool of 64 KiB blocks, created on first use; NULL only
 * if that creation failed for lack of memory (it is not retried). */
nmc_block_pool *nmc_default_block_pool(void)
{
    pthread_once(&default_once, default_pool_create);
    return default_pool;
}

/* "block_size=B blocks_per_chunk=K chunks=C blocks=N in_use=U free=F",
 * malloc'ed; NULL if p is NULL or malloc fails. */
char *nmc_block_pool_report(const nmc_block_pool *p)
{
    if (p == NULL)
        return NULL;
    nmc_block_pool *mp = (nmc_block_pool *)p; /* the lock is not the pool's value */
    pthread_mutex_lock(&mp->lock);
    size_t chunks = p->n_chunks, blocks = p->n_chunks * p->blocks_per_chunk;
    size_t free_blocks = p->free_blocks;
    pthread_mutex_unlock(&mp->lock);
    char *text = NULL;
    if (asprintf(&text, "block_size=%zu blocks_per_chunk=%u chunks=%zu blocks=%zu in_use=%zu free=%zu",
                 p->block_size, p->blocks_per_chunk, chunks, blocks, blocks - free_blocks,
                 free_blocks) < 0)
        return NULL;
    return text;
}
