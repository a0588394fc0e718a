#!/bin/sh
# End-to-end test of the benchmark pipeline: runs the gbench self-test binary
# (every call of bench/gbench/gbench.h), then merge_results.py and
# make_report.py on its JSON, and checks that each C API call shows up in the
# JSON and the report. Prints "Checks: N, Failures: F, Errors: 0".
set -eu
# usage: pipeline_test.sh GBENCH_SELFTEST REPORTS_DIR/make_report.py
selftest=$1
here=$(dirname "$2")
tmp=${TEST_TMPDIR:-$(mktemp -d)}

"$selftest" --benchmark_min_time=0.001 --benchmark_out="$tmp/st.json" \
    --benchmark_out_format=json >"$tmp/console.txt" 2>&1
/usr/bin/python3 "$here/merge_results.py" --out "$tmp/results.json" --commit test "$tmp/st.json"
/usr/bin/python3 "$here/make_report.py" "$tmp/results.json" --out "$tmp/REPORT.md"

exec /usr/bin/python3 - "$tmp/results.json" "$tmp/REPORT.md" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
report = open(sys.argv[2]).read()
rows = {}
for b in doc["benchmarks"]:
    rows.setdefault(b["run_name"], []).append(b)
checks = [
    ("fingerprint", doc["context"]["nmc_fingerprint"]["git_commit"] == "test"),
    ("batch bytes/s", rows["selftest/batch_4KiB/nmc"][0]["bytes_per_second"] > 0),
    ("rate|invert counter", 0 < rows["selftest/batch_4KiB/nmc"][0]["s_per_iter"] < 1e-3),
    ("range args", rows["selftest/keep_running/nmc/8"][0]["items_arg"] == 8
     and "selftest/keep_running/nmc/64" in rows),
    ("items/s", rows["selftest/keep_running/nmc/64"][0]["items_per_second"] > 0),
    ("fixed iterations", rows["selftest/manual/nmc/3/4/iterations:5/manual_time"][0]
     ["iterations"] == 5),
    ("manual time", abs(rows["selftest/manual/nmc/3/4/iterations:5/manual_time"][0]
     ["real_time"] - 1e6) < 1),
    ("user pointer label", rows["selftest/manual/nmc/3/4/iterations:5/manual_time"][0]
     ["label"] == "user-pointer"),
    ("avg-iterations counter", abs(rows["selftest/manual/nmc/3/4/iterations:5/manual_time"]
     [0]["two_args"] - 7 / 5) < 1e-9),
    ("repetitions + aggregates", len([r for r in rows[
        "selftest/pause/nmc/1/iterations:100/repeats:2/real_time"]
        if r["run_type"] == "iteration"]) == 2),
    ("skip with error", rows["selftest/error/nmc/min_time:0.010"][0]["error_message"]
     == "selftest: setup failed on purpose"),
    ("report table", "| batch_4KiB | bytes_per_second |" in report),
    ("report ratio column", "nmc speed vs memcpy" in report),
    ("report failures", "- selftest/error/nmc: selftest: setup failed"
     in report),
]
failed = [name for name, ok in checks if not ok]
for name in failed:
    print("FAIL", name)
print(f"Checks: {len(checks)}, Failures: {len(failed)}, Errors: 0")
sys.exit(1 if failed else 0)
PY
