#!/usr/bin/env bash
# How the real loops of docs/loop.md were run on the GPU machine (nothing to download).
# STAGE=sweep: oracle cost and noise (examples/oracle/sweep.py); STAGE=loop: `colaw loop`;
# STAGE=check: the designs in $CHECK (JSON lines) trained longer with several seeds.
# Needs a release colaw at $COLAW (default .devbin/colaw); writes under $OUT.
# The first run (2026-11-25) used the defaults below; the second (2026-12-01):
#   INSTANCE=instances/loop/gpu-proxy-dense.toml ORACLE_ARGS="--tokens 1.6e7 --batch 64 --repeats 2
#   --width-div 4 --depth-div 2" LOOP_ARGS="--uncertainty laplace --prior-rel-sd 1" INIT=12 JOBS=12
#   for the initial designs, then JOBS=6 PER_ROUND=6 CALL_S=400 for the rounds (docs/loop.md).
set -u
OUT=${OUT:-/tmp/colaw-gpu}
COLAW=${COLAW:-$PWD/.devbin/colaw}
export COLAW_MODELS=$PWD/models
export COLAW_ORACLE_CACHE=${COLAW_ORACLE_CACHE:-/tmp/colaw-oracle-corpus}
mkdir -p "$OUT"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  nproc
  # Measured rates, so the machine is described by more than its name.
  python3 - <<'PY'
import time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for _ in range(3): a @ a
torch.cuda.synchronize(); t = time.time()
for _ in range(20): a @ a
torch.cuda.synchronize(); print(f"bf16 GEMM 8192^3: {20 * 2 * 8192**3 / (time.time() - t) / 1e12:.0f} TFLOP/s")
x = torch.empty(2**30, device="cuda", dtype=torch.uint8); y = torch.empty_like(x)
y.copy_(x); torch.cuda.synchronize(); t = time.time()
for _ in range(20): y.copy_(x)
torch.cuda.synchronize(); print(f"device copy 1 GiB: {20 * 2 * 2**30 / (time.time() - t) / 1e9:.0f} GB/s (read + write)")
PY
} > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"
case "${STAGE:-sweep}" in
sweep)
  timeout "${SWEEP_S:-250}" python3 examples/oracle/sweep.py examples/oracle/sweep-designs.jsonl "$OUT/sweep-a.csv" \
    --parallel 6 --tokens "${TOKENS_A:-4e6}" --seeds 0,1 -- --width-div 4 --depth-div 2
  timeout "${SWEEP_S:-250}" python3 examples/oracle/sweep.py examples/oracle/sweep-designs.jsonl "$OUT/sweep-b.csv" \
    --parallel 6 --tokens "${TOKENS_B:-1.6e7}" --seeds 0 -- --width-div 4 --depth-div 2
  ;;
loop)
  J=$OUT/journal
  # RESUME=DIR: a journal.tgz and init.csv from an earlier call (the loop resumes from them).
  # RESUME=DIR with only init.csv (data/oracle/gpu-loop-2): a new journal from those measured rows.
  if [ -n "${RESUME:-}" ]; then
    [ -f "$RESUME/journal.tgz" ] && tar xzf "$RESUME/journal.tgz" -C "$OUT"
    [ -f "$RESUME/init.csv" ] && cp "$RESUME/init.csv" "$OUT/"
  fi
  ORACLE_ARGS=${ORACLE_ARGS:-"--tokens ${TOKENS:-6e6} --width-div 4 --depth-div 2"}
  # One process writes the corpus first, so parallel trainings read it instead of racing to make it.
  python3 examples/oracle/train_tiny.py $ORACLE_ARGS --corpus-only
  # shellcheck disable=SC2086 # LOOP_ARGS is a list of flags
  timeout "${LOOP_S:-540}" "$COLAW" loop --instance "${INSTANCE:-instances/loop/gpu-proxy.toml}" --data "$OUT/init.csv" \
    --init "${INIT:-16}" --journal "$J" --rounds "${ROUNDS:-4}" --per-round "${PER_ROUND:-6}" --jobs "${JOBS:-6}" \
    ${LOOP_ARGS:---uncertainty bootstrap --bootstrap 100} --timeout-s "${CALL_S:-300}" --retries 1 --seed 0 \
    --oracle "python3 examples/oracle/train_tiny.py $ORACLE_ARGS" \
    > "$OUT/loop.json" 2> >(tee -a "$OUT/loop.log" >&2)
  echo "loop exit $?"
  tar czf "$OUT/journal.tgz" -C "$OUT" journal && rm -rf "$J"
  ;;
check)
  # CHECK unset: the choice and the runner-up of the journal's last round (RESUME=DIR with a
  # journal.tgz from a loop call, or a journal already under $OUT), by examples/oracle/check_designs.py.
  if [ -n "${RESUME:-}" ] && [ -f "$RESUME/journal.tgz" ]; then tar xzf "$RESUME/journal.tgz" -C "$OUT"; fi
  if [ -z "${CHECK:-}" ]; then
    CHECK=$OUT/check.jsonl
    python3 examples/oracle/check_designs.py "${INSTANCE:-instances/loop/gpu-proxy.toml}" "$OUT/journal" \
      --colaw "$COLAW" > "$CHECK" || exit 1
    cat "$CHECK"
  fi
  # shellcheck disable=SC2086
  python3 examples/oracle/train_tiny.py --tokens "${TOKENS:-4e7}" ${CHECK_ARGS:---batch 64 --width-div 4 --depth-div 2} --corpus-only
  # shellcheck disable=SC2086
  timeout "${CHECK_S:-540}" python3 examples/oracle/sweep.py "$CHECK" "$OUT/check.csv" \
    --parallel "${JOBS:-6}" --tokens "${TOKENS:-4e7}" --seeds "${SEEDS:-0,1,2}" -- ${CHECK_ARGS:---batch 64 --width-div 4 --depth-div 2}
  ;;
esac
