"""Mixture-of-experts FFN for the latency harness.

Two implementations of the same function

    y[t] = sum_{j < k} w[t, j] * down_e( silu(gate_e(x[t])) * up_e(x[t]) ),  e = topi[t, j]

* `moe_triton` -- the measured one.  Static shapes only (no host synchronisation), so it
  can be captured in a CUDA graph.  Steps:
    1. `moe_align`: the N*k (token, slot) pairs are sorted by expert id (torch.sort) and laid
       out expert after expert, each expert's segment padded to a multiple of BLOCK_M with a
       sentinel; every BLOCK_M block of that list gets the id of the expert that owns it
       (torch.searchsorted); blocks past the end get the id E and exit at once.  A few tiny
       kernels on N*k + E*BLOCK_M integers.
    2. `_moe_gate_up`: grouped GEMM, grid (blocks, ffn/BLOCK_N).  A program takes one block of
       (up to BLOCK_M) pairs of one expert, gathers their token rows of x, and multiplies with
       that expert's gate and up rows; SiLU(gate)*up is applied in registers and only the
       activation (pairs x ffn, bf16) is written.
    3. `_moe_down`: grouped GEMM act @ W_down[e]^T, scaled by the routing weight, written to
       row `pair` of a (N*k, hidden) buffer.
    4. torch sum over the k slots -> (N, hidden).
  Weight traffic: only experts that received at least one pair are read, and each of them
  once per BLOCK_M block of its pairs (decode: ~once; prefill: once per M tile, as in any
  tiled GEMM, mostly served from L2).  Extra activation traffic compared with a dense FFN of
  the same active size: x is gathered once per pair (k times per token), act (N*k x ffn) and
  the per-slot outputs (N*k x hidden) make one round trip through memory each, plus the
  sort/align kernels (negligible).
* `moe_torch` -- reference: loop over experts with boolean masks (host synchronisation,
  fp32 possible).  Used for correctness checks and on CPU.
"""
import torch

try:
    import triton
    import triton.language as tl
    HAVE_TRITON = True
except Exception:  # pragma: no cover
    HAVE_TRITON = False


def moe_torch(x, w_gu, w_down, topi, topw):
    """x (N,h), w_gu (E,2F,h), w_down (E,h,F), topi (N,k) int, topw (N,k) -> (N,h)."""
    N, h = x.shape
    E, F2, _ = w_gu.shape
    F = F2 // 2
    out = torch.zeros(N, h, dtype=torch.float32, device=x.device)
    for e in range(E):
        sel = (topi == e)
        rows = sel.any(dim=1).nonzero().flatten()
        if rows.numel() == 0:
            continue
        wt = (topw * sel).sum(dim=1)[rows].float()
        xe = x[rows]
        gu = xe @ w_gu[e].t()
        a = torch.nn.functional.silu(gu[:, :F].float()) * gu[:, F:].float()
        ye = a.to(x.dtype) @ w_down[e].t()
        out.index_add_(0, rows, ye.float() * wt[:, None])
    return out.to(x.dtype)


def moe_align(topi, E, block_m):
    """Sorted, padded pair list for the grouped kernels (static shapes, capturable)."""
    N, k = topi.shape
    M = N * k
    dev = topi.device
    flat = topi.reshape(-1).to(torch.int64)
    sorted_e, order = torch.sort(flat, stable=True)
    counts = torch.zeros(E, dtype=torch.int64, device=dev)
    counts.scatter_add_(0, flat, torch.ones_like(flat))
    padded = (counts + block_m - 1) // block_m * block_m
    pad_end = torch.cumsum(padded, 0)
    pad_start = pad_end - padded
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(M, device=dev) - start.index_select(0, sorted_e)
    dest = pad_start.index_select(0, sorted_e) + rank
    max_pad = ((M + E * (block_m - 1) + block_m - 1) // block_m) * block_m
    sorted_ids = torch.full((max_pad,), M, dtype=torch.int32, device=dev)
    sorted_ids.scatter_(0, dest, order.to(torch.int32))
    nblocks = max_pad // block_m
    block_start = torch.arange(nblocks, device=dev) * block_m
    block_expert = torch.searchsorted(pad_end, block_start, right=True).to(torch.int32)
    return sorted_ids, block_expert, nblocks


if HAVE_TRITON:
    @triton.jit
    def _moe_gate_up(X, W, Act, sorted_ids, block_expert,
                     M, N, K, E, topk,
                     stride_xm, stride_we, stride_wn, stride_am,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        e = tl.load(block_expert + pid_m).to(tl.int64)
        if e >= E:
            return
        offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        pair = tl.load(sorted_ids + offs_m).to(tl.int64)
        mmask = pair < M
        tok = pair // topk
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        nmask = offs_n < N
        offs_k = tl.arange(0, BLOCK_K)
        x_ptrs = X + tok[:, None] * stride_xm + offs_k[None, :]
        wg_ptrs = W + e * stride_we + offs_n[None, :].to(tl.int64) * stride_wn + offs_k[:, None]
        wu_ptrs = wg_ptrs + N * stride_wn
        acc_g = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        acc_u = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            kmask = offs_k < K - k0
            x = tl.load(x_ptrs, mask=mmask[:, None] & kmask[None, :], other=0.0)
            wg = tl.load(wg_ptrs, mask=kmask[:, None] & nmask[None, :], other=0.0)
            wu = tl.load(wu_ptrs, mask=kmask[:, None] & nmask[None, :], other=0.0)
            acc_g = tl.dot(x, wg, acc_g)
            acc_u = tl.dot(x, wu, acc_u)
            x_ptrs += BLOCK_K
            wg_ptrs += BLOCK_K
            wu_ptrs += BLOCK_K
        act = acc_g * tl.sigmoid(acc_g) * acc_u
        a_ptrs = Act + pair[:, None] * stride_am + offs_n[None, :]
        tl.store(a_ptrs, act.to(Act.dtype.element_ty), mask=mmask[:, None] & nmask[None, :])

    @triton.jit
    def _moe_down(A, W, Y, RW, sorted_ids, block_expert,
                  M, N, K, E,
                  stride_am, stride_we, stride_wn, stride_ym,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        e = tl.load(block_expert + pid_m).to(tl.int64)
        if e >= E:
            return
        offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        pair = tl.load(sorted_ids + offs_m).to(tl.int64)
        mmask = pair < M
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        nmask = offs_n < N
        offs_k = tl.arange(0, BLOCK_K)
        a_ptrs = A + pair[:, None] * stride_am + offs_k[None, :]
        w_ptrs = W + e * stride_we + offs_n[None, :].to(tl.int64) * stride_wn + offs_k[:, None]
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            kmask = offs_k < K - k0
            a = tl.load(a_ptrs, mask=mmask[:, None] & kmask[None, :], other=0.0)
            w = tl.load(w_ptrs, mask=kmask[:, None] & nmask[None, :], other=0.0)
            acc = tl.dot(a, w, acc)
            a_ptrs += BLOCK_K
            w_ptrs += BLOCK_K
        rw = tl.load(RW + pair, mask=mmask, other=0.0)
        acc = acc * rw[:, None]
        y_ptrs = Y + pair[:, None] * stride_ym + offs_n[None, :]
        tl.store(y_ptrs, acc.to(Y.dtype.element_ty), mask=mmask[:, None] & nmask[None, :])


def tile_config(M, E):
    """Block shapes by average pairs per expert (no autotuning: fixed, documented)."""
    avg = M / E
    if avg <= 16:   # decode / tiny batches: memory bound, many thin N tiles
        g = dict(BLOCK_M=16, BLOCK_N=32, BLOCK_K=128, num_warps=4, num_stages=4)
        d = dict(BLOCK_M=16, BLOCK_N=32, BLOCK_K=128, num_warps=4, num_stages=4)
    elif avg <= 64:
        g = dict(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4, num_stages=4)
        d = dict(BLOCK_M=64, BLOCK_N=64, BLOCK_K=64, num_warps=4, num_stages=4)
    else:           # prefill: compute bound
        g = dict(BLOCK_M=128, BLOCK_N=64, BLOCK_K=64, num_warps=8, num_stages=3)
        d = dict(BLOCK_M=128, BLOCK_N=128, BLOCK_K=64, num_warps=8, num_stages=3)
    return g, d


def moe_triton(x, w_gu, w_down, topi, topw):
    """Same contract as moe_torch; static shapes, CUDA-graph capturable."""
    N, h = x.shape
    E, F2, _ = w_gu.shape
    F = F2 // 2
    k = topi.shape[1]
    M = N * k
    x = x.contiguous()
    g, d = tile_config(M, E)
    # both kernels use the same BLOCK_M so one alignment serves both
    bm = g["BLOCK_M"]
    assert d["BLOCK_M"] == bm
    sorted_ids, block_expert, nblocks = moe_align(topi, E, bm)
    act = torch.empty(M, F, dtype=x.dtype, device=x.device)
    grid1 = (nblocks, triton.cdiv(F, g["BLOCK_N"]))
    _moe_gate_up[grid1](x, w_gu, act, sorted_ids, block_expert, M, F, h, E, k,
                        x.stride(0), w_gu.stride(0), w_gu.stride(1), act.stride(0),
                        BLOCK_M=bm, BLOCK_N=g["BLOCK_N"], BLOCK_K=g["BLOCK_K"],
                        num_warps=g["num_warps"], num_stages=g["num_stages"])
    y = torch.empty(M, h, dtype=x.dtype, device=x.device)
    rw = topw.reshape(-1).to(torch.float32).contiguous()
    grid2 = (nblocks, triton.cdiv(h, d["BLOCK_N"]))
    _moe_down[grid2](act, w_down, y, rw, sorted_ids, block_expert, M, h, F, E,
                     act.stride(0), w_down.stride(0), w_down.stride(1), y.stride(0),
                     BLOCK_M=bm, BLOCK_N=d["BLOCK_N"], BLOCK_K=d["BLOCK_K"],
                     num_warps=d["num_warps"], num_stages=d["num_stages"])
    return y.view(N, k, h).sum(dim=1)


def self_check(device, dtype=torch.bfloat16, seed=0):
    """Triton vs torch reference on random data of several shapes; returns list of rel errors."""
    torch.manual_seed(seed)
    errs = []
    for (N, h, F, E, k) in [(1, 256, 192, 8, 2), (16, 384, 320, 16, 2), (300, 256, 448, 4, 1),
                            (2048, 512, 256, 8, 2), (33, 320, 128, 64, 8)]:
        x = torch.randn(N, h, device=device, dtype=dtype)
        w_gu = (torch.randn(E, 2 * F, h, device=device) / h ** 0.5).to(dtype)
        w_down = (torch.randn(E, h, F, device=device) / F ** 0.5).to(dtype)
        logits = torch.randn(N, E, device=device)
        topv, topi = torch.topk(logits, k, dim=-1)
        topw = torch.softmax(topv, dim=-1)
        ref = moe_torch(x.float(), w_gu.float(), w_down.float(), topi, topw).float()
        out = moe_triton(x, w_gu, w_down, topi, topw).float()
        assert torch.isfinite(out).all()
        errs.append(((out - ref).norm() / ref.norm()).item())
    return errs


if __name__ == "__main__":
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    print("moe self-check rel errors:", self_check(dev))
