/* bench/peers/boost_ipc_map.h - Boost.Interprocess's shared hash map
 * (boost::unordered_map<int64_t, int64_t> with a boost::interprocess
 * allocator, built in a managed_shared_memory segment) behind a C API, as
 * the peer of the nmc hash table in the benchmarks. Inserts take an
 * interprocess_mutex that lives in the segment (writers of a shared map
 * must exclude each other, as nmc's heap lock does); finds take no lock
 * (nmc's find_ro).
 */
#ifndef NMC_PEER_BOOST_IPC_MAP_H
#define NMC_PEER_BOOST_IPC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_boost_map nmc_boost_map;

/* Creates a segment of size bytes named name (a POSIX shm name without the
 * leading slash; it must not exist) holding an empty map. Returns 0, or -1
 * with a message in err (errlen bytes). */
int nmc_boost_map_create(const char *name, size_t size, nmc_boost_map **out, char *err,
                         size_t errlen);
/* Inserts key -> value under the map's mutex (an existing key keeps its
 * value); false when the segment is full. */
bool nmc_boost_map_insert(nmc_boost_map *map, int64_t key, int64_t value);
/* The value of key, without a lock; false if absent. */
bool nmc_boost_map_find(const nmc_boost_map *map, int64_t key, int64_t *value);
/* Removes every entry and the buckets (under the mutex): the map is as
 * new, its memory back in the segment. */
void nmc_boost_map_clear(nmc_boost_map *map);
/* Unmaps the segment and removes its name. */
void nmc_boost_map_destroy(nmc_boost_map *map);

#ifdef __cplusplus
}
#endif
#endif
