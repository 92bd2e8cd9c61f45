//! `colaw region INSTANCE.toml --samples SAMPLES.csv --out DIR`.

use super::output::print_json;
use crate::hardware::read_latency_samples;
use crate::instance::Instance;
use crate::law::read_coefficient_samples;
use crate::plot::{heatmaps, Panel};
use crate::region::{budget_map, region, DesignStats, MapCell, Region, RegionOptions};
use crate::scenario::BudgetMetric;
use crate::util::fs::{write_atomic, write_csv_atomic};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `region`.
#[derive(Debug, Args)]
pub struct RegionArgs {
    /// Instance file.
    pub instance: PathBuf,
    /// Bootstrap coefficient samples of the instance's law (`colaw fit --samples`).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Loss threshold for P(loss ≤ target).
    #[arg(long)]
    pub target_loss: Option<f64>,
    /// Latency-calibration samples (`colaw calibrate --samples`).
    #[arg(long)]
    pub latency_samples: Option<PathBuf>,
    /// Apply the latency samples to this scenario only (repeatable; default all).
    #[arg(long)]
    pub latency_scenario: Vec<String>,
    /// Output folder for region.csv, summary.json, maps and the budget map.
    #[arg(long)]
    pub out: PathBuf,
    /// Budget-map grid size per axis (0 = no budget map).
    #[arg(long, default_value_t = 12)]
    pub budget_grid: usize,
    /// Latency metric of the budget map (default: the first latency budget of the scenario).
    #[arg(long)]
    pub map_metric: Option<String>,
    /// Scenario of the budget map (default: the first).
    #[arg(long)]
    pub map_scenario: Option<String>,
}

fn scenario_index(inst: &Instance, name: &str) -> anyhow::Result<usize> {
    inst.scenarios.iter().position(|s| s.name == name).with_context(|| {
        format!(
            "unknown scenario `{name}`; the instance has {}",
            inst.scenarios.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        )
    })
}

pub fn run(a: RegionArgs) -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    crate::limits::flag_count("--budget-grid", a.budget_grid, 0, crate::limits::MAX_BUDGET_GRID)?;
    let inst = Instance::load(&a.instance)?;
    let coef = match &a.samples {
        Some(p) => read_coefficient_samples(p, inst.law.as_ref())?,
        None => Vec::new(),
    };
    let lat = match &a.latency_samples {
        Some(p) => read_latency_samples(p)?,
        None => Vec::new(),
    };
    if coef.is_empty() && lat.is_empty() {
        bail!("give --samples (law coefficients) and/or --latency-samples: without samples there is no uncertainty");
    }
    if let Some(t) = a.target_loss {
        anyhow::ensure!(t.is_finite() && t > 0.0, "--target-loss {t}: must be a positive loss");
    }
    let latency_scenarios = if a.latency_scenario.is_empty() {
        None
    } else {
        Some(a.latency_scenario.iter().map(|n| scenario_index(&inst, n)).collect::<anyhow::Result<Vec<_>>>()?)
    };
    let opts = RegionOptions { target_loss: a.target_loss, latency_scenarios };
    let r = region(&inst, &coef, &lat, &opts)?;
    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    let mut files = Vec::new();
    let csv_path = a.out.join("region.csv");
    write_csv_atomic(&csv_path, |w| r.designs.iter().try_for_each(|d| w.serialize(d)))?;
    files.push(csv_path);
    files.extend(maps(&inst, &r, &a.out)?);
    let mut budget_map = serde_json::Value::Null;
    if a.budget_grid > 0 {
        let (v, f) = budget_map_files(&inst, &coef, &a, &a.out)?;
        budget_map = v;
        files.extend(f);
    }
    let pick = |i: Option<usize>| i.map(|k| &r.designs[k]);
    let summary = json!({
        "instance": inst.name,
        "draws": r.draws,
        "coefficient_samples": r.coefficient_samples,
        "latency_samples": r.latency_samples,
        "candidates": r.candidates,
        "designs_listed": r.designs_listed,
        "infeasible_draws": r.infeasible_draws,
        "target_loss": r.target_loss,
        "point_optimum": pick(r.point_optimum),
        "point_optimum_stays_optimal": pick(r.point_optimum).map(|d| d.p_optimal),
        "most_often_optimal": pick(r.most_often_optimal),
        "safest": pick(r.safest),
        "budget_map": budget_map,
        "files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "region_ms": t0.elapsed().as_secs_f64() * 1e3,
    });
    let sp = a.out.join("summary.json");
    write_atomic(&sp, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    print_json(&summary)
}

/// depth × width maps, one panel per MoE setting, the maximum probability over the other
/// dimensions (heads, FFN ratio, storage types) in each cell.
fn maps(inst: &Instance, r: &Region, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut hidden: Vec<u32> = inst.space.widths.iter().map(|w| w.hidden).collect();
    hidden.sort();
    hidden.dedup();
    let mut moe: Vec<(u32, u32)> = inst.space.widths.iter().map(|w| (w.experts, w.active_experts)).collect();
    moe.sort();
    moe.dedup();
    let depths = &inst.space.depths;
    let mut out = Vec::new();
    type Probability = fn(&DesignStats) -> f64;
    let mut kinds: Vec<(&str, &str, Probability)> =
        vec![("feasible", "P(meets all budgets)", |d| d.p_feasible), ("optimal", "P(optimal)", |d| d.p_optimal)];
    if r.target_loss.is_some() {
        kinds.push(("target", "P(meets budgets and loss ≤ target)", |d| d.p_feasible_and_target));
    }
    for (key, title, f) in kinds {
        let panels: Vec<Panel> = moe
            .iter()
            .map(|&(e, k)| {
                // A cell exists (0 by default) when the space has that (hidden, MoE) width.
                let mut values: Vec<Vec<Option<f64>>> = vec![vec![None; hidden.len()]; depths.len()];
                for wc in inst.space.widths.iter().filter(|w| (w.experts, w.active_experts) == (e, k)) {
                    let x = hidden.binary_search(&wc.hidden).unwrap_or(0);
                    for row in values.iter_mut() {
                        row[x].get_or_insert(0.0);
                    }
                }
                for d in r.designs.iter().filter(|d| (d.experts, d.active_experts) == (e, k)) {
                    let (x, y) =
                        (hidden.binary_search(&d.hidden).unwrap_or(0), depths.binary_search(&d.layers).unwrap_or(0));
                    let v = values[y][x].get_or_insert(0.0);
                    *v = v.max(f(d));
                }
                Panel {
                    title: if e == 1 { "dense".into() } else { format!("MoE E={e}, top-{k}") },
                    x_labels: hidden.iter().map(|h| h.to_string()).collect(),
                    y_labels: depths.iter().map(|l| l.to_string()).collect(),
                    values,
                }
            })
            .collect();
        let path = dir.join(format!("map_{key}.svg"));
        heatmaps(
            &path,
            &format!("{title} — {} ({} draws)", inst.name, r.draws),
            "hidden size d",
            "layers l",
            "probability (max over heads, FFN ratio, dtypes)",
            (0.0, 1.0),
            &panels,
        )?;
        out.push(path);
    }
    Ok(out)
}

/// The budget map's CSV and heatmaps.
fn budget_map_files(
    inst: &Instance,
    coef: &[Vec<f64>],
    a: &RegionArgs,
    dir: &Path,
) -> anyhow::Result<(serde_json::Value, Vec<PathBuf>)> {
    let s = match &a.map_scenario {
        Some(n) => scenario_index(inst, n)?,
        None => 0,
    };
    let metric = a.map_metric.as_deref().map(BudgetMetric::parse).transpose()?;
    let Some(map) = budget_map(inst, coef, s, metric, a.budget_grid)? else {
        return Ok((json!({"note": "no design meets the other budgets"}), Vec::new()));
    };
    let (lat_metric, lats, mems, cells) = (map.metric, &map.latency_budgets, &map.memory_budgets_bytes, &map.cells);
    let n = lats.len();
    let depths = &inst.space.depths;
    let path = dir.join("budget_map.csv");
    write_csv_atomic(&path, |w| cells.iter().try_for_each(|c| w.serialize(c)))?;
    let mut files = vec![path];
    let unit = if matches!(lat_metric, BudgetMetric::Params | BudgetMetric::ActiveParams) { "" } else { " (ms)" };
    let fmt_lat = |v: f64| {
        if v >= 100.0 {
            format!("{v:.0}")
        } else if v >= 1.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    };
    let panel = |f: &dyn Fn(&MapCell) -> Option<f64>, title: &str| Panel {
        title: title.into(),
        x_labels: lats.iter().map(|&v| fmt_lat(v)).collect(),
        y_labels: mems.iter().map(|&m| format!("{:.2}", m / 1e9)).collect(),
        values: (0..n).map(|j| (0..n).map(|i| f(&cells[j * n + i])).collect()).collect(),
    };
    let xd = format!("{} budget{unit}", lat_metric.name());
    let losses: Vec<f64> = cells.iter().filter_map(|c| c.best_loss).collect();
    let lr = (
        losses.iter().copied().fold(f64::INFINITY, f64::min),
        losses.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    for (key, title, f, range, vd) in [
        (
            "loss",
            "best predicted loss",
            (&|c: &MapCell| c.best_loss) as &dyn Fn(&MapCell) -> Option<f64>,
            lr,
            "loss (nats)",
        ),
        (
            "layers",
            "depth of the chosen design",
            &|c: &MapCell| c.layers.map(f64::from),
            (*depths.first().unwrap_or(&1) as f64, *depths.last().unwrap_or(&1) as f64),
            "layers",
        ),
        (
            "experts",
            "experts of the chosen design (1 = dense)",
            &|c: &MapCell| c.experts.map(f64::from),
            (1.0, inst.space.widths.iter().map(|w| w.experts).max().unwrap_or(1).max(2) as f64),
            "experts",
        ),
    ] {
        let p = dir.join(format!("budget_map_{key}.svg"));
        heatmaps(
            &p,
            &format!("Budget map: {title} — {}", inst.name),
            &xd,
            "memory budget (GB)",
            vd,
            range,
            &[panel(f, title)],
        )?;
        files.push(p);
    }
    Ok((json!({"scenario": inst.scenarios[s].name, "latency_metric": lat_metric.name(), "grid": n}), files))
}
