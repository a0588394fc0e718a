/* Iterations: find_all, iter, iter_keys, fold (read-locked while the
 * callbacks run) and block access: read_blocks, write_blocks. The
 * mapping's words are read once (internal.h). */
#include <stdlib.h>

#include "internal.h"

struct iteration {
    int (*run)(nmc_shmtable *t, const struct view *v, struct iteration *it);
    int32_t key;                   /* find_all */
    nmc_shmtable_binding_fn fn;
    nmc_shmtable_key_fn key_fn;    /* iter_keys */
    void *user;
    int32_t *scratch;              /* multi-page values are assembled here */
    size_t scratch_cap;
    uint32_t budget;               /* bindings left to visit: cycles end */
};

static int point(int32_t *data, size_t n, void *arg)
{
    (void)n;
    *(int32_t **)arg = data;
    return NMC_OK;
}

/* Calls it->fn on binding b: a one-page value in place, a longer one
 * assembled in the scratch buffer (b->len words, as validated). */
static int call_binding(nmc_shmtable *t, const struct view *v, struct iteration *it,
                        const struct binding *b)
{
    int32_t *value = NULL;
    int rc;
    if (b->npages == 1) {
        rc = shmt_walk(t, v, b, point, &value);
    } else {
        if (b->len > it->scratch_cap) {
            int32_t *p = realloc(it->scratch, (size_t)b->len * sizeof *p);
            if (p == NULL)
                return NMC_ENOMEM;
            it->scratch = p;
            it->scratch_cap = b->len;
        }
        int32_t *dst = value = it->scratch;
        rc = shmt_walk(t, v, b, shmt_copy_out, &dst);
    }
    return rc != NMC_OK ? rc : it->fn(b->key, value, b->len, it->user);
}

/* Every binding of key, newest first, from the newest's first page. */
static int each_binding(nmc_shmtable *t, const struct view *v, struct iteration *it,
                        int32_t key, uint32_t newest)
{
    for (uint32_t pg = newest; pg != 0;) {
        if (it->budget-- == 0)
            return shmt_corrupt(t, pg, "older");
        struct binding b;
        int rc = shmt_binding(t, v, pg, key, &b);
        if (rc == NMC_OK)
            rc = call_binding(t, v, it, &b);
        if (rc != NMC_OK)
            return rc;
        pg = b.older;
    }
    return NMC_OK;
}

static int run_iteration(nmc_shmtable *t, const struct view *v, void *arg)
{
    struct iteration *it = arg;
    it->budget = v->top;
    t->iter_depth++;
    int rc = it->run(t, v, it);
    t->iter_depth--;
    return rc;
}

static int iterate(nmc_shmtable *t, struct iteration *it)
{
    if (t == NULL || (it->fn == NULL && it->key_fn == NULL))
        return NMC_EINVAL;
    int rc = shmt_read(t, false, run_iteration, it);
    free(it->scratch);
    return rc;
}

static int run_find_all(nmc_shmtable *t, const struct view *v, struct iteration *it)
{
    uint32_t newest = 0, c = shmt_lookup(v, it->key, &newest);
    return c == v->ncells ? NMC_OK : each_binding(t, v, it, it->key, newest);
}

int nmc_shmtable_find_all(nmc_shmtable *t, int32_t key, nmc_shmtable_binding_fn fn,
                          void *user)
{
    struct iteration it = {.run = run_find_all, .key = key, .fn = fn, .user = user};
    return iterate(t, &it);
}

static int run_iter(nmc_shmtable *t, const struct view *v, struct iteration *it)
{
    int rc = NMC_OK;
    for (uint32_t c = 0; c < v->ncells && rc == NMC_OK; c++) {
        int32_t key;
        uint32_t newest = cell_get(v, c, &key);
        if (cell_live(newest))
            rc = it->fn != NULL ? each_binding(t, v, it, key, newest) : it->key_fn(key, it->user);
    }
    return rc;
}

int nmc_shmtable_iter(nmc_shmtable *t, nmc_shmtable_binding_fn fn, void *user)
{
    struct iteration it = {.run = run_iter, .fn = fn, .user = user};
    return iterate(t, &it);
}

int nmc_shmtable_fold(nmc_shmtable *t, nmc_shmtable_binding_fn fn, void *acc)
{
    return nmc_shmtable_iter(t, fn, acc);
}

int nmc_shmtable_iter_keys(nmc_shmtable *t, nmc_shmtable_key_fn fn, void *user)
{
    struct iteration it = {.run = run_iter, .key_fn = fn, .user = user};
    return iterate(t, &it);
}

/* ---- blocks -------------------------------------------------------------- */

struct blocks {
    int32_t key;
    unsigned ops;
    nmc_shmtable_block_fn fn;
    void *user;
    bool remove; /* the current binding is to be removed */
};

/* Calls the user's fn, noting REMOVE_BINDING; returns 0 to go on. */
static int block_ctrl(int32_t *data, size_t n, void *arg)
{
    struct blocks *b = arg;
    int r = b->fn(data, n, b->user);
    if (r != NMC_SHMTABLE_REMOVE_BINDING)
        return r;
    if ((b->ops & NMC_SHMTABLE_OP_REMOVE_BINDING) == 0)
        return NMC_EINVAL;
    b->remove = true;
    return NMC_OK;
}

static int run_blocks(nmc_shmtable *t, const struct view *v, void *arg)
{
    struct blocks *b = arg;
    uint32_t pg = 0, c = shmt_lookup(v, b->key, &pg);
    if (c == v->ncells)
        return NMC_OK;
    uint32_t prev = 0, budget = v->top;
    int rc = NMC_OK;
    t->iter_depth++;
    while (pg != 0 && rc == NMC_OK) {
        struct binding bd;
        rc = budget-- == 0 ? shmt_corrupt(t, pg, "older") : shmt_binding(t, v, pg, b->key, &bd);
        if (rc != NMC_OK)
            break;
        b->remove = false;
        rc = shmt_walk(t, v, &bd, block_ctrl, b);
        if (rc == NMC_OK)
            rc = block_ctrl(NULL, 0, b);
        if (rc != NMC_OK && rc != NMC_SHMTABLE_NEXT && rc != NMC_SHMTABLE_BREAK)
            break;
        if (b->remove) {
            int st = shmt_remove_binding(t, v, c, prev, &bd);
            rc = st != NMC_OK ? st : rc;
        } else {
            prev = pg;
        }
        rc = rc == NMC_SHMTABLE_NEXT ? NMC_OK : rc;
        pg = bd.older;
    }
    t->iter_depth--;
    return rc == NMC_SHMTABLE_BREAK ? NMC_OK : rc;
}

static int run_write_blocks(nmc_shmtable *t, struct view *v, void *arg)
{
    return run_blocks(t, v, arg);
}

int nmc_shmtable_read_blocks(nmc_shmtable *t, int32_t key, nmc_shmtable_block_fn fn,
                             void *user)
{
    if (t == NULL || fn == NULL)
        return NMC_EINVAL;
    struct blocks b = {.key = key, .fn = fn, .user = user};
    return shmt_read(t, false, run_blocks, &b);
}

int nmc_shmtable_write_blocks(nmc_shmtable *t, unsigned ops, int32_t key,
                              nmc_shmtable_block_fn fn, void *user)
{
    if (t == NULL || fn == NULL || (ops & ~NMC_SHMTABLE_OP_REMOVE_BINDING) != 0)
        return NMC_EINVAL;
    struct blocks b = {.key = key, .ops = ops, .fn = fn, .user = user};
    return shmt_write(t, run_write_blocks, &b);
}
