/* Fuzz target: shmtable (Netshm) files with hostile content.
 *
 * The input is a whole table object (seeds: small valid tables). It is
 * written to a fresh POSIX shm object, managed, and every read operation
 * runs on it: find, mem, length, find_all, iter, iter_keys, fold,
 * read_blocks, memory, dump and the fsck. Each must return (NMC_OK,
 * NMC_ENOT_FOUND or NMC_ECORRUPT, never a crash or a hang). A table the fsck
 * accepts must also take an add and a remove and still pass the fsck.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nmc/shmtable.h"

#define FUZZ_REQUIRE(cond)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

static bool acceptable(int rc)
{
    return rc == NMC_OK || rc == NMC_ENOT_FOUND || rc == NMC_ECORRUPT;
}

static int on_binding(int32_t key, const int32_t *v, size_t len, void *user)
{
    volatile int32_t sink = key;
    for (size_t i = 0; i < len; i++)
        sink ^= v[i];
    (void)sink;
    ++*(int *)user;
    return 0;
}

static int on_key(int32_t key, void *user)
{
    return on_binding(key, NULL, 0, user);
}

static int on_block(int32_t *b, size_t len, void *user)
{
    volatile int32_t sink = 0;
    for (size_t i = 0; b != NULL && i < len; i++)
        sink ^= b[i];
    (void)sink;
    return ++*(int *)user % 5 == 0 ? NMC_SHMTABLE_NEXT : NMC_SHMTABLE_NOP;
}

/* Keys to look up: 0..3 and the first cell keys of the image's page 1 (the
 * hash area of the seeds, at page sizes 160 and 256). Returns how many. */
static size_t keys_of(const uint8_t *data, size_t size, int32_t *keys)
{
    static const size_t hash_page[] = {160, 256};
    size_t n = 0;
    for (int32_t k = 0; k < 4; k++)
        keys[n++] = k;
    for (size_t p = 0; p < 2; p++)
        for (size_t j = 0; j < 4 && hash_page[p] + 8 * j + 4 <= size; j++)
            memcpy(&keys[n++], data + hash_page[p] + 8 * j, 4);
    return n;
}

static void read_everything(nmc_shmtable *t, const int32_t *keys, size_t nkeys)
{
    int32_t buf[256];
    size_t n;
    bool bound;
    int count = 0;
    for (size_t i = 0; i < nkeys; i++) {
        int rc = nmc_shmtable_find(t, keys[i], buf, 256, &n);
        FUZZ_REQUIRE(acceptable(rc) || rc == NMC_EOUT_OF_SPACE);
        FUZZ_REQUIRE(acceptable(nmc_shmtable_mem(t, keys[i], &bound)));
        FUZZ_REQUIRE(acceptable(nmc_shmtable_find_all(t, keys[i], on_binding, &count)));
        FUZZ_REQUIRE(acceptable(nmc_shmtable_read_blocks(t, keys[i], on_block, &count)));
    }
    FUZZ_REQUIRE(acceptable(nmc_shmtable_length(t, &n)));
    FUZZ_REQUIRE(acceptable(nmc_shmtable_iter(t, on_binding, &count)));
    FUZZ_REQUIRE(acceptable(nmc_shmtable_fold(t, on_binding, &count)));
    FUZZ_REQUIRE(acceptable(nmc_shmtable_iter_keys(t, on_key, &count)));
    int32_t *words;
    size_t rows, cols;
    FUZZ_REQUIRE(acceptable(nmc_shmtable_memory(t, &words, &rows, &cols)));
    FILE *null = fopen("/dev/null", "w");
    if (null != NULL) {
        FUZZ_REQUIRE(acceptable(nmc_shmtable_dump(t, null)));
        fclose(null);
    }
}

/* A fresh, already unlinked shm object holding data. */
static nmc_shm_descr *object_of(const uint8_t *data, size_t size)
{
    nmc_shm_name templ = {NMC_SHM_POSIX, "/nmcfuzz_shmt_XXXXXXXX"};
    nmc_shm_descr *d;
    if (nmc_shm_create_unique(&templ, 0600, &d) != NMC_OK)
        return NULL;
    int fd = shm_open(nmc_shm_name_of(d)->name, O_WRONLY, 0);
    bool written = fd >= 0 && write(fd, data, size) == (ssize_t)size;
    if (fd >= 0)
        close(fd);
    nmc_shm_unlink(nmc_shm_name_of(d));
    if (!written) {
        nmc_shm_close(d);
        return NULL;
    }
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nmc_shm_descr *d = object_of(data, size);
    nmc_shmtable *t;
    if (d != NULL && nmc_shmtable_manage(d, NMC_SHM_RECORD_LOCKING, 0, -1, &t) == NMC_OK) {
        int32_t keys[12];
        size_t nkeys = keys_of(data, size, keys);
        read_everything(t, keys, nkeys);
        int rc = nmc_shmtable_check(t, NULL);
        FUZZ_REQUIRE(rc == NMC_OK || rc == NMC_ECORRUPT);
        if (rc == NMC_OK) {
            int32_t v[70] = {7};
            FUZZ_REQUIRE(nmc_shmtable_add(t, keys[0], v, 70) == NMC_OK);
            FUZZ_REQUIRE(nmc_shmtable_remove(t, keys[1]) == NMC_OK);
            FUZZ_REQUIRE(nmc_shmtable_check(t, NULL) == NMC_OK);
        }
        nmc_shmtable_close(t);
    }
    nmc_shm_close(d);
    return 0;
}
