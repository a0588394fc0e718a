#!/usr/bin/python3
"""Turns a merged Google Benchmark JSON (bench/run.sh) into REPORT.md.

usage: make_report.py RESULTS.json [--targets TARGETS.json] [--out REPORT.md]

Benchmark names follow  AREA/WORKLOAD.../IMPL[/ARG...]  where IMPL is "nmc"
or "nmc_VARIANT" (e.g. lock/uncontended/nmc_recursive) for this project's
implementation and anything else for a peer (memcpy, pthread, posix_sem,
boost_ipc, ...). Each variant gets its own row, "WORKLOAD (VARIANT)". Components that Google
Benchmark appends (manual_time, real_time, iterations:N, repeats:N, ...) are
dropped first; trailing numeric components are arguments and stay part of
the workload, so "lock/contended/nmc/4/manual_time" is area "lock",
workload "contended/4", implementation "nmc".

A peer named PEER_VARIANT whose VARIANT is also one of ours in the same
workload (ocamlnet_normal beside nmc_normal, ocamlnet_simulate beside
nmc_simulate) is shown in the column PEER on the row of that variant; on
the other rows the column shows PEER itself, if measured.

Per benchmark one row of figures is used: the "median" aggregate when
repetitions produced aggregates, else the median over its iteration rows.
The figure compared is items_per_second if present, else bytes_per_second
(higher is better), else real_time (lower is better); the ratio column is
oriented so that a value > 1 means nmc is faster than that peer.

Targets (reports/targets.json) are a list of objects:
  {"benchmark": NAME, "metric": KEY, "op": "<=" | ">=" | "<" | ">",
   "bound": NUMBER}                       -- value op bound, or
  {..., "ratio": NUMBER, "of": OTHER_NAME} -- value op ratio * OTHER's value
plus an optional "note". KEY is any field or counter of the benchmark's JSON
row (bytes_per_second, items_per_second, ns_per_block, p99_ns, ...); the
times real_time and cpu_time are taken in nanoseconds. A target whose
benchmark was not run (filtered out, failed) is reported "not measured".

Notes (context["nmc_notes"], from merge_results.py --note, e.g. why the
OCamlnet peer was skipped) are listed under "## Notes" after the
fingerprint.

"## Latency" tables the p50_ns / p99_ns counters (the ping-pong
benchmarks: camlbox/pingpong, sem/pingpong_2proc, cond/pingpong_2proc), one
row per workload and implementation.

"## Scaling" tables the process-count sweeps (bench/run.sh --procs):
lock/contended/IMPL/P (P processes on one lock; lock/contended_2proc/IMPL
counts as P = 2 for an IMPL without its own sweep, e.g. ocamlnet), and
camlbox/throughput_str32/IMPL/S and camlbox/throughput_tuple/IMPL/S (S
senders, one receiver), with throughput and fairness per implementation
(fairness_stddev_pct: the spread of the per-process lock counts, or of the
senders' shares of the first half of the messages received, in % of their
mean).

With --out, the plots of reports/plots.py (matplotlib) are written next to
REPORT.md and embedded under "## Plots"; without matplotlib, or if a plot
fails, that section says why and the report is written all the same
(--no-plots leaves the section out).
Standard library only (matplotlib optional, in plots.py).
"""

import argparse
import json
import os
import statistics
import sys

GB_SUFFIXES = ("manual_time", "real_time", "process_time")
GB_PREFIXES = ("iterations:", "repeats:", "min_time:", "threads:", "min_warmup_time:")
TIME_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
OPS = {
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}


def split_name(name):
    """(area, workload, impl) of a benchmark name, as the docstring says."""
    parts = [p for p in name.split("/")
             if p not in GB_SUFFIXES and not p.startswith(GB_PREFIXES)]
    args = []
    while len(parts) > 1 and parts[-1].lstrip("-").isdigit():
        args.insert(0, parts.pop())
    if len(parts) < 3:  # no implementation component: a bare workload
        return parts[0], "/".join(parts[1:] + args), "-"
    return parts[0], "/".join(parts[1:-1] + args), parts[-1]


def numeric_fields(row):
    """Every numeric field of a row; times converted to nanoseconds."""
    scale = TIME_TO_NS.get(row.get("time_unit", "ns"), 1.0)
    out = {}
    for k, v in row.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = v * scale if k in ("real_time", "cpu_time") else v
    return out


def canonical(name):
    """A benchmark's name without the components Google Benchmark appends
    (manual_time, iterations:N, ...): the name targets and tables use."""
    return "/".join(p for p in name.split("/")
                    if p not in GB_SUFFIXES and not p.startswith(GB_PREFIXES))


def select_rows(benchmarks):
    """{canonical name: (fields, error message or None)}, one figure set each."""
    groups = {}
    for b in benchmarks:
        groups.setdefault(canonical(b.get("run_name", b.get("name"))), []).append(b)
    out = {}
    for name, rows in groups.items():
        errors = [r.get("error_message", "error") for r in rows if r.get("error_occurred")]
        if errors:
            out[name] = ({}, errors[0])
            continue
        medians = [r for r in rows if r.get("run_type") == "aggregate"
                   and r.get("aggregate_name") == "median"]
        if medians:
            out[name] = (numeric_fields(medians[0]), None)
            continue
        its = [numeric_fields(r) for r in rows if r.get("run_type", "iteration") == "iteration"]
        keys = set().union(*its) if its else set()
        out[name] = ({k: statistics.median([f[k] for f in its if k in f]) for k in keys}, None)
    return out


def figure(fields):
    """(metric, value, higher_is_better) compared between implementations."""
    for key in ("items_per_second", "bytes_per_second"):
        if key in fields:
            return key, fields[key], True
    return "real_time", fields.get("real_time"), False


def si(v, units):
    """v scaled by 1000 or 1024 steps with 3 significant digits."""
    base, names = units
    i = 0
    while abs(v) >= base and i < len(names) - 1:
        v /= base
        i += 1
    return f"{v:.3g} {names[i]}"


def fmt(metric, v):
    if v is None:
        return ""
    if metric == "bytes_per_second":
        return si(v, (1024.0, ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"]))
    if metric == "items_per_second":
        return si(v, (1000.0, ["/s", "k/s", "M/s", "G/s", "T/s"]))
    if metric in ("real_time", "cpu_time"):
        return si(v, (1000.0, ["ns", "us", "ms", "s"]))
    return f"{v:.4g}"


def ratio(nmc, peer, higher_is_better):
    """peer vs nmc, > 1 when nmc is faster; None when not computable."""
    if nmc is None or peer is None or nmc == 0 or peer == 0:
        return None
    return nmc / peer if higher_is_better else peer / nmc


def is_ours(impl):
    return impl == "nmc" or impl.startswith("nmc_")


def peer_column(impl, impls):
    """The column of peer impl in a workload whose implementations are
    impls: PEER for PEER_VARIANT when nmc_VARIANT is among them, else impl."""
    base, sep, variant = impl.partition("_")
    if sep and variant and f"nmc_{variant}" in impls:
        return base
    return impl


def peer_value(column, ours, impls):
    """The fields shown in column on the row of our implementation ours:
    COLUMN_VARIANT for our nmc_VARIANT when folded there, else COLUMN."""
    if ours is not None and ours.startswith("nmc_"):
        folded = f"{column}_{ours[4:]}"
        if folded in impls and peer_column(folded, impls) == column:
            return impls[folded]
    if column in impls and peer_column(column, impls) == column:
        return impls[column]
    return None


def by_area(rows):
    """{area: {workload: {impl: fields}}} of the rows without errors."""
    areas = {}
    for name, (fields, err) in rows.items():
        if err is not None:
            continue
        area, workload, impl = split_name(name)
        areas.setdefault(area, {}).setdefault(workload, {})[impl] = fields
    return areas


def area_rows(workloads):
    """(peers, rows) of one area's table: rows are (label, metric, nmc value,
    [(peer, peer value, ratio or None)...]), as area_tables prints them."""
    peers = sorted({peer_column(i, w) for w in workloads.values() for i in w
                    if not is_ours(i)})
    out = []
    for workload in sorted(workloads):
        impls = workloads[workload]
        for ours in sorted(i for i in impls if is_ours(i)) or [None]:
            base = impls[ours] if ours else next(iter(impls.values()))
            metric, _, higher = figure(base)
            nmc_v = base.get(metric) if ours else None
            label = workload if ours in (None, "nmc") else f"{workload} ({ours[4:]})"
            cells = []
            for p in peers:
                pf = peer_value(p, ours, impls)
                pv = pf.get(metric) if pf is not None else None
                cells.append((p, pv, ratio(nmc_v, pv, higher)))
            out.append((label, metric, nmc_v, cells))
    return peers, out


def area_ratios(rows):
    """{area: [(row label, peer, ratio)]}: every "nmc speed vs PEER" figure
    of the area tables (plots.py draws them)."""
    out = {}
    for area, workloads in sorted(by_area(rows).items()):
        _, table = area_rows(workloads)
        got = [(label, p, r) for label, _, _, cells in table for p, _, r in cells
               if r is not None]
        if got:
            out[area] = got
    return out


def area_tables(rows):
    """Markdown lines: one table per area, workloads by implementation."""
    areas = by_area(rows)
    lines = []
    for area in sorted(areas):
        peers, table = area_rows(areas[area])
        lines += [f"## {area}", ""]
        head = ["workload", "metric", "nmc"]
        for p in peers:
            head += [p, f"nmc speed vs {p}"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label, metric, nmc_v, cells in table:
            row = [label, metric, fmt(metric, nmc_v)]
            for _, pv, r in cells:
                row += [fmt(metric, pv), "" if r is None else f"{r:.2f}x"]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def latency_groups(rows):
    """{(area, workload): {impl: (p50, p99)}} of the rows with both counters."""
    groups = {}
    for name, (fields, err) in rows.items():
        if err is None and "p50_ns" in fields and "p99_ns" in fields:
            area, workload, impl = split_name(name)
            groups.setdefault((area, workload), {})[impl] = (fields["p50_ns"], fields["p99_ns"])
    return groups


def latency_lines(rows):
    """## Latency: p50 and p99 per round trip, by workload and impl."""
    groups = latency_groups(rows)
    if not groups:
        return []
    lines = ["## Latency", "", "Time per round trip: median (p50) and 99th percentile (p99).", "",
             "| workload | implementation | p50 | p99 |", "|---|---|---|---|"]
    for area, workload in sorted(groups):
        impls = groups[(area, workload)]
        for impl in impl_order(impls):
            p50, p99 = impls[impl]
            lines.append(f"| {area}/{workload} | {impl} | {fmt('real_time', p50)} | "
                         f"{fmt('real_time', p99)} |")
    return lines + [""]


# The process-count sweeps: (area, workload, what the count counts, what
# fairness_stddev_pct compares, a fixed-count workload that stands for one
# point of the sweep: (its workload, the count)).
SENDER_SHARES = "the senders' shares of the first half of the messages"
SWEEPS = (
    ("lock", "contended", "processes", "the per-process counts", ("contended_2proc", 2)),
    ("camlbox", "throughput_str32", "senders", SENDER_SHARES, None),
    ("camlbox", "throughput_tuple", "senders", SENDER_SHARES, None),
)


def sweep_series(rows):
    """[(area, workload, unit, fairness, {impl: {count: fields}})] of the
    sweeps that have at least one measured point; fairness as in SWEEPS."""
    out = []
    for area, workload, unit, fair, alias in SWEEPS:
        series = {}
        for name, (fields, err) in rows.items():
            if err is not None:
                continue
            parts = canonical(name).split("/")
            if len(parts) == 4 and parts[:2] == [area, workload] and parts[3].isdigit():
                series.setdefault(parts[2], {})[int(parts[3])] = fields
        if alias is not None:
            for name, (fields, err) in rows.items():
                parts = canonical(name).split("/")
                if err is None and len(parts) == 3 and parts[:2] == [area, alias[0]]:
                    series.setdefault(parts[2], {}).setdefault(alias[1], fields)
        if any(len(points) > 1 for points in series.values()):
            out.append((area, workload, unit, fair, series))
    return out


def impl_order(impls):
    """Ours first, then the peers, each sorted."""
    return sorted(impls, key=lambda i: (not is_ours(i), i))


def scaling_lines(rows):
    """## Scaling: per sweep, throughput and fairness by count and impl."""
    sweeps = sweep_series(rows)
    if not sweeps:
        return []
    lines = ["## Scaling", ""]
    for area, workload, unit, fair, series in sweeps:
        impls = impl_order(series)
        counts = sorted({c for points in series.values() for c in points})
        lines += [f"{area}/{workload}: items per second against the number of {unit}, "
                  f"and fairness (stddev of {fair}, % of their mean).", ""]
        head = [unit]
        for i in impls:
            head += [i, f"{i} fairness"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in counts:
            cells = [str(c)]
            for i in impls:
                f = series[i].get(c, {})
                cells.append(fmt("items_per_second", f.get("items_per_second")))
                v = f.get("fairness_stddev_pct")
                cells.append("" if v is None else f"{v:.1f} %")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def plot_lines(plots):
    """## Plots: markdown image links, or why there are none.
    plots: (list of (title, file name relative to REPORT.md), note or None)."""
    if plots is None:
        return []
    files, note = plots
    lines = ["## Plots", ""]
    if note:
        lines += [note, ""]
    for title, path in files:
        lines += [f"![{title}]({path})", ""]
    return lines


def evaluate(target, rows):
    """(measured text, status) of one target against the selected rows."""
    fields, err = rows.get(target["benchmark"], ({}, None))
    value = fields.get(target["metric"])
    if value is None:
        return (f"error: {err}" if err else "-"), "not measured"
    op = OPS[target["op"]]
    if "of" in target:
        ref = rows.get(target["of"], ({}, None))[0].get(target["metric"])
        if not ref:
            return fmt(target["metric"], value), "not measured"
        got = value / ref
        return (f"{fmt(target['metric'], value)} = {got:.2f} x {target['of']}",
                "met" if op(got, target["ratio"]) else "NOT met")
    return fmt(target["metric"], value), "met" if op(value, target["bound"]) else "NOT met"


def describe(target):
    if "of" in target:
        return f"{target['metric']} {target['op']} {target['ratio']} x {target['of']}"
    return f"{target['metric']} {target['op']} {target['bound']}"


def target_lines(targets, rows):
    lines = ["## Targets", "", "| benchmark | target | measured | status |",
             "|---|---|---|---|"]
    for t in targets:
        measured, status = evaluate(t, rows)
        status = f"**{status}**" if status == "NOT met" else status
        lines.append(f"| {t['benchmark']} | {describe(t)} | {measured} | {status} |")
    return lines + [""]


def fingerprint_lines(context):
    fp = context.get("nmc_fingerprint", {})
    lines = ["# Benchmark report", ""]
    lines += [f"- {k}: {v}" for k, v in fp.items()]
    for k in ("date", "host_name"):
        if k in context:
            lines.append(f"- {k}: {context[k]}")
    if "library_build_type" in context:
        # Google Benchmark's own library (Debian's package), not ours: the
        # code measured is built with -c opt (bench/run.sh).
        lines.append(f"- google_benchmark_library_build: {context['library_build_type']}")
    return lines + [""]


def note_lines(context):
    """The notes merge_results.py recorded (e.g. a skipped peer), if any."""
    notes = context.get("nmc_notes") or []
    if isinstance(notes, str):
        notes = [notes]
    if not notes:
        return []
    return ["## Notes", ""] + [f"- {n}" for n in notes] + [""]


def error_lines(rows):
    failed = sorted((n, e) for n, (_, e) in rows.items() if e is not None)
    if not failed:
        return []
    return ["## Failed benchmarks", ""] + [f"- {n}: {e}" for n, e in failed] + [""]


def make_report(results, targets, plots=None):
    """The whole REPORT.md text; plots as plot_lines takes them (None: no
    Plots section)."""
    rows = select_rows(results.get("benchmarks", []))
    lines = fingerprint_lines(results.get("context", {}))
    lines += note_lines(results.get("context", {}))
    if targets:
        lines += target_lines(targets, rows)
    lines += area_tables(rows)
    lines += latency_lines(rows)
    lines += scaling_lines(rows)
    lines += plot_lines(plots)
    lines += error_lines(rows)
    return "\n".join(lines)


def make_plots(results, out_dir):
    """reports/plots.py's PNGs in out_dir: (files, note). Never raises: a
    missing matplotlib or a failing plot becomes the note."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import plots  # noqa: E402 - next to this file
        return plots.make_plots(results, out_dir)
    except Exception as e:  # noqa: BLE001 - the report is written regardless
        return [], f"No plots: {type(e).__name__}: {e}"


def load_targets(path):
    if path is None:
        return []
    with open(path, encoding="utf-8") as f:
        targets = json.load(f)["targets"]
    for t in targets:
        if t.get("op") not in OPS or ("bound" in t) == ("of" in t) or \
                ("of" in t and "ratio" not in t):
            raise ValueError(f"bad target: {t}")
    return targets


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("--targets")
    p.add_argument("--out")
    p.add_argument("--no-plots", action="store_true",
                   help="no plots (they are made only with --out)")
    args = p.parse_args(argv)
    with open(args.results, encoding="utf-8") as f:
        results = json.load(f)
    plots = None
    if args.out and not args.no_plots:
        plots = make_plots(results, os.path.dirname(os.path.abspath(args.out)))
    text = make_report(results, load_targets(args.targets), plots)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
