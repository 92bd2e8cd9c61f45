//! `eval` throughput: one full candidate, and a sweep over depths that reuses the
//! per-width costs (the solvers' inner loop).

use colaw::cost::{CostModel, Workload};
use colaw::hardware::load_hardware;
use colaw::law::{load_law, LawInputs, LossLaw};
use colaw::Architecture;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn widths() -> Vec<Architecture> {
    let mut v = Vec::new();
    for d in [768u32, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072] {
        for (e, k) in [(1u32, 1u32), (8, 1), (8, 2), (16, 1), (16, 2)] {
            for kv in [1u32, 2, 4, 8] {
                let mut a = Architecture::new(1, d, d / 64, d * 2, 32000);
                a.kv_heads = kv;
                a.experts = e;
                a.active_experts = k;
                v.push(a);
            }
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let hw = load_hardware("jetson-agx-orin-64gb").unwrap();
    let law = load_law("paper").unwrap();
    let model = CostModel::new(&hw, &Workload::default()).unwrap();
    let mut a = widths()[37].clone();
    a.layers = 16;
    c.bench_function("eval/single_candidate", |b| {
        b.iter(|| {
            let m = model.metrics(black_box(&a));
            let l = law.loss(&LawInputs::from_arch(black_box(&a), None));
            (m.latency_ms.total, l)
        })
    });
    let ws = widths();
    let depths: Vec<u32> = (1..=64).collect();
    let f: Vec<f64> = depths.iter().map(|&l| law.depth_part(l as f64)).collect();
    let mut g = c.benchmark_group("eval/sweep");
    g.throughput(Throughput::Elements((ws.len() * depths.len()) as u64));
    g.bench_function("widths_x_64_depths", |b| {
        b.iter(|| {
            let mut best = f64::INFINITY;
            for w in &ws {
                let wc = model.width_costs(w);
                let gw = law.width_part(&LawInputs::from_arch(w, None));
                for (i, &l) in depths.iter().enumerate() {
                    let m = wc.at_depth(l);
                    let loss = f[i] + gw;
                    if m.latency_ms.total <= 500.0 && m.memory_bytes.total <= 8e9 && loss < best {
                        best = loss;
                    }
                }
            }
            black_box(best)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
