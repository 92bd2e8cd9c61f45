#!/usr/bin/env python3
"""Turn the published on-device measurements into colaw's measurement CSV.

Reads data/measurements/published/measurements.csv (numbers as published, see its README) and
writes data/measurements/published/steps.csv: one row per timed forward step, with the
architecture's shape, `device`, `engine`, `weight_format`, `kv_cache_type` and `source` columns,
which `colaw calibrate` and `colaw predict` read.

What becomes a step (anything else is left out, and counted in the summary printed at the end):
- decode_tokens_per_s, decode_ms_per_token(_p50): one decode step; latency 1000/value or value;
  cached positions = prompt + kv_context + output/2 (the mean context of the timed steps).
- prefill_tokens_per_s: prefill of `prompt_tokens` from an empty cache; latency prompt/value s.
- prefill_ms, ttft_ms, ttft_s: prefill of `prompt_tokens` (TTFT also holds the first token's
  sampling, < 1 % of a prefill); rows whose prefill starts from a non-empty cache
  (kv_context_tokens > 0, chunked prefill) are left out: the schema's prefill starts empty.
- End-to-end and aggregate throughputs, rows without an exact architecture, rows whose format
  the engine catalogue cannot name exactly, and rows in a power mode without a hardware file
  are left out.

Usage: python3 scripts/published_to_measurements.py [--check]
  --check: exit 1 if steps.csv would change (for CI-style regeneration checks).
"""
import csv
import io
import os
import sys
import tomllib
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUB = os.path.join(ROOT, "data", "measurements", "published")

# Published format spelling -> (colaw engine, weight format, kv type) where the catalogue holds
# the exact byte layout. Formats without an exact entry are left out rather than approximated,
# except where noted.
ENGINE = {
    "llama.cpp": "llama.cpp",
    "mlc-llm": "mlc-llm",
    "vllm": "vllm",
    "tensorrt-llm": "tensorrt-llm",
    "hf-transformers-eager": "hf-transformers-eager",
    "awq-tinychat": "awq-tinychat",
}
FORMAT = {
    ("llama.cpp", "Q4_K_M"): "Q4_K_M",
    ("llama.cpp", "Q6_K"): "Q6_K",
    ("llama.cpp", "Q8_0"): "Q8_0",
    ("llama.cpp", "F16"): "F16",
    ("llama.cpp", "Q4_0"): "Q4_0",
    ("mlc-llm", "q4f16_1"): "q4f16_1",
    ("mlc-llm", "q4f16_1?"): "q4f16_1",
    ("mlc-llm", "q0f16"): "fp16",
    ("vllm", "F16 (GGUF)"): "fp16",
    # compressed-tensors W4A16 (group 128, fp16 scales, no g_idx): GPTQ's layout less g_idx,
    # 32 bits per input feature (< 0.01 bit per weight).
    ("vllm", "w4a16 (compressed-tensors)"): "gptq-int4-g128",
    ("tensorrt-llm", "int4-gptq-g128"): "trtllm-int4-awq-g128",
    ("tensorrt-llm", "fp8"): "fp8-e4m3-per-tensor",
    ("hf-transformers-eager", "fp16"): "fp16",
    ("awq-tinychat", "awq-int4-g128"): "awq-int4-g128",
    ("awq-tinychat", "fp16"): "fp16",
}
KV = {"f16": "f16", "fp16": "f16", "fp8": "fp8_e4m3", "bf16": "bf16"}
COMPUTE = {"fp8-e4m3-per-tensor": "fp8"}
# Power modes: the shipped file is the device at its top mode.
TOP_MODES = ("not stated", "MAXN", "15W (original dev kit")


def hardware_for(device, mode):
    if mode == "" or mode.startswith(TOP_MODES):
        return device
    tag = mode.split()[0].lower().replace("mode_", "").replace("_", "-")
    variant = f"{device}-{tag}"
    if os.path.exists(os.path.join(ROOT, "models", "hardware", variant + ".toml")):
        return variant
    return None


def load_arch(spec):
    path = spec if spec.endswith(".toml") else os.path.join("models", "archs", spec + ".toml")
    with open(os.path.join(ROOT, path), "rb") as f:
        a = tomllib.load(f)
    return a


def main():
    check = "--check" in sys.argv[1:]
    rows = list(csv.DictReader(open(os.path.join(PUB, "measurements.csv"), newline="")))
    out = []
    skipped = Counter()
    for i, r in enumerate(rows, start=2):
        if not r["arch"]:
            skipped["no exact architecture"] += 1
            continue
        eng = ENGINE.get(r["engine"])
        fmt = FORMAT.get((r["engine"], r["weight_format"]))
        if eng is None or fmt is None:
            skipped[f"format not in the catalogue exactly ({r['engine']} {r['weight_format']})"] += 1
            continue
        hw = hardware_for(r["device"], r["power_mode"])
        if hw is None:
            skipped[f"no hardware file for power mode ({r['device']} {r['power_mode']})"] += 1
            continue
        if r["batch"] != "1":
            skipped["batch > 1"] += 1
            continue
        metric, v = r["metric"], float(r["value"])
        num = lambda k: int(r[k]) if r[k] else None
        prompt, ctx, outn = num("prompt_tokens"), num("kv_context_tokens") or 0, num("output_tokens")
        if metric in ("decode_tokens_per_s", "decode_ms_per_token", "decode_ms_per_token_p50"):
            if prompt is None and outn is None:
                skipped["decode without prompt or output length"] += 1
                continue
            phase = "decode"
            tokens = (prompt or 0) + ctx + (outn or 0) // 2
            ms = 1000.0 / v if metric == "decode_tokens_per_s" else v
        elif metric in ("prefill_tokens_per_s", "prefill_ms", "ttft_ms", "ttft_s"):
            if ctx:
                skipped["prefill from a non-empty cache (chunked)"] += 1
                continue
            if not prompt:
                skipped["prefill without prompt length"] += 1
                continue
            phase, tokens = "prefill", prompt
            ms = {"prefill_tokens_per_s": 1000.0 * prompt / v, "prefill_ms": v, "ttft_ms": v, "ttft_s": 1000.0 * v}[metric]
        else:
            skipped[f"metric {metric} (end-to-end or aggregate)"] += 1
            continue
        if tokens < 1:
            tokens = 1
        a = load_arch(r["arch"])
        kv = KV.get(r["kv_format"], "f16")
        out.append({
            "name": a["name"], "hidden": a["hidden"], "layers": a["layers"], "heads": a["heads"],
            "kv_heads": a["kv_heads"], "head_dim": a["head_dim"], "ffn": a["ffn"], "vocab": a["vocab"],
            "tied": str(a.get("tied_embeddings", False)).lower(), "qkv_bias": str(a.get("qkv_bias", False)).lower(),
            "experts": a.get("experts", 1), "active_experts": a.get("active_experts", 1),
            "phase": phase, "batch": 1, "tokens": tokens, "latency_ms": f"{ms:.6g}",
            "hardware": hw, "engine": eng, "weight_format": fmt, "kv_cache_type": kv,
            "compute_dtype": COMPUTE.get(fmt, "fp16"), "source": r["source_id"], "published_line": i,
            "metric": metric, "value": r["value"],
        })
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(out[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(out)
    target = os.path.join(PUB, "steps.csv")
    old = open(target).read() if os.path.exists(target) else None
    if check:
        sys.exit(0 if old == buf.getvalue() else 1)
    open(target, "w").write(buf.getvalue())
    print(f"{len(out)} steps written to data/measurements/published/steps.csv from {len(rows)} published rows")
    for k, n in skipped.most_common():
        print(f"  left out {n:3d}: {k}")


if __name__ == "__main__":
    main()
