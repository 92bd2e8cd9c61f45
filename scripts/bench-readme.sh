#!/usr/bin/env bash
# Regenerate docs/bench/: the shipped benchmark sets under instances/bench/ (seed 2026),
# `colaw bench` over all of them, and one summary table per family (re-judged from the CSV);
# the `robust` family is benched separately with the robust solver variants.
# Usage: bash scripts/bench-readme.sh [path/to/colaw]
set -euo pipefail
cd "$(dirname "$0")/.."
COLAW=${1:-target/release/colaw}
[ -x "$COLAW" ] || cargo build --release
for f in paper multi infeasible tight; do
  "$COLAW" gen --family "$f" --count 8 --seed 2026 --out "instances/bench/$f"
done
"$COLAW" gen --family large --count 4 --seed 2026 --max-candidates 1e7 --out instances/bench/large
"$COLAW" gen --family robust --count 12 --seed 2026 --out instances/bench/robust
mkdir -p docs/bench
"$COLAW" bench instances/bench/{paper,multi,infeasible,tight,large} --repeat 3 --time-limit 10 \
  --out docs/bench/bench.csv --profile docs/bench/profile.svg > docs/bench/summary.md
for f in paper multi infeasible tight large; do
  { head -1 docs/bench/bench.csv; grep "instances/bench/$f/" docs/bench/bench.csv; } > "docs/bench/$f.csv"
  "$COLAW" bench --from "docs/bench/$f.csv" --out "docs/bench/$f.csv" \
    --profile "docs/bench/profile-$f.svg" > "docs/bench/summary-$f.md"
done
"$COLAW" bench --solvers robust-enum,robust-mip --repeat 3 instances/bench/robust/*.toml \
  --out docs/bench/robust.csv --profile docs/bench/profile-robust.svg > docs/bench/summary-robust.md
