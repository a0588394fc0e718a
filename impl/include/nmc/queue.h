/* nmc/queue.h - shared FIFO queues (Netmcore_queue).
 *
 * OCaml's Queue in a heap of its own (nmc/heap.h), with a user header
 * value. push copies the element into the heap; every writer (push, pop,
 * clear) takes the heap's write lock.
 *
 * Reading the front: pop_p / top_p run fn(v, ctx) with the element v
 * pinned (it stays valid until fn returns, even if it is popped and
 * collected meanwhile); pop_c / top_c copy it into the caller's arena.
 * All four give NMC_EEMPTY on an empty queue.
 *
 * iter and fold see the elements that were queued when they started, front
 * to back, each pinned while the callback runs (the chain of cells from
 * the front is pinned); the queue may change meanwhile, and the callback
 * may push and pop. A status other than NMC_OK from the callback stops the
 * walk and is returned. length and is_empty read without the lock.
 *
 * Handles and descriptors: an nmc_queue pointer is valid in every process
 * that inherits the pool; nmc_queue_descr / _of_descr name it in messages.
 *
 * Module prefix: nmc_queue_.
 */
#ifndef NMC_QUEUE_H
#define NMC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nmc/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nmc_queue nmc_queue;

/* A new empty queue in pool with a copy of header. */
int nmc_queue_create(nmc_mempool *pool, nmc_value header, nmc_queue **out);
/* Adds a copy of v at the back. */
int nmc_queue_push(nmc_queue *q, nmc_value v);
/* Removes the front element; fn(v, ctx) runs with it pinned (fn's status)
 * or a copy goes to arena. NMC_EEMPTY if the queue is empty. */
int nmc_queue_pop_p(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx);
int nmc_queue_pop_c(nmc_queue *q, nmc_arena *arena, nmc_value *out);
/* The same without removing it. */
int nmc_queue_top_p(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx);
int nmc_queue_top_c(nmc_queue *q, nmc_arena *arena, nmc_value *out);
/* Removes every element. */
int nmc_queue_clear(nmc_queue *q);
bool nmc_queue_is_empty(const nmc_queue *q);
size_t nmc_queue_length(const nmc_queue *q);
/* fn(v, ctx) for every element, front first (see above). */
int nmc_queue_iter(nmc_queue *q, int (*fn)(nmc_value v, void *ctx), void *ctx);
/* acc := fn(acc, v, ctx) for every element, front first, from init; the
 * final acc in *out. fn builds process-local accumulators (e.g. in an arena
 * it gets through ctx) and stores the next one in *next. */
int nmc_queue_fold(nmc_queue *q,
                   int (*fn)(nmc_value acc, nmc_value v, void *ctx, nmc_value *next),
                   nmc_value init, void *ctx, nmc_value *out);
/* The header value (in the heap; never replaced). */
int nmc_queue_header(const nmc_queue *q, nmc_value *header);

nmc_heap *nmc_queue_heap(nmc_queue *q);
uint64_t nmc_queue_descr(const nmc_queue *q);
int nmc_queue_of_descr(nmc_mempool *pool, uint64_t d, nmc_queue **out);
/* Gives the heap back to the pool; nobody may use q afterwards. */
int nmc_queue_destroy(nmc_queue *q);

#ifdef __cplusplus
}
#endif
#endif
