/* Creating, naming, unlinking and unmapping pools.
 *
 * create lays out the shm object as nmc/mempool.h describes: the header
 * struct, the page table, the list heads and the bitmap levels, padded to
 * whole pages, then the usable pages. Only the header pages are committed
 * unless alloc_really asks for all of them. The fresh object reads as
 * zeros, which is an empty page table, empty lists and an empty bitmap;
 * create then writes the geometry, one free run covering every page, and
 * the magic.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "mempool_internal.h"
#include "nmc/status.h"
#include "nmc/sys.h"

/* Rounds x up to a multiple of a (a power of two). */
static uint64_t align_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* Fills in the offsets and sizes for n usable pages (at most
 * NMC_MEMPOOL_MAX_PAGES, so nothing here can overflow 64 bits). */
void mp_layout(nmc_mempool *g, uint32_t n, uint64_t page_size)
{
    uint64_t off = align_up(sizeof(nmc_mempool), 64);
    g->page_size = page_size;
    g->npages = n;
    g->pages_off = off;
    off += (uint64_t)n * sizeof(struct nmc_mempool_page);
    g->heads_off = off = align_up(off, 8);
    off += ((uint64_t)n + 1) * sizeof(uint32_t);
    off = align_up(off, 8);
    uint64_t bits = (uint64_t)n + 1; /* bit 0 is never used: lengths start at 1 */
    g->levels = 0;
    do {
        uint64_t words = (bits + 63) / 64;
        g->level_off[g->levels] = off;
        g->level_words[g->levels] = (uint32_t)words;
        g->levels++;
        off += words * sizeof(uint64_t);
        bits = words;
    } while (bits > 1);
    g->data_off = align_up(off, page_size);
    g->map_bytes = g->data_off + (uint64_t)n * page_size;
}

/* Commits the header pages, or every page with alloc_really. */
static int commit_initial(int fd, const nmc_mempool *g, bool alloc_really)
{
    uint64_t len = alloc_really ? g->map_bytes : g->data_off;
    return nmc_sys_commit(fd, 0, (off_t)len);
}

/* Writes the header into the fresh mapping at base. */
static int init_header(nmc_mempool *pool, const nmc_mempool *g, const char *name,
                       bool alloc_really)
{
    memcpy(pool, g, sizeof *g);
    pool->version = NMC_MEMPOOL_VERSION;
    pool->base = (uint64_t)(uintptr_t)pool;
    pool->alloc_really = alloc_really;
    strncpy(pool->name, name, sizeof pool->name - 1);
    int st = nmc_mutex_init(&pool->lock, NMC_MUTEX_NORMAL);
    if (st != NMC_OK)
        return st;
    mp_set_run(pool, 0, pool->npages, 0);
    mp_insert_free(pool, 0, alloc_really ? pool->npages : 0);
    pool->free_pages = pool->npages;
    pool->free_runs = 1;
    __atomic_store_n(&pool->magic, NMC_MEMPOOL_MAGIC, __ATOMIC_RELEASE);
    return NMC_OK;
}

/* Creates, commits, maps and initialises; on failure removes the object. */
static int create_mapped(const char *prefix, const nmc_mempool *g, bool alloc_really,
                         nmc_mempool **out)
{
    int fd;
    char name[NMC_SHM_NAME_MAX];
    int st = nmc_sys_shm_create(prefix, (size_t)g->map_bytes, &fd, name);
    if (st != NMC_OK)
        return st;
    void *base = NULL;
    st = commit_initial(fd, g, alloc_really);
    if (st == NMC_OK)
        st = nmc_sys_map(fd, (size_t)g->map_bytes, 0, NULL, false, &base);
    if (st == NMC_OK) {
        st = init_header(base, g, name, alloc_really);
        if (st != NMC_OK)
            nmc_sys_unmap(base, (size_t)g->map_bytes);
    }
    int saved = errno;
    close(fd);
    if (st != NMC_OK)
        nmc_sys_shm_unlink(name);
    errno = saved;
    if (st == NMC_OK)
        *out = base;
    return st;
}

int nmc_mempool_create(const char *prefix, size_t size, bool alloc_really,
                       nmc_mempool **pool)
{
    if (prefix == NULL || pool == NULL || size == 0)
        return NMC_EINVAL;
    size_t page_size = nmc_sys_pagesize();
    size_t rounded;
    int st = nmc_sys_round_pages(size, &rounded);
    if (st != NMC_OK)
        return st;
    if (rounded / page_size > NMC_MEMPOOL_MAX_PAGES)
        return NMC_EOVERFLOW;
    nmc_mempool g;
    memset(&g, 0, sizeof g);
    mp_layout(&g, (uint32_t)(rounded / page_size), page_size);
    if (g.map_bytes > SIZE_MAX || g.map_bytes > (uint64_t)INT64_MAX)
        return NMC_EOVERFLOW;
    return create_mapped(prefix, &g, alloc_really, pool);
}

const char *nmc_mempool_shm_name(const nmc_mempool *pool)
{
    return pool == NULL ? NULL : pool->name;
}

int nmc_mempool_unlink(nmc_mempool *pool)
{
    if (pool == NULL || pool->magic != NMC_MEMPOOL_MAGIC)
        return NMC_EINVAL;
    return nmc_sys_shm_unlink(pool->name);
}

int nmc_mempool_unmap(nmc_mempool *pool)
{
    if (pool == NULL || pool->magic != NMC_MEMPOOL_MAGIC)
        return NMC_EINVAL;
    return nmc_sys_unmap(pool, (size_t)pool->map_bytes);
}

int nmc_mempool_destroy(nmc_mempool *pool)
{
    int st = nmc_mempool_unlink(pool);
    if (st != NMC_OK && st != NMC_ENOT_FOUND)
        return st;
    return nmc_mempool_unmap(pool);
}
