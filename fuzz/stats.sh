#!/usr/bin/env bash
# fuzz/stats.sh [TARGET…]: one Markdown table row per target from afl's fuzzer_stats:
# executions, run time, speed, crashes and hangs saved, edges found, bitmap coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls fuzz/out 2>/dev/null))
for t in "${targets[@]}"; do
    f=fuzz/out/$t/default/fuzzer_stats
    [ -f "$f" ] || { echo "| $t | no run |"; continue; }
    g() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$f"; }
    echo "| $t | $(g execs_done) | $(g run_time) s | $(g execs_per_sec) | $(g corpus_count) | $(g saved_crashes) | $(g saved_hangs) | $(g edges_found) of $(g total_edges) | $(g bitmap_cvg) |"
done
