//! A custom objective term registered from Rust: a penalty on KV-cache bytes of the first
//! scenario, with its depth split so the compact MIP can use it. Solves the same instance
//! with `mip` and `enum` and checks they agree.
//!
//! ```sh
//! cargo run --example custom_term
//! ```

use colaw::cost::Linear;
use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::objective::{DesignView, ObjectiveTerm, WidthView};
use colaw::solve::{solve, SolveOptions};
use std::sync::Arc;

/// weight × KV-cache gigabytes on scenario 0.
struct KvPenalty {
    weight_per_gb: f64,
}

impl ObjectiveTerm for KvPenalty {
    fn name(&self) -> &str {
        "kv_penalty"
    }
    fn value(&self, d: &DesignView) -> f64 {
        self.weight_per_gb * d.metrics[0].memory_bytes.kv_cache / 1e9
    }
    // KV bytes are linear in depth for a fixed width: fixed + l·per_layer.
    fn split(&self, w: &WidthView) -> Option<Linear> {
        let kv = w.costs[0].kv_bytes;
        Some(Linear { fixed: self.weight_per_gb * kv.fixed / 1e9, per_layer: self.weight_per_gb * kv.per_layer / 1e9 })
    }
    fn lower_bound(&self) -> f64 {
        0.0
    }
}

const INSTANCE: &str = r#"
name = "custom-term-demo"
[space]
layers = { from = 4, to = 32, step = 4 }
hidden = [768, 1024, 1536, 2048]
head_dim = [64]
kv_heads = [1, 2, 4, 8, "heads"]
ffn_ratio = [1.0, 2.0, 4.0]
moe = [[1, 1], [8, 1], [8, 2]]
vocab = [32000]
[[scenario]]
name = "orin-nano"
hardware = "jetson-orin-nano-8gb"
prompt = 4096
gen = 256
[scenario.budget]
tpot_ms = 25
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut inst = Instance::from_toml_str(INSTANCE, &Origin::file("custom_term.rs"), None)?;
    let plain = solve(&inst, "enum", &SolveOptions::default())?;
    inst.add_term(Arc::new(KvPenalty { weight_per_gb: 2.0 }));
    let mip = solve(&inst, "mip", &SolveOptions::default())?;
    let en = solve(&inst, "enum", &SolveOptions::default())?;
    println!(
        "without the term: {}  (loss {:.5})",
        plain.label.as_deref().unwrap_or("-"),
        plain.loss.unwrap_or(f64::NAN)
    );
    for s in [&mip, &en] {
        println!(
            "{:>5}: {:?} {}  objective {:.6}  loss {:.5}  kv_penalty {:.5}  verified {}  {:.1} ms",
            s.solver,
            s.status,
            s.label.as_deref().unwrap_or("-"),
            s.objective.unwrap_or(f64::NAN),
            s.loss.unwrap_or(f64::NAN),
            s.terms.first().map_or(f64::NAN, |t| t.value),
            s.verified,
            s.solve_ms
        );
    }
    let (a, b) = (mip.objective.ok_or("mip found nothing")?, en.objective.ok_or("enum found nothing")?);
    assert!((a - b).abs() <= 1e-6 * b.abs(), "mip {a} and enum {b} disagree");
    assert_eq!(mip.label, en.label);
    println!("mip and enum agree.");
    Ok(())
}
