#!/usr/bin/env python3
"""The designs to check a loop's answer with: its choice and the runner-up.

    python3 examples/oracle/check_designs.py INSTANCE.toml JOURNAL_DIR [--colaw PATH] [--top 2] > check.jsonl

Takes the last round of the journal that has coefficient samples, runs `colaw region` on the
instance with them, and prints the `--top` designs by P(optimal) (the loop's choice first), one
JSON line each, as `colaw loop` sends designs to an oracle. `examples/oracle/gpu_run.sh
STAGE=check` trains them longer with several seeds (docs/loop.md, "A second real loop").
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ["layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts", "active_experts", "vocab"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("instance")
    p.add_argument("journal")
    p.add_argument("--colaw", default=os.environ.get("COLAW", str(ROOT / "target" / "release" / "colaw")))
    p.add_argument("--top", type=int, default=2)
    a = p.parse_args()
    rounds = sorted(Path(a.journal).glob("round-*/samples.csv"))
    if not rounds:
        sys.exit(f"error: {a.journal} has no round-NNN/samples.csv: run the loop for at least one round first")
    samples = rounds[-1]
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([a.colaw, "region", a.instance, "--samples", str(samples), "--out", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"error: colaw region failed ({r.returncode}): {r.stderr.strip()}")
        with open(os.path.join(out, "region.csv"), newline="") as f:
            rows = [row for row in csv.DictReader(f) if float(row["p_optimal"]) > 0]
    rows.sort(key=lambda row: -float(row["p_optimal"]))
    if not rows:
        sys.exit("error: no design is optimal in any sample of the last round")
    for row in rows[: a.top]:
        d = {k: int(row[k]) for k in FIELDS}
        d.update(label=row["label"], key=f'{row["label"]}|{row["weight_dtype"]}|{row["kv_dtype"]}',
                 tied=row["label"].endswith("-tied"), qkv_bias="-bias" in row["label"],
                 weight_dtype=row["weight_dtype"], kv_dtype=row["kv_dtype"],
                 p_optimal=float(row["p_optimal"]), round=samples.parent.name)
        print(json.dumps(d))


if __name__ == "__main__":
    main()
