/* Looking at a whole table: the fsck (nmc_shmtable_check), dump and the
 * memory view. The mapping's words are read once (internal.h). */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"

struct fsck {
    nmc_shmtable *t;
    const struct view *v;
    uint8_t *seen; /* one bit per page in [0, top) */
};

static bool reached(const struct fsck *f, uint32_t pg)
{
    return (f->seen[pg >> 3] & (1u << (pg & 7))) != 0;
}

/* Marks page pg as reached; a second time means two owners or a cycle. */
static int mark(struct fsck *f, uint32_t pg, const char *field)
{
    if (reached(f, pg))
        return shmt_corrupt(f->t, pg, field);
    f->seen[pg >> 3] |= (uint8_t)(1u << (pg & 7));
    return NMC_OK;
}

static int mark_block(int32_t *data, size_t n, void *arg)
{
    struct fsck *f = arg;
    (void)n;
    return mark(f, page_of_data(f->v, data), "shared page");
}

/* Live cell c of key: in its probe position, and every binding of its
 * chain (from page newest). */
static int check_cell(struct fsck *f, uint32_t c, int32_t key, uint32_t newest,
                      uint64_t *bindings)
{
    const struct view *v = f->v;
    uint32_t cell_page = v->hstart + (uint32_t)(2 * (uint64_t)c / v->pw), found;
    if (shmt_lookup(v, key, &found) != c)
        return shmt_corrupt(f->t, cell_page, "cell position");
    for (uint32_t pg = newest; pg != 0;) {
        if (page_ok(v, pg) && reached(f, pg))
            return shmt_corrupt(f->t, pg, "older");
        struct binding b;
        int rc = shmt_binding(f->t, v, pg, key, &b);
        if (rc == NMC_OK)
            rc = shmt_walk(f->t, v, &b, mark_block, f);
        if (rc != NMC_OK)
            return rc;
        ++*bindings;
        pg = b.older;
    }
    return NMC_OK;
}

static int check_free_list(struct fsck *f)
{
    nmc_shmtable *t = f->t;
    uint32_t n = 0;
    for (uint32_t pg = hdr_get(t, H_FREE_HEAD); pg != 0; n++) {
        if (!page_ok(f->v, pg))
            return shmt_corrupt(t, pg, "free next");
        const uint32_t *p = page_at(f->v, pg);
        if (LOAD_ONCE(&p[P_TAG]) != TAG_FREE)
            return shmt_corrupt(t, pg, "tag");
        int rc = mark(f, pg, "free next");
        if (rc != NMC_OK)
            return rc;
        pg = LOAD_ONCE(&p[1]);
    }
    return n == hdr_get(t, H_NFREE) ? NMC_OK : shmt_corrupt(t, 0, "nfree");
}

/* What the cells reach: the counts, and the marks of the header, the hash
 * area and every binding page. */
struct reach {
    uint64_t used, keys, bindings;
};

static int mark_reachable(struct fsck *f, struct reach *r)
{
    const struct view *v = f->v;
    f->seen[0] = 1;
    for (uint32_t pg = v->hstart; pg < v->hstart + v->hpages; pg++)
        mark(f, pg, "hash pages");
    *r = (struct reach){0};
    for (uint32_t c = 0; c < v->ncells; c++) {
        int32_t key;
        uint32_t pg = cell_get(v, c, &key);
        r->used += pg != CELL_EMPTY;
        if (!cell_live(pg))
            continue;
        r->keys++;
        int rc = check_cell(f, c, key, pg, &r->bindings);
        if (rc != NMC_OK)
            return rc;
    }
    return NMC_OK;
}

static int check_all(struct fsck *f)
{
    nmc_shmtable *t = f->t;
    const struct view *v = f->v;
    if (hdr_get(t, H_MAGIC0) != SHMT_MAGIC0 || hdr_get(t, H_MAGIC1) != SHMT_MAGIC1)
        return shmt_corrupt(t, 0, "magic");
    if (hdr_get(t, H_VERSION) != SHMT_VERSION)
        return shmt_corrupt(t, 0, "version");
    if (hdr_get(t, H_PAGESIZE) != t->pagesize)
        return shmt_corrupt(t, 0, "pagesize");
    if (hdr_get(t, H_ZERO) != 0 || hdr_get(t, H_PENDING_CELLS) != 0)
        return shmt_corrupt(t, 0, "reserved");
    struct reach r;
    int rc = mark_reachable(f, &r);
    if (rc != NMC_OK)
        return rc;
    if (r.used != hdr_get(t, H_USED) || 2 * r.used > v->ncells)
        return shmt_corrupt(t, 0, "used");
    if (r.keys != hdr_get(t, H_NKEYS))
        return shmt_corrupt(t, 0, "nkeys");
    if (r.bindings != hdr_get(t, H_NBINDINGS))
        return shmt_corrupt(t, 0, "nbindings");
    rc = check_free_list(f);
    for (uint32_t pg = 1; pg < v->top && rc == NMC_OK; pg++)
        if (!reached(f, pg))
            rc = shmt_corrupt(t, pg, "unreachable");
    return rc;
}

static int do_check(nmc_shmtable *t, const struct view *v, void *arg)
{
    (void)arg;
    struct fsck f = {t, v, calloc(v->top / 8 + 1, 1)};
    if (f.seen == NULL)
        return NMC_ENOMEM;
    int rc = check_all(&f);
    free(f.seen);
    return rc;
}

int shmt_repair(nmc_shmtable *t, const struct view *v)
{
    struct fsck f = {t, v, calloc(v->top / 8 + 1, 1)};
    if (f.seen == NULL)
        return NMC_ENOMEM;
    struct reach r;
    int rc = mark_reachable(&f, &r);
    if (rc == NMC_OK) {
        /* Every other page below top is free: a binding written but not
         * committed, one unlinked but not yet freed, a page between the
         * free list and its user. */
        uint32_t head = 0, nfree = 0;
        for (uint32_t pg = v->top - 1; pg >= 1; pg--)
            if (!reached(&f, pg)) {
                uint32_t *p = page_at(v, pg);
                p[P_TAG] = TAG_FREE;
                p[1] = head;
                head = pg;
                nfree++;
            }
        hdr_set(t, H_FREE_HEAD, head);
        hdr_set(t, H_NFREE, nfree);
        hdr_set(t, H_USED, (uint32_t)r.used);
        hdr_set(t, H_NKEYS, (uint32_t)r.keys);
        hdr_set(t, H_NBINDINGS, (uint32_t)r.bindings);
    }
    free(f.seen);
    return rc;
}

int nmc_shmtable_check(nmc_shmtable *t, struct nmc_shmtable_fault *fault)
{
    if (t == NULL)
        return NMC_EINVAL;
    int rc = shmt_read(t, false, do_check, NULL);
    if (rc == NMC_ECORRUPT && fault != NULL)
        *fault = t->fault;
    return rc;
}

/* ---- dump ---------------------------------------------------------------- */

static int dump_header(nmc_shmtable *t, const struct view *v, void *arg)
{
    fprintf(arg,
            "shmtable: pagesize %" PRIu32 ", pages %" PRIu32 " (used %" PRIu32 "), hash %" PRIu32
            " cells at page %" PRIu32 " (%" PRIu32 " pages), %" PRIu32 " used, %" PRIu32
            " keys, %" PRIu32 " bindings, %" PRIu32 " free pages\n",
            t->pagesize, v->npages, v->top, v->ncells, v->hstart, v->hpages,
            hdr_get(t, H_USED), hdr_get(t, H_NKEYS), hdr_get(t, H_NBINDINGS),
            hdr_get(t, H_NFREE));
    return NMC_OK;
}

static int dump_binding(int32_t key, const int32_t *value, size_t len, void *arg)
{
    fprintf(arg, "  %" PRId32 " -> [%zu]", key, len);
    for (size_t i = 0; i < len && i < 8; i++)
        fprintf(arg, " %" PRId32, value[i]);
    fputs(len > 8 ? " ...\n" : "\n", arg);
    return NMC_OK;
}

static int dump_group(nmc_shmtable *t, void *out)
{
    int rc = shmt_read(t, false, dump_header, out);
    return rc != NMC_OK ? rc : nmc_shmtable_iter(t, dump_binding, out);
}

int nmc_shmtable_dump(nmc_shmtable *t, FILE *out)
{
    if (t == NULL || out == NULL)
        return NMC_EINVAL;
    return nmc_shmtable_group(t, dump_group, out);
}

/* ---- memory view --------------------------------------------------------- */

struct memory {
    int32_t **words;
    size_t *rows, *cols;
};

static int do_memory(nmc_shmtable *t, const struct view *v, void *arg)
{
    const struct memory *m = arg;
    (void)t;
    *m->words = (int32_t *)v->w;
    *m->rows = v->npages;
    *m->cols = v->pw;
    return NMC_OK;
}

int nmc_shmtable_memory(nmc_shmtable *t, int32_t **words, size_t *rows, size_t *cols)
{
    if (t == NULL || words == NULL || rows == NULL || cols == NULL)
        return NMC_EINVAL;
    struct memory m = {words, rows, cols};
    return shmt_read(t, false, do_memory, &m);
}
