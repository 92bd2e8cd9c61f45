#!/usr/bin/env bash
# Installs the Python package (python/, PyO3 + maturin) and what its tests and example need;
# safe to run again. Sourced by setup.sh's `colaw_setup_python` (test.sh calls it), or run
# directly: `bash scripts/setup-python.sh`. Afterwards `$COLAW_PYTHON -c "import colaw"` works
# (COLAW_PYTHON is python3, or .venv/bin/python where the system Python refuses pip installs).
#
# The wheel is built by cargo in the workspace's one target folder with the release profile,
# so it links the HiGHS that `cargo build --release` built (target/release/build/highs-sys-*)
# instead of compiling HiGHS again; only PyO3 and the glue crate are new.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The interpreter: $COLAW_PYTHON, else python3 when it accepts pip installs (a venv, pyenv,
# conda), else a virtual environment in .venv (Debian's system Python is "externally managed").
py="${COLAW_PYTHON:-}"
if [ -z "$py" ]; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "setup: installing python3 python3-venv python3-pip: the Python package needs them" >&2
    [ "$(id -u)" -eq 0 ] || { echo "setup: not root; run: sudo apt-get install python3 python3-venv python3-pip" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip >&2
  fi
  managed=$(python3 -c 'import sys, sysconfig, os; print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))')
  if [ "$managed" = 1 ] || ! python3 -m pip --version >/dev/null 2>&1; then
    if [ ! -x .venv/bin/python ]; then
      if ! python3 -m venv .venv >/dev/null 2>&1; then
        echo "setup: installing python3-venv: the system Python refuses pip installs, so the package goes into .venv" >&2
        [ "$(id -u)" -eq 0 ] || { echo "setup: not root; run: sudo apt-get install python3-venv" >&2; exit 1; }
        rm -rf .venv
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >&2
        python3 -m venv .venv
      fi
      echo "setup: the system Python refuses pip installs (or has no pip); the package goes into .venv (use .venv/bin/python -c \"import colaw\")" >&2
    fi
    py="$PWD/.venv/bin/python"
  else
    py=python3
  fi
fi
export COLAW_PYTHON="$py"

# Build and test requirements from PyPI, only those missing.
missing=()
# gguf: the llama.cpp harness's GGUF writer and its engine-free tests (measure/llamacpp/test_gguf.py).
for m in maturin:maturin pytest:pytest pandas:pandas numpy:numpy matplotlib:matplotlib transformers:transformers gguf:gguf==0.19.0; do
  "$py" -c "import ${m%%:*}" >/dev/null 2>&1 || missing+=("${m##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: pip installing ${missing[*]} (the Python package, its tests and example)" >&2
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip install --quiet "${missing[@]}" >&2
fi
# The package itself; cargo rebuilds only what changed (a few seconds when nothing did).
PIP_DISABLE_PIP_VERSION_CHECK=1 "$py" -m pip install --quiet --no-build-isolation --no-deps ./python 2>&1 \
  | grep -v "Running pip as the 'root' user" >&2 || true
"$py" -c "import colaw" || { echo "setup: the colaw Python package did not install" >&2; exit 1; }
