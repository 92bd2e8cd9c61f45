#!/usr/bin/env bash
# One command for the GPU machine: CUDA build of the pinned llama.cpp, device facts, then
# measure.py over six presets and a seeded sample of spaces/gpu-dense.toml (≥ 60 designs ×
# F16, Q8_0, Q4_K_M; prefill 128/512/2048; decode at 128/1024/4096; batch 1). Resumable: the
# build and the CSV live in /tmp on the device, outside the carried folder, so a second call on
# the still-warm machine (warm 30 s after a call) reuses the build and skips measured rows; the
# first call also starts from the rows already committed in data/measurements/llamacpp/h200_cuda.csv.
#
# Here (repository root of the checkout the device tool sends, once):
#     measure/llamacpp/setup.sh            # fetches and prepares the pinned source (CPU build too)
#     measure/llamacpp/pack_carry.sh       # → measure/llamacpp/target/carry (26 MiB, git-ignored)
# Device tool:
#     run(command="bash measure/llamacpp/target/carry/measure/llamacpp/gpu_run.sh 540",
#         carry=["measure/llamacpp/target/carry"], timeout_s=600)
#   argument: seconds after the start after which no new design is begun (default 540)
# Time seen (2026-12-01, one H200, 16 cores): CUDA build 226 s; then 3–50 s per design (GGUF
# writing + quantization dominate; the GPU timing of one design × 3 formats takes ~5 s), so
# three designs' GGUFs are made ahead in parallel (--prefetch 3).
# Results in $OUT: h200_cuda.csv, h200_cuda.device.json, probe.json, setup.log, measure.log.
set -uo pipefail
start=$(date +%s)
budget=${1:-540}
c=$(cd "$(dirname "$0")/../.." && pwd)
cd "$c"
out=${OUT:-/tmp/llamacpp-out}
mkdir -p "$out" /tmp/llamacpp-data
export PYTHONUNBUFFERED=1
export LLAMACPP_BUILD_DIR=/tmp/llamacpp-cuda
export LLAMA_BENCH=$LLAMACPP_BUILD_DIR/bin/llama-bench LLAMA_QUANTIZE=$LLAMACPP_BUILD_DIR/bin/llama-quantize
csv=/tmp/llamacpp-data/h200_cuda.csv
if [ ! -f "$csv" ] && [ -f data/measurements/llamacpp/h200_cuda.csv ]; then
    cp data/measurements/llamacpp/h200_cuda.csv "$csv"
    cp data/measurements/llamacpp/h200_cuda.device.json "${csv%.csv}.device.json" 2>/dev/null
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv > "$out/nvidia-smi.csv" 2>&1
if [ ! -x "$LLAMA_BENCH" ]; then
    # Device probe (PyTorch) on the otherwise idle GPU while the CPU cores compile.
    python3 measure/llamacpp/device_probe.py > "$out/probe.json" 2> "$out/probe.err" &
    probe=$!
    NICE= measure/llamacpp/setup.sh --cuda --no-pip --jobs "$(nproc)" 2>&1 | tee "$out/setup.log"
    wait $probe
fi
[ -x "$LLAMA_BENCH" ] || { echo "CUDA build failed"; tail -40 measure/llamacpp/target/cmake-build.log | tee -a "$out/setup.log"; exit 1; }
left=$(( budget - ($(date +%s) - start) ))
echo "[gpu_run] build ready after $(( $(date +%s) - start )) s; measuring for up to ${left} s"
# The CSV goes back to $OUT every 5 s as well: if the device tool's limit cuts the call short,
# the rows measured so far still come back.
( while sleep 5; do cp "$csv" "$out/h200_cuda.csv.tmp" 2>/dev/null && mv "$out/h200_cuda.csv.tmp" "$out/h200_cuda.csv"; done ) &
copier=$!
# --designs 120 --seed 1: the draw is prefix-stable (the first 64 designs are those of the
# earlier --designs 64 runs), so resuming measures new designs only; the time budget ends the run.
# --threads 8: the committed rows were taken with -t 8, and the thread count is part of the
# resume key; another count re-measures every committed design instead of resuming.
python3 measure/llamacpp/measure.py \
    --archs SmolLM2-135M SmolLM2-360M Qwen2.5-0.5B Llama-3.2-1B TinyLlama-1.1B Qwen2.5-1.5B \
    --space measure/llamacpp/spaces/gpu-dense.toml --designs 120 --seed 1 --max-params 1.2e9 \
    --formats F16,Q8_0,Q4_K_M --prompts 128,512,2048 --depths 128,1024,4096 --n-gen 16 --repeats 5 \
    --threads 8 --prefetch 3 --time-budget-s "$left" --work /tmp/llamacpp-gguf --out "$csv" 2>&1 | tee -a "$out/measure.log"
kill "$copier" 2>/dev/null
cp "$csv" "$out/h200_cuda.csv"
cp "${csv%.csv}.device.json" "$out/h200_cuda.device.json" 2>/dev/null
cp measure/llamacpp/target/cmake-build.log "$out/cmake-build.log" 2>/dev/null
echo "[gpu_run] finished after $(( $(date +%s) - start )) s: $(($(wc -l < "$csv") - 1)) rows"
