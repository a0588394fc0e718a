// bench/peers/boost_ipc_map.cc - the C API of boost_ipc_map.h over
// boost::unordered_map in boost::interprocess::managed_shared_memory.
// Exceptions stop here.
#include "boost_ipc_map.h"

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <utility>

#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/unordered_map.hpp>

namespace bip = boost::interprocess;

namespace {
using Entry = std::pair<const int64_t, int64_t>;
using Alloc = bip::allocator<Entry, bip::managed_shared_memory::segment_manager>;
using Map = boost::unordered_map<int64_t, int64_t, boost::hash<int64_t>,
                                 std::equal_to<int64_t>, Alloc>;

// What lives in the segment: the map and the lock of its writers.
struct Shared {
    explicit Shared(const Alloc &alloc) : map(0, boost::hash<int64_t>(), std::equal_to<int64_t>(), alloc) {}
    bip::interprocess_mutex lock;
    Map map;
};
} // namespace

struct nmc_boost_map {
    bip::managed_shared_memory segment;
    Shared *shared;
    std::string name;
};

extern "C" int nmc_boost_map_create(const char *name, size_t size, nmc_boost_map **out,
                                    char *err, size_t errlen)
{
    try {
        auto *m = new nmc_boost_map{bip::managed_shared_memory(bip::create_only, name, size),
                                    nullptr, name};
        m->shared = m->segment.construct<Shared>("map")(Alloc(m->segment.get_segment_manager()));
        *out = m;
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, errlen, "%s", e.what());
        bip::shared_memory_object::remove(name);
        return -1;
    }
}

extern "C" bool nmc_boost_map_insert(nmc_boost_map *map, int64_t key, int64_t value)
{
    try {
        bip::scoped_lock<bip::interprocess_mutex> guard(map->shared->lock);
        map->shared->map.emplace(key, value);
        return true;
    } catch (const std::exception &) {
        return false;
    }
}

extern "C" bool nmc_boost_map_find(const nmc_boost_map *map, int64_t key, int64_t *value)
{
    auto it = map->shared->map.find(key);
    if (it == map->shared->map.end())
        return false;
    *value = it->second;
    return true;
}

extern "C" void nmc_boost_map_clear(nmc_boost_map *map)
{
    bip::scoped_lock<bip::interprocess_mutex> guard(map->shared->lock);
    Map fresh(0, boost::hash<int64_t>(), std::equal_to<int64_t>(), map->shared->map.get_allocator());
    map->shared->map.swap(fresh); // the old entries and buckets go with fresh
}

extern "C" void nmc_boost_map_destroy(nmc_boost_map *map)
{
    std::string name = map->name;
    delete map;
    bip::shared_memory_object::remove(name.c_str());
}
