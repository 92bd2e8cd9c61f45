//! Fitting a law to observations: robust (Huber) regression in log space, L-BFGS from many
//! starts, quality measures and k-fold cross-validation.
//!
//! The objective is Epoch AI's (Besiroglu et al. 2024, replicating Chinchilla):
//!
//! ```text
//! J(θ) = Σ_i w_i · Huber_δ(log L̂_i(θ) − log L_i),   Huber_δ(r) = r²/2 if |r| ≤ δ, else δ(|r| − δ/2)
//! ```
//!
//! For a power law `L = C + Σ_t c_t Π_j x_j^e_tj` the prediction is written in
//! log-sum-exp form, `log L̂ = LSE(log C, log c_t + Σ_j e_tj log x_j)`: coefficients that
//! multiply (the constant and each term's coefficient) are optimised as their logarithms,
//! exponents as themselves. The form keeps every term positive and makes the objective smooth
//! in the parameters; the gradient is exact (the softmax weights of the terms).
//!
//! Any law can be fitted by implementing [`FitModel`] (log-prediction with its exact
//! gradient over features log x); [`LseModel`] does it for every [`PowerLaw`] (law files).
//! The optimiser is argmin's L-BFGS with the More–Thuente line search, started from a grid
//! (Epoch's 4,500-point grid for 5-parameter laws) or a Latin hypercube, in parallel (rayon);
//! the best local optimum wins, ties broken by start index, so results do not depend on the
//! number of threads.

use super::data::{Observations, Source};
use super::fastmath;
use super::power::Exponent;
use super::{LossLaw, PowerLaw, Var};
use crate::error::{Error, Origin, Result};
use crate::util::rng::mix_seed;
use crate::util::Warning;
use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::time::Instant;

mod diagnostics;
mod fitter;
mod layout;
mod lse;
mod objective;
mod options;
mod starts;
pub use fitter::{Fit, Fitter, LocalFit, Quality};
pub use layout::{Compact, FitData};
pub use lse::LseModel;
pub use objective::huber_objective;
use objective::*;
pub use options::{FitOptions, Starts, DEFAULT_LHS_STARTS};

/// Most terms (plus constant) a law may have for fitting.
pub const MAX_TERMS: usize = 31;
/// Most coefficients a law may have for fitting.
pub const MAX_PARAMS: usize = 64;
/// Most distinct variables a law may read for fitting.
pub const MAX_FEATURES: usize = 17;
/// Most variable factors over all terms of a law, for fitting.
pub const MAX_FACTORS: usize = 64;
/// Rows per block of the vectorised kernel.
pub const LANES: usize = 4;

/// How a coefficient enters the law; decides its optimisation space and default starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoefKind {
    /// The additive constant (irreducible loss), optimised as its log.
    Constant,
    /// A coefficient multiplying a term, optimised as its log.
    Scale,
    /// An exponent, optimised as itself.
    Exponent,
}

impl CoefKind {
    /// True when optimised in log space.
    pub fn is_log(self) -> bool {
        !matches!(self, CoefKind::Exponent)
    }
}

/// A law in the form the fitter needs: log-prediction and its exact gradient with respect to
/// the optimisation parameters θ (log of constants and scales, exponents as they are), from
/// a row's features (the logs of [`FitModel::feature_vars`]).
pub trait FitModel: Sync {
    /// Coefficient names, θ order.
    fn names(&self) -> &[String];
    /// Kind of each coefficient.
    fn kinds(&self) -> &[CoefKind];
    /// Bounds per coefficient in θ units (logs for multipliers); `None`: free. The default
    /// leaves every coefficient free.
    fn bounds(&self) -> Vec<Option<(f64, f64)>> {
        vec![None; self.kinds().len()]
    }
    /// Per coefficient: kept at a value by every fit (the degenerate bound `[θ, θ]`). The
    /// default reads it off [`FitModel::bounds`].
    fn fixed(&self) -> Vec<bool> {
        self.bounds().iter().map(|b| matches!(b, Some((lo, hi)) if lo == hi)).collect()
    }
    /// Variables whose logs form a row's features, in feature order.
    fn feature_vars(&self) -> &[Var];
    /// Variables of the term(s) that coefficient `coef` multiplies (empty for exponents and
    /// the constant; default: none reported). Says what a dead term takes out of the law.
    fn term_variables(&self, _coef: usize) -> Vec<Var> {
        Vec::new()
    }
    /// Features each exponent multiplies (empty for non-exponents); used to refuse data in
    /// which an exponent cannot be identified.
    fn exponent_features(&self, coef: usize) -> Vec<usize>;
    /// log L̂ at θ for one row, writing ∂ log L̂ / ∂θ into `grad` (length = θ length).
    fn log_pred(&self, theta: &[f64], lnx: &[f64], grad: &mut [f64]) -> f64;
    /// The weighted Huber objective over a [`Compact`] data set and its gradient (written into
    /// `grad`). The default sums [`FitModel::log_pred`] row by row ([`huber_objective`]);
    /// models override it with a faster kernel that gives the same value.
    fn objective(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64
    where
        Self: Sized,
    {
        huber_objective(self, data, delta, theta, grad)
    }
    /// Softmax weight of each term and the constant in log L̂ (for dead-term detection);
    /// default: none reported.
    fn term_weights(&self, _theta: &[f64], _lnx: &[f64]) -> Vec<(usize, f64)> {
        Vec::new()
    }
}

/// θ from coefficient values.
pub fn to_theta(kinds: &[CoefKind], values: &[f64]) -> Vec<f64> {
    kinds.iter().zip(values).map(|(k, v)| if k.is_log() { v.ln() } else { *v }).collect()
}

/// Coefficient values from θ.
pub fn to_values(kinds: &[CoefKind], theta: &[f64]) -> Vec<f64> {
    kinds.iter().zip(theta).map(|(k, t)| if k.is_log() { t.exp() } else { *t }).collect()
}

/// Fit a law file's form to observations; returns the fitted law (coefficients replaced, the
/// file's `[fit]` table left for the caller) and the fit.
pub fn fit_power_law(law: &PowerLaw, obs: &Observations, opts: FitOptions) -> Result<(PowerLaw, Fit)> {
    let model = LseModel::new(law)?;
    let fitter = Fitter::new(&model, obs, opts)?;
    let start = to_theta(model.kinds(), &law.values);
    let fit = fitter.fit(Some(&start))?;
    Ok((law.with_values(&fit.values), fit))
}

/// Loss predicted by a law for each row (convenience for reports).
pub fn predictions(law: &dyn LossLaw, obs: &Observations) -> Vec<f64> {
    obs.inputs.iter().map(|x| law.loss(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law::{load_law, LawInputs};

    fn chinchilla_obs(n: usize) -> (PowerLaw, Observations) {
        let law = load_law("chinchilla").unwrap();
        let mut xs = Vec::new();
        let mut ls = Vec::new();
        for i in 0..n {
            let mut x = LawInputs::unknown();
            let nn = 1e7 * 1.3f64.powi((i % 23) as i32);
            let dd = 1e9 * 1.45f64.powi((i * 7 % 19) as i32);
            x.set(Var::Params, nn);
            x.set(Var::Tokens, dd);
            ls.push(law.loss(&x));
            xs.push(x);
        }
        (law, Observations::new(xs, ls))
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let law = load_law("paper").unwrap();
        let m = LseModel::new(&law).unwrap();
        let th = to_theta(m.kinds(), &law.values);
        let lnx: Vec<f64> =
            [12.0f64, 1024.0, 2.5, 0.25, 256.0][..m.feature_vars().len()].iter().map(|v| v.ln()).collect();
        let mut g = vec![0.0; th.len()];
        let mut tmp = vec![0.0; th.len()];
        let f0 = m.log_pred(&th, &lnx, &mut g);
        for k in 0..th.len() {
            let h = 1e-6;
            let mut tp = th.clone();
            tp[k] += h;
            let mut tm = th.clone();
            tm[k] -= h;
            let fd = (m.log_pred(&tp, &lnx, &mut tmp) - m.log_pred(&tm, &lnx, &mut tmp)) / (2.0 * h);
            assert!((fd - g[k]).abs() < 1e-7, "{}: {fd} vs {}", m.names()[k], g[k]);
        }
        // log-pred equals log of the law.
        let mut x = LawInputs::unknown();
        for (v, l) in m.feature_vars().iter().zip(&lnx) {
            x.set(*v, l.exp());
        }
        assert!((f0 - law.loss(&x).ln()).abs() < 1e-12);
    }

    #[test]
    fn fast_kernel_equals_row_by_row() {
        // The paper law plus a fixed exponent, on a few designs.
        let text = load_law("paper")
            .unwrap()
            .to_toml_string()
            .replace("pow = { d_m = \"-alpha_m\" }", "pow = { d_m = \"-alpha_m\", layers = 0.5 }");
        let law = PowerLaw::from_toml_str(&text, &Origin::default()).unwrap();
        let m = LseModel::new(&law).unwrap();
        let nf = m.feature_vars().len();
        let n = 7;
        let lnx: Vec<f64> = (0..n * nf).map(|k| ((k * 37 % 11) as f64 + 1.5).ln() + 0.3).collect();
        let data = FitData { nf, lnx, y: (0..n).map(|i| 1.0 + 0.05 * i as f64).collect(), w: vec![1.0; n] };
        let w: Vec<f64> = (0..n).map(|i| if i == 3 { 0.0 } else { 0.5 + i as f64 }).collect();
        let data = data.compact(&w);
        assert_eq!((data.n, data.w[3], data.w[6]), (8, 4.5, 0.0));
        let th = to_theta(m.kinds(), &law.values);
        for delta in [1e-3, 10.0] {
            let (mut g1, mut g2) = (vec![0.0; th.len()], vec![0.0; th.len()]);
            let a = m.objective(&th, &data, delta, &mut g1);
            let b = huber_objective(&m, &data, delta, &th, &mut g2);
            assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} {b}");
            for (x, y) in g1.iter().zip(&g2) {
                assert!((x - y).abs() <= 1e-10 * (1.0 + y.abs()), "{x} {y}");
            }
        }
    }

    #[test]
    fn exact_data_recovers_chinchilla() {
        let (law, obs) = chinchilla_obs(60);
        let opts = FitOptions { include_law_start: false, starts: Starts::Lhs(64), ..Default::default() };
        let (fitted, fit) = fit_power_law(&law, &obs, opts).unwrap();
        for (a, b) in fitted.values.iter().zip(&law.values) {
            assert!((a / b - 1.0).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(fit.quality.r2 > 0.999999);
        assert!(fit.objective < 1e-12);
    }

    #[test]
    fn refuses_unidentifiable_and_tiny_data() {
        let (law, obs) = chinchilla_obs(4);
        let e = fit_power_law(&law, &obs, FitOptions::default()).unwrap_err().to_string();
        assert!(e.contains("too few rows") && e.contains("needs at least 6 rows") && e.contains("--fix"), "{e}");
        let (law, mut obs) = chinchilla_obs(30);
        for x in &mut obs.inputs {
            x.set(Var::Tokens, 2e10);
        }
        let e = fit_power_law(&law, &obs, FitOptions::default()).unwrap_err().to_string();
        assert!(e.contains("tokens") && e.contains("beta") && e.contains("every row"), "{e}");
    }

    #[test]
    fn grid_is_epochs() {
        let (law, obs) = chinchilla_obs(30);
        let m = LseModel::new(&law).unwrap();
        let f = Fitter::new(&m, &obs, FitOptions { include_law_start: false, ..Default::default() }).unwrap();
        assert_eq!(f.start_points(None).len(), 4500);
    }
}
