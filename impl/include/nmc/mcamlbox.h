/* nmc/mcamlbox.h - camlboxes as resources of the process manager
 * (Netmcore_camlbox).
 *
 * nmc_mcamlbox_create makes a box (nmc/camlbox.h) in a new shm object
 * named prefix_<random hex> (O_EXCL, mode 0600) and hands the object to the
 * master (nmc_manage_shm), so the box's name travels as a resource id, is
 * recorded in the crash-cleanup manifest, and is unlinked when the last
 * use is released. The creator is the receiver and the first user.
 * nmc_mcamlbox_lookup_sender, in any process of the run, opens a sender on
 * the box of a resource id; it takes a use of the resource (release it
 * with nmc_release when done, as with nmc_get_shm).
 *
 * Module prefix: nmc_mcamlbox_.
 */
#ifndef NMC_MCAMLBOX_H
#define NMC_MCAMLBOX_H

#include "nmc/camlbox.h"
#include "nmc/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Creates a managed box of capacity slots of msg_size bytes: the receiver
 * in *box, its resource in *id. Statuses of nmc_camlbox_format,
 * nmc_sys_shm_create and nmc_manage_shm. */
int nmc_mcamlbox_create(const char *prefix, uint32_t capacity, size_t msg_size,
                        nmc_camlbox **box, nmc_res_id *id);
/* A sender on the box of resource id; NMC_ENO_RESOURCE if id is not a
 * shm resource. */
int nmc_mcamlbox_lookup_sender(nmc_res_id id, nmc_camlbox_sender **sender);
/* The shm name of the box of resource id (buf of buflen bytes). */
int nmc_mcamlbox_lookup_address(nmc_res_id id, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif
#endif
