#!/usr/bin/python3
"""Exports a results file in a format CI services read.

usage: export.py --bmf RESULTS.json [--out FILE]

RESULTS.json is Google Benchmark JSON: results.json of `./harness bench`,
base.json / new.json of `./harness compare`. Google Benchmark JSON itself
is what github-action-benchmark reads (tool "googlecpp"); --bmf writes
Bencher Metric Format JSON (bencher.dev; `bencher run --adapter json
--file FILE`), one object per benchmark with the measures
  latency     real time per iteration in ns
  throughput  items_per_second (operations / s), where the benchmark counts items
each {"value": the median over the repetitions, "lower_value": their
minimum, "upper_value": their maximum} (one repetition: the value alone);
a benchmark with aggregates only
(`./harness bench` without --quick) gives its "median" aggregate as the
value, without bounds. Failed benchmarks (error rows) and failed runs
(context["nmc_failures"]) are named on stderr, not exported. To stdout
unless --out. Exit status 2 if RESULTS.json is unreadable or holds nothing
to export. Standard library only.
"""

import argparse
import json
import statistics
import sys

NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def latency_ns(row):
    return row["real_time"] * NS_PER_UNIT[row.get("time_unit", "ns")]


def measure(values):
    """A BMF metric: the median, with the range as bounds if there are several."""
    if len(values) == 1:
        return {"value": values[0]}
    return {"value": statistics.median(values), "lower_value": min(values),
            "upper_value": max(values)}


def measures(rows):
    """The BMF measures of one benchmark's rows (its repetitions, or its median)."""
    m = {"latency": measure([latency_ns(r) for r in rows])}
    items = [r["items_per_second"] for r in rows if "items_per_second" in r]
    if items:
        m["throughput"] = measure(items)
    return m


def bmf(doc):
    """(the BMF object of a Google Benchmark document, warnings)."""
    runs, medians, errors = {}, {}, {}
    for row in doc.get("benchmarks", []):
        name = row.get("run_name") or row.get("name")
        if row.get("error_occurred"):
            errors[name] = row.get("error_message") or "error"
        elif "real_time" not in row or row.get("time_unit", "ns") not in NS_PER_UNIT:
            continue
        elif row.get("run_type") == "aggregate":
            if row.get("aggregate_name") == "median":
                medians[name] = [row]
        else:
            runs.setdefault(name, []).append(row)
    warnings = [f"{name} failed ({msg}), not exported" for name, msg in sorted(errors.items())]
    warnings += [f"{f.get('binary')} failed in repetition {f.get('repetition')} "
                 f"(status {f.get('status')}); its benchmarks are missing or incomplete"
                 for f in doc.get("context", {}).get("nmc_failures") or []]
    out = {name: measures(runs.get(name) or medians[name])
           for name in sorted({*runs, *medians} - set(errors))}
    return out, warnings


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bmf", metavar="RESULTS.json", required=True,
                    help="write Bencher Metric Format JSON of RESULTS.json")
    ap.add_argument("--out", help="output file (default stdout)")
    args = ap.parse_args(argv)
    try:
        with open(args.bmf, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"export: {e}", file=sys.stderr)
        return 2
    out, warnings = bmf(doc)
    for w in warnings:
        print(f"export: {w}", file=sys.stderr)
    if not out:
        print(f"export: no benchmark figures in {args.bmf}", file=sys.stderr)
        return 2
    text = json.dumps(out, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
