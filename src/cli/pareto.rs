//! `colaw pareto INSTANCE.toml --x METRIC`.

use super::output::print_json;
use crate::architecture::load_arch;
use crate::instance::Instance;
use crate::law::read_coefficient_samples;
use crate::pareto::{add_loss_bands, pareto, with_budgets_from};
use crate::plot::{lines, Series};
use crate::scenario::BudgetMetric;
use crate::solve::{SolveOptions, SolverKind};
use anyhow::Context;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `pareto`.
#[derive(Debug, Args)]
pub struct ParetoArgs {
    /// Instance file.
    pub instance: PathBuf,
    /// Metric on the x axis: prefill, decode, tpot, total, memory, params, active_params.
    #[arg(long)]
    pub x: String,
    /// Scenario whose metric is traded (default: the first).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Number of ε values (0 = trace the complete exact front).
    #[arg(long, default_value_t = 0)]
    pub points: usize,
    /// Solver for each ε-constraint solve.
    #[arg(long, default_value = "auto", value_parser = clap::builder::PossibleValuesParser::new(SolverKind::names()))]
    pub solver: String,
    /// Bootstrap coefficient samples: adds a 5–95 % loss band per front design.
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Set the instance's latency budgets to this architecture's own values first.
    #[arg(long)]
    pub budget_from: Option<String>,
    /// Output folder for front.csv and front.svg.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Plot the metric on a log axis.
    #[arg(long)]
    pub log_x: bool,
}

pub fn run(a: ParetoArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    crate::limits::flag_count("--points", a.points, 0, crate::limits::MAX_ITERATIONS)?;
    let mut inst = Instance::load(&a.instance)?;
    if let Some(r) = &a.budget_from {
        inst = with_budgets_from(&inst, &load_arch(r)?)?;
    }
    let metric = BudgetMetric::parse(&a.x)?;
    let s = match &a.scenario {
        Some(n) => {
            inst.scenarios.iter().position(|x| &x.name == n).with_context(|| format!("unknown scenario `{n}`"))?
        }
        None => 0,
    };
    let opts = SolveOptions { compare_exact: false, ..SolveOptions::from_instance(&inst) };
    let mut front = pareto(&inst, metric, s, a.points, &a.solver, &opts)?;
    if let Some(p) = &a.samples {
        add_loss_bands(&inst, &mut front, &read_coefficient_samples(p, inst.law.as_ref())?)?;
    }
    let mut files = Vec::new();
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        let csv_path = dir.join("front.csv");
        // Built in memory and written atomically (a kill leaves no half-written front).
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "metric",
            "epsilon",
            "objective",
            "loss",
            "loss_p05",
            "loss_p95",
            "label",
            "layers",
            "hidden",
            "heads",
            "kv_heads",
            "head_dim",
            "ffn",
            "experts",
            "active_experts",
            "vocab",
            "weight_dtype",
            "kv_dtype",
            "solver",
        ])?;
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        for p in &front {
            let r = &p.arch;
            w.write_record([
                p.metric.to_string(),
                p.epsilon.to_string(),
                p.objective.to_string(),
                p.loss.to_string(),
                opt(p.loss_p05),
                opt(p.loss_p95),
                p.label.clone(),
                r.layers.to_string(),
                r.hidden.to_string(),
                r.heads.to_string(),
                r.kv_heads.to_string(),
                r.head_dim.to_string(),
                r.ffn.to_string(),
                r.experts.to_string(),
                r.active_experts.to_string(),
                r.vocab.to_string(),
                p.weight_dtype.clone(),
                p.kv_dtype.clone(),
                p.solver.clone(),
            ])?;
        }
        crate::util::fs::write_atomic(&csv_path, &w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
        files.push(csv_path);
        if !front.is_empty() {
            let scale = if metric == BudgetMetric::MemoryBytes { 1e-9 } else { 1.0 };
            let band = front.iter().all(|p| p.loss_p05.is_some()).then(|| {
                front
                    .iter()
                    .map(|p| (p.metric * scale, p.loss_p05.unwrap_or(p.loss), p.loss_p95.unwrap_or(p.loss)))
                    .collect()
            });
            let series = Series {
                name: format!("exact front ({} designs)", front.len()),
                points: front.iter().map(|p| (p.metric * scale, p.loss)).collect(),
                band,
                step: false,
            };
            let unit = metric.plot_unit();
            let svg = dir.join("front.svg");
            lines(
                &svg,
                &format!("Loss vs {} — {} on {}", metric.name(), inst.name, inst.scenarios[s].hardware.name),
                &format!("{}{unit}", metric.name()),
                "predicted loss (nats)",
                &[series],
                a.log_x,
            )?;
            files.push(svg);
        }
    }
    print_json(&json!({
        "instance": inst.name,
        "metric": metric.name(),
        "scenario": inst.scenarios[s].name,
        "budget_from": a.budget_from,
        "points": front,
        "files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "pareto_ms": t0.elapsed().as_secs_f64() * 1e3,
    }))
}
