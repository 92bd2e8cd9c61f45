//! Solve time per instance size: `enum` (one thread) on 10⁴–10⁷ candidates and the compact
//! `mip` on 10⁴–10⁵ (larger MIPs take seconds to minutes; see the README table).
//!
//! ```sh
//! cargo bench --bench solve
//! ```

use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions, Status};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;

const INSTANCES: [(&str, &str); 4] = [
    ("1e4", "instances/paper/table5-jetson-orin-nano-8gb-embodied.toml"),
    ("1e5", "instances/paper/large-1e5.toml"),
    ("1e6", "instances/paper/large-1e6.toml"),
    ("1e7", "instances/paper/large-1e7.toml"),
];

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let opts = SolveOptions { threads: 1, compare_exact: false, ..SolveOptions::default() };
    let mut g = c.benchmark_group("solve");
    g.sample_size(10);
    for (size, file) in INSTANCES {
        let inst = Instance::load(&root.join(file)).expect("bundled instance loads");
        g.bench_function(format!("enum/{size}/{}", inst.candidates()), |b| {
            b.iter(|| {
                let s = solve(&inst, "enum", &opts).expect("enum solves");
                assert_eq!(s.status, Status::Optimal);
                s
            })
        });
        if matches!(size, "1e4" | "1e5") {
            g.bench_function(format!("mip/{size}/{}", inst.candidates()), |b| {
                b.iter(|| {
                    let s = solve(&inst, "mip", &opts).expect("mip solves");
                    assert_eq!(s.status, Status::Optimal);
                    s
                })
            });
        }
    }
    // Top-5: no storage-type dominance, so every width is a candidate.
    let inst = Instance::load(&root.join(INSTANCES[3].1)).expect("bundled instance loads");
    g.bench_function("enum/1e7/top5", |b| b.iter(|| solve(&inst, "enum", &SolveOptions { top_k: 5, ..opts.clone() })));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
