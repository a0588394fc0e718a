#!/usr/bin/python3
"""Merges Google Benchmark JSON files into one, with a machine fingerprint.

usage: merge_results.py --out FILE [--compiler S] [--commit S] [--dirty N]
                        [--mode S] [--procs LIST] [--note TEXT]...
                        (RESULT.json... | --runs RUNS.tsv)

The output is one Google Benchmark JSON document: the first input's
"context" plus a "nmc_fingerprint" object (CPU model, cores, memory, kernel,
compiler, git commit, run mode, the process counts of the scaling sweep as
"procs_sweep" when --procs is given), and the "benchmarks" of all inputs in
order.
Each --note (e.g. "ocamlnet peer skipped: ocamlfind not found") is kept, in
order, in the list context["nmc_notes"]; make_report.py prints them near the
top of REPORT.md. An unreadable RESULT.json is left out with a note saying
so (and a line on stderr).

--runs reads the run list of bench/compare.sh instead: one line per run of a
benchmark binary, tab-separated: repetition, binary name, exit status, the
run's JSON output, its console log. Rows of a run get "nmc_binary" (the
binary's name); a run that exited non-zero or left unreadable JSON is not
merged but listed in context["nmc_failures"] as {"binary", "repetition",
"status", "message"} (the error, or the last lines of its log), so that
reports/compare.py reports the binary's benchmarks as failed.
Standard library only.
"""

import argparse
import json
import os
import platform
import sys


def read_first(path, key):
    """Value of the first 'key : value' line of a /proc file, or None."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def fingerprint(args):
    """What identifies the machine and build behind a set of figures."""
    mem_kib = read_first("/proc/meminfo", "MemTotal")
    fp = {
        "cpu_model": read_first("/proc/cpuinfo", "model name") or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kib.split()[0]) / 1048576, 1) if mem_kib else None,
        "kernel": platform.release(),
        "machine": platform.machine(),
        "compiler": args.compiler,
        "git_commit": args.commit,
        "git_dirty_files": args.dirty,
        "mode": args.mode,
    }
    if getattr(args, "procs", None):
        fp["procs_sweep"] = args.procs
    return fp


# How much of a failed run's console log a failure keeps.
LOG_TAIL_LINES = 20


def tail(path, lines=LOG_TAIL_LINES):
    """The last lines of a text file, or why it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip("\n")
    except OSError as e:
        return f"(no log: {e})"


def load(path):
    """The JSON document at path; OSError or ValueError if unreadable."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_runs(path):
    """(docs, failures) of a compare.sh run list (see the module comment)."""
    docs, failures = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rep, binary, status, out, log = line.rstrip("\n").split("\t")
            failure = {"binary": binary, "repetition": int(rep), "status": int(status)}
            if failure["status"] != 0:
                failures.append(dict(failure, message=tail(log)))
                continue
            try:
                doc = load(out)
            except (OSError, ValueError) as e:
                failures.append(dict(failure, message=f"unreadable output {out}: {e}"))
                continue
            for row in doc.get("benchmarks", []):
                row["nmc_binary"] = binary
            docs.append(doc)
    return docs, failures


def merge(docs, fp, notes=()):
    """One document: the first context (with fp and notes added) and all
    benchmarks."""
    context = dict(docs[0].get("context", {})) if docs else {}
    context["nmc_fingerprint"] = fp
    if notes:
        context["nmc_notes"] = list(notes)
    benchmarks = [b for d in docs for b in d.get("benchmarks", [])]
    return {"context": context, "benchmarks": benchmarks}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--compiler", default="unknown")
    p.add_argument("--commit", default="unknown")
    p.add_argument("--dirty", type=int, default=0)
    p.add_argument("--mode", default="unknown")
    p.add_argument("--procs", help="the scaling sweep's process counts (bench/run.sh --procs)")
    p.add_argument("--note", action="append", default=[],
                   help="a line for REPORT.md's notes (repeatable)")
    p.add_argument("--runs", help="bench/compare.sh's run list instead of RESULT.json files")
    p.add_argument("inputs", nargs="*")
    args = p.parse_args(argv)
    if args.runs and args.inputs:
        p.error("--runs and RESULT.json files exclude each other")
    docs, notes = [], list(args.note)
    if args.runs:
        docs, failures = load_runs(args.runs)
    for path in args.inputs:
        try:
            docs.append(load(path))
        except (OSError, ValueError) as e:
            print(f"merge_results: skipping {path}: {e}", file=sys.stderr)
            notes.append(f"merge_results: {path} left out, unreadable: {e}")
    merged = merge(docs, fingerprint(args), notes)
    if args.runs:
        merged["context"]["nmc_failures"] = failures
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(merged, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
