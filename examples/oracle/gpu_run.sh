#!/usr/bin/env bash
# How the real loop of docs/loop.md was run on the GPU machine (one H100, nothing to download).
# STAGE=sweep: oracle cost and noise (examples/oracle/sweep.py); STAGE=loop: `colaw loop`.
# Needs a release colaw at $COLAW (default .devbin/colaw); writes under $OUT.
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
  if [ -n "${RESUME:-}" ]; then tar xzf "$RESUME/journal.tgz" -C "$OUT"; [ -f "$RESUME/init.csv" ] && cp "$RESUME/init.csv" "$OUT/"; fi
  timeout "${LOOP_S:-540}" "$COLAW" loop --instance instances/loop/gpu-proxy.toml --data "$OUT/init.csv" \
    --init "${INIT:-16}" --journal "$J" --rounds "${ROUNDS:-4}" --per-round "${PER_ROUND:-6}" --jobs "${JOBS:-6}" \
    --bootstrap 100 --timeout-s 300 --retries 1 --seed 0 \
    --oracle "python3 examples/oracle/train_tiny.py --tokens ${TOKENS:-6e6} --width-div 4 --depth-div 2" \
    > "$OUT/loop.json" 2> >(tee -a "$OUT/loop.log" >&2)
  echo "loop exit $?"
  tar czf "$OUT/journal.tgz" -C "$OUT" journal && rm -rf "$J"
  ;;
esac
