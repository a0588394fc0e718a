/* Shared queues: root fields {length; first; last}, a chain of cells
 * {content; next} from first to last. A cell's next is only set while it
 * is the last one, so the chain behind a pinned cell never changes: that
 * makes pop_p, iter and fold safe without holding the lock. */
#include "nmc/queue.h"

#include "ds.h"

#define HEAP(q) ((nmc_heap *)(q))
#define EMPTY nmc_val_long(0)

enum { Q_LENGTH = 0, Q_FIRST = 1, Q_LAST = 2, Q_FIELDS };
enum { CELL_CONTENT = 0, CELL_NEXT = 1 };

int nmc_queue_create(nmc_mempool *pool, nmc_value header, nmc_queue **out)
{
    const nmc_value fields[Q_FIELDS] = {nmc_val_long(0), EMPTY, EMPTY};
    if (out == NULL)
        return NMC_EINVAL;
    return ds_create(pool, DS_QUEUE, header, Q_FIELDS, fields, (nmc_heap **)out);
}

static int push(nmc_mutator *mut, void *ctx)
{
    /* The cell is built on the stack and copied in with the element. */
    nmc_value local[3] = {nmc_make_header(2, 0, NMC_COLOR_WHITE), *(const nmc_value *)ctx, EMPTY};
    nmc_value cell;
    int st = nmc_heap_add(mut, (nmc_value)&local[1], &cell);
    if (st != NMC_OK)
        return st;
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut));
    if (f[Q_LAST] == EMPTY)
        f[Q_FIRST] = cell;
    else
        nmc_field(f[Q_LAST], CELL_NEXT) = cell;
    f[Q_LAST] = cell;
    f[Q_LENGTH] += 2; /* + 1, tagged */
    return NMC_OK;
}

int nmc_queue_push(nmc_queue *q, nmc_value v)
{
    if (v == 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(q), push, &v);
}

/* ds_find_fn of top and pop (args: non-NULL to remove); runs under the
 * lock. */
static int front(nmc_heap *h, const void *args, nmc_value *v)
{
    nmc_value *f = ds_fields(h), first = f[Q_FIRST];
    if (first == EMPTY)
        return NMC_EEMPTY;
    *v = nmc_field(first, CELL_CONTENT);
    if (args != NULL) {
        f[Q_FIRST] = nmc_field(first, CELL_NEXT);
        if (f[Q_FIRST] == EMPTY)
            f[Q_LAST] = EMPTY;
        f[Q_LENGTH] -= 2;
    }
    return NMC_OK;
}

static const bool remove_it = true;

int nmc_queue_pop_p(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx)
{
    return ds_read_p(HEAP(q), front, &remove_it, fn, ctx);
}

int nmc_queue_pop_c(nmc_queue *q, nmc_arena *arena, nmc_value *out)
{
    return ds_read_c(HEAP(q), front, &remove_it, arena, out);
}

int nmc_queue_top_p(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx)
{
    return ds_read_p(HEAP(q), front, NULL, fn, ctx);
}

int nmc_queue_top_c(nmc_queue *q, nmc_arena *arena, nmc_value *out)
{
    return ds_read_c(HEAP(q), front, NULL, arena, out);
}

static int clear(nmc_mutator *mut, void *ctx)
{
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut));
    f[Q_FIRST] = f[Q_LAST] = EMPTY;
    f[Q_LENGTH] = nmc_val_long(0);
    return NMC_OK;
}

int nmc_queue_clear(nmc_queue *q)
{
    return nmc_heap_modify(HEAP(q), clear, NULL);
}

bool nmc_queue_is_empty(const nmc_queue *q)
{
    return nmc_queue_length(q) == 0;
}

size_t nmc_queue_length(const nmc_queue *q)
{
    return q != NULL ? (size_t)nmc_long_val(ds_fields(HEAP(q))[Q_LENGTH]) : 0;
}

struct iter {
    size_t n; /* elements when the walk started */
    int (*fn)(nmc_value v, void *ctx);
    void *ctx;
};

/* ds_find_fn of iter: the first cell (pinned with its chain) and the
 * length at that moment. */
static int first_cell(nmc_heap *h, const void *args, nmc_value *v)
{
    struct iter *it = (struct iter *)args;
    *v = ds_fields(h)[Q_FIRST];
    it->n = (size_t)nmc_long_val(ds_fields(h)[Q_LENGTH]);
    return NMC_OK;
}

static int walk(nmc_value cell, void *ctx)
{
    const struct iter *it = ctx;
    int st = NMC_OK;
    for (size_t i = 0; st == NMC_OK && i < it->n; i++, cell = nmc_field(cell, CELL_NEXT))
        st = it->fn(nmc_field(cell, CELL_CONTENT), it->ctx);
    return st;
}

int nmc_queue_iter(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx)
{
    struct iter it = {0, fn, ctx};
    if (fn == NULL)
        return NMC_EINVAL;
    return ds_read_p(HEAP(q), first_cell, &it, walk, &it);
}

struct fold {
    int (*fn)(nmc_value acc, nmc_value v, void *ctx, nmc_value *next);
    nmc_value acc;
    void *ctx;
};

static int fold_step(nmc_value v, void *ctx)
{
    struct fold *f = ctx;
    return f->fn(f->acc, v, f->ctx, &f->acc);
}

int nmc_queue_fold(nmc_queue *q,
                   int (*fn)(nmc_value acc, nmc_value v, void *ctx, nmc_value *next),
                   nmc_value init, void *ctx, nmc_value *out)
{
    struct fold f = {fn, init, ctx};
    if (fn == NULL || out == NULL)
        return NMC_EINVAL;
    int st = nmc_queue_iter(q, fold_step, &f);
    if (st == NMC_OK)
        *out = f.acc;
    return st;
}

int nmc_queue_header(const nmc_queue *q, nmc_value *header)
{
    return ds_header(HEAP(q), header);
}

nmc_heap *nmc_queue_heap(nmc_queue *q)
{
    return HEAP(q);
}

uint64_t nmc_queue_descr(const nmc_queue *q)
{
    return nmc_heap_descr(HEAP(q));
}

int nmc_queue_of_descr(nmc_mempool *pool, uint64_t d, nmc_queue **out)
{
    return ds_of_descr(pool, d, DS_QUEUE, (nmc_heap **)out);
}

int nmc_queue_destroy(nmc_queue *q)
{
    return nmc_heap_destroy(HEAP(q));
}
