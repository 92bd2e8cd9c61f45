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

/// A budget evaluated on a design.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetCheck {
    /// Metric.
    pub metric: BudgetMetric,
    /// Where the limit comes from.
    pub source: String,
    /// Limit.
    pub limit: f64,
    /// The design's value.
    pub value: f64,
    /// value ≤ limit.
    pub ok: bool,
}

/// A design's metrics on one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Device.
    pub hardware: String,
    /// Compute type.
    pub compute_dtype: String,
    /// The engine's storage formats (`Q4_K_M, kv f16`) when the scenario names an engine;
    /// they replace the design's weight and KV-cache data types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// Latencies, ms.
    pub latency_ms: Latency,
    /// Memory, bytes.
    pub memory_bytes: Memory,
    /// Total parameters (same on every scenario; repeated for convenience).
    pub params: u64,
    /// This scenario's budgets.
    pub budgets: Vec<BudgetCheck>,
}

/// One objective term's value.
#[derive(Debug, Clone, Serialize)]
pub struct TermValue {
    /// Term name.
    pub name: String,
    /// Weighted value.
    pub value: f64,
}

/// A verified design.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedDesign {
    /// Objective (re-evaluated exactly).
    pub objective: f64,
    /// Predicted loss.
    pub loss: f64,
    /// Short label.
    pub label: String,
    /// The architecture.
    pub arch: Architecture,
    /// Weight storage type.
    pub weight_dtype: String,
    /// KV-cache storage type.
    pub kv_dtype: String,
    /// Parameter counts.
    pub params: ParamCounts,
    /// Per scenario.
    pub scenarios: Vec<ScenarioReport>,
    /// Extra terms.
    pub terms: Vec<TermValue>,
    /// Every budget holds and the objective matches the solver's to 1e-6.
    pub verified: bool,
}

/// How far each budget is from reachable, when no design meets them all.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetReach {
    /// Scenario.
    pub scenario: String,
    /// Metric.
    pub metric: BudgetMetric,
    /// Where the limit comes from.
    pub source: String,
    /// Limit.
    pub limit: f64,
    /// Smallest value any design in the space reaches (this budget alone).
    pub best_reachable: f64,
    /// Whether this budget alone can be met.
    pub satisfiable_alone: bool,
}

/// The result of `colaw solve`, point or robust.
#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    /// Instance name.
    pub instance: String,
    /// Outcome.
    pub status: Status,
    /// Best objective (null without a design).
    pub objective: Option<f64>,
    /// Its loss.
    pub loss: Option<f64>,
    /// Its architecture.
    pub arch: Option<Architecture>,
    /// Its label.
    pub label: Option<String>,
    /// Its parameter counts.
    pub params: Option<ParamCounts>,
    /// Its weight storage type.
    pub weight_dtype: Option<String>,
    /// Its KV-cache storage type.
    pub kv_dtype: Option<String>,
    /// Its metrics per scenario.
    pub scenarios: Vec<ScenarioReport>,
    /// Its objective terms.
    pub terms: Vec<TermValue>,
    /// The variant that ran.
    pub solver: String,
    /// What was asked for.
    pub solver_requested: String,
    /// Why `auto` picked `solver` (or what a heuristic compared against).
    pub solver_reason: Option<String>,
    /// Proven lower bound on the objective.
    pub bound: Option<f64>,
    /// Relative gap (objective − bound)/|objective|.
    pub gap: Option<f64>,
    /// Branch-and-bound nodes.
    pub nodes: Option<u64>,
    /// Wall time of the solve, ms (problem setup included).
    pub solve_ms: f64,
    /// Candidate designs (widths × depths).
    pub candidates: u64,
    /// Width configurations.
    pub widths: usize,
    /// Depth choices.
    pub depths: usize,
    /// Every returned design passed re-evaluation.
    pub verified: bool,
    /// For heuristics: the exact optimum's objective, when computed.
    pub exact_objective: Option<f64>,
    /// For heuristics: (objective − exact)/|exact|.
    pub gap_to_exact: Option<f64>,
    /// Top-k designs, best first (the best is also described at top level); empty for a
    /// robust selection, whose one design is described at top level.
    pub designs: Vec<VerifiedDesign>,
    /// When infeasible: each budget's best reachable value.
    pub infeasibility: Option<Vec<BudgetReach>>,
    /// Human-readable summary or error.
    pub message: String,
    /// Robust selection: the risk measure, its value (= `objective`) and the samples; its
    /// fields appear at top level in JSON.
    #[serde(flatten)]
    pub robust: Option<RobustReport>,
    /// The best design's (width, depth) indices.
    #[serde(skip)]
    pub pick: Option<(usize, usize)>,
}

/// Build a [`Design`] from a pick, re-evaluating everything from scratch; `verified` also
/// requires the solver's objective to match the re-evaluated one.
pub fn verify(inst: &Instance, pick: &Pick) -> Result<VerifiedDesign> {
    let mut d = evaluate(inst, pick.width, pick.depth)?;
    let tol = 1e-6 * d.objective.abs().max(1e-12);
    d.verified &= (d.objective - pick.objective).abs() <= tol;
    Ok(d)
}

/// Exact metrics of `arch` (width configuration `w`) in every scenario, each on its own
/// hardware or on the replacement `hardware(k)` gives for scenario k (e.g. a latency
/// calibration sample applied to it).
pub fn scenario_metrics(
    inst: &Instance,
    w: &crate::space::WidthConfig,
    arch: &Architecture,
    hardware: impl Fn(usize) -> Option<crate::hardware::Hardware>,
) -> Result<Vec<Metrics>> {
    inst.scenarios
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let workload = s.workload_for(w.weights, w.kv_cache);
            let model = match hardware(k) {
                Some(hw) => CostModel::with_mode(&hw, &workload, s.mode)?,
                None => CostModel::with_mode(&s.hardware, &workload, s.mode)?,
            };
            Ok(model.metrics(arch))
        })
        .collect()
}

/// Evaluate design (width index, depth index) from scratch with the exact cost model and the
/// point law; `verified` says whether it meets every budget.
pub fn evaluate(inst: &Instance, width: usize, depth: usize) -> Result<VerifiedDesign> {
    let w = &inst.space.widths[width];
    let l = inst.space.depths[depth];
    let arch = w.arch(l);
    let params = arch.params();
    let metrics = scenario_metrics(inst, w, &arch, |_| None)?;
    let loss = predict_loss(inst.law.as_ref(), &arch, inst.tokens)?;
    let view = DesignView { width: w, arch: &arch, params, metrics: &metrics };
    let terms: Vec<TermValue> =
        inst.terms.iter().map(|t| TermValue { name: t.name().to_string(), value: t.value(&view) }).collect();
    let objective = inst.loss_weight * loss + terms.iter().map(|t| t.value).sum::<f64>();
    let mut ok = true;
    let mut scenarios: Vec<ScenarioReport> = inst
        .scenarios
        .iter()
        .zip(&metrics)
        .map(|(s, m)| ScenarioReport {
            name: s.name.clone(),
            hardware: s.hardware.name.clone(),
            compute_dtype: s.workload.precision.compute.to_string(),
            storage: s.workload.deploy.map(|d| format!("{}, kv {}", d.weight_format, d.kv_cache)),
            latency_ms: m.latency_ms,
            memory_bytes: m.memory_bytes,
            params: params.total,
            budgets: vec![],
        })
        .collect();
    for b in &inst.budgets {
        let value = b.metric.value(&metrics[b.scenario], &params);
        let pass = value <= b.limit;
        ok &= pass;
        scenarios[b.scenario].budgets.push(BudgetCheck {
            metric: b.metric,
            source: b.source.clone(),
            limit: b.limit,
            value,
            ok: pass,
        });
    }
    Ok(VerifiedDesign {
        objective,
        loss,
        label: arch.label(),
        weight_dtype: w.weights.to_string(),
        kv_dtype: w.kv_cache.to_string(),
        arch,
        params,
        scenarios,
        terms,
        verified: ok,
    })
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

impl Solution {
    /// A solution of `inst` with `status` that describes `best` at top level (None: no
    /// design); solver names, bound, timing, checks and message are the caller's to fill.
    pub(crate) fn describing(
        inst: &Instance,
        problem: &Problem,
        status: Status,
        best: Option<&VerifiedDesign>,
    ) -> Solution {
        Solution {
            instance: inst.name.clone(),
            status,
            objective: best.map(|d| d.objective),
            loss: best.map(|d| d.loss),
            arch: best.map(|d| d.arch.clone()),
            label: best.map(|d| d.label.clone()),
            params: best.map(|d| d.params),
            weight_dtype: best.map(|d| d.weight_dtype.clone()),
            kv_dtype: best.map(|d| d.kv_dtype.clone()),
            scenarios: best.map(|d| d.scenarios.clone()).unwrap_or_default(),
            terms: best.map(|d| d.terms.clone()).unwrap_or_default(),
            solver: String::new(),
            solver_requested: String::new(),
            solver_reason: None,
            bound: None,
            gap: None,
            nodes: None,
            solve_ms: 0.0,
            candidates: problem.candidates(),
            widths: inst.space.widths.len(),
            depths: inst.space.depths.len(),
            verified: true,
            exact_objective: None,
            gap_to_exact: None,
            designs: Vec::new(),
            infeasibility: None,
            message: String::new(),
            robust: None,
            pick: None,
        }
    }
}

/// A number for messages: 4 decimals, or 4 significant digits in scientific notation when large.
pub fn fmt_num(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}
