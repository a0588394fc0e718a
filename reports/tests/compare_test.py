#!/usr/bin/python3
"""Tests of reports/compare.py, the regression gate, on generated runs:
a slowdown exits 1 and names the benchmark, an improvement and noise
within the threshold exit 0. Prints Check's summary line.
usage: compare_test.py REPORTS_DIR
"""

import json
import os
import random
import subprocess
import sys
import tempfile

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
GATE = os.path.join(REPORTS, "compare.py")



def run_json(times):
    """A Google Benchmark JSON with one iteration row per (name, time list)."""
    rows = []
    for name, values in times.items():
        for i, t in enumerate(values):
            rows.append({"name": name, "run_name": name, "run_type": "iteration",
                         "repetitions": len(values), "repetition_index": i,
                         "iterations": 1000, "real_time": t, "cpu_time": t,
                         "time_unit": "ns"})
    return {"context": {}, "benchmarks": rows}


def noisy(mean, n=12, spread=0.01, seed=1):
    rng = random.Random(seed)
    return [mean * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def gate(base, new, *extra):
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, doc in enumerate((base, new)):
            p = os.path.join(d, f"{i}.json")
            with open(p, "w", encoding="utf-8") as f:
                json.dump(doc, f)
            paths.append(p)
        r = subprocess.run([sys.executable, GATE, *paths, *extra], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr


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



if __name__ == "__main__":
    sys.exit(run())
