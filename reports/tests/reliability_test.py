#!/usr/bin/python3
"""Tests of reports/reliability.py: scenarios are read from the expect:
comments, verdicts from Check's log lines, races from their summary
lines; a missing log is "not run". Prints Check's summary line.
usage: reliability_test.py REPORTS_DIR
"""

import os
import sys

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPORTS)
import reliability  # noqa: E402

SOURCE = """
/* expect: a held one */
START_TEST(fine)
/* expect: a crash,
 * over two lines */
START_TEST(dies)
/* expect: a hang */
START_TEST(stuck)
/* expect: a leak */
START_TEST(leaks)
/* expect: a wrong status */
START_TEST(wrong)
/* expect: skipped without root */
START_TEST(needs_root)
/* expect: skipped too */
START_TEST(also_root)
/* expect: registered nowhere */
START_TEST(forgotten)
START_TEST(no_expectation)
"""

LOG = """Running suite(s): x
SKIP needs_root, also_root: needs root (namespaces)
50%: Checks: 6, Failures: 3, Errors: 2
t.c:5:P:tc:fine:0: Passed
t.c:10:E:tc:dies:0: (after this point) Received signal 11 (Segmentation fault)
t.c:20:E:tc:stuck:0: (after this point) Test timeout expired
t.c:30:F:tc:leaks:1: leak: 2 slots still taken
t.c:40:F:tc:wrong:0: Assertion 'x == 1' failed
"""


@test
def scenarios_come_from_expect_comments():
    names = [n for n, _ in reliability.scenarios(SOURCE)]
    assert names == ["fine", "dies", "stuck", "leaks", "wrong", "needs_root", "also_root",
                     "forgotten"], names
    assert dict(reliability.scenarios(SOURCE))["dies"] == "a crash, * over two lines"


@test
def verdicts_come_from_the_log():
    obs = reliability.observations(LOG)
    got = {n: reliability.classify(n, obs)[0] for n, _ in reliability.scenarios(SOURCE)}
    assert got == {"fine": "held", "dies": "crash", "stuck": "hang", "leaks": "leak",
                   "wrong": "wrong status", "needs_root": "skipped", "also_root": "skipped",
                   "forgotten": "not run"}, got
    assert reliability.classify("leaks", obs)[1].startswith("[iteration 1] leak:")


@test
def a_log_without_summary_is_not_run():
    assert reliability.classify("fine", reliability.observations("build failed"))[0] == "not run"


@test
def races_report_their_counts():
    src = "/* expect: statuses only */\nSTART_TEST(racing_lock)\n"
    log = ("racing lock: seconds=1.0 ops=5 ok=4 NMC_EINVAL=1 verdict=held\n"
           "r.c:1:P:racing:racing_lock:0: Passed\nChecks: 1, Failures: 0, Errors: 0\n")
    md = reliability.build([("racing_test.c", src, [log])], {}, "abc", ["ASan"])
    assert "| `racing_lock` | statuses only | **held** | seconds=1.0 ops=5 ok=4 NMC_EINVAL=1 |" in md, md
    assert "## Racing fuzzers" in md


@test
def report_counts_every_verdict_and_the_baseline():
    base = {"_commit": "17c0766", "dies": "crash: SIGSEGV"}
    md = reliability.build([("test_camlbox_hostile.c", SOURCE, [LOG])], base, "abc", ["ASan"])
    for verdict, n in [("held", 1), ("crash", 1), ("hang", 1), ("leak", 1),
                       ("wrong status", 1), ("skipped", 2), ("not run", 1), ("total", 8)]:
        assert f"| {verdict} | {n} |" in md, (verdict, md)
    assert "before (17c0766)" in md and "crash: SIGSEGV |" in md and "not tried |" in md


@test
def runs_combine_failure_first_then_held():
    skipped = "SKIP fine: needs root\nt.c:5:P:tc:fine:0: Passed\nChecks: 1, Failures: 0, Errors: 0\n"
    passed = "t.c:5:P:tc:fine:0: Passed\nChecks: 1, Failures: 0, Errors: 0\n"
    failed = "t.c:5:F:tc:fine:0: leak: 1 slot\nChecks: 1, Failures: 1, Errors: 0\n"
    src = "/* expect: x */\nSTART_TEST(fine)\n"
    md = reliability.build([("a.c", src, [skipped, passed])], {}, "abc", ["asan", "plain"])
    assert "**held** | as expected; skipped in asan: SKIP fine: needs root |" in md, md
    md = reliability.build([("a.c", src, [passed, failed])], {}, "abc", ["asan", "plain"])
    assert "**leak** | plain: leak: 1 slot |" in md, md
    md = reliability.build([("a.c", src, [skipped, None])], {}, "abc", ["asan", "plain"])
    assert "**skipped**" in md, md


sys.exit(run())
