#!/usr/bin/env bash
# Reproduces docs/performance.md's "Python" table: evaluate_many on 10⁶ designs against the
# same evaluation in Rust (examples/evaluate_table.rs, the function evaluate_many wraps) and
# against looping over colaw.evaluate (timed on 2,000 rows, extrapolated). Both sides take
# the best of 5 runs on the same rows. Needs the Python package (scripts/setup-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
colaw_setup_python
rows="${1:-1000000}"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rust:   $(cargo run --release --quiet --example evaluate_table -- "$rows")"
echo "python: $("$COLAW_PYTHON" python/bench/evaluate_many.py "$rows" 2000)"
