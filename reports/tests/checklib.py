"""The small test runner the reports/ tests share: @test registers a
function, run() calls them all, reports each, and prints Check's summary
line "Checks: N, Failures: F, Errors: 0" (the harness counts it)."""

import traceback

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def run():
    """Runs every registered test; the process exit status."""
    failures = 0
    for fn in TESTS:
        try:
            fn()
            print(f"PASS {fn.__name__}")
        except Exception:  # noqa: BLE001 - every failure is reported, not raised
            failures += 1
            print(f"FAIL {fn.__name__}")
            traceback.print_exc()
    print(f"Checks: {len(TESTS)}, Failures: {failures}, Errors: 0")
    return 1 if failures else 0
