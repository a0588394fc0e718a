/* copier_custom.c - custom blocks as the copier and the verifier see them.
 *
 * Only four kinds of custom block can be copied, named by the identifier of
 * their ops record: "_i" int32, "_j" int64, "_n" nativeint (needing
 * NMC_COPY_CUSTOM_INT) and "_bigarr02" bigarray (NMC_COPY_BIGARRAY). The
 * image stores the receiver's ops record for the identifier: one of
 * opt->target_ops, else this process's (nmc_custom_ops_find). Identifiers are
 * matched exactly (OCamlnet's switch on the second character also took "_b"
 * for a bigarray).
 */
#include <string.h>

#include "copier_internal.h"
#include "nmc/status.h"

const char *const copier_custom_ids[COPIER_CUSTOM_KINDS] = {"_i", "_j", "_n", "_bigarr02"};

enum copier_custom_kind copier_custom_kind_of(const char *identifier)
{
    if (identifier == NULL)
        return COPIER_CUSTOM_KINDS;
    for (int k = 0; k < COPIER_CUSTOM_KINDS; k++)
        if (strcmp(identifier, copier_custom_ids[k]) == 0)
            return (enum copier_custom_kind)k;
    return COPIER_CUSTOM_KINDS;
}

const struct nmc_custom_ops *copier_target_ops(const struct nmc_copy_options *opt,
                                               enum copier_custom_kind kind)
{
    if (opt == NULL || opt->target_ops == NULL)
        return nmc_custom_ops_find(copier_custom_ids[kind]);
    for (size_t i = 0; i < opt->n_target_ops; i++) {
        const struct nmc_custom_ops *ops = opt->target_ops[i];
        if (ops != NULL && copier_custom_kind_of(ops->identifier) == kind)
            return ops;
    }
    return NULL;
}

int copier_ba_data_bytes(const struct nmc_bigarray *ba, size_t *bytes)
{
    const intptr_t allowed = NMC_BA_KIND_MASK | NMC_BA_FORTRAN_LAYOUT | NMC_BA_MANAGED_MASK;
    if (ba->num_dims < 1 || ba->num_dims > NMC_BA_MAX_NUM_DIMS || (ba->flags & ~allowed) != 0 ||
        nmc_ba_element_size((int)(ba->flags & NMC_BA_KIND_MASK)) == 0)
        return NMC_EINVAL;
    for (intptr_t i = 0; i < ba->num_dims; i++)
        if (ba->dim[i] < 0)
            return NMC_EINVAL;
    return nmc_ba_byte_size(ba, bytes) == NMC_OK ? NMC_OK : NMC_EINVAL;
}
