//! Noise that differs between rows, and rows that do not fit: per-row weights from repeated
//! seeds and a robust outlier check on a fit's residuals (issue 17, part 3).
//!
//! **Weights.** A row measured with several seeds reports `loss_sd` (the standard deviation
//! over its seeds) and `seeds`; its loss then has standard error `loss_sd/√seeds`, and its
//! log loss the variance v_i = (loss_sd / (loss·√seeds))² (delta method). The row's weight is
//!
//! ```text
//! w_i ∝ 1 / (v_i + floor),   floor = s²,
//! ```
//!
//! with s the robust residual scale ([`robust_scale`]) of the fit *without* these weights:
//! the pooled noise every row has whatever its seeds say (the law's misfit and noise two or
//! three seeds cannot see). The floor keeps a row whose seeds happened to agree (v ≈ 0) from
//! taking all the weight, and bounds how far a noisy row is discounted: rows whose seed noise
//! is small against the pooled residual noise weigh about the same. A row without `loss_sd`
//! gets the median v of the rows that have one (its noise is assumed typical). The weights
//! are scaled to mean 1 over the rows (times any `weight` column), so the Huber threshold and
//! the posterior's σ (the noise of a typical row) keep their meaning.
//!
//! **Outliers.** A row's standardized residual is z_i = (e_i − median(e)) / s with
//! e_i = √w_i·(log L_i − log L̂_i) and s = 1.4826·MAD(e)·√(n/(n − k)) (the MAD's consistency
//! factor for a normal, and the usual inflation for the k coefficients the fit spent), at
//! least [`MIN_SCALE_LOG`]. It is flagged when |z| > [`OUTLIER_Z`] = 3.5, the cut-off of
//! Iglewicz & Hoaglin's modified z-score (*How to Detect and Handle Outliers*, 1993), which a
//! normal sample passes with probability ≈ 0.9995 per row. The check needs n ≥ 2k rows: with
//! fewer, a fit with k coefficients bends to any single row and the residuals show the
//! design's geometry rather than the noise.
//!
//! **Lack of fit.** Rows trained with several seeds carry *pure error*: how much one design's
//! loss moves between seeds, whatever the law. The classical lack-of-fit test of regression
//! with replicates compares the fit's residuals with it. With n_i seeds behind row i,
//! e_i its log-loss residual and s_i = loss_sd_i / loss_i one seed's log-loss spread,
//!
//! ```text
//! s_pe² = Σ (n_i − 1) s_i² / Σ (n_i − 1)          (pooled over rows with n_i ≥ 2)
//! F     = [Σ n_i e_i² / (m − k)] / s_pe²,   F ~ F(m − k, Σ (n_i − 1)) when the form is right
//! ```
//!
//! over the m rows in the fit (a row's mean of n_i seeds has variance s²/n_i, so n_i e_i²
//! estimates one seed's variance when the law describes the row). A small p-value
//! ([`LACK_OF_FIT_P`]) says the law's *form* misses what these designs do: more rows or
//! seeds will not make the law fit; the loop's confidence is then bounded by the form, not by
//! the data (its σ̂ absorbs the misfit). The residuals come from a least-squares refit from
//! the fit's optimum ([`lack_of_fit_at`]), so the test is approximate where exponents sit at
//! their bounds.

use super::data::Observations;
use super::fit::{Fit, FitModel, FitOptions, Fitter, Starts};
use crate::error::Result;
use crate::util::stats::f_survival;
use crate::util::warning::Warning;
use serde::{Deserialize, Serialize};

/// 1/Φ⁻¹(3/4): MAD × this estimates a normal sample's standard deviation.
pub const MAD_TO_SD: f64 = 1.482_602_218_505_602;
/// |z| above which a row is flagged (Iglewicz & Hoaglin's modified z-score cut-off).
pub const OUTLIER_Z: f64 = 3.5;
/// Smallest residual scale in log loss (0.01 % of the loss): below it residuals are the
/// optimiser's tolerance, not noise, and a z-score would flag round-off.
pub const MIN_SCALE_LOG: f64 = 1e-4;

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => s[n / 2],
        _ => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// Robust scale of residuals from a fit with `n_coef` coefficients:
/// 1.4826 · MAD · √(n/(n − k)); None when n ≤ k.
pub fn robust_scale(residuals: &[f64], n_coef: usize) -> Option<f64> {
    let n = residuals.len();
    if n <= n_coef {
        return None;
    }
    let med = median(residuals);
    let dev: Vec<f64> = residuals.iter().map(|x| (x - med).abs()).collect();
    Some(MAD_TO_SD * median(&dev) * (n as f64 / (n - n_coef) as f64).sqrt())
}

/// Per-row weights from seed noise: `base_i / (v_i + floor_var_log)` with v_i the variance of
/// row i's log loss from `loss_se` (module docs; unknown: the median of the known ones),
/// scaled so that the weights of the rows with `base > 0` sum to the sum of their `base`.
/// `floor_var_log` (log loss²) must be positive. Rows with `base = 0` keep 0.
pub fn seed_weights(loss: &[f64], loss_se: &[Option<f64>], base: &[f64], floor_var_log: f64) -> Vec<f64> {
    let var: Vec<Option<f64>> = loss.iter().zip(loss_se).map(|(l, se)| se.map(|s| (s / l).powi(2))).collect();
    let known: Vec<f64> = var.iter().zip(base).filter(|(_, b)| **b > 0.0).filter_map(|(v, _)| *v).collect();
    let typical = if known.is_empty() { 0.0 } else { median(&known) };
    let floor = if floor_var_log > 0.0 { floor_var_log } else { MIN_SCALE_LOG * MIN_SCALE_LOG };
    let raw: Vec<f64> =
        var.iter().zip(base).map(|(v, b)| if *b > 0.0 { b / (v.unwrap_or(typical) + floor) } else { 0.0 }).collect();
    let (sum_raw, sum_base): (f64, f64) = (raw.iter().sum(), base.iter().filter(|b| **b > 0.0).sum());
    if sum_raw > 0.0 && sum_raw.is_finite() {
        raw.iter().map(|w| w * sum_base / sum_raw).collect()
    } else {
        base.to_vec()
    }
}

/// The outlier check of a fit: per row its standardized residual and the rows flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlierCheck {
    /// Robust scale s of the weighted residuals (log loss).
    pub scale_log: f64,
    /// Their median.
    pub center: f64,
    /// z of each row (NaN for rows of weight 0, which are not checked).
    pub z: Vec<f64>,
    /// Rows with |z| > [`OUTLIER_Z`], in row order.
    pub flagged: Vec<usize>,
}

/// Check a fit's log-loss residuals (`log L_i − log L̂_i`) with its row weights for rows far
/// outside the others' spread (module docs). None when fewer than 2·`n_coef` rows have a
/// positive weight.
pub fn flag_outliers(residuals_log: &[f64], weights: &[f64], n_coef: usize) -> Option<OutlierCheck> {
    let used: Vec<usize> = (0..residuals_log.len()).filter(|&i| weights[i] > 0.0).collect();
    if used.len() < 2 * n_coef.max(1) {
        return None;
    }
    let mean_w = used.iter().map(|&i| weights[i]).sum::<f64>() / used.len() as f64;
    let e: Vec<f64> = used.iter().map(|&i| residuals_log[i] * (weights[i] / mean_w).sqrt()).collect();
    let scale_log = robust_scale(&e, n_coef)?.max(MIN_SCALE_LOG);
    let center = median(&e);
    let mut z = vec![f64::NAN; residuals_log.len()];
    for (k, &i) in used.iter().enumerate() {
        z[i] = (e[k] - center) / scale_log;
    }
    let flagged = used.iter().copied().filter(|&i| z[i].abs() > OUTLIER_Z).collect();
    Some(OutlierCheck { scale_log, center, z, flagged })
}

/// log L_i − log L̂_i(θ) of every row of a fitter's data (rows after its drop rule).
pub fn log_residuals<M: FitModel>(fitter: &Fitter<'_, M>, theta: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; theta.len()];
    (0..fitter.data.len())
        .map(|i| fitter.data.y[i] - fitter.model.log_pred(theta, fitter.data.row(i), &mut g))
        .collect()
}

/// Fit `obs` from `start` (θ units); when a row has a `loss_se` (a `loss_sd` column), fit
/// twice: with the rows' own weights, to measure the pooled residual noise s² (the floor,
/// [`robust_scale`] of the residuals, at least [`MIN_SCALE_LOG`]²), then with
/// [`seed_weights`] from that fit's optimum, its own starts replaced by `refit_starts`.
/// Returns the fitter (its data carry the weights, so a posterior or bootstrap of it uses
/// them), the fit and the floor (None: no row has a `loss_sd`, one fit as before).
pub fn fit_seed_weighted<'a, M: FitModel>(
    model: &'a M,
    obs: &Observations,
    opts: FitOptions,
    start: &[f64],
    refit_starts: Starts,
) -> Result<(Fitter<'a, M>, Fit, Option<f64>)> {
    fit_seed_weighted_with_progress(model, obs, opts, start, refit_starts, &|_| {}, &|| {})
}

/// [`fit_seed_weighted`] for a progress display: `starts_total(n)` is called before each
/// fit with its number of local fits (the first fit's, then, with `loss_sd` rows, the
/// refit's added), and `start_done()` after each local fit (from several threads).
pub fn fit_seed_weighted_with_progress<'a, M: FitModel>(
    model: &'a M,
    obs: &Observations,
    opts: FitOptions,
    start: &[f64],
    refit_starts: Starts,
    starts_total: &dyn Fn(usize),
    start_done: &(dyn Fn() + Sync),
) -> Result<(Fitter<'a, M>, Fit, Option<f64>)> {
    let fitter = Fitter::new(model, obs, opts.clone())?;
    let first = std::cell::Cell::new(0);
    let fit = fitter.fit_with_progress(
        Some(start),
        &|n| {
            first.set(n);
            starts_total(n)
        },
        start_done,
    )?;
    if !obs.loss_se.iter().zip(&obs.weights).any(|(se, w)| se.is_some() && *w > 0.0) {
        return Ok((fitter, fit, None));
    }
    let res = log_residuals(&fitter, &fit.theta);
    let used: Vec<f64> = res.iter().zip(&fitter.data.w).filter(|(_, w)| **w > 0.0).map(|(r, _)| *r).collect();
    let floor = robust_scale(&used, model.names().len()).unwrap_or(0.0).max(MIN_SCALE_LOG).powi(2);
    let mut weighted = obs.clone();
    weighted.weights = seed_weights(&obs.loss, &obs.loss_se, &obs.weights, floor);
    let fitter = Fitter::new(model, &weighted, FitOptions { starts: refit_starts, ..opts })?;
    let fit = fitter.fit_with_progress(Some(&fit.theta), &|n| starts_total(first.get() + n), start_done)?;
    Ok((fitter, fit, Some(floor)))
}

/// p-value under which [`lack_of_fit`] reports that the law's form misfits (1 %).
pub const LACK_OF_FIT_P: f64 = 0.01;

/// The lack-of-fit F test against the seeds' pure error (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LackOfFit {
    /// F = [Σ n_i e_i² / (m − k)] / s_pe².
    pub f: f64,
    /// m − k: rows in the fit less the coefficients fitted.
    pub df_fit: f64,
    /// Σ (n_i − 1) over the replicated rows.
    pub df_pure: f64,
    /// P(F(df_fit, df_pure) > f).
    pub p_value: f64,
    /// √(Σ n_i e_i² / (m − k)): one seed's log-loss spread as the residuals show it.
    pub residual_sd_log: f64,
    /// s_pe: one seed's log-loss spread as the seeds show it.
    pub seed_sd_log: f64,
}

impl LackOfFit {
    /// True when the form misfits at [`LACK_OF_FIT_P`].
    pub fn misfits(&self) -> bool {
        self.p_value < LACK_OF_FIT_P
    }

    /// The `law_misfit` warning when the form misfits at [`LACK_OF_FIT_P`].
    pub fn warning(&self) -> Option<Warning> {
        self.misfits().then(|| {
            Warning::new(
                "law_misfit",
                format!(
                    "the law's form does not describe these rows as well as their seeds agree: {}; more rows or \
                     seeds will not fix that, and intervals from this fit understate how far the truth can be \
                     (try a law with another form, or leave out the kind of design that misfits)",
                    self.summary()
                ),
            )
        })
    }

    /// One line for a report: the ratio of the two spreads, F and its p-value.
    pub fn summary(&self) -> String {
        format!(
            "residuals {:.1}× the seed noise (log-loss sd {:.2e} vs {:.2e}; lack-of-fit F({:.0}, {:.0}) = {:.3}, p = {:.1e})",
            self.residual_sd_log / self.seed_sd_log,
            self.residual_sd_log,
            self.seed_sd_log,
            self.df_fit,
            self.df_pure,
            self.f,
            self.p_value
        )
    }
}

/// Huber δ that makes a fit plain least squares on log loss (residuals are ≪ 1).
const LEAST_SQUARES_DELTA: f64 = 1e3;

/// [`lack_of_fit`] of `obs` near the optimum `theta` of `fitter` (built from `obs`, perhaps
/// reweighted; None when it dropped rows, so residuals and rows no longer pair up), counting
/// the model's free coefficients. The F test assumes least-squares residuals, so the law is
/// refitted from `theta` by least squares with each row weighted by its seeds (the fit of
/// every seed's loss to the law): the Huber fits colaw runs elsewhere (δ = 10⁻³ in log loss,
/// about L1 at these noise levels) leave larger squared residuals, and the test fired on
/// 10 % of the rounds of loops whose law had the right form (`docs/calibration.md`).
pub fn lack_of_fit_at<M: FitModel>(fitter: &Fitter<'_, M>, theta: &[f64], obs: &Observations) -> Option<LackOfFit> {
    // No pure error without a replicated row: skip the refit (the test would return None).
    let replicated = (0..obs.len()).any(|i| obs.seeds[i] >= 2 && obs.loss_se[i].is_some() && obs.weights[i] > 0.0);
    if !replicated || fitter.data.len() != obs.len() {
        return None;
    }
    let mut per_seed = obs.clone();
    for (w, n) in per_seed.weights.iter_mut().zip(&obs.seeds) {
        *w *= f64::from((*n).max(1));
    }
    let opts = FitOptions {
        huber_delta: LEAST_SQUARES_DELTA,
        starts: Starts::Points(vec![theta.to_vec()]),
        cv_folds: 0,
        ..fitter.opts.clone()
    };
    let ls = Fitter::new(fitter.model, &per_seed, opts).ok()?;
    let theta_ls = ls.fit(Some(theta)).ok().map_or_else(|| theta.to_vec(), |f| f.theta);
    let res = log_residuals(&ls, &theta_ls);
    let n_free = fitter.model.fixed().iter().filter(|f| !**f).count();
    lack_of_fit(&res, &obs.loss, &obs.loss_se, &obs.seeds, &obs.weights, n_free)
}

/// The lack-of-fit test of a fit with `n_coef` coefficients from its log-loss `residuals`
/// and the rows' `loss`, `loss_se` (`loss_sd/√seeds`), `seeds` and `weights` (rows of weight
/// 0 are left out). None without replicated rows (no pure error), with no residual degree of
/// freedom, or when the seeds agree exactly.
pub fn lack_of_fit(
    residuals: &[f64],
    loss: &[f64],
    loss_se: &[Option<f64>],
    seeds: &[u32],
    weights: &[f64],
    n_coef: usize,
) -> Option<LackOfFit> {
    let (mut ss_fit, mut m, mut ss_pure, mut df_pure) = (0.0, 0usize, 0.0, 0.0);
    for i in 0..residuals.len() {
        if weights[i] <= 0.0 || !residuals[i].is_finite() {
            continue;
        }
        let n = f64::from(seeds[i].max(1));
        m += 1;
        ss_fit += n * residuals[i] * residuals[i];
        if let Some(se) = loss_se[i].filter(|_| seeds[i] >= 2) {
            let s = se * n.sqrt() / loss[i];
            ss_pure += (n - 1.0) * s * s;
            df_pure += n - 1.0;
        }
    }
    if df_pure < 1.0 || m <= n_coef || ss_pure <= 0.0 {
        return None;
    }
    let df_fit = (m - n_coef) as f64;
    let (var_fit, var_pure) = (ss_fit / df_fit, ss_pure / df_pure);
    let f = var_fit / var_pure;
    Some(LackOfFit {
        f,
        df_fit,
        df_pure,
        p_value: f_survival(f, df_fit, df_pure),
        residual_sd_log: var_fit.sqrt(),
        seed_sd_log: var_pure.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_scale_by_hand() {
        // Median 0; |deviations| 0.01, 0.02, 0, 0.01, 0.5 → MAD 0.01; n = 5, k = 1: × √(5/4).
        let s = robust_scale(&[-0.01, 0.02, 0.0, 0.01, 0.5], 1).unwrap();
        assert!((s - MAD_TO_SD * 0.01 * (1.25f64).sqrt()).abs() < 1e-15, "{s}");
        assert_eq!(robust_scale(&[0.1, 0.2], 2), None);
    }

    #[test]
    fn seed_weights_by_hand() {
        // Loss 2 everywhere: v = (se/2)². Row 0 se 0 → v 0; row 1 se 0.2 → v 0.01; row 2
        // unknown → median of {0, 0.01} = 0.005. Floor 0.01: raw 1/0.01, 1/0.02, 1/0.015 =
        // 100, 50, 66.67, scaled to sum 3.
        let w = seed_weights(&[2.0; 3], &[Some(0.0), Some(0.2), None], &[1.0; 3], 0.01);
        let raw = [100.0, 50.0, 1.0 / 0.015];
        let sum: f64 = raw.iter().sum();
        for (a, r) in w.iter().zip(raw) {
            assert!((a - 3.0 * r / sum).abs() < 1e-12, "{w:?}");
        }
        // The noisy row weighs half the quiet one: (0 + 0.01)/(0.01 + 0.01).
        assert!((w[1] / w[0] - 0.5).abs() < 1e-12);
        // An excluded row stays excluded; a larger floor evens the weights out.
        let w = seed_weights(&[2.0; 3], &[Some(0.0), Some(0.2), None], &[1.0, 1.0, 0.0], 1.0);
        assert_eq!(w[2], 0.0);
        assert!((w[1] / w[0] - 1.0 / 1.01).abs() < 1e-12);
    }

    #[test]
    fn a_planted_outlier_is_flagged_and_only_it() {
        let mut r: Vec<f64> = (0..20).map(|i| 0.002 * ((i * 7 % 11) as f64 - 5.0) / 5.0).collect();
        r[13] = 0.05;
        let c = flag_outliers(&r, &[1.0; 20], 3).unwrap();
        assert_eq!(c.flagged, vec![13]);
        assert!(c.z[13] > 10.0);
        // Too few rows for the coefficients: no check.
        assert!(flag_outliers(&r[..5], &[1.0; 5], 3).is_none());
        // Weight 0 rows are not checked.
        let mut w = vec![1.0; 20];
        w[13] = 0.0;
        assert!(flag_outliers(&r, &w, 3).unwrap().flagged.is_empty());
    }

    #[test]
    fn lack_of_fit_by_hand() {
        // Four rows, one coefficient. Loss 2 everywhere; rows 0–1 have 3 seeds with
        // loss_sd 0.02 (s = 0.01 in log loss), row 2 has 2 seeds with loss_sd 0.04 (s = 0.02),
        // row 3 one seed (no pure error) and row 4 weight 0 (left out).
        // s_pe² = (2·1e-4 + 2·1e-4 + 1·4e-4)/5 = 1.6e-4.
        // Σ n e² = 3·0.01² + 3·0.01² + 2·0.02² + 1·0.03² = 3e-4 + 3e-4 + 8e-4 + 9e-4 = 2.3e-3, /(4 − 1).
        let se = |sd: f64, n: f64| Some(sd / n.sqrt());
        let lof = lack_of_fit(
            &[0.01, -0.01, 0.02, 0.03, 5.0],
            &[2.0; 5],
            &[se(0.02, 3.0), se(0.02, 3.0), se(0.04, 2.0), None, None],
            &[3, 3, 2, 1, 1],
            &[1.0, 1.0, 1.0, 1.0, 0.0],
            1,
        )
        .unwrap();
        assert_eq!((lof.df_fit, lof.df_pure), (3.0, 5.0));
        let f = (2.3e-3 / 3.0) / 1.6e-4;
        assert!((lof.f - f).abs() < 1e-12, "{lof:?}");
        assert!((lof.seed_sd_log - 1.6e-4f64.sqrt()).abs() < 1e-15);
        assert!((lof.p_value - f_survival(f, 3.0, 5.0)).abs() < 1e-15);
        // F ≈ 4.79 on (3, 5): p ≈ 0.06, not a misfit at 1 %.
        assert!(!lof.misfits() && lof.p_value > 0.05 && lof.p_value < 0.07, "{lof:?}");
        // No replicated row: no test.
        assert!(lack_of_fit(&[0.1, 0.2, 0.3], &[2.0; 3], &[None; 3], &[1; 3], &[1.0; 3], 1).is_none());
        // As many rows as coefficients: no residual freedom.
        assert!(lack_of_fit(&[0.1, 0.2], &[2.0; 2], &[se(0.02, 2.0); 2], &[2; 2], &[1.0; 2], 2).is_none());
    }
}
