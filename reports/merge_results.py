#!/usr/bin/python3
"""Merges Google Benchmark JSON files into one, with a machine fingerprint.

usage: merge_results.py --out FILE [--compiler S] [--commit S] [--dirty N]
                        [--mode S] [--procs LIST] [--note TEXT]... RESULT.json...

The output is one Google Benchmark JSON document: the first input's
"context" plus a "nmc_fingerprint" object (CPU model, cores, memory, kernel,
compiler, git commit, run mode, the process counts of the scaling sweep as
"procs_sweep" when --procs is given), and the "benchmarks" of all inputs in
order.
Each --note (e.g. "ocamlnet peer skipped: ocamlfind not found") is kept, in
order, in the list context["nmc_notes"]; make_report.py prints them near the
top of REPORT.md. Standard library only.
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
    p.add_argument("inputs", nargs="*")
    args = p.parse_args(argv)
    docs = []
    for path in args.inputs:
        try:
            with open(path, encoding="utf-8") as f:
                docs.append(json.load(f))
        except (OSError, ValueError) as e:
            print(f"merge_results: skipping {path}: {e}", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(merge(docs, fingerprint(args), args.note), f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
