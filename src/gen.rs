//! Instance generators for benchmarking solver variants (`colaw gen`).
//!
//! Every family builds [`InstanceFile`]s (the serde type the solver reads), so generated
//! files round-trip through `Instance::load`. Instance `i` of a family draws from its own
//! generator seeded by (seed, family, i): the first N instances of `--count M > N` equal
//! those of `--count N`, except for `large`, whose sizes are a ladder over the count.
//!
//! Families:
//! - `paper`: the paper's Table 5 space (depth 4..32 step 4, nine widths, five MoE pairs,
//!   kv_heads {1, 2, 4, 8, = heads}, head_dim 64, three to five FFN ratios) under one random
//!   Table 2 application budget (20 ms per token; 500/100/2000 ms end to end), scaled by a
//!   log-uniform factor in [0.5, 2], sometimes with a memory budget, on a shipped Jetson or
//!   the paper's hypothetical edge device (int8 compute, int8 weights and KV cache: it only
//!   has an int8 peak).
//! - `large`: finer grids (depth, width, head dim, KV heads, FFN ratio, experts, precisions,
//!   vocabulary, tying) grown greedily in random order until the next step would pass the
//!   target size; targets are a log ladder from 10⁴ to `max_candidates` (default 10⁸).
//! - `multi`: the Table 5 space under 2–3 scenarios (random devices × workloads × budgets).
//! - `infeasible`: one budget set 2–20 % below the smallest value any design reaches (the
//!   solver's reachability), so no design meets it.
//! - `tight`: one budget set 10⁻⁶ above the k-th smallest value any design reaches
//!   (k ∈ 1..5): feasible, with only about k designs meeting it (ties aside), so the
//!   optimum sits at the budget's edge. Checked feasible by `enum` (k grows if device
//!   memory cuts the k-th design).
//! - `robust`: a `paper` instance, or (half of them) the Table 5 space on the calibrated
//!   H100 (`nvidia-h100-sxm-cudagraph`) under a latency budget at a random quantile of the
//!   candidates' values, with a `[robust]` section: a risk from {mean, CVaR 5/10/25 %} over
//!   coefficient samples that are the crate's own bootstrap ([`crate::law::bootstrap`]) of a
//!   fit of the paper law to synthetic runs (designs drawn from the instance's space, losses
//!   from the paper law with log-normal noise); the H100 instances add a chance constraint
//!   (ε ∈ {0, 0.01, 0.05, 0.1}: the calibration samples are tight, so only small ε bind) over the measured H100 latency-calibration samples
//!   (`data/measurements/h100_cudagraph_cal_samples.csv`, which describe that device). Both
//!   samples files are written beside the instances.

use crate::error::{Error, Origin, Result};
use crate::hardware::load_hardware;
use crate::instance::{
    BudgetSpec, HardwareSpec, Instance, InstanceFile, LawSpec, ObjectiveSpec, RobustSection, ScenarioSpec, SolverSpec,
};
use crate::law::bootstrap::{bootstrap, samples_csv, BootstrapOptions};
use crate::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use crate::law::{load_law, LawInputs, LossLaw, Observations};
use crate::precision::DType;
use crate::solve::{solve, Problem, SolveOptions, Status};
use crate::space::{Grid, KvChoice, Rules, SpaceSpec};
use crate::util::rng::mix_seed_pair;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::path::{Path, PathBuf};

/// Instance families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Table 5 space, Table 2 budgets, shipped edge devices.
    Paper,
    /// Finer grids, 10⁴ to 10⁸ candidates.
    Large,
    /// Several scenarios per instance.
    Multi,
    /// A budget just below what any design reaches.
    Infeasible,
    /// A budget at the edge of feasibility.
    Tight,
    /// Paper-style instances with a `[robust]` section and their samples files.
    Robust,
}

/// Family names accepted by `--family`.
pub const FAMILIES: [&str; 6] = ["paper", "large", "multi", "infeasible", "tight", "robust"];

impl Family {
    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        FAMILIES[self as usize]
    }
}

impl std::str::FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "paper" => Family::Paper,
            "large" => Family::Large,
            "multi" => Family::Multi,
            "infeasible" => Family::Infeasible,
            "tight" => Family::Tight,
            "robust" => Family::Robust,
            _ => return Err(format!("`{s}`: one of {}", FAMILIES.join(", "))),
        })
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Family.
    pub family: Family,
    /// Number of instances.
    pub count: usize,
    /// Seed.
    pub seed: u64,
    /// `large`: the largest target size (candidates).
    pub max_candidates: f64,
}

impl GenOptions {
    /// Defaults: one instance, seed 0, up to 10⁸ candidates.
    pub fn new(family: Family) -> Self {
        GenOptions { family, count: 1, seed: 0, max_candidates: 1e8 }
    }
}

/// A generated instance: its file name (without folder) and contents.
#[derive(Debug, Clone)]
pub struct Generated {
    /// File name, e.g. `paper-s1-00003.toml`.
    pub file_name: String,
    /// The instance.
    pub file: InstanceFile,
    /// Files the instance refers to by relative path, written beside it: (name, contents).
    pub extra_files: Vec<(String, String)>,
}

impl Generated {
    /// The TOML text written to disk.
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(&self.file).map_err(|e| Error::Unsupported(format!("serialising instance: {e}")))?;
        Ok(format!("# Generated by `colaw gen` (colaw {}).\n{body}", env!("CARGO_PKG_VERSION")))
    }
}

/// The shipped Jetson devices the `paper` family draws from, plus the paper's edge device.
pub const EDGE_DEVICES: [&str; 7] = [
    "jetson-agx-orin-32gb",
    "jetson-agx-orin-64gb",
    "jetson-orin-nano-8gb",
    "jetson-orin-nano-8gb-super",
    "jetson-orin-nx-16gb",
    "jetson-orin-nx-8gb",
    "paper-hypothetical-edge",
];

/// Devices for `multi` (edge devices plus GPUs; the Apple M4 Max file has no compute peak).
pub const MULTI_DEVICES: [&str; 9] = [
    "jetson-agx-orin-32gb",
    "jetson-agx-orin-64gb",
    "jetson-orin-nano-8gb",
    "jetson-orin-nano-8gb-super",
    "jetson-orin-nx-16gb",
    "jetson-orin-nx-8gb",
    "paper-hypothetical-edge",
    "nvidia-rtx-4090",
    "nvidia-h100-sxm",
];

/// The paper's Table 2 applications: (name, metric, budget in ms).
pub const APPLICATIONS: [(&str, &str, f64); 4] = [
    ("embodied", "tpot_ms", 20.0),
    ("smart-home", "total_ms", 500.0),
    ("autonomous-driving", "total_ms", 100.0),
    ("private-serving", "total_ms", 2000.0),
];

fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// Round to 4 significant digits (readable files; exact values are not needed).
fn sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let p = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * p).round() / p
}

fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn is_int8_only(device: &str) -> bool {
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

fn scenario(name: &str, device: &str, batch: u32, prompt: u32, gen: u32, budget: BudgetSpec) -> ScenarioSpec {
    ScenarioSpec {
        name: Some(name.into()),
        hardware: HardwareSpec::Name(device.into()),
        batch,
        prompt,
        gen,
        compute_dtype: compute_dtype_for(device),
        paper_mode: false,
        budget,
    }
}

/// A random Table 2 budget scaled by a log-uniform factor in [lo, hi]; sometimes a memory
/// budget of 10–60 % of the device memory. Returns the budget and the application name.
fn app_budget(rng: &mut StdRng, device: &str, lo: f64, hi: f64) -> Result<(BudgetSpec, &'static str)> {
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

fn ffn_subset(rng: &mut StdRng) -> Vec<f64> {
    const POOL: [f64; 7] = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0];
    let k = rng.random_range(3..=5);
    let mut idx: Vec<usize> = (0..POOL.len()).collect();
    for i in (1..idx.len()).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let mut v: Vec<f64> = idx[..k].iter().map(|&i| POOL[i]).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn file(name: String, description: String, space: SpaceSpec, scenarios: Vec<ScenarioSpec>) -> InstanceFile {
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

fn gen_paper(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let (budget, app) = app_budget(rng, device, 0.5, 2.0)?;
    let ffn = ffn_subset(rng);
    let desc = format!(
        "paper family: Table 5 space (ffn ratios {ffn:?}); {app} budget on {device}; workload B=1, S_in=1024, S_out=16"
    );
    let s = scenario(device, device, 1, 1024, 16, budget);
    Ok(file(name, desc, table5_space(ffn, is_int8_only(device)), vec![s]))
}

fn gen_multi(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let n = rng.random_range(2..=3);
    let mut devices: Vec<&str> = MULTI_DEVICES.to_vec();
    for i in (1..devices.len()).rev() {
        devices.swap(i, rng.random_range(0..=i));
    }
    let mut scenarios = Vec::new();
    let mut parts = Vec::new();
    for (k, &device) in devices.iter().take(n).enumerate() {
        let batch = *pick(rng, &[1u32, 1, 4, 16]);
        let prompt = *pick(rng, &[256u32, 1024, 4096]);
        let gen = *pick(rng, &[16u32, 128]);
        let (budget, app) = app_budget(rng, device, 0.7, 3.0)?;
        parts.push(format!("{app} on {device} (B={batch}, S_in={prompt}, S_out={gen})"));
        scenarios.push(scenario(&format!("s{k}-{device}"), device, batch, prompt, gen, budget));
    }
    let desc = format!("multi family: Table 5 space; one design for {}", parts.join(" and "));
    Ok(file(name, desc, table5_space(vec![0.5, 1.0, 2.0, 3.0, 4.0], false), scenarios))
}

/// Grids of the `large` family, coarse to fine, one list of levels per knob.
struct LargeLevels;

impl LargeLevels {
    const KNOBS: usize = 10;
    const LEVELS: [usize; 10] = [4, 5, 4, 3, 4, 4, 3, 3, 3, 2];

    fn spec(lv: &[usize; 10], int8_only: bool) -> SpaceSpec {
        let layers = match lv[0] {
            0 => Grid::Range { from: 4, to: 32, step: 4 },
            1 => Grid::Range { from: 2, to: 32, step: 2 },
            2 => Grid::Range { from: 1, to: 32, step: 1 },
            _ => Grid::Range { from: 1, to: 64, step: 1 },
        };
        let step = [512, 256, 128, 64, 32][lv[1]];
        let hidden = Grid::Range { from: 512, to: 4096, step };
        let head_dim = [vec![64], vec![64, 128], vec![32, 64, 128], vec![32, 64, 96, 128]][lv[2]].clone();
        let kv: Vec<KvChoice> = [vec![1, 0], vec![1, 2, 4, 8, 0], vec![1, 2, 4, 8, 16, 0]][lv[3]]
            .iter()
            .map(|&k| if k == 0 { KvChoice::Word("heads".into()) } else { KvChoice::Count(k) })
            .collect();
        let ffn = [
            vec![1.0, 2.0, 4.0],
            vec![0.5, 1.0, 2.0, 3.0, 4.0],
            vec![0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0],
            vec![0.25, 0.375, 0.5, 0.625, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0],
        ][lv[4]]
            .clone();
        let moe: Vec<[i64; 2]> = [
            vec![[1, 1]],
            vec![[1, 1], [8, 1], [8, 2], [16, 1], [16, 2]],
            vec![[1, 1], [4, 1], [8, 1], [8, 2], [16, 1], [16, 2], [32, 1], [32, 2]],
            vec![[1, 1], [4, 1], [4, 2], [8, 1], [8, 2], [16, 1], [16, 2], [16, 4], [32, 1], [32, 2], [64, 1], [64, 2]],
        ][lv[5]]
            .clone();
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let wd = if int8_only {
            strs(&[["int8"], ["int8"], ["int8"]][lv[6]])
        } else {
            [strs(&["bf16"]), strs(&["bf16", "int8"]), strs(&["bf16", "fp8", "int8", "int4"])][lv[6]].clone()
        };
        let kd = if int8_only {
            strs(&["int8"])
        } else {
            [strs(&["bf16"]), strs(&["bf16", "int8"]), strs(&["bf16", "fp8", "int8"])][lv[7]].clone()
        };
        let vocab = [vec![32000], vec![32000, 151936], vec![32000, 50304, 128256, 151936]][lv[8]].clone();
        let tied = [vec![true], vec![true, false]][lv[9]].clone();
        SpaceSpec {
            layers,
            hidden,
            heads: None,
            head_dim: Some(Grid::List(head_dim)),
            kv_heads: Some(kv),
            ffn_ratio: Some(ffn),
            ffn: None,
            ffn_multiple: Some(16),
            moe: Some(moe),
            weight_dtype: Some(wd),
            kv_dtype: Some(kd),
            vocab: Grid::List(vocab),
            tied: Some(tied),
            qkv_bias: false,
            rules: Rules { q_dim_equals_hidden: true, ..Default::default() },
        }
    }
}

/// Candidates of a space spec without materialising the product: the width
/// configurations of (hidden, heads, kv, ffn) times the independent lists.
pub fn count_candidates(spec: &SpaceSpec) -> Result<u64> {
    let mut core = spec.clone();
    let n_moe = core.moe.take().map_or(1, |v| v.len() as u64);
    let n_wd = core.weight_dtype.take().map_or(1, |v| v.len() as u64);
    let n_kd = core.kv_dtype.take().map_or(1, |v| v.len() as u64);
    let n_tied = core.tied.take().map_or(1, |v| v.len() as u64);
    let n_vocab = core.vocab.values(&Origin::default(), "space.vocab")?.len() as u64;
    core.vocab = Grid::List(vec![32000]);
    if core.rules.max_active_ffn_ratio.is_some() {
        return Ok(spec.enumerate(&Origin::default())?.candidates());
    }
    let s = core.enumerate(&Origin::default())?;
    Ok(s.candidates() * n_moe * n_wd * n_kd * n_tied * n_vocab)
}

fn gen_large(rng: &mut StdRng, name: String, target: f64) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let int8 = is_int8_only(device);
    let mut lv = [0usize; 10];
    let mut size = count_candidates(&LargeLevels::spec(&lv, int8))?;
    loop {
        let mut order: Vec<usize> = (0..LargeLevels::KNOBS).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut grew = false;
        for k in order {
            if lv[k] + 1 >= LargeLevels::LEVELS[k] {
                continue;
            }
            let mut next = lv;
            next[k] += 1;
            let n = count_candidates(&LargeLevels::spec(&next, int8))?;
            if n as f64 <= target && n > size {
                lv = next;
                size = n;
                grew = true;
                break;
            }
        }
        if !grew {
            break;
        }
    }
    let (budget, app) = app_budget(rng, device, 0.5, 2.0)?;
    let desc = format!("large family: {size} candidates (target {target:.0}); {app} budget on {device}");
    let s = scenario(device, device, 1, 1024, 16, budget);
    let mut f = file(name, desc, LargeLevels::spec(&lv, int8), vec![s]);
    f.solver.time_limit_s = Some(300.0);
    Ok(f)
}

/// Metrics the `infeasible` and `tight` families place at the edge.
const EDGE_METRICS: [&str; 4] = ["tpot_ms", "total_ms", "decode_ms", "memory_gb"];

fn set_metric(b: &mut BudgetSpec, metric: &str, v: Option<f64>) {
    match metric {
        "tpot_ms" => b.tpot_ms = v,
        "total_ms" => b.total_ms = v,
        "decode_ms" => b.decode_ms = v,
        _ => b.memory_gb = v,
    }
}

/// Every candidate's value of one budget metric (sorted ascending; memory in GB).
fn metric_values(f: &InstanceFile, metric: &str) -> Result<Vec<f64>> {
    let mut probe = f.clone();
    set_metric(&mut probe.scenarios[0].budget, metric, Some(1e30));
    let inst = Instance::from_file(probe, &Origin::default(), None, "probe")?;
    let source = format!("budget.{metric}");
    let bi = inst.budgets.iter().position(|b| b.source == source).expect("probe budget present");
    let p = Problem::new(&inst)?;
    let rows = p.rows(true);
    let scale = if metric == "memory_gb" { 1e-9 } else { 1.0 };
    let mut v: Vec<f64> = rows
        .iter()
        .flat_map(|r| p.depths.iter().map(move |&l| r.budgets[bi].at(l as f64)))
        .map(|x| x * scale)
        .collect();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

fn gen_edge(rng: &mut StdRng, name: String, infeasible: bool) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let metric = *pick(rng, &EDGE_METRICS);
    let ffn = ffn_subset(rng);
    let s = scenario(device, device, 1, 1024, 16, BudgetSpec { device_memory: true, ..Default::default() });
    let mut f = file(name, String::new(), table5_space(ffn, is_int8_only(device)), vec![s]);
    let values = metric_values(&f, metric)?;
    if infeasible {
        let delta = rng.random_range(0.02..0.2);
        let limit = values[0] * (1.0 - delta);
        set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
        f.description = Some(format!(
            "infeasible family: {metric} ≤ {limit:.6} on {device}, {:.1} % below the smallest value any design reaches ({:.6})",
            delta * 100.0,
            values[0]
        ));
        return Ok(f);
    }
    let mut k = rng.random_range(0..5usize);
    loop {
        let limit = values[k.min(values.len() - 1)] * (1.0 + 1e-6);
        set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
        f.description = Some(format!(
            "tight family: {metric} ≤ {limit:.9} on {device}, 1e-6 above the value of the design ranked {} by this metric",
            k + 1
        ));
        let inst = Instance::from_file(f.clone(), &Origin::default(), None, "tight")?;
        let sol = solve(&inst, "enum", &SolveOptions { compare_exact: false, ..Default::default() })?;
        if sol.status == Status::Optimal || k + 1 >= values.len() {
            return Ok(f);
        }
        // Another budget (device memory) cuts the k-th design: move outwards.
        k = (k + 1) * 2;
    }
}

/// The calibrated H100 that the shipped latency samples describe.
pub const ROBUST_CHANCE_DEVICE: &str = "nvidia-h100-sxm-cudagraph";

/// File name of the latency samples written beside chance-constrained `robust` instances.
pub const ROBUST_LATENCY_SAMPLES: &str = "h100-cudagraph-cal-samples.csv";

/// The measured H100 latency-calibration bootstrap samples (`colaw calibrate --samples`).
const H100_CAL_SAMPLES: &str = include_str!("../data/measurements/h100_cudagraph_cal_samples.csv");

/// Synthetic training runs per `robust` instance's fit (the paper fitted its law on a few
/// hundred runs), and bootstrap resamples (so CVaR at 5 % still averages ≥ 3 samples).
const ROBUST_RUNS: usize = 170;
const ROBUST_RESAMPLES: usize = 64;

/// Bootstrap coefficient samples of the paper law (the `colaw fit --samples` CSV): draw
/// `ROBUST_RUNS` designs uniformly from `space`, give each the paper law's loss times
/// exp(N(0, σ)), fit the law (its own values plus 16 Latin-hypercube starts) and bootstrap
/// the fit.
fn law_samples(space: &SpaceSpec, sigma: f64, seed: u64) -> Result<String> {
    let law = load_law("paper")?;
    let space = space.enumerate(&Origin::default())?;
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).map_err(|e| Error::Unsupported(format!("noise σ = {sigma}: {e}")))?;
    let mut inputs = Vec::with_capacity(ROBUST_RUNS);
    let mut losses = Vec::with_capacity(ROBUST_RUNS);
    for _ in 0..ROBUST_RUNS {
        let w = &space.widths[rng.random_range(0..space.widths.len())];
        let arch = w.arch(space.depths[rng.random_range(0..space.depths.len())]);
        let x = LawInputs::from_arch(&arch, law.default_tokens());
        losses.push(law.loss(&x) * noise.sample(&mut rng).exp());
        inputs.push(x);
    }
    let obs = Observations::new(inputs, losses);
    let model = LseModel::new(&law)?;
    let opts = FitOptions { starts: Starts::Lhs(16), cv_folds: 0, seed, ..Default::default() };
    let fitter = Fitter::new(&model, &obs, opts)?;
    let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values)))?;
    let b = bootstrap(&fitter, &fit, &BootstrapOptions { resamples: ROBUST_RESAMPLES, seed, restarts: 3 }, None);
    samples_csv(&b)
}

/// The Table 5 space on the calibrated H100 under a tpot or end-to-end budget set at a
/// random quantile (20–70 %) of every candidate's value, so that it binds.
fn gen_h100(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let device = ROBUST_CHANCE_DEVICE;
    let ffn = ffn_subset(rng);
    let (batch, prompt, gen) = *pick(rng, &[(1u32, 1024u32, 16u32), (16, 1024, 16), (16, 4096, 128)]);
    let metric = *pick(rng, &["tpot_ms", "total_ms"]);
    let s = scenario(device, device, batch, prompt, gen, BudgetSpec { device_memory: true, ..Default::default() });
    let mut f = file(name, String::new(), table5_space(ffn.clone(), false), vec![s]);
    let values = metric_values(&f, metric)?;
    let q: f64 = rng.random_range(0.2..0.7);
    let limit = sig4(values[((values.len() - 1) as f64 * q) as usize]);
    set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
    f.description = Some(format!(
        "Table 5 space (ffn ratios {ffn:?}) on {device}, B={batch}, S_in={prompt}, S_out={gen}; {metric} ≤ {limit} \
         (the {:.0} % quantile of the candidates' values)",
        q * 100.0
    ));
    Ok(f)
}

fn gen_robust(rng: &mut StdRng, name: String) -> Result<(InstanceFile, Vec<(String, String)>)> {
    let chance = rng.random::<f64>() < 0.5;
    let mut f = if chance { gen_h100(rng, name.clone())? } else { gen_paper(rng, name.clone())? };
    let risk = *pick(rng, &["mean", "cvar:0.05", "cvar:0.1", "cvar:0.25"]);
    let sigma = *pick(rng, &[0.005, 0.01, 0.02]);
    let samples_name = format!("{name}-law-samples.csv");
    let mut extra = vec![(samples_name.clone(), law_samples(&f.space, sigma, rng.random::<u64>())?)];
    let mut section = RobustSection {
        samples: Some(samples_name),
        risk: Some(risk.into()),
        latency_samples: None,
        chance: None,
        latency_scenarios: None,
    };
    let mut what = format!(
        "robust family: {risk} over {ROBUST_RESAMPLES} bootstrap samples of a paper-law fit to {ROBUST_RUNS} synthetic \
         runs (noise σ = {sigma})"
    );
    if chance {
        let eps = *pick(rng, &[0.0, 0.01, 0.05, 0.1]);
        section.latency_samples = Some(ROBUST_LATENCY_SAMPLES.into());
        section.chance = Some(eps);
        extra.push((ROBUST_LATENCY_SAMPLES.into(), H100_CAL_SAMPLES.into()));
        what += &format!("; budgets in ≥ {:.0} % of the H100 latency-calibration samples", (1.0 - eps) * 100.0);
    }
    f.description = Some(format!("{what}. {}", f.description.as_deref().unwrap_or("")));
    f.robust = Some(section);
    Ok((f, extra))
}

/// Generate a family's instances.
pub fn generate(opts: &GenOptions) -> Result<Vec<Generated>> {
    let fam = opts.family;
    let mut out = Vec::with_capacity(opts.count);
    for i in 0..opts.count {
        let mut rng = StdRng::seed_from_u64(mix_seed_pair(opts.seed, fam as u64 + 1, i as u64));
        let name = format!("{}-s{}-{:05}", fam.name(), opts.seed, i);
        let mut extra_files = Vec::new();
        let f = match fam {
            Family::Paper => gen_paper(&mut rng, name.clone())?,
            Family::Robust => {
                let (f, extra) = gen_robust(&mut rng, name.clone())?;
                extra_files = extra;
                f
            }
            Family::Multi => gen_multi(&mut rng, name.clone())?,
            Family::Large => {
                let hi = opts.max_candidates.max(1e4).log10();
                let t = if opts.count <= 1 { hi } else { 4.0 + (hi - 4.0) * i as f64 / (opts.count - 1) as f64 };
                gen_large(&mut rng, name.clone(), 10f64.powf(t) * 1.000001)?
            }
            Family::Infeasible => gen_edge(&mut rng, name.clone(), true)?,
            Family::Tight => gen_edge(&mut rng, name.clone(), false)?,
        };
        out.push(Generated { file_name: format!("{name}.toml"), file: f, extra_files });
    }
    Ok(out)
}

/// Write generated instances into `dir` (created); returns the paths.
pub fn write_all(dir: &Path, gens: &[Generated]) -> Result<Vec<PathBuf>> {
    let io = |p: &Path, source| Error::Io { path: p.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut paths = Vec::with_capacity(gens.len());
    let mut written = std::collections::HashSet::new();
    for g in gens {
        for (name, text) in &g.extra_files {
            // Shared files (the latency samples) are written once.
            if written.insert(name.clone()) {
                let p = dir.join(name);
                std::fs::write(&p, text).map_err(|e| io(&p, e))?;
            }
        }
        let p = dir.join(&g.file_name);
        std::fs::write(&p, g.to_toml()?).map_err(|e| io(&p, e))?;
        paths.push(p);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table5_count() {
        let s = table5_space(vec![0.5, 1.0, 2.0, 3.0, 4.0], false);
        let n = count_candidates(&s).unwrap();
        assert_eq!(n, s.enumerate(&Origin::default()).unwrap().candidates());
    }

    #[test]
    fn large_count_matches_enumeration() {
        let lv = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        let s = LargeLevels::spec(&lv, false);
        assert_eq!(count_candidates(&s).unwrap(), s.enumerate(&Origin::default()).unwrap().candidates());
    }

    #[test]
    fn family_names_parse() {
        for f in FAMILIES {
            assert_eq!(f.parse::<Family>().unwrap().name(), f);
        }
        assert!("robustt".parse::<Family>().unwrap_err().contains("robust"));
    }

    #[test]
    fn round_trips_through_toml() {
        for fam in [Family::Paper, Family::Multi] {
            let g = generate(&GenOptions { count: 2, seed: 3, ..GenOptions::new(fam) }).unwrap();
            for x in &g {
                let text = x.to_toml().unwrap();
                let back: InstanceFile = toml::from_str(&text).unwrap();
                assert_eq!(toml::to_string(&back).unwrap(), toml::to_string(&x.file).unwrap());
            }
        }
    }
}
