/* Managing an object as a table: manage (adopt or initialise) and close. */
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

static bool pagesize_ok(size_t p)
{
    return p >= NMC_SHMTABLE_MIN_PAGESIZE && p <= NMC_SHMTABLE_MAX_PAGESIZE && p % 4 == 0;
}

static void set_pagesize(nmc_shmtable *t, uint32_t p)
{
    t->pagesize = p;
    t->pw = p / 4;
}

/* Checks what the view does not: magic, version, page size. */
static int adopt(nmc_shmtable *t, size_t pagesize, size_t size)
{
    if (size < H_WORDS * sizeof *t->map)
        return shmt_corrupt(t, 0, "size");
    if (hdr_get(t, H_MAGIC0) != SHMT_MAGIC0 || hdr_get(t, H_MAGIC1) != SHMT_MAGIC1)
        return shmt_corrupt(t, 0, "magic");
    if (hdr_get(t, H_VERSION) != SHMT_VERSION)
        return shmt_corrupt(t, 0, "version");
    uint32_t p = hdr_get(t, H_PAGESIZE);
    if (!pagesize_ok(p))
        return shmt_corrupt(t, 0, "pagesize");
    if (pagesize != 0 && pagesize != p)
        return NMC_EINVAL;
    set_pagesize(t, p);
    struct view v;
    return shmt_view(t, &v);
}

static int open_table(nmc_shmtable *t, size_t pagesize, long init)
{
    bool fresh = init >= 0;
    if (fresh && !t->d->writable)
        return NMC_EPERM;
    int rc = shmt_lock(t, fresh ? HELD_WRITE : HELD_READ);
    size_t size = 0;
    if (rc == NMC_OK)
        rc = shmt_map_object(t, &size);
    if (rc == NMC_OK && size == 0 && !fresh) {
        /* Empty: initialise it, unless another process did meanwhile. */
        if (!t->d->writable)
            return NMC_EPERM;
        shmt_unlock(t);
        rc = shmt_lock(t, HELD_WRITE);
        if (rc == NMC_OK)
            rc = shmt_map_object(t, &size);
        fresh = size == 0;
    }
    if (rc != NMC_OK)
        return rc;
    if (!fresh)
        return adopt(t, pagesize, size);
    set_pagesize(t, pagesize != 0 ? (uint32_t)pagesize : NMC_SHMTABLE_DEFAULT_PAGESIZE);
    return shmt_format(t, init > 0 ? (uint64_t)init : 0);
}

int nmc_shmtable_manage(nmc_shm_descr *d, enum nmc_shm_locking locking, size_t pagesize,
                        long init, nmc_shmtable **out)
{
    if (d == NULL || out == NULL || (pagesize != 0 && !pagesize_ok(pagesize)) ||
        (locking != NMC_SHM_NO_LOCKING && locking != NMC_SHM_RECORD_LOCKING))
        return NMC_EINVAL;
    nmc_shmtable *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NMC_ENOMEM;
    t->d = d;
    t->locking = locking;
    int rc = shmt_end(t, open_table(t, pagesize, init));
    shmt_unlock(t);
    if (rc != NMC_OK) {
        nmc_shmtable_close(t);
        return rc;
    }
    *out = t;
    return NMC_OK;
}

void nmc_shmtable_close(nmc_shmtable *t)
{
    if (t == NULL)
        return;
    t->group_depth = t->iter_depth = 0;
    shmt_unlock(t);
    shmt_unmap(t);
    free(t);
}
