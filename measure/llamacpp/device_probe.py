#!/usr/bin/env python3
"""Cheap device facts for the GPU data (JSON on stdout): name, memory, driver/CUDA/torch
versions, measured device-to-device copy bandwidth (1 GiB, read + write counted) and fp16/bf16
GEMM rate (8192³, mean of 10 after 3 warm-ups). Uses PyTorch only (the GPU machine's image)."""
import json
import subprocess
import time

out = {}
try:
    out["nvidia_smi"] = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit",
         "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
    import torch
    p = torch.cuda.get_device_properties(0)
    out.update(gpu=p.name, sm=f"{p.major}.{p.minor}", multiprocessors=p.multi_processor_count,
               memory_gib=round(p.total_memory / 2**30, 1), torch=torch.__version__, cuda=torch.version.cuda)
    n = 1 << 29  # 1 GiB of fp16 elements ×2 bytes
    a = torch.empty(n, dtype=torch.float16, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(20):
        b.copy_(a)
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / 20
    out["copy_gbps_read_plus_write"] = round(2 * a.numel() * 2 / dt / 1e9, 1)
    del a, b
    for dt_name, dt in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        x = torch.randn(8192, 8192, device="cuda", dtype=dt)
        y = torch.randn(8192, 8192, device="cuda", dtype=dt)
        for _ in range(3):
            x @ y
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(10):
            x @ y
        torch.cuda.synchronize()
        out[f"gemm_{dt_name}_tflops_8192"] = round(2 * 8192**3 / ((time.perf_counter() - t) / 10) / 1e12, 1)
except Exception as e:  # noqa: BLE001 (facts are best effort; report what failed)
    out["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(out, indent=1))
