#!/usr/bin/python3
"""The regression gate: compares two Google Benchmark JSON files.

usage: compare.py BASE.json NEW.json [--threshold PCT] [--alpha P]

Both files should hold several repetitions of each benchmark (rows of run
type "iteration"; at least 9 for a meaningful test). The statistics are
those of Google Benchmark's own compare.py (Debian's libbenchmark-tools,
/usr/share/benchmark/gbench): the relative change of the real time per
repetition pair and a Mann-Whitney U test over the repetitions. Verdict per
benchmark, in its own direction (time is per iteration, so a lower
throughput is a higher time):
  REGRESSION   p < alpha and the median change is above +threshold
  improvement  p < alpha and the median change is below -threshold
  same         otherwise (noise, or a change within the threshold)
Prints one line per benchmark and the geometric mean of the changes;
exits 1 if any benchmark regressed, 0 otherwise (2 for bad input).
"""

import argparse
import json
import statistics
import sys

sys.path.insert(0, "/usr/share/benchmark")
try:
    from gbench import report  # noqa: E402
except ImportError as e:  # scipy missing, or libbenchmark-tools
    report = None
    IMPORT_ERROR = str(e)


def verdict(change, pvalue, threshold, alpha):
    if pvalue is None or pvalue >= alpha:
        return "same"
    if change > threshold:
        return "REGRESSION"
    if change < -threshold:
        return "improvement"
    return "same"


def compare(base, new, threshold, alpha):
    """[(name, median change, p-value or None, verdict)] and the geomean change."""
    rows, geomean = [], None
    for entry in report.get_difference_report(base, new, utest=True):
        changes = [m["time"] for m in entry["measurements"]]
        if entry["name"] == "OVERALL_GEOMEAN":
            geomean = changes[0]
            continue
        if entry.get("run_type") == "aggregate":
            continue
        change = statistics.median(changes)
        pvalue = entry["utest"].get("time_pvalue") if entry["utest"] else None
        rows.append((entry["name"], change, pvalue, verdict(change, pvalue, threshold, alpha)))
    return rows, geomean


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("new")
    ap.add_argument("--threshold", type=float, default=5.0, help="percent (default 5)")
    ap.add_argument("--alpha", type=float, default=0.05, help="U-test level (default 0.05)")
    args = ap.parse_args(argv)
    if report is None:
        print(f"compare: Google Benchmark's compare library is unusable: {IMPORT_ERROR}",
              file=sys.stderr)
        return 2
    try:
        with open(args.base, encoding="utf-8") as f:
            base = json.load(f)
        with open(args.new, encoding="utf-8") as f:
            new = json.load(f)
    except (OSError, ValueError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    rows, geomean = compare(base, new, args.threshold / 100, args.alpha)
    if not rows:
        print("compare: no benchmark in common", file=sys.stderr)
        return 2
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'change':>8}  {'p-value':>8}  verdict")
    for name, change, pvalue, v in rows:
        p = "n/a" if pvalue is None else f"{pvalue:.4f}"
        print(f"{name:<{width}}  {change * 100:+7.2f}%  {p:>8}  {v}")
    if geomean is not None:
        print(f"{'geometric mean':<{width}}  {geomean * 100:+7.2f}%")
    regressions = [r[0] for r in rows if r[3] == "REGRESSION"]
    if regressions:
        print(f"compare: {len(regressions)} regression(s): {', '.join(regressions)}")
        return 1
    print("compare: no significant regression")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
