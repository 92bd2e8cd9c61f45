//! A law that is not a power law, registered from Rust: loss is a logistic curve in
//! log₁₀(non-embedding parameters) plus a penalty on the aspect ratio hidden/layers away from
//! an optimum. It neither separates into depth and width parts nor is monotone in one
//! parameter count, so the compact `mip` refuses it; `enum` and `mip-assign` solve it
//! exactly and must agree. Coefficient samples of the law then give a robust (mean over
//! samples) selection and a region, the same as for a law file.
//!
//! ```sh
//! cargo run --release --example logistic_law
//! ```

use colaw::error::{Origin, Result};
use colaw::instance::Instance;
use colaw::law::{LawInputs, LossLaw, Var};
use colaw::region::{region, RegionOptions};
use colaw::solve::{robust_enum, solve, SolveOptions};
use colaw::uncertainty::{Risk, RobustSpec};
use std::sync::Arc;

/// L(N, d, l) = L∞ + (L₀ − L∞) / (1 + 10^(α·(log₁₀ N − m))) + β·(ln(d/l) − ln r*)², with N the
/// non-embedding parameters, d the hidden size and l the layers.
#[derive(Debug, Clone)]
pub struct LogisticLaw {
    /// `L_inf`, `L_0`, `m` (log₁₀ N at the midpoint), `alpha`, `beta`, `r_star`.
    pub values: [f64; 6],
}

/// Coefficient names, in [`LogisticLaw::values`] order.
pub const NAMES: [&str; 6] = ["L_inf", "L_0", "m", "alpha", "beta", "r_star"];

impl LogisticLaw {
    /// A curve from 5.5 nats (tiny models) down to 2.2, halfway at 10⁸ parameters, with the
    /// best aspect ratio at 64 hidden units per layer.
    pub fn example() -> Self {
        LogisticLaw { values: [2.2, 5.5, 8.0, 1.1, 0.02, 64.0] }
    }
}

impl LossLaw for LogisticLaw {
    fn name(&self) -> &str {
        "logistic"
    }
    fn coefficients(&self) -> Vec<(String, f64)> {
        NAMES.iter().map(|n| n.to_string()).zip(self.values).collect()
    }
    fn loss(&self, x: &LawInputs) -> f64 {
        let [l_inf, l_0, m, alpha, beta, r_star] = self.values;
        let n = x.get(Var::NonEmbeddingParams);
        let aspect = (x.get(Var::Hidden) / x.get(Var::Layers)).ln() - r_star.ln();
        l_inf + (l_0 - l_inf) / (1.0 + 10f64.powf(alpha * (n.log10() - m))) + beta * aspect * aspect
    }
    fn variables(&self) -> Vec<Var> {
        vec![Var::Layers, Var::Hidden, Var::NonEmbeddingParams]
    }
    fn with_coefficients(&self, values: &[f64]) -> Result<Arc<dyn LossLaw>> {
        let values: [f64; 6] = values.try_into().map_err(|_| {
            colaw::error::Error::Unsupported(format!("logistic law: {} coefficients, not 6", values.len()))
        })?;
        Ok(Arc::new(LogisticLaw { values }))
    }
}

/// The design space and budget of the example (8,100 candidates on a Jetson Orin Nano).
pub const INSTANCE: &str = r#"
name = "logistic-law-demo"
[space]
layers = { from = 4, to = 36, step = 4 }
hidden = [512, 768, 1024, 1536, 2048]
head_dim = [64]
kv_heads = [1, 2, 4, "heads"]
ffn_ratio = [1.0, 2.0, 4.0]
moe = [[1, 1], [8, 2]]
vocab = [32000]
[[scenario]]
name = "orin-nano"
hardware = "jetson-orin-nano-8gb"
prompt = 1024
gen = 256
[scenario.budget]
tpot_ms = 20
"#;

/// The example instance with the logistic law in place of its file's law.
pub fn instance() -> Result<Instance> {
    let mut inst = Instance::from_toml_str(INSTANCE, &Origin::file("logistic_law.rs"), None)?;
    inst.set_law(Arc::new(LogisticLaw::example()))?;
    Ok(inst)
}

/// Coefficient samples around the example's values: ±`spread` relative, deterministic.
pub fn samples(n: usize, spread: f64) -> Vec<Vec<f64>> {
    let base = LogisticLaw::example().values;
    (0..n)
        .map(|s| {
            // A fixed low-discrepancy pattern in [−1, 1] per coefficient.
            base.iter()
                .enumerate()
                .map(|(k, v)| v * (1.0 + spread * (((s * 7 + k * 3) % 11) as f64 / 5.0 - 1.0)))
                .collect()
        })
        .collect()
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let inst = instance()?;
    let opts = SolveOptions::default();
    let en = solve(&inst, "enum", &opts)?;
    let ma = solve(&inst, "mip-assign", &opts)?;
    for s in [&en, &ma] {
        println!(
            "{:>10}: {:?} {}  loss {:.5}  verified {}  {:.1} ms",
            s.solver,
            s.status,
            s.label.as_deref().unwrap_or("-"),
            s.loss.unwrap_or(f64::NAN),
            s.verified,
            s.solve_ms
        );
    }
    let (a, b) = (en.objective.ok_or("enum found nothing")?, ma.objective.ok_or("mip-assign found nothing")?);
    assert!((a - b).abs() <= 1e-6 * a.abs(), "enum {a} and mip-assign {b} disagree");
    match solve(&inst, "mip", &opts) {
        Err(e) => println!("       mip: refused, as it should be: {e}"),
        Ok(s) => return Err(format!("the compact mip accepted a general law: {}", s.message).into()),
    }
    let coef = samples(16, 0.03);
    let spec = RobustSpec {
        risk: Risk::Mean,
        coefficients: coef.clone(),
        latency: vec![],
        chance_epsilon: None,
        latency_scenarios: None,
        latency_devices: Vec::new(),
    };
    let r = robust_enum(&inst, &spec)?;
    println!("robust (mean over {} samples): {}", coef.len(), r.message);
    let reg = region(&inst, &coef, &[], &RegionOptions::default())?;
    if let Some(i) = reg.most_often_optimal {
        let d = &reg.designs[i];
        println!("region: {} optimal in {:.0} % of the samples", d.label, 100.0 * d.p_optimal);
    }
    Ok(())
}
