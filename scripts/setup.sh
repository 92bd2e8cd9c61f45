#!/usr/bin/env bash
# Installs what building colaw needs on a fresh Debian machine; safe to run again, silent and
# root-free when everything is already there. Sourced by run.sh and test.sh.
#
# HiGHS is built from source by highs-sys, which needs cmake, a C++ compiler and libclang for
# bindgen. bindgen (through clang-sys) loads libclang.so, libclang-N.so or libclang.so.N; it
# cannot use libclang-cpp.so.N (LLVM's C++ library, often present on Debian images), so that one
# does not count as "libclang is installed".
set -euo pipefail

# Prints the first libclang that clang-sys would load, or nothing.
colaw_find_libclang() {
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    compgen -G "${LIBCLANG_PATH%/}/libclang*.so*" | grep -E '/libclang(-[0-9.]+)?\.so(\.[0-9]+)*$' | head -n 1 || true
    return
  fi
  {
    ldconfig -p 2>/dev/null | awk '{ print $NF }'
    compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' || true
    compgen -G '/usr/lib/*/libclang*.so*' || true
    compgen -G '/usr/lib64/libclang*.so*' || true
    compgen -G '/usr/local/lib/libclang*.so*' || true
  } | grep -E '/libclang(-[0-9.]+)?\.so(\.[0-9]+)*$' | head -n 1 || true
}

# colaw before 8357f35, run as root with `-o /dev/null`, renamed a file over /dev/null; every
# program's discarded output then piles up in it and cargo's compiler probe (stdin /dev/null)
# fails with "failed to run `rustc` to learn about target-specific information". Restore it.
if [ -e /dev/null ] && [ ! -c /dev/null ]; then
  echo "setup: /dev/null is a plain file, not the null device (an older colaw replaced it); restoring it" >&2
  if [ "$(id -u)" -eq 0 ] && rm -f /dev/null && mknod -m 666 /dev/null c 1 3; then
    rm -rf target/.rustc_info.json 2>/dev/null || true
  else
    echo "setup: could not restore /dev/null; as root run: rm /dev/null && mknod -m 666 /dev/null c 1 3" >&2
    exit 1
  fi
fi

need=()
why=()
if ! command -v cmake >/dev/null 2>&1; then
  need+=(cmake); why+=("cmake: highs-sys builds HiGHS with it")
fi
if ! command -v c++ >/dev/null 2>&1 && ! command -v g++ >/dev/null 2>&1; then
  need+=(g++); why+=("g++: HiGHS is C++")
fi
if ! command -v python3 >/dev/null 2>&1; then
  need+=(python3); why+=("python3: test.sh runs every documented command with scripts/doc-commands.py")
fi
if [ -z "$(colaw_find_libclang)" ]; then
  need+=(libclang-dev)
  if ldconfig -p 2>/dev/null | grep -q 'libclang-cpp'; then
    why+=("libclang-dev: bindgen needs libclang.so (only libclang-cpp, which bindgen cannot load, is here)")
  else
    why+=("libclang-dev: bindgen needs libclang.so to generate HiGHS's bindings")
  fi
fi

if ! command -v script >/dev/null 2>&1; then
  need+=(bsdutils); why+=("bsdutils: tests/progress.rs runs commands on a pseudo-terminal with script(1)")
fi
if [ ${#need[@]} -gt 0 ]; then
  for w in "${why[@]}"; do echo "setup: installing $w" >&2; done
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: not root; install these yourself, then re-run: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2
  if [ -z "$(colaw_find_libclang)" ]; then
    echo "setup: libclang-dev is installed but no libclang.so was found; set LIBCLANG_PATH to the folder that holds it" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2; exit 1; }

# The Python package (python/) and what its tests need; test.sh calls this.
colaw_setup_python() {
  source "$(dirname "${BASH_SOURCE[0]}")/setup-python.sh"
}
