//! Solvers: minimise `loss_weight · loss + Σ terms` over the discrete space subject to every
//! budget of every scenario.
//!
//! [`Problem`] precomputes what every variant shares: per width configuration its costs as
//! linear functions of depth, its largest feasible depth, and the objective split
//! F(depth) + G(width) + depth·H(width) when the law separates. Each variant is one file
//! behind the small [`Solver`] trait and one line of the [`registry`]; [`solve`] is the one
//! driver, for point and robust selection alike: it owns timing, resolves `auto` (and a
//! point name on a `[robust]` instance) to a variant, re-evaluates every returned design
//! with the exact cost model and law (`verified`), and explains infeasibility. Variants never
//! print.

mod analytic;
mod auto;
mod enumerate;
pub(crate) mod highs;
mod mip_assign;
mod mip_compact;
mod problem;
pub mod registry;
mod robust;

pub use analytic::Analytic;
pub use auto::{choose, Choice};
pub use enumerate::Enumerate;
pub use mip_assign::MipAssign;
pub use mip_compact::MipCompact;
pub use problem::{params_linear, Problem, Structure, WidthRow};
pub use registry::{SolverKind, REGISTRY};
pub use robust::{robust_enum, robust_mip, RobustEnum, RobustMip, RobustReport, ROBUST_AUTO_ENUM_LIMIT};

use crate::architecture::{Architecture, ParamCounts};
use crate::cost::{CostModel, Latency, Memory, Metrics};
use crate::error::{Error, Result};
use crate::eval::predict_loss;
use crate::instance::{Instance, SolverSettings};
use crate::objective::DesignView;
use crate::scenario::BudgetMetric;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

mod solution;
pub use solution::{
    evaluate, scenario_metrics, verify, BudgetCheck, BudgetReach, ScenarioReport, Solution, TermValue, VerifiedDesign,
};

/// Outcome of a solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Best design proven optimal (within the requested gap).
    Optimal,
    /// A feasible design, not proven optimal (time limit or heuristic).
    Feasible,
    /// No design meets every budget.
    Infeasible,
    /// The solver stopped (time limit) before finding any design.
    NoSolution,
    /// The solver failed; see `message`.
    Error,
}

/// Options for one solve (from the instance's `[solver]`, overridden on the command line).
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// Wall-clock limit, seconds.
    pub time_limit_s: f64,
    /// Relative gap at which a MIP may stop.
    pub gap: f64,
    /// Threads (HiGHS and enumeration).
    pub threads: u32,
    /// HiGHS random seed.
    pub seed: u32,
    /// Designs to return.
    pub top_k: usize,
    /// Write the MIP to this file (.lp or .mps) before solving.
    pub write_model: Option<PathBuf>,
    /// For heuristics: also solve exactly (when the space is small enough) to report a gap.
    pub compare_exact: bool,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            time_limit_s: 60.0,
            gap: 0.0,
            threads: 1,
            seed: 0,
            top_k: 1,
            write_model: None,
            compare_exact: true,
        }
    }
}

impl SolveOptions {
    /// The instance file's settings.
    pub fn from_instance(inst: &Instance) -> Self {
        Self::from_settings(&inst.solver)
    }

    /// Options from resolved settings (file values, maybe overridden by flags through
    /// [`SolverSettings::apply`]).
    pub fn from_settings(s: &SolverSettings) -> Self {
        SolveOptions {
            time_limit_s: s.time_limit_s,
            gap: s.gap,
            threads: s.threads,
            seed: s.seed,
            top_k: s.top_k,
            ..Default::default()
        }
    }
}

impl SolveOptions {
    /// Check what the settings' own check cannot: that `--write-model` is given to a request
    /// that builds a MIP, and names an `.lp` or `.mps` file.
    pub fn validate(&self, kind: &str) -> Result<()> {
        if let Some(p) = &self.write_model {
            if !kind.parse::<SolverKind>()?.can_write_model() {
                return Err(Error::Unsupported(format!(
                    "--write-model needs --solver mip or mip-assign (the model of `{kind}` is not a MIP)"
                )));
            }
            if !matches!(p.extension().and_then(|e| e.to_str()), Some("lp" | "mps")) {
                return Err(Error::Unsupported(format!(
                    "--write-model {}: the file name must end in .lp or .mps",
                    p.display()
                )));
            }
        }
        Ok(())
    }
}

/// One chosen candidate: width index, depth index and its objective as the solver saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// Index into `space.widths`.
    pub width: usize,
    /// Index into `space.depths`.
    pub depth: usize,
    /// Objective value.
    pub objective: f64,
}

/// What a variant returns before verification.
#[derive(Debug, Clone)]
pub struct RawSolution {
    /// Outcome.
    pub status: Status,
    /// Designs, best first.
    pub picks: Vec<Pick>,
    /// Proven lower bound on the objective, where known.
    pub bound: Option<f64>,
    /// Branch-and-bound nodes, where known.
    pub nodes: Option<u64>,
    /// Free-text remark (e.g. why a MIP stopped).
    pub note: Option<String>,
    /// Robust variants: the risk report of the pick and the variant's own verification of it
    /// (budgets under every latency sample as required), which replaces the point check.
    pub robust: Option<(RobustReport, bool)>,
}

impl RawSolution {
    /// An outcome with no design.
    pub fn empty(status: Status) -> Self {
        RawSolution { status, picks: vec![], bound: None, nodes: None, note: None, robust: None }
    }
}

/// A solver variant: one file, registered by one line in [`REGISTRY`].
pub trait Solver: Sync {
    /// Name as used on the command line.
    fn name(&self) -> &'static str;
    /// Whether an optimal status is a proof (false for heuristics, whose answers the driver
    /// compares with enumeration).
    fn is_exact(&self) -> bool {
        true
    }
    /// Whether the variant builds a MIP that `--write-model` can write.
    fn can_write_model(&self) -> bool {
        false
    }
    /// Whether the variant optimises a risk over an instance's `[robust]` samples.
    fn is_robust(&self) -> bool {
        false
    }
    /// The robust variant that stands for this one on a `[robust]` instance (`enum` →
    /// `robust-enum`), if any.
    fn robust_twin(&self) -> Option<&'static str> {
        None
    }
    /// Why this variant cannot solve `problem` (None: it can).
    fn unsupported(&self, _problem: &Problem) -> Option<String> {
        None
    }
    /// Whether this variant can solve `problem`.
    fn supports(&self, problem: &Problem) -> bool {
        self.unsupported(problem).is_none()
    }
    /// Solve; infeasibility and time limits are statuses, not errors.
    fn solve(&self, problem: &Problem, opts: &SolveOptions) -> Result<RawSolution>;
}

/// Solve an instance with a named variant: `auto` picks one; on an instance with a
/// `[robust]` section the selection is robust (`auto`, `enum` and `mip` stand for
/// `robust-enum` and `robust-mip`). Never panics on infeasible or stopped solves: those are
/// statuses.
pub fn solve(inst: &Instance, kind: &str, opts: &SolveOptions) -> Result<Solution> {
    let t0 = Instant::now();
    let requested: SolverKind = kind.parse()?;
    let problem = Problem::new(inst)?;
    let (solver, reason) = requested.resolve(&problem)?;
    if let Some(why) = solver.unsupported(&problem) {
        return Err(Error::Unsupported(why));
    }
    // Never more designs than the space holds (top_k itself is ≤ MAX_TOP_K when it comes
    // from a file or flag; a library caller may pass anything).
    let capped;
    let opts = if opts.top_k as u64 > problem.candidates() {
        capped = SolveOptions { top_k: problem.candidates().max(1) as usize, ..opts.clone() };
        &capped
    } else {
        opts
    };
    let raw = solver.solve(&problem, opts)?;
    let mut sol = finish(inst, &problem, raw, solver.name(), kind, reason, t0)?;
    if !solver.is_exact() && opts.compare_exact && problem.candidates() <= 50_000_000 {
        if let Some(best) = sol.objective {
            let exact = Enumerate.solve(&problem, &SolveOptions { top_k: 1, ..opts.clone() })?;
            if let Some(p) = exact.picks.first() {
                let e = verify(inst, p)?.objective;
                sol.exact_objective = Some(e);
                sol.gap_to_exact = Some((best - e) / e.abs().max(1e-12));
                if best < e - 1e-9 * e.abs().max(1.0) {
                    sol.verified = false;
                    sol.message = format!("BUG: {} objective {best} better than the exact optimum {e}", solver.name());
                }
            }
        }
    }
    sol.solve_ms = t0.elapsed().as_secs_f64() * 1e3;
    Ok(sol)
}

fn finish(
    inst: &Instance,
    problem: &Problem,
    raw: RawSolution,
    name: &str,
    requested: &str,
    reason: Option<String>,
    t0: Instant,
) -> Result<Solution> {
    if let Some((report, verified)) = raw.robust {
        return robust::finish(inst, problem, raw.status, raw.picks.first(), raw.bound, raw.nodes, report, verified)
            .map(|mut s| {
                s.solver = name.to_string();
                s.solver_requested = requested.to_string();
                s.solver_reason = reason;
                s.solve_ms = t0.elapsed().as_secs_f64() * 1e3;
                s
            });
    }
    let mut designs = Vec::with_capacity(raw.picks.len());
    for p in &raw.picks {
        designs.push(verify(inst, p)?);
    }
    let verified = designs.iter().all(|d| d.verified);
    let best = designs.first();
    let objective = best.map(|d| d.objective);
    let gap = match (objective, raw.bound) {
        (Some(o), Some(b)) => Some(((o - b) / o.abs().max(1e-12)).max(0.0)),
        _ => None,
    };
    let infeasibility = if raw.status == Status::Infeasible { Some(problem.reachability()) } else { None };
    let message = match raw.status {
        Status::Optimal => format!("optimal: {}", best.map(|d| d.label.as_str()).unwrap_or("")),
        Status::Feasible => format!(
            "feasible, not proven optimal{}: {}",
            raw.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default(),
            best.map(|d| d.label.as_str()).unwrap_or("")
        ),
        Status::NoSolution => {
            format!("no design found{}", raw.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default())
        }
        Status::Infeasible => {
            let r = infeasibility.as_deref().unwrap_or(&[]);
            let alone: Vec<String> = r
                .iter()
                .filter(|b| !b.satisfiable_alone)
                .map(|b| {
                    format!(
                        "{}.{} ≤ {} (best reachable {})",
                        b.scenario,
                        b.metric.name(),
                        fmt_num(b.limit),
                        fmt_num(b.best_reachable)
                    )
                })
                .collect();
            if alone.is_empty() {
                "infeasible: every budget can be met alone but not all together; relax one of them".to_string()
            } else {
                format!("infeasible: cannot meet {}", alone.join("; "))
            }
        }
        Status::Error => raw.note.clone().unwrap_or_else(|| "solver error".into()),
    };
    let message = if !verified { format!("VERIFICATION FAILED (a bug): {message}") } else { message };
    let base = Solution::describing(inst, problem, raw.status, best);
    Ok(Solution {
        solver: name.to_string(),
        solver_requested: requested.to_string(),
        solver_reason: reason,
        bound: raw.bound,
        gap,
        nodes: raw.nodes,
        solve_ms: t0.elapsed().as_secs_f64() * 1e3,
        verified,
        designs,
        infeasibility,
        message,
        pick: raw.picks.first().map(|p| (p.width, p.depth)),
        ..base
    })
}

/// A number for messages: 4 decimals, or 4 significant digits in scientific notation when large.
pub fn fmt_num(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}
