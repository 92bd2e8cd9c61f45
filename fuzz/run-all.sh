#!/usr/bin/env bash
# fuzz/run-all.sh SECONDS: every target in turn for SECONDS each (fuzz/run.sh), then the
# table of results (the one docs/reliability.md records). `fuzz/run-all.sh 10` is a smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run-all.sh SECONDS}
targets=$(ls fuzz/src/bin | sed 's/\.rs$//')
for t in $targets; do
    bash fuzz/run.sh "$t" "$secs" > /dev/null
done
echo "| target | executions | time | execs/s | corpus | crashes | hangs | edges found (of instrumented) | bitmap |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
bash fuzz/stats.sh $targets
