#!/usr/bin/env bash
# Copy what a GPU-machine run needs into one folder, for the device tool's `carry` (≤ 64 MiB).
#
# Usage: measure/llamacpp/pack_carry.sh [DEST]      (after setup.sh; DEST default measure/llamacpp/target/carry)
#
# DEST mirrors the repository layout, so the scripts find everything by their relative paths:
#   DEST/measure/llamacpp/   the scripts, spaces/, and target/llama.cpp (the minimal pinned source,
#                            ~26 MiB; no build outputs: the CUDA build happens there)
#   DEST/models/archs/       the presets measure.py may be given by name
#   DEST/data/measurements/llamacpp/h200_cuda.*   rows already measured (gpu_run.sh resumes)
# The device machine has no package registry: make_gguf.py then uses the gguf-py copy inside
# target/llama.cpp (it needs numpy, pyyaml and tqdm, which that machine's image has).
# DEST must lie in the checkout the device tool sends, be ignored by git, and be named in
# `carry`: the default, measure/llamacpp/target/carry, is (measure/llamacpp/.gitignore ignores
# target/, and the repository's path test skips folders named target). See gpu_run.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-$here/target/carry}
root=$(cd "$here/../.." && pwd)
[ -f "$here/target/llama.cpp/COLAW_LLAMACPP_VERSION" ] || { echo "error: run measure/llamacpp/setup.sh first (no target/llama.cpp)" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/measure/llamacpp/target" "$dest/models"
cp -a "$here"/*.py "$here"/*.sh "$here/spaces" "$dest/measure/llamacpp/"
cp -a "$here/target/llama.cpp" "$dest/measure/llamacpp/target/"
cp -a "$root/models/archs" "$dest/models/"
# Rows already measured on the GPU machine: gpu_run.sh resumes from them.
if [ -f "$root/data/measurements/llamacpp/h200_cuda.csv" ]; then
    mkdir -p "$dest/data/measurements/llamacpp"
    cp -a "$root"/data/measurements/llamacpp/h200_cuda.* "$dest/data/measurements/llamacpp/"
fi
find "$dest" -name __pycache__ -prune -exec rm -rf {} +
size=$(du -sm "$dest" | cut -f1)
echo "packed $dest: ${size} MiB"
[ "$size" -le 60 ] || { echo "error: $dest is ${size} MiB, over the carry limit" >&2; exit 1; }
