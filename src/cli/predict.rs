//! `colaw predict --hardware HW MEASUREMENTS.csv [-o OUT.csv]`.
//!
//! Writes the rows back with a `predicted_ms` column (stdout without `-o`) and reports how
//! the predictions compare with the measured `latency_ms`: MAPE overall and per engine,
//! phase and batch (JSON or a table on stdout with `-o`; a table on stderr without, where
//! stdout carries the CSV). Calibrated terms belong to the engine they were fitted on: rows
//! measured with another engine than the hardware file's `[calibration]` (or the `--engine`
//! profile) are refused unless `--allow-engine-mismatch`, and every caveat is a warning.

use super::output::{print_json, Format};
use crate::calibrate::mape;
use crate::cost::CostModel;
use crate::deployment::{device_key, engines_dir};
use crate::engine::find_engine;
use crate::hardware::load_hardware;
use crate::measurement::{read_measurements, Measurement, Phase};
use crate::util::{print_warnings, Warning};
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Hardware file or name under models/hardware/.
    #[arg(long)]
    pub hardware: String,
    /// Measurement CSV (see docs: required hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens).
    pub measurements: PathBuf,
    /// Engine whose calibrated terms on this device and attention kernel to use; rows without
    /// a `weight_format` column take its default format.
    #[command(flatten)]
    pub engine: super::EngineArgs,
    /// Output CSV (default: stdout, with the summary on stderr).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Summary format on stdout when -o is given (without -o the summary is a table on stderr).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Keep only rows whose `engine` column names this engine (a label such as cudagraph or
    /// eager, or an engine under models/engines/ by name or alias).
    #[arg(long)]
    pub only_engine: Option<String>,
    /// Predict rows measured with another engine than the calibration's anyway (a warning,
    /// not an error): terms fitted on one engine do not transfer to another.
    #[arg(long)]
    pub allow_engine_mismatch: bool,
}

/// What the calibration in use was fitted on, from its `[calibration]` record.
#[derive(Debug, Clone, Serialize)]
struct CalibrationReport {
    /// Where the terms come from: the hardware file or the engine's device profile.
    from: String,
    /// The `engine` label of the rows it was fitted on, if recorded.
    engine: Option<String>,
    /// Its data file, rows and cross-validated MAPE, if recorded.
    data: Option<String>,
    rows: Option<i64>,
    cv_mape_percent: Option<f64>,
}

/// One group of rows: an engine label, a phase and a batch.
#[derive(Debug, Clone, Serialize)]
struct Group {
    engine: Option<String>,
    phase: &'static str,
    batch: u32,
    rows: usize,
    /// Rows with a measured latency.
    measured_rows: usize,
    mean_measured_ms: Option<f64>,
    mean_predicted_ms: f64,
    mape_percent: Option<f64>,
    /// Measured with the engine the calibration was fitted on (None: cannot tell).
    matches_calibration: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Summary {
    hardware: String,
    measurements: String,
    calibration: Option<CalibrationReport>,
    rows: usize,
    measured_rows: usize,
    /// Rows left out by --only-engine.
    rows_left_out: usize,
    mape_percent: Option<f64>,
    groups: Vec<Group>,
    out: Option<String>,
    warnings: Vec<Warning>,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let mut hw = load_hardware(&a.hardware)?;
    let file = a.measurements.display().to_string();
    let deployment = a.engine.resolve(&hw, &a.hardware)?;
    let mut calibration = hw.calibration.as_ref().map(|t| calibration_report(t, format!("hardware {}", a.hardware)));
    if let Some(d) = &deployment {
        if d.calibrated {
            let profile = d.engine.profile(&device_key(&a.hardware)).and_then(|p| p.calibration.as_ref());
            let mut c = profile.map_or_else(
                || CalibrationReport {
                    from: String::new(),
                    engine: None,
                    data: None,
                    rows: None,
                    cv_mape_percent: None,
                },
                |t| calibration_report(t, String::new()),
            );
            c.from = format!("engine {} on {}", d.engine.name, device_key(&a.hardware));
            // The profile's terms are the engine's: its rows are the engine's rows.
            c.engine.get_or_insert_with(|| d.engine.name.clone());
            calibration = Some(c);
        }
        hw = d.hardware.clone();
    }
    let mf = read_measurements(&a.measurements)?;
    let mut warnings = Vec::new();
    let labels = EngineLabels::default();
    // --only-engine: the rows of one engine.
    let keep: Vec<bool> = match &a.only_engine {
        None => vec![true; mf.rows.len()],
        Some(e) => {
            if mf.rows.iter().all(|r| r.engine.is_none()) {
                anyhow::bail!("{file}: --only-engine {e} given but the file has no `engine` column");
            }
            let keep: Vec<bool> =
                mf.rows.iter().map(|r| r.engine.as_deref().is_some_and(|x| labels.same(x, e))).collect();
            if !keep.iter().any(|k| *k) {
                anyhow::bail!(
                    "{file}: no row has engine {e} (engines in the file: {})",
                    engines_in(&mf.rows).join(", ")
                );
            }
            keep
        }
    };
    let rows: Vec<&Measurement> = mf.rows.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| r).collect();
    let rows_left_out = mf.rows.len() - rows.len();

    // The rows' engines against the calibration's.
    let matches = |r: &Measurement| -> Option<bool> {
        let cal = calibration.as_ref()?.engine.as_deref()?;
        Some(labels.same(r.engine.as_deref()?, cal))
    };
    match &calibration {
        None => warnings.push(Warning::new(
            "uncalibrated",
            format!(
                "{} is not calibrated: the predictions are its datasheet roofline, a lower bound on latency \
                 (70.6 % MAPE on the H100 CUDA-graph rows, README \"Latency calibration\"); `colaw calibrate` fits it",
                hw.name
            ),
        )),
        Some(c) => match &c.engine {
            Some(cal) => {
                let unlabelled = rows.iter().filter(|r| r.engine.is_none()).count();
                if unlabelled > 0 {
                    warnings.push(Warning::new(
                        "engine_unknown",
                        format!(
                            "{unlabelled} of {} rows have no `engine` value, so colaw cannot check that they were \
                             measured with {cal}, the engine the terms of {} were fitted on; terms do not transfer \
                             between engines (add an `engine` column)",
                            rows.len(),
                            c.from
                        ),
                    ));
                }
                let other: Vec<&&Measurement> = rows.iter().filter(|r| matches(r) == Some(false)).collect();
                if !other.is_empty() {
                    let engines = engines_in(other.iter().map(|r| **r));
                    let lines: Vec<String> = other.iter().take(5).map(|r| r.line.to_string()).collect();
                    let what = format!(
                        "{} of {} rows of {file} were measured with {} (lines {}{}), but the terms of {} were fitted on \
                         `{cal}` rows: calibrated terms do not transfer between engines (the H100 CUDA-graph terms \
                         miss its eager rows by 60 % MAPE)",
                        other.len(),
                        rows.len(),
                        engines.join(", "),
                        lines.join(", "),
                        if other.len() > 5 { ", …" } else { "" },
                        c.from,
                    );
                    if !a.allow_engine_mismatch {
                        anyhow::bail!(
                            "{what}. Predict them with a file calibrated on their engine (e.g. models/hardware/*-eager.toml), \
                             keep only the matching rows with --only-engine {cal}, or pass --allow-engine-mismatch \
                             to predict them anyway"
                        );
                    }
                    warnings.push(Warning::new(
                        "calibration_engine_mismatch",
                        format!("{what}; their groups below say matches_calibration = false"),
                    ));
                }
            }
            None => {
                let engines = engines_in(rows.iter().copied());
                if !engines.is_empty() {
                    warnings.push(Warning::new(
                        "calibration_engine_unknown",
                        format!(
                            "the calibration of {} does not record the engine of its rows, so colaw cannot check the \
                             rows' engines ({}) against it; terms do not transfer between engines",
                            c.from,
                            engines.join(", ")
                        ),
                    ));
                }
            }
        },
    }

    // Predict every kept row.
    let mut predicted = Vec::with_capacity(rows.len());
    for row in &rows {
        let wl = row.workload(deployment.as_ref().map(|d| d.deployment));
        let model = CostModel::new(&hw, &wl).map_err(|e| anyhow::anyhow!("{file}:{}: {e}", row.line))?;
        predicted.push(model.step_ms(&row.arch, row.phase == Phase::Decode, row.tokens));
    }
    // Built in memory: stdout, or one atomic write of -o (no half-written CSV after a kill).
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = mf.headers.clone();
    head.push_field("predicted_ms");
    w.write_record(&head)?;
    let records = mf.records.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| r);
    for (rec, ms) in records.zip(&predicted) {
        let mut out = rec.clone();
        out.push_field(&format!("{ms:.6}"));
        w.write_record(&out)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    match &a.out {
        Some(p) => crate::util::fs::write_atomic(p, &bytes)?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
    }

    let summary = Summary {
        hardware: hw.name.clone(),
        measurements: file.clone(),
        groups: groups(&rows, &predicted, &matches),
        mape_percent: mape_of(rows.iter().copied(), &predicted),
        measured_rows: rows.iter().filter(|r| r.latency_ms.is_some()).count(),
        rows: rows.len(),
        rows_left_out,
        calibration,
        out: a.out.as_ref().map(|p| p.display().to_string()),
        warnings,
    };
    print_warnings(&summary.warnings);
    match (&a.out, a.format) {
        (Some(_), Format::Json) => print_json(&summary)?,
        (Some(_), Format::Table) => print!("{}", table(&summary)),
        (None, _) => eprint!("{}", table(&summary)),
    }
    Ok(())
}

/// The calibration record of a `[calibration]` table.
fn calibration_report(t: &toml::Table, from: String) -> CalibrationReport {
    CalibrationReport {
        from,
        engine: t.get("engine").and_then(|v| v.as_str()).map(str::to_string),
        data: t.get("data").and_then(|v| v.as_str()).map(str::to_string),
        rows: t.get("rows").and_then(|v| v.as_integer()),
        cv_mape_percent: t.get("cv_mape_percent").and_then(|v| v.as_float()),
    }
}

/// Engine labels compared as people mean them: equal ignoring case, or naming the same
/// engine under models/engines/ (`cudagraph` is an alias of `pytorch-cudagraph`).
#[derive(Default)]
struct EngineLabels {
    resolved: std::cell::RefCell<BTreeMap<String, Option<String>>>,
}

impl EngineLabels {
    fn canonical(&self, label: &str) -> Option<String> {
        let key = label.to_ascii_lowercase();
        self.resolved
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| find_engine(&engines_dir(), label).ok().map(|e| e.name))
            .clone()
    }

    fn same(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b) || matches!((self.canonical(a), self.canonical(b)), (Some(x), Some(y)) if x == y)
    }
}

/// Distinct engine labels of rows, sorted.
fn engines_in<'a>(rows: impl IntoIterator<Item = &'a Measurement>) -> Vec<String> {
    let mut v: Vec<String> = rows.into_iter().filter_map(|r| r.engine.clone()).collect();
    v.sort();
    v.dedup();
    v
}

/// MAPE over the rows that have a measured latency (None when none has).
fn mape_of<'a>(rows: impl IntoIterator<Item = &'a Measurement>, predicted: &[f64]) -> Option<f64> {
    let (p, m): (Vec<f64>, Vec<f64>) =
        rows.into_iter().zip(predicted).filter_map(|(r, p)| r.latency_ms.map(|m| (*p, m))).unzip();
    (!m.is_empty()).then(|| mape(&p, &m))
}

/// Rows grouped by engine label, phase and batch, in that order.
fn groups(rows: &[&Measurement], predicted: &[f64], matches: &dyn Fn(&Measurement) -> Option<bool>) -> Vec<Group> {
    let mut by: BTreeMap<(Option<String>, &'static str, u32), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        by.entry((r.engine.clone(), r.phase.name(), r.batch)).or_default().push(i);
    }
    by.into_iter()
        .map(|((engine, phase, batch), idx)| {
            let measured: Vec<f64> = idx.iter().filter_map(|&i| rows[i].latency_ms).collect();
            let pred: Vec<f64> = idx.iter().map(|&i| predicted[i]).collect();
            Group {
                matches_calibration: matches(rows[idx[0]]),
                engine,
                phase,
                batch,
                rows: idx.len(),
                measured_rows: measured.len(),
                mean_measured_ms: (!measured.is_empty()).then(|| measured.iter().sum::<f64>() / measured.len() as f64),
                mean_predicted_ms: pred.iter().sum::<f64>() / pred.len() as f64,
                mape_percent: mape_of(idx.iter().map(|&i| rows[i]), &pred),
            }
        })
        .collect()
}

/// The summary for people.
fn table(s: &Summary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let cal = match &s.calibration {
        None => "datasheet roofline (not calibrated)".to_string(),
        Some(c) => format!(
            "calibrated: {}{}{}{}",
            c.from,
            c.engine.as_deref().map(|e| format!(", engine {e}")).unwrap_or_default(),
            c.rows.map(|n| format!(", {n} rows")).unwrap_or_default(),
            c.cv_mape_percent.map(|m| format!(", CV MAPE {m:.1} %")).unwrap_or_default()
        ),
    };
    let _ = writeln!(o, "predict: {} rows of {} on {}\n  terms {cal}", s.rows, s.measurements, s.hardware);
    if s.rows_left_out > 0 {
        let _ = writeln!(o, "  {} rows of other engines left out (--only-engine)", s.rows_left_out);
    }
    let _ = writeln!(
        o,
        "  {:<16} {:<8} {:>5} {:>6} {:>13} {:>13} {:>8}  calibration's engine",
        "engine", "phase", "batch", "rows", "measured ms", "predicted ms", "MAPE %"
    );
    let opt = |x: Option<f64>, prec: usize| x.map_or_else(|| "-".to_string(), |v| format!("{v:.prec$}"));
    for g in &s.groups {
        let _ = writeln!(
            o,
            "  {:<16} {:<8} {:>5} {:>6} {:>13} {:>13.4} {:>8}  {}",
            g.engine.as_deref().unwrap_or("-"),
            g.phase,
            g.batch,
            g.rows,
            opt(g.mean_measured_ms, 4),
            g.mean_predicted_ms,
            opt(g.mape_percent, 1),
            match g.matches_calibration {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            }
        );
    }
    let _ = writeln!(
        o,
        "  {:<16} {:<8} {:>5} {:>6} {:>13} {:>13} {:>8}",
        "all",
        "",
        "",
        s.rows,
        "",
        "",
        opt(s.mape_percent, 1)
    );
    if let Some(p) = &s.out {
        let _ = writeln!(o, "  predictions: {p}");
    }
    o
}
