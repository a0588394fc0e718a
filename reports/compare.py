#!/usr/bin/python3
"""The regression gate: compares two Google Benchmark JSON files.

usage: compare.py BASE.json NEW.json [--threshold PCT] [--alpha P]
                  [--filter REGEX] [--out DIR] [--base-spec S] [--new-spec S]
                  [--reps N --min-time S]
       compare.py --cannot-compare REASON [--log FILE] --out DIR
                  [--base-spec S] [--new-spec S]

Both files should hold several repetitions of each benchmark (rows of run
type "iteration"; at least 9 for a meaningful test), e.g. the base.json and
new.json that bench/compare.sh writes. The statistics are those of Google
Benchmark's own compare.py (Debian's libbenchmark-tools,
/usr/share/benchmark/gbench): the relative change of the real time per
repetition pair and a Mann-Whitney U test over the repetitions. Each
benchmark the filter selects gets one verdict (time is per iteration, so a
lower throughput is a higher time):
  regression   p < alpha and the median change is above +threshold
  improvement  p < alpha and the median change is below -threshold
  same         otherwise (noise, or a change within the threshold)
  added        measured in NEW only (a new benchmark, or a new name)
  removed      measured in BASE only
  failed       an error row (SkipWithError) on either side, or its binary
               failed in a run of either side (context["nmc_failures"],
               from merge_results.py --runs)
Added and removed benchmarks are listed, never an error; the geometric mean
of the changes covers the compared ones only (measured on both sides and
not failed).

The table goes to stdout, its last line the outcome. With --out, DIR gets
compare.md (the benchmarks that changed significantly, then the whole table
collapsed, both commits and the machine; fit for a pull request) and
compare.json (the same for programs; its schema is documented in README.md,
"compare.json"). --base-spec / --new-spec say what the user named the sides
(a revision, "."), --reps / --min-time how bench/compare.sh ran them.
--cannot-compare writes both files for a comparison that never got to the
figures (a build failed), with the excerpt of --log that holds the error.

Exit status: 0 no regression, 1 a regression, 2 could not compare (a failed
benchmark, no benchmark in common, unreadable input, --cannot-compare).
"""

import argparse
import json
import math
import os
import re
import signal
import statistics
import sys

sys.path.insert(0, "/usr/share/benchmark")
try:
    from gbench import report  # noqa: E402
except ImportError as e:  # scipy missing, or libbenchmark-tools
    report = None
    IMPORT_ERROR = str(e)

SCHEMA = "netmcore-c compare"
SCHEMA_VERSION = 1
SIDES = ("base", "new")
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# How much of a build log --cannot-compare keeps, from its first error on.
LOG_EXCERPT_LINES = 60
EXIT = {"no regression": 0, "regression": 1, "could not compare": 2}


class Side:
    """What one side measured, from its Google Benchmark JSON document."""

    def __init__(self, doc, pattern):
        context = doc.get("context", {})
        self.fingerprint = context.get("nmc_fingerprint") or {}
        self.failures = context.get("nmc_failures") or []
        self.runs = {}     # name -> its iteration rows, times in ns, in order
        self.errors = {}   # name -> error message of an error row
        self.binary = {}   # name -> binary (merge_results.py --runs)
        for row in doc.get("benchmarks", []):
            name = row.get("name", "")
            if row.get("run_type", "iteration") != "iteration" or not pattern.search(name):
                continue
            if row.get("nmc_binary"):
                self.binary[name] = row["nmc_binary"]
            if row.get("error_occurred"):
                self.errors[name] = row.get("error_message") or "error"
            elif row.get("time_unit") in NS_PER_UNIT and "real_time" in row and "cpu_time" in row:
                ns = NS_PER_UNIT[row["time_unit"]]
                self.runs.setdefault(name, []).append(
                    dict(row, real_time=row["real_time"] * ns, cpu_time=row["cpu_time"] * ns,
                         time_unit="ns"))

    def names(self):
        return {*self.runs, *self.errors}

    def failed_binaries(self):
        return {f.get("binary") for f in self.failures}


def verdict(change, pvalue, threshold, alpha):
    if pvalue is None or pvalue >= alpha:
        return "same"
    if change > threshold:
        return "regression"
    if change < -threshold:
        return "improvement"
    return "same"


def summary(rows):
    """A side's figures of one benchmark for compare.json."""
    real = [r["real_time"] for r in rows]
    return {"repetitions": len(rows), "median_ns": statistics.median(real),
            "min_ns": min(real), "max_ns": max(real), "real_time_ns": real,
            "cpu_time_ns": [r["cpu_time"] for r in rows]}


def signal_name(status):
    """The signal behind a shell's exit status (139: "SIGSEGV"), or None."""
    try:
        return signal.Signals(status - 128).name if status > 128 else None
    except ValueError:
        return None


def status_text(status):
    name = signal_name(status)
    return f"status {status} ({name})" if name else f"status {status}"


def failure_line(side, f):
    what = "no readable output" if f.get("status") == 0 else f"exited with {status_text(f['status'])}"
    return f"{f.get('binary')} on {side.upper()}, repetition {f.get('repetition')}: {what}"


def failed_entry(name, sides, failed_bins):
    """The entry of a failed benchmark, or None if it did not fail."""
    binaries = {s.binary.get(name) for s in sides.values()} - {None}
    failed_on, messages = [], []
    for side, s in sides.items():
        bins = binaries & failed_bins[side]
        if name in s.errors:
            messages.append(f"{side.upper()}: {s.errors[name]}")
        elif bins:
            messages.append(f"{side.upper()}: {', '.join(sorted(bins))} failed")
        else:
            continue
        failed_on.append(side)
    if not failed_on:
        return None
    return {"status": "failed", "failed_on": failed_on, "message": "; ".join(messages)}


def compare(sides, threshold, alpha):
    """The entries of all benchmarks, sorted by name."""
    failed_bins = {side: s.failed_binaries() for side, s in sides.items()}
    entries, matched = [], []
    for name in sorted({*sides["base"].names(), *sides["new"].names()}):
        e = {"name": name, "binary": sides["new"].binary.get(name) or sides["base"].binary.get(name),
             "status": None, "change_pct": None, "p_value": None, "failed_on": [], "message": None}
        e.update({side: summary(s.runs[name]) if name in s.runs else None
                  for side, s in sides.items()})
        e.update(failed_entry(name, sides, failed_bins) or {})
        if e["status"] is None:
            if e["base"] and e["new"]:
                matched.append(name)
            else:
                e["status"] = "added" if e["new"] else "removed"
        entries.append(e)
    stats = {}
    if matched:
        docs = [{"benchmarks": [r for n in matched for r in s.runs[n]]} for s in sides.values()]
        for d in report.get_difference_report(*docs, utest=True):
            if d["name"] != "OVERALL_GEOMEAN":
                pvalue = d["utest"].get("time_pvalue") if d["utest"] else None
                stats[d["name"]] = (statistics.median(m["time"] for m in d["measurements"]), pvalue)
    for e in entries:
        if e["name"] in stats:
            change, pvalue = stats[e["name"]]
            e.update(status=verdict(change, pvalue, threshold, alpha), change_pct=change * 100,
                     p_value=pvalue)
    return entries


def geomean_pct(entries):
    """Geometric mean of the compared benchmarks' changes in %, or None."""
    ratios = [1 + e["change_pct"] / 100 for e in entries if e["change_pct"] is not None]
    ratios = [r for r in ratios if r > 0]
    if not ratios:
        return None
    return (math.exp(sum(map(math.log, ratios)) / len(ratios)) - 1) * 100


def outcome(entries, failures):
    """(status, reasons): the gate's decision."""
    reasons = []
    failed = [e["name"] for e in entries if e["status"] == "failed"]
    if failed:
        reasons.append(f"{len(failed)} benchmark(s) failed: {', '.join(failed)}")
    named = {e["binary"] for e in entries if e["status"] == "failed"}
    unnamed = sorted({f"{f.get('binary')} on {side.upper()}" for side, f in failures
                      if f.get("binary") not in named})
    if unnamed:
        reasons.append(f"binaries failed before any result: {', '.join(unnamed)}")
    if not any(e["change_pct"] is not None for e in entries):
        reasons.append("no benchmark in common")
    if reasons:
        return "could not compare", reasons
    if any(e["status"] == "regression" for e in entries):
        return "regression", []
    return "no regression", []


def side_record(side, spec, path):
    fp = side.fingerprint
    return {"spec": spec, "results": path, "commit": fp.get("git_commit"),
            "dirty_files": fp.get("git_dirty_files"), "fingerprint": fp}


def make_result(args, sides, entries):
    failures = [(side, f) for side, s in sides.items() for f in s.failures]
    status, reasons = outcome(entries, failures)
    counts = {k: sum(e["status"] == k for e in entries)
              for k in ("regression", "improvement", "same", "added", "removed", "failed")}
    counts["compared"] = sum(e["change_pct"] is not None for e in entries)
    return {
        "schema": SCHEMA, "version": SCHEMA_VERSION,
        "status": status, "exit_status": EXIT[status], "reasons": reasons,
        "settings": {"threshold_pct": args.threshold, "alpha": args.alpha,
                     "metric": "real_time", "filter": args.filter},
        "run": ({"interleaved": True, "repetitions": args.reps, "min_time_s": args.min_time}
                if args.reps else None),
        "base": side_record(sides["base"], args.base_spec or args.base, args.base),
        "new": side_record(sides["new"], args.new_spec or args.new, args.new),
        "counts": counts, "geomean_change_pct": geomean_pct(entries),
        "benchmarks": entries,
        "failures": [dict(f, side=side, signal=signal_name(f.get("status", 0)))
                     for side, f in failures],
        "log_excerpt": None,
    }


# ---- rendering ----------------------------------------------------------

def fmt_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.4g} {unit}"
    return f"{ns:.4g} ns"


def cells(e):
    """benchmark, base, new, delta, p-value, verdict of one entry."""
    side = [fmt_ns(e[s]["median_ns"]) if e[s] else "-" for s in SIDES]
    delta = "-" if e["change_pct"] is None else f"{e['change_pct']:+.2f} %"
    p = "-" if e["p_value"] is None else "<0.0001" if e["p_value"] < 1e-4 else f"{e['p_value']:.4f}"
    v = e["status"].upper() if e["status"] == "regression" else e["status"]
    if e["status"] == "failed":
        v += f" ({e['message']})"
    return [e["name"], *side, delta, p, v]


HEADER = ["benchmark", "base", "new", "delta", "p-value", "verdict"]


def text_table(entries):
    rows = [HEADER] + [cells(e) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return [f"{r[0]:<{widths[0]}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(r[1:5], widths[1:]))
            + f"  {r[5]}" for r in rows]


def md_table(entries):
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|---:|---|"]
    for e in entries:
        c = cells(e)
        c[0] = f"`{c[0]}`"
        if e["status"] == "regression":
            c[5] = f"**{c[5]}**"
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in c) + " |")
    return lines


def side_label(rec):
    commit = rec["commit"]
    label = "the working tree" if rec["spec"] == "." else f"`{rec['spec']}`"
    extra = []
    if commit and commit != "unknown":
        extra.append(f"`{commit[:12]}`")
    if rec["dirty_files"]:
        extra.append(f"{rec['dirty_files']} uncommitted files")
    return label + (f" ({', '.join(extra)})" if extra else "")


def machine_line(fp):
    keys = ("cpu_model", "cores", "memory_gib", "kernel", "compiler")
    parts = [f"{fp[k]}{' cores' if k == 'cores' else ' GiB' if k == 'memory_gib' else ''}"
             for k in keys if fp.get(k) not in (None, "unknown")]
    return ", ".join(parts) or "unknown"


def headline(result):
    if result["status"] == "could not compare":
        return "could not compare"
    n = result["counts"]["regression"]
    return f"{n} regression{'s' if n > 1 else ''}" if n else "no significant regression"


def compare_md(result):
    s, run = result["settings"], result["run"]
    how = (f"{run['repetitions']} interleaved repetitions, min time {run['min_time_s']} s, "
           if run else "")
    how += f"filter `{s['filter']}`"
    lines = [f"## Benchmarks: {headline(result)}", "",
             f"**BASE** {side_label(result['base'])} · **NEW** {side_label(result['new'])}. "
             f"{how[0].upper()}{how[1:]}; a change counts beyond ±{s['threshold_pct']:g} % "
             f"with U-test p < {s['alpha']:g} ({s['metric']}).", ""]
    lines += [f"- {r}" for r in result["reasons"]] + ([""] if result["reasons"] else [])
    entries = result["benchmarks"]
    significant = [e for e in entries if e["status"] in ("regression", "improvement")]
    gm = result["geomean_change_pct"]
    gm_text = "" if gm is None else f", geometric mean {gm:+.2f} %"
    compared = f"{result['counts']['compared']} compared{gm_text}"
    if significant:
        lines += md_table(significant) + ["", f"({compared}.)", ""]
    elif result["counts"]["compared"]:
        lines += [f"No benchmark changed significantly ({compared}).", ""]
    for status, label in (("added", "Added (NEW only)"), ("removed", "Removed (BASE only)")):
        names = [f"`{e['name']}`" for e in entries if e["status"] == status]
        if names:
            lines += [f"{label}: {', '.join(names)}.", ""]
    if result["failures"]:
        lines += ["### Failed runs", ""]
        for f in result["failures"]:
            lines += [f"- {failure_line(f['side'], f)}", "", "~~~~", f.get("message", ""), "~~~~", ""]
    if result["log_excerpt"]:
        lines += ["~~~~", result["log_excerpt"], "~~~~", ""]
    if entries:
        lines += [f"<details><summary>All {len(entries)} benchmarks</summary>", ""]
        lines += md_table(entries) + ["", "</details>", ""]
    machines = [machine_line(result[side]["fingerprint"]) for side in SIDES]
    if machines != ["unknown", "unknown"]:
        same = machines[0] in (machines[1], "unknown")
        lines.append(f"Machine: {machines[1]}" + ("." if same else f" (NEW); BASE: {machines[0]}."))
    return "\n".join(lines).rstrip("\n") + "\n"


def outcome_line(result):
    entries = result["benchmarks"]
    if result["status"] == "could not compare":
        return "compare: could not compare: " + "; ".join(result["reasons"])
    if result["status"] == "regression":
        names = [e["name"] for e in entries if e["status"] == "regression"]
        return f"compare: {len(names)} regression(s): {', '.join(names)}"
    return f"compare: no significant regression ({result['counts']['compared']} compared)"


def print_text(result):
    entries = result["benchmarks"]
    if entries:
        print("\n".join(text_table(entries)))
    gm = result["geomean_change_pct"]
    if gm is not None:
        print(f"geometric mean of the {result['counts']['compared']} compared: {gm:+.2f} %")
    for status in ("added", "removed"):
        names = [e["name"] for e in entries if e["status"] == status]
        if names:
            print(f"{status}: {', '.join(names)}")
    for f in result["failures"]:
        print(f"failed: {failure_line(f['side'], f)}")
        print("".join(f"    {line}\n" for line in f.get("message", "").splitlines()), end="")


def write_outputs(out, result):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(compare_md(result))
    with open(os.path.join(out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"compare: wrote {os.path.join(out, 'compare.md')} and compare.json")


def log_excerpt(path):
    """The lines of a build log from its first error on (else its end)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        return f"(no log: {e})"
    first = next((i for i, line in enumerate(lines) if "ERROR:" in line or "error:" in line),
                 max(0, len(lines) - LOG_EXCERPT_LINES))
    return "\n".join(lines[first:first + LOG_EXCERPT_LINES])


def cannot_compare(args):
    nothing = Side({}, re.compile(""))
    result = make_result(args, {"base": nothing, "new": nothing}, [])
    result.update(status="could not compare", exit_status=2, reasons=[args.cannot_compare],
                  log_excerpt=log_excerpt(args.log) if args.log else None)
    if args.out:
        write_outputs(args.out, result)
    print(outcome_line(result))
    return 2


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", nargs="?")
    ap.add_argument("new", nargs="?")
    ap.add_argument("--threshold", type=float, default=5.0, help="percent (default 5)")
    ap.add_argument("--alpha", type=float, default=0.05, help="U-test level (default 0.05)")
    ap.add_argument("--filter", default=".", help="only benchmarks matching REGEX")
    ap.add_argument("--out", help="directory for compare.md and compare.json")
    ap.add_argument("--base-spec", help="what BASE is called (default: its file)")
    ap.add_argument("--new-spec", help="what NEW is called (default: its file)")
    ap.add_argument("--reps", type=int, help="repetitions bench/compare.sh ran")
    ap.add_argument("--min-time", type=float, help="their --benchmark_min_time")
    ap.add_argument("--cannot-compare", metavar="REASON", help="write the outputs of a failure")
    ap.add_argument("--log", help="with --cannot-compare: the log holding the error")
    args = ap.parse_args(argv)
    if args.cannot_compare:
        return cannot_compare(args)
    if not (args.base and args.new):
        ap.error("need BASE and NEW")
    if report is None:
        print(f"compare: Google Benchmark's compare library is unusable: {IMPORT_ERROR}",
              file=sys.stderr)
        return 2
    try:
        pattern = re.compile(args.filter)
        sides = {}
        for side in SIDES:
            with open(getattr(args, side), encoding="utf-8") as f:
                sides[side] = Side(json.load(f), pattern)
    except (OSError, ValueError, re.error) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    result = make_result(args, sides, compare(sides, args.threshold / 100, args.alpha))
    print_text(result)
    if args.out:
        write_outputs(args.out, result)
    print(outcome_line(result))
    return result["exit_status"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
