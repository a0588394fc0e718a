#!/usr/bin/python3
"""Plots of a merged Google Benchmark JSON (bench/run.sh) for REPORT.md.

usage: plots.py RESULTS.json [--out-dir DIR]     (default: RESULTS.json's dir)

Uses Debian's python3-matplotlib (Agg backend, PNG files); make_report.py
calls make_plots() and embeds the files it returns. The figures come from
the same rows as REPORT.md's tables (make_report.select_rows: the median
aggregate, or the median of the iterations):

  scaling_lock_contended.png        items/s against the number of processes,
                                    one line per implementation, and below
                                    it fairness_stddev_pct (lock/contended/
                                    IMPL/P; contended_2proc counts as P = 2)
  scaling_camlbox_throughput_str32.png, scaling_camlbox_throughput_tuple.png
                                    messages/s against the number of
                                    senders, one line per implementation,
                                    and below it fairness_stddev_pct
  latency.png                       p50 / p99 bars (p50_ns, p99_ns counters:
                                    the ping-pong benchmarks of camlbox, sem
                                    and cond), one panel per workload, one
                                    pair per implementation
  ratios_AREA.png                   per area, one bar per "nmc speed vs
                                    PEER" cell of its table (log scale,
                                    1 = as fast; > 1: nmc is faster)

A plot without data is not drawn. make_plots never raises for a missing
matplotlib: it returns no files and a note saying so; a plot that fails is
named in the note and the others are still drawn.
"""

import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_report  # noqa: E402

MISSING = ("No plots: matplotlib is not installed (Debian package python3-matplotlib; "
           "`./harness setup` installs it).")


def load_pyplot():
    """matplotlib.pyplot with the file-only Agg backend, or None."""
    try:
        if "MPLCONFIGDIR" not in os.environ:
            cfg = os.path.join(os.path.expanduser("~"), ".config", "matplotlib")
            if not os.access(os.path.dirname(cfg), os.W_OK):
                # e.g. a Bazel sandbox: keep matplotlib's font cache in /tmp
                os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="nmc-mpl-")
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def colours(plt, names):
    """A stable colour per implementation / peer name."""
    cmap = plt.get_cmap("tab10")
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def plot_lines(ax, series, impls, key, col):
    """One line per implementation through its points that have key."""
    for impl in impls:
        pts = sorted((c, f[key]) for c, f in series[impl].items() if key in f)
        if pts:
            ax.plot([c for c, _ in pts], [v for _, v in pts], marker="o", color=col[impl],
                    label=impl, linewidth=2.5 if make_report.is_ours(impl) else 1.5)


def plot_scaling(plt, sweep, out_dir):
    """Throughput above, fairness below, against the process count."""
    from matplotlib import ticker
    area, workload, unit, _, series = sweep
    impls = make_report.impl_order(series)
    col = colours(plt, impls)
    counts = sorted({c for points in series.values() for c in points})
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    plot_lines(top, series, impls, "items_per_second", col)
    top.yaxis.set_major_formatter(ticker.EngFormatter(unit="/s"))
    top.set_ylabel("items per second")
    top.set_title(f"{area}/{workload}: throughput and fairness against {unit}")
    top.set_ylim(bottom=0)
    top.grid(True, alpha=0.3)
    top.legend(fontsize="small")
    plot_lines(bottom, series, impls, "fairness_stddev_pct", col)
    bottom.set_ylabel("fairness: stddev of the\ncounts, % of their mean")
    bottom.set_ylim(bottom=0)
    bottom.grid(True, alpha=0.3)
    if len(counts) > 1 and counts[-1] / max(counts[0], 1) >= 8:
        bottom.set_xscale("log", base=2)
    bottom.set_xticks(counts)
    bottom.set_xticklabels([str(c) for c in counts])
    bottom.set_xlabel(f"number of {unit}")
    fig.tight_layout()
    name = f"scaling_{slug(area)}_{slug(workload)}.png"
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return f"{area}/{workload}: throughput and fairness against the number of {unit}", name


def plot_latency(plt, groups, out_dir):
    keys = sorted(groups)
    ncols = min(3, len(keys))
    nrows = (len(keys) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.8 * nrows), squeeze=False)
    for k, key in enumerate(keys):
        ax = axes[k // ncols][k % ncols]
        impls = make_report.impl_order(groups[key])
        xs = range(len(impls))
        p50 = [groups[key][i][0] for i in impls]
        p99 = [groups[key][i][1] for i in impls]
        ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50", color="tab:blue")
        ax.bar([x + 0.2 for x in xs], p99, width=0.4, label="p99", color="tab:orange")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(impls, rotation=30, ha="right", fontsize="small")
        if max(p99) > 0 and min(v for v in p50 + p99 if v > 0) * 20 < max(p99):
            ax.set_yscale("log")
        ax.set_ylabel("ns per round trip")
        ax.set_title(f"{key[0]}/{key[1]}", fontsize="medium")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize="small")
    for k in range(len(keys), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.suptitle("latency percentiles (lower is better)")
    fig.tight_layout()
    name = "latency.png"
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return "latency percentiles: p50 and p99 per round trip", name


def plot_ratios(plt, area, cells, out_dir):
    from matplotlib import ticker
    peers = sorted({p for _, p, _ in cells})
    col = colours(plt, peers)
    labels = [f"{label} vs {p}" for label, p, _ in cells]
    values = [r for _, _, r in cells]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(cells) + 1.4))
    ys = range(len(cells))
    ax.barh(list(ys), values, color=[col[p] for _, p, _ in cells])
    ax.set_yticks(list(ys))
    ax.set_yticklabels(labels, fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("nmc speed vs peer (> 1: nmc faster), log scale")
    ax.set_title(f"{area}: nmc against each peer")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    name = f"ratios_{slug(area)}.png"
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    return f"{area}: nmc speed against each peer", name


def make_plots(results, out_dir):
    """Draws every plot that has data into out_dir: (files, note), files a
    list of (title, file name in out_dir), note None or why some or all
    plots are missing."""
    plt = load_pyplot()
    if plt is None:
        return [], MISSING
    rows = make_report.select_rows(results.get("benchmarks", []))
    jobs = [(f"scaling {s[0]}/{s[1]}", plot_scaling, (s,))
            for s in make_report.sweep_series(rows)]
    groups = make_report.latency_groups(rows)
    if groups:
        jobs.append(("latency", plot_latency, (groups,)))
    jobs += [(f"ratios {area}", plot_ratios, (area, cells))
             for area, cells in make_report.area_ratios(rows).items()]
    os.makedirs(out_dir, exist_ok=True)
    files, failed = [], []
    for what, fn, args in jobs:
        try:
            files.append(fn(plt, *args, out_dir))
        except Exception as e:  # noqa: BLE001 - one bad plot spares the others
            plt.close("all")
            failed.append(f"{what} ({type(e).__name__}: {e})")
    note = f"Plots that failed: {'; '.join(failed)}." if failed else None
    if not jobs:
        note = "No plots: no benchmark with data to plot."
    return files, note


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results")
    p.add_argument("--out-dir")
    args = p.parse_args(argv)
    with open(args.results, encoding="utf-8") as f:
        results = json.load(f)
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.results))
    files, note = make_plots(results, out_dir)
    for _, name in files:
        print(os.path.join(out_dir, name))
    if note:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
