//! The outer loop of `colaw loop` (`src/outer/`, `OuterLoop::run`) rebuilt from the public
//! library API with a choice of where the coefficient samples come from, so the calibration
//! benchmark (`scripts/calibration-bench.py`) can compare the plain bootstrap with the posterior
//! of `colaw::law::posterior` (built before the loop was wired to it; `colaw loop` now draws the
//! posterior by default and `--method laplace` here is its twin).
//!
//! Same rounds as the loop: fit (LHS starts, then warm starts; seeds mixed from (seed, round)),
//! samples, region, choice = the design optimal in the most samples, stop at
//! `--stop-confidence` or after `--rounds` measuring rounds, pick (`mixed`, 4 a round) and
//! measure with the oracle. With `--method bootstrap` it reproduces `colaw loop`'s choices and
//! confidences exactly (the benchmark checks this). No resume, no oracle retries: for
//! synthetic oracles only. Writes `round-NNN/choice.json` (round, rows, confidence, choice,
//! map diagnostics) and `round-NNN/samples.csv` under `--journal`.
//!
//! ```sh
//! cargo run --release --example calib_loop -- --method laplace --instance I.toml --data D.csv \
//!     --init 12 --oracle synthetic:true.toml:noise=0.01:seed=3 --journal J
//! ```

use clap::Parser;
use colaw::instance::Instance;
use colaw::law::bootstrap::{bootstrap, write_samples, Bootstrap, BootstrapOptions};
use colaw::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use colaw::law::posterior::{posterior, PosteriorMethod, PosteriorOptions};
use colaw::law::{read_observations, ColumnMap};
use colaw::oracle::{parse_oracle, Design};
use colaw::outer::{data_csv, feasible_designs, lhs_pick, pick, Strategy};
use colaw::region::{region, RegionOptions};
use colaw::util::rng::mix_seed;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
struct Args {
    /// bootstrap | laplace | rto.
    #[arg(long, default_value = "bootstrap")]
    method: String,
    #[arg(long)]
    instance: PathBuf,
    /// Written here (the initial rows), as `colaw loop --init` does.
    #[arg(long)]
    data: PathBuf,
    #[arg(long)]
    init: usize,
    #[arg(long)]
    oracle: String,
    #[arg(long)]
    journal: PathBuf,
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    #[arg(long, default_value_t = 4)]
    per_round: usize,
    #[arg(long, default_value_t = 0.9)]
    stop_confidence: f64,
    /// Bootstrap resamples (method bootstrap).
    #[arg(long, default_value_t = 50)]
    bootstrap: usize,
    /// Posterior samples (laplace, rto).
    #[arg(long, default_value_t = 200)]
    samples: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 200)]
    starts: usize,
    #[arg(long, default_value_t = 20)]
    warm_starts: usize,
    /// Prior: relative standard deviation (see `colaw::law::posterior`).
    #[arg(long)]
    rel_sd: Option<f64>,
    /// Prior guess of the log-loss noise standard deviation.
    #[arg(long)]
    noise_sd: Option<f64>,
    /// Rows the noise guess is worth.
    #[arg(long)]
    noise_dof: Option<f64>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let method: Option<PosteriorMethod> = match a.method.as_str() {
        "bootstrap" => None,
        m => Some(m.parse().map_err(|e: String| anyhow::anyhow!("--method {e}"))?),
    };
    let mut po = PosteriorOptions { samples: a.samples, ..Default::default() };
    if let Some(m) = method {
        po.method = m;
    }
    if let Some(v) = a.rel_sd {
        po.rel_sd = v;
    }
    if let Some(v) = a.noise_sd {
        po.noise_sd = v;
    }
    if let Some(v) = a.noise_dof {
        po.noise_dof = v;
    }
    let inst = Instance::load(&a.instance)?;
    let oracle = parse_oracle(&a.oracle, None)?;
    let designs = feasible_designs(&inst)?;
    std::fs::create_dir_all(&a.journal)?;
    let measure = |ds: &[Design]| -> Vec<(Design, f64)> {
        ds.iter().filter_map(|d| oracle.evaluate(d).ok().map(|l| (d.clone(), l))).collect()
    };
    let mut rows = measure(&lhs_pick(&designs, a.init, a.seed));
    std::fs::write(&a.data, data_csv(&rows))?;
    let mut measured: HashSet<String> = rows.iter().map(|(d, _)| d.key.clone()).collect();
    let law: colaw::PowerLaw = inst
        .law
        .as_power_law()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the calibration loop fits power-sum laws only"))?;
    let model = LseModel::new(&law)?;
    let tokens = inst.tokens.or(colaw::LossLaw::default_tokens(&law));
    let data_path = a.journal.join("data.csv");
    let mut warm: Option<Vec<f64>> = None;
    for r in 1usize.. {
        std::fs::write(&data_path, data_csv(&rows))?;
        let obs = read_observations(&data_path, model.feature_vars(), &ColumnMap::default(), tokens)?;
        let fo = FitOptions {
            starts: if warm.is_some() { Starts::Lhs(a.warm_starts.max(1)) } else { Starts::Lhs(a.starts) },
            cv_folds: 0,
            seed: mix_seed(a.seed, r as u64),
            ..FitOptions::default()
        };
        let fitter = Fitter::new(&model, &obs, fo)?;
        let start = to_theta(model.kinds(), warm.as_deref().unwrap_or(&law.values));
        let fit = fitter.fit(Some(&start))?;
        let seed = mix_seed(a.seed, 1_000_000 + r as u64);
        let (b, map): (Bootstrap, Option<_>) = match method {
            None => {
                let bo = BootstrapOptions { resamples: a.bootstrap, seed, ..Default::default() };
                (bootstrap(&fitter, &fit, &bo, None), None)
            }
            Some(_) => {
                let (b, m) = posterior(&fitter, &fit, &law.values, &PosteriorOptions { seed, ..po })?;
                (b, Some(m))
            }
        };
        let dir = a.journal.join(format!("round-{r:03}"));
        std::fs::create_dir_all(&dir)?;
        write_samples(&dir.join("samples.csv"), &b)?;
        let mut i2 = inst.clone();
        i2.law = Arc::new(law.with_values(&fit.values));
        let reg = region(&i2, &b.samples, &[], &RegionOptions::default())?;
        let rd: Vec<Design> = reg.designs.iter().map(|s| Design::new(&i2.space.widths[s.width], s.layers)).collect();
        let choice = reg.most_often_optimal;
        let confidence = choice.map_or(0.0, |c| reg.designs[c].p_optimal);
        let mut stop = if confidence >= a.stop_confidence {
            Some(format!("confidence {confidence:.3} ≥ {}", a.stop_confidence))
        } else if r > a.rounds {
            Some(format!("{} rounds measured", a.rounds))
        } else {
            None
        };
        let asked = if stop.is_none() {
            pick(
                Strategy::Mixed,
                &reg,
                &rd,
                &|d: &Design| measured.contains(&d.key),
                a.per_round,
                mix_seed(a.seed, 2_000_000 + r as u64),
            )
        } else {
            Vec::new()
        };
        if stop.is_none() && asked.is_empty() {
            stop = Some("every feasible design is measured".into());
        }
        let rec = serde_json::json!({
            "round": r,
            "rows": fit.n,
            "method": a.method,
            "confidence": confidence,
            "choice": choice.map(|c| &rd[c]),
            "point_choice": reg.point_optimum.map(|c| &rd[c]),
            "contenders": reg.designs.iter().filter(|d| d.p_optimal > 0.0).count(),
            "samples": b.samples.len(),
            "non_finite": b.non_finite,
            "map": map.as_ref().map(|m| serde_json::json!({
                "sigma_log": m.sigma, "p_eff": m.p_eff, "dof": m.dof, "converged": m.converged })),
            "asked": asked.iter().map(|d| &d.key).collect::<Vec<_>>(),
            "stop": stop,
        });
        std::fs::write(dir.join("choice.json"), serde_json::to_string_pretty(&rec)?)?;
        if stop.is_some() {
            break;
        }
        for d in &asked {
            measured.insert(d.key.clone());
        }
        rows.extend(measure(&asked));
        // The loop warm-starts from the values it journaled (choice.json, parsed back by
        // serde_json, which may move a value by one ulp): the same round trip here.
        warm = Some(serde_json::from_str(&serde_json::to_string_pretty(&fit.values)?)?);
    }
    Ok(())
}
