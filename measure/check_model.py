"""CPU/GPU consistency check of the harness model (no timing).

prefill(T+1 tokens) last-position logits must equal prefill(T tokens) into the cache followed
by decode(1 token at position T) -- checks RoPE positions, cache writes and attention.  Runs in
float32 so the comparison is tight.   python3 measure/check_model.py [--cuda]
"""
import sys
import os
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

dev = torch.device("cuda" if "--cuda" in sys.argv and torch.cuda.is_available() else "cpu")
dt = torch.float32
designs = [
    dict(name="d", hidden=128, layers=3, heads=4, kv_heads=2, head_dim=32, ffn=256, vocab=500,
         tied=True, qkv_bias=True, experts=1, active_experts=1),
    dict(name="m", hidden=128, layers=2, heads=4, kv_heads=1, head_dim=32, ffn=64, vocab=500,
         tied=False, qkv_bias=False, experts=4, active_experts=2),
]
ok = True
for d in designs:
    m = harness.Model(d, dev, dtype=dt, seed=1, moe_impl=os.environ.get("MOE","torch"))
    B, T = 3, 11
    ids = torch.randint(0, d["vocab"], (B, T + 1), device=dev)
    mk = lambda L: [torch.zeros(B, d["kv_heads"], L, d["head_dim"], device=dev, dtype=dt) for _ in range(d["layers"])]
    full = m.forward(ids, torch.arange(T + 1, device=dev), mk(T + 1), mk(T + 1), "prefill", T + 1)
    kc, vc = mk(T), mk(T)
    m.forward(ids[:, :T], torch.arange(T, device=dev), kc, vc, "prefill", T)
    kc2, vc2 = mk(T + 1), mk(T + 1)
    for a, b in zip(kc + vc, kc2 + vc2):
        b[:, :, :T] = a
    dec = m.forward(ids[:, T:], torch.tensor([T], device=dev), kc2, vc2, "decode", T)
    err = ((dec - full).norm() / full.norm()).item()
    print(d["name"], "prefill-vs-decode rel err", err)
    ok &= err < 1e-4
print("OK" if ok else "FAIL")
sys.exit(0 if ok else 1)
