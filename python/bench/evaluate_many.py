"""Times `colaw.evaluate_many` on a table of designs (the grid of examples/evaluate_table.rs,
the same rows in the same order) against looping over `colaw.evaluate`, and prints one JSON
line. Run through scripts/bench-python.sh, which adds the Rust side.

    python python/bench/evaluate_many.py [ROWS] [LOOP_ROWS]
"""

import json
import sys
import time

import numpy as np
import pandas as pd

import colaw


def grid() -> pd.DataFrame:
    rows = []
    for d in (768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072):
        for hd in (64, 128):
            h = d // hd
            for kv in (1, 2, 4, 8, h):
                if h % kv:
                    continue
                for r in (0.5, 1.0, 2.0, 3.0, 4.0):
                    for e, k in ((1, 1), (8, 1), (8, 2), (16, 1), (16, 2)):
                        for layers in range(4, 36, 4):
                            rows.append((layers, d, h, kv, hd, int(r * d), e, k, 151936, 1))
    return pd.DataFrame(rows, columns=["layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "experts",
                                       "active_experts", "vocab", "tied"])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    n_loop = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    g = grid()
    table = g.iloc[np.arange(n) % len(g)].reset_index(drop=True)
    hw = "jetson-orin-nx-16gb"
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        out = colaw.evaluate_many(table, hw)
        best = min(best, time.perf_counter() - t0)
    # The loop a user would write without evaluate_many: one call per row.
    t0 = time.perf_counter()
    for row in table.iloc[:n_loop].itertuples(index=False):
        colaw.evaluate(
            {"layers": row.layers, "hidden": row.hidden, "heads": row.heads, "kv_heads": row.kv_heads,
             "head_dim": row.head_dim, "ffn": row.ffn, "experts": row.experts,
             "active_experts": row.active_experts, "vocab": row.vocab, "tied_embeddings": bool(row.tied)},
            hw,
        )
    per_call = (time.perf_counter() - t0) / n_loop
    print(json.dumps({
        "rows": n,
        "evaluate_many_s": round(best, 4),
        "evaluate_loop_s_per_row": per_call,
        "evaluate_loop_s_extrapolated": round(per_call * n, 1),
        "speedup_vs_loop": round(per_call * n / best, 1),
        "tpot_ms_row0": float(out["tpot_ms"].iloc[0]),
    }))


if __name__ == "__main__":
    main()
