//! Robust selection under law and latency uncertainty.
//!
//! Objectives over the bootstrap coefficient samples s = 1..S of the law:
//! - **mean**: minimise (1/S) Σ_s obj_s(d);
//! - **CVaR_α**: minimise t + 1/(αS) Σ_s max(0, obj_s(d) − t) (Rockafellar–Uryasev), the
//!   mean of the worst α share of the samples; in the MIP, e_s ≥ obj_s − t, e_s ≥ 0 are
//!   linear because obj_s is linear in the compact variables (separable laws).
//!
//! Latency chance constraint over calibration samples j = 1..J: the budgets must hold in at
//! least ⌈(1 − ε)·J⌉ samples. In the MIP each sample gets a binary b_j that switches its
//! budget rows off through a big-M that is exact (the largest overshoot any kept width can
//! reach); Σ b_j ≥ ⌈(1 − ε)J⌉. Without a chance constraint the point cost model decides
//! feasibility. `robust_enum` evaluates every design directly and is the reference.

use super::highs::{argmax, choice_constraints, run_highs, MipOutcome};
use super::{
    evaluate, scenario_metrics, solve, Pick, Problem, RawSolution, Solution, SolveOptions, Solver, Status, Structure,
    WidthRow,
};
use crate::cost::WidthCosts;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::law::{LawInputs, LossLaw, PowerLaw};
use crate::uncertainty::{Risk, RobustSpec};
use good_lp::solvers::highs::highs;
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The robust part of a [`Solution`]: what the risk was taken over and how the chosen
/// design fares (its fields appear at the top level of the solution's JSON).
#[derive(Debug, Clone, Serialize)]
pub struct RobustReport {
    /// Risk measure.
    pub risk: Risk,
    /// Risk value of the chosen design (the objective), recomputed directly.
    pub value: Option<f64>,
    /// Mean loss of the design over the coefficient samples.
    pub loss_mean: Option<f64>,
    /// Its loss under the point-estimate law.
    pub loss_point: Option<f64>,
    /// Share of latency samples in which it meets every budget.
    pub latency_ok_share: Option<f64>,
    /// Required share ⌈(1 − ε)J⌉/J, when a chance constraint was given.
    pub latency_required_share: Option<f64>,
    /// Coefficient samples used.
    pub coefficient_samples: usize,
    /// Latency samples used.
    pub latency_samples: usize,
}

/// Everything both robust variants share: the sample laws, and the per-width rows under the
/// point cost model and under each latency sample.
struct RobustModel<'a> {
    inst: &'a Instance,
    spec: &'a RobustSpec,
    problem: &'a Problem<'a>,
    laws: Vec<PowerLaw>,
    /// Point-model rows (with budget linears).
    point_rows: Vec<WidthRow>,
    /// Per latency sample: rows with budget linears (chance constraint only).
    sample_rows: Vec<Vec<WidthRow>>,
    need: usize,
    /// Non-law objective per design, split: depth part, width part, per-layer part.
    term_f: Vec<f64>,
    term_g: Vec<f64>,
    term_h: Vec<f64>,
}

impl<'a> RobustModel<'a> {
    fn new(problem: &'a Problem<'a>) -> Result<Self> {
        let inst = problem.inst;
        let spec: &RobustSpec = inst.robust.as_deref().ok_or_else(|| {
            Error::Unsupported("robust selection needs a [robust] section (or --risk/--samples)".into())
        })?;
        if let Some(e) = spec.chance_epsilon {
            if !(0.0..1.0).contains(&e) {
                return Err(Error::Unsupported(format!("chance ε = {e}: must lie in [0, 1)")));
            }
            if spec.latency.is_empty() {
                return Err(Error::Unsupported("a chance constraint needs latency samples (--latency-samples)".into()));
            }
        }
        let laws: Vec<PowerLaw> = if spec.coefficients.is_empty() {
            vec![inst.law.as_ref().clone()]
        } else {
            spec.coefficients.iter().map(|c| inst.law.with_values(c)).collect()
        };
        let point_rows = problem.rows(true);
        let (sample_rows, need) = match spec.chance_epsilon {
            None => (Vec::new(), 0),
            Some(eps) => {
                let rows = spec
                    .latency
                    .par_iter()
                    .map(|t| {
                        let mut j = inst.clone();
                        for (k, s) in j.scenarios.iter_mut().enumerate() {
                            if spec.latency_scenarios.as_ref().is_none_or(|v| v.contains(&k)) {
                                s.hardware = t.apply(&s.hardware);
                            }
                        }
                        Ok(Problem::new(&j)?.rows(true))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let jn = spec.latency.len() as f64;
                (rows, (((1.0 - eps) * jn) - 1e-9).ceil().max(0.0) as usize)
            }
        };
        // Non-law parts of the objective: the separable split minus the point law's parts.
        let lw = inst.loss_weight;
        let law = inst.law.as_ref();
        let depths = &inst.space.depths;
        let (term_f, term_g, term_h) = if problem.structure == Structure::Separable {
            let f =
                depths.iter().enumerate().map(|(i, &l)| problem.depth_obj[i] - lw * law.depth_part(l as f64)).collect();
            let g = (0..inst.space.widths.len())
                .map(|w| {
                    let x = LawInputs::from_arch(&inst.space.widths[w].arch(1), inst.tokens);
                    point_rows[w].g - if lw > 0.0 { lw * law.width_part(&x) } else { 0.0 }
                })
                .collect();
            let h = point_rows.iter().map(|r| r.h).collect();
            (f, g, h)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        Ok(RobustModel { inst, spec, problem, laws, point_rows, sample_rows, need, term_f, term_g, term_h })
    }

    /// Number of latency samples in which design (w, i) meets every budget.
    fn latency_ok(&self, w: usize, i: usize) -> usize {
        self.sample_rows.iter().filter(|r| r[w].lmax.is_some_and(|m| i <= m)).count()
    }

    fn admissible(&self, w: usize, i: usize) -> bool {
        if self.sample_rows.is_empty() {
            self.point_rows[w].lmax.is_some_and(|m| i <= m)
        } else {
            self.latency_ok(w, i) >= self.need
        }
    }

    /// Objective of design (w, i) under each coefficient sample.
    fn sample_objectives(&self, w: usize, i: usize, buf: &mut Vec<WidthCosts>) -> Vec<f64> {
        let inst = self.inst;
        let lw = inst.loss_weight;
        let l = inst.space.depths[i];
        let arch = inst.space.widths[w].arch(l);
        let x = LawInputs::from_arch(&arch, inst.tokens);
        let extra = if inst.terms.is_empty() {
            0.0
        } else {
            self.problem.costs(w, buf);
            self.problem.full_objective(w, buf, l) - lw * inst.law.loss(&x)
        };
        self.laws.iter().map(|law| lw * law.loss(&x) + extra).collect()
    }

    /// Number of latency samples in which design (w, i) meets every budget, recomputed with
    /// the full cost model per sample (independent of the per-width rows the solvers use).
    fn latency_ok_direct(&self, w: usize, i: usize) -> Result<usize> {
        let inst = self.inst;
        let wc = &inst.space.widths[w];
        let arch = wc.arch(inst.space.depths[i]);
        let params = arch.params();
        let mut ok = 0;
        for t in &self.spec.latency {
            let sampled = |k: usize| self.spec.latency_scenarios.as_ref().is_none_or(|v| v.contains(&k));
            let metrics =
                scenario_metrics(inst, wc, &arch, |k| sampled(k).then(|| t.apply(&inst.scenarios[k].hardware)))?;
            ok += inst.budgets.iter().all(|b| b.metric.value(&metrics[b.scenario], &params) <= b.limit) as usize;
        }
        Ok(ok)
    }

    /// The outcome of a variant: the pick with its risk value as objective, and the report
    /// with the pick re-checked from scratch (per latency sample with the full cost model).
    fn finish(&self, pick: Option<(usize, usize)>) -> Result<RawSolution> {
        let risk = self.spec.risk;
        let mut out = RawSolution::empty(if pick.is_some() { Status::Optimal } else { Status::Infeasible });
        let mut report = RobustReport {
            risk,
            value: None,
            loss_mean: None,
            loss_point: None,
            latency_ok_share: None,
            latency_required_share: (!self.sample_rows.is_empty())
                .then(|| self.need as f64 / self.sample_rows.len() as f64),
            coefficient_samples: if self.laws.len() > 1 { self.laws.len() } else { 0 },
            latency_samples: self.sample_rows.len(),
        };
        let mut verified = true;
        if let Some((w, i)) = pick {
            let inst = self.inst;
            let d = evaluate(inst, w, i)?;
            let mut v = self.sample_objectives(w, i, &mut Vec::new());
            let x = LawInputs::from_arch(&d.arch, inst.tokens);
            report.loss_mean = Some(self.laws.iter().map(|l| l.loss(&x)).sum::<f64>() / self.laws.len() as f64);
            let value = risk.of(&mut v);
            report.value = Some(value);
            verified = if self.sample_rows.is_empty() {
                d.verified
            } else {
                let direct = self.latency_ok_direct(w, i)?;
                report.latency_ok_share = Some(self.latency_ok(w, i) as f64 / self.sample_rows.len() as f64);
                direct >= self.need
            };
            report.loss_point = Some(d.loss);
            out.picks.push(Pick { width: w, depth: i, objective: value });
        }
        out.robust = Some((report, verified));
        Ok(out)
    }
}

/// A robust variant's outcome as a [`Solution`] (the driver fills in the solver names and
/// the time): the chosen design described at top level with `objective` = the risk value
/// and `loss` = its point-law loss.
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    inst: &Instance,
    problem: &Problem,
    status: Status,
    pick: Option<&Pick>,
    bound: Option<f64>,
    nodes: Option<u64>,
    report: RobustReport,
    verified: bool,
) -> Result<Solution> {
    let d = pick.map(|p| evaluate(inst, p.width, p.depth)).transpose()?;
    let objective = report.value;
    let gap = match (objective, bound) {
        (Some(v), Some(b)) => Some(((v - b) / v.abs().max(1e-12)).max(0.0)),
        _ => None,
    };
    let mut sol = Solution {
        instance: inst.name.clone(),
        status,
        objective,
        loss: report.loss_point,
        arch: d.as_ref().map(|d| d.arch.clone()),
        label: d.as_ref().map(|d| d.label.clone()),
        params: d.as_ref().map(|d| d.params),
        weight_dtype: d.as_ref().map(|d| d.weight_dtype.clone()),
        kv_dtype: d.as_ref().map(|d| d.kv_dtype.clone()),
        scenarios: d.as_ref().map(|d| d.scenarios.clone()).unwrap_or_default(),
        terms: d.map(|d| d.terms).unwrap_or_default(),
        solver: String::new(),
        solver_requested: String::new(),
        solver_reason: None,
        bound,
        gap,
        nodes,
        solve_ms: 0.0,
        candidates: problem.candidates(),
        widths: inst.space.widths.len(),
        depths: inst.space.depths.len(),
        verified,
        exact_objective: None,
        gap_to_exact: None,
        designs: Vec::new(),
        infeasibility: None,
        message: String::new(),
        robust: None,
        pick: pick.map(|p| (p.width, p.depth)),
    };
    sol.message = describe(&sol, &report);
    sol.robust = Some(report);
    Ok(sol)
}

/// The one-line summary of a robust solution.
fn describe(s: &Solution, r: &RobustReport) -> String {
    let over = match r.coefficient_samples {
        0 => "the point law".to_string(),
        n => format!("{n} coefficient samples"),
    };
    let what = format!(
        "{} over {over}{}",
        r.risk,
        r.latency_required_share
            .map(|q| format!(", budgets in ≥ {:.1} % of {} latency samples", q * 100.0, r.latency_samples))
            .unwrap_or_default()
    );
    let label = s.label.as_deref().unwrap_or("");
    let m = match s.status {
        Status::Optimal => format!("optimal ({what}): {label}"),
        Status::Feasible => format!("feasible, not proven optimal ({what}): {label}"),
        Status::Infeasible => format!("infeasible ({what}): no design meets the budgets as required"),
        Status::NoSolution => format!("no design found before the time limit ({what})"),
        Status::Error => "solver error".into(),
    };
    if s.verified {
        m
    } else {
        format!("VERIFICATION FAILED (a bug): {m}")
    }
}

/// Largest space the robust `auto` enumerates: enumeration is faster up to a few million
/// candidates (the CVaR MIP carries one row per coefficient sample); beyond, the MIP scales
/// better.
pub const ROBUST_AUTO_ENUM_LIMIT: u64 = 5_000_000;

/// `inst` with `spec` as its `[robust]` section.
fn with_spec(inst: &Instance, spec: &RobustSpec) -> Instance {
    let mut i = inst.clone();
    i.robust = Some(Arc::new(spec.clone()));
    i
}

/// Robust enumeration of `inst` under `spec` (in place of its own `[robust]`).
pub fn robust_enum(inst: &Instance, spec: &RobustSpec) -> Result<Solution> {
    solve(&with_spec(inst, spec), "robust-enum", &SolveOptions::default())
}

/// The robust MIP of `inst` under `spec` (in place of its own `[robust]`).
pub fn robust_mip(inst: &Instance, spec: &RobustSpec, opts: &SolveOptions) -> Result<Solution> {
    solve(&with_spec(inst, spec), "robust-mip", opts)
}

/// `robust-enum`: the reference, evaluating the risk of every admissible design.
#[derive(Debug, Clone, Copy, Default)]
pub struct RobustEnum;

/// `robust-mip`: the compact MIP with per-sample objective rows (CVaR) and per-sample budget
/// rows (chance constraint); separable objectives only.
#[derive(Debug, Clone, Copy, Default)]
pub struct RobustMip;

impl Solver for RobustEnum {
    fn name(&self) -> &'static str {
        "robust-enum"
    }

    fn is_robust(&self) -> bool {
        true
    }

    fn solve(&self, problem: &Problem, _opts: &SolveOptions) -> Result<RawSolution> {
        robust_enum_run(problem)
    }
}

impl Solver for RobustMip {
    fn name(&self) -> &'static str {
        "robust-mip"
    }

    fn is_robust(&self) -> bool {
        true
    }

    fn can_write_model(&self) -> bool {
        true
    }

    fn unsupported(&self, p: &Problem) -> Option<String> {
        (p.structure != Structure::Separable).then(|| {
            format!(
                "robust-mip needs a separable objective; this instance has {}: use robust-enum",
                p.structure_description()
            )
        })
    }

    fn solve(&self, problem: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
        robust_mip_run(problem, opts)
    }
}

/// Reference: evaluate the risk of every admissible design.
fn robust_enum_run(problem: &Problem) -> Result<RawSolution> {
    let p = RobustModel::new(problem)?;
    let (inst, spec) = (p.inst, p.spec);
    let nd = inst.space.depths.len();
    let best = (0..inst.space.widths.len())
        .into_par_iter()
        .map_init(Vec::new, |buf, w| {
            let mut best: Option<(f64, usize, usize)> = None;
            for i in 0..nd {
                if p.admissible(w, i) {
                    let mut v = p.sample_objectives(w, i, buf);
                    let r = spec.risk.of(&mut v);
                    // A sample whose law overflows at this design makes its risk unknown:
                    // never choose it on that basis.
                    if r.is_finite() && best.is_none_or(|(b, _, _)| r < b) {
                        best = Some((r, w, i));
                    }
                }
            }
            best
        })
        .reduce(
            || None,
            |a, b| match (a, b) {
                (Some(x), Some(y)) => Some(if y.0 < x.0 || (y.0 == x.0 && (y.1, y.2) < (x.1, x.2)) { y } else { x }),
                (x, None) => x,
                (None, y) => y,
            },
        );
    let mut sol = p.finish(best.map(|(_, w, i)| (w, i)))?;
    sol.bound = sol.picks.first().map(|p| p.objective);
    Ok(sol)
}

/// Exact robust MIP (separable objectives): the compact formulation with per-sample
/// objective rows (CVaR) and per-sample budget rows (chance constraint).
fn robust_mip_run(problem: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
    let t0 = Instant::now();
    let p = RobustModel::new(problem)?;
    let (inst, spec) = (p.inst, p.spec);
    let depths = &inst.space.depths;
    let nw = inst.space.widths.len();
    let lw = inst.loss_weight;
    // Largest depth any admissible design of each width may take.
    let lmax: Vec<Option<usize>> = (0..nw)
        .map(|w| {
            if p.sample_rows.is_empty() {
                p.point_rows[w].lmax
            } else {
                p.sample_rows.iter().filter_map(|r| r[w].lmax).max()
            }
        })
        .collect();
    let keep: Vec<usize> = (0..nw).filter(|&w| lmax[w].is_some()).collect();
    if keep.is_empty() || (!p.sample_rows.is_empty() && p.need > p.sample_rows.len()) {
        return p.finish(None);
    }
    let imax = keep.iter().filter_map(|&w| lmax[w]).max().unwrap_or(0);
    let ds = &depths[..=imax];
    // Per-sample law parts.
    let fs: Vec<Vec<f64>> = p.laws.iter().map(|l| ds.iter().map(|&d| lw * l.depth_part(d as f64)).collect()).collect();
    let gs: Vec<Vec<f64>> = p
        .laws
        .iter()
        .map(|l| {
            keep.iter()
                .map(|&w| lw * l.width_part(&LawInputs::from_arch(&inst.space.widths[w].arch(1), inst.tokens)))
                .collect()
        })
        .collect();
    // A depth or width where some sample's law part is not finite gives every design using
    // it an unknown risk: exclude it (as robust-enum does) and keep NaN out of HiGHS.
    let bad_depth: Vec<bool> = (0..ds.len()).map(|i| fs.iter().any(|f| !f[i].is_finite())).collect();
    let bad_width: Vec<bool> = (0..keep.len()).map(|j| gs.iter().any(|g| !g[j].is_finite())).collect();
    let clean = |v: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        v.into_iter().map(|r| r.into_iter().map(|x| if x.is_finite() { x } else { 0.0 }).collect()).collect()
    };
    let (fs, gs) = (clean(fs), clean(gs));
    let s_n = p.laws.len() as f64;
    let mut vars = ProblemVariables::new();
    let y = vars.add_vector(variable().binary(), ds.len());
    let z = vars.add_vector(variable().binary(), keep.len());
    let u: Vec<Variable> =
        keep.iter().map(|&w| vars.add(variable().min(0.0).max(depths[lmax[w].unwrap_or(0)] as f64))).collect();
    // obj_s as an expression in (y, z, u).
    let obj_s = |s: usize| {
        let mut e = Expression::with_capacity(ds.len() + 2 * keep.len());
        for (i, &yi) in y.iter().enumerate() {
            e.add_mul(fs[s][i] + p.term_f[i], yi);
        }
        for (j, &w) in keep.iter().enumerate() {
            e.add_mul(gs[s][j] + p.term_g[w], z[j]);
            if p.term_h[w] != 0.0 {
                e.add_mul(p.term_h[w], u[j]);
            }
        }
        e
    };
    let (objective, cvar_vars) = match spec.risk {
        Risk::Mean => {
            let mut e = Expression::with_capacity(ds.len() + 2 * keep.len());
            for (i, &yi) in y.iter().enumerate() {
                e.add_mul(fs.iter().map(|f| f[i]).sum::<f64>() / s_n + p.term_f[i], yi);
            }
            for (j, &w) in keep.iter().enumerate() {
                e.add_mul(gs.iter().map(|g| g[j]).sum::<f64>() / s_n + p.term_g[w], z[j]);
                if p.term_h[w] != 0.0 {
                    e.add_mul(p.term_h[w], u[j]);
                }
            }
            (e, None)
        }
        Risk::Cvar { alpha } => {
            let t = vars.add(variable());
            let es = vars.add_vector(variable().min(0.0), p.laws.len());
            let mut e = Expression::with_capacity(1 + es.len());
            e.add_mul(1.0, t);
            for &v in &es {
                e.add_mul(1.0 / (alpha * s_n), v);
            }
            (e, Some((t, es)))
        }
    };
    let b: Vec<Variable> =
        if p.sample_rows.is_empty() { Vec::new() } else { vars.add_vector(variable().binary(), p.sample_rows.len()) };
    let mut m = vars.minimise(objective).using(highs);
    let lmax_kept: Vec<usize> = keep.iter().map(|&w| lmax[w].unwrap_or(0)).collect();
    choice_constraints(&mut m, &y, &z, &u, ds, &lmax_kept);
    for (i, _) in bad_depth.iter().enumerate().filter(|(_, b)| **b) {
        m.add_constraint(Expression::from(y[i]).leq(0.0));
    }
    for (j, _) in bad_width.iter().enumerate().filter(|(_, b)| **b) {
        m.add_constraint(Expression::from(z[j]).leq(0.0));
    }
    if let Some((t, es)) = &cvar_vars {
        for (s, &e_s) in es.iter().enumerate() {
            // e_s ≥ obj_s − t.
            let mut e = obj_s(s);
            e.add_mul(-1.0, *t);
            e.add_mul(-1.0, e_s);
            m.add_constraint(e.leq(0.0));
        }
    }
    // Budgets: point rows, or per latency sample switched by b_j.
    let budget_row = |rows: &[WidthRow], k: usize, limit: f64| {
        let mut e = Expression::with_capacity(2 * keep.len());
        let mut worst: f64 = 0.0;
        for (j, &w) in keep.iter().enumerate() {
            let lin = rows[w].budgets[k];
            e.add_mul(lin.fixed / limit, z[j]);
            e.add_mul(lin.per_layer / limit, u[j]);
            worst = worst.max((lin.fixed + lin.per_layer * depths[lmax[w].unwrap_or(0)] as f64) / limit);
        }
        (e, (worst - 1.0).max(0.0))
    };
    if p.sample_rows.is_empty() {
        for (k, bd) in inst.budgets.iter().enumerate() {
            m.add_constraint(budget_row(&p.point_rows, k, bd.limit).0.leq(1.0));
        }
    } else {
        for (jx, rows) in p.sample_rows.iter().enumerate() {
            for (k, bd) in inst.budgets.iter().enumerate() {
                let (mut e, big_m) = budget_row(rows, k, bd.limit);
                if big_m > 0.0 {
                    // row ≤ 1 + M(1 − b_j)  ⇔  row + M·b_j ≤ 1 + M.
                    e.add_mul(big_m, b[jx]);
                    m.add_constraint(e.leq(1.0 + big_m));
                }
            }
        }
        let mut e = Expression::with_capacity(b.len());
        for &v in &b {
            e.add_mul(1.0, v);
        }
        m.add_constraint(e.geq(p.need as f64));
    }
    let left = opts.time_limit_s - t0.elapsed().as_secs_f64();
    let outcome = run_highs(m, opts, left, opts.write_model.as_deref())?;
    let (pick, optimal, bound, nodes) = match outcome {
        MipOutcome::Infeasible => (None, true, None, None),
        MipOutcome::Stopped(_) => (None, false, None, None),
        MipOutcome::Solved { cols, optimal, bound, nodes, .. } => {
            let i = argmax(&cols, 0, y.len());
            let w = keep[argmax(&cols, y.len(), z.len())];
            (Some((w, i)), optimal, bound, nodes)
        }
    };
    let mut sol = p.finish(pick)?;
    sol.nodes = nodes;
    if let Some((w, i)) = pick {
        if !p.admissible(w, i) {
            return Err(Error::Unsupported(format!(
                "BUG: robust-mip returned an inadmissible design (width {w}, depth {i})"
            )));
        }
        if !optimal {
            sol.status = Status::Feasible;
        }
        let value = sol.picks.first().map(|p| p.objective);
        sol.bound = bound.or(if optimal { value } else { None });
    } else if !optimal {
        sol.status = Status::NoSolution;
    }
    Ok(sol)
}
