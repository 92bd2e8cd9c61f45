//! `colaw calibrate --hardware HW MEASUREMENTS.csv --out CALIBRATED.toml`.

use super::output::print_json;
use crate::calibrate::{bootstrap, calibrate, intervals95, prepare};
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
    /// Hardware file or name whose datasheet figures are the starting point.
    #[arg(long)]
    pub hardware: String,
    /// Measurement CSV with `latency_ms` in every row.
    pub measurements: PathBuf,
    /// Calibrated hardware file to write (loadable by eval, predict, solve).
    #[arg(long)]
    pub out: PathBuf,
    /// Use only rows whose `engine` column equals this (e.g. eager, cudagraph).
    #[arg(long)]
    pub engine: Option<String>,
    /// Bootstrap resamples for latency uncertainty.
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Where to write the bootstrap samples (one row per resample, one column per term).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Cross-validation folds (grouped by architecture).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(a: CalibrateArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let base = load_hardware(&a.hardware)?;
    let file = a.measurements.display().to_string();
    let mf = read_measurements(&a.measurements)?;
    let rows: Vec<_> = match &a.engine {
        Some(e) => {
            if mf.rows.iter().all(|r| r.engine.is_none()) {
                bail!("{file}: --engine {e} given but the file has no `engine` column");
            }
            mf.rows.iter().filter(|r| r.engine.as_deref() == Some(e.as_str())).cloned().collect()
        }
        None => mf.rows.clone(),
    };
    if rows.is_empty() {
        bail!("{file}: no rows with engine = {}", a.engine.as_deref().unwrap_or("?"));
    }
    if a.samples.is_some() && a.bootstrap == 0 {
        bail!("--samples needs --bootstrap B with B > 0");
    }
    let cal_rows = prepare(&rows, &base, &file)?;
    let cal = calibrate(&cal_rows, &base, a.folds)?;
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
            .with("uncalibrated_mape_percent", cal.overall.mape_uncalibrated);
    hw.calibration = Some(table.into_table());
    std::fs::write(&a.out, hw.to_toml_string()).with_context(|| a.out.display().to_string())?;

    let mut boot = serde_json::Value::Null;
    if a.bootstrap > 0 {
        let samples = bootstrap(&cal_rows, &base, &cal.terms, a.bootstrap, a.seed);
        let ci: serde_json::Map<String, serde_json::Value> =
            intervals95(&samples).into_iter().map(|(name, (lo, hi))| (name.to_string(), json!([lo, hi]))).collect();
        if let Some(p) = &a.samples {
            write_latency_samples(p, &samples)?;
        }
        boot = json!({"resamples": a.bootstrap, "seed": a.seed, "ci95": ci,
                      "samples": a.samples.as_ref().map(|p| p.display().to_string())});
    }
    let terms: serde_json::Map<String, serde_json::Value> =
        cal.terms.named().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    print_json(&json!({
        "hardware": base.name,
        "engine": a.engine,
        "out": a.out.display().to_string(),
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
