/* Camlboxes registered with the process manager; see nmc/mcamlbox.h. */
#include <unistd.h>

#include "nmc/mcamlbox.h"
#include "nmc/sys.h"

int nmc_mcamlbox_create(const char *prefix, uint32_t capacity, size_t msg_size,
                        nmc_camlbox **box, nmc_res_id *id)
{
    if (box == NULL || id == NULL)
        return NMC_EINVAL;
    char name[NMC_SHM_NAME_MAX];
    int fd;
    int st = nmc_sys_shm_create(prefix, 0, &fd, name);
    if (st != NMC_OK)
        return st;
    st = nmc_camlbox_format(fd, capacity, msg_size, box);
    close(fd);
    if (st == NMC_OK && (st = nmc_manage_shm(name, id)) != NMC_OK)
        nmc_camlbox_close(*box);
    if (st != NMC_OK)
        nmc_sys_shm_unlink(name);
    return st;
}

int nmc_mcamlbox_lookup_address(nmc_res_id id, char *buf, size_t buflen)
{
    return nmc_get_shm(id, buf, buflen);
}

int nmc_mcamlbox_lookup_sender(nmc_res_id id, nmc_camlbox_sender **sender)
{
    char name[NMC_RESOURCE_NAME_MAX];
    if (sender == NULL)
        return NMC_EINVAL;
    int st = nmc_get_shm(id, name, sizeof name);
    if (st != NMC_OK)
        return st;
    if ((st = nmc_camlbox_sender_open(name, sender)) != NMC_OK)
        nmc_release(id);
    return st;
}
