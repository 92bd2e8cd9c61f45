//! `colaw fit --law LAW DATA.csv`: fit a law's coefficients to observations, optionally
//! bootstrap them, write the fitted law file and the samples CSV, print JSON.

use super::output::print_json;
use crate::law::bootstrap::{bootstrap, write_samples, Bootstrap, BootstrapOptions};
use crate::law::fit::{to_theta, FitModel, FitOptions, LseModel, Starts};
use crate::law::noise::{fit_seed_weighted_with_progress, lack_of_fit_at, LackOfFit};
use crate::law::posterior::{posterior, MapPoint, PosteriorMethod, PosteriorOptions};
use crate::law::{load_law, read_observations, ColumnMap, LossLaw, PowerLaw};
use crate::util::provenance::Provenance;
use crate::util::{print_warnings, Warning};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Observations CSV: a loss column and a column per law variable (by name or alias such
    /// as N, D), or architecture columns (layers, hidden, heads, ffn, vocab, …).
    pub data: PathBuf,
    /// Law file or name under models/laws/ whose form is fitted (its values are one start;
    /// format and `fixed`: docs/fitting.md, "Law files").
    #[arg(long)]
    pub law: String,
    /// Column mapping VAR=COLUMN,… (VAR: a law variable, `loss` or `weight`).
    #[arg(long)]
    pub map: Option<String>,
    /// Bootstrap resamples (0: none).
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Draw the coefficient samples from the weak-prior posterior instead of the bootstrap:
    /// laplace or rto (prior centred on the --law file's values; docs/fitting.md).
    #[arg(long)]
    pub posterior: Option<String>,
    /// Posterior samples (with --posterior).
    #[arg(long)]
    pub posterior_samples: Option<usize>,
    /// Prior standard deviation, relative (with --posterior; default 0.3).
    #[arg(long)]
    pub prior_rel_sd: Option<f64>,
    /// Seed for the bootstrap, Latin-hypercube starts and CV folds.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Huber δ on log-loss residuals.
    #[arg(long, default_value_t = 1e-3)]
    pub huber_delta: f64,
    /// Drop the K highest-loss rows before fitting.
    #[arg(long, default_value_t = 0)]
    pub drop_highest: usize,
    /// Starting points: auto, grid, or lhs:N.
    #[arg(long, default_value = "auto")]
    pub starts: String,
    /// Cross-validation folds (0: off).
    #[arg(long, default_value_t = 5)]
    pub cv_folds: usize,
    /// Write the fitted law file here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the coefficient samples CSV here (needs --bootstrap or --posterior; same schema).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Keep coefficient NAME at VALUE instead of fitting it (repeatable): with few rows, fix
    /// what other work already knows (e.g. --fix alpha_m=0.05). The --out file records it in
    /// `fixed`, so later fits (and the loop) keep it too.
    #[arg(long = "fix", value_name = "NAME=VALUE")]
    pub fix: Vec<String>,
}

/// Apply `--fix NAME=VALUE` flags to a law.
fn apply_fixes(law: PowerLaw, fixes: &[String]) -> anyhow::Result<PowerLaw> {
    let mut law = law;
    for f in fixes {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--fix {f}: expected NAME=VALUE, e.g. --fix alpha_m=0.05"))?;
        let value: f64 = value.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--fix {f}: `{}` is not a number; expected NAME=VALUE, e.g. --fix alpha_m=0.05",
                value.trim()
            )
        })?;
        law = law.with_fixed(name.trim(), value)?;
    }
    Ok(law)
}

#[derive(Debug, Serialize)]
struct Report {
    law: String,
    data: String,
    data_sha256: String,
    method: String,
    coefficients: BTreeMap<String, f64>,
    ci95: BTreeMap<String, [f64; 2]>,
    stderr: BTreeMap<String, f64>,
    objective: f64,
    r2: f64,
    rmse: f64,
    rmse_log: f64,
    cv_rmse_log: Option<f64>,
    cv_rmse: Option<f64>,
    cv_folds: usize,
    n: usize,
    dropped: usize,
    huber_delta: f64,
    starts: usize,
    starts_at_best: usize,
    starts_converged: usize,
    iterations: u64,
    converged: bool,
    status: String,
    bootstrap: usize,
    bootstrap_converged: usize,
    /// Resamples left out: a coefficient ran off to ±∞.
    bootstrap_non_finite: usize,
    seed: u64,
    separable: bool,
    fit_ms: f64,
    bootstrap_ms: f64,
    /// How the samples were drawn: none, bootstrap, laplace or rto.
    uncertainty: String,
    /// Posterior only: σ̂ of log loss at the MAP, coefficients the data fix, σ's degrees of
    /// freedom.
    #[serde(skip_serializing_if = "Option::is_none")]
    sigma_log: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p_eff: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_dof: Option<f64>,
    /// Coefficients kept at their value (`--fix`, the law file's `fixed`).
    fixed: BTreeMap<String, f64>,
    /// Coefficients the data determined.
    free_coefficients: usize,
    /// Rows had `loss_sd`: the floor added to their seed variance (log loss²; `law::noise`).
    #[serde(skip_serializing_if = "Option::is_none")]
    seed_noise_floor_log: Option<f64>,
    /// Rows with several seeds: the lack-of-fit F test against their pure error
    /// (`law::noise::lack_of_fit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    lack_of_fit: Option<LackOfFit>,
    warnings: Vec<Warning>,
    out: Option<String>,
    samples: Option<String>,
}

/// The sampling flags, checked before any file is read: the posterior method (None: the
/// bootstrap or none) and its options.
pub fn sampling(a: &FitArgs) -> anyhow::Result<(Option<PosteriorMethod>, PosteriorOptions)> {
    use crate::limits::{flag_count, MAX_ITERATIONS, MAX_SAMPLES};
    flag_count("--bootstrap", a.bootstrap, 0, MAX_SAMPLES)?;
    flag_count("--cv-folds", a.cv_folds, 0, MAX_ITERATIONS)?;
    flag_count("--drop-highest", a.drop_highest, 0, MAX_ITERATIONS)?;
    let method: Option<PosteriorMethod> = match &a.posterior {
        None => None,
        Some(m) => Some(m.parse().map_err(|e: String| anyhow::anyhow!("--posterior {e}"))?),
    };
    if method.is_some() && a.bootstrap > 0 {
        anyhow::bail!("--posterior and --bootstrap both draw the samples: give one of them");
    }
    if method.is_none() {
        for (flag, set) in
            [("--posterior-samples", a.posterior_samples.is_some()), ("--prior-rel-sd", a.prior_rel_sd.is_some())]
        {
            if set {
                anyhow::bail!("{flag} needs --posterior laplace|rto");
            }
        }
    }
    if a.samples.is_some() && a.bootstrap == 0 && method.is_none() {
        anyhow::bail!("--samples needs --bootstrap B with B ≥ 1, or --posterior laplace|rto");
    }
    let mut po = PosteriorOptions { seed: a.seed, ..PosteriorOptions::default() };
    if let Some(m) = method {
        po.method = m;
    }
    if let Some(n) = a.posterior_samples {
        flag_count("--posterior-samples", n, 2, MAX_SAMPLES)?;
        po.samples = n;
    }
    if let Some(v) = a.prior_rel_sd {
        if !(v.is_finite() && v > 0.0) {
            anyhow::bail!("--prior-rel-sd = {v}: must be a positive number");
        }
        po.rel_sd = v;
    }
    Ok((method, po))
}

pub fn run(a: FitArgs) -> anyhow::Result<()> {
    let (method, po) = sampling(&a)?;
    let law = apply_fixes(load_law(&a.law)?, &a.fix)?;
    let model = LseModel::new(&law).with_context(|| format!("law `{}` cannot be fitted", law.name))?;
    let map = match &a.map {
        Some(m) => ColumnMap::parse(m)?,
        None => ColumnMap::default(),
    };
    let obs = read_observations(&a.data, model.feature_vars(), &map, law.default_tokens())?;
    let opts = FitOptions {
        huber_delta: a.huber_delta,
        drop_highest: a.drop_highest,
        starts: a.starts.parse::<Starts>()?,
        cv_folds: a.cv_folds,
        seed: a.seed,
        ..FitOptions::default()
    };
    // Rows with `loss_sd` (repeated seeds) are weighted by their noise (`law::noise`).
    let refit_starts = opts.starts.clone();
    let bar = super::progress::bar(0, "fit", "starts");
    let fitted = fit_seed_weighted_with_progress(
        &model,
        &obs,
        opts,
        &to_theta(model.kinds(), &law.values),
        refit_starts,
        &|n| bar.set_length(n as u64),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let (fitter, fit, seed_floor) = fitted?;
    // Rows with several seeds: does the law's form describe them as well as the seeds agree?
    let lack = lack_of_fit_at(&fitter, &fit.theta, &obs);
    let mut warnings = fit.warnings.clone();
    warnings.extend(lack.and_then(|l| l.warning()));
    let mut map: Option<MapPoint> = None;
    let posterior_boot: Option<Bootstrap> = match method {
        Some(_) => {
            // The prior is centred on the --law file's values (the fit only supplies starts).
            let (b, m) = posterior(&fitter, &fit, &law.values, &po)?;
            map = Some(m);
            Some(b)
        }
        None => None,
    };
    let boot: Option<Bootstrap> = posterior_boot.or_else(|| {
        (a.bootstrap > 0).then(|| {
            let bar = super::progress::bar(a.bootstrap as u64, "bootstrap", "resamples");
            let tick = || bar.inc(1);
            let bo = BootstrapOptions { resamples: a.bootstrap, seed: a.seed, ..Default::default() };
            let r = bootstrap(&fitter, &fit, &bo, Some(&tick));
            bar.finish_and_clear();
            r
        })
    });
    let uncertainty = match (method, &boot) {
        (Some(PosteriorMethod::Laplace), _) => "laplace",
        (Some(PosteriorMethod::Randomized), _) => "rto",
        (None, Some(_)) => "bootstrap",
        (None, None) => "none",
    };

    let method = format!(
        "Huber(δ={}) on log-loss residuals, log-sum-exp form, argmin L-BFGS (More–Thuente) from {} starts",
        a.huber_delta, fit.starts
    );
    let mut fitted = law.with_values(&fit.values);
    let mut table = Provenance::new(method.clone(), a.data.display().to_string(), obs.sha256.clone())
        .count("n", fit.n)
        .count("dropped_highest", fit.dropped)
        .with("huber_delta", a.huber_delta)
        .with("objective", fit.objective)
        .with("r2", fit.quality.r2)
        .with("rmse", fit.quality.rmse)
        .with("rmse_log", fit.quality.rmse_log)
        .count("starts", fit.starts)
        .count("starts_at_best", fit.starts_at_best)
        .with("seed", a.seed as i64);
    if let Some(floor) = seed_floor {
        table = table
            .with("seed_weights", "1/(v_i + floor), v_i = (loss_sd/(loss·√seeds))², mean 1")
            .with("seed_noise_floor_log", floor);
    }
    if let Some(l) = &lack {
        table = table.with("lack_of_fit", l.summary()).with("lack_of_fit_p", l.p_value);
    }
    if let Some(m) = &map {
        table = table
            .with("posterior", uncertainty)
            .count("posterior_samples", boot.as_ref().map_or(0, |b| b.samples.len()))
            .with("prior", "the --law file's values")
            .with("prior_rel_sd", po.rel_sd)
            .with("noise_prior_sd", po.noise_sd)
            .with("noise_prior_dof", po.noise_dof)
            .with("sigma_log", m.sigma)
            .with("p_eff", m.p_eff)
            .with("noise_dof", m.dof);
    }
    if let Some(b) = &boot {
        if map.is_none() {
            table = table.count("bootstrap", b.samples.len());
        }
        let mut ci = toml::Table::new();
        let mut se = toml::Table::new();
        for (k, n) in b.names.iter().enumerate() {
            ci.insert(n.clone(), toml::Value::Array(vec![b.ci95[k].0.into(), b.ci95[k].1.into()]));
            se.insert(n.clone(), b.stderr[k].into());
        }
        table = table
            .with("ci95", ci)
            .with("stderr", se)
            .maybe("samples", a.samples.as_ref().map(|s| s.display().to_string()));
    }
    fitted.file.fit = Some(table.into_table());
    fitted.file.source = Some(format!("fitted by `colaw fit` to {}", a.data.display()));
    // What the law has seen: solve, region, pareto and eval warn outside it.
    fitted.file.range = crate::law::observed_range(&obs.inputs);
    fitted.file.range_source = Some(format!("the {} rows of {}", obs.len(), a.data.display()));
    if let Some(out) = &a.out {
        crate::util::fs::write_atomic(out, fitted.to_toml_string().as_bytes())?;
    }
    if let (Some(path), Some(b)) = (&a.samples, &boot) {
        write_samples(path, b)?;
    }

    let names = &fit.names;
    let by_name = |v: &[f64]| names.iter().cloned().zip(v.iter().copied()).collect::<BTreeMap<_, _>>();
    let finite = |v: f64| v.is_finite().then_some(v);
    let report = Report {
        law: law.name.clone(),
        data: a.data.display().to_string(),
        data_sha256: obs.sha256.clone(),
        method,
        coefficients: by_name(&fit.values),
        ci95: boot
            .as_ref()
            .map(|b| names.iter().cloned().zip(b.ci95.iter().map(|c| [c.0, c.1])).collect())
            .unwrap_or_default(),
        stderr: boot.as_ref().map(|b| by_name(&b.stderr)).unwrap_or_default(),
        objective: fit.objective,
        r2: fit.quality.r2,
        rmse: fit.quality.rmse,
        rmse_log: fit.quality.rmse_log,
        cv_rmse_log: finite(fit.quality.cv_rmse_log),
        cv_rmse: finite(fit.quality.cv_rmse),
        cv_folds: fit.quality.cv_folds,
        n: fit.n,
        dropped: fit.dropped,
        huber_delta: a.huber_delta,
        starts: fit.starts,
        starts_at_best: fit.starts_at_best,
        starts_converged: fit.starts_converged,
        iterations: fit.best.iterations,
        converged: fit.best.converged,
        status: fit.best.status.clone(),
        bootstrap: if map.is_some() { 0 } else { boot.as_ref().map_or(0, |b| b.samples.len()) },
        bootstrap_converged: boot.as_ref().map_or(0, |b| b.converged.iter().filter(|c| **c).count()),
        bootstrap_non_finite: boot.as_ref().map_or(0, |b| b.non_finite),
        seed: a.seed,
        separable: fitted.is_separable(),
        fit_ms: fit.fit_ms,
        bootstrap_ms: boot.as_ref().map_or(0.0, |b| b.ms),
        uncertainty: uncertainty.to_string(),
        sigma_log: map.as_ref().map(|m| m.sigma),
        p_eff: map.as_ref().map(|m| m.p_eff),
        noise_dof: map.as_ref().map(|m| m.dof),
        fixed: law.fixed_names().into_iter().map(|n| (n.clone(), law.file.coefficients[&n])).collect(),
        free_coefficients: law.fixed.iter().filter(|f| !**f).count(),
        seed_noise_floor_log: seed_floor,
        lack_of_fit: lack,
        warnings,
        out: a.out.as_ref().map(|p| p.display().to_string()),
        samples: a.samples.as_ref().map(|p| p.display().to_string()),
    };
    // The report is JSON only; its warnings go to stderr too, where a person sees them.
    print_warnings(&report.warnings);
    print_json(&report)
}
