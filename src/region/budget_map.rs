//! The budget map: over a grid of latency × memory budgets of one scenario, the best
//! achievable objective (point estimates) and the chosen design with its loss band over the
//! coefficient samples. Every other budget of the instance stays in force, and a design that
//! does not fit the device's usable memory (`memory_gb − reserve_gb`, the share `solve`'s
//! device budget allows) is never a candidate, so the memory axis ends at that share, not at
//! the largest design of the space.

use crate::cost::WidthCosts;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::law::LawInputs;
use crate::scenario::BudgetMetric;
use crate::solve::Problem;
use crate::util::stats::quantile;
use rayon::prelude::*;
use serde::Serialize;

/// One grid cell: its two budgets and the best design meeting them (None: no design).
#[derive(Debug, Clone, Serialize)]
pub struct MapCell {
    /// Latency (or parameter-count) budget of the cell, in the metric's unit.
    pub latency_budget: f64,
    /// Memory budget of the cell, bytes.
    pub memory_budget_bytes: f64,
    /// Point-law loss of the best design.
    pub best_loss: Option<f64>,
    /// 5 % quantile of its loss over the coefficient samples.
    pub loss_p05: Option<f64>,
    /// 95 % quantile of its loss over the coefficient samples.
    pub loss_p95: Option<f64>,
    /// Its label.
    pub label: Option<String>,
    /// Its layers.
    pub layers: Option<u32>,
    /// Its hidden size.
    pub hidden: Option<u32>,
    /// Its experts.
    pub experts: Option<u32>,
    /// Its active experts.
    pub active_experts: Option<u32>,
}

/// A computed budget map.
#[derive(Debug, Clone)]
pub struct BudgetMap {
    /// Scenario index.
    pub scenario: usize,
    /// The map's latency metric.
    pub metric: BudgetMetric,
    /// Latency budgets (x axis), log-spaced over the designs' range.
    pub latency_budgets: Vec<f64>,
    /// Memory budgets in bytes (y axis), log-spaced.
    pub memory_budgets_bytes: Vec<f64>,
    /// Cells, row-major: memory budget j, latency budget i at `j · n + i`.
    pub cells: Vec<MapCell>,
}

/// The budget map of scenario `scenario` over an n × n grid (n ≥ 2) of `metric` (default:
/// the scenario's first latency budget's metric, else decode ms) × memory budgets, with loss
/// bands over the coefficient samples `coef` (law order; empty: no band). None when no
/// design meets the instance's other budgets and fits the device's usable memory.
pub fn budget_map(
    inst: &Instance,
    coef: &[Vec<f64>],
    scenario: usize,
    metric: Option<BudgetMetric>,
    n: usize,
) -> Result<Option<BudgetMap>> {
    let s = scenario;
    if s >= inst.scenarios.len() {
        return Err(Error::Unsupported(format!("budget map: scenario index {s} out of range")));
    }
    let lat_metric = metric.unwrap_or_else(|| {
        inst.budgets
            .iter()
            .find(|b| b.scenario == s && b.metric.is_latency())
            .map_or(BudgetMetric::DecodeMs, |b| b.metric)
    });
    let problem = Problem::new(inst)?;
    let depths = &inst.space.depths;
    let usable_bytes = inst.scenarios[s].hardware.usable_memory_bytes();
    // (latency, memory, objective, width, depth) of every design meeting the other budgets.
    type Row = (f64, f64, f64, usize, u32);
    let designs: Vec<Row> = (0..inst.space.widths.len())
        .into_par_iter()
        .map_init(Vec::<WidthCosts>::new, |buf, w| {
            problem.costs(w, buf);
            let mut v = Vec::new();
            for &l in depths {
                let a = inst.space.widths[w].arch(l);
                let pc = a.params();
                let ms: Vec<_> = buf.iter().map(|c| c.at_depth(l)).collect();
                let others_ok = inst.budgets.iter().all(|b| {
                    (b.scenario == s && (b.metric == lat_metric || b.metric == BudgetMetric::MemoryBytes))
                        || b.metric.value(&ms[b.scenario], &pc) <= b.limit
                });
                if others_ok && ms[s].memory_bytes.total <= usable_bytes {
                    let obj = problem.full_objective(w, buf, l);
                    v.push((lat_metric.value(&ms[s], &pc), ms[s].memory_bytes.total, obj, w, l));
                }
            }
            v
        })
        .flatten()
        .collect();
    if designs.is_empty() {
        return Ok(None);
    }
    let n = n.max(2);
    let range = |f: &dyn Fn(&Row) -> f64| {
        designs.iter().map(f).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
    };
    let (l0, l1) = range(&|d| d.0);
    let (m0, m1) = range(&|d| d.1);
    let grid = |lo: f64, hi: f64| -> Vec<f64> {
        (0..n).map(|k| lo.max(1e-300) * (hi / lo.max(1e-300)).powf(k as f64 / (n - 1) as f64)).collect()
    };
    let (lats, mems) = (grid(l0, l1), grid(m0, m1));
    let laws: Vec<_> = coef.iter().map(|c| inst.law.with_coefficients(c)).collect::<Result<_>>()?;
    let mut cells = Vec::with_capacity(n * n);
    for &mb in &mems {
        for &lb in &lats {
            let best = designs
                .iter()
                .filter(|d| d.0 <= lb * (1.0 + 1e-12) && d.1 <= mb * (1.0 + 1e-12))
                .min_by(|x, y| x.2.total_cmp(&y.2));
            let mut cell = MapCell {
                latency_budget: lb,
                memory_budget_bytes: mb,
                best_loss: None,
                loss_p05: None,
                loss_p95: None,
                label: None,
                layers: None,
                hidden: None,
                experts: None,
                active_experts: None,
            };
            if let Some(&(_, _, _, w, l)) = best {
                let arch = inst.space.widths[w].arch(l);
                let x = LawInputs::from_arch(&arch, inst.tokens);
                let mut band: Vec<f64> = laws.iter().map(|law| law.loss(&x)).collect();
                band.sort_by(f64::total_cmp);
                let q = |f: f64| (!band.is_empty()).then(|| quantile(&band, f));
                cell.best_loss = Some(inst.law.loss(&x));
                cell.loss_p05 = q(0.05);
                cell.loss_p95 = q(0.95);
                cell.label = Some(arch.label());
                cell.layers = Some(arch.layers);
                cell.hidden = Some(arch.hidden);
                cell.experts = Some(arch.experts);
                cell.active_experts = Some(arch.active_experts);
            }
            cells.push(cell);
        }
    }
    Ok(Some(BudgetMap { scenario: s, metric: lat_metric, latency_budgets: lats, memory_budgets_bytes: mems, cells }))
}
