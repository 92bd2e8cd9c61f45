#!/usr/bin/env python3
"""Thread scaling of llama.cpp on a CPU: the same designs timed with two thread counts.

    python3 measure/llamacpp/threads.py A.csv B.csv [--title TEXT]

A.csv and B.csv are measure.py outputs of the same designs (same --space, --seed and design
names) with different --threads. Rows are matched on (design, format, phase, prompt, depth);
per (format, phase) it prints a Markdown table of the median latency ratio (fewer threads /
more threads), its range over the matched rows, and the parallel efficiency = ratio /
(thread ratio). Standard library only.
"""
import argparse
import csv
import statistics
import sys
from collections import defaultdict


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def key(r):
    return (r["name"], r["format"], r["phase"], r["n_prompt"], r["depth"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--title", default="Thread scaling")
    a = p.parse_args()
    ra, rb = rows(a.a), rows(a.b)
    ta = {int(r["threads"]) for r in ra}
    tb = {int(r["threads"]) for r in rb}
    if len(ta) != 1 or len(tb) != 1 or ta == tb:
        sys.exit(f"error: each file needs one thread count, and they must differ (got {sorted(ta)} and {sorted(tb)})")
    (na,), (nb,) = ta, tb
    few, many = (ra, rb) if na < nb else (rb, ra)
    n_few, n_many = min(na, nb), max(na, nb)
    by = {key(r): r for r in many}
    groups = defaultdict(list)
    for r in few:
        m = by.get(key(r))
        if m is None:
            continue
        groups[(r["format"], r["phase"])].append(
            (float(r["latency_ms"]) / float(m["latency_ms"]), float(r["rel_spread"] or 0), float(m["rel_spread"] or 0)))
    if not groups:
        sys.exit("error: no row of one file matches a row of the other (design, format, phase, prompt, depth)")
    print(f"### {a.title}\n")
    print(f"Latency with {n_few} thread(s) ÷ latency with {n_many}, per matched row "
          f"(`{a.a}`, `{a.b}`); parallel efficiency = that ratio ÷ {n_many / n_few:g}.\n")
    print("| format | phase | rows | median ratio | range | parallel efficiency | median spread % (few / many) |")
    print("|---|---|---|---|---|---|---|")
    for (fmt, phase), v in sorted(groups.items()):
        ratios = [x[0] for x in v]
        med = statistics.median(ratios)
        print(f"| {fmt} | {phase} | {len(v)} | {med:.2f} | {min(ratios):.2f}–{max(ratios):.2f} | "
              f"{med / (n_many / n_few):.2f} | {100 * statistics.median(x[1] for x in v):.0f} / "
              f"{100 * statistics.median(x[2] for x in v):.0f} |")


if __name__ == "__main__":
    main()
