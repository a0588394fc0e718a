/* The receiver's handle: creating or formatting a box, closing it, and its
 * consistency check. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "camlbox_internal.h"

/* A receiver's handle for the box about to be formatted at base with h. */
static int box_new(void *base, nmc_sys_guard *guard, struct camlbox_header *h,
                   nmc_camlbox **out)
{
    nmc_camlbox *box = calloc(1, sizeof *box);
    if (box == NULL)
        return NMC_ENOMEM;
    box->delivered = calloc(((size_t)h->capacity + 63) / 64, sizeof(uint64_t));
    if (box->delivered == NULL) {
        free(box);
        return NMC_ENOMEM;
    }
    camlbox_init(base, guard, h, &box->v);
    *out = box;
    return NMC_OK;
}

int nmc_camlbox_format(int fd, uint32_t capacity, size_t msg_size, nmc_camlbox **out)
{
    struct camlbox_header h;
    if (fd < 0 || out == NULL || camlbox_layout(capacity, msg_size, &h) != NMC_OK)
        return NMC_EINVAL;
    void *base;
    nmc_sys_guard *guard;
    int st;
    if (NMC_FAULT(NMC_FAULT_FTRUNCATE, EFBIG) || ftruncate(fd, (off_t)h.size) != 0)
        return NMC_ESYS;
    if ((st = nmc_sys_commit(fd, 0, (off_t)h.size)) != NMC_OK ||
        (st = camlbox_map(fd, (size_t)h.size, &base, &guard)) != NMC_OK)
        return st;
    if ((st = box_new(base, guard, &h, out)) != NMC_OK) {
        nmc_sys_guard_remove(guard);
        nmc_sys_unmap(base, (size_t)h.size);
    }
    return st;
}

int nmc_camlbox_create(const char *name, uint32_t capacity, size_t msg_size, nmc_camlbox **out)
{
    struct camlbox_header h;
    if (name == NULL || name[0] != '/' || out == NULL ||
        camlbox_layout(capacity, msg_size, &h) != NMC_OK)
        return NMC_EINVAL;
    int fd;
    do
        fd = NMC_FAULT(NMC_FAULT_SHM_OPEN, EMFILE)
                 ? -1
                 : shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return NMC_ESYS;
    int st = nmc_camlbox_format(fd, capacity, msg_size, out);
    int saved = errno;
    close(fd);
    if (st != NMC_OK)
        shm_unlink(name);
    errno = saved;
    return st;
}

int nmc_camlbox_unlink(const char *name)
{
    return name == NULL ? NMC_EINVAL : nmc_sys_shm_unlink(name);
}

int nmc_camlbox_fd(const char *name, int *fd)
{
    return name == NULL || fd == NULL ? NMC_EINVAL : nmc_sys_shm_open(name, fd);
}

int nmc_camlbox_close(nmc_camlbox *box)
{
    if (box == NULL || box->v.hdr == NULL)
        return NMC_EINVAL;
    STORE(&box->v.hdr->closed, 1u);
    camlbox_waitq_notify(&box->v.hdr->tx);
    camlbox_view_unmap(&box->v);
    free(box->delivered);
    free(box);
    return NMC_OK;
}

int nmc_camlbox_check(const nmc_camlbox *box)
{
    if (box == NULL || box->v.hdr == NULL)
        return NMC_EINVAL;
    const struct camlbox_view *v = &box->v;
    /* The shared header still says what this handle knows. */
    struct camlbox_header h;
    COPY_ONCE(&h, v->hdr);
    if (camlbox_validate(&h, v->size) != NMC_OK || h.receiver_base != (uintptr_t)v->hdr ||
        h.capacity != v->capacity || h.msg_size != v->msg_size || h.receiver != v->receiver)
        return NMC_ECORRUPT;
    uint32_t tail = v->capacity % 64;
    uint64_t beyond = tail == 0 ? 0 : ~(((uint64_t)1 << tail) - 1);
    if ((box->delivered[(v->capacity - 1) / 64] & beyond) || box->run >= v->capacity)
        return NMC_ECORRUPT;
    for (uint32_t i = 0; i < v->capacity; i++) {
        const struct camlbox_slot *sl = camlbox_slot(v, i);
        uint64_t s = LOAD(&sl->state);
        bool delivered = (box->delivered[i / 64] >> (i % 64)) & 1;
        if ((SLOT_KIND(s) == SLOT_RESERVED && NMC_OWNER_TID(SLOT_OWNER(s)) == 0) ||
            SLOT_KIND(s) == 3 || (SLOT_KIND(s) == SLOT_FREE && s != SLOT_FREE) ||
            (delivered && SLOT_KIND(s) != SLOT_READY))
            return NMC_ECORRUPT;
        uint64_t root = LOAD_ONCE(&sl->root);
        if (SLOT_KIND(s) == SLOT_READY && !camlbox_message_ok(v, s, root))
            return NMC_ECORRUPT;
    }
    return camlbox_uncut(v, NMC_OK);
}
