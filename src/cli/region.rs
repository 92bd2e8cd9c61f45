//! `colaw region INSTANCE.toml --samples SAMPLES.csv --out DIR`.

use super::output::print_json;
use crate::fragility::{for_designs, for_instance, latency_samples_devices, Extents};
use crate::hardware::{read_latency_samples, read_latency_samples_devices};
use crate::instance::Instance;
use crate::law::read_coefficient_samples;
use crate::plot::{heatmaps, ColorScale, Panel};
use crate::region::{budget_map, region_with_progress, DesignStats, MapCell, Region, RegionOptions};
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
    let (lat, lat_devices) = match &a.latency_samples {
        Some(p) => (read_latency_samples(p)?, read_latency_samples_devices(p)?),
        None => (Vec::new(), Vec::new()),
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
    let mut warnings = for_instance(&inst);
    if !lat.is_empty() {
        warnings.extend(latency_samples_devices(&inst, &lat_devices, latency_scenarios.as_deref()));
    }
    let opts = RegionOptions { target_loss: a.target_loss, latency_scenarios };
    let draws = coef.len().max(lat.len()).max(1);
    let bar = super::progress::bar(draws as u64, "region", "draws");
    let r = region_with_progress(&inst, &coef, &lat, &opts, &|| bar.inc(1));
    bar.finish_and_clear();
    let r = r?;
    // The designs the summary recommends: each on the edge of the space or outside the law's
    // fitted range is named.
    let ext = Extents::of(&inst.space);
    let mut picked: Vec<usize> = [r.point_optimum, r.most_often_optimal, r.safest].into_iter().flatten().collect();
    picked.dedup();
    picked.sort_unstable();
    picked.dedup();
    for &k in &picked {
        let d = &r.designs[k];
        let arch = inst.space.widths[d.width].arch(inst.space.depths[d.depth]);
        let what = format!("recommended design {}", d.label);
        let mem = crate::solve::scenario_metrics(&inst, &inst.space.widths[d.width], &arch, |_| None)?
            .iter()
            .map(|m| m.memory_bytes.total)
            .collect();
        warnings.extend(for_designs(&inst, &ext, &[&arch], &[mem], &what));
    }
    crate::util::warning::dedup(&mut warnings);
    crate::util::warning::print_stderr(&warnings);
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
        "warnings": warnings,
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
                // A cell has a value only where some design meets the budgets in at least
                // one draw (the listed designs); the rest are drawn hatched, so "never
                // feasible" cannot be read as a probability of 0 of a feasible design.
                let mut values: Vec<Vec<Option<f64>>> = vec![vec![None; hidden.len()]; depths.len()];
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
            &ColorScale::Continuous {
                range: (0.0, 1.0),
                desc: "probability (max over heads, FFN ratio, dtypes)".into(),
            },
            "no design meets the budgets in any draw",
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
    let xd = format!("budget on {}", lat_metric.plot_label());
    let losses: Vec<f64> = cells.iter().filter_map(|c| c.best_loss).collect();
    let lr = (
        losses.iter().copied().fold(f64::INFINITY, f64::min),
        losses.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let mut experts: Vec<u32> = inst.space.widths.iter().map(|w| w.experts).collect();
    experts.sort();
    experts.dedup();
    type CellValue<'a> = &'a dyn Fn(&MapCell) -> Option<f64>;
    let maps: [(&str, &str, CellValue, ColorScale); 3] = [
        (
            "loss",
            "best predicted loss",
            &|c: &MapCell| c.best_loss,
            ColorScale::Continuous { range: lr, desc: "loss (nats)".into() },
        ),
        (
            "layers",
            "depth of the chosen design",
            &|c: &MapCell| c.layers.map(f64::from),
            ColorScale::Continuous {
                range: (*depths.first().unwrap_or(&1) as f64, *depths.last().unwrap_or(&1) as f64),
                desc: "layers".into(),
            },
        ),
        (
            "experts",
            "experts of the chosen design",
            &|c: &MapCell| c.experts.map(f64::from),
            // A handful of expert counts (1, 8, 16): one colour each, not a colour bar.
            ColorScale::Discrete {
                desc: "experts".into(),
                levels: experts
                    .iter()
                    .map(|&e| (f64::from(e), if e == 1 { "dense".to_string() } else { format!("{e} experts") }))
                    .collect(),
            },
        ),
    ];
    for (key, title, f, scale) in maps {
        let p = dir.join(format!("budget_map_{key}.svg"));
        heatmaps(
            &p,
            &format!("Budget map: {title} — {} on {}", inst.name, inst.scenarios[s].hardware.name),
            &xd,
            "memory budget (GB)",
            &scale,
            "no design meets these budgets",
            &[panel(f, title)],
        )?;
        files.push(p);
    }
    Ok((json!({"scenario": inst.scenarios[s].name, "latency_metric": lat_metric.name(), "grid": n}), files))
}
