#!/usr/bin/python3
"""Tests of the scaling and latency tables (make_report.py) and the plots
(plots.py) on fixture_scaling.json: a lock and two camlbox process-count
sweeps, ping-pong latency percentiles, peers in five areas and one failed
benchmark.

Prints Check's summary line "Checks: N, Failures: F, Errors: E" (the
harness counts it) and exits non-zero on any failure.
usage: plots_test.py REPORTS_DIR
"""

import json
import os
import subprocess
import sys
import tempfile

from checklib import run, test  # noqa: E402  (this directory)

REPORTS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, REPORTS)
import make_report  # noqa: E402
import plots  # noqa: E402

FIXTURE = os.path.join(REPORTS, "tests", "fixture_scaling.json")
PLAIN = os.path.join(REPORTS, "tests", "fixture_results.json")
PNG = b"\x89PNG\r\n\x1a\n"



def load(path=FIXTURE):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def rows():
    return make_report.select_rows(load()["benchmarks"])


def table_after(text, heading):
    """The rows (lists of cells) of the first table after the line heading."""
    lines = text.splitlines()
    at = lines.index(heading)
    out = []
    for line in lines[at + 1:]:
        if line.startswith("|"):
            out.append([c.strip() for c in line.strip("|").split("|")])
        elif out:
            break
    return out


class NoMatplotlib:
    """Makes `import matplotlib` fail inside the with block."""

    def __enter__(self):
        self.saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "matplotlib"}
        for k in self.saved:
            del sys.modules[k]
        sys.modules["matplotlib"] = None
        return self

    def __exit__(self, *exc):
        del sys.modules["matplotlib"]
        sys.modules.update(self.saved)


@test
def lock_sweep_tabled_with_fairness():
    text = "\n".join(make_report.scaling_lines(rows()))
    t = table_after(text, "lock/contended: items per second against the number of processes, "
                    "and fairness (stddev of the per-process counts, % of their mean).")
    assert t[0] == ["processes", "nmc_normal", "nmc_normal fairness", "ocamlnet",
                    "ocamlnet fairness", "pthread_robust", "pthread_robust fairness"], t[0]
    by_p = {r[0]: r for r in t[2:]}
    assert sorted(by_p) == ["1", "2", "4"], by_p
    assert by_p["1"][1:3] == ["20 M/s", "0.0 %"], by_p["1"]
    assert by_p["4"][5:7] == ["2.5 M/s", "160.0 %"], by_p["4"]
    # contended_2proc stands for P = 2 of ocamlnet only; the others keep their own
    assert by_p["2"][3:5] == ["2 M/s", "12.5 %"] and by_p["1"][3] == "", by_p
    assert by_p["2"][1] == "10 M/s", by_p["2"]


SENDERS_FAIRNESS = ("items per second against the number of senders, and fairness (stddev "
                    "of the senders' shares of the first half of the messages, % of their "
                    "mean).")


@test
def camlbox_sweeps_tabled_with_fairness():
    text = "\n".join(make_report.scaling_lines(rows()))
    t = table_after(text, f"camlbox/throughput_str32: {SENDERS_FAIRNESS}")
    assert t[0] == ["senders", "nmc", "nmc fairness", "pipe", "pipe fairness"], t[0]
    assert [r[0] for r in t[2:]] == ["1", "2", "4", "8"], t
    assert t[2][1:] == ["3.38 M/s", "0.0 %", "1.69 M/s", "0.0 %"], t[2]
    assert t[-1][1:] == ["6 M/s", "20.0 %", "3 M/s", "4.0 %"], t[-1]
    t = table_after(text, f"camlbox/throughput_tuple: {SENDERS_FAIRNESS}")
    assert t[0] == ["senders", "nmc", "nmc fairness", "ocamlnet", "ocamlnet fairness"], t[0]
    assert t[3][1:] == ["3 M/s", "30.0 %", "1.5 M/s", "8.0 %"], t[3]


@test
def latency_tabled_per_workload_and_implementation():
    text = make_report.make_report(load(), [])
    t = table_after(text, "Time per round trip: median (p50) and 99th percentile (p99).")
    assert t[0] == ["workload", "implementation", "p50", "p99"], t[0]
    assert [r[:2] for r in t[2:]] == [
        ["camlbox/pingpong", "nmc"], ["camlbox/pingpong", "pipe"],
        ["cond/pingpong_2proc", "nmc"], ["cond/pingpong_2proc", "pthread_cond"],
        ["sem/pingpong_2proc", "nmc"], ["sem/pingpong_2proc", "posix_sem"]], t
    assert t[3][2:] == ["2.2 us", "90 us"], t[3]
    lines = text.splitlines()
    assert lines.index("## Latency") < lines.index("## Scaling"), text
    assert "## Latency" not in make_report.make_report(load(PLAIN), [])


@test
def no_sweep_no_scaling_section():
    text = make_report.make_report(load(PLAIN), [])
    assert "## Scaling" not in text and "## Plots" not in text, text


@test
def ratios_are_those_of_the_tables():
    got = make_report.area_ratios(rows())
    assert ("string_1MiB", "memcpy", 0.9) in [(a, b, round(c, 3)) for a, b, c in got["copier"]]
    assert ("pingpong", "pipe") in [(a, b) for a, b, _ in got["camlbox"]], got["camlbox"]
    assert "sem" in got and "lock" in got, sorted(got)


@test
def latency_groups_have_both_percentiles():
    groups = make_report.latency_groups(rows())
    assert sorted(groups) == [("camlbox", "pingpong"), ("cond", "pingpong_2proc"),
                              ("sem", "pingpong_2proc")], groups
    assert groups[("camlbox", "pingpong")]["pipe"] == (2200.0, 90000.0)


@test
def plots_are_png_files():
    with tempfile.TemporaryDirectory() as d:
        files, note = plots.make_plots(load(), d)
        assert note is None, note
        names = sorted(n for _, n in files)
        assert names == ["latency.png", "ratios_camlbox.png", "ratios_cond.png",
                         "ratios_copier.png", "ratios_lock.png", "ratios_sem.png",
                         "scaling_camlbox_throughput_str32.png",
                         "scaling_camlbox_throughput_tuple.png",
                         "scaling_lock_contended.png"], names
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                head = f.read(8)
            assert head == PNG and os.path.getsize(os.path.join(d, n)) > 5000, n


@test
def report_embeds_the_plots():
    with tempfile.TemporaryDirectory() as d:
        res = os.path.join(d, "results.json")
        with open(res, "w", encoding="utf-8") as f:
            json.dump(load(), f)
        out = os.path.join(d, "REPORT.md")
        subprocess.run([sys.executable, os.path.join(REPORTS, "make_report.py"), res,
                        "--out", out], check=True)
        text = open(out, encoding="utf-8").read()
        lines = text.splitlines()
        assert lines.index("## Scaling") < lines.index("## Plots") < \
            lines.index("## Failed benchmarks"), text
        link = "![lock/contended: throughput and fairness against the number of processes]" \
            "(scaling_lock_contended.png)"
        assert link in lines, text
        assert os.path.isfile(os.path.join(d, "scaling_lock_contended.png"))
        assert "No plots" not in text
        subprocess.run([sys.executable, os.path.join(REPORTS, "make_report.py"), res,
                        "--out", out, "--no-plots"], check=True)
        assert "## Plots" not in open(out, encoding="utf-8").read()


@test
def missing_matplotlib_is_a_note():
    with tempfile.TemporaryDirectory() as d, NoMatplotlib():
        files, note = plots.make_plots(load(), d)
        assert files == [] and note == plots.MISSING, (files, note)
        assert os.listdir(d) == []
        text = make_report.make_report(load(), [], make_report.make_plots(load(), d))
        assert plots.MISSING in text.splitlines() and "![" not in text, text


@test
def missing_matplotlib_command_line_still_writes_the_report():
    # A fresh interpreter in which `import matplotlib` fails.
    code = ("import runpy, sys; sys.modules['matplotlib'] = None; "
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "REPORT.md")
        r = subprocess.run([sys.executable, "-c", code, os.path.join(REPORTS, "make_report.py"),
                            FIXTURE, "--out", out], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        text = open(out, encoding="utf-8").read()
        assert "## Plots" in text and "matplotlib is not installed" in text, text
        assert "![" not in text and "## Scaling" in text, text
        assert [n for n in os.listdir(d) if n.endswith(".png")] == []


@test
def a_failing_plot_spares_the_others():
    saved = plots.plot_latency

    def broken(*_):
        raise RuntimeError("boom")
    plots.plot_latency = broken
    try:
        with tempfile.TemporaryDirectory() as d:
            files, note = plots.make_plots(load(), d)
            assert "latency (RuntimeError: boom)" in note, note
            assert "scaling_lock_contended.png" in [n for _, n in files], files
    finally:
        plots.plot_latency = saved


@test
def plots_command_line():
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, os.path.join(REPORTS, "plots.py"), FIXTURE,
                            "--out-dir", d], capture_output=True, text=True, check=True)
        assert os.path.join(d, "latency.png") in r.stdout.splitlines(), r.stdout



if __name__ == "__main__":
    sys.exit(run())
