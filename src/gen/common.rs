//! Building blocks every family uses: random draws, the Table 5 space, scenarios with
//! application budgets, and the instance file skeleton.

use super::*;

pub(super) fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// Round to 4 significant digits (readable files; exact values are not needed).
pub(super) fn sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * p).round() / p
}

pub(super) fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

pub(super) fn is_int8_only(device: &str) -> bool {
    device == "paper-hypothetical-edge"
}

/// The paper's Table 5 space with the given FFN ratios (int8 storage on int8-only devices).
pub fn table5_space(ffn_ratios: Vec<f64>, int8: bool) -> SpaceSpec {
    SpaceSpec {
        layers: Grid::Range { from: 4, to: 32, step: 4 },
        hidden: Grid::List(vec![768, 1024, 1280, 1536, 1792, 2048, 2304, 2560, 3072]),
        heads: None,
        head_dim: Some(Grid::List(vec![64])),
        kv_heads: Some(vec![
            KvChoice::Count(1),
            KvChoice::Count(2),
            KvChoice::Count(4),
            KvChoice::Count(8),
            KvChoice::Word("heads".into()),
        ]),
        ffn_ratio: Some(ffn_ratios),
        ffn: None,
        ffn_multiple: None,
        moe: Some(vec![[1, 1], [8, 1], [8, 2], [16, 1], [16, 2]]),
        weight_dtype: int8.then(|| vec!["int8".into()]),
        kv_dtype: int8.then(|| vec!["int8".into()]),
        vocab: Grid::List(vec![151936]),
        tied: Some(vec![true]),
        qkv_bias: false,
        rules: Rules { q_dim_equals_hidden: true, ..Default::default() },
    }
}

/// The first of bf16, fp16, fp32, int8 the device has a published compute peak for.
pub fn compute_dtype_for(device: &str) -> String {
    let hw = load_hardware(device).ok();
    for t in [DType::Bf16, DType::Fp16, DType::Fp32, DType::Int8] {
        if hw.as_ref().is_some_and(|h| h.peak_ops_per_s(t).is_ok()) {
            return t.to_string();
        }
    }
    "bf16".into()
}

pub(super) fn scenario(
    name: &str,
    device: &str,
    batch: u32,
    prompt: u32,
    gen: u32,
    budget: BudgetSpec,
) -> ScenarioSpec {
    ScenarioSpec {
        name: Some(name.into()),
        hardware: HardwareSpec::Name(device.into()),
        batch,
        prompt,
        gen,
        compute_dtype: compute_dtype_for(device),
        engine: None,
        weight_format: None,
        kv_cache_type: None,
        paper_mode: false,
        budget,
    }
}

/// A random Table 2 budget scaled by a log-uniform factor in [lo, hi]; sometimes a memory
/// budget of 10–60 % of the device memory. Returns the budget and the application name.
pub(super) fn app_budget(rng: &mut StdRng, device: &str, lo: f64, hi: f64) -> Result<(BudgetSpec, &'static str)> {
    let &(app, metric, ms) = pick(rng, &APPLICATIONS);
    let v = sig4(ms * log_uniform(rng, lo, hi));
    let mut b = BudgetSpec { device_memory: true, ..Default::default() };
    match metric {
        "tpot_ms" => b.tpot_ms = Some(v),
        _ => b.total_ms = Some(v),
    }
    if rng.random::<f64>() < 0.3 {
        let mem = load_hardware(device)?.memory_bytes() / 1e9;
        b.memory_gb = Some(sig4(mem * rng.random_range(0.1..0.6)));
    }
    Ok((b, app))
}

pub(super) fn ffn_subset(rng: &mut StdRng) -> Vec<f64> {
    pub(super) const POOL: [f64; 7] = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
    let k = rng.random_range(3..=5);
    let mut idx: Vec<usize> = (0..POOL.len()).collect();
    for i in (1..idx.len()).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let mut v: Vec<f64> = idx[..k].iter().map(|&i| POOL[i]).collect();
    v.sort_by(f64::total_cmp);
    v
}

pub(super) fn file(name: String, description: String, space: SpaceSpec, scenarios: Vec<ScenarioSpec>) -> InstanceFile {
    InstanceFile {
        name: Some(name),
        description: Some(description),
        space,
        law: LawSpec::default(),
        scenarios,
        objective: ObjectiveSpec::default(),
        solver: SolverSpec { time_limit_s: Some(60.0), ..Default::default() },
        robust: None,
    }
}
