//! What every solver variant shares: cost models per scenario and storage types, per-width
//! rows (costs linear in depth, largest feasible depth, objective split) and the law's
//! structure.

use super::BudgetReach;
use crate::architecture::ParamCounts;
use crate::cost::{CostModel, Linear, Metrics, WidthCosts};
use crate::error::Result;
use crate::instance::Instance;
use crate::law::{LawInputs, Var};
use crate::objective::{DesignView, WidthView};
use crate::precision::DType;
use crate::space::WidthConfig;
use rayon::prelude::*;

/// How the objective decomposes; decides which formulations apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// objective = F(depth) + G(width) + depth·H(width).
    Separable,
    /// objective = φ(N) with φ strictly decreasing and N a parameter count, linear in
    /// depth per width (Chinchilla at fixed tokens, no extra terms): minimise −N.
    Monotone(Var),
    /// Neither: only enumeration and the assignment MIP apply.
    General,
}

/// One width configuration's precomputed data.
#[derive(Debug, Clone, Default)]
pub struct WidthRow {
    /// Index of the largest feasible depth (depths are ascending), or None.
    pub lmax: Option<usize>,
    /// Separable: width part G.
    pub g: f64,
    /// Separable: per-layer part H.
    pub h: f64,
    /// Monotone: the parameter count N as fixed + l·per_layer.
    pub n: Linear,
    /// Each budget's metric as fixed + l·per_layer (only when requested).
    pub budgets: Vec<Linear>,
}

/// A prepared instance.
pub struct Problem<'a> {
    /// The instance.
    pub inst: &'a Instance,
    /// Objective structure.
    pub structure: Structure,
    /// Depths (copy of the space's).
    pub depths: Vec<u32>,
    /// Separable: F per depth index.
    pub depth_obj: Vec<f64>,
    /// Separable: loss_weight·law depth part per depth index.
    law_depth: Vec<f64>,
    dtypes: Vec<(DType, DType)>,
    /// models[dtype combo][scenario].
    models: Vec<Vec<CostModel>>,
    term_lb: f64,
    min_bytes: (f64, f64),
}

/// Parameter counts of a width as linear functions of depth: (total, active).
pub fn params_linear(w: &WidthConfig) -> (Linear, Linear) {
    let a = w.arch(0);
    let p = a.params();
    let per = p.per_layer as f64;
    let inactive = (w.experts - w.active_experts) as f64 * a.expert_params() as f64;
    (Linear { fixed: p.total as f64, per_layer: per }, Linear { fixed: p.total as f64, per_layer: per - inactive })
}

fn params_at(total: Linear, active: Linear, w: &WidthConfig, l: u32) -> ParamCounts {
    let a = w.arch(l);
    let t = total.at(l as f64) as u64;
    let emb = a.vocab as u64 * a.hidden as u64;
    let lm = if a.tied_embeddings { 0 } else { emb };
    ParamCounts {
        total: t,
        embedding: emb,
        lm_head: lm,
        non_embedding: t - emb - lm,
        active: active.at(l as f64) as u64,
        per_layer: total.per_layer as u64,
    }
}

/// Detect a law monotone decreasing in one parameter-count variable.
fn monotone_var(inst: &Instance) -> Option<Var> {
    if !inst.terms.is_empty() || inst.loss_weight <= 0.0 {
        return None;
    }
    inst.law.monotone_in()
}

impl<'a> Problem<'a> {
    /// Prepare an instance: cost models and the objective's structure.
    pub fn new(inst: &'a Instance) -> Result<Self> {
        let mut dtypes: Vec<(DType, DType)> = inst.space.widths.iter().map(|w| (w.weights, w.kv_cache)).collect();
        dtypes.sort();
        dtypes.dedup();
        let mut models = Vec::new();
        for &(wd, kd) in &dtypes {
            let mut v = Vec::new();
            for s in &inst.scenarios {
                v.push(CostModel::with_mode(&s.hardware, &s.workload_for(wd, kd), s.mode)?);
            }
            models.push(v);
        }
        let depths = inst.space.depths.clone();
        let law = inst.law.as_ref();
        let lw = inst.loss_weight;
        let terms_split = {
            let w = &inst.space.widths[0];
            let arch = w.arch(1);
            let (p, pa) = params_linear(w);
            let costs: Vec<WidthCosts> = models[0].iter().map(|m| m.width_costs(&arch)).collect();
            let view = WidthView { width: w, arch: &arch, params: p, active_params: pa, costs: &costs };
            inst.terms.iter().all(|t| t.split(&view).is_some())
        };
        let structure = if (lw == 0.0 || law.is_separable()) && terms_split {
            Structure::Separable
        } else if let Some(v) = monotone_var(inst) {
            Structure::Monotone(v)
        } else {
            Structure::General
        };
        let law_depth: Vec<f64> = depths
            .iter()
            .map(|&l| if lw == 0.0 || structure != Structure::Separable { 0.0 } else { lw * law.depth_part(l as f64) })
            .collect();
        let depth_obj: Vec<f64> = depths
            .iter()
            .zip(&law_depth)
            .map(|(&l, &f)| f + inst.terms.iter().map(|t| t.depth_part(l)).sum::<f64>())
            .collect();
        let term_lb = inst.terms.iter().map(|t| t.lower_bound()).sum::<f64>();
        let min_bytes =
            dtypes.iter().fold((f64::INFINITY, f64::INFINITY), |(a, b), (w, k)| (a.min(w.bytes()), b.min(k.bytes())));
        Ok(Problem { inst, structure, depths, depth_obj, law_depth, dtypes, models, term_lb, min_bytes })
    }

    /// widths × depths.
    pub fn candidates(&self) -> u64 {
        self.inst.candidates()
    }

    /// Number of width configurations.
    pub fn widths(&self) -> usize {
        self.inst.space.widths.len()
    }

    /// True when the compact MIP applies.
    pub fn compact_ok(&self) -> bool {
        self.structure != Structure::General
    }

    /// One line about the structure, for messages.
    pub fn structure_description(&self) -> String {
        match self.structure {
            Structure::Separable => {
                "a separable objective (depth part + width part + depth × per-layer width part)".into()
            }
            Structure::Monotone(v) => {
                format!("a law monotone decreasing in `{}` (linear in depth per width)", v.name())
            }
            Structure::General => format!(
                "law `{}` that neither separates nor is monotone in one parameter count{}",
                self.inst.law.name(),
                if self.inst.terms.is_empty() { "" } else { ", or a term without a depth split" }
            ),
        }
    }

    fn models_for(&self, w: &WidthConfig) -> &[CostModel] {
        let i = self.dtypes.iter().position(|&d| d == (w.weights, w.kv_cache)).expect("dtype combo registered");
        &self.models[i]
    }

    /// Per-scenario costs of width `w`.
    pub fn costs(&self, w: usize, out: &mut Vec<WidthCosts>) {
        let wc = &self.inst.space.widths[w];
        let arch = wc.arch(1);
        out.clear();
        out.extend(self.models_for(wc).iter().map(|m| m.width_costs(&arch)));
    }

    /// Exact check of every budget at depth `l`, computed as verification does.
    pub fn feasible(&self, wc: &WidthConfig, costs: &[WidthCosts], p: Linear, pa: Linear, l: u32) -> bool {
        let mut metrics = [Metrics::default(); 8];
        let many;
        let ms: &[Metrics] = if costs.len() <= 8 {
            for (m, c) in metrics.iter_mut().zip(costs) {
                *m = c.at_depth(l);
            }
            &metrics[..costs.len()]
        } else {
            many = costs.iter().map(|c| c.at_depth(l)).collect::<Vec<_>>();
            &many
        };
        let pc = params_at(p, pa, wc, l);
        self.inst.budgets.iter().all(|b| b.metric.value(&ms[b.scenario], &pc) <= b.limit)
    }

    /// Compute a width's row (budget linears only when `with_budgets`).
    pub fn row(&self, w: usize, with_budgets: bool, costs: &mut Vec<WidthCosts>) -> WidthRow {
        self.costs(w, costs);
        let wc = &self.inst.space.widths[w];
        let (p, pa) = params_linear(wc);
        let n_feasible = self.depths.partition_point(|&l| self.feasible(wc, costs, p, pa, l));
        let lmax = n_feasible.checked_sub(1);
        let mut row = WidthRow { lmax, ..Default::default() };
        let inst = self.inst;
        match self.structure {
            Structure::Separable => {
                let arch = wc.arch(1);
                if inst.loss_weight > 0.0 {
                    row.g = inst.loss_weight * inst.law.width_part(&LawInputs::from_arch(&arch, inst.tokens));
                }
                if !inst.terms.is_empty() {
                    let view = WidthView { width: wc, arch: &arch, params: p, active_params: pa, costs };
                    for t in &inst.terms {
                        let s = t.split(&view).expect("ObjectiveTerm::split must return Some for every width or for none (checked on the first width at setup)");
                        row.g += s.fixed;
                        row.h += s.per_layer;
                    }
                }
            }
            Structure::Monotone(v) => {
                row.n = match v {
                    Var::ActiveParams => pa,
                    Var::NonEmbeddingParams => {
                        let a = wc.arch(0);
                        let emb = a.vocab as f64 * a.hidden as f64 * if a.tied_embeddings { 1.0 } else { 2.0 };
                        Linear { fixed: p.fixed - emb, per_layer: p.per_layer }
                    }
                    _ => p,
                };
            }
            Structure::General => {}
        }
        if with_budgets {
            row.budgets = inst.budgets.iter().map(|b| b.metric.linear(&costs[b.scenario], p, pa)).collect();
        }
        row
    }

    /// All rows, in parallel.
    pub fn rows(&self, with_budgets: bool) -> Vec<WidthRow> {
        (0..self.widths()).into_par_iter().map_init(Vec::new, |buf, w| self.row(w, with_budgets, buf)).collect()
    }

    /// Exact objective of candidate (w, depth index i), given the width's row and costs.
    pub fn objective(&self, w: usize, row: &WidthRow, costs: &[WidthCosts], i: usize) -> f64 {
        let l = self.depths[i];
        match self.structure {
            Structure::Separable => self.depth_obj[i] + row.g + l as f64 * row.h,
            _ => self.full_objective(w, costs, l),
        }
    }

    /// Exact objectives of width `w` at the depth indices `depths` (ascending or not), appended
    /// to `out`: as [`Problem::objective`] of each, with every term asked once for the whole
    /// batch ([`crate::objective::ObjectiveTerm::values`]).
    pub fn objectives(&self, w: usize, row: &WidthRow, costs: &[WidthCosts], depths: &[usize], out: &mut Vec<f64>) {
        let inst = self.inst;
        if self.structure == Structure::Separable || inst.terms.is_empty() {
            out.extend(depths.iter().map(|&i| self.objective(w, row, costs, i)));
            return;
        }
        let wc = &inst.space.widths[w];
        let archs: Vec<_> = depths.iter().map(|&i| wc.arch(self.depths[i])).collect();
        let metrics: Vec<Vec<Metrics>> =
            archs.iter().map(|a| costs.iter().map(|c| c.at_depth(a.layers)).collect()).collect();
        let views: Vec<DesignView> = archs
            .iter()
            .zip(&metrics)
            .map(|(a, m)| DesignView { width: wc, arch: a, params: a.params(), metrics: m })
            .collect();
        let start = out.len();
        out.extend(archs.iter().map(|a| {
            if inst.loss_weight > 0.0 {
                inst.loss_weight * inst.law.loss(&LawInputs::from_arch(a, inst.tokens))
            } else {
                0.0
            }
        }));
        let mut vals = Vec::with_capacity(views.len());
        for t in &inst.terms {
            vals.clear();
            t.values(&views, &mut vals);
            for (o, v) in out[start..].iter_mut().zip(&vals) {
                *o += v;
            }
        }
    }

    /// Objective from scratch (any structure).
    pub fn full_objective(&self, w: usize, costs: &[WidthCosts], l: u32) -> f64 {
        let inst = self.inst;
        let wc = &inst.space.widths[w];
        let arch = wc.arch(l);
        let mut v = 0.0;
        if inst.loss_weight > 0.0 {
            v += inst.loss_weight * inst.law.loss(&LawInputs::from_arch(&arch, inst.tokens));
        }
        if !inst.terms.is_empty() {
            let metrics: Vec<Metrics> = costs.iter().map(|c| c.at_depth(l)).collect();
            let view = DesignView { width: wc, arch: &arch, params: arch.params(), metrics: &metrics };
            v += inst.terms.iter().map(|t| t.value(&view)).sum::<f64>();
        }
        v
    }

    /// A lower bound on the objective of every depth of width `w`, from the law alone
    /// (no cost model); −∞ when none is available.
    pub fn cheap_lower_bound(&self, w: usize) -> f64 {
        let inst = self.inst;
        let wc = &inst.space.widths[w];
        match self.structure {
            Structure::Separable if self.term_lb > f64::NEG_INFINITY => {
                let min_f = self.law_depth.iter().copied().fold(f64::INFINITY, f64::min);
                let g = if inst.loss_weight > 0.0 {
                    inst.loss_weight * inst.law.width_part(&LawInputs::from_arch(&wc.arch(1), inst.tokens))
                } else {
                    0.0
                };
                min_f + g + self.term_lb
            }
            Structure::Monotone(_) => {
                let l = *self.depths.last().expect("depths non-empty");
                inst.loss_weight * inst.law.loss(&LawInputs::from_arch(&wc.arch(l), inst.tokens))
            }
            _ => f64::NEG_INFINITY,
        }
    }

    /// True when width `w` is dominated by the same architecture with the grid's smallest
    /// storage types: costs only grow with bytes per element and the loss does not read
    /// storage types, so with no extra terms it can never be strictly better. Only for
    /// top-1 searches (a dominated design may still be among the k best).
    pub fn dominated(&self, w: usize) -> bool {
        let wc = &self.inst.space.widths[w];
        self.inst.space.dtype_product
            && self.inst.terms.is_empty()
            && self.structure != Structure::General
            && (wc.weights.bytes() > self.min_bytes.0 || wc.kv_cache.bytes() > self.min_bytes.1)
    }

    /// For each budget: the smallest value any design reaches (that budget alone).
    pub fn reachability(&self) -> Vec<BudgetReach> {
        let inst = self.inst;
        let l0 = self.depths[0];
        let nb = inst.budgets.len();
        let best = (0..self.widths())
            .into_par_iter()
            .map_init(Vec::new, |buf, w| {
                self.costs(w, buf);
                let wc = &inst.space.widths[w];
                let (p, pa) = params_linear(wc);
                let pc = params_at(p, pa, wc, l0);
                inst.budgets.iter().map(|b| b.metric.value(&buf[b.scenario].at_depth(l0), &pc)).collect::<Vec<f64>>()
            })
            .reduce(|| vec![f64::INFINITY; nb], |a, b| a.iter().zip(&b).map(|(x, y)| x.min(*y)).collect());
        inst.budgets
            .iter()
            .zip(best)
            .map(|(b, v)| BudgetReach {
                scenario: b.scenario_name.clone(),
                metric: b.metric,
                source: b.source.clone(),
                limit: b.limit,
                best_reachable: v,
                satisfiable_alone: v <= b.limit,
            })
            .collect()
    }
}
