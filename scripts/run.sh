#!/usr/bin/env bash
# The main job on the bundled default: evaluate the Qwen2.5-0.5B architecture on a
# Jetson AGX Orin 64GB under the paper's workload (B=1, S_in=1024, S_out=16).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --quiet -- eval Qwen2.5-0.5B --hardware jetson-agx-orin-64gb --format table "$@"
