#!/usr/bin/env bash
# Reproduces a newcomer's first steps: clones this repository (its committed HEAD) into a temp
# folder, runs the README's two commands there in order and prints each one's wall time and last
# lines. Use it after changing anything in the set-up.
#
#   bash scripts/fresh-check.sh            # fresh clone and build folder; reuses ~/.cargo's crate cache
#   bash scripts/fresh-check.sh --cold     # also a fresh, empty CARGO_HOME (downloads every crate)
#   bash scripts/fresh-check.sh --keep     # keep the temp folder (printed) for a look afterwards
#
# Installed system packages (cmake, libclang-dev) are not removed first: to time their install
# too, run it on a machine that lacks them.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cold=0; keep=0
for a in "$@"; do
  case "$a" in
    --cold) cold=1 ;;
    --keep) keep=1 ;;
    *) echo "fresh-check: unknown option '$a' (allowed: --cold, --keep)" >&2; exit 2 ;;
  esac
done
tmp="$(mktemp -d)"
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT
git clone --quiet "$repo" "$tmp/colaw"
# Nothing beside the clone: the repository stands alone (CI's extra folder is not needed).
if [ "$cold" = 1 ]; then
  export CARGO_HOME="$tmp/cargo-home"
  mkdir -p "$CARGO_HOME"
fi
unset CARGO_TARGET_DIR
cd "$tmp/colaw"
step() {
  local name="$1"; shift
  local log="$tmp/$name.log" start end status=0
  start=$(date +%s)
  "$@" >"$log" 2>&1 || status=$?
  end=$(date +%s)
  echo "== $name: exit $status, $((end - start)) s wall ($(nproc) cores)"
  tail -n 12 "$log" | sed 's/^/   /'
  return $status
}
t0=$(date +%s)
step run bash ./scripts/run.sh
step test bash ./scripts/test.sh
echo "== both: $(( $(date +%s) - t0 )) s wall"
if [ "$keep" = 1 ]; then echo "kept: $tmp"; fi
