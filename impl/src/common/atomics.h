/* Shorthands for the __atomic builtins on words in shared memory, the
 * load-once accessors every module reads shared objects with, and the
 * CPU's spin-wait hint. Private to the library (//impl:atomics).
 * Sequentially consistent unless the name says otherwise. */
#ifndef NMC_ATOMICS_H
#define NMC_ATOMICS_H

#include <stdbool.h>
#include <string.h>

/* The load-once rule (impl/README.md, "Shared memory is input"): a word of
 * a shared object is read once into a local, the local is validated, and
 * only the local is used after that. LOAD_ONCE is that read (relaxed: it
 * orders nothing, but the compiler can neither repeat it nor tear it);
 * the ordered loads below are reads once too. COPY_ONCE copies a shared
 * struct into a private one in one pass; the compiler barrier after it
 * keeps the compiler from reading the shared struct again in place of the
 * copy. grep LOAD_ONCE / COPY_ONCE to find every read of shared input. */
#define LOAD_ONCE(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define COPY_ONCE(dst, src)                                                    \
    do {                                                                       \
        _Static_assert(sizeof *(dst) == sizeof *(src), "same size");           \
        memcpy((dst), (const void *)(src), sizeof *(dst));                     \
        __atomic_signal_fence(__ATOMIC_SEQ_CST);                               \
    } while (0)

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define CAS(p, expp, v)                                                        \
    __atomic_compare_exchange_n((p), (expp), (v), false, __ATOMIC_SEQ_CST,     \
                                __ATOMIC_SEQ_CST)
#define EXCHANGE(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define FETCH_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define FETCH_SUB(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define FETCH_OR(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define FETCH_AND(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)

/* One iteration of a spin-wait: tells the CPU (and a hyperthread sibling). */
#if defined(__x86_64__) || defined(__i386__)
#define nmc_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define nmc_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define nmc_cpu_relax() ((void)0)
#endif

#endif
