/* The master's resource table: ids, kinds, uses, and deletion at the last
 * release. Runs in the master only (worker.c forwards workers' calls).
 *
 * Ids are indexes + 1 into core.res; a deleted resource leaves NULL, so an
 * id is never reused and lookup is O(1). Uses are (user, count) pairs: a
 * handful per resource. Kernel objects are noted in the manifest when
 * registered and when deleted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core_internal.h"
#include "nmc/sys.h"

static bool is_kernel_object(enum nmc_resource_kind kind)
{
    return kind == NMC_RES_FILE || kind == NMC_RES_SHM || kind == NMC_RES_SHM_PREALLOCATED ||
           kind == NMC_RES_SEM || kind == NMC_RES_MEMPOOL;
}

struct core_resource *core_res_find(nmc_res_id id, enum nmc_resource_kind kind)
{
    if (id < 1 || (size_t)id > core.nres)
        return NULL;
    struct core_resource *r = core.res[id - 1];
    return r != NULL && (kind == 0 || r->pub.kind == kind) ? r : NULL;
}

static int add_use(struct core_resource *r, nmc_process_id user)
{
    for (size_t i = 0; i < r->nuses; i++)
        if (r->uses[i].user == user) {
            r->uses[i].count++;
            return NMC_OK;
        }
    if (r->nuses == r->cap_uses) {
        size_t cap = r->cap_uses ? 2 * r->cap_uses : 4;
        struct core_use *u = realloc(r->uses, cap * sizeof *u);
        if (u == NULL)
            return NMC_ENOMEM;
        r->uses = u;
        r->cap_uses = cap;
    }
    r->uses[r->nuses++] = (struct core_use){.user = user, .count = 1};
    return NMC_OK;
}

int core_res_add(enum nmc_resource_kind kind, const char *name, nmc_process_id user,
                 struct core_resource **out)
{
    if (strlen(name) >= NMC_RESOURCE_NAME_MAX)
        return NMC_EINVAL;
    struct core_resource **t = realloc(core.res, (core.nres + 1) * sizeof *t);
    if (t == NULL)
        return NMC_ENOMEM;
    core.res = t;
    struct core_resource *r = calloc(1, sizeof *r);
    if (r == NULL || add_use(r, user) != NMC_OK) {
        free(r);
        return NMC_ENOMEM;
    }
    r->pub.id = (nmc_res_id)core.nres + 1;
    r->pub.kind = kind;
    strcpy(r->pub.name, name);
    core.res[core.nres++] = r;
    if (is_kernel_object(kind)) {
        core_object_ident(kind, name, &r->ident);
        core_manifest_note('R', kind, name, &r->ident);
    }
    *out = r;
    return NMC_OK;
}

/* Deletes r's object and drops r from the table. */
static void delete_resource(struct core_resource *r)
{
    switch (r->pub.kind) {
    case NMC_RES_MEMPOOL:
        nmc_mempool_destroy(r->pool);
        break;
    case NMC_RES_SHM_PREALLOCATED:
        munmap(r->pub.addr, r->pub.size);
        core_delete_object(NMC_RES_SHM, r->pub.name);
        break;
    case NMC_RES_FILE:
    case NMC_RES_SHM:
    case NMC_RES_SEM:
        core_delete_object(r->pub.kind, r->pub.name);
        break;
    default:
        break;
    }
    if (is_kernel_object(r->pub.kind))
        core_manifest_note('U', r->pub.kind, r->pub.name, &r->ident);
    core.res[r->pub.id - 1] = NULL;
    free(r->uses);
    free(r);
}

int core_res_use(nmc_res_id id, nmc_process_id user, struct nmc_resource *out)
{
    struct core_resource *r = core_res_find(id, 0);
    if (r == NULL)
        return NMC_ENO_RESOURCE;
    int st = add_use(r, user);
    if (st == NMC_OK && out != NULL)
        *out = r->pub;
    return st;
}

/* Drops count uses of r by the user at index i. */
static void drop_uses(struct core_resource *r, size_t i, uint32_t count)
{
    r->uses[i].count -= count;
    if (r->uses[i].count == 0)
        r->uses[i] = r->uses[--r->nuses];
    if (r->nuses == 0)
        delete_resource(r);
}

int core_res_release(nmc_res_id id, nmc_process_id user)
{
    struct core_resource *r = core_res_find(id, 0);
    if (r == NULL)
        return NMC_ENO_RESOURCE;
    for (size_t i = 0; i < r->nuses; i++)
        if (r->uses[i].user == user) {
            drop_uses(r, i, 1);
            return NMC_OK;
        }
    return NMC_EPERM;
}

int core_res_drop_point(nmc_res_id id, enum nmc_resource_kind kind)
{
    if (kind != NMC_RES_FORK_POINT && kind != NMC_RES_JOIN_POINT)
        return NMC_ENO_RESOURCE;
    struct core_resource *r = core_res_find(id, kind);
    if (r == NULL)
        return NMC_ENO_RESOURCE;
    delete_resource(r);
    return NMC_OK;
}

void core_res_release_all(nmc_process_id user)
{
    for (size_t id = 0; id < core.nres; id++) {
        struct core_resource *r = core.res[id];
        for (size_t i = 0; r != NULL && i < r->nuses; i++)
            if (r->uses[i].user == user) {
                drop_uses(r, i, r->uses[i].count);
                break;
            }
    }
}

int core_res_manage(enum nmc_resource_kind kind, const char *name, nmc_process_id user,
                    nmc_res_id *id)
{
    if (kind != NMC_RES_FILE && kind != NMC_RES_SHM && kind != NMC_RES_SEM)
        return NMC_EINVAL;
    /* Only names we could also delete after a crash are accepted. */
    if (name == NULL || !core_name_ok(kind, name) ||
        (kind == NMC_RES_FILE && !core_file_place_ok(name)))
        return NMC_EINVAL;
    struct core_resource *r;
    int st = core_res_add(kind, name, user, &r);
    if (st == NMC_OK)
        *id = r->pub.id;
    return st;
}

int core_res_create_shm(const char *prefix, size_t size, nmc_process_id user, nmc_res_id *id,
                        char *name)
{
    int fd;
    void *addr;
    if (size == 0)
        return NMC_EINVAL;
    int st = nmc_sys_shm_create(prefix, size, &fd, name);
    if (st != NMC_OK)
        return st;
    /* Committed now: a full tmpfs is NMC_ENOSPC here, not a SIGBUS in the
     * worker that first writes a page. */
    st = nmc_sys_commit(fd, 0, (off_t)size);
    if (st == NMC_OK)
        st = nmc_sys_map(fd, size, 0, NULL, false, &addr);
    close(fd);
    struct core_resource *r = NULL;
    if (st == NMC_OK && (st = core_res_add(NMC_RES_SHM_PREALLOCATED, name, user, &r)) != NMC_OK)
        munmap(addr, size);
    if (st != NMC_OK) {
        nmc_sys_shm_unlink(name);
        return st;
    }
    r->pub.addr = addr;
    r->pub.size = size;
    *id = r->pub.id;
    return NMC_OK;
}

int core_res_create_pool(size_t size, bool alloc_really, nmc_process_id user, nmc_res_id *id)
{
    nmc_mempool *pool;
    int st = nmc_mempool_create("nmcpool", size, alloc_really, &pool);
    if (st != NMC_OK)
        return st;
    struct core_resource *r;
    st = core_res_add(NMC_RES_MEMPOOL, nmc_mempool_shm_name(pool), user, &r);
    if (st != NMC_OK) {
        nmc_mempool_destroy(pool);
        return st;
    }
    struct nmc_mempool_stats stats;
    nmc_mempool_stats(pool, &stats);
    r->pool = pool;
    r->pub.addr = pool;
    r->pub.size = stats.total;
    *id = r->pub.id;
    return NMC_OK;
}

static void forget_all(void)
{
    for (size_t i = 0; i < core.nres; i++)
        if (core.res[i] != NULL) {
            free(core.res[i]->uses);
            free(core.res[i]);
        }
    free(core.res);
    core.res = NULL;
    core.nres = 0;
}

void core_res_destroy_all(void)
{
    for (size_t i = 0; i < core.nres; i++)
        if (core.res[i] != NULL)
            delete_resource(core.res[i]);
    forget_all();
}
