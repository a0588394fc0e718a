/* nmc/status.h - status codes returned by every fallible nmc_ function.
 *
 * 0 is success. Every failure is a negative NMC_E... code; one per exception
 * of the original OCamlnet API, plus a few of our own. NMC_ESYS means a system
 * call failed and errno still holds its cause. Results travel through
 * out-parameters, never through the status.
 */
#ifndef NMC_STATUS_H
#define NMC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum nmc_status {
    NMC_OK = 0,
    NMC_EINVAL = -1,              /* bad argument (Invalid_argument)                */
    NMC_ESYS = -2,                /* a system call failed; errno is kept            */
    NMC_ENOMEM = -3,              /* process-local allocation failed                */
    NMC_EOUT_OF_SPACE = -4,       /* value does not fit the buffer (Out_of_space)   */
    NMC_EUNSUPPORTED = -5,        /* value kind cannot be copied / compared         */
    NMC_ECORRUPT = -6,            /* shared structure or image fails its check      */
    NMC_ENOT_FOUND = -7,          /* Not_found                                      */
    NMC_ENO_RESOURCE = -8,        /* unknown resource id or wrong kind              */
    NMC_EOUT_OF_POOL_MEMORY = -9, /* Out_of_pool_memory                             */
    NMC_EDEADLOCK = -10,          /* the operation would deadlock (Deadlock)        */
    NMC_ELOCKED = -11,            /* mutation refused while locked for iteration    */
    NMC_EOWNER_DEAD = -12,        /* lock acquired, but its previous owner died     */
    NMC_ENOT_RECOVERABLE = -13,   /* lock owner died and nobody made it consistent  */
    NMC_ETIMEDOUT = -14,          /* a timed wait expired                           */
    NMC_EBUSY = -15,              /* a try-operation would have to block            */
    NMC_EPERM = -16,              /* caller does not own the lock / resource        */
    NMC_ENOSPC = -17,             /* backing store (tmpfs, disk) is full            */
    NMC_EMESSAGE_TOO_BIG = -18,   /* message larger than a camlbox slot             */
    NMC_EEMPTY = -19,             /* Empty: nothing to read                         */
    NMC_ENO_RESULT = -20,         /* a joined process delivered no result           */
    NMC_EOVERFLOW = -21,          /* a size computation would overflow              */
};

/* Returns a static, human-readable name for a status ("NMC_EINVAL: invalid
 * argument"). Never NULL; unknown codes give "unknown status". */
const char *nmc_strerror(int status);

#ifdef __cplusplus
}
#endif
#endif
