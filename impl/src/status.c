/* Names for the status codes of nmc/status.h. */
#include "nmc/status.h"

const char *nmc_strerror(int status)
{
    switch (status) {
    case NMC_OK: return "NMC_OK: success";
    case NMC_EINVAL: return "NMC_EINVAL: invalid argument";
    case NMC_ESYS: return "NMC_ESYS: system call failed (see errno)";
    case NMC_ENOMEM: return "NMC_ENOMEM: out of process memory";
    case NMC_EOUT_OF_SPACE: return "NMC_EOUT_OF_SPACE: value does not fit the buffer";
    case NMC_EUNSUPPORTED: return "NMC_EUNSUPPORTED: value kind not supported";
    case NMC_ECORRUPT: return "NMC_ECORRUPT: corrupt structure or image";
    case NMC_ENOT_FOUND: return "NMC_ENOT_FOUND: not found";
    case NMC_ENO_RESOURCE: return "NMC_ENO_RESOURCE: no such resource";
    case NMC_EOUT_OF_POOL_MEMORY: return "NMC_EOUT_OF_POOL_MEMORY: out of pool memory";
    case NMC_EDEADLOCK: return "NMC_EDEADLOCK: operation would deadlock";
    case NMC_ELOCKED: return "NMC_ELOCKED: locked for iteration";
    case NMC_EOWNER_DEAD: return "NMC_EOWNER_DEAD: previous lock owner died";
    case NMC_ENOT_RECOVERABLE: return "NMC_ENOT_RECOVERABLE: lock state not recoverable";
    case NMC_ETIMEDOUT: return "NMC_ETIMEDOUT: timed out";
    case NMC_EBUSY: return "NMC_EBUSY: would block";
    case NMC_EPERM: return "NMC_EPERM: not the owner";
    case NMC_ENOSPC: return "NMC_ENOSPC: backing store full";
    case NMC_EMESSAGE_TOO_BIG: return "NMC_EMESSAGE_TOO_BIG: message larger than a slot";
    case NMC_EEMPTY: return "NMC_EEMPTY: empty";
    case NMC_ENO_RESULT: return "NMC_ENO_RESULT: process delivered no result";
    case NMC_EOVERFLOW: return "NMC_EOVERFLOW: size overflow";
    }
    return "unknown status";
}
