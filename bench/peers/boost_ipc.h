/* bench/peers/boost_ipc.h - Boost.Interprocess's shared-memory allocator
 * (managed_shared_memory: an rbtree best-fit allocator behind an
 * interprocess mutex, in a POSIX shm object) behind a C API, as the peer of
 * the nmc memory pool in the benchmarks.
 */
#ifndef NMC_PEER_BOOST_IPC_H
#define NMC_PEER_BOOST_IPC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_boost_pool nmc_boost_pool;

/* Creates a managed shared memory segment of size bytes named name (a
 * POSIX shm name without the leading slash; it must not exist) and maps it.
 * Returns 0, or -1 with a message in err (errlen bytes) on failure. */
int nmc_boost_pool_create(const char *name, size_t size, nmc_boost_pool **out,
                          char *err, size_t errlen);
/* Allocates n bytes; NULL when the segment has no room. */
void *nmc_boost_pool_alloc(nmc_boost_pool *pool, size_t n);
/* Frees a block returned by nmc_boost_pool_alloc. */
void nmc_boost_pool_free(nmc_boost_pool *pool, void *mem);
/* Unmaps the segment and removes its name. */
void nmc_boost_pool_destroy(nmc_boost_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
