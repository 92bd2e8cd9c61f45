//! Replicates Epoch AI's Chinchilla fit (Besiroglu et al. 2024) on the runs they extracted:
//! drop the 5 highest-loss runs (240 remain), fit L = E + A/N^α + B/D^β in log-sum-exp form
//! with Huber δ = 1e-3 on log loss by L-BFGS from Epoch's 4,500-point grid, then 1,000
//! bootstrap refits. Prints coefficients, 95 % intervals and timings.
//!
//! ```sh
//! cargo run --release --example chinchilla [-- BOOTSTRAPS [SEED]]
//! ```
//! The same through the command line:
//! `colaw fit --law chinchilla data/chinchilla/chinchilla_epoch.csv --drop-highest 5 --bootstrap 1000`.

use colaw::law::bootstrap::{bootstrap, BootstrapOptions};
use colaw::law::fit::{FitModel, FitOptions, Fitter, LseModel, Starts};
use colaw::law::{load_law, read_observations, ColumnMap};
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let b: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let law = load_law("chinchilla")?;
    let model = LseModel::new(&law)?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/chinchilla/chinchilla_epoch.csv");
    let obs = read_observations(&path, model.feature_vars(), &ColumnMap::default(), None)?;
    // Epoch's method: grid starts only (Hoffmann's values are not a start).
    let opts =
        FitOptions { drop_highest: 5, starts: Starts::Grid, include_law_start: false, seed, ..Default::default() };
    let fitter = Fitter::new(&model, &obs, opts)?;
    let fit = fitter.fit(None)?;
    let boot = bootstrap(&fitter, &fit, &BootstrapOptions { resamples: b, seed, ..Default::default() }, None);
    println!(
        "Chinchilla replication: n = {} (dropped {}), {} starts, {} reached the best",
        fit.n, fit.dropped, fit.starts, fit.starts_at_best
    );
    println!("{:<6} {:>12} {:>26} {:>10}", "coef", "estimate", "95% interval", "stderr");
    for (k, n) in fit.names.iter().enumerate() {
        let (lo, hi) = boot.ci95.get(k).copied().unwrap_or((f64::NAN, f64::NAN));
        println!(
            "{n:<6} {:>12.5} [{lo:>11.5}, {hi:>11.5}] {:>10.5}",
            fit.values[k],
            boot.stderr.get(k).copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "objective {:.10e}  R² {:.4}  RMSE {:.5}  RMSE(log) {:.5}  CV RMSE(log) {:.5}",
        fit.objective, fit.quality.r2, fit.quality.rmse, fit.quality.rmse_log, fit.quality.cv_rmse_log
    );
    let conv = boot.converged.iter().filter(|c| **c).count();
    println!(
        "best start: {} iterations, {} evaluations, {}; starts converged {}/{}; bootstrap converged {conv}/{b}",
        fit.best.iterations, fit.best.evaluations, fit.best.status, fit.starts_converged, fit.starts
    );
    println!("all starts: {} iterations, {} evaluations", fit.total_iterations, fit.total_evaluations);
    for w in &fit.warnings {
        println!("warning: {w}");
    }
    println!("fit {:.1} ms, bootstrap {:.1} ms, total {:.1} ms", fit.fit_ms, boot.ms, fit.fit_ms + boot.ms);
    Ok(())
}
