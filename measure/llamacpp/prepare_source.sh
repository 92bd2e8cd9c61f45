#!/usr/bin/env bash
# Make the minimal llama.cpp source folder that setup.sh builds (here and on the GPU machine).
#
# Usage: prepare_source.sh SDIST_TARBALL DEST
#   SDIST_TARBALL  llama_cpp_python-<version>.tar.gz from the package registry (setup.sh fetches it)
#   DEST           folder to create (replaced if it exists), e.g. measure/llamacpp/target/llama.cpp
#
# Keeps only what a CPU or CUDA build of llama-bench and llama-quantize needs: the top CMake
# files, ggml (CPU and CUDA backends only), src, include, common, vendor, licenses, the tools
# whose folders tools/CMakeLists.txt adds (not the web UI or server), and gguf-py (the Python
# GGUF writer of the same commit, used where pip cannot reach the registry). About 25 MiB, so
# it fits the device tool's 64 MiB carry limit. Writes DEST/COLAW_LLAMACPP_VERSION with the pin.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 SDIST_TARBALL DEST" >&2
    exit 2
fi
sdist=$1
dest=$2
[ -f "$sdist" ] || { echo "error: sdist $sdist not found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$sdist" -C "$tmp"
top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
src=$top/vendor/llama.cpp
[ -f "$src/CMakeLists.txt" ] || { echo "error: $sdist holds no vendor/llama.cpp/CMakeLists.txt" >&2; exit 1; }
# The sdist keeps the submodule's git directory; its HEAD is the llama.cpp commit.
commit=$(cat "$top/.git/modules/vendor/llama.cpp/HEAD" 2>/dev/null || echo unknown)
pyver=$(sed -n 's/^Version: //p' "$top/PKG-INFO" | head -1)

rm -rf "$dest.partial"
mkdir -p "$dest.partial"
cp -a "$src/CMakeLists.txt" "$src/LICENSE" "$src/cmake" "$src/src" "$src/include" "$src/common" \
      "$src/vendor" "$src/licenses" "$src/gguf-py" "$dest.partial/"
mkdir -p "$dest.partial/ggml/src" "$dest.partial/tools"
cp -a "$src/ggml/CMakeLists.txt" "$src/ggml/cmake" "$src/ggml/include" "$dest.partial/ggml/"
for f in "$src"/ggml/src/*; do
    case $(basename "$f") in
        ggml-*) [ -f "$f" ] && cp -a "$f" "$dest.partial/ggml/src/" ;;  # shared ggml-*.c/.cpp files
        *) cp -a "$f" "$dest.partial/ggml/src/" ;;
    esac
done
cp -a "$src/ggml/src/ggml-cpu" "$src/ggml/src/ggml-cuda" "$dest.partial/ggml/src/"
for t in "$src"/tools/*; do
    case $(basename "$t") in
        ui | server | cli) ;;   # only added with LLAMA_BUILD_SERVER=ON, which setup.sh leaves off
        *) cp -a "$t" "$dest.partial/tools/" ;;
    esac
done
cat > "$dest.partial/COLAW_LLAMACPP_VERSION" <<VER
llama_cpp_python_version=$pyver
llama_cpp_commit=$commit
sdist_sha256=$(sha256sum "$sdist" | cut -d' ' -f1)
VER
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "prepared $dest ($(du -sh "$dest" | cut -f1)): llama-cpp-python $pyver, llama.cpp $commit"
