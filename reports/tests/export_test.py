#!/usr/bin/python3
"""Tests of reports/export.py --bmf (Bencher Metric Format) on generated
results and on the report fixture: latency in ns with the repetitions'
range, throughput from items_per_second, aggregates-only results, failed
benchmarks named and left out. Prints Check's summary line.
usage: export_test.py REPORTS_DIR
"""

import json
import os
import subprocess
import sys
import tempfile

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
EXPORT = os.path.join(REPORTS, "export.py")
FIXTURE = os.path.join(REPORTS, "tests", "fixture_results.json")


def export(doc_or_path, *extra):
    """(exit status, stdout, stderr) of export.py --bmf on a document or file."""
    with tempfile.TemporaryDirectory() as d:
        path = doc_or_path
        if not isinstance(path, str):
            path = os.path.join(d, "results.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(doc_or_path, f)
        r = subprocess.run([sys.executable, EXPORT, "--bmf", path, *extra],
                           capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr


def row(name, real_time, unit="ns", **extra):
    return dict({"name": name, "run_name": name, "run_type": "iteration", "iterations": 10,
                 "real_time": real_time, "cpu_time": real_time, "time_unit": unit}, **extra)


def valid_bmf(doc):
    """The shape of bencher's BMF schema: {benchmark: {measure: {value...}}}."""
    for measures in doc.values():
        for metric in measures.values():
            assert isinstance(metric["value"], float), metric
            assert set(metric) <= {"value", "lower_value", "upper_value"}, metric
            if "lower_value" in metric:
                assert metric["lower_value"] <= metric["value"] <= metric["upper_value"], metric


@test
def repetitions_give_median_and_range_in_ns():
    doc = {"benchmarks": [row("x/a/nmc", t, "us", items_per_second=1e6 / t) for t in (3, 1, 2)]}
    rc, out, err = export(doc)
    assert rc == 0, err
    bmf = json.loads(out)
    valid_bmf(bmf)
    assert bmf["x/a/nmc"]["latency"] == {"value": 2000.0, "lower_value": 1000.0,
                                         "upper_value": 3000.0}, bmf
    assert bmf["x/a/nmc"]["throughput"]["value"] == 5e5, bmf


@test
def aggregates_only_give_the_median():
    aggs = [dict(row("x/b/nmc_" + a, v, "ms"), run_name="x/b/nmc", run_type="aggregate",
                 aggregate_name=a) for a, v in (("mean", 2.0), ("median", 1.5), ("stddev", 0.1))]
    rc, out, err = export({"benchmarks": aggs})
    assert rc == 0, err
    assert json.loads(out) == {"x/b/nmc": {"latency": {"value": 1.5e6}}}, out


@test
def failures_are_named_and_left_out():
    doc = {"context": {"nmc_failures": [{"binary": "heap_bench", "repetition": 2,
                                         "status": 139, "message": ""}]},
           "benchmarks": [row("x/a/nmc", 5.0),
                          row("x/bad/nmc", 0, error_occurred=True, error_message="no memory")]}
    rc, out, err = export(doc)
    assert rc == 0 and list(json.loads(out)) == ["x/a/nmc"], out
    assert "x/bad/nmc failed (no memory)" in err and "heap_bench failed" in err, err


@test
def report_fixture_exports_to_a_file():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "bmf.json")
        rc, stdout, err = export(FIXTURE, "--out", out)
        assert rc == 0 and stdout == "", err
        with open(out, encoding="utf-8") as f:
            bmf = json.load(f)
    valid_bmf(bmf)
    assert bmf["copier/string_1MiB/nmc"]["latency"] == {"value": 100000.0}, bmf


@test
def nothing_to_export_is_status_2():
    assert export({"benchmarks": []})[0] == 2
    assert export("/nonexistent/results.json")[0] == 2


if __name__ == "__main__":
    sys.exit(run())
