"""Architecture list for the colaw GPU latency data set.

Presets (real model shapes) plus seeded random designs.  Every design is a dict
with the colaw measurement-schema fields:
    name, hidden, layers, heads, kv_heads, head_dim, ffn, vocab, tied, qkv_bias,
    experts, active_experts
`ffn` is the intermediate size per expert (dense: experts = active_experts = 1).

    python3 measure/designs.py            # print the list with parameter counts
    python3 measure/designs.py --json f   # write it as JSON
"""
import argparse
import json
import math
import random

PRESETS = [
    # requested presets (exact configs)
    dict(name="Qwen2.5-0.5B", hidden=896, layers=24, heads=14, kv_heads=2, head_dim=64,
         ffn=4864, vocab=151936, tied=True, qkv_bias=True),
    dict(name="Qwen2.5-1.5B", hidden=1536, layers=28, heads=12, kv_heads=2, head_dim=128,
         ffn=8960, vocab=151936, tied=True, qkv_bias=True),
    dict(name="Llama-3.2-1B", hidden=2048, layers=16, heads=32, kv_heads=8, head_dim=64,
         ffn=8192, vocab=128256, tied=True, qkv_bias=False),
    dict(name="SmolLM2-135M", hidden=576, layers=30, heads=9, kv_heads=3, head_dim=64,
         ffn=1536, vocab=49152, tied=True, qkv_bias=False),
    dict(name="SmolLM2-360M", hidden=960, layers=32, heads=15, kv_heads=5, head_dim=64,
         ffn=2560, vocab=49152, tied=True, qkv_bias=False),
    dict(name="TinyLlama-1.1B", hidden=2048, layers=22, heads=32, kv_heads=4, head_dim=64,
         ffn=5632, vocab=32000, tied=False, qkv_bias=False),
    # Mixtral-8x7B has 32 layers (46.7 B params, 93 GB in bf16): it does not fit an
    # 80 GB H100, so it is measured with 16 of its 32 layers (23.5 B params, 47 GB).
    dict(name="Mixtral-8x7B-16L", hidden=4096, layers=16, heads=32, kv_heads=8, head_dim=128,
         ffn=14336, vocab=32000, tied=False, qkv_bias=False, experts=8, active_experts=2),
    # extra anchors: a fine-grained MoE and two larger dense models
    dict(name="OLMoE-1B-7B", hidden=2048, layers=16, heads=16, kv_heads=16, head_dim=128,
         ffn=1024, vocab=50304, tied=False, qkv_bias=False, experts=64, active_experts=8),
    dict(name="Llama-3.1-8B", hidden=4096, layers=32, heads=32, kv_heads=8, head_dim=128,
         ffn=14336, vocab=128256, tied=False, qkv_bias=False),
    dict(name="Qwen2.5-3B", hidden=2048, layers=36, heads=16, kv_heads=2, head_dim=128,
         ffn=11008, vocab=151936, tied=True, qkv_bias=True),
]

VOCABS = [32000, 49152, 128256, 151936]
MAX_WEIGHT_BYTES = 36e9  # random designs above this are redrawn (leave room for KV + activations)


def normalize(d):
    d = dict(d)
    d.setdefault("experts", 1)
    d.setdefault("active_experts", 1)
    d.setdefault("qkv_bias", False)
    return d


def param_count(d):
    """(total params, params touched per token) for one design."""
    h, L, H, KV, D, F = d["hidden"], d["layers"], d["heads"], d["kv_heads"], d["head_dim"], d["ffn"]
    E, A = d["experts"], d["active_experts"]
    attn = h * (H + 2 * KV) * D + H * D * h + (H + 2 * KV) * D * (1 if d["qkv_bias"] else 0)
    norms = 2 * h
    if E > 1:
        ffn_total = E * 3 * h * F + h * E
        ffn_active = A * 3 * h * F + h * E
    else:
        ffn_total = ffn_active = 3 * h * F
    emb = d["vocab"] * h
    head = 0 if d["tied"] else d["vocab"] * h
    total = L * (attn + norms + ffn_total) + emb + head + h
    active = L * (attn + norms + ffn_active) + head + (emb if d["tied"] else 0) + h
    return total, active


def random_designs(n, seed=20251117, moe_every=5):
    """n seeded random designs; every `moe_every`-th one (index % moe_every == moe_every-1)
    is a mixture of experts, i.e. 20 % of them by default."""
    rng = random.Random(seed)
    out = []
    i = 0
    while len(out) < n:
        i += 1
        layers = rng.randint(4, 40)
        # log-uniform hidden in [384, 4096], rounded to 64 (<1024) or 128
        h = math.exp(rng.uniform(math.log(384), math.log(4096)))
        step = 64 if h < 1024 else 128
        hidden = int(round(h / step)) * step
        hidden = min(max(hidden, 384), 4096)
        head_dim = rng.choice([64, 128])
        if hidden % head_dim:
            head_dim = 64
        heads = hidden // head_dim
        kv_opts = sorted({k for k in (1, 2, 4, 8, heads) if heads % k == 0})
        kv_heads = rng.choice(kv_opts)
        vocab = rng.choice(VOCABS)
        tied = rng.random() < 0.5
        qkv_bias = rng.random() < 0.25
        moe = (len(out) % moe_every) == moe_every - 1
        ratio = rng.uniform(1.0, 4.0)
        fstep = 256 if hidden >= 1024 else 64
        ffn = max(fstep, int(round(hidden * ratio / fstep)) * fstep)
        experts, active = (rng.choice([4, 8, 16]), rng.choice([1, 2])) if moe else (1, 1)
        d = dict(name=f"rand-{len(out):03d}", hidden=hidden, layers=layers, heads=heads,
                 kv_heads=kv_heads, head_dim=head_dim, ffn=ffn, vocab=vocab, tied=tied,
                 qkv_bias=qkv_bias, experts=experts, active_experts=active)
        total, _ = param_count(d)
        if 2 * total > MAX_WEIGHT_BYTES:
            continue  # redraw: would not leave room for cache/activations on 80 GB
        out.append(d)
    return out


def all_designs(n_random=80, seed=20251117):
    pre = [normalize(d) for d in PRESETS]
    rnd = random_designs(n_random, seed)
    return pre + rnd


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-random", type=int, default=80)
    ap.add_argument("--seed", type=int, default=20251117)
    ap.add_argument("--json")
    a = ap.parse_args()
    ds = all_designs(a.n_random, a.seed)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(ds, f, indent=1)
    for d in ds:
        t, act = param_count(d)
        print(f"{d['name']:18s} h={d['hidden']:5d} L={d['layers']:2d} H={d['heads']:2d} kv={d['kv_heads']:2d} "
              f"D={d['head_dim']:3d} ffn={d['ffn']:5d} V={d['vocab']:6d} tied={int(d['tied'])} bias={int(d['qkv_bias'])} "
              f"E={d['experts']:2d}/{d['active_experts']} params={t/1e9:6.2f}B active={act/1e9:6.2f}B")
