//! The Rust side of `docs/performance.md`'s "Python" table: evaluate a table of 10⁶ designs
//! (the paper's Table 5 grid with head dims 64 and 128, repeated; depth varies fastest) with
//! `embed::Evaluator::evaluate_table`, the function `colaw.evaluate_many` wraps, and time it
//! (best of 5). `scripts/bench-python.sh` runs this and the Python side.
//!
//! ```sh
//! cargo run --release --example evaluate_table [ROWS]
//! ```

use colaw::embed::{DesignColumns, EvalSetup, Evaluator, TableOutput};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(1_000_000);
    let mut grid: Vec<[i64; 10]> = Vec::new();
    for d in [768i64, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072] {
        for hd in [64i64, 128] {
            let h = d / hd;
            for kv in [1i64, 2, 4, 8, h] {
                if h % kv != 0 {
                    continue;
                }
                for r in [0.5f64, 1.0, 2.0, 3.0, 4.0] {
                    for (e, k) in [(1i64, 1i64), (8, 1), (8, 2), (16, 1), (16, 2)] {
                        for l in (4..36).step_by(4) {
                            grid.push([l, d, h, kv, hd, (r * d as f64) as i64, e, k, 151_936, 1]);
                        }
                    }
                }
            }
        }
    }
    let col = |j: usize| -> Vec<i64> { (0..n).map(|i| grid[i % grid.len()][j]).collect() };
    let c: Vec<Vec<i64>> = (0..10).map(col).collect();
    let t = DesignColumns {
        layers: &c[0],
        hidden: &c[1],
        heads: &c[2],
        kv_heads: Some(&c[3]),
        head_dim: Some(&c[4]),
        ffn: &c[5],
        experts: Some(&c[6]),
        active_experts: Some(&c[7]),
        vocab: &c[8],
        tied: Some(&c[9]),
        qkv_bias: None,
    };
    let ev = Evaluator::new(&EvalSetup { hardware: "jetson-orin-nx-16gb".into(), ..EvalSetup::default() })?;
    let mut f = vec![vec![0.0f64; n]; 9];
    let mut p = vec![0i64; n];
    let mut ap = vec![0i64; n];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let [loss, pre, dec, tpot, tot, wb, kvb, ab, mb] = &mut f[..] else { unreachable!() };
        let mut out = TableOutput {
            loss,
            prefill_ms: pre,
            decode_ms: dec,
            tpot_ms: tpot,
            total_ms: tot,
            weights_bytes: wb,
            kv_cache_bytes: kvb,
            activations_bytes: ab,
            memory_bytes: mb,
            params: &mut p,
            active_params: &mut ap,
        };
        let t0 = Instant::now();
        ev.evaluate_table(&t, &mut out)?;
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{{\"rows\": {n}, \"threads\": {}, \"evaluate_table_s\": {best:.4}, \"ns_per_row\": {:.1}, \"tpot_ms_row0\": {}}}",
        rayon::current_num_threads(),
        best * 1e9 / n as f64,
        f[3][0]
    );
    Ok(())
}
