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
use crate::law::{LawInputs, LossLaw};
use crate::uncertainty::{Risk, RobustSpec};
use good_lp::solvers::highs::highs;
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};
use rayon::prelude::*;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

mod enumerate;
mod mip;
mod model;
use enumerate::*;
use mip::*;
use model::*;

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
        objective,
        loss: report.loss_point,
        bound,
        gap,
        nodes,
        verified,
        pick: pick.map(|p| (p.width, p.depth)),
        ..Solution::describing(inst, problem, status, d.as_ref())
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
