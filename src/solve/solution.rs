//! What a solve returns: [`Solution`] (point or robust), its verified designs with their
//! per-scenario metrics and budget checks, and the re-evaluation of a design from scratch
//! ([`evaluate`], [`verify`]) that every returned design goes through.

use super::*;

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
    /// Why the answer is less firm than it looks (`crate::fragility`): uncalibrated
    /// devices, a design on the edge of its space, outside the law's fitted range, above the
    /// device's usable memory, latency samples from another device.
    pub warnings: Vec<crate::util::warning::Warning>,
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
            warnings: Vec::new(),
            pick: None,
        }
    }
}

impl VerifiedDesign {
    /// This design as a Hugging Face transformers `config.json`
    /// ([`crate::architecture::hf`]): positions for the instance's longest sequence (prompt +
    /// generated tokens over its scenarios), the weights' dtype when transformers names it.
    pub fn hf_config(&self, inst: &Instance) -> Result<serde_json::Value> {
        let max_tokens = inst
            .scenarios
            .iter()
            .map(|s| s.workload.prompt_tokens as u64 + s.workload.gen_tokens as u64)
            .max()
            .unwrap_or(0);
        let opts = crate::architecture::HfOptions::for_design(&self.weight_dtype, max_tokens);
        crate::architecture::to_hf_config(&self.arch, &opts)
    }
}

impl Solution {
    /// The Hugging Face configs of the returned designs, best first (empty without a design).
    pub fn hf_configs(&self, inst: &Instance) -> Result<Vec<serde_json::Value>> {
        self.designs.iter().map(|d| d.hf_config(inst)).collect()
    }
}
