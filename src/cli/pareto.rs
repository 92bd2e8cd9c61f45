//! `colaw pareto INSTANCE.toml --x METRIC`.

use super::output::print_json;
use crate::architecture::load_arch;
use crate::fragility::{for_designs, for_instance, Extents};
use crate::instance::Instance;
use crate::law::read_coefficient_samples;
use crate::pareto::{add_loss_bands, choose_budgets, pareto_with_progress, with_budgets_from};
use crate::plot::{add_point_titles, lines, Series};
use crate::scenario::{Budget, BudgetMetric};
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
    /// Keep the instance's own budget on the traded metric (in the traded scenario). By
    /// default it is dropped, and the output says so: it would cut the front at its limit.
    #[arg(long)]
    pub keep_traded_budget: bool,
    /// Also drop every budget on this metric, in every scenario (repeatable; `memory` drops
    /// the device's memory capacity too).
    #[arg(long, value_name = "METRIC")]
    pub drop_budget: Vec<String>,
}

/// A budget for titles and notes: `tpot_ms ≤ 20 (scenario)`, memory in GB.
fn budget_text(b: &Budget, scenarios: usize) -> String {
    let limit = match b.metric {
        BudgetMetric::MemoryBytes => format!("{:.3} GB", b.limit / 1e9),
        m if m.is_latency() => format!("{} ms", b.limit),
        _ => format!("{:.4e}", b.limit),
    };
    let name = b.metric.name().trim_end_matches("_ms").trim_end_matches("_bytes");
    if scenarios > 1 {
        format!("{name} ≤ {limit} ({})", b.scenario_name)
    } else {
        format!("{name} ≤ {limit}")
    }
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
    let also: Vec<BudgetMetric> = a.drop_budget.iter().map(|m| BudgetMetric::parse(m)).collect::<Result<_, _>>()?;
    let choice = choose_budgets(&inst, metric, s, a.keep_traded_budget, &also);
    let inst = choice.instance;
    let n_sc = inst.scenarios.len();
    let note = if choice.dropped.is_empty() {
        None
    } else {
        let list: Vec<String> = choice.dropped.iter().map(|b| budget_text(b, n_sc)).collect();
        let why = if a.keep_traded_budget || !choice.dropped.iter().any(|b| b.metric == metric) {
            "as asked (--drop-budget)".to_string()
        } else {
            format!(
                "the front trades {} itself, and its budget would cut the front at its limit (--keep-traded-budget keeps it)",
                metric.name()
            )
        };
        Some(format!("dropped {}: {why}", list.join(", ")))
    };
    if let Some(n) = &note {
        eprintln!("note: {n}");
    }
    let opts = SolveOptions { compare_exact: false, ..SolveOptions::from_instance(&inst) };
    // A bar over the ε values when their number is given; a running count while tracing.
    let bar = if a.points > 0 {
        super::progress::bar(a.points as u64, "pareto", "solves")
    } else {
        super::progress::spinner(format!("pareto: tracing the {} front by exact solves", metric.name()))
    };
    let front = pareto_with_progress(&inst, metric, s, a.points, &a.solver, &opts, &|k| {
        if a.points > 0 {
            bar.set_position(k as u64);
        } else {
            bar.set_message(format!("pareto: tracing the {} front, {k} exact solves", metric.name()));
        }
    });
    bar.finish_and_clear();
    let mut front = front?;
    if let Some(p) = &a.samples {
        add_loss_bands(&inst, &mut front, &read_coefficient_samples(p, inst.law.as_ref())?)?;
    }
    let mut warnings = for_instance(&inst);
    {
        let archs: Vec<&crate::Architecture> = front.iter().map(|p| &p.arch).collect();
        // Memory is known in the traded scenario only; NaN elsewhere never exceeds a share.
        let mem: Vec<Vec<f64>> = front
            .iter()
            .map(|p| (0..n_sc).map(|k| if k == s { p.memory_bytes.total } else { f64::NAN }).collect())
            .collect();
        warnings.extend(for_designs(&inst, &Extents::of(&inst.space), &archs, &mem, "front designs"));
    }
    crate::util::warning::print_stderr(&warnings);
    let mut files = Vec::new();
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        let csv_path = dir.join("front.csv");
        // Built in memory and written atomically (a kill leaves no half-written front).
        let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
        crate::util::fs::write_csv_atomic(&csv_path, |w| {
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
                "prefill_ms",
                "decode_ms",
                "tpot_ms",
                "total_ms",
                "memory_bytes",
                "params",
                "active_params",
                "solver",
            ])?;
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
                    p.latency_ms.prefill.to_string(),
                    p.latency_ms.decode.to_string(),
                    p.latency_ms.tpot.to_string(),
                    p.latency_ms.total.to_string(),
                    p.memory_bytes.total.to_string(),
                    p.params.total.to_string(),
                    p.params.active.to_string(),
                    p.solver.clone(),
                ])?;
            }
            Ok(())
        })?;
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
                band_label: Some("5–95 % loss over the coefficient samples".into()),
                step: false,
            };
            let svg = dir.join("front.svg");
            let mut budgets: Vec<String> = choice.active.iter().map(|b| budget_text(b, n_sc)).collect();
            if budgets.is_empty() {
                budgets.push("none".into());
            }
            lines(
                &svg,
                &format!(
                    "Loss vs {} — {} on {}; budgets: {}",
                    metric.plot_label(),
                    inst.name,
                    inst.scenarios[s].hardware.name,
                    budgets.join(", ")
                ),
                &metric.plot_label(),
                "predicted loss (nats)",
                &[series],
                a.log_x,
            )?;
            // Hover labels: each point's design, loss and metric.
            let titles: Vec<String> = front
                .iter()
                .map(|p| format!("{}: loss {:.4}, {} {:.5}", p.label, p.loss, metric.name(), p.metric))
                .collect();
            add_point_titles(&svg, &titles)?;
            files.push(svg);
        }
    }
    print_json(&json!({
        "instance": inst.name,
        "metric": metric.name(),
        "scenario": inst.scenarios[s].name,
        "budget_from": a.budget_from,
        "budgets": choice.active,
        "dropped_budgets": choice.dropped,
        "note": note,
        "warnings": warnings,
        "points": front,
        "files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "pareto_ms": t0.elapsed().as_secs_f64() * 1e3,
    }))
}
