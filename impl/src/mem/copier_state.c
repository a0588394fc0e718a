/* copier_state.c - the reusable state of a copier: visited table and queue.
 *
 * See copier_internal.h for the structures. The table's allocation, its
 * scratch array and the queue only grow (by doubling) and are kept between
 * copies, so a copier that has seen a large value copies the next ones
 * without allocating; each copy still starts with a small table in use.
 * Growth keeps the table's load factor at most 1/2 and the queue's items in
 * order.
 *
 * The per-thread cache: nmc_init_value and nmc_copy_value take no copier
 * argument, yet a fresh copier costs more than a small copy (its table
 * grows through fresh pages, each a page fault). So each thread keeps one
 * copier for them in a thread-local variable (a pthread key holds it too,
 * set only when the copier changes, for its destructor to free it at
 * thread exit). Thread-local, hence thread-safe. A call takes the copier
 * out while it works, so a nested call (a signal handler interrupting a
 * copy) finds none and uses a temporary one: re-entrant. A copier that grew
 * beyond COPIER_CACHE_MAX_SLOTS or COPIER_CACHE_MAX_QUEUE is not kept, so a
 * one-off huge copy does not pin its memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "copier_internal.h"
#include "nmc/status.h"

enum {
    COPIER_INITIAL_SLOTS = 256, /* smallest table in use                */
    COPIER_INITIAL_QUEUE = 64,  /* ring items at creation               */
    COPIER_MAP_BYTES = 1 << 21, /* tables this large are mapped directly */
    COPIER_CACHE_MAX_SLOTS = 1 << 20, /* largest table the cache keeps (16 MiB) */
    COPIER_CACHE_MAX_QUEUE = 1 << 16, /* largest queue the cache keeps (1.5 MiB) */
};

/* A zeroed table of n slots. Large ones are mapped with transparent huge
 * pages requested: a table is probed at random, so 4 KiB pages would cost
 * one page fault and one TLB miss per few probes. */
static struct copier_slot *table_alloc(size_t n)
{
    size_t bytes = n * sizeof(struct copier_slot);
    if (bytes < COPIER_MAP_BYTES)
        return calloc(n, sizeof(struct copier_slot));
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: failure is harmless */
    return p;
}

static void table_free(struct copier_slot *t, size_t n)
{
    size_t bytes = n * sizeof(struct copier_slot);
    if (bytes < COPIER_MAP_BYTES)
        free(t);
    else if (t != NULL)
        (void)munmap(t, bytes);
}

static unsigned shift_for(size_t slots)
{
    return 64u - (unsigned)__builtin_ctzll((unsigned long long)slots);
}

int nmc_copier_create(nmc_copier **out)
{
    if (out == NULL)
        return NMC_EINVAL;
    nmc_copier *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NMC_ENOMEM;
    c->alloc_slots = COPIER_INITIAL_SLOTS;
    c->shift = shift_for(COPIER_INITIAL_SLOTS);
    c->slots = table_alloc(c->alloc_slots);
    c->queue = malloc(COPIER_INITIAL_QUEUE * sizeof *c->queue);
    if (c->slots == NULL || c->queue == NULL) {
        nmc_copier_destroy(c);
        return NMC_ENOMEM;
    }
    c->queue_mask = COPIER_INITIAL_QUEUE - 1;
    *out = c;
    return NMC_OK;
}

void nmc_copier_destroy(nmc_copier *c)
{
    if (c == NULL)
        return;
    table_free(c->slots, c->alloc_slots);
    free(c->scratch);
    free(c->queue);
    free(c);
}

/* A stamp no slot of the allocation carries yet. */
static void next_stamp(nmc_copier *c)
{
    if (c->stamp == COPIER_MAX_STAMP) {
        memset(c->slots, 0, c->alloc_slots * sizeof *c->slots);
        c->stamp = 0;
    }
    c->stamp++;
}

void copier_begin(nmc_copier *c)
{
    next_stamp(c);
    c->used = 0;
    c->head = 0;
    c->tail = 0;
}

void copier_end(nmc_copier *c)
{
    size_t fit = COPIER_INITIAL_SLOTS;
    while (fit / 2 < c->used)
        fit *= 2;
    c->shift = shift_for(fit);
}

/* Inserts a slot known to be absent into the table in use. */
static void reinsert(nmc_copier *c, const struct copier_slot *s)
{
    size_t mask = copier_slots_in_use(c) - 1;
    size_t j = copier_hash(c, s->key);
    while ((c->slots[j].stamp_off >> COPIER_STAMP_SHIFT) == c->stamp)
        j = (j + 1) & mask;
    c->slots[j].key = s->key;
    c->slots[j].stamp_off = (c->stamp << COPIER_STAMP_SHIFT) | (s->stamp_off & COPIER_OFF_MASK);
}

/* Doubling beyond the allocation: a new zeroed allocation receives the live
 * slots straight from the old one. */
static int grow_allocation(nmc_copier *c, size_t n)
{
    struct copier_slot *old = c->slots;
    struct copier_slot *s = table_alloc(2 * n);
    if (s == NULL)
        return NMC_ENOMEM;
    c->slots = s;
    c->alloc_slots = 2 * n;
    c->shift--;
    for (size_t i = 0; i < n; i++)
        if ((old[i].stamp_off >> COPIER_STAMP_SHIFT) == c->stamp)
            reinsert(c, &old[i]);
    table_free(old, n);
    return NMC_OK;
}

/* Doubling inside the allocation: the live slots go to scratch, a new stamp
 * empties the table, and they come back into the doubled prefix. */
static int grow_in_place(nmc_copier *c, size_t n)
{
    if (c->scratch_cap < c->used) {
        struct copier_slot *s = malloc(n / 2 * sizeof *s); /* used <= n / 2 */
        if (s == NULL)
            return NMC_ENOMEM;
        free(c->scratch);
        c->scratch = s;
        c->scratch_cap = n / 2;
    }
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        if ((c->slots[i].stamp_off >> COPIER_STAMP_SHIFT) == c->stamp)
            c->scratch[live++] = c->slots[i];
    next_stamp(c);
    c->shift--;
    for (size_t i = 0; i < live; i++)
        reinsert(c, &c->scratch[i]);
    return NMC_OK;
}

int copier_grow_table(nmc_copier *c)
{
    size_t n = copier_slots_in_use(c);
    if (c->shift <= 1 || n > SIZE_MAX / 2 / sizeof *c->slots)
        return NMC_ENOMEM;
    return 2 * n > c->alloc_slots ? grow_allocation(c, n) : grow_in_place(c, n);
}

int copier_grow_queue(nmc_copier *c)
{
    size_t cap = c->queue_mask + 1;
    if (cap > SIZE_MAX / 2 / sizeof *c->queue)
        return NMC_ENOMEM;
    struct copier_item *q = malloc(2 * cap * sizeof *q);
    if (q == NULL)
        return NMC_ENOMEM;
    size_t n = c->tail - c->head;
    for (size_t i = 0; i < n; i++)
        q[i] = c->queue[(c->head + i) & c->queue_mask];
    free(c->queue);
    c->queue = q;
    c->queue_mask = 2 * cap - 1;
    c->head = 0;
    c->tail = n;
    return NMC_OK;
}

static pthread_key_t cache_key;                    /* its destructor frees `owned` */
static pthread_once_t cache_once = PTHREAD_ONCE_INIT; /* creates cache_key          */
static bool cache_ok;                              /* cache_key exists               */
static __thread nmc_copier *cached; /* this thread's copier while no call uses it */
static __thread nmc_copier *owned;  /* the copier cache_key holds for this thread */

static void cache_free(void *c) { nmc_copier_destroy(c); }

static void cache_init(void) { cache_ok = pthread_key_create(&cache_key, cache_free) == 0; }

/* Makes c the copier the thread's exit frees; false if that cannot be. */
static bool cache_own(nmc_copier *c)
{
    (void)pthread_once(&cache_once, cache_init);
    if (!cache_ok || pthread_setspecific(cache_key, c) != 0)
        return false;
    owned = c;
    return true;
}

int copier_cache_take(nmc_copier **out)
{
    nmc_copier *c = cached;
    if (c == NULL)
        return nmc_copier_create(out);
    cached = NULL;
    *out = c;
    return NMC_OK;
}

void copier_cache_put(nmc_copier *c)
{
    if (cached == NULL && c->alloc_slots <= COPIER_CACHE_MAX_SLOTS &&
        c->queue_mask < COPIER_CACHE_MAX_QUEUE && (owned == c || cache_own(c))) {
        cached = c;
        return;
    }
    if (owned == c) /* too large to keep: the thread's exit must not free it */
        cache_own(NULL);
    nmc_copier_destroy(c);
}
