/* Shared matrices: root fields {rows; dim2}, rows an array of row arrays. */
#include "nmc/matrix.h"

#include "ds.h"

#define HEAP(m) ((nmc_heap *)(m))

enum { M_ROWS = 0, M_DIM2 = 1, M_FIELDS };

static bool is_array(nmc_value a)
{
    return a != 0 && !nmc_is_long(a) && nmc_tag_val(a) == 0;
}

int nmc_matrix_create(nmc_mempool *pool, nmc_value rows, nmc_value header, nmc_sarray2 **out)
{
    if (out == NULL || !is_array(rows))
        return NMC_EINVAL;
    size_t dim1 = nmc_wosize_val(rows), dim2 = dim1 > 0 && is_array(nmc_field(rows, 0))
                                                   ? nmc_wosize_val(nmc_field(rows, 0))
                                                   : 0;
    for (size_t i = 0; i < dim1; i++)
        if (!is_array(nmc_field(rows, i)) || nmc_wosize_val(nmc_field(rows, i)) != dim2)
            return NMC_EINVAL;
    const nmc_value fields[M_FIELDS] = {rows, nmc_val_long(dim2)};
    return ds_create(pool, DS_MATRIX, header, M_FIELDS, fields, (nmc_heap **)out);
}

/* Grows the matrix in a modify: rows to dim1, each row to dim2, new
 * elements x (a heap value or an immediate) or, with f, f(i, j). */
struct fill {
    size_t dim1, dim2;
    nmc_value x;
    int (*f)(size_t i, size_t j, void *ctx, nmc_value *v);
    void *ctx;
    size_t row; /* the row init_array is filling */
};

static int init_element(size_t j, void *ctx, nmc_value *v)
{
    const struct fill *fl = ctx;
    return fl->f(fl->row, j, fl->ctx, v);
}

/* The new row i, replacing old (the atom for a new row). */
static int new_row(nmc_mutator *mut, struct fill *fl, size_t i, nmc_value old, nmc_value *row)
{
    if (fl->dim2 == 0) {
        *row = nmc_atom(0);
        return NMC_OK;
    }
    fl->row = i;
    if (fl->f != NULL)
        return nmc_heap_add_init_array(mut, fl->dim2, init_element, fl, row);
    return ds_grow_block(mut, old, fl->dim2, fl->x, row);
}

static int fill(nmc_mutator *mut, void *ctx)
{
    struct fill *fl = ctx;
    /* No block holds more fields: no array of rows, no row, and a dim2
     * past it would not even survive as the tagged M_DIM2 of a matrix
     * without rows. */
    if (fl->dim1 > NMC_MAX_WOSIZE || fl->dim2 > NMC_MAX_WOSIZE)
        return NMC_EINVAL;
    nmc_value *f = ds_fields(nmc_heap_of_mutator(mut)), rows;
    size_t dim1 = nmc_wosize_val(f[M_ROWS]), dim2 = (size_t)nmc_long_val(f[M_DIM2]);
    if (fl->dim1 < dim1)
        fl->dim1 = dim1;
    if (fl->dim2 < dim2)
        fl->dim2 = dim2;
    if (fl->dim1 == dim1 && fl->dim2 == dim2)
        return NMC_OK;
    /* x once, shared by every new element. */
    int st = nmc_heap_add(mut, fl->x, &fl->x);
    if (st == NMC_OK)
        st = ds_grow_block(mut, f[M_ROWS], fl->dim1, NMC_VAL_UNIT, &rows);
    for (size_t i = 0; st == NMC_OK && i < fl->dim1; i++)
        if (i >= dim1 || fl->dim2 > dim2)
            st = new_row(mut, fl, i, i < dim1 ? nmc_field(rows, i) : nmc_atom(0),
                         &nmc_field(rows, i));
    if (st == NMC_OK) {
        f[M_ROWS] = rows;
        f[M_DIM2] = nmc_val_long(fl->dim2);
    }
    return st;
}

static int create_filled(nmc_mempool *pool, struct fill *fl, nmc_value header,
                         nmc_sarray2 **out)
{
    if (out == NULL)
        return NMC_EINVAL;
    const nmc_value fields[M_FIELDS] = {nmc_atom(0), nmc_val_long(0)};
    nmc_heap *h;
    int st = ds_create(pool, DS_MATRIX, header, M_FIELDS, fields, &h);
    if (st == NMC_OK && (st = nmc_heap_modify(h, fill, fl)) != NMC_OK)
        nmc_heap_destroy(h);
    if (st == NMC_OK)
        *out = (nmc_sarray2 *)h;
    return st;
}

int nmc_matrix_make(nmc_mempool *pool, size_t dim1, size_t dim2, nmc_value x, nmc_value header,
                    nmc_sarray2 **out)
{
    struct fill fl = {.dim1 = dim1, .dim2 = dim2, .x = x};
    if (x == 0)
        return NMC_EINVAL;
    return create_filled(pool, &fl, header, out);
}

int nmc_matrix_init(nmc_mempool *pool, size_t dim1, size_t dim2,
                    int (*f)(size_t i, size_t j, void *ctx, nmc_value *v), void *ctx,
                    nmc_value header, nmc_sarray2 **out)
{
    struct fill fl = {.dim1 = dim1, .dim2 = dim2, .x = NMC_VAL_UNIT, .f = f, .ctx = ctx};
    if (f == NULL)
        return NMC_EINVAL;
    return create_filled(pool, &fl, header, out);
}

int nmc_matrix_grow(nmc_sarray2 *m, size_t dim1, size_t dim2, nmc_value x)
{
    struct fill fl = {.dim1 = dim1, .dim2 = dim2, .x = x};
    if (x == 0)
        return NMC_EINVAL;
    return nmc_heap_modify(HEAP(m), fill, &fl);
}

/* Paths to element (i, j). */
#define ELEMENT(i, j) (&(struct ds_path){3, {M_ROWS, (i), (j)}})

int nmc_matrix_set(nmc_sarray2 *m, size_t i, size_t j, nmc_value v)
{
    return ds_set_path(HEAP(m), ELEMENT(i, j), v);
}

int nmc_matrix_get_ro(const nmc_sarray2 *m, size_t i, size_t j, nmc_value *out)
{
    if (out == NULL)
        return NMC_EINVAL;
    return ds_find_path(HEAP(m), ELEMENT(i, j), out);
}

int nmc_matrix_get_p(nmc_sarray2 *m, size_t i, size_t j, int (*fn)(nmc_value v, void *ctx),
                     void *ctx)
{
    return ds_read_p(HEAP(m), ds_find_path, ELEMENT(i, j), fn, ctx);
}

int nmc_matrix_get_c(nmc_sarray2 *m, size_t i, size_t j, nmc_arena *arena, nmc_value *out)
{
    return ds_read_c(HEAP(m), ds_find_path, ELEMENT(i, j), arena, out);
}

int nmc_matrix_dim(const nmc_sarray2 *m, size_t *dim1, size_t *dim2)
{
    if (m == NULL || dim1 == NULL || dim2 == NULL)
        return NMC_EINVAL;
    const nmc_value *f = ds_fields(HEAP(m));
    *dim1 = nmc_wosize_val(f[M_ROWS]);
    *dim2 = (size_t)nmc_long_val(f[M_DIM2]);
    return NMC_OK;
}

int nmc_matrix_header(const nmc_sarray2 *m, nmc_value *header)
{
    return ds_header(HEAP(m), header);
}

int nmc_matrix_deref(const nmc_sarray2 *m, nmc_value *rows)
{
    if (m == NULL || rows == NULL)
        return NMC_EINVAL;
    *rows = ds_fields(HEAP(m))[M_ROWS];
    return NMC_OK;
}

nmc_heap *nmc_matrix_heap(nmc_sarray2 *m)
{
    return HEAP(m);
}

uint64_t nmc_matrix_descr(const nmc_sarray2 *m)
{
    return nmc_heap_descr(HEAP(m));
}

int nmc_matrix_of_descr(nmc_mempool *pool, uint64_t d, nmc_sarray2 **out)
{
    return ds_of_descr(pool, d, DS_MATRIX, (nmc_heap **)out);
}

int nmc_matrix_destroy(nmc_sarray2 *m)
{
    return nmc_heap_destroy(HEAP(m));
}
