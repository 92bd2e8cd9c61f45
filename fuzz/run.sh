#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS [EXECS]: build the afl binary of TARGET (fuzz/src/bin/TARGET.rs),
# build its corpus (fuzz/make-corpus.sh) and fuzz it for SECONDS under `nice -n 19`, then
# print one line of results (fuzz/stats.sh). With EXECS, it stops as soon as that many
# executions are done (afl -E), whichever comes first. Findings land in fuzz/out/TARGET/default/
# {crashes,hangs}/; a later run of the same target resumes that output folder.
# Needs cargo-afl (`cargo install cargo-afl`, then `cargo afl config --build` once).
#
# Limits per input: 8 GiB of address space (-m: an input that makes colaw allocate more is
# a crash, as it would be on a small machine) and 2 s (-t: slower is a hang).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
secs=${2:?usage: fuzz/run.sh TARGET SECONDS [EXECS]}
execs=${3:+-E $3}
[ -f "fuzz/src/bin/$target.rs" ] || { echo "unknown target $target; targets: $(ls fuzz/src/bin | sed 's/\.rs$//' | tr '\n' ' ')" >&2; exit 2; }
command -v cargo-afl > /dev/null || { echo "fuzz/run.sh needs cargo-afl: cargo install cargo-afl && cargo afl config --build" >&2; exit 2; }
# FUZZ_NO_BUILD=1 fuzzes the binary already built (a campaign that goes on while the tree changes).
[ -n "${FUZZ_NO_BUILD:-}" ] || (cd fuzz && nice -n 19 cargo afl build --release --quiet --bin "$target")
bash fuzz/make-corpus.sh "$target" > /dev/null
out=fuzz/out/$target
mkdir -p "$out"
# The targets read models/ and relative paths from the repository root, the working folder here.
AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_AUTORESUME=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_NO_AFFINITY=1 \
    nice -n 19 cargo afl fuzz -i "fuzz/corpus/$target" -o "$out" -m 8192 -t 2000 -V "$secs" $execs \
    -- "fuzz/target/release/$target" > "$out/afl.log" 2>&1 || { tail -30 "$out/afl.log" >&2; exit 1; }
bash fuzz/stats.sh "$target"
