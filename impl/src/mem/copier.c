/* copier.c - nmc_init_value: a value graph copied into a buffer as an image.
 *
 * Algorithm (one pass, breadth-first, no recursion). A block is "placed"
 * when first reached: bytes are reserved for it at the buffer's bump
 * position pos, the visited table maps its address to the copy, and
 *   - a structured block (tag < Lazy) gets its header written and is queued;
 *     its fields are written when it leaves the queue: immediates as they
 *     are, pointers as the target address of the pointee's copy (placing
 *     the pointee if it is new);
 *   - a String, Double, Double_array or boxed integer is copied whole;
 *   - a bigarray is copied whole, followed by a pseudo-header (Abstract tag,
 *     wosize 0), a word with the data length in words, and the data padded
 *     to words; the copy's data pointer is the target address of that data.
 * Every header gets colour white; custom ops pointers are replaced by the
 * receiver's record for the identifier.
 *
 * Blocks are placed in the order OCamlnet 4.1.9's netsys_init_value copies
 * them: its queue holds every pointer field in the order the copied blocks
 * are scanned, and it copies an address at its first dequeue; here an
 * address is placed at its first discovery, scanning the placed blocks in
 * placement order, which is the same sequence. The original then relocates
 * in a second pass every pointer field whose target it copied; fields not
 * copied (kept atoms, NMC_COPY_CONDITIONALLY ranges) keep their value. Here
 * the relocation happens as the field is written, and a field inside a range
 * is still relocated if its block was copied (only the root can be), so the
 * image is the same bit for bit.
 *
 * Where this differs from the original, on purpose:
 *   - the bound is m.data + m.len, checked before every reservation (the
 *     original computed its end from data + off + len and wrote first for
 *     some blocks); nothing outside [m.data + off, m.data + m.len) is
 *     written, and in simulation nothing at all;
 *   - all state lives in the nmc_copier (the original's was process-global,
 *     its queue size was wrong after wrap-around and an int counter could
 *     overflow); sizes are checked for overflow;
 *   - a copied bigarray's data pointer is relocated to target_addr (the
 *     original stored the writer's address, wrong for any other mapping);
 *     its padding bytes are zeroed (the original left them as it found them);
 *   - target custom ops are really used, by identifier (the original's
 *     name list was built with strcmp instead of strcpy, so it never
 *     matched), and an identifier without a record is NMC_EUNSUPPORTED;
 *   - Infix blocks, mapped-file bigarrays and malformed bigarray
 *     descriptors are refused (the original copied them);
 *   - a zero-size block of tag String, Double, Custom or Abstract (which
 *     OCaml never makes) is refused; zero-size Double_array blocks follow
 *     the atom rules like the structured tags (the original copied them);
 *   - a root that is an atom under NMC_KEEP_ATOM alone is refused (the
 *     original returned an empty image with voffset pointing past it).
 * Abstract blocks are refused, as by the original: no flag allows them, their
 * words may be addresses or handles meaningless in the receiver, and an
 * Abstract header of size 0 is the image's marker for bigarray data.
 */
#include <string.h>

#include "copier_internal.h"
#include "nmc/status.h"

#define COPY_KNOWN_FLAGS                                                                   \
    (NMC_COPY_BIGARRAY | NMC_COPY_CUSTOM_INT | NMC_COPY_ATOM | NMC_COPY_SIMULATE |         \
     NMC_COPY_CONDITIONALLY | NMC_KEEP_ATOM)

/* One copy in progress. */
struct copy_job {
    nmc_copier *c;                                     /* table and queue            */
    unsigned char *base;                               /* m.data                     */
    size_t pos;                                        /* next free byte (from base) */
    size_t limit;                                      /* bytes usable from base     */
    uintptr_t target;                                  /* address base will have     */
    unsigned flags;                                    /* enum nmc_copy_flag         */
    bool simulate;                                     /* write nothing              */
    intptr_t ba_managed;                               /* managed bits of copied BAs */
    const struct nmc_copy_options *opt;                /* ranges, target ops         */
    const struct nmc_custom_ops *ops[COPIER_CUSTOM_KINDS]; /* receiver's ops by kind */
    unsigned ops_known;                                /* bit k: ops[k] looked up    */
};

static int copy_new(struct copy_job *j, nmc_value v, size_t slot, nmc_value *out);

/* Fast path: the copy of v, from the visited table, else placed now. */
static inline int copy_pointer(struct copy_job *j, nmc_value v, nmc_value *out)
{
    const nmc_copier *c = j->c;
    size_t mask = copier_slots_in_use(c) - 1;
    uint64_t live = c->stamp << COPIER_STAMP_SHIFT;
    for (size_t i = copier_hash(c, v);; i = (i + 1) & mask) {
        const struct copier_slot *s = &c->slots[i];
        if ((s->stamp_off & ~COPIER_OFF_MASK) != live)
            return copy_new(j, v, i, out);
        if (s->key == v) {
            *out = j->target + (uintptr_t)(s->stamp_off & COPIER_OFF_MASK) * NMC_WORD_SIZE;
            return NMC_OK;
        }
    }
}

/* The fields of a queued block: immediates as they are, pointers relocated. */
static int copy_fields(struct copy_job *j, const struct copier_item *it)
{
    size_t wosize = it->wosize;
    const nmc_value *from = (const nmc_value *)it->src;
    nmc_value *to = j->simulate ? NULL : (nmc_value *)(j->base + it->doff);
    for (size_t i = 0; i < wosize; i++) {
        nmc_value v = from[i];
        if (nmc_is_block(v)) {
            int st = copy_pointer(j, v, &v);
            if (st != NMC_OK)
                return st;
        }
        if (to != NULL)
            to[i] = v;
    }
    return NMC_OK;
}

/* A free slot for key in a table without it. */
static size_t free_slot(const nmc_copier *c, uintptr_t key)
{
    size_t mask = copier_slots_in_use(c) - 1;
    uint64_t live = c->stamp << COPIER_STAMP_SHIFT;
    size_t i = copier_hash(c, key);
    while ((c->slots[i].stamp_off & ~COPIER_OFF_MASK) == live)
        i = (i + 1) & mask;
    return i;
}

/* Reserves bytes for the copy of v (header first) and records it in the
 * visited table at slot (v's free slot). *at: offset of the header. */
static int place(struct copy_job *j, nmc_value v, size_t slot, size_t bytes, size_t *at)
{
    nmc_copier *c = j->c;
    if (bytes > j->limit - j->pos)
        return NMC_EOUT_OF_SPACE;
    if ((c->used + 1) * 2 > copier_slots_in_use(c)) {
        int st = copier_grow_table(c);
        if (st != NMC_OK)
            return st;
        slot = free_slot(c, v);
    }
    *at = j->pos;
    j->pos += bytes;
    c->slots[slot].key = v;
    c->slots[slot].stamp_off =
        (c->stamp << COPIER_STAMP_SHIFT) | (uint64_t)(*at / NMC_WORD_SIZE + 1);
    c->used++;
    return NMC_OK;
}

/* The target address of the first field of the copy whose header is at. */
static nmc_value target_value(const struct copy_job *j, size_t at)
{
    return j->target + at + NMC_WORD_SIZE;
}

/* Queues a placed structured block for its fields. */
static int push(nmc_copier *c, nmc_value v, size_t at, size_t wosize)
{
    if (c->tail - c->head > c->queue_mask) {
        int st = copier_grow_queue(c);
        if (st != NMC_OK)
            return st;
    }
    struct copier_item *it = &c->queue[c->tail++ & c->queue_mask];
    it->src = v;
    it->doff = at + NMC_WORD_SIZE;
    it->wosize = wosize;
    return NMC_OK;
}

/* A structured block: header now, fields when it leaves the queue. */
static int copy_structured(struct copy_job *j, nmc_value v, nmc_header hd, size_t slot,
                           nmc_value *out)
{
    size_t at;
    int st = place(j, v, slot, (nmc_hd_wosize(hd) + 1) * NMC_WORD_SIZE, &at);
    if (st != NMC_OK)
        return st;
    if (!j->simulate)
        *(nmc_header *)(j->base + at) = nmc_hd_with_color(hd, NMC_COLOR_WHITE);
    *out = target_value(j, at);
    return push(j->c, v, at, nmc_hd_wosize(hd));
}

/* An opaque block copied whole; ops, if not NULL, replaces field 0. */
static int copy_raw(struct copy_job *j, nmc_value v, nmc_header hd, size_t slot,
                    const struct nmc_custom_ops *ops, nmc_value *out)
{
    size_t at;
    size_t bytes = (nmc_hd_wosize(hd) + 1) * NMC_WORD_SIZE;
    int st = place(j, v, slot, bytes, &at);
    if (st != NMC_OK)
        return st;
    if (!j->simulate) {
        nmc_header *hp = (nmc_header *)(j->base + at);
        memcpy(hp, nmc_hp_val(v), bytes);
        *hp = nmc_hd_with_color(hd, NMC_COLOR_WHITE);
        if (ops != NULL)
            hp[1] = (nmc_header)ops;
    }
    *out = target_value(j, at);
    return NMC_OK;
}

/* A bigarray block, its data inline after it (see the file comment). */
static int copy_bigarray(struct copy_job *j, nmc_value v, nmc_header hd, size_t slot,
                         const struct nmc_custom_ops *ops, nmc_value *out)
{
    const struct nmc_bigarray *ba = nmc_bigarray_val(v);
    size_t wosize = nmc_hd_wosize(hd);
    size_t data_bytes;
    if (wosize < COPIER_BA_WOSIZE(1) || ba->num_dims < 1 ||
        ba->num_dims > NMC_BA_MAX_NUM_DIMS || wosize != COPIER_BA_WOSIZE(ba->num_dims) ||
        copier_ba_data_bytes(ba, &data_bytes) != NMC_OK)
        return NMC_EUNSUPPORTED;
    intptr_t managed = ba->flags & NMC_BA_MANAGED_MASK;
    if (managed != NMC_BA_EXTERNAL && managed != NMC_BA_MANAGED)
        return NMC_EUNSUPPORTED; /* mapped file */
    if (data_bytes > 0 && ba->data == NULL)
        return NMC_EUNSUPPORTED;
    if (data_bytes > COPIER_MAX_IMAGE)
        return NMC_EOUT_OF_SPACE;
    size_t data_words = (data_bytes + NMC_WORD_SIZE - 1) / NMC_WORD_SIZE;
    size_t block_bytes = (wosize + 1) * NMC_WORD_SIZE;
    size_t at;
    int st = place(j, v, slot, block_bytes + COPIER_BA_DATA_PREFIX + data_words * NMC_WORD_SIZE,
                   &at);
    if (st != NMC_OK)
        return st;
    *out = target_value(j, at);
    if (j->simulate)
        return NMC_OK;

    unsigned char *hp = j->base + at;
    memcpy(hp, nmc_hp_val(v), block_bytes);
    *(nmc_header *)hp = nmc_hd_with_color(hd, NMC_COLOR_WHITE);
    ((nmc_header *)hp)[1] = (nmc_header)ops;
    size_t data_at = at + block_bytes + COPIER_BA_DATA_PREFIX;
    struct nmc_bigarray *copy = (struct nmc_bigarray *)(hp + 2 * NMC_WORD_SIZE);
    copy->data = (void *)(j->target + data_at);
    copy->proxy = NULL;
    copy->flags = (copy->flags & ~(intptr_t)NMC_BA_MANAGED_MASK) | j->ba_managed;

    nmc_header *prefix = (nmc_header *)(hp + block_bytes);
    prefix[0] = COPIER_BA_DATA_HEADER;
    prefix[1] = data_words;
    unsigned char *data = j->base + data_at;
    if (data_words > 0) {
        memset(data + data_bytes, 0, data_words * NMC_WORD_SIZE - data_bytes);
        memcpy(data, ba->data, data_bytes);
    }
    return NMC_OK;
}

/* The receiver's ops record for a kind, looked up once per copy. */
static const struct nmc_custom_ops *job_ops(struct copy_job *j, enum copier_custom_kind kind)
{
    if (!(j->ops_known & (1u << kind))) {
        j->ops[kind] = copier_target_ops(j->opt, kind);
        j->ops_known |= 1u << kind;
    }
    return j->ops[kind];
}

static int copy_custom(struct copy_job *j, nmc_value v, nmc_header hd, size_t slot,
                       nmc_value *out)
{
    const struct nmc_custom_ops *src_ops = nmc_custom_ops_val(v);
    if (src_ops == NULL)
        return NMC_EUNSUPPORTED;
    enum copier_custom_kind kind = copier_custom_kind_of(src_ops->identifier);
    if (kind == COPIER_CUSTOM_KINDS)
        return NMC_EUNSUPPORTED;
    unsigned need = kind == COPIER_CUSTOM_BIGARRAY ? NMC_COPY_BIGARRAY : NMC_COPY_CUSTOM_INT;
    const struct nmc_custom_ops *ops = (j->flags & need) ? job_ops(j, kind) : NULL;
    if (ops == NULL)
        return NMC_EUNSUPPORTED;
    if (kind == COPIER_CUSTOM_BIGARRAY)
        return copy_bigarray(j, v, hd, slot, ops, out);
    if (nmc_hd_wosize(hd) != 2)
        return NMC_EUNSUPPORTED; /* boxed integers are ops + one word */
    return copy_raw(j, v, hd, slot, ops, out);
}

/* A zero-size block: copied (COPY_ATOM), kept (KEEP_ATOM, not for the root),
 * else refused. */
static int copy_atom(struct copy_job *j, nmc_value v, nmc_header hd, size_t slot, bool root,
                     nmc_value *out)
{
    unsigned tag = nmc_hd_tag(hd);
    if (tag >= NMC_TAG_LAZY && tag != NMC_TAG_DOUBLE_ARRAY)
        return NMC_EUNSUPPORTED;
    if (j->flags & NMC_COPY_ATOM)
        return copy_raw(j, v, hd, slot, NULL, out);
    if ((j->flags & NMC_KEEP_ATOM) && !root) {
        *out = v;
        return NMC_OK;
    }
    return NMC_EUNSUPPORTED;
}

/* Places the copy of a block not yet in the visited table. */
static int copy_block(struct copy_job *j, nmc_value v, size_t slot, bool root, nmc_value *out)
{
    if (v == 0 || (v & (NMC_WORD_SIZE - 1)) != 0)
        return NMC_EINVAL; /* not a value */
    nmc_header hd = nmc_hd_val(v);
    unsigned tag = nmc_hd_tag(hd);
    if (nmc_hd_wosize(hd) == 0)
        return copy_atom(j, v, hd, slot, root, out);
    if (tag < NMC_TAG_LAZY)
        return copy_structured(j, v, hd, slot, out);
    switch (tag) {
    case NMC_TAG_STRING:
    case NMC_TAG_DOUBLE:
    case NMC_TAG_DOUBLE_ARRAY:
        return copy_raw(j, v, hd, slot, NULL, out);
    case NMC_TAG_CUSTOM:
        return copy_custom(j, v, hd, slot, out);
    default: /* Lazy, Closure, Object, Infix, Forward, Abstract */
        return NMC_EUNSUPPORTED;
    }
}

static bool in_ranges(const struct nmc_copy_options *opt, nmc_value v)
{
    for (size_t i = 0; i < opt->n_ranges; i++)
        if (v >= opt->ranges[i].start && v < opt->ranges[i].end)
            return true;
    return false;
}

/* Slow path of copy_pointer: v is not in the table; slot is its free slot. */
static int copy_new(struct copy_job *j, nmc_value v, size_t slot, nmc_value *out)
{
    if ((j->flags & NMC_COPY_CONDITIONALLY) && in_ranges(j->opt, v)) {
        *out = v;
        return NMC_OK;
    }
    return copy_block(j, v, slot, false, out);
}

static int check_args(nmc_memory m, size_t off, nmc_value v, const struct nmc_copy_options *opt,
                      size_t *voffset, size_t *bytelen)
{
    if (voffset == NULL || bytelen == NULL || !nmc_is_block(v) || v == 0 ||
        off % NMC_WORD_SIZE != 0 || off > m.len || (uintptr_t)m.data % NMC_WORD_SIZE != 0)
        return NMC_EINVAL;
    if (opt == NULL)
        return m.data == NULL ? NMC_EINVAL : NMC_OK;
    if ((opt->flags & ~(unsigned)COPY_KNOWN_FLAGS) != 0 ||
        opt->target_addr % NMC_WORD_SIZE != 0 || (opt->n_ranges > 0 && opt->ranges == NULL) ||
        (opt->n_target_ops > 0 && opt->target_ops == NULL) ||
        (m.data == NULL && !(opt->flags & NMC_COPY_SIMULATE)))
        return NMC_EINVAL;
    return NMC_OK;
}

bool copier_leaf_root(nmc_value v)
{
    if (!nmc_is_block(v) || v == 0 || (v & (NMC_WORD_SIZE - 1)) != 0)
        return false;
    nmc_header hd = nmc_hd_val(v);
    size_t wosize = nmc_hd_wosize(hd);
    unsigned tag = nmc_hd_tag(hd);
    if (wosize == 0)
        return false;
    if (tag == NMC_TAG_STRING || tag == NMC_TAG_DOUBLE || tag == NMC_TAG_DOUBLE_ARRAY)
        return true;
    if (tag >= NMC_TAG_LAZY || wosize > COPIER_FLAT_MAX)
        return false;
    for (size_t i = 0; i < wosize; i++)
        if (!nmc_is_long(nmc_field(v, i)))
            return false;
    return true;
}

/* A leaf root's copy: its block alone, as copy_raw or copy_structured
 * would place it, without the visited table or the queue (nothing can be
 * reached twice). */
static int copy_leaf(struct copy_job *j, nmc_value v)
{
    nmc_header hd = nmc_hd_val(v);
    size_t bytes = (nmc_hd_wosize(hd) + 1) * NMC_WORD_SIZE;
    if (bytes > j->limit - j->pos)
        return NMC_EOUT_OF_SPACE;
    if (!j->simulate) {
        memcpy(j->base + j->pos, nmc_hp_val(v), bytes);
        *(nmc_header *)(j->base + j->pos) = nmc_hd_with_color(hd, NMC_COLOR_WHITE);
    }
    j->pos += bytes;
    return NMC_OK;
}

/* Any other root: breadth first through the visited table and the queue. */
static int copy_graph(struct copy_job *j, nmc_value v)
{
    nmc_copier *c = j->c;
    nmc_value root;
    copier_begin(c);
    int st = copy_block(j, v, copier_hash(c, v), true, &root);
    while (st == NMC_OK && c->head != c->tail) {
        struct copier_item it = c->queue[c->head++ & c->queue_mask];
        st = copy_fields(j, &it);
    }
    copier_end(c);
    return st;
}

int copier_run(nmc_copier *c, nmc_memory m, size_t off, nmc_value v,
               const struct nmc_copy_options *opt, int managed_ba, size_t *voffset,
               size_t *bytelen)
{
    int st = check_args(m, off, v, opt, voffset, bytelen);
    if (st != NMC_OK)
        return st;
    struct copy_job j = {
        .c = c,
        .base = m.data,
        .pos = off,
        .flags = opt != NULL ? opt->flags : 0,
        .ba_managed = managed_ba ? NMC_BA_MANAGED : NMC_BA_EXTERNAL,
        .opt = opt,
    };
    j.simulate = (j.flags & NMC_COPY_SIMULATE) != 0;
    j.limit = j.simulate || m.len > COPIER_MAX_IMAGE ? COPIER_MAX_IMAGE : m.len;
    j.target = opt != NULL && opt->target_addr != 0 ? opt->target_addr : (uintptr_t)m.data;
    if (j.pos > j.limit)
        return NMC_EOUT_OF_SPACE;

    if (copier_leaf_root(v)) {
        st = copy_leaf(&j, v);
    } else if (c != NULL) {
        st = copy_graph(&j, v);
    } else if ((st = copier_cache_take(&j.c)) == NMC_OK) {
        st = copy_graph(&j, v);
        copier_cache_put(j.c);
    }
    if (st != NMC_OK)
        return st;
    *voffset = off + NMC_WORD_SIZE;
    *bytelen = j.pos - off;
    return NMC_OK;
}

int nmc_copier_init_value(nmc_copier *c, nmc_memory m, size_t off, nmc_value v,
                          const struct nmc_copy_options *opt, size_t *voffset, size_t *bytelen)
{
    return c == NULL ? NMC_EINVAL : copier_run(c, m, off, v, opt, 0, voffset, bytelen);
}

int nmc_init_value(nmc_memory m, size_t off, nmc_value v, const struct nmc_copy_options *opt,
                   size_t *voffset, size_t *bytelen)
{
    return copier_run(NULL, m, off, v, opt, 0, voffset, bytelen);
}
