#!/usr/bin/python3
"""Writes reports/reliability.md: every hostile-peer scenario the tests
try, with what it expects, what the last run observed and the verdict.

usage: reliability.py OUT.md --commit SHA --runs LABEL,LABEL...
           [--baseline JSON] SUITE.c=LOG,LOG... ...

A scenario is a Check test of a hostile suite (impl/tests/test_*_hostile.c,
impl/tests/test_nmc_sizes.c, stress/racing/racing_test.c): the comment
"/* expect: ... */" right above its START_TEST says what the honest side
must observe. Its verdict comes from the suite's test log (Check's output
with CK_VERBOSITY=verbose, which names the tests that passed too):
  held         the test passed (every iteration of a loop test)
  skipped      a line "SKIP <name>[, <name>...]: why" names it and it did
               not run (the environment lacks what it needs, e.g. root)
  crash        it died of a signal ("Received signal N"), or failed with
               a message starting "crash: "
  hang         Check's timeout ("Test timeout expired") or "hang: "
  leak         "leak: ";  wrong status: "wrong status: " (and any other
               failure);  data loss: "data loss: "
  not run      the log is missing or has no Check summary, or the test
               appears in it neither as run nor as skipped
The racing fuzzers print one line per race ("racing camlbox: ... ops=N
ok=N NMC_...=N verdict=held"): its counts are the observation.
Each suite has one log per run (--runs names them, e.g. the ASan+UBSan
build and the plain one): a scenario's verdict is the first failure of
any run, else held if some run passed it (the runs that skipped it are
named), else skipped or not run.
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
# file:line:P|F|E:tcase:test:iteration: message
RESULT = re.compile(r"^[^:\s]+:\d+:([PFE]):[^:]*:(\w+):(\d+): ?(.*)$")
SUMMARY = re.compile(r"Checks: \d+, Failures: \d+, Errors: \d+")
SKIP = re.compile(r"^SKIP ([\w, ]+):")
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
    seen, passed, races = {}, set(), {}
    for line in log_text.splitlines():
        m = RESULT.match(line)
        if m:
            kind, test, iteration, message = m.groups()
            if kind == "P":
                passed.add(test)
            elif test not in seen or seen[test][0] == "skipped":
                text = message if iteration == "0" else f"[iteration {iteration}] {message}"
                seen[test] = (verdict_of(kind, message), text)
            continue
        m = SKIP.match(line)
        if m:
            for name in m.group(1).split(","):
                seen.setdefault(name.strip(), ("skipped", line))
            continue
        m = RACE.match(line)
        if m:
            races["racing_" + m.group(1)] = m.group(2)
    for test in passed:
        seen.setdefault(test, ("held", races.get(test, "as expected")))
    return seen


def classify(name, obs):
    """(verdict, observed text) of one scenario given its log's observations."""
    if obs is None:
        return "not run", "no Check summary in the log"
    return obs.get(name, ("not run", "not in the log"))


FAILURES = {"crash", "hang", "leak", "wrong status", "data loss"}


def combine(results, labels):
    """One verdict from a scenario's (verdict, text) in each run."""
    for (verdict, text), label in zip(results, labels):
        if verdict in FAILURES:
            return verdict, f"{label}: {text}"
    held = [(t, l) for (v, t), l in zip(results, labels) if v == "held"]
    others = [(v, t, l) for (v, t), l in zip(results, labels) if v != "held"]
    if held:
        note = "".join(f"; {v} in {l}: {t}" for v, t, l in others)
        return "held", held[0][0] + note
    skipped = [(t, l) for v, t, l in others if v == "skipped"]
    if skipped:
        return "skipped", "; ".join(f"{l}: {t}" for t, l in skipped)
    return "not run", "; ".join(f"{l}: {t}" for _, t, l in others)


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def build(suites, baseline, commit, labels):
    """The report's Markdown; suites: [(source path, source text, [log text
    or None, one per run])]; labels: the runs' names."""
    rows = {}  # group -> [(name, expected, verdict, observed)]
    counts = {v: 0 for v in VERDICTS}
    for path, source, logs in suites:
        base = os.path.basename(path)
        group = next((g for g, files in GROUPS if base in files), "Other")
        obs = [observations(log) if log is not None else None for log in logs]
        for name, expected in scenarios(source):
            verdict, observed = combine([classify(name, o) for o in obs], labels)
            counts[verdict] += 1
            rows.setdefault(group, []).append((name, expected, verdict, observed))
    total = sum(counts.values())
    out = [
        "# Reliability: hostile, truncating and dying peers",
        "",
        f"Generated by `./harness stress` (reports/reliability.py) at commit `{commit}`; "
        f"runs: {', '.join(labels)}. Each scenario is a test of a hostile suite; its "
        "expectation is the `expect:` comment above it, its verdict the first failure in "
        "any run, else held where a run passed it.",
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
    ap.add_argument("pairs", nargs="+", help="SUITE.c=LOG,LOG...")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--runs", default="run", help="the runs' names, comma-separated")
    ap.add_argument("--baseline")
    a = ap.parse_args(argv)
    labels = a.runs.split(",")
    suites = []
    for pair in a.pairs:
        src, _, logs = pair.partition("=")
        with open(src) as f:
            source = f.read()
        texts = []
        for log in logs.split(",")[:len(labels)]:
            text = None
            if log and os.path.exists(log):
                with open(log, errors="replace") as f:
                    text = f.read()
            texts.append(text)
        suites.append((src, source, texts + [None] * (len(labels) - len(texts))))
    baseline = {}
    if a.baseline:
        with open(a.baseline) as f:
            baseline = json.load(f)
    md = build(suites, baseline, a.commit, labels)
    with open(a.out, "w") as f:
        f.write(md + "\n")
    bad = sum(1 for line in md.splitlines()
              if re.match(r"\| `\w+` .*\*\*(crash|hang|leak|wrong status|data loss|not run)\*\*", line))
    print(f"reliability: {a.out}: {bad} scenario(s) not held" if bad else
          f"reliability: {a.out}: every scenario held or skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
