/* Taking the pool lock, with repair after a dead owner.
 *
 * The lock is an nmc_mutex in the header. When a process dies holding it,
 * the next locker gets NMC_EOWNER_DEAD with the lock held. The dead process may have been anywhere inside runs.c, so
 * the bookkeeping is verified (check.c); if that fails it is rebuilt from
 * the first-page entries, which runs.c keeps a valid tiling at every step.
 * Success marks the mutex consistent again and the call goes on. Failure
 * marks the pool broken (a flag in the header, seen by every process), so
 * that this and every later call returns NMC_ECORRUPT instead of handing
 * out memory twice.
 */
#include <stdint.h>

#include "mempool_internal.h"
#include "nmc/status.h"

/* Verifies or rebuilds after a dead owner; the lock is held on entry and
 * kept only on success. */
static int recover(nmc_mempool *p)
{
    int st = mp_checkLocked(p);
    if (st != NMC_OK)
        st = mp_rebuildLocked(p);
    if (st != NMC_OK)
        __atomic_store_n(&p->broken, 1, __ATOMIC_RELEASE);
    else
        st = nmc_mutex_consistent(&p->lock) == NMC_OK ? NMC_OK : NMC_ECORRUPT;
    if (st != NMC_OK) {
        nmc_mutex_unlock(&p->lock);
        return NMC_ECORRUPT;
    }
    return NMC_OK;
}

int mp_lock(nmc_mempool *p)
{
    if (p == NULL)
        return NMC_EINVAL;
    if (p->magic != NMC_MEMPOOL_MAGIC || p->version != NMC_MEMPOOL_VERSION ||
        __atomic_load_n(&p->broken, __ATOMIC_ACQUIRE))
        return NMC_ECORRUPT;
    int st = nmc_mutex_lock(&p->lock);
    if (st == NMC_EOWNER_DEAD)
        return recover(p);
    if (st == NMC_ENOT_RECOVERABLE)
        return NMC_ECORRUPT;
    return st == NMC_OK ? NMC_OK : NMC_EINVAL;
}

void mp_unlock(nmc_mempool *p)
{
    nmc_mutex_unlock(&p->lock);
}
