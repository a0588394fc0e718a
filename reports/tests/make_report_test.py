#!/usr/bin/python3
"""Unit tests of reports/make_report.py and merge_results.py on fixtures.

Prints Check's summary line "Checks: N, Failures: F, Errors: E" (the
harness counts it) and exits non-zero on any failure.
usage: make_report_test.py REPORTS_DIR
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
import merge_results  # noqa: E402

FIXTURE = os.path.join(REPORTS, "tests", "fixture_results.json")
TARGETS = os.path.join(REPORTS, "tests", "fixture_targets.json")



def load_fixture():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def report_text():
    return make_report.make_report(load_fixture(), make_report.load_targets(TARGETS))


def row_of(text, prefix):
    """The table row whose first cell is prefix."""
    for line in text.splitlines():
        if line.startswith(f"| {prefix} |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row {prefix!r} in report")


@test
def split_name_drops_gb_suffixes_and_keeps_args():
    assert make_report.split_name("copier/string_1MiB/nmc") == ("copier", "string_1MiB", "nmc")
    assert make_report.split_name("lock/contended/nmc/4/manual_time") == \
        ("lock", "contended/4", "nmc")
    assert make_report.split_name("a/b/c/peer/iterations:5/repeats:3/real_time") == \
        ("a", "b/c", "peer")
    assert make_report.split_name("area/bare") == ("area", "bare", "-")


@test
def median_aggregate_is_used():
    rows = make_report.select_rows(load_fixture()["benchmarks"])
    fields, err = rows["copier/tree/nmc"]
    assert err is None
    assert fields["ns_per_block"] == 15.0
    assert fields["real_time"] == 1.0e6  # ms -> ns


@test
def targets_match_names_without_gb_suffixes():
    rows = make_report.select_rows(load_fixture()["benchmarks"])
    assert "lock/contended/nmc/4" in rows and "lock/contended/nmc/4/manual_time" not in rows


@test
def iterations_without_aggregates_give_their_median():
    rows = make_report.select_rows(load_fixture()["benchmarks"])
    assert rows["lock/latency/nmc"][0]["real_time"] == 60.0
    assert rows["lock/latency/posix_sem"][0]["real_time"] == 240.0  # us -> ns


@test
def errors_are_listed_not_tabled():
    text = report_text()
    assert "- sem/broken/nmc: setup failed" in text
    assert "## sem" not in text


@test
def throughput_ratio_over_one_when_nmc_faster():
    row = row_of(report_text(), "contended/4")
    assert row[1] == "items_per_second"
    # lock peers, sorted: posix_sem (absent here), pthread
    assert row[2] == "4 M/s" and row[3] == "" and row[5] == "2 M/s", row
    assert row[6] == "2.00x", row


@test
def throughput_ratio_under_one_when_peer_faster():
    row = row_of(report_text(), "string_1MiB")
    assert row[1] == "bytes_per_second"
    assert row[4] == "0.90x", row


@test
def nmc_variants_get_a_row_each():
    rows = {
        "lock/uncontended/nmc_normal": ({"items_per_second": 60e6}, None),
        "lock/uncontended/nmc_recursive": ({"items_per_second": 30e6}, None),
        "lock/uncontended/pthread": ({"items_per_second": 40e6}, None),
    }
    text = "\n".join(make_report.area_tables(rows))
    assert "nmc_normal |" not in text.splitlines()[2], text  # not a peer column
    assert row_of(text, "uncontended (normal)")[4] == "1.50x", text
    assert row_of(text, "uncontended (recursive)")[4] == "0.75x", text


@test
def peer_variants_share_a_column_with_ours():
    rows = {
        "lock/uncontended/nmc_normal": ({"items_per_second": 60e6}, None),
        "lock/uncontended/nmc_recursive": ({"items_per_second": 30e6}, None),
        "lock/uncontended/ocamlnet_normal": ({"items_per_second": 20e6}, None),
        "lock/uncontended/ocamlnet_recursive": ({"items_per_second": 10e6}, None),
        "lock/uncontended/pthread_robust": ({"items_per_second": 40e6}, None),
        "lock/contended/nmc_normal": ({"items_per_second": 4e6}, None),
        "lock/contended/ocamlnet": ({"items_per_second": 1e6}, None),
        "copier/tree/nmc": ({"bytes_per_second": 8.0}, None),
        "copier/tree/nmc_simulate": ({"bytes_per_second": 30.0}, None),
        "copier/tree/ocamlnet": ({"bytes_per_second": 2.0}, None),
        "copier/tree/ocamlnet_simulate": ({"bytes_per_second": 10.0}, None),
    }
    text = "\n".join(make_report.area_tables(rows))
    head = [line for line in text.splitlines() if line.startswith("| workload")]
    # one ocamlnet column per area; pthread_robust has no nmc_robust to pair with
    assert head[1] == ("| workload | metric | nmc | ocamlnet | nmc speed vs ocamlnet | "
                       "pthread_robust | nmc speed vs pthread_robust |"), head
    assert row_of(text, "uncontended (normal)")[3:5] == ["20 M/s", "3.00x"], text
    assert row_of(text, "uncontended (recursive)")[3:5] == ["10 M/s", "3.00x"], text
    assert row_of(text, "uncontended (recursive)")[5:7] == ["40 M/s", "0.75x"], text
    assert row_of(text, "contended (normal)")[3:5] == ["1 M/s", "4.00x"], text  # plain peer
    assert row_of(text, "tree")[4] == "4.00x", text
    assert row_of(text, "tree (simulate)")[4] == "3.00x", text


@test
def peer_without_our_figure_still_tabled():
    rows = {"heap/ref_assign/ocamlnet": ({"items_per_second": 1e6}, None)}
    text = "\n".join(make_report.area_tables(rows))
    assert row_of(text, "ref_assign")[2:5] == ["", "1 M/s", ""], text


@test
def notes_are_merged_and_reported_near_the_top():
    note = "ocamlnet peer skipped: ocamlfind not found (Debian packages ocaml-nox, ocaml-findlib)"
    merged = merge_results.merge([load_fixture()], {"cpu_model": "test"}, [note])
    assert merged["context"]["nmc_notes"] == [note], merged["context"]
    assert "nmc_notes" not in merge_results.merge([load_fixture()], {})["context"]
    text = make_report.make_report(merged, make_report.load_targets(TARGETS))
    lines = text.splitlines()
    assert "## Notes" in lines and f"- {note}" in lines, text
    assert lines.index("## Notes") < lines.index("## Targets") < lines.index("## copier"), text
    assert "## Notes" not in report_text()  # no notes, no section
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "results.json")
        subprocess.run([sys.executable, os.path.join(REPORTS, "merge_results.py"), "--out", out,
                        "--note", note, "--note", "second", FIXTURE], check=True)
        with open(out, encoding="utf-8") as f:
            assert json.load(f)["context"]["nmc_notes"] == [note, "second"]


@test
def time_ratio_is_inverted():
    row = row_of(report_text(), "latency")
    assert row[1] == "real_time"
    assert row[2] == "60 ns", row
    assert row[3] == "240 ns" and row[4] == "4.00x", row  # posix_sem vs nmc


@test
def fingerprint_and_areas_present():
    text = report_text()
    assert "- cpu_model: Fixture CPU" in text
    for area in ("## copier", "## lock", "## Targets"):
        assert area in text, area


@test
def targets_met_missed_and_unmeasured():
    rows = make_report.select_rows(load_fixture()["benchmarks"])
    targets = make_report.load_targets(TARGETS)
    got = [make_report.evaluate(t, rows)[1] for t in targets]
    assert got == ["met", "met", "NOT met", "met", "not measured", "not measured"], got
    measured = make_report.evaluate(targets[0], rows)[0]
    assert "0.90 x copier/string_1MiB/memcpy" in measured, measured
    assert "**NOT met**" in report_text()


@test
def bad_targets_rejected():
    bad = [
        {"benchmark": "x", "metric": "m", "op": "~", "bound": 1},
        {"benchmark": "x", "metric": "m", "op": "<"},
        {"benchmark": "x", "metric": "m", "op": "<", "of": "y"},
        {"benchmark": "x", "metric": "m", "op": "<", "bound": 1, "ratio": 1, "of": "y"},
    ]
    for t in bad:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"targets": [t]}, f)
        try:
            make_report.load_targets(f.name)
        except ValueError:
            continue
        finally:
            os.unlink(f.name)
        raise AssertionError(f"accepted {t}")


@test
def repository_targets_are_valid():
    targets = make_report.load_targets(os.path.join(REPORTS, "targets.json"))
    names = {t["benchmark"] for t in targets}
    assert "copier/string_1MiB/nmc" in names


@test
def merge_keeps_all_benchmarks_and_adds_fingerprint():
    doc = load_fixture()
    second = {"context": {"host_name": "other"}, "benchmarks": [{"name": "x/y/nmc"}]}
    fp = {"cpu_model": "test"}
    merged = merge_results.merge([doc, second], fp)
    assert merged["context"]["host_name"] == "fixture"
    assert merged["context"]["nmc_fingerprint"] == fp
    assert len(merged["benchmarks"]) == len(doc["benchmarks"]) + 1
    assert merge_results.merge([], fp)["benchmarks"] == []


@test
def command_line_pipeline_writes_report():
    with tempfile.TemporaryDirectory() as d:
        merged = os.path.join(d, "results.json")
        report = os.path.join(d, "REPORT.md")
        subprocess.run([sys.executable, os.path.join(REPORTS, "merge_results.py"),
                        "--out", merged, "--commit", "abc123", FIXTURE], check=True)
        with open(merged, encoding="utf-8") as f:
            fp = json.load(f)["context"]["nmc_fingerprint"]
        assert fp["git_commit"] == "abc123" and fp["cores"] >= 1, fp
        subprocess.run([sys.executable, os.path.join(REPORTS, "make_report.py"), merged,
                        "--targets", TARGETS, "--out", report], check=True)
        with open(report, encoding="utf-8") as f:
            assert f.read().startswith("# Benchmark report")



if __name__ == "__main__":
    sys.exit(run())
