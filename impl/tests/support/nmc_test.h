/* Shared runner for the Check suites of impl/tests/.
 *
 * A test file defines nmc_test_suite() and links with this runner, which
 * runs the suite in fork mode (a crashing test fails alone), prints Check's
 * "Checks: N, Failures: F, Errors: E" summary (the harness counts test cases
 * from it), and fails the run if any /dev/shm object named with
 * nmc_test_prefix() is left behind.
 */
#ifndef NMC_TEST_H
#define NMC_TEST_H

#include <check.h>
#include <stddef.h>

#include "nmc/status.h"

/* The suite of this test binary (one per file). */
Suite *nmc_test_suite(void);

/* A name prefix unique to this test run ("nmct<pid>p"); everything a test
 * creates in /dev/shm must start with it so leaks are attributed. */
const char *nmc_test_prefix(void);

/* Number of /dev/shm entries whose name starts with prefix. */
int nmc_test_shm_count(const char *prefix);

/* Asserts a status is NMC_OK, printing its name otherwise. */
#define ck_assert_ok(expr)                                                     \
    do {                                                                       \
        int nmc_st_ = (expr);                                                  \
        ck_assert_msg(nmc_st_ == NMC_OK, "%s returned %s", #expr,             \
                      nmc_strerror(nmc_st_));                                  \
    } while (0)

/* Asserts a status equals the expected code. */
#define ck_assert_status(expr, expected)                                       \
    do {                                                                       \
        int nmc_st_ = (expr);                                                  \
        ck_assert_msg(nmc_st_ == (expected), "%s returned %s, expected %s",   \
                      #expr, nmc_strerror(nmc_st_), nmc_strerror(expected));   \
    } while (0)

#endif
