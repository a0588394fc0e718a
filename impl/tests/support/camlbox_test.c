#include "camlbox_test.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nmc/camlbox.h"
#include "nmc/status.h"

static void park(int sig)
{
    (void)sig;
    for (;;)
        pause();
}

_Noreturn void camlbox_test_park_in_send(const char *name)
{
    nmc_camlbox_sender *s;
    nmc_arena *a;
    nmc_value head;
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    signal(SIGSEGV, park);
    if (page == MAP_FAILED || nmc_camlbox_sender_open(name, &s) != NMC_OK ||
        nmc_arena_create(&a) != NMC_OK ||
        nmc_alloc_tuple(a, 0, 1, (nmc_value[]){(nmc_value)page + 8}, &head) != NMC_OK)
        _exit(90);
    nmc_camlbox_send(s, head, NMC_CAMLBOX_ANY_SLOT, NULL);
    _exit(91); /* not reached */
}
