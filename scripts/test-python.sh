#!/usr/bin/env bash
# The Python package's tests (python/tests/, pytest) and the notebook-style example
# (examples/python/*.py, run as scripts with matplotlib's Agg backend). Called by test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
colaw_setup_python
export MPLBACKEND=Agg
"$COLAW_PYTHON" -m pytest -q -p no:cacheprovider python/tests
for ex in examples/python/*.py; do
  out=$(mktemp -d)
  echo "example: $ex"
  "$COLAW_PYTHON" "$ex" --out "$out" | tail -n 5
  rm -rf "$out"
done
