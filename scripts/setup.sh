#!/usr/bin/env bash
# Installs what building colaw needs on a fresh Debian machine; safe to run again.
# HiGHS is built from source by highs-sys, which needs cmake and libclang (bindgen).
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null || compgen -G '/usr/lib/*/libclang*.so*' >/dev/null || need+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2; exit 1; }
