//! Nonparametric bootstrap of a fit: resample rows with replacement, refit, and summarise the
//! coefficient samples (percentile 95 % intervals, standard errors).
//!
//! Resample `b` draws its rows with an RNG seeded from `(seed, b)` alone and is refitted
//! deterministically, so the samples are the same for a seed whatever the number of threads.
//! Resampling is done as multiplicity weights (a row drawn k times gets weight k·w), which is
//! the same objective as repeating rows.
//!
//! The samples CSV (read by the region and robust-solve features) has a header
//! `resample,<coefficient names…>,objective,converged` and one row per resample: the
//! resample index, each coefficient's value in natural units (as in the law file), the Huber
//! objective of that refit and whether its best start converged. See `docs/fitting.md`.

use super::fit::{to_values, Fit, FitModel, Fitter};
use crate::error::{Error, Result};
use crate::util::rng::mix_seed;
use crate::util::stats::quantile;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

/// Bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapOptions {
    /// Resamples (B).
    pub resamples: usize,
    /// Seed.
    pub seed: u64,
    /// Extra starts per refit besides the full fit's optimum: the next-best distinct optima
    /// of the full fit (default 3).
    pub restarts: usize,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions { resamples: 1000, seed: 0, restarts: 3 }
    }
}

/// Bootstrap result.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// Coefficient names.
    pub names: Vec<String>,
    /// One coefficient vector per resample (natural units).
    pub samples: Vec<Vec<f64>>,
    /// Objective of each refit.
    pub objective: Vec<f64>,
    /// Whether each refit's best start converged.
    pub converged: Vec<bool>,
    /// Resamples left out because a coefficient ran off to ±∞ or NaN in natural units (a
    /// direction the data do not pin down, e.g. κ·d^−α with both growing); many of them mean
    /// the law has more freedom than the data can fix.
    pub non_finite: usize,
    /// Percentile 95 % interval per coefficient.
    pub ci95: Vec<(f64, f64)>,
    /// Standard deviation of the samples per coefficient.
    pub stderr: Vec<f64>,
    /// Seed used.
    pub seed: u64,
    /// Wall time (ms).
    pub ms: f64,
}

impl Bootstrap {
    /// The result of coefficient draws (coefficients in natural units, objective, converged),
    /// from resampling or from a posterior: whole draws with a non-finite coefficient are left
    /// out and counted (a sample with an infinite coefficient cannot be evaluated or written;
    /// dropping single values would bias the other coefficients' intervals).
    pub fn from_draws(names: Vec<String>, draws: Vec<(Vec<f64>, f64, bool)>, seed: u64, started: Instant) -> Bootstrap {
        let total = draws.len();
        let kept: Vec<(Vec<f64>, f64, bool)> =
            draws.into_iter().filter(|r| r.0.iter().all(|v| v.is_finite())).collect();
        let samples: Vec<Vec<f64>> = kept.iter().map(|r| r.0.clone()).collect();
        let (ci95, stderr) = summarise(&samples, names.len());
        Bootstrap {
            names,
            objective: kept.iter().map(|r| r.1).collect(),
            converged: kept.iter().map(|r| r.2).collect(),
            non_finite: total - samples.len(),
            samples,
            ci95,
            stderr,
            seed,
            ms: started.elapsed().as_secs_f64() * 1e3,
        }
    }
}

/// Row multiplicities of resample `index` (n draws with replacement from n rows).
pub fn resample_counts(seed: u64, index: u64, n: usize) -> Vec<u32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(seed, index));
    let mut c = vec![0u32; n];
    for _ in 0..n {
        c[rng.random_range(0..n)] += 1;
    }
    c
}

/// Run the bootstrap of `fit`; `progress` is called once per finished resample.
pub fn bootstrap<M: FitModel>(
    fitter: &Fitter<'_, M>,
    fit: &Fit,
    opts: &BootstrapOptions,
    progress: Option<&(dyn Fn() + Sync)>,
) -> Bootstrap {
    let t0 = Instant::now();
    let n = fitter.data.len();
    let starts: Vec<Vec<f64>> = fit.optima.iter().take(1 + opts.restarts).cloned().collect();
    let kinds = fitter.model.kinds();
    let refits: Vec<(Vec<f64>, f64, bool)> = (0..opts.resamples)
        .into_par_iter()
        .map(|b| {
            let counts = resample_counts(opts.seed, b as u64, n);
            let w: Vec<f64> = counts.iter().zip(&fitter.data.w).map(|(&c, &w)| c as f64 * w).collect();
            let r = fitter.best_of(&starts, &w);
            if let Some(p) = progress {
                p();
            }
            (to_values(kinds, &r.theta), r.objective, r.converged)
        })
        .collect();
    Bootstrap::from_draws(fit.names.clone(), refits, opts.seed, t0)
}

/// Percentile 95 % intervals and standard deviations of samples (one vector per resample).
pub fn summarise(samples: &[Vec<f64>], d: usize) -> (Vec<(f64, f64)>, Vec<f64>) {
    let mut ci = Vec::with_capacity(d);
    let mut se = Vec::with_capacity(d);
    for k in 0..d {
        let mut col: Vec<f64> = samples.iter().map(|s| s[k]).filter(|v| v.is_finite()).collect();
        col.sort_by(f64::total_cmp);
        ci.push((quantile(&col, 0.025), quantile(&col, 0.975)));
        let m = col.iter().sum::<f64>() / col.len() as f64;
        let var = col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (col.len().max(2) - 1) as f64;
        se.push(var.sqrt());
    }
    (ci, se)
}

/// The samples CSV text (format in the module docs).
pub fn samples_csv(b: &Bootstrap) -> Result<String> {
    fn err(e: impl std::fmt::Display) -> Error {
        Error::Unsupported(format!("writing bootstrap samples: {e}"))
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["resample".to_string()];
    head.extend(b.names.iter().cloned());
    head.push("objective".into());
    head.push("converged".into());
    w.write_record(&head).map_err(err)?;
    for (i, s) in b.samples.iter().enumerate() {
        let mut rec = vec![i.to_string()];
        rec.extend(s.iter().map(|v| format!("{v:e}")));
        rec.push(format!("{:e}", b.objective[i]));
        rec.push(b.converged[i].to_string());
        w.write_record(&rec).map_err(err)?;
    }
    String::from_utf8(w.into_inner().map_err(err)?).map_err(err)
}

/// Write the samples CSV (format in the module docs).
pub fn write_samples(path: &Path, b: &Bootstrap) -> Result<()> {
    crate::util::fs::write_atomic(path, samples_csv(b)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_depend_on_seed_and_index_only() {
        let a = resample_counts(7, 3, 50);
        assert_eq!(a, resample_counts(7, 3, 50));
        assert_ne!(a, resample_counts(7, 4, 50));
        assert_eq!(a.iter().sum::<u32>(), 50);
    }

    #[test]
    fn samples_roundtrip() {
        use crate::law::read_samples;
        let b = Bootstrap {
            names: vec!["A".into(), "alpha".into()],
            samples: vec![vec![400.5, 0.34], vec![410.0, 0.35]],
            objective: vec![1e-3, 2e-3],
            converged: vec![true, false],
            non_finite: 0,
            ci95: vec![],
            stderr: vec![],
            seed: 0,
            ms: 0.0,
        };
        let f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        write_samples(f.path(), &b).unwrap();
        let (names, s) = read_samples(f.path()).unwrap();
        assert_eq!(names, b.names);
        assert_eq!(s, b.samples);
    }
}
