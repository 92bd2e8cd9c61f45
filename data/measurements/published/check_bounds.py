#!/usr/bin/env python3
"""Lower bounds implied by the published rows, against colaw's hardware peaks.

For every prefill/TTFT row: FLOPs >= 2 * prompt_tokens * (matmul weights per token of the
transformer blocks), so value implies a compute rate no engine can beat without exceeding
the device's peak. For every FP16/F16 decode row: each generated token reads at least all
active weights once (2 bytes each), so tokens/s implies a memory bandwidth. Both bounds
ignore attention-score FLOPs, KV-cache reads, embeddings and the LM head (they only add), so
a row above a peak means the peak is not an upper bound (or the row is wrong).

Run from the repository root: python3 data/measurements/published/check_bounds.py
Only the standard library is used.
"""
import csv
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[3]
HERE = ROOT / "data/measurements/published"


def arch_of(name):
    """Load an architecture by preset name or repository path."""
    path = ROOT / name if name.endswith(".toml") else ROOT / "models/archs" / f"{name}.toml"
    return tomllib.loads(path.read_text())


def block_matmul_weights(a):
    """Matmul weights of all blocks that one token passes through (active experts only)."""
    d, h = a["hidden"], a["heads"]
    hd = a.get("head_dim", d // h)
    kv = a.get("kv_heads", h)
    attn = 2 * d * h * hd + 2 * d * kv * hd
    ffn = a.get("active_experts", 1) * 3 * d * a["ffn"]
    return a["layers"] * (attn + ffn)


def all_active_weights(a):
    """Block weights plus the LM head: what one decode step must read at least once."""
    return block_matmul_weights(a) + a["vocab"] * a["hidden"]


def hardware(device):
    path = ROOT / "models/hardware" / f"{device}.toml"
    if not path.exists():
        return None
    hw = tomllib.loads(path.read_text())
    return hw["peak_tflops"].get("fp16"), hw["bandwidth_gbps"]


def seconds_of(row):
    m, v = row["metric"], float(row["value"])
    p = int(row["prompt_tokens"]) if row["prompt_tokens"] else 0
    if m == "prefill_tokens_per_s" and p:
        return p / v
    if m in ("ttft_s",):
        return v
    if m in ("ttft_ms", "prefill_ms"):
        return v / 1000.0
    return None


def main():
    rows = list(csv.DictReader(open(HERE / "measurements.csv")))
    print("device,engine,model,weight_format,metric,prompt_tokens,value,implied,peak,ratio,source_id")
    for r in rows:
        if not r["arch"] or r["batch"] != "1":
            continue
        hw = hardware(r["device"])
        if hw is None:
            continue
        peak_tflops, bw_gbps = hw
        a = arch_of(r["arch"])
        secs = seconds_of(r)
        if secs and r["prompt_tokens"]:
            p = int(r["prompt_tokens"])
            tflops = 2 * p * block_matmul_weights(a) / secs / 1e12
            ratio = tflops / peak_tflops
            print(f'{r["device"]},{r["engine"]},{r["model"]},{r["weight_format"]},{r["metric"]},{p},{r["value"]},'
                  f'{tflops:.1f} TFLOPS,{peak_tflops} TFLOPS,{ratio:.2f},{r["source_id"]}')
        elif r["metric"] == "decode_tokens_per_s" and r["weight_format"].lower().startswith(("f16", "fp16", "q0f16")):
            gbps = 2 * all_active_weights(a) * float(r["value"]) / 1e9
            print(f'{r["device"]},{r["engine"]},{r["model"]},{r["weight_format"]},{r["metric"]},,{r["value"]},'
                  f'{gbps:.0f} GB/s,{bw_gbps} GB/s,{gbps / bw_gbps:.2f},{r["source_id"]}')


if __name__ == "__main__":
    main()
