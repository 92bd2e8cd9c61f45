//! Exact loss-versus-metric Pareto fronts by ε-constraint solves, and budgets taken from a
//! reference architecture ("the best design at the latency of Qwen2.5-0.5B").
//!
//! Every front point is the exact optimum of the instance with one extra budget, metric ≤ ε.
//! Without a point count the front is traced completely: solve, then tighten ε to just below
//! the optimum's metric and solve again, until nothing is feasible — each step finds the next
//! non-dominated point, so the front is exact and complete. With `points = N`, ε takes N
//! geometrically spaced values between the smallest reachable metric and the unconstrained
//! optimum's.

use crate::architecture::{Architecture, ParamCounts};
use crate::cost::{CostModel, Latency, Memory};
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::law::LawInputs;
use crate::scenario::{Budget, BudgetMetric};
use crate::solve::{solve, Problem, Solution, SolveOptions, Status};
use crate::util::stats::quantile;
use serde::Serialize;

/// One point of a front.
#[derive(Debug, Clone, Serialize)]
pub struct FrontPoint {
    /// The metric's value for this design.
    pub metric: f64,
    /// ε of the solve that found it.
    pub epsilon: f64,
    /// Objective.
    pub objective: f64,
    /// Predicted loss (point law).
    pub loss: f64,
    /// 5th percentile of the loss over coefficient samples (when given).
    pub loss_p05: Option<f64>,
    /// 95th percentile.
    pub loss_p95: Option<f64>,
    /// Design label.
    pub label: String,
    /// The design.
    pub arch: Architecture,
    /// Weight storage type.
    pub weight_dtype: String,
    /// KV storage type.
    pub kv_dtype: String,
    /// Solver used, and its status for this point.
    pub solver: String,
    /// Status of the solve (optimal for an exact solver).
    pub status: Status,
    /// Every latency of the design in the traded scenario, ms.
    pub latency_ms: Latency,
    /// Its memory in the traded scenario, bytes.
    pub memory_bytes: Memory,
    /// Its parameter counts.
    pub params: ParamCounts,
}

/// A solution's value of a metric in one scenario.
pub fn solution_metric(sol: &Solution, m: BudgetMetric, scenario: usize) -> Option<f64> {
    let s = sol.scenarios.get(scenario)?;
    Some(m.pick(&s.latency_ms, &s.memory_bytes, &sol.params?))
}

/// The instance with every latency budget's limit replaced by `reference`'s own value of
/// that metric in that scenario (at the scenario's workload and the space's first storage
/// types). Memory and parameter budgets stay: "the best design at the latency of X that
/// fits the device", not "no larger than X".
pub fn with_budgets_from(inst: &Instance, reference: &Architecture) -> Result<Instance> {
    let mut out = inst.clone();
    let w0 = inst.space.widths.first().ok_or_else(|| Error::Unsupported("empty design space".into()))?;
    let pc = reference.params();
    let latency = |m: BudgetMetric| m.is_latency();
    if !out.budgets.iter().any(|b| latency(b.metric)) {
        return Err(Error::Unsupported(
            "--budget-from replaces latency budgets, and this instance has none: add e.g. `tpot_ms` to a scenario's budget"
                .into(),
        ));
    }
    for b in out.budgets.iter_mut().filter(|b| latency(b.metric)) {
        let s = &inst.scenarios[b.scenario];
        let model = CostModel::with_mode(&s.hardware, &s.workload_for(w0.weights, w0.kv_cache), s.mode)?;
        let m = model.metrics(reference);
        b.limit = b.metric.value(&m, &pc);
        b.source = format!("{} of {}", b.metric.name(), reference.name.as_deref().unwrap_or("the reference"));
    }
    Ok(out)
}

fn add_epsilon(inst: &Instance, metric: BudgetMetric, scenario: usize, eps: f64) -> Instance {
    let mut i = inst.clone();
    i.budgets.push(Budget {
        scenario,
        scenario_name: inst.scenarios[scenario].name.clone(),
        metric,
        limit: eps,
        source: "pareto ε".into(),
    });
    i
}

fn point(sol: &Solution, metric: BudgetMetric, scenario: usize, eps: f64) -> Option<FrontPoint> {
    if !matches!(sol.status, Status::Optimal | Status::Feasible) {
        return None;
    }
    Some(FrontPoint {
        metric: solution_metric(sol, metric, scenario)?,
        epsilon: eps,
        objective: sol.objective?,
        loss: sol.loss?,
        loss_p05: None,
        loss_p95: None,
        label: sol.label.clone()?,
        arch: sol.arch.clone()?,
        weight_dtype: sol.weight_dtype.clone()?,
        kv_dtype: sol.kv_dtype.clone()?,
        solver: sol.solver.clone(),
        status: sol.status,
        latency_ms: sol.scenarios.get(scenario)?.latency_ms,
        memory_bytes: sol.scenarios.get(scenario)?.memory_bytes,
        params: sol.params?,
    })
}

/// Which of an instance's budgets a front keeps, and which it drops.
#[derive(Debug, Clone)]
pub struct BudgetChoice {
    /// The instance without the dropped budgets: the front is traced on it.
    pub instance: Instance,
    /// The budgets left active.
    pub active: Vec<Budget>,
    /// The budgets dropped.
    pub dropped: Vec<Budget>,
}

/// The instance a front of `metric` in `scenario` is traced on. By default the instance's
/// own budget on the traded metric in that scenario is dropped: the front is what trading
/// that metric buys, and a budget on it would silently cut the front at its limit. The
/// device's memory capacity is no choice and stays (a design that does not fit is no point
/// of the front). `keep_traded` keeps the traded budget; `also` drops every budget on those
/// metrics in every scenario (`memory` drops the device's capacity too).
pub fn choose_budgets(
    inst: &Instance,
    metric: BudgetMetric,
    scenario: usize,
    keep_traded: bool,
    also: &[BudgetMetric],
) -> BudgetChoice {
    let drop = |b: &Budget| {
        also.contains(&b.metric)
            || (!keep_traded
                && b.metric == metric
                && b.scenario == scenario
                && !b.source.starts_with(crate::instance::DEVICE_MEMORY))
    };
    let (dropped, active): (Vec<Budget>, Vec<Budget>) = inst.budgets.iter().cloned().partition(|b| drop(b));
    let mut instance = inst.clone();
    instance.budgets = active.clone();
    BudgetChoice { instance, active, dropped }
}

/// Keep the non-dominated points, sorted by metric (ties: lower objective wins).
fn nondominated(mut pts: Vec<FrontPoint>) -> Vec<FrontPoint> {
    pts.sort_by(|a, b| a.metric.total_cmp(&b.metric).then(a.objective.total_cmp(&b.objective)));
    let mut out: Vec<FrontPoint> = Vec::new();
    for p in pts {
        if out.last().is_none_or(|q| p.objective < q.objective - 1e-12 * q.objective.abs().max(1.0)) {
            out.push(p);
        }
    }
    out
}

/// The exact front of objective versus `metric` in scenario `scenario`.
pub fn pareto(
    inst: &Instance,
    metric: BudgetMetric,
    scenario: usize,
    points: usize,
    solver: &str,
    opts: &SolveOptions,
) -> Result<Vec<FrontPoint>> {
    pareto_with_progress(inst, metric, scenario, points, solver, opts, &|_| {})
}

/// [`pareto`], calling `progress(solves_done)` after every ε-constraint solve (for a
/// progress display; with `points` > 0 there are exactly `points` solves).
pub fn pareto_with_progress(
    inst: &Instance,
    metric: BudgetMetric,
    scenario: usize,
    points: usize,
    solver: &str,
    opts: &SolveOptions,
    progress: &dyn Fn(usize),
) -> Result<Vec<FrontPoint>> {
    if scenario >= inst.scenarios.len() {
        return Err(Error::Unsupported(format!("scenario index {scenario} out of range")));
    }
    // The front is of the point estimates (bands come from the samples afterwards), so a
    // `[robust]` section does not turn these solves into robust ones.
    let point_inst;
    let inst = if inst.robust.is_some() {
        point_inst = Instance { robust: None, ..inst.clone() };
        &point_inst
    } else {
        inst
    };
    let first = solve(inst, solver, opts)?;
    progress(1);
    let Some(top) = point(&first, metric, scenario, f64::INFINITY) else {
        return Ok(Vec::new());
    };
    let mut pts = vec![top.clone()];
    if points == 0 {
        // Trace: each solve's optimum is the next non-dominated point.
        let mut eps = top.metric;
        for k in 0..100_000 {
            eps -= (eps.abs() * 1e-9).max(1e-12);
            let sol = solve(&add_epsilon(inst, metric, scenario, eps), solver, opts)?;
            progress(k + 2);
            match point(&sol, metric, scenario, eps) {
                Some(p) => {
                    eps = p.metric;
                    pts.push(p);
                }
                None => break,
            }
        }
    } else {
        let probe = add_epsilon(inst, metric, scenario, top.metric);
        let reach = Problem::new(&probe)?.reachability();
        let lo = reach.last().map_or(top.metric, |r| r.best_reachable).max(1e-12);
        let hi = top.metric;
        for k in 0..points.saturating_sub(1) {
            let f = k as f64 / (points - 1).max(1) as f64;
            let eps = lo * (hi / lo).powf(f);
            let sol = solve(&add_epsilon(inst, metric, scenario, eps), solver, opts)?;
            progress(k + 2);
            if let Some(p) = point(&sol, metric, scenario, eps) {
                pts.push(p);
            }
        }
    }
    Ok(nondominated(pts))
}

/// Fill each point's 5–95 % loss band from coefficient samples (law coefficient order).
pub fn add_loss_bands(inst: &Instance, front: &mut [FrontPoint], samples: &[Vec<f64>]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let laws: Vec<_> = samples.iter().map(|s| inst.law.with_coefficients(s)).collect::<Result<_>>()?;
    for p in front {
        let x = LawInputs::from_arch(&p.arch, inst.tokens);
        let mut v: Vec<f64> = laws.iter().map(|l| l.loss(&x)).collect();
        v.sort_by(f64::total_cmp);
        p.loss_p05 = Some(quantile(&v, 0.05));
        p.loss_p95 = Some(quantile(&v, 0.95));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Origin;

    fn pt(metric: f64, objective: f64) -> FrontPoint {
        let arch = Architecture::new(4, 512, 8, 1024, 32000);
        FrontPoint {
            metric,
            epsilon: f64::INFINITY,
            objective,
            loss: objective,
            loss_p05: None,
            loss_p95: None,
            label: format!("m{metric}-o{objective}"),
            arch,
            weight_dtype: "bf16".into(),
            kv_dtype: "bf16".into(),
            solver: "enum".into(),
            status: Status::Optimal,
            latency_ms: Latency::default(),
            memory_bytes: Memory::default(),
            params: Architecture::new(4, 512, 8, 1024, 32000).params(),
        }
    }

    #[test]
    fn drops_the_traded_budget_and_keeps_the_device() {
        let inst = Instance::from_toml_str(
            "[space]\nlayers = [4]\nhidden = [512]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [32000]\n\
             [[scenario]]\nname = 'a'\nhardware = 'jetson-orin-nano-8gb'\n[scenario.budget]\ntpot_ms = 20\ntotal_ms = 900\n\
             [[scenario]]\nname = 'b'\nhardware = 'jetson-orin-nano-8gb'\n[scenario.budget]\ntpot_ms = 30\n",
            &Origin::file("b.toml"),
            None,
        )
        .unwrap();
        let names =
            |v: &[Budget]| v.iter().map(|b| format!("{}.{}", b.scenario_name, b.metric.name())).collect::<Vec<_>>();
        let c = choose_budgets(&inst, BudgetMetric::TpotMs, 0, false, &[]);
        assert_eq!(names(&c.dropped), ["a.tpot_ms"]);
        assert_eq!(names(&c.active), ["a.total_ms", "a.memory_bytes", "b.tpot_ms", "b.memory_bytes"]);
        assert_eq!(names(&c.instance.budgets), names(&c.active));
        assert!(choose_budgets(&inst, BudgetMetric::TpotMs, 0, true, &[]).dropped.is_empty());
        // Trading memory keeps the device's capacity unless asked to drop it.
        assert!(choose_budgets(&inst, BudgetMetric::MemoryBytes, 0, false, &[]).dropped.is_empty());
        let c = choose_budgets(
            &inst,
            BudgetMetric::MemoryBytes,
            0,
            false,
            &[BudgetMetric::MemoryBytes, BudgetMetric::TotalMs],
        );
        assert_eq!(names(&c.dropped), ["a.total_ms", "a.memory_bytes", "b.memory_bytes"]);
    }

    #[test]
    fn keeps_exactly_the_nondominated_points() {
        // (metric, objective): (3, 2.9) is dominated by (2, 2.8); (4, 3.0) by everything left
        // of it; the tie at metric 1 keeps the lower objective.
        let pts = vec![pt(3.0, 2.9), pt(1.0, 3.2), pt(2.0, 2.8), pt(4.0, 3.0), pt(1.0, 3.1), pt(5.0, 2.5)];
        let front: Vec<(f64, f64)> = nondominated(pts).iter().map(|p| (p.metric, p.objective)).collect();
        assert_eq!(front, [(1.0, 3.1), (2.0, 2.8), (5.0, 2.5)]);
    }

    #[test]
    fn loss_bands_are_the_sample_quantiles() {
        let inst = Instance::from_toml_str(
            r#"
name = "bands"
[law]
name = "paper"
[space]
layers = [8]
hidden = [1024]
head_dim = [64]
kv_heads = [4]
ffn_ratio = [2.0]
vocab = [32000]
[[scenario]]
name = "orin"
hardware = "jetson-orin-nano-8gb"
"#,
            &Origin::file("pareto.rs"),
            None,
        )
        .unwrap();
        let base: Vec<f64> = inst.law.coefficients().iter().map(|c| c.1).collect();
        // Five samples that shift only the paper law's constant L_inf.
        let c = inst.law.coefficient_names().iter().position(|n| n == "L_inf").unwrap();
        let samples: Vec<Vec<f64>> = [0.0, 0.1, 0.2, 0.3, 0.4]
            .iter()
            .map(|d| {
                let mut v = base.clone();
                v[c] += d;
                v
            })
            .collect();
        let mut front = vec![pt(1.0, 0.0)];
        front[0].arch = inst.space.widths[0].arch(8);
        let x = LawInputs::from_arch(&front[0].arch, inst.tokens);
        let losses: Vec<f64> = samples.iter().map(|s| inst.law.with_coefficients(s).unwrap().loss(&x)).collect();
        add_loss_bands(&inst, &mut front, &samples).unwrap();
        let mut sorted = losses.clone();
        sorted.sort_by(f64::total_cmp);
        // Type-7 quantiles of 5 values: h = 4q; p05 = x0 + 0.2 (x1 − x0), p95 = x3 + 0.8 (x4 − x3).
        let p05 = sorted[0] + 0.2 * (sorted[1] - sorted[0]);
        let p95 = sorted[3] + 0.8 * (sorted[4] - sorted[3]);
        assert!((front[0].loss_p05.unwrap() - p05).abs() < 1e-12);
        assert!((front[0].loss_p95.unwrap() - p95).abs() < 1e-12);
        assert!(p95 > p05, "the samples spread the loss");
    }
}
