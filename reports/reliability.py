#!/usr/bin/python3
"""Writes reports/reliability.md: every hostile-peer scenario the tests
try, with what it expects, what the last run observed and the verdict.

usage: reliability.py OUT.md --commit SHA --config TEXT
           [--baseline JSON] SUITE.c=TEST.log ...

A scenario is a Check test of a hostile suite (impl/tests/test_*_hostile.c,
impl/tests/test_nmc_sizes.c, stress/racing/racing_test.c): the comment
"/* expect: ... */" right above its START_TEST says what the honest side
must observe. Its verdict comes from the suite's test log (Check's output):
  held         the test passed (and printed no SKIP line for itself)
  skipped      it printed "SKIP <name>: ..." (the environment lacks what
               it needs, e.g. root for a namespace)
  crash        it died of a signal ("Received signal N"), or failed with
               a message starting "crash: "
  hang         Check's timeout ("Test timeout expired") or "hang: "
  leak         "leak: ";  wrong status: "wrong status: " (and any other
               failure);  data loss: "data loss: "
  not run      the log is missing or has no Check summary
The racing fuzzers print one line per race ("racing camlbox: ... ops=N
ok=N NMC_...=N verdict=held"): its counts are the observation.
--baseline names a JSON object {test name: observation} recorded on an
earlier commit, shown as a column of its own.
"""

import argparse
import json
import os
import re
import sys

VERDICTS = ["held", "crash", "hang", "leak", "wrong status", "data loss", "skipped", "not run"]
PREFIXES = ["crash", "hang", "leak", "wrong status", "data loss"]

# Report sections in the order of the reliability issue, by suite file.
GROUPS = [
    ("Camlbox", ["test_camlbox_hostile.c"]),
    ("Shmtable and shared objects", ["test_shmtable_hostile.c", "test_sys_hostile.c"]),
    ("Dead owners", ["test_sync_hostile.c"]),
    ("Process manager (core)", ["test_core_hostile.c"]),
    ("Heaps and pools", ["test_heap_hostile.c", "test_mempool_hostile.c"]),
    ("Sizes", ["test_nmc_sizes.c"]),
    ("Racing fuzzers", ["racing_test.c"]),
]

EXPECT = re.compile(r"/\*\s*expect:\s*(.*?)\s*\*/\s*\n\s*START_TEST\((\w+)\)", re.S)
# file:line:F|E:tcase:test:iteration: message
RESULT = re.compile(r"^[^:\s]+:\d+:([FE]):[^:]*:(\w+):(\d+): (.*)$")
SUMMARY = re.compile(r"Checks: \d+, Failures: \d+, Errors: \d+")
SKIP = re.compile(r"^SKIP (\w+)")
RACE = re.compile(r"^racing (\w+): (.*) verdict=(\w+)$")


def scenarios(source_text):
    """[(test name, expectation)] in source order."""
    return [(name, " ".join(text.split())) for text, name in EXPECT.findall(source_text)]


def verdict_of(kind, message):
    """The verdict a Check failure line stands for."""
    if "Received signal" in message:
        return "crash"
    if "Test timeout expired" in message:
        return "hang"
    for p in PREFIXES:
        if message.startswith(p + ": "):
            return p
    return "wrong status"


def observations(log_text):
    """{test: (verdict, text)} for the failures, skips and races of a log;
    None if the log has no Check summary (the suite did not run)."""
    if not SUMMARY.search(log_text):
        return None
    seen = {}
    for line in log_text.splitlines():
        m = RESULT.match(line)
        if m and m.group(2) not in seen:
            kind, test, iteration, message = m.groups()
            text = message if iteration == "0" else f"[iteration {iteration}] {message}"
            seen[test] = (verdict_of(kind, message), text)
            continue
        m = SKIP.match(line)
        if m:
            seen.setdefault(m.group(1), ("skipped", line))
            continue
        m = RACE.match(line)
        if m:
            seen.setdefault("racing_" + m.group(1), (None, m.group(2)))
    return seen


def classify(name, obs):
    """(verdict, observed text) of one scenario given its log's observations."""
    if obs is None:
        return "not run", "no Check summary in the log"
    verdict, text = obs.get(name, ("held", ""))
    if verdict is None:  # a race's counts, and it passed
        return "held", text
    return verdict, text or "as expected"


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def build(suites, baseline, commit, config):
    """The report's Markdown; suites: [(source path, source text, log text
    or None)]."""
    rows = {}  # group -> [(name, expected, verdict, observed)]
    counts = {v: 0 for v in VERDICTS}
    for path, source, log in suites:
        base = os.path.basename(path)
        group = next((g for g, files in GROUPS if base in files), "Other")
        obs = observations(log) if log is not None else None
        for name, expected in scenarios(source):
            verdict, observed = classify(name, obs)
            counts[verdict] += 1
            rows.setdefault(group, []).append((name, expected, verdict, observed))
    total = sum(counts.values())
    out = [
        "# Reliability: hostile, truncating and dying peers",
        "",
        f"Generated by `./harness stress` (reports/reliability.py) at commit `{commit}`, "
        f"{config}. Each scenario is a test of a hostile suite; its expectation is the "
        "`expect:` comment above it, its verdict the outcome of this run. "
        "Short and racing forms as `./harness stress` ran them.",
        "",
        "| verdict | scenarios |",
        "|---|---|",
    ]
    out += [f"| {v} | {counts[v]} |" for v in VERDICTS]
    out += [f"| total | {total} |", ""]
    base_label = baseline.get("_commit", "an earlier commit") if baseline else None
    for group, _ in GROUPS + [("Other", [])]:
        if group not in rows:
            continue
        out += [f"## {group}", ""]
        header = "| scenario | expected | verdict | observed |"
        rule = "|---|---|---|---|"
        if baseline:
            header += f" before ({base_label}) |"
            rule += "---|"
        out += [header, rule]
        for name, expected, verdict, observed in rows[group]:
            line = f"| `{name}` | {cell(expected)} | **{verdict}** | {cell(observed)} |"
            if baseline:
                line += f" {cell(baseline.get(name, 'not tried'))} |"
            out.append(line)
        out.append("")
    if baseline and baseline.get("_note"):
        out += [baseline["_note"], ""]
    return "\n".join(out)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("pairs", nargs="+", help="SUITE.c=TEST.log")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--config", default="")
    ap.add_argument("--baseline")
    a = ap.parse_args(argv)
    suites = []
    for pair in a.pairs:
        src, _, log = pair.partition("=")
        with open(src) as f:
            source = f.read()
        text = None
        if log and os.path.exists(log):
            with open(log, errors="replace") as f:
                text = f.read()
        suites.append((src, source, text))
    baseline = {}
    if a.baseline:
        with open(a.baseline) as f:
            baseline = json.load(f)
    md = build(suites, baseline, a.commit, a.config)
    with open(a.out, "w") as f:
        f.write(md + "\n")
    bad = sum(1 for line in md.splitlines()
              if re.match(r"\| `\w+` .*\*\*(crash|hang|leak|wrong status|data loss|not run)\*\*", line))
    print(f"reliability: {a.out}: {bad} scenario(s) not held" if bad else
          f"reliability: {a.out}: every scenario held or skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
