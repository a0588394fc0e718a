#!/usr/bin/python3
"""Tests of reports/compare.py, the regression gate, on generated runs:
a slowdown exits 1 and names the benchmark, an improvement and noise
within the threshold exit 0; benchmarks on one side only are listed as
added / removed and stay out of the geometric mean; a failed benchmark or
binary exits 2; compare.md and compare.json hold what a pull request shows.
Prints Check's summary line.
usage: compare_test.py REPORTS_DIR
"""

import json
import os
import random
import re
import subprocess
import sys
import tempfile

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
GATE = os.path.join(REPORTS, "compare.py")



def run_json(times, binary=None, failures=None, commit=None):
    """A Google Benchmark JSON with one iteration row per (name, time list);
    binary: {name: binary} as merge_results.py --runs tags rows, failures:
    its context["nmc_failures"]."""
    rows = []
    for name, values in times.items():
        for i, t in enumerate(values):
            rows.append({"name": name, "run_name": name, "run_type": "iteration",
                         "repetitions": len(values), "repetition_index": i,
                         "iterations": 1000, "real_time": t, "cpu_time": t,
                         "time_unit": "ns"})
            if binary:
                rows[-1]["nmc_binary"] = binary[name]
    context = {"nmc_fingerprint": {"cpu_model": "Test CPU", "cores": 2, "git_commit": commit}}
    if failures is not None:
        context["nmc_failures"] = failures
    return {"context": context, "benchmarks": rows}


def noisy(mean, n=12, spread=0.01, seed=1):
    rng = random.Random(seed)
    return [mean * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def gate(base, new, *extra):
    """(exit status, output) of compare.py on the two documents."""
    rc, out, _, _ = gate_outputs(base, new, *extra, out_dir=False)
    return rc, out


def gate_outputs(base, new, *extra, out_dir=True):
    """(exit status, output, compare.md, compare.json) of compare.py --out."""
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, doc in enumerate((base, new)):
            p = os.path.join(d, f"{i}.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            paths.append(p)
        out = os.path.join(d, "out")
        r = subprocess.run([sys.executable, GATE, *paths, *(["--out", out] if out_dir else []),
                            *extra], capture_output=True, text=True)
        md = doc = None
        if os.path.exists(os.path.join(out, "compare.json")):
            with open(os.path.join(out, "compare.md"), encoding="utf-8") as f:
                md = f.read()
            with open(os.path.join(out, "compare.json"), encoding="utf-8") as f:
                doc = json.load(f)
        return r.returncode, r.stdout + r.stderr, md, doc


def statuses(doc):
    return {b["name"]: b["status"] for b in doc["benchmarks"]}


@test
def slowdown_fails_and_names_the_benchmark():
    base = run_json({"copier/a/nmc": noisy(100, seed=1), "copier/b/nmc": noisy(50, seed=2)})
    new = run_json({"copier/a/nmc": noisy(110, seed=3), "copier/b/nmc": noisy(50, seed=4)})
    rc, out = gate(base, new)
    assert rc == 1, out
    assert "copier/a/nmc" in out.splitlines()[-1] and "copier/b/nmc" not in out.splitlines()[-1], out


@test
def improvement_passes():
    rc, out = gate(run_json({"x/nmc": noisy(100, seed=1)}), run_json({"x/nmc": noisy(80, seed=2)}))
    assert rc == 0 and "improvement" in out, out


@test
def noise_within_threshold_passes():
    rc, out = gate(run_json({"x/nmc": noisy(100, seed=1, spread=0.03)}),
                   run_json({"x/nmc": noisy(102, seed=2, spread=0.03)}))
    assert rc == 0, out


@test
def threshold_is_a_parameter():
    base, new = run_json({"x/nmc": noisy(100, seed=1)}), run_json({"x/nmc": noisy(103, seed=2)})
    assert gate(base, new)[0] == 0
    rc, out = gate(base, new, "--threshold", "1")
    assert rc == 1, out


@test
def bad_input_is_status_2():
    rc, _ = gate({"benchmarks": []}, {"benchmarks": []})
    assert rc == 2


@test
def added_and_removed_are_listed_not_errors():
    base = run_json({"x/a/nmc": noisy(100, seed=1), "x/old/nmc": noisy(10, seed=2)})
    new = run_json({"x/a/nmc": noisy(100, seed=3), "x/renamed/nmc": noisy(10, seed=4)})
    rc, out = gate(base, new)
    assert rc == 0, out
    assert "added: x/renamed/nmc" in out and "removed: x/old/nmc" in out, out
    _, _, md, doc = gate_outputs(base, new)
    assert statuses(doc) == {"x/a/nmc": "same", "x/old/nmc": "removed",
                             "x/renamed/nmc": "added"}, doc
    assert "Added (NEW only): `x/renamed/nmc`" in md and "Removed (BASE only): `x/old/nmc`" in md, md


@test
def geometric_mean_covers_matched_rows_only():
    # One matched row at -0.3 %; the unmatched ones differ 100-fold.
    base = run_json({"x/a/nmc": noisy(100, seed=1), "x/gone/nmc": noisy(10, seed=2)})
    new = run_json({"x/a/nmc": [t * 0.997 for t in noisy(100, seed=1)],
                    "x/fresh/nmc": noisy(1000, seed=4)})
    rc, out = gate(base, new)
    m = re.search(r"geometric mean[^\n]*?([+-][0-9.]+) ?%", out)
    assert m and abs(float(m.group(1)) - -0.30) < 0.01, out


@test
def no_benchmark_in_common_is_status_2():
    base, new = run_json({"x/a/nmc": noisy(100)}), run_json({"x/b/nmc": noisy(100)})
    rc, out = gate(base, new)
    assert rc == 2 and "no benchmark in common" in out.splitlines()[-1], out
    _, _, md, doc = gate_outputs(base, new)
    assert doc["status"] == "could not compare" and doc["exit_status"] == 2, doc
    assert "could not compare" in md.splitlines()[0], md


@test
def crashed_binary_on_new_is_status_2_and_listed():
    binary = {"copier/a/nmc": "copier_bench", "sync/b/nmc": "sync_bench"}
    crash = {"binary": "copier_bench", "repetition": 2, "status": 139,
             "message": "copier/a/nmc  100 ns\nSegmentation fault"}
    base = run_json({"copier/a/nmc": noisy(100, seed=1), "sync/b/nmc": noisy(50, seed=2)}, binary)
    # NEW's copier_bench crashed in repetition 2; the rest of its rows survive.
    new = run_json({"copier/a/nmc": noisy(100, seed=3)[:5], "sync/b/nmc": noisy(50, seed=4)},
                   binary, failures=[crash])
    rc, out = gate(base, new)
    assert rc == 2, out
    _, _, md, doc = gate_outputs(base, new)
    assert statuses(doc) == {"copier/a/nmc": "failed", "sync/b/nmc": "same"}, doc
    assert doc["failures"][0]["signal"] == "SIGSEGV" and doc["failures"][0]["side"] == "new", doc
    assert "copier_bench on NEW, repetition 2: exited with status 139 (SIGSEGV)" in out, out
    assert "Segmentation fault" in md and "failed" in out.splitlines()[-1], md


@test
def binary_that_never_ran_is_status_2():
    crash = {"binary": "heap_bench", "repetition": 1, "status": 134, "message": "abort"}
    rc, out = gate(run_json({"x/a/nmc": noisy(100)}),
                   run_json({"x/a/nmc": noisy(100)}, failures=[crash]))
    assert rc == 2 and "heap_bench on NEW" in out.splitlines()[-1], out


@test
def error_row_is_failed_not_compared():
    base = run_json({"x/a/nmc": noisy(100, seed=1), "x/b/nmc": noisy(100, seed=2)})
    new = run_json({"x/a/nmc": noisy(100, seed=3)})
    new["benchmarks"].append({"name": "x/b/nmc", "run_name": "x/b/nmc", "run_type": "iteration",
                              "error_occurred": True, "error_message": "setup failed",
                              "iterations": 0, "real_time": 0, "cpu_time": 0,
                              "time_unit": "ns"})
    rc, out = gate(base, new)
    assert rc == 2 and "failed (NEW: setup failed)" in out, out
    _, _, _, doc = gate_outputs(base, new)
    row = [b for b in doc["benchmarks"] if b["name"] == "x/b/nmc"][0]
    assert row["status"] == "failed" and "setup failed" in row["message"], row


@test
def failure_outranks_regression():
    binary = {"x/a/nmc": "a_bench", "x/b/nmc": "b_bench"}
    crash = {"binary": "b_bench", "repetition": 1, "status": 1, "message": ""}
    rc, out = gate(run_json({"x/a/nmc": noisy(100, seed=1)}, binary),
                   run_json({"x/a/nmc": noisy(120, seed=2)}, binary, failures=[crash]))
    assert rc == 2 and "REGRESSION" in out, out


@test
def markdown_shows_significant_changes_then_everything():
    base = run_json({"x/slow/nmc": noisy(100, seed=1), "x/same/nmc": noisy(100, seed=2),
                     "x/fast/nmc": noisy(100, seed=3)}, commit="a" * 40)
    new = run_json({"x/slow/nmc": noisy(120, seed=4), "x/same/nmc": noisy(100, seed=5),
                    "x/fast/nmc": noisy(70, seed=6)}, commit="b" * 40)
    rc, out, md, doc = gate_outputs(base, new, "--base-spec", "origin/main",
                                    "--new-spec", "HEAD", "--reps", "12", "--min-time", "0.1")
    assert rc == 1, out
    head, details = md.split("<details>")
    assert "`x/slow/nmc`" in head and "`x/fast/nmc`" in head and "x/same/nmc" not in head, md
    assert all(f"`x/{n}/nmc`" in details for n in ("slow", "same", "fast")), md
    assert "| benchmark | base | new | delta | p-value | verdict |" in head, md
    assert "**REGRESSION**" in head and "improvement" in head, md
    assert "`origin/main` (`aaaaaaaaaaaa`)" in head and "`HEAD` (`bbbbbbbbbbbb`)" in head, md
    assert "12 interleaved repetitions" in head and "Machine: Test CPU, 2 cores" in md, md
    assert "</details>" in details, md


@test
def json_schema_carries_commits_settings_and_figures():
    base = run_json({"x/a/nmc": noisy(100, seed=1)}, commit="a" * 40)
    new = run_json({"x/a/nmc": noisy(130, seed=2)}, commit="b" * 40)
    rc, _, _, doc = gate_outputs(base, new, "--threshold", "3", "--base-spec", "main")
    assert rc == 1
    assert (doc["schema"], doc["version"], doc["status"], doc["exit_status"]) == \
        ("netmcore-c compare", 1, "regression", 1), doc
    assert doc["base"]["commit"] == "a" * 40 and doc["base"]["spec"] == "main", doc["base"]
    assert doc["new"]["fingerprint"]["cpu_model"] == "Test CPU", doc["new"]
    assert doc["settings"] == {"threshold_pct": 3.0, "alpha": 0.05, "metric": "real_time",
                               "filter": "."}, doc["settings"]
    assert doc["run"] is None and doc["counts"]["regression"] == 1, doc
    row = doc["benchmarks"][0]
    assert row["new"]["repetitions"] == 12 and len(row["base"]["real_time_ns"]) == 12, row
    assert 25 < row["change_pct"] < 35 and row["p_value"] < 0.05, row


@test
def filter_selects_benchmarks_of_results_files():
    base = run_json({"copier/a/nmc": noisy(100, seed=1), "sync/b/nmc": noisy(100, seed=2)})
    new = run_json({"copier/a/nmc": noisy(100, seed=3), "sync/b/nmc": noisy(150, seed=4)})
    assert gate(base, new)[0] == 1
    rc, out = gate(base, new, "--filter", "^copier/")
    assert rc == 0 and "sync/b/nmc" not in out, out


@test
def cannot_compare_writes_the_error_for_the_pull_request():
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "build.log")
        with open(log, "w", encoding="utf-8") as f:
            f.write("INFO: Analyzed 7 targets\n" * 200
                    + "ERROR: /src/bench/x/BUILD:3:1: Compiling x.c failed\n"
                    + "x.c:3:1: error: expected ';'\nFAILED: Build did NOT complete\n")
        out = os.path.join(d, "out")
        r = subprocess.run([sys.executable, GATE, "--cannot-compare", "building NEW failed",
                            "--log", log, "--out", out, "--base-spec", "main",
                            "--new-spec", "."], capture_output=True, text=True)
        assert r.returncode == 2, r.stdout + r.stderr
        with open(os.path.join(out, "compare.md"), encoding="utf-8") as f:
            md = f.read()
        with open(os.path.join(out, "compare.json"), encoding="utf-8") as f:
            doc = json.load(f)
    assert doc["status"] == "could not compare" and doc["reasons"] == ["building NEW failed"]
    assert doc["log_excerpt"].startswith("ERROR: /src/bench/x/BUILD:3:1"), doc["log_excerpt"]
    assert "expected ';'" in md and "INFO: Analyzed" not in md, md



if __name__ == "__main__":
    sys.exit(run())
