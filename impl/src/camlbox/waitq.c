/* Sleeping and waking without a system call on the busy path.
 *
 * A side that found nothing to do reads seq, raises want, checks its
 * condition once more, and sleeps on seq. The other side publishes (a
 * sequentially consistent read-modify-write), then looks at want: only if
 * it is raised does it swap it down, bump seq and wake every sleeper.
 * Either the publication comes before the sleeper's last check (it sees it)
 * or the sleeper's want comes before the look (it is woken, and since seq
 * was read before want was raised, a bump before the sleep makes the futex
 * wait return at once). A waker that finds want down pays one load.
 */
#include "camlbox_internal.h"

#include "nmc/sync.h"

uint32_t camlbox_waitq_prepare(struct camlbox_waitq *q)
{
    uint32_t seq = LOAD(&q->seq);
    STORE(&q->want, 1u);
    return seq;
}

int camlbox_waitq_sleep(struct camlbox_waitq *q, uint32_t seq, const struct timespec *deadline)
{
    return nmc_futex_wait(&q->seq, seq, deadline);
}

/* This thread woke a sleeper since camlbox_woke_sleeper last looked. */
static __thread bool woke;

void camlbox_waitq_notify(struct camlbox_waitq *q)
{
    if (LOAD(&q->want) != 0 && EXCHANGE(&q->want, 0u) != 0) {
        FETCH_ADD(&q->seq, 1u);
        nmc_futex_wake(&q->seq, INT32_MAX);
        woke = true;
    }
}

bool camlbox_woke_sleeper(void)
{
    bool w = woke;
    woke = false;
    return w;
}
