#!/usr/bin/python3
"""Deterministic benchmark mode: instruction counts under callgrind.

usage: icount.py check  BASELINE.json BENCH_BINARY...
       icount.py update BASELINE.json BENCH_BINARY...

The baseline names the single-process benchmarks to count, the iteration
count (per benchmark where iterations_for says) and the threshold:
  {"iterations": N, "iterations_for": {"NAME": N2, ...}, "threshold_pct": 1.0,
   "benchmarks": {"NAME": instructions per iteration, ...}}
A cheap benchmark whose setup varies by a few hundred instructions (the
vDSO clock behind a collection's timing retries a varying number of times)
needs more iterations for that to vanish below the threshold.
Each benchmark runs alone (--benchmark_filter=^NAME$) twice, with exactly
N and 2N iterations (NMC_BENCH_FIXED_ITERATIONS), address randomisation off
(setarch -R: the copier's visited table hashes addresses), under valgrind
--tool=callgrind with the cache simulation off, collecting only inside the
benchmark body (--collect-atstart=no --toggle-collect=bm_*: every body in
bench/ is a bm_ function). Instructions per iteration = (Ir(2N) - Ir(N)) / N:
the setup in the body cancels out. The counts are of the default (fastbuild)
build that the tests use, where the gate runs as //reports:icount_gate.

check:  prints NAME, baseline, measured, change; a count above the baseline
        by more than threshold_pct fails (exit 1); a drop is reported as an
        improvement to record with `./harness baseline`. Ends with Check's
        summary line "icount: Checks: N, Failures: F, Errors: 0".
update: measures and rewrites the baseline's counts, printing the diff.
"""

import json
import os
import re
import subprocess
import sys
import tempfile


def find_binary(name, binaries):
    for exe in binaries:
        r = subprocess.run([exe, "--benchmark_list_tests",
                            f"--benchmark_filter=^{re.escape(name)}$"],
                           capture_output=True, text=True, check=False)
        if name in r.stdout.split():
            return exe
    return None


def collected(name, exe, iterations):
    """Instructions callgrind collected in name's body over `iterations`."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        env = dict(os.environ, NMC_BENCH_FIXED_ITERATIONS=str(iterations))
        # A fixed iteration count appends "/iterations:N" to the name.
        cmd = ["setarch", "-R", "valgrind", "--tool=callgrind", "--cache-sim=no",
               f"--callgrind-out-file={out}", "--collect-atstart=no",
               "--toggle-collect=bm_*", exe,
               f"--benchmark_filter=^{re.escape(name)}(/iterations:[0-9]+)?$"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if r.returncode != 0 or not os.path.exists(out):
            sys.stderr.write(f"icount: {name}: callgrind failed\n{r.stderr[-2000:]}\n")
            return None
        with open(out, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    ir = int(line.split()[1])
                    return ir if ir > 0 else None
    return None


def measure(name, exe, iterations):
    """Instructions per iteration of benchmark name, or None on failure:
    the difference between runs of 2N and N iterations, over N, so that the
    body's setup (creating a pool, building a value) cancels out."""
    once = collected(name, exe, iterations)
    twice = collected(name, exe, 2 * iterations)
    if once is None or twice is None:
        return None
    return (twice - once) / iterations


def measure_all(baseline, binaries):
    counts = {}
    for name in sorted(baseline["benchmarks"]):
        exe = find_binary(name, binaries)
        n = baseline.get("iterations_for", {}).get(name, baseline["iterations"])
        counts[name] = measure(name, exe, n) if exe else None
        if exe is None:
            sys.stderr.write(f"icount: {name}: no binary has it\n")
    return counts


def check(baseline, counts):
    threshold = baseline.get("threshold_pct", 1.0)
    failures = 0
    for name, measured in sorted(counts.items()):
        base = baseline["benchmarks"][name]
        if measured is None:
            failures += 1
            print(f"FAIL {name}: not measured")
            continue
        change = (measured - base) / base * 100 if base else float("inf")
        verdict = "ok"
        if change > threshold:
            verdict, failures = "FAIL (more instructions)", failures + 1
        elif change < -threshold:
            verdict = "improvement: refresh with ./harness baseline"
        print(f"{name}: baseline {base:.0f}, now {measured:.0f} ({change:+.2f}%) {verdict}")
    print(f"icount: Checks: {len(counts)}, Failures: {failures}, Errors: 0")
    return 1 if failures else 0


def update(path, baseline, counts):
    for name, measured in sorted(counts.items()):
        old = baseline["benchmarks"][name]
        if measured is None:
            print(f"{name}: not measured, kept {old}")
            continue
        print(f"{name}: {old:.0f} -> {measured:.0f}")
        baseline["benchmarks"][name] = round(measured, 1)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(baseline, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0 if all(v is not None for v in counts.values()) else 1


def main(argv):
    if len(argv) < 3 or argv[0] not in ("check", "update"):
        sys.stderr.write(__doc__)
        return 2
    mode, path, binaries = argv[0], argv[1], argv[2:]
    with open(path, encoding="utf-8") as f:
        baseline = json.load(f)
    counts = measure_all(baseline, binaries)
    return check(baseline, counts) if mode == "check" else update(path, baseline, counts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
