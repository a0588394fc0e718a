/* Table operations on single keys: add, replace, remove, find, mem,
 * length, and the binding helpers (lookup, validation, walk, free). */
#include <string.h>

#include "internal.h"

uint32_t shmt_lookup(const struct view *v, int32_t key)
{
    uint32_t mask = v->ncells - 1, i = hash_slot(v, key);
    for (uint32_t n = 0; n < v->ncells; n++, i = (i + 1) & mask) {
        const uint32_t *c = cell_at(v, i);
        if (c[1] == CELL_EMPTY)
            break;
        if (c[1] != CELL_DELETED && (int32_t)c[0] == key)
            return i;
    }
    return v->ncells;
}

int shmt_binding(nmc_shmtable *t, const struct view *v, uint32_t pg, int32_t key,
                 uint32_t *len)
{
    if (!page_ok(v, pg))
        return shmt_corrupt(t, pg, "page number");
    const uint32_t *p = page_at(v, pg);
    if (p[P_TAG] != TAG_FIRST)
        return shmt_corrupt(t, pg, "tag");
    if ((int32_t)p[P_KEY] != key)
        return shmt_corrupt(t, pg, "key");
    uint32_t n = shmt_pages_for(v, p[P_LEN]);
    if (n == 0 || n >= v->top)
        return shmt_corrupt(t, pg, "length");
    *len = p[P_LEN];
    return NMC_OK;
}

int shmt_walk(nmc_shmtable *t, const struct view *v, uint32_t first, int32_t key,
              shmt_block_fn fn, void *arg)
{
    uint32_t len;
    int rc = shmt_binding(t, v, first, key, &len);
    if (rc != NMC_OK)
        return rc;
    uint32_t d = data_words(v), npages = shmt_pages_for(v, len), pg = first;
    for (uint32_t i = 0;; i++) {
        uint32_t *p = page_at(v, pg);
        size_t n = len - (size_t)i * d < d ? len - (size_t)i * d : d;
        rc = fn((int32_t *)p + P_DATA, n, arg);
        if (rc != NMC_OK)
            return rc;
        uint32_t next = p[P_NEXT];
        if (i + 1 == npages)
            return next == 0 ? NMC_OK : shmt_corrupt(t, pg, "next");
        if (!page_ok(v, next))
            return shmt_corrupt(t, pg, "next");
        const uint32_t *q = page_at(v, next);
        if (q[P_TAG] != TAG_CONT)
            return shmt_corrupt(t, next, "tag");
        if ((int32_t)q[P_KEY] != key)
            return shmt_corrupt(t, next, "key");
        if (q[P_SEQNO] != i + 1)
            return shmt_corrupt(t, next, "seqno");
        pg = next;
    }
}

static int no_op(int32_t *data, size_t n, void *arg)
{
    (void)data, (void)n, (void)arg;
    return NMC_OK;
}

/* Validates every page of binding first of key: a mutation checks what it
 * will unlink or free before its commit, so a corrupt one changes nothing. */
static int check_binding(nmc_shmtable *t, const struct view *v, uint32_t first, int32_t key)
{
    return shmt_walk(t, v, first, key, no_op, NULL);
}

/* Returns the pages of binding first, validated, to the free list. */
static void release_binding(nmc_shmtable *t, const struct view *v, uint32_t first)
{
    uint32_t npages = shmt_pages_for(v, page_at(v, first)[P_LEN]);
    for (uint32_t i = 0, pg = first; i < npages; i++) {
        uint32_t next = page_at(v, pg)[P_NEXT];
        shmt_free_page(t, v, pg);
        pg = next;
    }
    hdr_set(t, H_NBINDINGS, hdr_get(t, H_NBINDINGS) - 1);
}

/* The one store that makes a mutation happen (shmtable.h, "Writers that
 * die"): everything it publishes was written before it. */
static void commit(uint32_t *word, uint32_t x)
{
    __atomic_store_n(word, x, __ATOMIC_RELEASE);
}

int shmt_unlink_binding(nmc_shmtable *t, const struct view *v, uint32_t c, uint32_t prev,
                        uint32_t cur, int32_t key)
{
    uint32_t older = page_at(v, cur)[P_OLDER];
    int rc = check_binding(t, v, cur, key);
    if (rc != NMC_OK)
        return rc;
    if (prev != 0) {
        commit(&page_at(v, prev)[P_OLDER], older);
    } else if (older != 0) {
        commit(&cell_at(v, c)[1], older);
    } else {
        commit(&cell_at(v, c)[1], CELL_DELETED);
        hdr_set(t, H_NKEYS, hdr_get(t, H_NKEYS) - 1);
    }
    release_binding(t, v, cur);
    return NMC_OK;
}

/* ---- mutations ----------------------------------------------------------- */

struct put {
    int32_t key;
    const int32_t *value;
    size_t len;
    bool replace;
};

/* Writes a new binding (older = 0) into npages pages taken after
 * shmt_reserve; *first = its first page. */
static int write_binding(nmc_shmtable *t, struct view *v, const struct put *a,
                         uint32_t npages, uint32_t *first)
{
    uint32_t d = data_words(v), prev = 0;
    for (uint32_t i = 0; i < npages; i++) {
        uint32_t pg = shmt_alloc_page(t, v);
        if (pg == 0)
            return shmt_corrupt(t, 0, "free_head");
        uint32_t *p = page_at(v, pg);
        size_t n = a->len - (size_t)i * d < d ? a->len - (size_t)i * d : d;
        p[P_TAG] = i == 0 ? TAG_FIRST : TAG_CONT;
        p[P_KEY] = (uint32_t)a->key;
        p[P_NEXT] = 0;
        p[P_OLDER] = i; /* the sequence number, or no older binding yet */
        p[P_LEN] = i == 0 ? (uint32_t)a->len : 0;
        if (n > 0)
            memcpy(p + P_DATA, a->value + (size_t)i * d, n * sizeof *a->value);
        if (prev == 0)
            *first = pg;
        else
            page_at(v, prev)[P_NEXT] = pg;
        prev = pg;
    }
    return NMC_OK;
}

/* A free cell for a new key (one exists: the load is kept at most 1/2). */
static int insert_cell(nmc_shmtable *t, const struct view *v, int32_t key, uint32_t first)
{
    uint32_t mask = v->ncells - 1, i = hash_slot(v, key);
    for (uint32_t n = 0; n < v->ncells; n++, i = (i + 1) & mask) {
        uint32_t *c = cell_at(v, i);
        if (c[1] == CELL_EMPTY || c[1] == CELL_DELETED) {
            if (c[1] == CELL_EMPTY)
                hdr_set(t, H_USED, hdr_get(t, H_USED) + 1);
            c[0] = (uint32_t)key;
            commit(&c[1], first);
            hdr_set(t, H_NKEYS, hdr_get(t, H_NKEYS) + 1);
            return NMC_OK;
        }
    }
    return shmt_corrupt(t, 0, "used");
}

static int do_put(nmc_shmtable *t, struct view *v, void *arg)
{
    const struct put *a = arg;
    uint32_t npages = shmt_pages_for(v, a->len), cell = shmt_lookup(v, a->key);
    if (npages == 0)
        return NMC_EINVAL;
    int rc;
    if (cell == v->ncells && 2 * ((uint64_t)hdr_get(t, H_USED) + 1) > v->ncells) {
        rc = shmt_rehash(t, v, 1);
        if (rc != NMC_OK)
            return rc;
        cell = v->ncells; /* still absent */
    }
    bool bound = cell < v->ncells, replace = bound && a->replace;
    uint32_t old = bound ? cell_at(v, cell)[1] : 0;
    if (bound && (rc = check_binding(t, v, old, a->key)) != NMC_OK)
        return rc;
    /* New pages even for a replace: the old value stays whole until the
     * commit, and is freed after it. */
    rc = shmt_reserve(t, v, npages);
    if (rc != NMC_OK)
        return rc;
    uint32_t first;
    rc = write_binding(t, v, a, npages, &first);
    if (rc != NMC_OK)
        return rc;
    page_at(v, first)[P_OLDER] = replace ? page_at(v, old)[P_OLDER] : old;
    if (!bound)
        rc = insert_cell(t, v, a->key, first);
    else
        commit(&cell_at(v, cell)[1], first);
    if (rc != NMC_OK)
        return rc;
    hdr_set(t, H_NBINDINGS, hdr_get(t, H_NBINDINGS) + 1);
    if (replace)
        release_binding(t, v, old);
    return NMC_OK;
}

static int put(nmc_shmtable *t, int32_t key, const int32_t *value, size_t len, bool replace)
{
    if (t == NULL || (value == NULL && len > 0))
        return NMC_EINVAL;
    struct put a = {key, value, len, replace};
    return shmt_write(t, do_put, &a);
}

int nmc_shmtable_add(nmc_shmtable *t, int32_t key, const int32_t *value, size_t len)
{
    return put(t, key, value, len, false);
}

int nmc_shmtable_replace(nmc_shmtable *t, int32_t key, const int32_t *value, size_t len)
{
    return put(t, key, value, len, true);
}

static int do_remove(nmc_shmtable *t, struct view *v, void *arg)
{
    int32_t key = *(const int32_t *)arg;
    uint32_t cell = shmt_lookup(v, key), len;
    if (cell == v->ncells)
        return NMC_OK;
    uint32_t first = cell_at(v, cell)[1];
    int rc = shmt_binding(t, v, first, key, &len);
    return rc != NMC_OK ? rc : shmt_unlink_binding(t, v, cell, 0, first, key);
}

int nmc_shmtable_remove(nmc_shmtable *t, int32_t key)
{
    return t == NULL ? NMC_EINVAL : shmt_write(t, do_remove, &key);
}

/* ---- reads --------------------------------------------------------------- */

struct get {
    int32_t key;
    int32_t *buf;
    size_t cap, len;
    bool copy; /* false: mem */
};

int shmt_copy_out(int32_t *data, size_t n, void *arg)
{
    int32_t **dst = arg;
    if (n > 0) {
        memcpy(*dst, data, n * sizeof *data);
        *dst += n;
    }
    return NMC_OK;
}

static int do_find(nmc_shmtable *t, const struct view *v, void *arg)
{
    struct get *a = arg;
    uint32_t cell = shmt_lookup(v, a->key), len;
    if (cell == v->ncells)
        return NMC_ENOT_FOUND;
    uint32_t first = cell_at(v, cell)[1];
    int rc = shmt_binding(t, v, first, a->key, &len);
    if (rc != NMC_OK)
        return rc;
    a->len = len;
    if (!a->copy)
        return NMC_OK;
    if (len > a->cap)
        return NMC_EOUT_OF_SPACE;
    int32_t *dst = a->buf;
    return shmt_walk(t, v, first, a->key, shmt_copy_out, &dst);
}

int nmc_shmtable_find(nmc_shmtable *t, int32_t key, int32_t *buf, size_t cap, size_t *len)
{
    if (t == NULL || len == NULL || (buf == NULL && cap > 0))
        return NMC_EINVAL;
    struct get a = {key, buf, cap, 0, true};
    int rc = shmt_read(t, true, do_find, &a);
    *len = a.len;
    return rc;
}

int nmc_shmtable_mem(nmc_shmtable *t, int32_t key, bool *bound)
{
    if (t == NULL || bound == NULL)
        return NMC_EINVAL;
    struct get a = {key, NULL, 0, 0, false};
    int rc = shmt_read(t, true, do_find, &a);
    *bound = rc == NMC_OK;
    return rc == NMC_ENOT_FOUND ? NMC_OK : rc;
}

static int do_length(nmc_shmtable *t, const struct view *v, void *arg)
{
    (void)v;
    *(size_t *)arg = hdr_get(t, H_NBINDINGS);
    return NMC_OK;
}

int nmc_shmtable_length(nmc_shmtable *t, size_t *n)
{
    return t == NULL || n == NULL ? NMC_EINVAL : shmt_read(t, true, do_length, n);
}
