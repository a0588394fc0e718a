// bench/peers/boost_ipc.cc - the C API of boost_ipc.h over
// boost::interprocess::managed_shared_memory. Exceptions stop here.
#include "boost_ipc.h"

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include <boost/interprocess/managed_shared_memory.hpp>

namespace bip = boost::interprocess;

struct nmc_boost_pool {
    bip::managed_shared_memory segment; // the mapped segment
    std::string name;                   // its shm name, for removal
};

extern "C" int nmc_boost_pool_create(const char *name, size_t size, nmc_boost_pool **out,
                                     char *err, size_t errlen)
{
    try {
        *out = new nmc_boost_pool{bip::managed_shared_memory(bip::create_only, name, size),
                                  name};
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, errlen, "%s", e.what());
        return -1;
    }
}

extern "C" void *nmc_boost_pool_alloc(nmc_boost_pool *pool, size_t n)
{
    return pool->segment.allocate(n, std::nothrow);
}

extern "C" void nmc_boost_pool_free(nmc_boost_pool *pool, void *mem)
{
    pool->segment.deallocate(mem);
}

extern "C" void nmc_boost_pool_destroy(nmc_boost_pool *pool)
{
    std::string name = pool->name;
    delete pool;
    bip::shared_memory_object::remove(name.c_str());
}
