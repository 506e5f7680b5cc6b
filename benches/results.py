#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench --bench hot_path` run as markdown tables, one per
criterion group, with each row's ratio to the group's `limit` row (or `bare`) and to the peers: the
numbers that benches/RESULTS.md and README's performance table quote, all from one run.

Usage: python3 benches/results.py [target/criterion]
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median(path):
    with open(path / "new" / "estimates.json") as f:
        return json.load(f)["median"]["point_estimate"]


for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
    rows = {}
    for bench in sorted(group.rglob("new/estimates.json")):
        subject = bench.parent.parent.relative_to(group).as_posix()
        rows[subject] = median(bench.parent.parent)
    base_name = next((n for n in ("limit", "limit_1_thread", "bare") if n in rows), None)
    base = rows.get(base_name)
    print(f"## `{group.name}`\n")
    print(f"| subject | median | vs `{base_name}` |" if base else "| subject | median |")
    print("|---|---:|---:|" if base else "|---|---:|")
    for subject, ns in rows.items():
        if base:
            print(f"| `{subject}` | {ns:.2f} ns | {ns / base:.2f}x |")
        else:
            print(f"| `{subject}` | {ns:.2f} ns |")
    print()
