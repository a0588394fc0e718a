/* Helpers shared by the shmtable suites: tables on fresh POSIX shm objects
 * or tmpfs files named with nmc_test_prefix(), removed by table_drop. */
#ifndef NMC_SHMTABLE_TEST_H
#define NMC_SHMTABLE_TEST_H

#include <fcntl.h>
#include <stdio.h>

#include "nmc/shmtable.h"
#include "nmc_test.h"

struct test_table {
    nmc_shm_descr *d;
    nmc_shmtable *t;
    nmc_shm_name name; /* a copy, still valid after close */
    char path[128];
};

/* A new object of the type (name from the test prefix), managed. */
static inline void table_new(struct test_table *tt, enum nmc_shm_type type,
                             enum nmc_shm_locking lm, size_t pagesize)
{
    char templ[128];
    snprintf(templ, sizeof templ, type == NMC_SHM_POSIX ? "/%s_XXXXXX" : "/dev/shm/%s_fXXXXXX",
             nmc_test_prefix());
    nmc_shm_name n = {type, templ};
    ck_assert_ok(nmc_shm_create_unique(&n, 0600, &tt->d));
    snprintf(tt->path, sizeof tt->path, "%s", nmc_shm_name_of(tt->d)->name);
    tt->name = (nmc_shm_name){type, tt->path};
    ck_assert_ok(nmc_shmtable_manage(tt->d, lm, pagesize, -1, &tt->t));
}

/* Another descriptor and table on the same object (as another process would). */
static inline void table_open(const struct test_table *tt, struct test_table *out,
                              enum nmc_shm_locking lm)
{
    *out = *tt;
    out->name.name = out->path;
    ck_assert_ok(nmc_shm_open(&out->name, O_RDWR, 0, false, &out->d));
    ck_assert_ok(nmc_shmtable_manage(out->d, lm, 0, -1, &out->t));
}

static inline void table_close(struct test_table *tt)
{
    nmc_shmtable_close(tt->t);
    ck_assert_ok(nmc_shm_close(tt->d));
    tt->t = NULL;
    tt->d = NULL;
}

static inline void table_drop(struct test_table *tt)
{
    table_close(tt);
    ck_assert_ok(nmc_shm_unlink(&tt->name));
}

#endif
