//! `colaw calibrate --hardware HW MEASUREMENTS.csv --out CALIBRATED.toml`.

use super::output::print_json;
use crate::calibrate::{bootstrap_with_progress, calibrate_with_progress, intervals95, predict, prepare, TermSet};
use crate::deployment::{device_key, engines_dir};
use crate::engine::find_engine;
use crate::hardware::{load_hardware, write_latency_samples};
use crate::measurement::read_measurements;
use crate::util::provenance::{sha256_hex, Provenance};
use anyhow::{bail, Context};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Hardware file or name whose datasheet figures are the starting point. Omit it when the
    /// CSV has a `hardware` column: each row is then costed on its own device and the terms are
    /// shared by all of them (an engine's efficiency relative to each device's peaks).
    #[arg(long)]
    pub hardware: Option<String>,
    /// Measurement CSV with `latency_ms` in every row.
    pub measurements: PathBuf,
    /// Calibrated hardware file to write (loadable by eval, predict, solve); needs --hardware.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Use only rows of this engine: an engine under models/engines/ (rows whose `engine`
    /// column names it or one of its aliases; its attention kernel is used) or any other label
    /// in the `engine` column (e.g. eager, cudagraph).
    #[arg(long)]
    pub engine: Option<String>,
    /// Write the engine file with the fitted terms as its profile on every device of the rows
    /// (`[devices.<hardware>]`), loadable with --engine FILE; needs an engine file (--engine).
    #[arg(long)]
    pub engine_out: Option<PathBuf>,
    /// Terms to fit: full (11: compute and bandwidth efficiency per operator class, per-step,
    /// per-layer and per-MoE-layer overheads), extended (17: also per token and layer, per
    /// attention pair and layer, the extra per-step and per-layer cost of a prefill step, per
    /// matrix-vector output row of small-batch decode, and per token of a step; for engines like
    /// llama.cpp) or compact (5: one compute and one bandwidth efficiency,
    /// three overheads). Terms not fitted keep the --hardware file's values.
    #[arg(long, default_value = "full")]
    pub terms: String,
    /// Cross-validation groups: arch (unseen designs), source (unseen publications; needs a
    /// `source` column) or device (unseen devices; needs a `hardware` column).
    #[arg(long, default_value = "arch")]
    pub cv_by: String,
    /// Per-row predictions CSV (line, device, source, phase, measured, uncalibrated,
    /// calibrated and cross-validated ms).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Bootstrap resamples for latency uncertainty.
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Where to write the bootstrap samples (one row per resample, one column per term).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Cross-validation folds over the groups; 0: one fold per group (leave one group out).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(a: CalibrateArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let file = a.measurements.display().to_string();
    let set = TermSet::parse(&a.terms)?;
    let mf = read_measurements(&a.measurements)?;
    // An engine file when --engine names one; else a plain label of the `engine` column.
    let engine = match &a.engine {
        Some(e) => find_engine(&engines_dir(), e).ok(),
        None => None,
    };
    if a.engine_out.is_some() && engine.is_none() {
        bail!(
            "--engine-out needs --engine naming an engine under models/engines/ or an engine file (got {})",
            a.engine.as_deref().unwrap_or("none")
        );
    }
    let rows: Vec<_> = match (&a.engine, &engine) {
        (Some(_), Some(eng)) if mf.rows.iter().any(|r| r.engine.is_some()) => {
            mf.rows.iter().filter(|r| r.engine.as_deref().is_some_and(|x| eng.answers_to(x))).cloned().collect()
        }
        (Some(_), Some(_)) => mf.rows.clone(),
        (Some(e), None) => {
            if mf.rows.iter().all(|r| r.engine.is_none()) {
                bail!("{file}: --engine {e} given but the file has no `engine` column");
            }
            mf.rows.iter().filter(|r| r.engine.as_deref() == Some(e.as_str())).cloned().collect()
        }
        (None, _) => mf.rows.clone(),
    };
    // A file pooling devices, calibrated for one of them: only that device's rows.
    let rows: Vec<_> = match &a.hardware {
        Some(h) if rows.iter().any(|r| r.device.is_some()) => {
            let key = device_key(h);
            rows.into_iter().filter(|r| r.device.as_deref().is_none_or(|d| device_key(d) == key)).collect()
        }
        _ => rows,
    };
    if rows.is_empty() {
        bail!(
            "{file}: no rows for engine {} on device {}",
            a.engine.as_deref().unwrap_or("(any)"),
            a.hardware.as_deref().unwrap_or("(any)")
        );
    }
    crate::limits::flag_count("--bootstrap", a.bootstrap, 0, crate::limits::MAX_SAMPLES)?;
    crate::limits::flag_count("--folds", a.folds, 0, crate::limits::MAX_ITERATIONS)?;
    if a.samples.is_some() && a.bootstrap == 0 {
        bail!("--samples needs --bootstrap B with B > 0");
    }
    if a.out.is_some() && a.hardware.is_none() {
        bail!("--out writes a calibrated hardware file and needs --hardware; with per-row devices use --engine-out");
    }
    // The device of every row: --hardware, else the row's `device` column.
    let device_of = |r: &crate::measurement::Measurement| -> anyhow::Result<String> {
        match (&a.hardware, &r.device) {
            (Some(h), _) => Ok(h.clone()),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => {
                bail!("{file}:{}: no --hardware and no `hardware` in this row: give one or the other", r.line)
            }
        }
    };
    let mut devices: Vec<String> = rows.iter().map(&device_of).collect::<anyhow::Result<_>>()?;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&i, &j| devices[i].cmp(&devices[j]));
    let rows: Vec<_> = order.iter().map(|&i| rows[i].clone()).collect();
    devices = order.iter().map(|&i| devices[i].clone()).collect();
    let mut cal_rows = Vec::with_capacity(rows.len());
    let mut base = None;
    let mut device_names: Vec<String> = Vec::new();
    let mut start = 0;
    while start < rows.len() {
        let end = (start..rows.len()).find(|&i| devices[i] != devices[start]).unwrap_or(rows.len());
        let hw = load_hardware(&devices[start])?;
        if !device_names.iter().any(|n| n == hw.device_name()) {
            device_names.push(hw.device_name().to_string());
        }
        // The engine's attention kernel, but the device file's own terms: calibration starts
        // from (and reports "uncalibrated" against) the datasheet, not an earlier profile.
        let hw = match &engine {
            Some(e) => e.with_kernel(&hw),
            None => hw,
        };
        cal_rows.extend(prepare(&rows[start..end], &hw, &file)?);
        base.get_or_insert(hw);
        start = end;
    }
    let base = base.expect("at least one row");
    for (c, r) in cal_rows.iter_mut().zip(&rows) {
        c.group = match a.cv_by.as_str() {
            "arch" => c.arch_key.clone(),
            "source" => r
                .source
                .clone()
                .with_context(|| format!("{file}:{}: --cv-by source needs a `source` value in every row", r.line))?,
            "device" => device_key(&device_of(r)?),
            other => bail!("--cv-by {other}: allowed arch, source, device"),
        };
    }
    // The full fit, then one per cross-validation fold.
    let bar = super::progress::bar(0, "calibrate", "fits (full, then each CV fold)");
    let cal = calibrate_with_progress(&cal_rows, &base, a.folds, set, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let cal = cal?;
    let bytes = std::fs::read(&a.measurements).with_context(|| file.clone())?;
    let hash = sha256_hex(&bytes);
    let mut hw = cal.terms.apply(&base);
    if let Some(e) = &a.engine {
        hw.name = format!("{} (calibrated, {e})", base.name);
    } else {
        hw.name = format!("{} (calibrated)", base.name);
    }
    let table =
        Provenance::new("colaw calibrate: L-BFGS on mean squared log(pred/measured)", file.clone(), hash.clone())
            .count("rows", cal.n)
            .maybe("engine", a.engine.clone())
            .with("cv_mape_percent", cal.overall.mape_cv)
            .with("uncalibrated_mape_percent", cal.overall.mape_uncalibrated)
            .with("terms", a.terms.clone())
            .with("cv_by", a.cv_by.clone())
            .into_table();
    if let Some(out) = &a.out {
        hw.calibration = Some(table.clone());
        crate::util::fs::write_atomic(out, hw.to_toml_string().as_bytes())?;
    }
    if let (Some(out), Some(eng)) = (&a.engine_out, &engine) {
        let mut eng = eng.clone();
        let mut keys: Vec<String> = devices.iter().map(|d| device_key(d)).collect();
        keys.dedup();
        for k in keys {
            let prof = eng.devices.entry(k).or_default();
            prof.efficiency = hw.efficiency;
            prof.overhead = hw.overhead;
            prof.source = Some(format!("colaw calibrate on {file} (sha256 {hash})"));
            prof.calibration = Some(table.clone());
        }
        crate::util::fs::write_atomic(out, eng.to_toml_string().as_bytes())?;
    }
    if let Some(p) = &a.predictions {
        let prior = crate::hardware::EfficiencyTerms::from_hardware(&base);
        crate::util::fs::write_csv_atomic(p, |w| {
            w.write_record([
                "line",
                "device",
                "source",
                "arch",
                "phase",
                "batch",
                "tokens",
                "measured_ms",
                "uncalibrated_ms",
                "calibrated_ms",
                "cv_ms",
            ])?;
            for (((c, r), d), cv) in cal_rows.iter().zip(&rows).zip(&devices).zip(&cal.cv_predictions) {
                w.write_record([
                    r.line.to_string(),
                    device_key(d),
                    r.source.clone().unwrap_or_default(),
                    c.arch_key.clone(),
                    r.phase.name().to_string(),
                    r.batch.to_string(),
                    r.tokens.to_string(),
                    format!("{:.6}", c.measured_ms),
                    format!("{:.6}", predict(c, &prior)),
                    format!("{:.6}", predict(c, &cal.terms)),
                    format!("{cv:.6}"),
                ])?;
            }
            Ok(())
        })?;
    }

    let mut boot = serde_json::Value::Null;
    if a.bootstrap > 0 {
        let bar = super::progress::bar(a.bootstrap as u64, "bootstrap", "resamples");
        let samples = bootstrap_with_progress(&cal_rows, &base, &cal.terms, a.bootstrap, a.seed, set, &|| bar.inc(1));
        bar.finish_and_clear();
        let ci: serde_json::Map<String, serde_json::Value> =
            intervals95(&samples).into_iter().map(|(name, (lo, hi))| (name.to_string(), json!([lo, hi]))).collect();
        if let Some(p) = &a.samples {
            write_latency_samples(p, &samples, &device_names)?;
        }
        boot = json!({"resamples": a.bootstrap, "seed": a.seed, "ci95": ci,
                      "samples": a.samples.as_ref().map(|p| p.display().to_string())});
    }
    let terms: serde_json::Map<String, serde_json::Value> =
        cal.terms.named().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    print_json(&json!({
        "hardware": base.name,
        "engine": a.engine,
        "terms": a.terms,
        "cv_by": a.cv_by,
        "out": a.out.as_ref().map(|p| p.display().to_string()),
        "engine_out": a.engine_out.as_ref().map(|p| p.display().to_string()),
        "n": cal.n,
        "data_sha256": hash,
        "terms": terms,
        "objective": cal.objective,
        "folds": cal.folds,
        "groups": cal.groups,
        "overall": cal.overall,
        "bootstrap": boot,
        "calibrate_ms": started.elapsed().as_secs_f64() * 1e3,
    }))
}
