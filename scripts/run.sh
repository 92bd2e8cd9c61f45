#!/usr/bin/env bash
# The main job on the bundled default instance: the paper's Table 5 design space under the
# embodied-AI budget (< 20 ms per decoded token) on a Jetson Orin NX 16GB, solved exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo run --release --quiet -- solve instances/paper/table5-jetson-orin-nx-16gb-embodied.toml --format table "$@"
