/* What the camlbox suites share: a sender that dies in the middle of a
 * send, leaving its slot RESERVED. */
#ifndef NMC_TEST_CAMLBOX_H
#define NMC_TEST_CAMLBOX_H

/* In a child: opens a sender on the named box and sends a value whose
 * field leads into an inaccessible page, so the copier faults after the
 * slot was reserved; the child then parks in its SIGSEGV handler until
 * it is killed. Exits 90 if it cannot set that up. */
_Noreturn void camlbox_test_park_in_send(const char *name);

#endif
