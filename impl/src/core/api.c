/* The public calls of nmc/core.h. In the master (or before any startup)
 * they act on the master's tables directly, as user 0; in a worker they
 * are requests to the master (worker.c's core_call), as the worker's id.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

static bool in_worker(void)
{
    return core.role == ROLE_WORKER;
}

int nmc_def_process(nmc_process_fn fn, nmc_res_id *fork_point, nmc_res_id *join_point)
{
    if (fn == NULL || fork_point == NULL || join_point == NULL || in_worker())
        return NMC_EINVAL;
    struct core_resource *fp, *jp;
    int st = core_res_add(NMC_RES_FORK_POINT, "", 0, &fp);
    if (st != NMC_OK)
        return st;
    if ((st = core_res_add(NMC_RES_JOIN_POINT, "", 0, &jp)) != NMC_OK) {
        core_res_release(fp->pub.id, 0);
        return st;
    }
    fp->fn = fn;
    fp->partner = jp->pub.id;
    jp->partner = fp->pub.id;
    *fork_point = fp->pub.id;
    *join_point = jp->pub.id;
    return NMC_OK;
}

/* The START payload: count, ids, image (ids are at most PTRDIFF_MAX bytes,
 * see nmc_start, and the image far less: the length cannot wrap). */
static void *start_payload(const struct nmc_inherit *inherit, const void *image, size_t image_len,
                           size_t *len)
{
    uint64_t n = inherit ? inherit->n : UINT64_MAX;
    size_t ids = inherit ? inherit->n * sizeof(nmc_res_id) : 0;
    *len = sizeof n + ids + image_len;
    char *p = malloc(*len);
    if (p != NULL) {
        memcpy(p, &n, sizeof n);
        if (ids > 0)
            memcpy(p + sizeof n, inherit->ids, ids);
        memcpy(p + sizeof n + ids, image, image_len);
    }
    return p;
}

int nmc_start(nmc_res_id fork_point, nmc_value arg, const struct nmc_inherit *inherit,
              nmc_process_id *pid)
{
    if (pid == NULL || (inherit != NULL && inherit->n > 0 && inherit->ids == NULL) ||
        (inherit != NULL && inherit->n > PTRDIFF_MAX / sizeof(nmc_res_id))) /* no such array */
        return NMC_EINVAL;
    if (!in_worker() && !core.running)
        return NMC_EINVAL; /* no master loop to supervise the worker */
    void *image;
    size_t image_len;
    int st = core_image_make(arg, &image, &image_len);
    if (st != NMC_OK)
        return st;
    if (!in_worker()) {
        st = core_proc_start(fork_point, inherit ? inherit->ids : NULL, inherit ? inherit->n : 0,
                             inherit == NULL, image, image_len, NULL, pid);
        free(image);
        return st;
    }
    size_t len;
    void *payload = start_payload(inherit, image, image_len, &len);
    free(image);
    if (payload == NULL)
        return NMC_ENOMEM;
    struct core_msg req = {.op = OP_START, .a = fork_point}, rep;
    st = core_call(&req, payload, len, &rep, NULL);
    free(payload);
    if (st == NMC_OK)
        *pid = rep.a;
    return st;
}

/* Both joins: wait only from a worker. */
static int join(nmc_res_id join_point, nmc_process_id pid, nmc_arena *arena, nmc_value *result,
                bool wait)
{
    if (arena == NULL || result == NULL)
        return NMC_EINVAL;
    void *image = NULL;
    size_t len = 0;
    int st;
    if (in_worker()) {
        struct core_msg req = {.op = OP_JOIN, .a = join_point, .b = pid, .c = wait}, rep;
        st = core_call(&req, NULL, 0, &rep, &image);
        len = rep.len;
    } else {
        bool queued;
        st = core_proc_join(join_point, pid, 0, &queued, &image, &len);
    }
    if (st == NMC_OK)
        st = core_image_read(image, len, arena, result);
    free(image);
    return st;
}

int nmc_join(nmc_res_id join_point, nmc_process_id pid, nmc_arena *arena, nmc_value *result)
{
    if (!in_worker())
        return NMC_EINVAL; /* the master must not block */
    return join(join_point, pid, arena, result, true);
}

int nmc_join_nowait(nmc_res_id join_point, nmc_process_id pid, nmc_arena *arena,
                    nmc_value *result)
{
    return join(join_point, pid, arena, result, false);
}

int nmc_self_process_id(nmc_process_id *pid)
{
    if (pid == NULL || !in_worker())
        return NMC_EINVAL;
    *pid = core.self;
    return NMC_OK;
}

int nmc_get_resource(nmc_res_id id, struct nmc_resource *out)
{
    struct nmc_resource r;
    int st;
    if (in_worker()) {
        struct core_msg req = {.op = OP_GET, .a = id}, rep;
        void *payload = NULL;
        st = core_call(&req, NULL, 0, &rep, &payload);
        if (st == NMC_OK && rep.len != sizeof r)
            st = NMC_ECORRUPT;
        if (st == NMC_OK)
            memcpy(&r, payload, sizeof r);
        free(payload);
    } else {
        st = core_res_use(id, 0, &r);
    }
    if (st != NMC_OK)
        return st;
    if (in_worker() && r.addr != NULL) {
        bool mapped = false;
        for (size_t i = 0; i < core.nmapped && !mapped; i++)
            mapped = core.mapped[i] == id;
        if (!mapped)
            r.addr = NULL; /* not inherited, or created after this fork */
    }
    if (out != NULL)
        *out = r;
    return NMC_OK;
}

int nmc_release(nmc_res_id id)
{
    if (!in_worker())
        return core_res_release(id, 0);
    struct core_msg req = {.op = OP_RELEASE, .a = id}, rep;
    return core_call(&req, NULL, 0, &rep, NULL);
}

/* Drops a fork or join point, whoever holds its uses. */
static int release_point(nmc_res_id id, enum nmc_resource_kind kind)
{
    if (!in_worker())
        return core_res_drop_point(id, kind);
    struct core_msg req = {.op = OP_RELEASE_POINT, .a = id, .b = kind}, rep;
    return core_call(&req, NULL, 0, &rep, NULL);
}

int nmc_release_fork_point(nmc_res_id fork_point)
{
    return release_point(fork_point, NMC_RES_FORK_POINT);
}

int nmc_release_join_point(nmc_res_id join_point)
{
    return release_point(join_point, NMC_RES_JOIN_POINT);
}

static int manage(enum nmc_resource_kind kind, const char *name, nmc_res_id *id)
{
    if (name == NULL || id == NULL)
        return NMC_EINVAL;
    if (!in_worker())
        return core_res_manage(kind, name, 0, id);
    struct core_msg req = {.op = OP_MANAGE, .a = kind}, rep;
    int st = core_call(&req, name, strlen(name) + 1, &rep, NULL);
    if (st == NMC_OK)
        *id = rep.a;
    return st;
}

int nmc_manage_file(const char *path, nmc_res_id *id)
{
    return manage(NMC_RES_FILE, path, id);
}

int nmc_manage_shm(const char *name, nmc_res_id *id)
{
    return manage(NMC_RES_SHM, name, id);
}

int nmc_manage_sem(const char *name, nmc_res_id *id)
{
    return manage(NMC_RES_SEM, name, id);
}

/* nmc_get_resource of one kind, copying the name out. */
static int get_name(nmc_res_id id, enum nmc_resource_kind kind, char *buf, size_t buflen)
{
    struct nmc_resource r;
    if (buf == NULL)
        return NMC_EINVAL;
    int st = nmc_get_resource(id, &r);
    if (st != NMC_OK)
        return st;
    if (r.kind != kind) {
        nmc_release(id);
        return NMC_ENO_RESOURCE;
    }
    if (strlen(r.name) >= buflen)
        return NMC_EOUT_OF_SPACE; /* the use stays: the resource is valid */
    strcpy(buf, r.name);
    return NMC_OK;
}

int nmc_get_file(nmc_res_id id, char *buf, size_t buflen)
{
    return get_name(id, NMC_RES_FILE, buf, buflen);
}

int nmc_get_shm(nmc_res_id id, char *buf, size_t buflen)
{
    return get_name(id, NMC_RES_SHM, buf, buflen);
}

int nmc_get_sem(nmc_res_id id, char *buf, size_t buflen)
{
    return get_name(id, NMC_RES_SEM, buf, buflen);
}

/* nmc_get_resource of a mapped kind: its address here. */
static int get_mapped(nmc_res_id id, enum nmc_resource_kind kind, struct nmc_resource *r)
{
    int st = nmc_get_resource(id, r);
    if (st != NMC_OK)
        return st;
    if (r->kind != kind || r->addr == NULL) {
        nmc_release(id);
        return NMC_ENO_RESOURCE;
    }
    return NMC_OK;
}

int nmc_get_shm_addr(nmc_res_id id, void **addr, size_t *size)
{
    struct nmc_resource r;
    if (addr == NULL)
        return NMC_EINVAL;
    int st = get_mapped(id, NMC_RES_SHM_PREALLOCATED, &r);
    if (st == NMC_OK) {
        *addr = r.addr;
        if (size != NULL)
            *size = r.size;
    }
    return st;
}

int nmc_get_mempool(nmc_res_id id, nmc_mempool **pool)
{
    struct nmc_resource r;
    if (pool == NULL)
        return NMC_EINVAL;
    int st = get_mapped(id, NMC_RES_MEMPOOL, &r);
    if (st == NMC_OK)
        *pool = r.addr;
    return st;
}

int nmc_create_preallocated_shm(const char *prefix, size_t size, nmc_res_id *id, char *name)
{
    if (prefix == NULL || id == NULL || name == NULL)
        return NMC_EINVAL;
    if (!in_worker())
        return core_res_create_shm(prefix, size, 0, id, name);
    struct core_msg req = {.op = OP_CREATE_SHM, .a = (int64_t)size}, rep;
    void *payload = NULL;
    int st = core_call(&req, prefix, strlen(prefix) + 1, &rep, &payload);
    if (st == NMC_OK && (rep.len == 0 || rep.len > NMC_SHM_NAME_MAX ||
                         ((char *)payload)[rep.len - 1] != '\0'))
        st = NMC_ECORRUPT;
    if (st == NMC_OK) {
        memcpy(name, payload, rep.len);
        *id = rep.a;
    }
    free(payload);
    return st;
}

int nmc_create_mempool(size_t size, bool alloc_really, nmc_res_id *id)
{
    if (id == NULL)
        return NMC_EINVAL;
    if (!in_worker())
        return core_res_create_pool(size, alloc_really, 0, id);
    struct core_msg req = {.op = OP_CREATE_POOL, .a = (int64_t)size, .b = alloc_really}, rep;
    int st = core_call(&req, NULL, 0, &rep, NULL);
    if (st == NMC_OK)
        *id = rep.a;
    return st;
}
