#!/usr/bin/env bash
# The Python package's tests (python/tests/, pytest), the llama.cpp harness's engine-free
# tests (measure/llamacpp/test_gguf.py) and the notebook-style example
# (examples/python/*.py, run as scripts with matplotlib's Agg backend). Called by test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
colaw_setup_python
export MPLBACKEND=Agg
"$COLAW_PYTHON" -m pytest -q -p no:cacheprovider python/tests
# The llama.cpp harness's tests that need no engine (GGUF files read back, parameter counts
# against `colaw params`, bad input, resumable CSV); its end-to-end test says it is skipped
# unless measure/llamacpp/setup.sh has built llama.cpp.
target="${CARGO_TARGET_DIR:-target}"
[[ "$target" = /* ]] || target="$PWD/$target"
COLAW="$target/release/colaw" "$COLAW_PYTHON" measure/llamacpp/test_gguf.py
for ex in examples/python/*.py; do
  out=$(mktemp -d)
  echo "example: $ex"
  "$COLAW_PYTHON" "$ex" --out "$out" | tail -n 5
  rm -rf "$out"
done
