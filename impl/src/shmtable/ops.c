/* Table operations on single keys: add, replace, remove, find, mem,
 * length, and the binding helpers (lookup, validation, walk, free). Every
 * word of the mapping is read once (internal.h). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

uint32_t shmt_lookup(const struct view *v, int32_t key, uint32_t *pg)
{
    uint32_t mask = v->ncells - 1, i = hash_slot(v, key);
    for (uint32_t n = 0; n < v->ncells; n++, i = (i + 1) & mask) {
        const uint32_t *c = cell_at(v, i);
        uint32_t page = LOAD_ONCE(&c[1]);
        if (page == CELL_EMPTY)
            break;
        if (page != CELL_DELETED && (int32_t)LOAD_ONCE(&c[0]) == key) {
            *pg = page;
            return i;
        }
    }
    return v->ncells;
}

int shmt_binding(nmc_shmtable *t, const struct view *v, uint32_t pg, int32_t key,
                 struct binding *b)
{
    if (!page_ok(v, pg))
        return shmt_corrupt(t, pg, "page number");
    const uint32_t *p = page_at(v, pg);
    if (LOAD_ONCE(&p[P_TAG]) != TAG_FIRST)
        return shmt_corrupt(t, pg, "tag");
    if ((int32_t)LOAD_ONCE(&p[P_KEY]) != key)
        return shmt_corrupt(t, pg, "key");
    uint32_t len = LOAD_ONCE(&p[P_LEN]), n = shmt_pages_for(v, len);
    if (n == 0 || n >= v->top)
        return shmt_corrupt(t, pg, "length");
    *b = (struct binding){key, pg, len, n, LOAD_ONCE(&p[P_OLDER])};
    return NMC_OK;
}

/* Validates next, the link from page pg to follow page number i (>= 1) of
 * a binding of key. */
static int follow_ok(nmc_shmtable *t, const struct view *v, uint32_t pg, uint32_t next,
                     int32_t key, uint32_t i)
{
    if (!page_ok(v, next))
        return shmt_corrupt(t, pg, "next");
    const uint32_t *q = page_at(v, next);
    if (LOAD_ONCE(&q[P_TAG]) != TAG_CONT)
        return shmt_corrupt(t, next, "tag");
    if ((int32_t)LOAD_ONCE(&q[P_KEY]) != key)
        return shmt_corrupt(t, next, "key");
    if (LOAD_ONCE(&q[P_SEQNO]) != i)
        return shmt_corrupt(t, next, "seqno");
    return NMC_OK;
}

int shmt_walk(nmc_shmtable *t, const struct view *v, const struct binding *b,
              shmt_block_fn fn, void *arg)
{
    uint32_t d = data_words(v), pg = b->first;
    for (uint32_t i = 0;; i++) {
        uint32_t *p = page_at(v, pg);
        size_t left = b->len - (size_t)i * d;
        int rc = fn((int32_t *)p + P_DATA, left < d ? left : d, arg);
        if (rc != NMC_OK)
            return rc;
        uint32_t next = LOAD_ONCE(&p[P_NEXT]);
        if (i + 1 == b->npages)
            return next == 0 ? NMC_OK : shmt_corrupt(t, pg, "next");
        if ((rc = follow_ok(t, v, pg, next, b->key, i + 1)) != NMC_OK)
            return rc;
        pg = next;
    }
}

/* ---- removing a binding ---------------------------------------------------- */

/* The pages of a binding as its validating walk passed them: what a
 * mutation frees after its commit, so that it never follows the binding's
 * links again (a writer racing it could have changed them by then). */
struct page_list {
    const struct view *v;
    uint32_t *pg;      /* room for the binding's pages: small, or malloc'd */
    uint32_t n;        /* recorded so far (at most npages: one per block)  */
    uint32_t small[4];
};

static int no_op(int32_t *data, size_t n, void *arg)
{
    (void)data, (void)n, (void)arg;
    return NMC_OK;
}

static int note_page(int32_t *data, size_t n, void *arg)
{
    struct page_list *l = arg;
    (void)n;
    l->pg[l->n++] = page_of_data(l->v, data);
    return NMC_OK;
}

static void list_done(struct page_list *l)
{
    if (l->pg != l->small)
        free(l->pg);
}

/* Validates every page of binding b: a mutation checks what it will unlink
 * or free before its commit, so a corrupt one changes nothing. With l, the
 * pages are recorded there (release the list with list_done). */
static int check_binding(nmc_shmtable *t, const struct view *v, const struct binding *b,
                         struct page_list *l)
{
    if (l == NULL)
        return shmt_walk(t, v, b, no_op, NULL);
    *l = (struct page_list){.v = v};
    l->pg = b->npages <= sizeof l->small / sizeof *l->small ? l->small
                                                            : malloc(b->npages * sizeof *l->pg);
    if (l->pg == NULL)
        return NMC_ENOMEM;
    int rc = shmt_walk(t, v, b, note_page, l);
    if (rc != NMC_OK)
        list_done(l);
    return rc;
}

/* Returns the pages of a binding, as check_binding recorded them, to the
 * free list. */
static void release_binding(nmc_shmtable *t, const struct view *v, const struct page_list *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        shmt_free_page(t, v, l->pg[i]);
    hdr_set(t, H_NBINDINGS, hdr_get(t, H_NBINDINGS) - 1);
}

/* The one store that makes a mutation happen (shmtable.h, "Writers that
 * die"): everything it publishes was written before it. */
static void commit(uint32_t *word, uint32_t x)
{
    __atomic_store_n(word, x, __ATOMIC_RELEASE);
}

int shmt_remove_binding(nmc_shmtable *t, const struct view *v, uint32_t c, uint32_t prev,
                        const struct binding *b)
{
    struct page_list doomed;
    int rc = check_binding(t, v, b, &doomed);
    if (rc != NMC_OK)
        return rc;
    if (prev != 0) {
        commit(&page_at(v, prev)[P_OLDER], b->older);
    } else if (b->older != 0) {
        commit(&cell_at(v, c)[1], b->older);
    } else {
        commit(&cell_at(v, c)[1], CELL_DELETED);
        hdr_set(t, H_NKEYS, hdr_get(t, H_NKEYS) - 1);
    }
    release_binding(t, v, &doomed);
    list_done(&doomed);
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
        uint32_t *c = cell_at(v, i), pg = LOAD_ONCE(&c[1]);
        if (pg == CELL_EMPTY || pg == CELL_DELETED) {
            if (pg == CELL_EMPTY)
                hdr_set(t, H_USED, hdr_get(t, H_USED) + 1);
            c[0] = (uint32_t)key;
            commit(&c[1], first);
            hdr_set(t, H_NKEYS, hdr_get(t, H_NKEYS) + 1);
            return NMC_OK;
        }
    }
    return shmt_corrupt(t, 0, "used");
}

/* Writes a's value into npages new pages and publishes it: in a new cell
 * (old NULL), on top of binding old of cell c, or, with doomed (old's
 * pages, validated), in old's place, freeing old after the commit. */
static int put_binding(nmc_shmtable *t, struct view *v, const struct put *a, uint32_t npages,
                       uint32_t c, const struct binding *old, const struct page_list *doomed)
{
    /* New pages even for a replace: the old value stays whole until the
     * commit, and is freed after it. */
    int rc = shmt_reserve(t, v, npages);
    uint32_t first;
    if (rc == NMC_OK)
        rc = write_binding(t, v, a, npages, &first);
    if (rc != NMC_OK)
        return rc;
    page_at(v, first)[P_OLDER] = old == NULL ? 0 : doomed != NULL ? old->older : old->first;
    if (old == NULL)
        rc = insert_cell(t, v, a->key, first);
    else
        commit(&cell_at(v, c)[1], first);
    if (rc != NMC_OK)
        return rc;
    hdr_set(t, H_NBINDINGS, hdr_get(t, H_NBINDINGS) + 1);
    if (doomed != NULL)
        release_binding(t, v, doomed);
    return NMC_OK;
}

static int do_put(nmc_shmtable *t, struct view *v, void *arg)
{
    const struct put *a = arg;
    uint32_t npages = shmt_pages_for(v, a->len), newest = 0;
    uint32_t cell = shmt_lookup(v, a->key, &newest);
    if (npages == 0)
        return NMC_EINVAL;
    int rc;
    struct binding old, *under = NULL;
    struct page_list doomed, *freed = NULL;
    if (cell == v->ncells) {
        if (2 * ((uint64_t)hdr_get(t, H_USED) + 1) > v->ncells &&
            (rc = shmt_rehash(t, v, 1)) != NMC_OK)
            return rc;
    } else {
        /* The binding under the new one (add) or in its place (replace) is
         * validated whole before anything changes. */
        under = &old;
        freed = a->replace ? &doomed : NULL;
        if ((rc = shmt_binding(t, v, newest, a->key, &old)) != NMC_OK ||
            (rc = check_binding(t, v, &old, freed)) != NMC_OK)
            return rc;
    }
    rc = put_binding(t, v, a, npages, cell, under, freed);
    if (freed != NULL)
        list_done(freed);
    return rc;
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
    uint32_t newest = 0, cell = shmt_lookup(v, key, &newest);
    if (cell == v->ncells)
        return NMC_OK;
    struct binding b;
    int rc = shmt_binding(t, v, newest, key, &b);
    return rc != NMC_OK ? rc : shmt_remove_binding(t, v, cell, 0, &b);
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
    uint32_t newest = 0, cell = shmt_lookup(v, a->key, &newest);
    if (cell == v->ncells)
        return NMC_ENOT_FOUND;
    struct binding b;
    int rc = shmt_binding(t, v, newest, a->key, &b);
    if (rc != NMC_OK)
        return rc;
    a->len = b.len;
    if (!a->copy)
        return NMC_OK;
    if (b.len > a->cap)
        return NMC_EOUT_OF_SPACE;
    int32_t *dst = a->buf; /* the walk copies b.len words, the length checked */
    return shmt_walk(t, v, &b, shmt_copy_out, &dst);
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
