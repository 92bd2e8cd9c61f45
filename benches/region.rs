//! Uncertainty-aware regions and the remaining solver variants on fixed inputs, so a
//! regression shows as a criterion change:
//! - `region/paper/1000`: `colaw::region::region` on a paper-space instance (Table 5 space,
//!   9,000 candidates, 20 ms per token on Jetson Orin Nano) with 1,000 coefficient samples
//!   (the paper law's coefficients times seeded log-normal noise, σ = 5 %);
//! - `solve/mip-assign/paper` and `solve/analytic/paper` on the same instance (enum and the
//!   compact MIP are in `benches/solve.rs`).
//!
//! ```sh
//! cargo bench --bench region
//! ```

use colaw::instance::Instance;
use colaw::region::{region, RegionOptions};
use colaw::solve::{solve, SolveOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use rand::{RngExt, SeedableRng};
use std::path::Path;

const INSTANCE: &str = "instances/paper/table5-jetson-orin-nano-8gb-embodied.toml";

/// Coefficient samples: every coefficient times exp(σ·z), z standard normal (Box–Muller).
pub fn samples(values: &[f64], n: usize, sigma: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            values
                .iter()
                .map(|v| {
                    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random::<f64>());
                    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    v * (sigma * z).exp()
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inst = Instance::load(&root.join(INSTANCE)).expect("bundled instance loads");
    let values: Vec<f64> = inst.law.coefficients().into_iter().map(|(_, v)| v).collect();
    let coef = samples(&values, 1000, 0.05, 7);
    let opts = RegionOptions::default();
    let mut g = c.benchmark_group("region");
    g.sample_size(10);
    g.bench_function(format!("paper/{}/1000", inst.candidates()), |b| {
        b.iter(|| region(&inst, &coef, &[], &opts).expect("region runs"))
    });
    g.finish();
    let so = SolveOptions { threads: 1, compare_exact: false, ..SolveOptions::default() };
    let mut g = c.benchmark_group("solve");
    g.sample_size(20);
    for kind in ["mip-assign", "analytic"] {
        g.bench_function(format!("{kind}/paper/{}", inst.candidates()), |b| {
            b.iter(|| solve(&inst, kind, &so).expect("solves"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
