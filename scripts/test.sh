#!/usr/bin/env bash
# The test suite: formatting, lints, unit, integration, property and doc tests.
# Everything builds in the release profile, the one `run.sh` uses, so HiGHS (highs-sys) is
# compiled once per machine, not once per profile. COLAW_PROPTEST_CASES=N runs the property
# tests with N cases each instead of their fast default (the long mode; docs in README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --release --all-targets --quiet 2>&1 | tee "$log" || status=$?
cargo test --release --doc --quiet 2>&1 | tee -a "$log" || status=$?
# Every command shown in README.md and docs/ runs as written (scripts/doc-commands.py).
python3 scripts/doc-commands.py | grep -v '^ok ' || status=$?
# The Python package's tests and example (scripts/test-python.sh).
bash scripts/test-python.sh || status=$?
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit $status
