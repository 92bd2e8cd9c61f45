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

mod common;
mod edge;
mod large;
mod multi;
mod paper;
mod robust;
use common::*;
pub use common::{compute_dtype_for, table5_space};
use edge::*;
pub use large::count_candidates;
use large::*;
use multi::*;
use paper::*;
use robust::*;
pub use robust::{ROBUST_CHANCE_DEVICE, ROBUST_LATENCY_SAMPLES};

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
                crate::util::fs::write_atomic(&p, text.as_bytes())?;
            }
        }
        let p = dir.join(&g.file_name);
        crate::util::fs::write_atomic(&p, g.to_toml()?.as_bytes())?;
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
