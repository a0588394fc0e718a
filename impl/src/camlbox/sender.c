/* Senders' handles, and the sizes of a box by name, box or sender.
 *
 * Opening checks who owns the box: a sender whose effective uid is not
 * the owner of the shm object (fstat) is refused with NMC_EPERM, even when
 * the mode would let it in (root, or a receiver that widened the mode),
 * unless the receiver allowed that uid (nmc_camlbox_allow_uid). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "camlbox_internal.h"

/* NMC_COPY_ATOM always; the custom kinds only when this process's ops
 * records sit where the receiver's do, so the stored pointers are right.
 * h is the private copy of the header the sender validated. */
static unsigned copy_flags_for(const struct camlbox_header *h)
{
    const struct nmc_custom_ops *ops[CAMLBOX_OPS] = {&nmc_int32_ops, &nmc_int64_ops,
                                                     &nmc_nativeint_ops, &nmc_bigarray_ops};
    for (int k = 0; k < CAMLBOX_OPS; k++)
        if (h->receiver_ops[k] != (uintptr_t)ops[k])
            return NMC_COPY_ATOM;
    return NMC_COPY_ATOM | NMC_COPY_CUSTOM_INT | NMC_COPY_BIGARRAY;
}

int nmc_camlbox_sender_of_fd(int fd, nmc_camlbox_sender **out)
{
    if (fd < 0 || out == NULL)
        return NMC_EINVAL;
    nmc_camlbox_sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NMC_ENOMEM;
    struct stat fst;
    if (fstat(fd, &fst) != 0) {
        free(s);
        return NMC_ESYS;
    }
    struct camlbox_header h;
    int st = camlbox_view_map(fd, &s->v, &h);
    if (st == NMC_OK && fst.st_uid != geteuid() && h.allowed_uid1 != (uint32_t)geteuid() + 1) {
        camlbox_view_unmap(&s->v);
        errno = EPERM;
        st = NMC_EPERM;
    }
    if (st != NMC_OK) {
        free(s);
        return st;
    }
    s->copy_flags = copy_flags_for(&h);
    *out = s;
    return NMC_OK;
}

int nmc_camlbox_sender_open(const char *name, nmc_camlbox_sender **out)
{
    int fd;
    int st = out == NULL ? NMC_EINVAL : nmc_camlbox_fd(name, &fd);
    if (st != NMC_OK)
        return st;
    st = nmc_camlbox_sender_of_fd(fd, out);
    close(fd);
    return st;
}

int nmc_camlbox_allow_uid(nmc_camlbox *box, uid_t uid)
{
    if (box == NULL || box->v.hdr == NULL || uid == (uid_t)-1)
        return NMC_EINVAL;
    STORE(&box->v.hdr->allowed_uid1, (uint32_t)uid + 1);
    return camlbox_uncut(&box->v, NMC_OK);
}

int nmc_camlbox_sender_close(nmc_camlbox_sender *s)
{
    if (s == NULL || s->v.hdr == NULL)
        return NMC_EINVAL;
    camlbox_view_unmap(&s->v);
    free(s);
    return NMC_OK;
}

/* ---- sizes ---- */

enum size_kind { CAPACITY, MSG_SIZE, MESSAGES };

static int view_size(const struct camlbox_view *v, enum size_kind kind, uint64_t *out)
{
    if (v->hdr == NULL || out == NULL)
        return NMC_EINVAL;
    *out = kind == CAPACITY ? v->capacity
           : kind == MSG_SIZE ? v->msg_size
                              : camlbox_count_messages(v);
    return camlbox_uncut(v, NMC_OK);
}

static int named_size(const char *name, enum size_kind kind, uint64_t *out)
{
    nmc_camlbox_sender *s;
    int st = nmc_camlbox_sender_open(name, &s);
    if (st != NMC_OK)
        return st;
    st = view_size(&s->v, kind, out);
    nmc_camlbox_sender_close(s);
    return st;
}

#define SIZE_GETTERS(what, kind, type)                                          \
    int nmc_camlbox_##what(const char *name, type *out)                         \
    {                                                                           \
        uint64_t x;                                                             \
        int st = out == NULL ? NMC_EINVAL : named_size(name, kind, &x);         \
        if (st == NMC_OK)                                                       \
            *out = (type)x;                                                     \
        return st;                                                              \
    }                                                                           \
    int nmc_camlbox_b##what(const nmc_camlbox *box, type *out)                  \
    {                                                                           \
        uint64_t x;                                                             \
        int st = box == NULL || out == NULL ? NMC_EINVAL : view_size(&box->v, kind, &x); \
        if (st == NMC_OK)                                                       \
            *out = (type)x;                                                     \
        return st;                                                              \
    }                                                                           \
    int nmc_camlbox_s##what(const nmc_camlbox_sender *s, type *out)             \
    {                                                                           \
        uint64_t x;                                                             \
        int st = s == NULL || out == NULL ? NMC_EINVAL : view_size(&s->v, kind, &x); \
        if (st == NMC_OK)                                                       \
            *out = (type)x;                                                     \
        return st;                                                              \
    }

SIZE_GETTERS(capacity, CAPACITY, uint32_t)
SIZE_GETTERS(msg_size, MSG_SIZE, size_t)
SIZE_GETTERS(messages, MESSAGES, uint32_t)
