#!/usr/bin/env python3
"""GPU latency harness for colaw's measurement schema.

Builds a decoder-only transformer with random bf16 weights for each architecture, a static
(preallocated) KV cache, and times exactly one forward:

  prefill  one forward over `tokens` new tokens per sequence (batch `batch`) from an empty
           cache, writing K/V into the cache; logits for the last position only.
  decode   one forward of one new token per sequence attending to `tokens` cached positions
           (cache filled with random values at [0, tokens)), writing K/V at position `tokens`.

Engines: `eager` (plain PyTorch eager) and `cudagraph` (the same forward captured once with
torch.cuda.CUDAGraph and replayed).  See measure/README.md for the details.

    python3 measure/harness.py --device-facts $OUT/device.json \
        --out $OUT/h100_run1.csv --shard 0/2 --time-budget 480
"""
import argparse
import csv
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import designs as designs_mod  # noqa: E402

# `--plan` only prints the estimated work and runs without torch (on a laptop, before renting
# a GPU); every other mode stops in main() with the import error.
try:
    import torch
    import torch.nn.functional as F
    import moe as moe_mod  # noqa: E402
    TORCH_IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover
    torch = F = moe_mod = None
    TORCH_IMPORT_ERROR = e

COLUMNS = [
    # colaw measurement schema (required + known columns)
    "hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied", "phase", "batch",
    "tokens", "name", "experts", "active_experts", "qkv_bias", "weight_dtype", "kv_dtype",
    "latency_ms", "engine",
    # extras
    "latency_min_ms", "latency_p10_ms", "latency_p90_ms", "latency_mean_ms", "repeats", "warmup",
    "params", "active_params", "weight_bytes", "kv_cache_bytes", "attn_kernel", "moe_impl",
    "moe_experts_touched", "gpu",
]

ROPE_BASE = 10000.0
EPS = 1e-6


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------
# model

def rms_norm(x, w):
    if hasattr(F, "rms_norm"):
        return F.rms_norm(x, (x.shape[-1],), w, EPS)
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype) * w


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Model:
    """Random-weight decoder-only transformer (weights as plain tensors)."""

    def __init__(self, d, device, dtype=None, seed=0, max_pos=8192, moe_impl="triton"):
        self.d = d
        self.device = device
        dtype = torch.bfloat16 if dtype is None else dtype
        self.dtype = dtype
        h, H, KV, D, Fi = d["hidden"], d["heads"], d["kv_heads"], d["head_dim"], d["ffn"]
        E = d["experts"]
        self.moe = E > 1
        self.moe_fn = moe_mod.moe_triton if moe_impl == "triton" else moe_mod.moe_torch
        gen = torch.Generator(device=device)
        gen.manual_seed(seed)

        def w(*shape, std):
            t = torch.empty(shape, device=device, dtype=dtype)
            t.normal_(0.0, std, generator=gen)
            return t

        self.embed = w(d["vocab"], h, std=1.0)
        self.lm_head = self.embed if d["tied"] else w(d["vocab"], h, std=h ** -0.5)
        self.final_norm = torch.ones(h, device=device, dtype=dtype)
        self.layers = []
        qkv_out = (H + 2 * KV) * D
        for _ in range(d["layers"]):
            L = dict(
                attn_norm=torch.ones(h, device=device, dtype=dtype),
                ffn_norm=torch.ones(h, device=device, dtype=dtype),
                w_qkv=w(qkv_out, h, std=h ** -0.5),  # fused Q|K|V projection
                b_qkv=w(qkv_out, std=0.02) if d["qkv_bias"] else None,
                w_o=w(h, H * D, std=(H * D) ** -0.5),
            )
            if self.moe:
                L["w_router"] = w(E, h, std=h ** -0.5)
                L["w_gu"] = w(E, 2 * Fi, h, std=h ** -0.5)     # per expert: gate rows | up rows
                L["w_down"] = w(E, h, Fi, std=Fi ** -0.5)
            else:
                L["w_gu"] = w(2 * Fi, h, std=h ** -0.5)        # fused gate|up
                L["w_down"] = w(h, Fi, std=Fi ** -0.5)
            self.layers.append(L)
        inv = 1.0 / (ROPE_BASE ** (torch.arange(0, D, 2, device=device, dtype=torch.float32) / D))
        t = torch.arange(max_pos, device=device, dtype=torch.float32)
        fr = torch.outer(t, inv)
        emb = torch.cat((fr, fr), dim=-1)
        self.cos_cache = emb.cos().to(dtype)
        self.sin_cache = emb.sin().to(dtype)
        self.routing_log = None  # list -> forward appends top-k expert ids per layer

    def weight_bytes(self):
        n = self.embed.numel() + (0 if self.d["tied"] else self.lm_head.numel()) + self.final_norm.numel()
        for L in self.layers:
            n += sum(v.numel() for v in L.values() if v is not None)
        return n * self.embed.element_size()

    def forward(self, ids, pos_ids, kcache, vcache, phase, cache_pos):
        d = self.d
        B, T = ids.shape
        h, H, KV, D = d["hidden"], d["heads"], d["kv_heads"], d["head_dim"]
        gqa = H != KV
        x = F.embedding(ids, self.embed)
        cos = self.cos_cache.index_select(0, pos_ids)[None, None]
        sin = self.sin_cache.index_select(0, pos_ids)[None, None]
        for li, L in enumerate(self.layers):
            hn = rms_norm(x, L["attn_norm"])
            qkv = F.linear(hn, L["w_qkv"], L["b_qkv"])
            q, k, v = qkv.split([H * D, KV * D, KV * D], dim=-1)
            q = q.view(B, T, H, D).transpose(1, 2)
            k = k.view(B, T, KV, D).transpose(1, 2)
            v = v.view(B, T, KV, D).transpose(1, 2)
            q = rope(q, cos, sin)
            k = rope(k, cos, sin)
            kc, vc = kcache[li], vcache[li]
            if phase == "prefill":
                kc.copy_(k)
                vc.copy_(v)
                o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
            else:
                kc[:, :, cache_pos:cache_pos + 1].copy_(k)
                vc[:, :, cache_pos:cache_pos + 1].copy_(v)
                o = F.scaled_dot_product_attention(q, kc, vc, enable_gqa=gqa)
            o = o.transpose(1, 2).reshape(B, T, H * D)
            x = x + F.linear(o, L["w_o"])
            hn = rms_norm(x, L["ffn_norm"])
            if self.moe:
                hf = hn.reshape(B * T, h)
                logits = F.linear(hf, L["w_router"])
                topv, topi = torch.topk(logits.float(), d["active_experts"], dim=-1)
                topw = torch.softmax(topv, dim=-1)
                if self.routing_log is not None:
                    self.routing_log.append(topi)
                y = self.moe_fn(hf, L["w_gu"], L["w_down"], topi, topw)
                x = x + y.view(B, T, h)
            else:
                gu = F.linear(hn, L["w_gu"])
                g, u = gu.chunk(2, dim=-1)
                x = x + F.linear(F.silu(g) * u, L["w_down"])
        xl = rms_norm(x[:, -1], self.final_norm)
        return F.linear(xl, self.lm_head)


# ----------------------------------------------------------------------------------------
# estimates (for skipping and for planning)

def flops_bytes(d, phase, B, T):
    """Rough FLOPs and minimum bytes of one forward (used only to skip / plan)."""
    total, active = designs_mod.param_count(d)
    h, L, H, KV, D, V = d["hidden"], d["layers"], d["heads"], d["kv_heads"], d["head_dim"], d["vocab"]
    emb = V * h
    body_active = active - (0 if d["tied"] else V * h) - (emb if d["tied"] else 0)
    n = B * T if phase == "prefill" else B
    fl = 2 * body_active * n + 2 * B * h * V
    if phase == "prefill":
        fl += L * 2 * B * T * T * H * D  # causal QK^T + PV
        kv = L * 2 * B * KV * T * D * 2
    else:
        fl += L * 4 * B * (T + 1) * H * D
        kv = L * 2 * B * KV * (T + 1) * D * 2
    E, A = d["experts"], d["active_experts"]
    if E > 1:
        touched = E * (1 - (1 - A / E) ** n)
        wbytes = 2 * (total - L * E * 3 * h * d["ffn"] + L * touched * 3 * h * d["ffn"])
    else:
        wbytes = 2 * total
    if d["tied"]:
        wbytes -= 0  # embedding read = lm head read
    return fl, wbytes + kv, kv


def est_ms(d, phase, B, T, tflops=600.0, tbps=2.8):
    fl, by, _ = flops_bytes(d, phase, B, T)
    return max(fl / (tflops * 1e9), by / (tbps * 1e9))


def act_bytes(d, phase, B, T):
    n = B * T if phase == "prefill" else B
    h, H, KV, D, Fi = d["hidden"], d["heads"], d["kv_heads"], d["head_dim"], d["ffn"]
    k = d["active_experts"]
    per_tok = 8 * h + 4 * (H + 2 * KV) * D + 3 * 2 * Fi * (k if d["experts"] > 1 else 1)
    if d["experts"] > 1:
        per_tok += 2 * k * h
    return 2 * n * per_tok + 4 * B * d["vocab"] * 2


# ----------------------------------------------------------------------------------------
# timing

class Timer:
    def __init__(self, device, flush_mb=128):
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.flush_buf = torch.empty(flush_mb * 2 ** 20, dtype=torch.uint8, device=device)
            self.e0 = torch.cuda.Event(enable_timing=True)
            self.e1 = torch.cuda.Event(enable_timing=True)

    def once(self, fn):
        """Wall time of one call of fn in ms; L2 flushed and device idle before it."""
        if self.cuda:
            self.flush_buf.zero_()
            torch.cuda.synchronize()
            self.e0.record()
            fn()
            self.e1.record()
            self.e1.synchronize()
            return self.e0.elapsed_time(self.e1)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3

    def measure(self, fn, warmup, min_reps, max_reps, target_ms):
        gc.collect()
        gc.disable()  # no Python GC pauses inside timed forwards
        try:
            return self._measure(fn, warmup, min_reps, max_reps, target_ms)
        finally:
            gc.enable()

    def _measure(self, fn, warmup, min_reps, max_reps, target_ms):
        ws = [self.once(fn) for _ in range(warmup)]
        t_est = min(ws[-2:]) if len(ws) >= 2 else ws[-1]
        reps = int(min(max_reps, max(min_reps, math.ceil(target_ms / max(t_est, 1e-3)))))
        ts = sorted(self.once(fn) for _ in range(reps))
        q = lambda p: ts[min(len(ts) - 1, int(round(p * (len(ts) - 1))))]
        return dict(latency_ms=statistics.median(ts), latency_min_ms=ts[0], latency_p10_ms=q(0.1),
                    latency_p90_ms=q(0.9), latency_mean_ms=sum(ts) / len(ts), repeats=reps,
                    warmup=warmup)


def sdpa_ctx(mode):
    from contextlib import nullcontext
    if mode == "auto":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel({"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                        "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}[mode])


def capture_graph(fn):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()  # one eager run on the capture stream (cuBLAS handles/workspaces for it)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = fn()
    return g, out


# ----------------------------------------------------------------------------------------
# one architecture

def fmt_bool(b):
    return "true" if b else "false"


def run_arch(d, args, device, timer, writer, gpu_name, deadline):
    rows = []
    total, active = designs_mod.param_count(d)
    t_arch = time.time()
    torch.cuda.empty_cache() if device.type == "cuda" else None
    free = torch.cuda.mem_get_info()[0] if device.type == "cuda" else 1 << 62
    if 2 * total > free - 2e9:
        log(f"SKIP {d['name']}: weights {2*total/1e9:.1f} GB do not fit ({free/1e9:.1f} GB free)")
        return rows
    moe_impl = "none"
    if d["experts"] > 1:
        moe_impl = "triton_grouped" if args.moe_impl == "triton" else "torch_loop"
    model = Model(d, device, seed=args.seed, moe_impl=args.moe_impl,
                  max_pos=max(args.prefill_tokens + args.decode_tokens) + 2)
    wbytes = model.weight_bytes()
    engines = [e for e in args.engines if device.type == "cuda" or e == "eager"]
    if d["experts"] > 1 and args.moe_impl != "triton":
        engines = [e for e in engines if e == "eager"]  # host-synchronising loop: not capturable
    KV, D, Lyr = d["kv_heads"], d["head_dim"], d["layers"]
    configs = [("prefill", B, T) for B in args.batches for T in args.prefill_tokens] + \
              [("decode", B, T) for B in args.batches for T in args.decode_tokens]
    checked = False
    for phase, B, T in configs:
        if time.time() > deadline:
            log(f"SKIP {d['name']} {phase} b{B} t{T}: time budget exhausted")
            continue
        e_ms = est_ms(d, phase, B, T)
        if e_ms > args.max_est_ms:
            log(f"SKIP {d['name']} {phase} b{B} t{T}: estimated {e_ms:.0f} ms/forward > {args.max_est_ms} ms")
            continue
        L_cache = T if phase == "prefill" else T + 1
        kv_bytes = Lyr * 2 * B * KV * L_cache * D * 2
        need = kv_bytes + act_bytes(d, phase, B, T) * (1 + ("cudagraph" in engines))
        if device.type == "cuda":
            free = torch.cuda.mem_get_info()[0] + torch.cuda.memory_reserved() - torch.cuda.memory_allocated()
            if need > free - 1.5e9:
                log(f"SKIP {d['name']} {phase} b{B} t{T}: needs ~{need/1e9:.1f} GB, {free/1e9:.1f} GB free")
                continue
        kc = vc = graph = None
        try:
            kc = [torch.empty(B, KV, L_cache, D, device=device, dtype=torch.bfloat16) for _ in range(Lyr)]
            vc = [torch.empty(B, KV, L_cache, D, device=device, dtype=torch.bfloat16) for _ in range(Lyr)]
            if phase == "decode":
                for c in kc + vc:
                    c[:, :, :T].normal_()
            Tn = T if phase == "prefill" else 1
            ids = torch.randint(0, d["vocab"], (B, Tn), device=device)
            pos = torch.arange(T, device=device) if phase == "prefill" else \
                torch.tensor([T], device=device)
            fwd = lambda: model.forward(ids, pos, kc, vc, phase, T)  # noqa: E731
            base = dict(hidden=d["hidden"], layers=Lyr, heads=d["heads"], kv_heads=KV, head_dim=D,
                        ffn=d["ffn"], vocab=d["vocab"], tied=fmt_bool(d["tied"]), phase=phase,
                        batch=B, tokens=T, name=d["name"], experts=d["experts"],
                        active_experts=d["active_experts"], qkv_bias=fmt_bool(d["qkv_bias"]),
                        weight_dtype="bf16", kv_dtype="bf16", params=total, active_params=active,
                        weight_bytes=wbytes, kv_cache_bytes=kv_bytes, attn_kernel=args.attn,
                        moe_impl=moe_impl, moe_experts_touched="", gpu=gpu_name)
            slow = e_ms > 20
            min_reps = args.min_reps
            with sdpa_ctx(args.attn), torch.inference_mode():
                ref = None
                if "eager" in engines or "cudagraph" in engines:
                    # eager (also the warm-up / compile step for the graph)
                    r = timer.measure(fwd, args.warmup, min_reps, args.max_reps, args.target_ms)
                    if not checked:
                        ref = fwd().float()
                        if not torch.isfinite(ref).all():
                            log(f"WARN {d['name']} {phase} b{B} t{T}: non-finite logits")
                    if d["experts"] > 1:
                        model.routing_log = []
                        fwd()
                        touched = [torch.unique(t).numel() for t in model.routing_log]
                        model.routing_log = None
                        base["moe_experts_touched"] = f"{sum(touched)/len(touched):.3f}"
                    if "eager" in engines:
                        rows.append({**base, "engine": "eager", **r})
                        log(f"{d['name']:18s} {phase:7s} b{B:<3d} t{T:<5d} eager     "
                            f"{r['latency_ms']:9.3f} ms (min {r['latency_min_ms']:.3f}, n={r['repeats']}, est {e_ms:.2f})")
                if "cudagraph" in engines:
                    graph, gout = capture_graph(fwd)
                    r = timer.measure(graph.replay, 2, min_reps, args.max_reps, args.target_ms)
                    if not checked:
                        diff = ((gout.float() - ref).norm() / ref.norm().clamp_min(1e-9)).item()
                        log(f"CHECK {d['name']} {phase} b{B} t{T}: graph vs eager logits rel diff {diff:.2e}")
                        checked = True
                    rows.append({**base, "engine": "cudagraph", **r})
                    log(f"{d['name']:18s} {phase:7s} b{B:<3d} t{T:<5d} cudagraph "
                        f"{r['latency_ms']:9.3f} ms (min {r['latency_min_ms']:.3f}, n={r['repeats']})")
        except torch.cuda.OutOfMemoryError:
            log(f"SKIP {d['name']} {phase} b{B} t{T}: CUDA out of memory")
        except Exception as ex:  # keep going: log and skip this config
            log(f"ERROR {d['name']} {phase} b{B} t{T}: {type(ex).__name__}: {ex}")
            traceback.print_exc()
        finally:
            del kc, vc, graph
            if device.type == "cuda":
                torch.cuda.empty_cache()
    del model
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in COLUMNS})
    log(f"ARCH {d['name']} done: {len(rows)} rows in {time.time()-t_arch:.1f} s "
        f"(params {total/1e9:.2f} B, weights {wbytes/1e9:.2f} GB)")
    return rows


# ----------------------------------------------------------------------------------------
# device facts

def device_facts(device, path):
    info = dict(torch=torch.__version__, python=platform.python_version(), cuda_runtime=torch.version.cuda)
    try:
        import triton
        info["triton"] = triton.__version__
    except Exception:
        info["triton"] = None
    if device.type != "cuda":
        info["gpu"] = "cpu"
        json.dump(info, open(path, "w"), indent=1)
        return info
    p = torch.cuda.get_device_properties(device)
    info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", sms=p.multi_processor_count,
                memory_bytes=p.total_memory, l2_bytes=getattr(p, "L2_cache_size", None),
                cudnn=torch.backends.cudnn.version())
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,clocks.max.mem,power.limit",
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip()
        info["nvidia_smi"] = q
        info["driver"] = q.split(",")[0].strip()
    except Exception as ex:
        info["driver"] = f"unknown ({ex})"
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def bench(fn, reps=20, warm=3):
        for _ in range(warm):
            fn()
        ts = []
        for _ in range(reps):
            torch.cuda.synchronize()
            e0.record()
            fn()
            e1.record()
            e1.synchronize()
            ts.append(e0.elapsed_time(e1))
        return statistics.median(ts)

    n = 2 ** 30  # 1 GiB copy
    a = torch.empty(n, dtype=torch.uint8, device=device).random_(0, 255)
    b = torch.empty_like(a)
    ms = bench(lambda: b.copy_(a))
    info["copy_bytes"] = n
    info["copy_bandwidth_GBps"] = 2 * n / (ms * 1e-3) / 1e9  # read + write
    del a, b
    for nn in (8192, 4096):
        x = torch.randn(nn, nn, device=device, dtype=torch.bfloat16)
        y = torch.randn(nn, nn, device=device, dtype=torch.bfloat16)
        ms = bench(lambda: x @ y)
        info[f"gemm_bf16_{nn}_TFLOPs"] = 2 * nn ** 3 / (ms * 1e-3) / 1e12
        del x, y
    # GEMV (decode-like, memory bound): 16384x16384 bf16 weight times a vector
    w = torch.randn(16384, 16384, device=device, dtype=torch.bfloat16)
    v = torch.randn(1, 16384, device=device, dtype=torch.bfloat16)
    flush = torch.empty(128 * 2 ** 20, dtype=torch.uint8, device=device)
    ts = []
    for _ in range(30):
        flush.zero_()
        torch.cuda.synchronize()
        e0.record(); F.linear(v, w); e1.record(); e1.synchronize()
        ts.append(e0.elapsed_time(e1))
    info["gemv_bf16_16384_GBps"] = w.numel() * 2 / (statistics.median(ts) * 1e-3) / 1e9
    del w, v
    # launch latency
    t = torch.zeros(1, device=device)
    for _ in range(100):
        t.add_(1)
    torch.cuda.synchronize()
    N = 2000
    e0.record()
    for _ in range(N):
        t.add_(1)
    e1.record()
    e1.synchronize()
    info["eager_launch_interval_us"] = e0.elapsed_time(e1) * 1e3 / N  # back-to-back tiny ops
    ts = []
    for _ in range(200):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        t.add_(1)
        torch.cuda.synchronize()
        ts.append((time.perf_counter() - t0) * 1e6)
    info["single_kernel_roundtrip_us"] = statistics.median(ts)  # launch + run + sync, host clock
    ts = []
    for _ in range(200):
        torch.cuda.synchronize()
        e0.record(); t.add_(1); e1.record(); e1.synchronize()
        ts.append(e0.elapsed_time(e1) * 1e3)
    info["single_kernel_event_us"] = statistics.median(ts)  # event-to-event around one tiny op
    g = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        t.add_(1)
    torch.cuda.current_stream().wait_stream(s)
    with torch.cuda.graph(g):
        for _ in range(1000):
            t.add_(1)
    g.replay()
    torch.cuda.synchronize()
    ms = bench(g.replay, reps=20)
    info["graph_per_kernel_us"] = ms * 1e3 / 1000  # tiny kernels replayed from one graph
    del g
    torch.cuda.empty_cache()
    json.dump(info, open(path, "w"), indent=1)
    log("DEVICE " + json.dumps(info))
    return info


def add_kernel_counts(path, kernel_count_designs, device):
    """Kernels per eager forward (torch.profiler) added to the device-facts JSON.  Run only
    after all timing: once the profiler (CUPTI) has been attached, later launches in the same
    process were seen to run slower (graph replays ~4-8 %, eager more)."""
    info = json.load(open(path)) if os.path.exists(path) else {}
    kc = {}
    for d in kernel_count_designs:
        try:
            kc[d["name"]] = count_kernels(d, device)
        except Exception as ex:
            kc[d["name"]] = f"error: {ex}"
        torch.cuda.empty_cache()
    info["kernels_per_forward"] = kc
    json.dump(info, open(path, "w"), indent=1)
    log("KERNELS " + json.dumps({k: (v if isinstance(v, str) else {p: x["total"] for p, x in v.items()})
                                 for k, v in kc.items()}))


def count_kernels(d, device):
    from torch.profiler import ProfilerActivity, profile
    model = Model(d, device)
    out = {}
    for phase, B, T in (("prefill", 1, 128), ("decode", 1, 128)):
        Lc = T if phase == "prefill" else T + 1
        kc = [torch.zeros(B, d["kv_heads"], Lc, d["head_dim"], device=device, dtype=torch.bfloat16)
              for _ in range(d["layers"])]
        vc = [c.clone() for c in kc]
        ids = torch.randint(0, d["vocab"], (B, T if phase == "prefill" else 1), device=device)
        pos = torch.arange(T, device=device) if phase == "prefill" else torch.tensor([T], device=device)
        with sdpa_ctx("flash"), torch.inference_mode():
            model.forward(ids, pos, kc, vc, phase, T)
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                model.forward(ids, pos, kc, vc, phase, T)
                torch.cuda.synchronize()
        names = {}
        for ev in prof.events():
            if ev.device_type == torch.autograd.DeviceType.CUDA:
                names[ev.name] = names.get(ev.name, 0) + 1
        out[phase] = dict(total=sum(names.values()), by_kernel=dict(sorted(names.items(), key=lambda kv: -kv[1])[:25]))
    del model
    return out


# ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="h100.csv")
    ap.add_argument("--designs", help="JSON list of designs (default: measure/designs.py all_designs)")
    ap.add_argument("--n-random", type=int, default=80)
    ap.add_argument("--design-seed", type=int, default=20251117)
    ap.add_argument("--only", help="comma-separated design names")
    ap.add_argument("--exclude", help="comma-separated design names to leave out")
    ap.add_argument("--shard", default="0/1", help="i/n: take designs[i::n]")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--prefill-tokens", default="128,512,2048")
    ap.add_argument("--decode-tokens", default="128,1024,4096")
    ap.add_argument("--engines", default="eager,cudagraph")
    ap.add_argument("--attn", default="flash", choices=["flash", "auto", "efficient", "cudnn", "math"])
    ap.add_argument("--moe-impl", default="triton", choices=["triton", "torch"])
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min-reps", type=int, default=20)
    ap.add_argument("--max-reps", type=int, default=100)
    ap.add_argument("--target-ms", type=float, default=100.0, help="aim for this much timed forward time per row")
    ap.add_argument("--max-est-ms", type=float, default=60.0, help="skip configs estimated slower than this")
    ap.add_argument("--time-budget", type=float, default=0, help="seconds; stop starting work after this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device-facts", help="write device facts JSON here first")
    ap.add_argument("--kernel-count", default="",
                    help="designs to profile for kernels/forward (names); done after all timing")
    ap.add_argument("--self-check", action="store_true", help="check the Triton MoE against torch first")
    ap.add_argument("--plan", action="store_true", help="only print the estimated work")
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    a.batches = [int(x) for x in a.batches.split(",")]
    a.prefill_tokens = [int(x) for x in a.prefill_tokens.split(",") if x]
    a.decode_tokens = [int(x) for x in a.decode_tokens.split(",") if x]
    a.engines = a.engines.split(",")
    t_start = time.time()
    deadline = t_start + a.time_budget if a.time_budget > 0 else float("inf")

    if a.designs:
        ds = [designs_mod.normalize(x) for x in json.load(open(a.designs))]
    else:
        ds = designs_mod.all_designs(a.n_random, a.design_seed)
    names = {x["name"]: x for x in ds}
    if a.only:
        ds = [names[n] for n in a.only.split(",")]
    if a.exclude:
        ex = set(a.exclude.split(","))
        ds = [x for x in ds if x["name"] not in ex]
    i, n = (int(x) for x in a.shard.split("/"))
    ds = ds[i::n]
    if a.limit:
        ds = ds[:a.limit]

    if a.plan:
        tot = 0
        for d in ds:
            s = 0
            for ph, toks in (("prefill", a.prefill_tokens), ("decode", a.decode_tokens)):
                for B in a.batches:
                    for T in toks:
                        e = est_ms(d, ph, B, T)
                        if e <= a.max_est_ms:
                            s += len(a.engines) * (a.warmup * e + max(a.target_ms, a.min_reps * e))
            tot += s
            print(f"{d['name']:18s} ~{s/1e3:6.1f} s timed forward work")
        print(f"total ~{tot/1e3:.0f} s of timed forward work for {len(ds)} designs (plus overheads)")
        return
    if TORCH_IMPORT_ERROR is not None:
        sys.exit(f"harness.py: {TORCH_IMPORT_ERROR}: measuring needs torch (only --plan runs without it)")

    device = torch.device("cpu" if a.cpu or not torch.cuda.is_available() else "cuda")
    if device.type == "cpu":
        a.attn = "auto"
        if a.moe_impl == "triton" and os.environ.get("TRITON_INTERPRET") != "1":
            a.moe_impl = "torch"
    log(f"device {device}, torch {torch.__version__}, {len(ds)} designs, engines {a.engines}, attn {a.attn}, moe {a.moe_impl}")
    if a.self_check and device.type == "cuda":
        log("MOE self-check rel errors (triton vs fp32 torch): "
            + ", ".join(f"{e:.2e}" for e in moe_mod.self_check(device)))
    gpu_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    kcd = [names[x] for x in a.kernel_count.split(",") if x] if device.type == "cuda" else []
    if a.device_facts:
        device_facts(device, a.device_facts)
    timer = Timer(device)
    new = not os.path.exists(a.out) or os.path.getsize(a.out) == 0
    nrows = 0
    with open(a.out, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            w.writeheader()
            f.flush()
        for k, d in enumerate(ds):
            if time.time() > deadline:
                log(f"STOP time budget reached before {d['name']} ({len(ds)-k} designs not run: "
                    + ",".join(x['name'] for x in ds[k:]) + ")")
                break
            try:
                nrows += len(run_arch(d, a, device, timer, w, gpu_name, deadline))
            except torch.cuda.OutOfMemoryError:
                log(f"SKIP {d['name']}: CUDA out of memory building the model")
            except Exception as ex:
                log(f"ERROR {d['name']}: {type(ex).__name__}: {ex}")
                traceback.print_exc()
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
            f.flush()
            os.fsync(f.fileno())
    if kcd:  # after all timing: the profiler slows later launches in this process
        add_kernel_counts(a.device_facts or "device.json", kcd, device)
    log(f"DONE {nrows} rows in {time.time()-t_start:.1f} s -> {a.out}")


if __name__ == "__main__":
    main()
