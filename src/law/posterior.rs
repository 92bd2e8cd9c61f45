//! Coefficient samples that stay honest when data are scarce: a posterior over a law's
//! coefficients with a weak prior centred on the law file's values and a noise level that is
//! itself uncertain.
//!
//! Why not the plain bootstrap ([`super::bootstrap`]): with n rows close to k coefficients the
//! fit nearly interpolates, every resample (which repeats rows) refits to almost the same
//! point, and the samples claim a certainty the data do not hold (issue 17: P(optimal) = 1.00
//! from 12 rows for the paper's 11 coefficients, wrong one time in eight). Here the data
//! cannot claim more than they hold: where they do not pin a direction down, the prior's
//! spread remains, and the noise is estimated with n − p_eff degrees of freedom (p_eff the
//! effective number of coefficients the data fix), so with n ≈ k its uncertainty is large.
//!
//! Model, in θ space (log of the constant and of each term's multiplier, exponents as they
//! are; the fitter's coordinates, [`super::fit::to_theta`]):
//!
//! - log L_i = f_i(θ) + ε_i / √w_i, ε_i ~ N(0, σ²) (w_i the row's weight);
//! - θ_j ~ N(μ_j, s_j²), μ = the law file's values; s_j = `rel_sd` for log coordinates (the
//!   value known within a factor e^±rel_sd), `rel_sd` · max(|v_j|, `exponent_floor`) for
//!   exponents;
//! - σ² ~ scaled-inverse-χ²(ν₀, s₀²) (`noise_dof`, `noise_sd`: a weak guess of the log-loss
//!   noise worth ν₀ rows).
//!
//! The MAP point is found by Levenberg–Marquardt on the penalised least squares, from the
//! prior mean and the fit's best optima, alternating with σ̂² = (ν₀s₀² + RSS)/(ν₀ + n). Each
//! sample draws σ_b² = ν·S²/χ²_ν with ν = ν₀ + n − p_eff and S² = (ν₀s₀² + RSS)/ν (σ's
//! uncertainty makes the coefficient marginals Student-t like), then either
//!
//! - [`PosteriorMethod::Laplace`]: θ_b ~ N(θ̂, H_b⁻¹), H_b = JᵀWJ/σ_b² + diag(1/s²) (Gauss–Newton
//!   curvature at the MAP), or
//! - [`PosteriorMethod::Randomized`] (randomize-then-optimize): perturb the data by N(0, σ_b²/w)
//!   and the prior mean by N(0, s²), and refit the penalised problem from θ̂. Exact for a model
//!   linear in θ; follows the curvature of the real law otherwise.
//!
//! The result is a [`Bootstrap`] (same fields, same samples CSV via
//! [`super::bootstrap::write_samples`]), so `region`, robust solves and the loop read it
//! unchanged; `objective` holds the sample's penalised objective and `converged` whether its
//! refit (Randomized) or the MAP (Laplace) converged.

use super::bootstrap::Bootstrap;
use super::fit::{to_theta, to_values, CoefKind, Fit, FitModel, Fitter, MAX_PARAMS};
use crate::error::{Error, Origin, Result};
use crate::util::rng::mix_seed;
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;
use std::time::Instant;

/// How samples are drawn from the posterior.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PosteriorMethod {
    /// Gaussian (Laplace) approximation at the MAP, with the noise level drawn per sample.
    Laplace,
    /// Randomize-then-optimize: refit the penalised problem to perturbed data and prior mean.
    Randomized,
}

impl std::str::FromStr for PosteriorMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "laplace" => Ok(PosteriorMethod::Laplace),
            "rto" | "randomized" => Ok(PosteriorMethod::Randomized),
            _ => Err(format!("`{s}`: expected laplace or rto")),
        }
    }
}

/// Settings of [`posterior`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PosteriorOptions {
    /// Sampling method.
    pub method: PosteriorMethod,
    /// Samples to draw.
    pub samples: usize,
    /// Seed; sample b uses an RNG seeded from (seed, b) alone, so samples do not depend on the
    /// number of threads.
    pub seed: u64,
    /// Prior standard deviation, relative: of the log of each multiplier and of the
    /// constant, and of each exponent as a share of max(|value|, `exponent_floor`).
    pub rel_sd: f64,
    /// Smallest exponent magnitude the relative prior is taken of (an exponent of 0 in the
    /// law file still gets a prior spread of rel_sd · floor).
    pub exponent_floor: f64,
    /// Prior guess of the noise standard deviation of log loss.
    pub noise_sd: f64,
    /// Rows that guess is worth (ν₀ > 0; small = weak).
    pub noise_dof: f64,
}

impl Default for PosteriorOptions {
    fn default() -> Self {
        PosteriorOptions {
            method: PosteriorMethod::Laplace,
            samples: 200,
            seed: 0,
            rel_sd: 0.3,
            exponent_floor: 0.05,
            noise_sd: 0.004,
            noise_dof: 2.0,
        }
    }
}

impl PosteriorOptions {
    /// Check every field; errors name the field and what is allowed.
    pub fn validate(&self) -> Result<()> {
        let o = Origin::default();
        if self.samples < 2 {
            return Err(Error::invalid(&o, "samples", self.samples, "needs at least 2 samples"));
        }
        for (name, v) in [
            ("rel_sd", self.rel_sd),
            ("exponent_floor", self.exponent_floor),
            ("noise_sd", self.noise_sd),
            ("noise_dof", self.noise_dof),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(&o, name, v, "must be a positive number"));
            }
        }
        Ok(())
    }
}

/// The prior in θ units: mean and standard deviation per coefficient.
#[derive(Debug, Clone, PartialEq)]
pub struct Prior {
    /// Mean (θ units: logs of the constant and multipliers, exponents as they are).
    pub mean: Vec<f64>,
    /// Standard deviation (θ units).
    pub sd: Vec<f64>,
}

impl Prior {
    /// The prior centred on `values` (natural units, e.g. a law file's coefficients).
    pub fn around(kinds: &[CoefKind], values: &[f64], opts: &PosteriorOptions) -> Result<Prior> {
        let o = Origin::default();
        for (k, v) in kinds.iter().zip(values) {
            let ok = if k.is_log() { *v > 0.0 && v.is_finite() } else { v.is_finite() };
            if !ok {
                return Err(Error::invalid(&o, "prior value", v, "multipliers must be positive, exponents finite"));
            }
        }
        let sd = kinds
            .iter()
            .zip(values)
            .map(|(k, v)| if k.is_log() { opts.rel_sd } else { opts.rel_sd * v.abs().max(opts.exponent_floor) })
            .collect();
        Ok(Prior { mean: to_theta(kinds, values), sd })
    }
}

/// Rows the posterior reads (weights > 0) and the model. The posterior lives on the fitted
/// coefficients only: θ here holds the free coordinates (`free`, index order), and the fixed
/// ones keep their value from `template` (a full θ).
struct Problem<'a, M: FitModel> {
    fitter: &'a Fitter<'a, M>,
    rows: Vec<usize>,
    /// Bounds of the free coordinates.
    bounds: Vec<Option<(f64, f64)>>,
    /// Indices of the free coefficients in the model's θ.
    free: Vec<usize>,
    /// A full θ whose fixed coordinates hold the fixed values.
    template: Vec<f64>,
}

/// A Levenberg–Marquardt result.
struct Lm {
    theta: Vec<f64>,
    /// ½‖r‖² (penalised, σ-scaled).
    cost: f64,
    converged: bool,
}

impl<M: FitModel> Problem<'_, M> {
    fn n(&self) -> usize {
        self.rows.len()
    }

    /// The full θ of free coordinates `theta`.
    fn expand(&self, theta: &[f64]) -> Vec<f64> {
        let mut full = self.template.clone();
        for (k, &i) in self.free.iter().enumerate() {
            full[i] = theta[k];
        }
        full
    }

    /// Log predictions and their gradients in the free coordinates (row-major n × d).
    fn predict(&self, theta: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = theta.len();
        let full = self.expand(theta);
        let mut g = [0.0f64; MAX_PARAMS];
        let mut f = Vec::with_capacity(self.n());
        let mut jac = Vec::with_capacity(self.n() * d);
        for &i in &self.rows {
            let lp = self.fitter.model.log_pred(&full, self.fitter.data.row(i), &mut g[..full.len()]);
            f.push(lp);
            jac.extend(self.free.iter().map(|&c| g[c]));
        }
        (f, jac)
    }

    /// Weighted residual sum of squares of log loss against targets `y` (one per row).
    fn rss(&self, theta: &[f64], y: &[f64]) -> f64 {
        let (f, _) = self.predict(theta);
        self.rows.iter().enumerate().map(|(k, &i)| self.fitter.data.w[i] * (f[k] - y[k]).powi(2)).sum()
    }

    /// Residuals and Jacobian of the penalised problem: data rows √w(f − y)/σ, then prior rows
    /// (θ − μ)/s.
    fn residuals(&self, theta: &[f64], y: &[f64], sigma: f64, prior: &Prior) -> (DVector<f64>, DMatrix<f64>) {
        let (n, d) = (self.n(), theta.len());
        let (f, jac) = self.predict(theta);
        let mut r = DVector::zeros(n + d);
        let mut j = DMatrix::zeros(n + d, d);
        for (k, &i) in self.rows.iter().enumerate() {
            let c = self.fitter.data.w[i].sqrt() / sigma;
            r[k] = c * (f[k] - y[k]);
            for c2 in 0..d {
                j[(k, c2)] = c * jac[k * d + c2];
            }
        }
        for c2 in 0..d {
            r[n + c2] = (theta[c2] - prior.mean[c2]) / prior.sd[c2];
            j[(n + c2, c2)] = 1.0 / prior.sd[c2];
        }
        (r, j)
    }

    fn within_bounds(&self, theta: &[f64]) -> bool {
        theta.iter().zip(&self.bounds).all(|(t, b)| b.is_none_or(|(lo, hi)| (lo..=hi).contains(t)))
    }

    fn clamp(&self, theta: &mut [f64]) {
        for (t, b) in theta.iter_mut().zip(&self.bounds) {
            if let Some((lo, hi)) = b {
                *t = t.clamp(*lo, *hi);
            }
        }
    }

    /// Levenberg–Marquardt (Marquardt's diagonal scaling) on the penalised least squares.
    fn lm(&self, start: &[f64], y: &[f64], sigma: f64, prior: &Prior) -> Lm {
        let d = start.len();
        let mut theta = start.to_vec();
        self.clamp(&mut theta);
        let (mut r, mut j) = self.residuals(&theta, y, sigma, prior);
        let mut cost = 0.5 * r.norm_squared();
        if !cost.is_finite() {
            return Lm { theta, cost: f64::INFINITY, converged: false };
        }
        let mut lambda = 1e-3;
        for _ in 0..500 {
            let a = j.transpose() * &j;
            let g = j.transpose() * &r;
            if g.amax() < 1e-10 {
                return Lm { theta, cost, converged: true };
            }
            let mut m = a.clone();
            for c in 0..d {
                m[(c, c)] += lambda * a[(c, c)].max(1e-12);
            }
            let step = match m.cholesky() {
                Some(ch) => ch.solve(&(-&g)),
                None => {
                    lambda *= 10.0;
                    continue;
                }
            };
            let mut cand: Vec<f64> = theta.iter().zip(step.iter()).map(|(t, s)| t + s).collect();
            self.clamp(&mut cand);
            let (r2, j2) = self.residuals(&cand, y, sigma, prior);
            let c2 = 0.5 * r2.norm_squared();
            if c2.is_finite() && c2 <= cost {
                let done = cost - c2 <= 1e-14 * cost.max(1e-300) && step.amax() < 1e-9;
                theta = cand;
                r = r2;
                j = j2;
                cost = c2;
                lambda = (lambda / 3.0).max(1e-12);
                if done {
                    return Lm { theta, cost, converged: true };
                }
            } else {
                lambda *= 4.0;
                if lambda > 1e14 {
                    // No step lowers the cost: at the minimum to machine precision.
                    return Lm { theta, cost, converged: g.amax() < 1e-6 };
                }
            }
        }
        Lm { theta, cost, converged: false }
    }

    /// JᵀWJ of the log predictions at θ (unscaled by σ).
    fn fisher(&self, theta: &[f64]) -> DMatrix<f64> {
        let d = theta.len();
        let (_, jac) = self.predict(theta);
        let mut a = DMatrix::zeros(d, d);
        for (k, &i) in self.rows.iter().enumerate() {
            let w = self.fitter.data.w[i];
            let row = &jac[k * d..(k + 1) * d];
            for p in 0..d {
                for q in 0..d {
                    a[(p, q)] += w * row[p] * row[q];
                }
            }
        }
        a
    }
}

/// The MAP point and the noise posterior's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    /// θ at the MAP.
    pub theta: Vec<f64>,
    /// σ̂ of log loss at the MAP.
    pub sigma: f64,
    /// Weighted residual sum of squares of log loss at the MAP.
    pub rss: f64,
    /// Effective number of coefficients the data fix: tr((JᵀWJ/σ̂²)·H⁻¹), between 0 and k.
    pub p_eff: f64,
    /// Degrees of freedom of σ's posterior: ν₀ + max(n − p_eff, 0).
    pub dof: f64,
    /// Its scale: S² = (ν₀s₀² + RSS)/ν.
    pub scale2: f64,
    /// Whether the last Levenberg–Marquardt run converged.
    pub converged: bool,
}

/// Cholesky factor of a symmetric positive (semi)definite matrix, with a growing jitter when
/// it is numerically singular.
/// Draws of a bounded law's Laplace posterior tried before the last is clamped to the bounds.
const MAX_REDRAWS: usize = 64;

fn chol_jitter(h: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let d = h.nrows();
    let scale = (0..d).map(|i| h[(i, i)].abs()).fold(0.0, f64::max).max(1e-300);
    let mut jitter = 0.0;
    for _ in 0..12 {
        let mut m = h.clone();
        for i in 0..d {
            m[(i, i)] += jitter;
        }
        if let Some(c) = m.cholesky() {
            return Some(c.l());
        }
        jitter = if jitter == 0.0 { 1e-12 * scale } else { jitter * 10.0 };
    }
    None
}

/// Find the MAP point: Levenberg–Marquardt from the prior mean and from `starts` (θ units,
/// e.g. the fit's best optima), alternating with the noise estimate.
fn map_point<M: FitModel>(
    p: &Problem<'_, M>,
    y: &[f64],
    prior: &Prior,
    starts: &[Vec<f64>],
    opts: &PosteriorOptions,
) -> MapPoint {
    let n = p.n() as f64;
    let (nu0, s0) = (opts.noise_dof, opts.noise_sd);
    let mut sigma = s0;
    let mut cands: Vec<Vec<f64>> = vec![prior.mean.clone()];
    cands.extend(starts.iter().cloned());
    let mut best = cands
        .iter()
        .map(|s| p.lm(s, y, sigma, prior))
        .min_by(|a, b| a.cost.total_cmp(&b.cost))
        .unwrap_or(Lm { theta: prior.mean.clone(), cost: f64::INFINITY, converged: false });
    for _ in 0..50 {
        let rss = p.rss(&best.theta, y);
        let next = ((nu0 * s0 * s0 + rss) / (nu0 + n)).sqrt();
        let change = (next / sigma - 1.0).abs();
        sigma = next;
        best = p.lm(&best.theta, y, sigma, prior);
        if change < 1e-6 {
            break;
        }
    }
    let rss = p.rss(&best.theta, y);
    let fi = p.fisher(&best.theta) / (sigma * sigma);
    let mut h = fi.clone();
    for (c, s) in prior.sd.iter().enumerate() {
        h[(c, c)] += 1.0 / (s * s);
    }
    let p_eff = match h.clone().try_inverse() {
        Some(hi) => (hi * fi).trace().clamp(0.0, prior.mean.len() as f64),
        None => prior.mean.len() as f64,
    };
    let dof = nu0 + (n - p_eff).max(0.0);
    MapPoint {
        theta: best.theta,
        sigma,
        rss,
        p_eff,
        dof,
        scale2: (nu0 * s0 * s0 + rss) / dof,
        converged: best.converged,
    }
}

/// Draw coefficient samples from the posterior of `fitter`'s model and data, with the prior
/// centred on `prior_values` (natural units: the law file's coefficients). `fit` supplies extra
/// starting points for the MAP (its best optima); its own values are not used otherwise.
pub fn posterior<M: FitModel>(
    fitter: &Fitter<'_, M>,
    fit: &Fit,
    prior_values: &[f64],
    opts: &PosteriorOptions,
) -> Result<(Bootstrap, MapPoint)> {
    opts.validate()?;
    let t0 = Instant::now();
    let kinds = fitter.model.kinds().to_vec();
    if prior_values.len() != kinds.len() {
        return Err(Error::invalid(
            &Origin::default(),
            "prior values",
            prior_values.len(),
            format!("the law has {} coefficients", kinds.len()),
        ));
    }
    // Fixed coefficients are not part of the posterior: it is over the free ones.
    let fixed = fitter.model.fixed();
    let all_bounds = fitter.model.bounds();
    let free: Vec<usize> = (0..kinds.len()).filter(|&c| !fixed[c]).collect();
    let mut template = to_theta(&kinds, prior_values);
    for (c, b) in all_bounds.iter().enumerate() {
        if let (true, Some((lo, _))) = (fixed[c], b) {
            template[c] = *lo;
        }
    }
    let full_prior = Prior::around(&kinds, prior_values, opts)?;
    let prior = Prior {
        mean: free.iter().map(|&c| full_prior.mean[c]).collect(),
        sd: free.iter().map(|&c| full_prior.sd[c]).collect(),
    };
    let rows: Vec<usize> = (0..fitter.data.len()).filter(|&i| fitter.data.w[i] > 0.0).collect();
    let bounds = free.iter().map(|&c| all_bounds[c]).collect();
    let p = Problem { fitter, rows, bounds, free: free.clone(), template };
    let y: Vec<f64> = p.rows.iter().map(|&i| fitter.data.y[i]).collect();
    let starts: Vec<Vec<f64>> = fit.optima.iter().take(4).map(|t| free.iter().map(|&c| t[c]).collect()).collect();
    let mut map = map_point(&p, &y, &prior, &starts, opts);
    let d = free.len();
    let fisher = p.fisher(&map.theta);
    let chi = ChiSquared::new(map.dof).map_err(|e| Error::Unsupported(format!("noise posterior: {e}")))?;
    let draws: Vec<(Vec<f64>, f64, bool)> = (0..opts.samples)
        .into_par_iter()
        .map(|b| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(opts.seed, b as u64));
            let sigma_b = (map.dof * map.scale2 / chi.sample(&mut rng).max(1e-300)).sqrt();
            match opts.method {
                PosteriorMethod::Laplace => {
                    let mut h = &fisher / (sigma_b * sigma_b);
                    for (c, s) in prior.sd.iter().enumerate() {
                        h[(c, c)] += 1.0 / (s * s);
                    }
                    // θ = θ̂ + L⁻ᵀz has covariance (LLᵀ)⁻¹ = H⁻¹. A law's bounds are a hard
                    // prior: a draw outside them is drawn again, so the samples follow the
                    // Gaussian truncated to the bounds (with the mode on a bound, about every
                    // second draw; after MAX_REDRAWS the last is clamped).
                    let lt = chol_jitter(&h).map(|l| l.transpose());
                    let mut theta = vec![f64::NAN; d];
                    for _ in 0..MAX_REDRAWS {
                        let z = DVector::from_fn(d, |_, _| StandardNormal.sample(&mut rng));
                        match lt.as_ref().and_then(|lt| lt.solve_upper_triangular(&z)) {
                            Some(dz) => theta = map.theta.iter().zip(dz.iter()).map(|(t, e)| t + e).collect(),
                            None => break,
                        }
                        if p.within_bounds(&theta) {
                            break;
                        }
                    }
                    p.clamp(&mut theta);
                    let obj = 0.5 * p.residuals(&theta, &y, sigma_b, &prior).0.norm_squared();
                    (theta, obj, map.converged)
                }
                PosteriorMethod::Randomized => {
                    let yb: Vec<f64> = p
                        .rows
                        .iter()
                        .zip(&y)
                        .map(|(&i, v)| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            v + sigma_b * z / fitter.data.w[i].sqrt()
                        })
                        .collect();
                    let mean: Vec<f64> = prior
                        .mean
                        .iter()
                        .zip(&prior.sd)
                        .map(|(m, s)| {
                            let z: f64 = StandardNormal.sample(&mut rng);
                            m + s * z
                        })
                        .collect();
                    let pb = Prior { mean, sd: prior.sd.clone() };
                    let r = p.lm(&map.theta, &yb, sigma_b, &pb);
                    (r.theta, r.cost, r.converged)
                }
            }
        })
        .collect();
    let draws = draws.into_iter().map(|(t, o, c)| (to_values(&kinds, &p.expand(&t)), o, c)).collect();
    let b = Bootstrap::from_draws(fit.names.clone(), draws, opts.seed, t0);
    map.theta = p.expand(&map.theta);
    Ok((b, map))
}
