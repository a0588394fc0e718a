/* The page format: mapping and remapping, the header view, page
 * allocation, growth, (re)initialisation and rehashing. The mapping's
 * words are read once (internal.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "nmc/sys.h"

int shmt_corrupt(nmc_shmtable *t, uint32_t page, const char *field)
{
    t->fault.page = page;
    t->fault.field = field;
    return NMC_ECORRUPT;
}

void nmc_shmtable_last_fault(const nmc_shmtable *t, struct nmc_shmtable_fault *out)
{
    *out = t->fault;
}

/* A new shared mapping of the object's first len bytes. */
static int map_fresh(nmc_shmtable *t, size_t len, void **out)
{
    int prot = PROT_READ | (t->d->writable ? PROT_WRITE : 0);
    void *p = NMC_FAULT(NMC_FAULT_MMAP, ENOMEM) ? MAP_FAILED
                                                : mmap(NULL, len, prot, MAP_SHARED, t->d->fd, 0);
    if (p == MAP_FAILED)
        return NMC_ESYS;
    *out = p;
    return NMC_OK;
}

/* Maps (or remaps) the object to len bytes. The mapping is a guarded range
 * (nmc/sys.h): where another process truncates the object under it, it
 * reads zeros and the guard notes the fault (shmt_faulted). */
static int map_to(nmc_shmtable *t, size_t len)
{
    void *p;
    if (t->map == NULL) {
        int rc = map_fresh(t, len, &p);
        if (rc == NMC_OK && (rc = nmc_sys_guard_add(p, len, &t->guard)) != NMC_OK)
            munmap(p, len);
        if (rc != NMC_OK)
            return rc;
    } else {
        nmc_sys_guard_move(t->guard, NULL, 0); /* the old addresses may go */
        p = NMC_FAULT(NMC_FAULT_MMAP, ENOMEM) ? MAP_FAILED
                                              : mremap(t->map, t->map_len, len, MREMAP_MAYMOVE);
        nmc_sys_guard_move(t->guard, p == MAP_FAILED ? t->map : p,
                           p == MAP_FAILED ? t->map_len : len);
        if (p == MAP_FAILED)
            return NMC_ESYS;
    }
    t->map = p;
    t->map_len = len;
    return NMC_OK;
}

/* After a fault the mapping holds the guard's zero pages from the faulting
 * page on: a fresh one shows the object again (and faults again where it
 * is still short). The old mapping stays if mmap fails, and so does the
 * fault, for the next operation to report and retry. */
static void map_again(nmc_shmtable *t)
{
    void *p;
    if (map_fresh(t, t->map_len, &p) != NMC_OK)
        return;
    nmc_sys_guard_move(t->guard, NULL, 0);
    munmap(t->map, t->map_len);
    t->map = p;
    nmc_sys_guard_move(t->guard, p, t->map_len);
    nmc_sys_guard_clear(t->guard);
}

void shmt_unmap(nmc_shmtable *t)
{
    if (t->map == NULL)
        return;
    nmc_sys_guard_remove(t->guard);
    munmap(t->map, t->map_len);
    t->map = NULL;
    t->guard = NULL;
}

bool shmt_fault_noted(nmc_shmtable *t, const void *at)
{
    uintptr_t off = (uintptr_t)at - (uintptr_t)t->map;
    shmt_corrupt(t, off < t->map_len ? (uint32_t)(off / t->pagesize) : 0, "truncated");
    return true;
}

int shmt_cut(nmc_shmtable *t)
{
    /* Callbacks of an iteration hold pointers into the mapping: the
     * iteration maps again when it ends. */
    if (t->iter_depth == 0)
        map_again(t);
    return NMC_ECORRUPT;
}

int shmt_end(nmc_shmtable *t, int rc)
{
    return shmt_faulted(t) ? shmt_cut(t) : rc;
}

int shmt_map_object(nmc_shmtable *t, size_t *size)
{
    int rc = nmc_sys_fd_size(t->d->fd, size);
    if (rc == NMC_OK && *size > 0)
        rc = map_to(t, *size);
    return rc;
}

/* Another process grew the object: follow it, unless callbacks hold
 * pointers into the current mapping. */
static int remap(nmc_shmtable *t, size_t need)
{
    size_t size;
    if (t->iter_depth > 0)
        return shmt_corrupt(t, 0, "npages");
    int rc = nmc_sys_fd_size(t->d->fd, &size);
    if (rc != NMC_OK)
        return rc;
    if (size < need)
        return shmt_corrupt(t, 0, "npages");
    return map_to(t, need);
}

uint32_t shmt_hash_pages(uint32_t pagesize, uint32_t ncells)
{
    return (uint32_t)(((uint64_t)ncells * 8 + pagesize - 1) / pagesize);
}

uint32_t shmt_cells_for(uint64_t nkeys)
{
    uint32_t c = MIN_CELLS;
    while (c < MAX_CELLS && 2 * (nkeys + 1) > c)
        c <<= 1;
    return c;
}

uint32_t shmt_pages_for(const struct view *v, size_t len)
{
    uint32_t d = data_words(v);
    if (len > INT32_MAX)
        return 0;
    return len == 0 ? 1 : (uint32_t)((len + d - 1) / d);
}

/* The hash area of a journaled switch (shmt_rehash) of c cells (the
 * journal's cells word, read by the caller), in a table of npages pages:
 * true, with its start and pages, if the journal describes a possible
 * area. */
static bool pending_area(const nmc_shmtable *t, uint32_t npages, uint32_t c, uint32_t *start,
                         uint32_t *pages)
{
    uint32_t s = hdr_get(t, H_PENDING_START);
    if (c < MIN_CELLS || c > MAX_CELLS || (c & (c - 1)) != 0 || s < 1 || s >= npages ||
        shmt_hash_pages(t->pagesize, c) > npages - s)
        return false;
    *start = s;
    *pages = shmt_hash_pages(t->pagesize, c);
    return true;
}

int shmt_view(nmc_shmtable *t, struct view *v)
{
    if (t->map_len < (size_t)t->pagesize)
        return shmt_corrupt(t, 0, "npages");
    uint32_t npages = hdr_get(t, H_NPAGES);
    size_t need = (size_t)npages * t->pagesize;
    if (npages > MAX_PAGES || npages < 2)
        return shmt_corrupt(t, 0, "npages");
    if (need > t->map_len) {
        int rc = remap(t, need);
        if (rc != NMC_OK)
            return rc;
    }
    *v = (struct view){
        .w = t->map,
        .pw = t->pw,
        .npages = npages,
        .top = hdr_get(t, H_TOP),
        .hstart = hdr_get(t, H_HASH_START),
        .hpages = hdr_get(t, H_HASH_PAGES),
        .ncells = hdr_get(t, H_NCELLS),
    };
    /* A switch a dead writer left half done: read the area it was moving
     * to (complete before it was journaled), as the repair will install.
     * (The empty journal is tested here: every read makes a view.) */
    uint32_t cells = LOAD_ACQ(&t->map[H_PENDING_CELLS]);
    if (cells != 0 && pending_area(t, npages, cells, &v->hstart, &v->hpages)) {
        v->ncells = cells;
        if (v->top < v->hstart + v->hpages)
            v->top = v->hstart + v->hpages;
    }
    if (v->top < 2 || v->top > npages)
        return shmt_corrupt(t, 0, "top");
    if (v->ncells < MIN_CELLS || v->ncells > MAX_CELLS || (v->ncells & (v->ncells - 1)) != 0)
        return shmt_corrupt(t, 0, "ncells");
    if (v->hpages != shmt_hash_pages(t->pagesize, v->ncells))
        return shmt_corrupt(t, 0, "hash_pages");
    if (v->hstart < 1 || v->hstart >= v->top || v->top - v->hstart < v->hpages)
        return shmt_corrupt(t, 0, "hash_start");
    v->shift = 32 - (uint32_t)__builtin_ctz(v->ncells);
    return NMC_OK;
}

/* Makes npages - top >= n by growing the object (doubling at least). */
static int grow_reserve(nmc_shmtable *t, struct view *v, uint64_t n)
{
    if (v->npages - v->top >= n)
        return NMC_OK;
    uint64_t want = (uint64_t)v->top + n;
    uint64_t npages = want > 2 * (uint64_t)v->npages ? want : 2 * (uint64_t)v->npages;
    if (want > MAX_PAGES)
        return NMC_EOUT_OF_SPACE;
    if (npages > MAX_PAGES)
        npages = MAX_PAGES;
    size_t old = (size_t)v->npages * t->pagesize, len = (size_t)npages * t->pagesize;
    int rc = nmc_sys_commit(t->d->fd, (off_t)old, (off_t)(len - old));
    if (rc == NMC_OK && len > t->map_len)
        rc = map_to(t, len);
    if (rc != NMC_OK)
        return rc;
    hdr_set(t, H_NPAGES, (uint32_t)npages);
    v->w = t->map;
    v->npages = (uint32_t)npages;
    return NMC_OK;
}

int shmt_reserve(nmc_shmtable *t, struct view *v, uint64_t n)
{
    uint64_t nfree = hdr_get(t, H_NFREE);
    return n <= nfree ? NMC_OK : grow_reserve(t, v, n - nfree);
}

uint32_t shmt_alloc_page(nmc_shmtable *t, struct view *v)
{
    uint32_t head = hdr_get(t, H_FREE_HEAD);
    if (head != 0) {
        uint32_t nfree = hdr_get(t, H_NFREE);
        if (!page_ok(v, head) || nfree == 0)
            return 0;
        const uint32_t *p = page_at(v, head);
        if (LOAD_ONCE(&p[P_TAG]) != TAG_FREE)
            return 0;
        hdr_set(t, H_FREE_HEAD, LOAD_ONCE(&p[1])); /* checked when it is taken */
        hdr_set(t, H_NFREE, nfree - 1);
        return head;
    }
    if (v->top == v->npages)
        return 0;
    hdr_set(t, H_TOP, v->top + 1);
    return v->top++;
}

void shmt_free_page(nmc_shmtable *t, const struct view *v, uint32_t pg)
{
    uint32_t *p = page_at(v, pg);
    p[P_TAG] = TAG_FREE;
    p[1] = hdr_get(t, H_FREE_HEAD);
    hdr_set(t, H_FREE_HEAD, pg);
    hdr_set(t, H_NFREE, hdr_get(t, H_NFREE) + 1);
}

int shmt_format(nmc_shmtable *t, uint64_t hint)
{
    uint32_t ncells = shmt_cells_for(hint);
    uint32_t hpages = shmt_hash_pages(t->pagesize, ncells);
    uint64_t want = 1 + (uint64_t)hpages + (hint > 0 ? hint : 1);
    size_t size;
    int rc = nmc_sys_fd_size(t->d->fd, &size);
    if (rc != NMC_OK)
        return rc;
    if (want > MAX_PAGES || 2 * (hint + 1) > MAX_CELLS)
        return NMC_EOUT_OF_SPACE;
    uint64_t npages = size / t->pagesize;
    if (npages > MAX_PAGES)
        npages = MAX_PAGES;
    if (npages < want)
        npages = want;
    /* Every page below npages is committed before it is used (growth
     * commits the pages it adds): the ones the object already had may be
     * holes, which a full tmpfs cannot fill at their first touch. */
    rc = nmc_sys_commit(t->d->fd, 0, (off_t)(npages * t->pagesize));
    if (rc == NMC_OK && npages * t->pagesize != t->map_len)
        rc = map_to(t, npages * t->pagesize);
    if (rc != NMC_OK)
        return rc;
    /* Readers may be validating against the change counter: keep it going. */
    uint32_t seq = hdr_get(t, H_SEQ) | 1;
    hdr_set(t, H_SEQ, seq);
    memset(t->map, 0, H_SEQ * sizeof *t->map);
    memset(t->map + H_SEQ + 1, 0, t->pagesize - (H_SEQ + 1) * sizeof *t->map);
    memset(t->map + t->pw, 0, (size_t)hpages * t->pagesize);
    const uint32_t h[] = {
        [H_MAGIC0] = SHMT_MAGIC0, [H_MAGIC1] = SHMT_MAGIC1, [H_VERSION] = SHMT_VERSION,
        [H_PAGESIZE] = t->pagesize, [H_NPAGES] = (uint32_t)npages, [H_TOP] = 1 + hpages,
        [H_HASH_START] = 1, [H_HASH_PAGES] = hpages, [H_NCELLS] = ncells,
    };
    for (int i = 0; i < H_SEQ; i++)
        hdr_set(t, i, h[i]);
    for (int i = H_HASH_START; i <= H_NCELLS; i++)
        hdr_set(t, i, h[i]);
    __atomic_store_n(&t->map[H_SEQ], seq + 1, __ATOMIC_RELEASE);
    return NMC_OK;
}

/* Inserts a live cell into the hash area described by v (a fresh one). */
static int rehash_one(nmc_shmtable *t, const struct view *v, uint32_t key, uint32_t pg)
{
    uint32_t i = hash_slot(v, (int32_t)key);
    for (uint32_t n = 0; n < v->ncells; n++, i = (i + 1) & (v->ncells - 1)) {
        uint32_t *c = cell_at(v, i);
        if (LOAD_ONCE(&c[1]) == CELL_EMPTY) {
            c[0] = key;
            c[1] = pg;
            return NMC_OK;
        }
        if (LOAD_ONCE(&c[0]) == key)
            return shmt_corrupt(t, v->hstart + (uint32_t)(2 * (size_t)i / v->pw), "cell key");
    }
    return shmt_corrupt(t, 0, "nkeys");
}

int shmt_rehash(nmc_shmtable *t, struct view *v, uint64_t extra)
{
    uint32_t nkeys = hdr_get(t, H_NKEYS);
    if (nkeys > v->ncells)
        return shmt_corrupt(t, 0, "nkeys");
    if (2 * ((uint64_t)nkeys + extra + 1) > MAX_CELLS)
        return NMC_EOUT_OF_SPACE;
    struct view n = *v;
    n.ncells = shmt_cells_for(nkeys + extra);
    n.hpages = shmt_hash_pages(t->pagesize, n.ncells);
    n.shift = 32 - (uint32_t)__builtin_ctz(n.ncells);
    int rc = grow_reserve(t, v, n.hpages);
    if (rc != NMC_OK)
        return rc;
    n.w = v->w;
    n.npages = v->npages;
    n.hstart = v->top;
    memset(page_at(&n, n.hstart), 0, (size_t)n.hpages * t->pagesize);
    uint32_t live = 0;
    for (uint32_t i = 0; i < v->ncells && rc == NMC_OK; i++) {
        const uint32_t *c = cell_at(v, i);
        uint32_t pg = LOAD_ONCE(&c[1]);
        if (pg != CELL_EMPTY && pg != CELL_DELETED)
            rc = ++live > nkeys ? shmt_corrupt(t, 0, "nkeys")
                                : rehash_one(t, &n, LOAD_ONCE(&c[0]), pg);
    }
    if (rc == NMC_OK && live != nkeys)
        rc = shmt_corrupt(t, 0, "nkeys");
    if (rc != NMC_OK)
        return rc;
    /* The switch is three header words: journaled, so that a writer
     * killed in the middle leaves it for the next one to finish. */
    hdr_set(t, H_PENDING_START, n.hstart);
    __atomic_store_n(&t->map[H_PENDING_CELLS], n.ncells, __ATOMIC_RELEASE);
    shmt_finish_rehash(t);
    n.top = v->top + n.hpages;
    hdr_set(t, H_USED, live);
    for (uint32_t pg = v->hstart; pg < v->hstart + v->hpages; pg++)
        shmt_free_page(t, &n, pg);
    *v = n;
    return NMC_OK;
}

void shmt_finish_rehash(nmc_shmtable *t)
{
    uint32_t cells = LOAD_ACQ(&t->map[H_PENDING_CELLS]), start, pages;
    if (pending_area(t, hdr_get(t, H_NPAGES), cells, &start, &pages)) {
        if (hdr_get(t, H_TOP) < start + pages)
            hdr_set(t, H_TOP, start + pages);
        hdr_set(t, H_HASH_START, start);
        hdr_set(t, H_HASH_PAGES, pages);
        hdr_set(t, H_NCELLS, cells);
    }
    __atomic_store_n(&t->map[H_PENDING_CELLS], 0u, __ATOMIC_RELEASE);
}
