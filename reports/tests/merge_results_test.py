#!/usr/bin/python3
"""Tests of reports/merge_results.py on what a broken run leaves behind: an
unreadable result file and, in compare.sh's run lists (--runs), binaries
that crashed or wrote no JSON. Nothing may drop out unsaid.
Prints Check's summary line.
usage: merge_results_test.py REPORTS_DIR
"""

import json
import os
import subprocess
import sys
import tempfile

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
MERGE = os.path.join(REPORTS, "merge_results.py")


def gbench_doc(*names):
    rows = [{"name": n, "run_name": n, "run_type": "iteration", "iterations": 10,
             "real_time": 5.0, "cpu_time": 5.0, "time_unit": "ns"} for n in names]
    return {"context": {"host_name": "t"}, "benchmarks": rows}


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def merge(d, *args):
    out = os.path.join(d, "merged.json")
    r = subprocess.run([sys.executable, MERGE, "--out", out, *args],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8") as f:
        return json.load(f), r.stderr


@test
def unreadable_result_file_is_noted():
    with tempfile.TemporaryDirectory() as d:
        good = write(d, "good.json", json.dumps(gbench_doc("a/x/nmc")))
        bad = write(d, "bad.json", '{"benchmarks": [')
        doc, err = merge(d, good, bad)
        assert [b["name"] for b in doc["benchmarks"]] == ["a/x/nmc"], doc
        notes = doc["context"].get("nmc_notes", [])
        assert any("bad.json" in n and "unreadable" in n for n in notes), notes
        assert "bad.json" in err, err


@test
def runs_list_records_crashed_and_unreadable_runs():
    with tempfile.TemporaryDirectory() as d:
        ok = write(d, "1.json", json.dumps(gbench_doc("a/x/nmc", "a/y/nmc")))
        torn = write(d, "2.json", '{"context": {}, "benchmarks": [{"name": "b/')
        log = write(d, "3.log", "b/z/nmc   100 ns\nSegmentation fault\n")
        runs = write(d, "runs.tsv", "".join([
            f"1\ta_bench\t0\t{ok}\t{log}\n",
            f"1\tb_bench\t0\t{torn}\t{log}\n",
            f"2\tb_bench\t139\t{os.path.join(d, 'missing.json')}\t{log}\n",
        ]))
        doc, _ = merge(d, "--runs", runs)
        rows = doc["benchmarks"]
        assert [(b["name"], b["nmc_binary"]) for b in rows] == [
            ("a/x/nmc", "a_bench"), ("a/y/nmc", "a_bench")], rows
        failures = doc["context"]["nmc_failures"]
        assert [(f["binary"], f["repetition"], f["status"]) for f in failures] == [
            ("b_bench", 1, 0), ("b_bench", 2, 139)], failures
        assert "unreadable output" in failures[0]["message"], failures
        assert failures[1]["message"].endswith("Segmentation fault"), failures


@test
def runs_list_without_failures_says_so():
    with tempfile.TemporaryDirectory() as d:
        ok = write(d, "1.json", json.dumps(gbench_doc("a/x/nmc")))
        runs = write(d, "runs.tsv", f"1\ta_bench\t0\t{ok}\t{ok}\n")
        doc, _ = merge(d, "--runs", runs, "--commit", "abc")
        assert doc["context"]["nmc_failures"] == [], doc["context"]
        assert doc["context"]["nmc_fingerprint"]["git_commit"] == "abc"


if __name__ == "__main__":
    sys.exit(run())
