/* bench/shmtable/shmtable_bench.c - persistent shared hash tables: nmc
 * (Netshm) against tdb and LMDB, one process, every table on tmpfs
 * (/dev/shm).
 *
 * Workloads (time per operation; items_per_second = operations/s):
 *   add_100k   add keys 0, 1, ..., 99999 (a 4-word value each) to an empty
 *              table, which grows as it goes; after 100k adds the table is
 *              emptied with the timer paused and the next round starts.
 *   find_100k  look up keys of a table of 100k bindings, in a scattered
 *              order, copying the value out.
 * Implementations:
 *   nmc         nmc_shmtable_add / _find with RECORD_LOCKING (fcntl OFD
 *               locks; finds read optimistically, see nmc/shmtable.h).
 *   nmc_nolock  the same with NO_LOCKING.
 *   tdb         tdb_store(TDB_INSERT) / tdb_parse_record (no copy to the
 *               heap), default flags (fcntl locks, mmap), hash size 100003.
 *   lmdb        one write transaction per mdb_put (MDB_NOSYNC, the durable
 *               commit aside), finds in a read transaction renewed per
 *               lookup (the documented fast path for repeated reads).
 */
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "gbench.h"
#include "skip_status.h"
#include "nmc/shmtable.h"

enum { KEYS = 100000, WORDS = 4, STRIDE = 7919 };

/* The key of find number i: a permutation of 0 .. KEYS-1 (STRIDE is prime). */
static int32_t scattered(size_t i)
{
    return (int32_t)((i * STRIDE) % KEYS);
}

/* A peer behind four calls, so the loops below serve every implementation. */
struct impl {
    const char *what;
    int (*open)(void **h, bool locking); /* a fresh empty table */
    int (*add)(void *h, int32_t key, const int32_t *v);
    int (*find)(void *h, int32_t key, int32_t *v);
    int (*clear)(void *h);
    void (*close)(void *h);
};

/* ---- nmc ----------------------------------------------------------------- */

struct nmc_h {
    nmc_shm_descr *d;
    nmc_shmtable *t;
    enum nmc_shm_locking lm;
};

static int nmc_open(void **h, bool locking)
{
    struct nmc_h *n = calloc(1, sizeof *n);
    nmc_shm_name templ = {NMC_SHM_POSIX, "/nmcbench_shmt_XXXXXXXX"};
    n->lm = locking ? NMC_SHM_RECORD_LOCKING : NMC_SHM_NO_LOCKING;
    int rc = nmc_shm_create_unique(&templ, 0600, &n->d);
    if (rc == NMC_OK) {
        nmc_shm_unlink(nmc_shm_name_of(n->d)); /* gone when closed */
        rc = nmc_shmtable_manage(n->d, n->lm, 0, -1, &n->t);
    }
    *h = n;
    return rc;
}

static int nmc_add(void *h, int32_t key, const int32_t *v)
{
    return nmc_shmtable_add(((struct nmc_h *)h)->t, key, v, WORDS);
}

static int nmc_find(void *h, int32_t key, int32_t *v)
{
    size_t n;
    return nmc_shmtable_find(((struct nmc_h *)h)->t, key, v, WORDS, &n);
}

static int nmc_clear(void *h)
{
    struct nmc_h *n = h;
    nmc_shmtable_close(n->t);
    return nmc_shmtable_manage(n->d, n->lm, 0, 0, &n->t); /* re-init, no size hint */
}

static void nmc_close(void *h)
{
    struct nmc_h *n = h;
    nmc_shmtable_close(n->t);
    nmc_shm_close(n->d);
    free(n);
}

/* ---- tdb ----------------------------------------------------------------- */

static int temp_path(char *path, size_t len, const char *what)
{
    snprintf(path, len, "/dev/shm/nmcbench_%s_XXXXXX", what);
    int fd = mkstemp(path);
    if (fd < 0)
        return NMC_ESYS;
    close(fd);
    return NMC_OK;
}

static int tdb_peer_open(void **h, bool locking)
{
    char path[64];
    (void)locking;
    int rc = temp_path(path, sizeof path, "tdb");
    if (rc != NMC_OK)
        return rc;
    *h = tdb_open(path, 100003, TDB_DEFAULT, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unlink(path);
    return *h == NULL ? NMC_ESYS : NMC_OK;
}

static int tdb_peer_add(void *h, int32_t key, const int32_t *v)
{
    TDB_DATA k = {(unsigned char *)&key, sizeof key}, d = {(unsigned char *)v, WORDS * 4};
    return tdb_store(h, k, d, TDB_INSERT) == 0 ? NMC_OK : NMC_ESYS;
}

static int tdb_copy(TDB_DATA key, TDB_DATA data, void *out)
{
    (void)key;
    if (data.dsize != WORDS * 4)
        return -1;
    memcpy(out, data.dptr, data.dsize);
    return 0;
}

static int tdb_peer_find(void *h, int32_t key, int32_t *v)
{
    TDB_DATA k = {(unsigned char *)&key, sizeof key};
    return tdb_parse_record(h, k, tdb_copy, v) == 0 ? NMC_OK : NMC_ENOT_FOUND;
}

static int tdb_peer_clear(void *h)
{
    return tdb_wipe_all(h) == 0 ? NMC_OK : NMC_ESYS;
}

static void tdb_peer_close(void *h)
{
    tdb_close(h);
}

/* ---- lmdb ---------------------------------------------------------------- */

struct lmdb_h {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *reader; /* reset between finds */
    char path[64];
};

static int lmdb_open(void **h, bool locking)
{
    struct lmdb_h *l = calloc(1, sizeof *l);
    MDB_txn *txn;
    (void)locking;
    *h = l;
    if (temp_path(l->path, sizeof l->path, "lmdb") != NMC_OK)
        return NMC_ESYS;
    int rc = mdb_env_create(&l->env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(l->env, (size_t)1 << 30);
    if (rc == 0)
        rc = mdb_env_open(l->env, l->path, MDB_NOSUBDIR | MDB_NOSYNC, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &l->dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    if (rc == 0)
        rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &l->reader);
    if (rc == 0)
        mdb_txn_reset(l->reader);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static int lmdb_add(void *h, int32_t key, const int32_t *v)
{
    struct lmdb_h *l = h;
    MDB_val k = {sizeof key, &key}, d = {WORDS * 4, (void *)v};
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_put(txn, l->dbi, &k, &d, MDB_NOOVERWRITE)) != 0)
        mdb_txn_abort(txn);
    else if (rc == 0)
        rc = mdb_txn_commit(txn);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static int lmdb_find(void *h, int32_t key, int32_t *v)
{
    struct lmdb_h *l = h;
    MDB_val k = {sizeof key, &key}, d;
    int rc = mdb_txn_renew(l->reader);
    if (rc == 0) {
        rc = mdb_get(l->reader, l->dbi, &k, &d);
        if (rc == 0 && d.mv_size == WORDS * 4)
            memcpy(v, d.mv_data, d.mv_size);
        mdb_txn_reset(l->reader);
    }
    return rc == 0 ? NMC_OK : NMC_ENOT_FOUND;
}

static int lmdb_clear(void *h)
{
    struct lmdb_h *l = h;
    MDB_txn *txn;
    int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_drop(txn, l->dbi, 0)) == 0)
        rc = mdb_txn_commit(txn);
    return rc == 0 ? NMC_OK : NMC_ESYS;
}

static void lmdb_close(void *h)
{
    struct lmdb_h *l = h;
    char lock[80];
    if (l->env != NULL) {
        if (l->reader != NULL)
            mdb_txn_abort(l->reader);
        mdb_env_close(l->env);
    }
    snprintf(lock, sizeof lock, "%s-lock", l->path);
    unlink(l->path);
    unlink(lock);
    free(l);
}

/* ---- the workloads ------------------------------------------------------- */

static const struct impl impls[] = {
    {"nmc", nmc_open, nmc_add, nmc_find, nmc_clear, nmc_close},
    {"tdb", tdb_peer_open, tdb_peer_add, tdb_peer_find, tdb_peer_clear, tdb_peer_close},
    {"lmdb", lmdb_open, lmdb_add, lmdb_find, lmdb_clear, lmdb_close},
};

struct variant {
    const struct impl *impl;
    bool locking;
};

static void bm_add(nmc_bench_state *st)
{
    const struct variant *var = nmc_bench_user(st);
    const struct impl *im = var->impl;
    int32_t v[WORDS] = {1, 2, 3, 4};
    void *h = NULL;
    int rc = im->open(&h, var->locking);
    int32_t key = 0;
    size_t n;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0) {
        for (size_t i = 0; i < n && rc == NMC_OK; i++) {
            if (key == KEYS) {
                nmc_bench_pause(st);
                rc = im->clear(h);
                key = 0;
                nmc_bench_resume(st);
            }
            if (rc == NMC_OK)
                rc = im->add(h, key++, v);
        }
    }
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, im->what, rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    im->close(h);
}

static void bm_find(nmc_bench_state *st)
{
    const struct variant *var = nmc_bench_user(st);
    const struct impl *im = var->impl;
    int32_t v[WORDS] = {1, 2, 3, 4};
    void *h = NULL;
    int rc = im->open(&h, var->locking);
    for (int32_t k = 0; k < KEYS && rc == NMC_OK; k++)
        rc = im->add(h, k, v);
    size_t n, i = 0;
    while (rc == NMC_OK && (n = nmc_bench_batch(st)) != 0) {
        for (size_t j = 0; j < n && rc == NMC_OK; j++, i++)
            rc = im->find(h, scattered(i), v);
        nmc_bench_do_not_optimize(v);
    }
    if (rc != NMC_OK)
        nmc_bench_skip_status(st, im->what, rc);
    nmc_bench_set_items_processed(st, nmc_bench_iterations(st));
    im->close(h);
}

static const struct variant nmc = {&impls[0], true}, nmc_nolock = {&impls[0], false},
                            tdb = {&impls[1], true}, lmdb = {&impls[2], true};

NMC_BENCH_REGISTER(register_shmtable)
{
    nmc_bench_register_with("shmtable/add_100k/nmc", bm_add, (void *)&nmc);
    nmc_bench_register_with("shmtable/add_100k/nmc_nolock", bm_add, (void *)&nmc_nolock);
    nmc_bench_register_with("shmtable/add_100k/tdb", bm_add, (void *)&tdb);
    nmc_bench_register_with("shmtable/add_100k/lmdb", bm_add, (void *)&lmdb);
    nmc_bench_register_with("shmtable/find_100k/nmc", bm_find, (void *)&nmc);
    nmc_bench_register_with("shmtable/find_100k/nmc_nolock", bm_find, (void *)&nmc_nolock);
    nmc_bench_register_with("shmtable/find_100k/tdb", bm_find, (void *)&tdb);
    nmc_bench_register_with("shmtable/find_100k/lmdb", bm_find, (void *)&lmdb);
}
