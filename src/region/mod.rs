//! Uncertainty-aware feasible regions: every design of an instance's space evaluated under
//! every bootstrap coefficient set of the law (and every latency-calibration sample), giving
//! per design the probability of meeting all budgets, of reaching a target loss and of being
//! the optimum, and the spread of its predicted loss.
//!
//! Draw s = 0..S−1 (S = the larger sample count) pairs coefficient sample s mod C with latency
//! sample s mod L; with only one kind of sample the other is the point estimate. A design is
//! optimal in a draw when it is feasible under that draw's latency model and has the lowest
//! objective (loss weight · loss + extra terms) among the feasible designs of that draw.

mod budget_map;
pub use budget_map::{budget_map, BudgetMap, MapCell};

use crate::cost::WidthCosts;
use crate::error::Result;
use crate::hardware::EfficiencyTerms;
use crate::instance::Instance;
use crate::law::{LawInputs, LossLaw};
use crate::solve::Problem;
use crate::util::stats::quantile;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;

/// Options of a region computation.
#[derive(Debug, Clone, Default)]
pub struct RegionOptions {
    /// Loss threshold for `p_target`.
    pub target_loss: Option<f64>,
    /// Apply latency samples only to these scenario indices (default: every scenario).
    pub latency_scenarios: Option<Vec<usize>>,
}

/// Statistics of one design.
#[derive(Debug, Clone, Serialize)]
pub struct DesignStats {
    /// Width index into the instance space.
    #[serde(skip)]
    pub width: usize,
    /// Depth index.
    #[serde(skip)]
    pub depth: usize,
    /// Short label.
    pub label: String,
    /// Layers.
    pub layers: u32,
    /// Hidden size.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// KV heads.
    pub kv_heads: u32,
    /// Head dimension.
    pub head_dim: u32,
    /// FFN size per expert.
    pub ffn: u32,
    /// Experts.
    pub experts: u32,
    /// Active experts.
    pub active_experts: u32,
    /// Vocabulary.
    pub vocab: u32,
    /// Weight storage type.
    pub weight_dtype: String,
    /// KV-cache storage type.
    pub kv_dtype: String,
    /// Loss under the point-estimate law.
    pub point_loss: f64,
    /// Objective under the point estimates.
    pub point_objective: f64,
    /// Meets every budget under the point-estimate cost model.
    pub point_feasible: bool,
    /// P(meets every budget).
    pub p_feasible: f64,
    /// P(loss ≤ target) (NaN without a target).
    pub p_target: f64,
    /// P(meets every budget and loss ≤ target).
    pub p_feasible_and_target: f64,
    /// P(optimal).
    pub p_optimal: f64,
    /// Mean predicted loss over the coefficient samples.
    pub loss_mean: f64,
    /// 5th percentile of the predicted loss.
    pub loss_p05: f64,
    /// 95th percentile of the predicted loss.
    pub loss_p95: f64,
}

/// A computed region.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// Draws evaluated.
    pub draws: usize,
    /// Coefficient samples used (0 = point estimate only).
    pub coefficient_samples: usize,
    /// Latency samples used (0 = point cost model only).
    pub latency_samples: usize,
    /// Candidates in the space.
    pub candidates: u64,
    /// Designs feasible in at least one draw (the rows of `designs`).
    pub designs_listed: usize,
    /// Draws without an optimum: no design meets the budgets, or the sample's law is not
    /// finite at any design that does (a degenerate bootstrap refit).
    pub infeasible_draws: usize,
    /// Every design feasible in at least one draw.
    pub designs: Vec<DesignStats>,
    /// Index (into `designs`) of the point-estimate optimum.
    pub point_optimum: Option<usize>,
    /// Index of the design optimal in the most draws.
    pub most_often_optimal: Option<usize>,
    /// Index of the design with the lowest 95th-percentile loss among those feasible in
    /// ≥ 95 % of draws.
    pub safest: Option<usize>,
    /// Target loss, if given.
    pub target_loss: Option<f64>,
}

/// Largest feasible depth index per width under one latency model (None = no depth).
fn feasible_depths(inst: &Instance) -> Result<Vec<Option<usize>>> {
    let p = Problem::new(inst)?;
    Ok(p.rows(false).into_iter().map(|r| r.lmax).collect())
}

/// Evaluate the region of an instance under coefficient samples (rows in the law's
/// coefficient order) and latency samples.
pub fn region(inst: &Instance, coef: &[Vec<f64>], lat: &[EfficiencyTerms], opts: &RegionOptions) -> Result<Region> {
    region_with_progress(inst, coef, lat, opts, &|| {})
}

/// [`region`], calling `progress()` once per draw as its optimum is found (max(coefficient
/// samples, latency samples) calls, from several threads), for a progress display.
pub fn region_with_progress(
    inst: &Instance,
    coef: &[Vec<f64>],
    lat: &[EfficiencyTerms],
    opts: &RegionOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<Region> {
    let law: &dyn LossLaw = inst.law.as_ref();
    let widths = &inst.space.widths;
    let depths = &inst.space.depths;
    let nw = widths.len();
    let n_coef = coef.len().max(1);
    let n_lat = lat.len().max(1);
    let draws = n_coef.max(n_lat);
    let lw = inst.loss_weight;

    // Feasibility: the point model, and one per latency sample.
    let point_lmax = feasible_depths(inst)?;
    let lat_lmax: Vec<Vec<Option<usize>>> = if lat.is_empty() {
        vec![point_lmax.clone()]
    } else {
        lat.par_iter()
            .map(|t| {
                let mut j = inst.clone();
                for (k, s) in j.scenarios.iter_mut().enumerate() {
                    if opts.latency_scenarios.as_ref().is_none_or(|v| v.contains(&k)) {
                        s.hardware = t.apply(&s.hardware);
                    }
                }
                feasible_depths(&j)
            })
            .collect::<Result<_>>()?
    };
    let feasible_any: Vec<Option<usize>> =
        (0..nw).map(|w| lat_lmax.iter().map(|v| v[w]).max().flatten().max(point_lmax[w])).collect();

    // Laws per coefficient sample.
    let laws: Vec<Arc<dyn LossLaw>> = if coef.is_empty() {
        vec![inst.law.clone()]
    } else {
        coef.iter().map(|c| law.with_coefficients(c)).collect::<Result<_>>()?
    };
    let separable = law.is_separable();
    // Separable laws: depth and width parts per sample, so a loss is one addition.
    let (fpart, gpart): (Vec<Vec<f64>>, Vec<Vec<f64>>) = if separable {
        laws.par_iter()
            .map(|l| {
                let f: Vec<f64> = depths.iter().map(|&d| l.depth_part(d as f64)).collect();
                let g: Vec<f64> =
                    widths.iter().map(|w| l.width_part(&LawInputs::from_arch(&w.arch(1), inst.tokens))).collect();
                (f, g)
            })
            .unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    let loss = |s: usize, w: usize, i: usize| -> f64 {
        if separable {
            fpart[s][i] + gpart[s][w]
        } else {
            laws[s].loss(&LawInputs::from_arch(&widths[w].arch(depths[i]), inst.tokens))
        }
    };

    // Candidate designs: feasible in at least one draw; their non-law objective terms.
    let problem = Problem::new(inst)?;
    let cands: Vec<(usize, usize)> =
        (0..nw).flat_map(|w| (0..feasible_any[w].map_or(0, |m| m + 1)).map(move |i| (w, i))).collect();
    let point_law = inst.law.as_ref();
    let extra: Vec<f64> = cands
        .par_iter()
        .map_init(Vec::<WidthCosts>::new, |buf, &(w, i)| {
            if inst.terms.is_empty() {
                return 0.0;
            }
            problem.costs(w, buf);
            let l = depths[i];
            let full = problem.full_objective(w, buf, l);
            full - lw * point_law.loss(&LawInputs::from_arch(&widths[w].arch(l), inst.tokens))
        })
        .collect();

    // Optimum of each draw.
    let winners: Vec<Option<usize>> = (0..draws)
        .into_par_iter()
        .map(|s| {
            let (sc, sl) = (s % n_coef, s % n_lat);
            let lmax = &lat_lmax[sl];
            let mut best: Option<(f64, usize)> = None;
            for (k, &(w, i)) in cands.iter().enumerate() {
                if lmax[w].is_some_and(|m| i <= m) {
                    let v = lw * loss(sc, w, i) + extra[k];
                    // A sample whose law overflows at a design (inf or NaN) says nothing
                    // about it; such a design cannot win that draw.
                    if v.is_finite() && best.is_none_or(|(b, _)| v < b) {
                        best = Some((v, k));
                    }
                }
            }
            progress();
            best.map(|(_, k)| k)
        })
        .collect();
    let mut wins = vec![0usize; cands.len()];
    for k in winners.iter().flatten() {
        wins[*k] += 1;
    }
    let infeasible_draws = winners.iter().filter(|w| w.is_none()).count();

    // Per-design statistics.
    let target = opts.target_loss;
    let designs: Vec<DesignStats> = cands
        .par_iter()
        .enumerate()
        .map(|(k, &(w, i))| {
            let all: Vec<f64> = (0..n_coef).map(|s| loss(s, w, i)).collect();
            let (mut feas, mut tgt, mut both) = (0usize, 0usize, 0usize);
            for s in 0..draws {
                let f = lat_lmax[s % n_lat][w].is_some_and(|m| i <= m);
                let t = target.is_some_and(|t| all[s % n_coef] <= t);
                feas += f as usize;
                tgt += t as usize;
                both += (f && t) as usize;
            }
            // Statistics over the samples where the law is finite at this design.
            let mut ls: Vec<f64> = all.into_iter().filter(|v| v.is_finite()).collect();
            let mean = ls.iter().sum::<f64>() / ls.len() as f64;
            ls.sort_by(f64::total_cmp);
            let a = widths[w].arch(depths[i]);
            let pl = point_law.loss(&LawInputs::from_arch(&a, inst.tokens));
            let d = draws as f64;
            DesignStats {
                width: w,
                depth: i,
                label: a.label(),
                layers: a.layers,
                hidden: a.hidden,
                heads: a.heads,
                kv_heads: a.kv_heads,
                head_dim: a.head_dim,
                ffn: a.ffn,
                experts: a.experts,
                active_experts: a.active_experts,
                vocab: a.vocab,
                weight_dtype: widths[w].weights.to_string(),
                kv_dtype: widths[w].kv_cache.to_string(),
                point_loss: pl,
                point_objective: lw * pl + extra[k],
                point_feasible: point_lmax[w].is_some_and(|m| i <= m),
                p_feasible: feas as f64 / d,
                p_target: if target.is_some() { tgt as f64 / d } else { f64::NAN },
                p_feasible_and_target: if target.is_some() { both as f64 / d } else { f64::NAN },
                p_optimal: wins[k] as f64 / d,
                loss_mean: mean,
                loss_p05: quantile(&ls, 0.05),
                loss_p95: quantile(&ls, 0.95),
            }
        })
        .collect();
    let argbest = |key: &dyn Fn(&DesignStats) -> Option<f64>| -> Option<usize> {
        designs
            .iter()
            .enumerate()
            .filter_map(|(k, d)| key(d).map(|v| (v, k)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    };
    let point_optimum = argbest(&|d| d.point_feasible.then_some(d.point_objective));
    // Most wins; ties to the lower mean loss (a NaN mean never wins a tie).
    let most_often_optimal = designs
        .iter()
        .enumerate()
        .filter(|(_, d)| d.p_optimal > 0.0)
        .min_by(|(_, a), (_, b)| {
            let m = |d: &DesignStats| if d.loss_mean.is_nan() { f64::INFINITY } else { d.loss_mean };
            b.p_optimal.total_cmp(&a.p_optimal).then(m(a).total_cmp(&m(b)))
        })
        .map(|(k, _)| k);
    let safest = argbest(&|d| (d.p_feasible >= 0.95).then_some(d.loss_p95));
    Ok(Region {
        draws,
        coefficient_samples: coef.len(),
        latency_samples: lat.len(),
        candidates: inst.candidates(),
        designs_listed: designs.len(),
        infeasible_draws,
        designs,
        point_optimum,
        most_often_optimal,
        safest,
        target_loss: target,
    })
}
