#!/usr/bin/env python3
"""Measure the oracle itself: run train_tiny.py on a list of designs, several at once, and write
loss and wall time per run as CSV. Used to choose the oracle's token budget (is the loss
difference between designs larger than the seed-to-seed noise?) and to state its cost.

Usage: python3 sweep.py DESIGNS.jsonl OUT.csv [--parallel 4] [--tokens 4e6,1.6e7] [--seeds 0]
                        [-- extra train_tiny.py arguments]
DESIGNS.jsonl: one design per line, as `colaw loop` sends them (a `label` field is used in OUT).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("designs")
    p.add_argument("out")
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--tokens", default="4e6")
    p.add_argument("--seeds", default="0")
    a = p.parse_args(argv)
    designs = [json.loads(l) for l in open(a.designs) if l.strip()]
    jobs = [(d, t, s) for t in a.tokens.split(",") for d in designs for s in a.seeds.split(",")]

    def run(job):
        d, tokens, seed = job
        cmd = [sys.executable, os.path.join(HERE, "train_tiny.py"), "--tokens", tokens, "--seed", seed] + extra
        t0 = time.time()
        r = subprocess.run(cmd, input=json.dumps(d) + "\n", capture_output=True, text=True)
        wall = time.time() - t0
        last = {}
        for line in r.stdout.splitlines()[::-1]:
            if line.startswith("{") and "loss" in line:
                last = json.loads(line)
                break
        row = {"label": d.get("label", d.get("key", "")), "tokens": tokens, "seed": seed,
               "loss": last.get("loss", ""), "train_seconds": last.get("seconds", ""),
               "wall_seconds": round(wall, 2), "params": last.get("params", ""),
               "status": "ok" if r.returncode == 0 and last else f"exit {r.returncode}: {r.stderr[-200:]!r}"}
        print(json.dumps(row), flush=True)
        return row

    with ThreadPoolExecutor(a.parallel) as ex:
        rows = list(ex.map(run, jobs))
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
