/* The write lock, the mutator, the add family, pins, and reading under a
 * pin.
 *
 * Pins: a table of values in pool memory (not in the heap: it never moves
 * with a collection), grown by doubling. A modify's pins sit above its
 * mark and are dropped together at its end; a reader's pin takes a slot
 * that is set back to 0 when it is done (trailing zeros are popped), so
 * pin and unpin are O(1) (amortised for growth).
 */
#include <stdlib.h>
#include <string.h>

#include "heap_internal.h"

/* The copier's flags for values copied into a heap. */
#define ADD_FLAGS (NMC_COPY_CUSTOM_INT | NMC_KEEP_ATOM)

int hp_lock(nmc_heap *h)
{
    if (h == NULL || h->magic != NMC_HEAP_MAGIC || h->version != NMC_HEAP_VERSION)
        return NMC_EINVAL;
    if (__atomic_load_n(&h->broken, __ATOMIC_ACQUIRE))
        return NMC_ECORRUPT;
    int st = nmc_mutex_lock(&h->lock);
    if (st == NMC_EOWNER_DEAD) {
        /* A writer died inside a modify: keep the heap if it checks or its
         * reachable values are intact (the rest is rebuilt, check.c). */
        if (hp_check_locked(h) == NMC_OK || hp_repair_locked(h) == NMC_OK)
            return nmc_mutex_consistent(&h->lock) == NMC_OK ? NMC_OK : NMC_ECORRUPT;
        __atomic_store_n(&h->broken, 1, __ATOMIC_RELEASE);
        nmc_mutex_unlock(&h->lock);
        return NMC_ECORRUPT;
    }
    if (st == NMC_ENOT_RECOVERABLE)
        return NMC_ECORRUPT;
    return st; /* NMC_OK, or NMC_EDEADLOCK: this thread holds it */
}

void hp_unlock(nmc_heap *h)
{
    nmc_mutex_unlock(&h->lock);
}

int hp_pin(nmc_heap *h, nmc_value v, uint64_t *slot)
{
    if (h->pin_count == h->pin_cap) {
        uint64_t cap = h->pin_cap ? 2 * h->pin_cap : 512;
        void *mem;
        int st = nmc_mempool_alloc(hp_pool(h), cap * sizeof(nmc_value), &mem);
        if (st != NMC_OK)
            return st;
        if (h->pins != 0) {
            memcpy(mem, (void *)(uintptr_t)h->pins, h->pin_count * sizeof(nmc_value));
            nmc_mempool_free(hp_pool(h), (void *)(uintptr_t)h->pins);
        }
        h->pins = (uint64_t)(uintptr_t)mem;
        h->pin_cap = cap;
    }
    ((nmc_value *)(uintptr_t)h->pins)[h->pin_count] = v;
    *slot = h->pin_count++;
    return NMC_OK;
}

void hp_unpin(nmc_heap *h, uint64_t slot)
{
    nmc_value *pins = (nmc_value *)(uintptr_t)h->pins;
    pins[slot] = 0;
    while (h->pin_count > 0 && pins[h->pin_count - 1] == 0)
        h->pin_count--;
}

/* Takes the lock for a mutator (m's memory is the caller's). */
static int begin(nmc_heap *heap, nmc_mutator *m)
{
    int st = hp_lock(heap);
    if (st == NMC_OK) {
        m->heap = heap;
        m->pin_mark = heap->pin_count;
    }
    return st;
}

/* Drops the modify's pins and the lock. */
static void end(nmc_mutator *m)
{
    nmc_heap *h = m->heap;
    nmc_value *pins = (nmc_value *)(uintptr_t)h->pins;
    if (h->pin_count > m->pin_mark) {
        memset(pins + m->pin_mark, 0, (h->pin_count - m->pin_mark) * sizeof *pins);
        h->pin_count = m->pin_mark;
        while (h->pin_count > 0 && pins[h->pin_count - 1] == 0)
            h->pin_count--;
    }
    hp_unlock(h);
}

int nmc_heap_modify_begin(nmc_heap *heap, nmc_mutator **mut)
{
    if (mut == NULL)
        return NMC_EINVAL;
    nmc_mutator *m = malloc(sizeof *m);
    if (m == NULL)
        return NMC_ENOMEM;
    int st = begin(heap, m);
    if (st != NMC_OK) {
        free(m);
        return st;
    }
    *mut = m;
    return NMC_OK;
}

int nmc_heap_modify_end(nmc_mutator *mut)
{
    if (mut == NULL)
        return NMC_EINVAL;
    end(mut);
    free(mut);
    return NMC_OK;
}

int nmc_heap_modify(nmc_heap *heap, int (*fn)(nmc_mutator *mut, void *ctx), void *ctx)
{
    nmc_mutator m; /* on the stack: the callback form allocates nothing */
    if (fn == NULL)
        return NMC_EINVAL;
    int st = begin(heap, &m);
    if (st != NMC_OK)
        return st;
    st = fn(&m, ctx);
    end(&m);
    return st;
}

nmc_heap *nmc_heap_of_mutator(const nmc_mutator *mut)
{
    return mut != NULL ? mut->heap : NULL;
}

int nmc_heap_pin(nmc_mutator *mut, nmc_value v)
{
    uint64_t slot;
    if (mut == NULL)
        return NMC_EINVAL;
    return hp_pin(mut->heap, v, &slot);
}

/* Copies v into the heap with the copier options opt (target: in place):
 * straight into the first large free block if it fits there (alloc.c),
 * else simulated first for its size. */
static int add_with(nmc_mutator *mut, nmc_value v, struct nmc_copy_options *opt, nmc_value *out)
{
    if (mut == NULL || out == NULL || v == 0)
        return NMC_EINVAL;
    if (nmc_is_long(v) || nmc_is_atom(v)) {
        *out = v;
        return NMC_OK;
    }
    nmc_heap *h = mut->heap;
    size_t voff, bytes, have;
    nmc_header *p = hp_take_first_large(h, &have);
    if (p != NULL) {
        nmc_memory m = {.data = (unsigned char *)p, .len = have * sizeof *p};
        /* Until given back, the block does not tile: recorded for a repair
         * after this process dies here (check.c). */
        h->taking_words = have;
        __atomic_store_n(&h->taking, (uint64_t)(uintptr_t)p, __ATOMIC_RELEASE);
        int st = nmc_init_value(m, 0, v, opt, &voff, &bytes);
        hp_give_back(h, p, have, st == NMC_OK ? bytes / sizeof *p : 0);
        __atomic_store_n(&h->taking, 0, __ATOMIC_RELEASE);
        if (st == NMC_OK) {
            *out = (nmc_value)(m.data + voff);
            return nmc_heap_pin(mut, *out);
        }
        if (st != NMC_EOUT_OF_SPACE)
            return st;
    }
    nmc_memory probe = {.data = NULL, .len = SIZE_MAX / 2};
    opt->flags |= NMC_COPY_SIMULATE;
    int st = nmc_init_value(probe, 0, v, opt, &voff, &bytes);
    if (st != NMC_OK)
        return st;
    if ((st = hp_alloc(mut, bytes / sizeof *p, &p)) != NMC_OK)
        return st;
    opt->flags &= ~(unsigned)NMC_COPY_SIMULATE;
    nmc_memory m = {.data = (unsigned char *)p, .len = bytes};
    h->taking_words = bytes / sizeof *p; /* as above */
    __atomic_store_n(&h->taking, (uint64_t)(uintptr_t)p, __ATOMIC_RELEASE);
    if ((st = nmc_init_value(m, 0, v, opt, &voff, &bytes)) != NMC_OK) {
        hp_free_block(h, p, m.len / sizeof *p); /* back to the lists */
        h->free_words += m.len / sizeof *p;
        __atomic_store_n(&h->taking, 0, __ATOMIC_RELEASE);
        return st;
    }
    __atomic_store_n(&h->taking, 0, __ATOMIC_RELEASE);
    *out = (nmc_value)(m.data + voff);
    return nmc_heap_pin(mut, *out);
}

int nmc_heap_add(nmc_mutator *mut, nmc_value v, nmc_value *out)
{
    struct nmc_copy_options opt = {.flags = ADD_FLAGS};
    return add_with(mut, v, &opt, out);
}

int nmc_heap_add_immutable(nmc_mutator *mut, nmc_value v, nmc_value *out)
{
    if (mut == NULL)
        return NMC_EINVAL;
    struct hp_ranges rs;
    int st = hp_ranges_build(mut->heap, &rs);
    if (st != NMC_OK)
        return st;
    struct nmc_copy_options opt = {.flags = ADD_FLAGS | NMC_COPY_CONDITIONALLY,
                                   .ranges = rs.r,
                                   .n_ranges = rs.n};
    if (hp_ranges_has(&rs, v))
        *out = v, st = NMC_OK; /* the root itself is ours */
    else
        st = add_with(mut, v, &opt, out);
    free(rs.r);
    return st;
}

/* A new block of tag 0 and n fields, all init (an immediate or a heap
 * value), pinned; for n = 0 the atom, as OCaml's [||]. */
static int new_block(nmc_mutator *mut, size_t n, nmc_value init, unsigned tag, nmc_value *out)
{
    if (n > NMC_MAX_WOSIZE)
        return NMC_EINVAL;
    if (n == 0) {
        *out = nmc_atom(0);
        return NMC_OK;
    }
    uint64_t slot;
    nmc_header *p;
    /* init must survive a collection triggered by this allocation. */
    int st = hp_pin(mut->heap, init, &slot);
    if (st == NMC_OK)
        st = hp_alloc(mut, n + 1, &p);
    if (st != NMC_OK)
        return st;
    *p = nmc_make_header(n, tag, NMC_COLOR_WHITE);
    for (size_t i = 0; i < n; i++)
        p[1 + i] = init;
    *out = (nmc_value)(p + 1);
    return nmc_heap_pin(mut, *out);
}

int nmc_heap_add_uniform_array(nmc_mutator *mut, size_t n, nmc_value x, nmc_value *out)
{
    if (mut == NULL || out == NULL)
        return NMC_EINVAL;
    int st = n == 0 ? NMC_OK : nmc_heap_add_immutable(mut, x, &x); /* no field holds x */
    return st == NMC_OK ? new_block(mut, n, x, 0, out) : st;
}

int nmc_heap_add_init_array(nmc_mutator *mut, size_t n,
                            int (*f)(size_t i, void *ctx, nmc_value *v), void *ctx,
                            nmc_value *out)
{
    if (mut == NULL || out == NULL || f == NULL)
        return NMC_EINVAL;
    nmc_value a, v;
    int st = new_block(mut, n, nmc_val_long(0), 0, &a);
    for (size_t i = 0; st == NMC_OK && i < n; i++) {
        st = f(i, ctx, &v);
        if (st == NMC_OK)
            st = nmc_heap_add(mut, v, &v);
        if (st == NMC_OK)
            nmc_field(a, i) = v;
    }
    if (st == NMC_OK)
        *out = a;
    return st;
}

int nmc_heap_add_some(nmc_mutator *mut, nmc_value v, nmc_value *out)
{
    if (mut == NULL || out == NULL)
        return NMC_EINVAL;
    int st = nmc_heap_add(mut, v, &v);
    return st == NMC_OK ? new_block(mut, 1, v, 0, out) : st;
}

int nmc_heap_add_string(nmc_mutator *mut, size_t len, nmc_value *out)
{
    if (mut == NULL || out == NULL || len >= NMC_MAX_WOSIZE * NMC_WORD_SIZE)
        return NMC_EINVAL;
    size_t wosize = nmc_string_wosize(len);
    nmc_header *p;
    int st = hp_alloc(mut, wosize + 1, &p);
    if (st != NMC_OK)
        return st;
    *p = nmc_make_header(wosize, NMC_TAG_STRING, NMC_COLOR_WHITE);
    unsigned char *b = (unsigned char *)(p + 1);
    size_t bytes = wosize * NMC_WORD_SIZE;
    memset(b, 0, bytes);
    b[bytes - 1] = (unsigned char)(bytes - 1 - len); /* OCaml's padding byte */
    *out = (nmc_value)b;
    return nmc_heap_pin(mut, *out);
}

/* Pins v[0..n-1] under the lock; *pinned counts the slots taken. */
static int pin_all(nmc_heap *h, const nmc_value *v, size_t n, uint64_t *slot, size_t *pinned)
{
    int st = NMC_OK;
    for (*pinned = 0; st == NMC_OK && *pinned < n; ++*pinned)
        st = hp_pin(h, v[*pinned], &slot[*pinned]);
    if (st != NMC_OK)
        --*pinned;
    return st;
}

/* Takes the lock again to drop the pins of a reader. */
static void unpin_all(nmc_heap *h, const uint64_t *slot, size_t pinned)
{
    if (pinned > 0 && hp_lock(h) == NMC_OK) {
        while (pinned > 0)
            hp_unpin(h, slot[--pinned]);
        hp_unlock(h);
    }
}

/* Few values (the common case) need no allocation. */
enum { WITH_STACK_VALUES = 8 };

int nmc_heap_with_values(nmc_heap *heap, size_t n,
                         int (*find)(nmc_heap *heap, void *ctx, nmc_value *v),
                         int (*process)(const nmc_value *v, void *ctx), void *ctx)
{
    if (find == NULL || process == NULL || n == 0)
        return NMC_EINVAL;
    nmc_value vbuf[WITH_STACK_VALUES] = {0};
    uint64_t sbuf[WITH_STACK_VALUES];
    bool small = n <= WITH_STACK_VALUES;
    nmc_value *v = small ? vbuf : calloc(n, sizeof *v);
    uint64_t *slot = small ? sbuf : calloc(n, sizeof *slot);
    int st = v != NULL && slot != NULL ? hp_lock(heap) : NMC_ENOMEM;
    size_t pinned = 0;
    if (st == NMC_OK) {
        st = find(heap, ctx, v);
        if (st == NMC_OK)
            st = pin_all(heap, v, n, slot, &pinned);
        hp_unlock(heap);
        if (st == NMC_OK)
            st = process(v, ctx);
        unpin_all(heap, slot, pinned);
    }
    if (!small) {
        free(v);
        free(slot);
    }
    return st;
}

/* The elements of a list (cons cells [x; rest] ending in an immediate)
 * into a new array; their number in *n. */
static int list_elements(nmc_value list, nmc_value **out, size_t *n)
{
    *n = 0;
    for (nmc_value l = list; !nmc_is_long(l); l = nmc_field(l, 1))
        ++*n;
    nmc_value *v = malloc((*n ? *n : 1) * sizeof *v);
    if (v == NULL)
        return NMC_ENOMEM;
    size_t i = 0;
    for (nmc_value l = list; !nmc_is_long(l); l = nmc_field(l, 1))
        v[i++] = nmc_field(l, 0);
    *out = v;
    return NMC_OK;
}

int nmc_heap_with_list(nmc_heap *heap, int (*find)(nmc_heap *heap, void *ctx, nmc_value *list),
                       int (*process)(nmc_value list, void *ctx), void *ctx)
{
    if (find == NULL || process == NULL)
        return NMC_EINVAL;
    int st = hp_lock(heap);
    if (st != NMC_OK)
        return st;
    nmc_value list, *v = NULL;
    uint64_t *slot = NULL;
    size_t n = 0, pinned = 0;
    st = find(heap, ctx, &list);
    if (st == NMC_OK)
        st = list_elements(list, &v, &n);
    if (st == NMC_OK)
        st = (slot = malloc((n ? n : 1) * sizeof *slot)) != NULL ? NMC_OK : NMC_ENOMEM;
    if (st == NMC_OK)
        st = pin_all(heap, v, n, slot, &pinned);
    hp_unlock(heap);
    if (st == NMC_OK)
        st = process(list, ctx);
    unpin_all(heap, slot, pinned);
    free(v);
    free(slot);
    return st;
}

/* The unary form on top of the n-ary one. */
struct with_one {
    int (*find)(nmc_heap *heap, void *ctx, nmc_value *v);
    int (*process)(nmc_value v, void *ctx);
    void *ctx;
};

static int find_one(nmc_heap *heap, void *ctx, nmc_value *v)
{
    struct with_one *w = ctx;
    return w->find(heap, w->ctx, v);
}

static int process_one(const nmc_value *v, void *ctx)
{
    struct with_one *w = ctx;
    return w->process(v[0], w->ctx);
}

int nmc_heap_with_value(nmc_heap *heap, int (*find)(nmc_heap *heap, void *ctx, nmc_value *v),
                        int (*process)(nmc_value v, void *ctx), void *ctx)
{
    struct with_one w = {find, process, ctx};
    if (find == NULL || process == NULL)
        return NMC_EINVAL;
    return nmc_heap_with_values(heap, 1, find_one, process_one, &w);
}

int nmc_heap_copy(nmc_value v, nmc_arena *arena, nmc_value *out)
{
    if (arena == NULL || out == NULL)
        return NMC_EINVAL;
    if (nmc_is_long(v) || nmc_is_atom(v)) {
        *out = v;
        return NMC_OK;
    }
    return nmc_copy_value(arena, NMC_COPY_CUSTOM_INT, v, out);
}
