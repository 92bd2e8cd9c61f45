#!/usr/bin/env bash
# Regenerate the README's performance table: measures each row with the release binary on the
# shipped instances (one thread per solve, medians of 3 runs) and replaces the lines between
# `<!-- perf-table:begin -->` and `<!-- perf-table:end -->` in README.md.
# Usage: bash scripts/perf-table.sh [--print]   (--print: write the table to stdout only)
# Takes about a minute on 2 cores; run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
COLAW=target/release/colaw
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
PAPER=instances/paper/table5-jetson-orin-nx-16gb-embodied.toml
LARGE=instances/bench/large/large-s2026-00003.toml

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'; }
# field of the JSON on stdin
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
# peak RSS in MB of a command (GNU time)
rss_mb() { /usr/bin/time -f %M -o "$tmp/rss" "$@" > /dev/null || true; awk 'END { printf "%.0f", $1 / 1024 }' "$tmp/rss"; }
# median wall time in seconds of 3 runs of a command
wall_s() {
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}
solve_ms() { for _ in 1 2 3 4 5; do "$COLAW" solve "$@" | field solve_ms; done | median; }

load0=$(cut -d' ' -f1 /proc/loadavg)
enum_ms=$(solve_ms "$PAPER" --solver enum)
mip_ms=$(solve_ms "$PAPER" --solver mip)
large_cands=$("$COLAW" solve "$LARGE" --solver enum | field candidates)
large_ms=$(for _ in 1 2 3; do "$COLAW" solve "$LARGE" --solver enum | field solve_ms; done | median)
large_mb=$(rss_mb "$COLAW" solve "$LARGE" --solver enum)

"$COLAW" gen --family paper --count 10000 --seed 2026 --out "$tmp/gen" > /dev/null
batch_s=$(wall_s "$COLAW" batch "$tmp/gen" --out "$tmp/batch.jsonl" --jobs 2)
batch_mb=$(rss_mb "$COLAW" batch "$tmp/gen" --out "$tmp/batch2.jsonl" --jobs 2)

# 1,000 coefficient samples of the paper law: the 64 shipped bootstrap samples repeated (region's
# time depends on the number of draws, not on their values).
S=instances/bench/robust/robust-s2026-00000-law-samples.csv
for _ in $(seq 16); do tail -n +2 "$S"; done > "$tmp/rows.csv"   # no early-closed pipe (pipefail)
{ head -1 "$S"; head -1000 "$tmp/rows.csv"; } > "$tmp/samples.csv"
region_s=$(wall_s "$COLAW" region "$PAPER" --samples "$tmp/samples.csv" --out "$tmp/region")

robust_enum=$(for f in instances/bench/robust/*.toml; do "$COLAW" solve "$f" --solver robust-enum | field solve_ms; done | sort -g | tail -1)
robust_mip=$(for f in instances/bench/robust/*.toml; do "$COLAW" solve "$f" --solver robust-mip | field solve_ms; done | sort -g | tail -1)

fit_s=$(wall_s "$COLAW" fit --law chinchilla data/chinchilla/chinchilla_epoch.csv --drop-highest 5 --bootstrap 1000)

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
load1=$(cut -d' ' -f1 /proc/loadavg)
large_fmt=$(python3 -c "print(f'{int($large_cands):,}')")
table=$(cat <<EOF
<!-- perf-table:begin -->
$(nproc)-core ${cpu} (load average ${load0} at the start, ${load1} at the end: other work
slows every row), one thread per solve, medians; regenerate with \`bash scripts/perf-table.sh\`
(details, per-family tables and the Dolan–Moré profile in \`docs/performance.md\`, from
\`bash scripts/bench-readme.sh\`):

| what | time | peak memory |
|---|---|---|
| \`solve\` of the default paper instance (8,200 candidates), enum / compact MIP | $(printf %.1f "$enum_ms") ms / $(printf %.0f "$mip_ms") ms | – |
| \`solve\` of a ${large_fmt}-candidate instance (\`$LARGE\`), enum | $(printf %.0f "$large_ms") ms | ${large_mb} MB |
| \`batch\` of 10,000 generated paper instances, \`--jobs 2\` | $(printf %.1f "$batch_s") s | ${batch_mb} MB |
| \`region\` with 1,000 coefficient samples on the default instance | $(printf %.2f "$region_s") s | – |
| robust \`solve\` of the 12 \`instances/bench/robust/\` instances (CVaR over 64 samples, chance constraint over 200 latency samples), slowest robust-enum / robust-MIP | $(printf %.0f "$robust_enum") ms / $(printf %.0f "$robust_mip") ms | – |
| \`fit\` of Chinchilla (4,500 starts) + 1,000 bootstrap refits | $(printf %.1f "$fit_s") s | – |
<!-- perf-table:end -->
EOF
)
if [ "${1:-}" = "--print" ]; then
  echo "$table"
  exit 0
fi
python3 - "$table" <<'PY'
import re, sys
table = sys.argv[1]
s = open("README.md", encoding="utf-8").read()
new, n = re.subn(r"<!-- perf-table:begin -->.*?<!-- perf-table:end -->", lambda _: table, s, flags=re.S)
if n != 1:
    sys.exit("README.md: no <!-- perf-table:begin/end --> block")
open("README.md", "w", encoding="utf-8").write(new)
PY
echo "README.md: performance table updated"
