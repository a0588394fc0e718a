/* Value builders shared by the value and mem test suites.
 *
 * Each test gets a fresh arena (add test_values_setup / _teardown as a
 * checked fixture); the builders allocate in it and fail the test on any
 * error, so test bodies read as the values they build.
 */
#ifndef NMC_TEST_VALUES_H
#define NMC_TEST_VALUES_H

#include <stddef.h>

#include "nmc/value.h"

/* The current test's arena. */
extern nmc_arena *arena;

void test_values_setup(void);
void test_values_teardown(void);

/* A block of tag with the n fields f (tag < NMC_NO_SCAN_TAG). */
nmc_value tuple(unsigned tag, size_t n, const nmc_value *f);
/* (a, b) */
nmc_value pair(nmc_value a, nmc_value b);
/* A block of any header tag (Closure, Lazy, ...) whose fields are f. */
nmc_value tagged(unsigned tag, size_t n, const nmc_value *f);
/* A String holding the C string s (without its NUL). */
nmc_value str(const char *s);
nmc_value dbl(double d);
/* A Double_array of the n doubles d. */
nmc_value darr(size_t n, const double *d);

#endif
