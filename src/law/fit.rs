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
use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::time::Instant;

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
    /// Variables whose logs form a row's features, in feature order.
    fn feature_vars(&self) -> &[Var];
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

#[derive(Debug, Clone, Copy)]
struct LseTerm {
    coef: usize,
    f0: usize,
    f1: usize,
}

#[derive(Debug, Clone, Copy)]
struct LseFactor {
    feat: usize,
    exp: Exponent,
}

/// A [`PowerLaw`] compiled for fitting in log-sum-exp form.
#[derive(Debug, Clone)]
pub struct LseModel {
    names: Vec<String>,
    kinds: Vec<CoefKind>,
    vars: Vec<Var>,
    constant: Option<usize>,
    terms: Vec<LseTerm>,
    factors: Vec<LseFactor>,
    bounds: Vec<Option<(f64, f64)>>,
}

impl LseModel {
    /// Compile a law; refuses forms the log-sum-exp fit cannot represent.
    pub fn new(law: &PowerLaw) -> Result<LseModel> {
        let o = Origin::default();
        let n = law.names.len();
        let nfac: usize = law.terms.iter().map(|t| t.factors.len()).sum();
        if n > MAX_PARAMS || law.terms.len() + 1 > MAX_TERMS || nfac > MAX_FACTORS {
            return Err(Error::Unsupported(format!(
                "law `{}` has {} coefficients, {} terms and {nfac} factors; fitting supports at most {MAX_PARAMS}, {} and {MAX_FACTORS}",
                law.name,
                n,
                law.terms.len(),
                MAX_TERMS - 1
            )));
        }
        let mut kinds: Vec<Option<CoefKind>> = vec![None; n];
        let mut set = |i: usize, k: CoefKind| -> Result<()> {
            match kinds[i] {
                Some(old) if (old == CoefKind::Exponent) != (k == CoefKind::Exponent) => Err(Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "is used both as a multiplier and as an exponent; the log-sum-exp fit needs each coefficient to be one or the other",
                )),
                Some(CoefKind::Constant) => Ok(()),
                _ => {
                    kinds[i] = Some(k);
                    Ok(())
                }
            }
        };
        if let Some(c) = law.constant {
            set(c, CoefKind::Constant)?;
        }
        let mut vars: Vec<Var> = Vec::new();
        let mut terms = Vec::new();
        let mut factors = Vec::new();
        for t in &law.terms {
            set(t.coef, CoefKind::Scale)?;
            let f0 = factors.len();
            for f in &t.factors {
                if let Exponent::Coef { index, .. } = f.exp {
                    set(index, CoefKind::Exponent)?;
                }
                let feat = match vars.iter().position(|v| *v == f.var) {
                    Some(i) => i,
                    None => {
                        vars.push(f.var);
                        vars.len() - 1
                    }
                };
                factors.push(LseFactor { feat, exp: f.exp });
            }
            terms.push(LseTerm { coef: t.coef, f0, f1: factors.len() });
        }
        let mut out_kinds = Vec::with_capacity(n);
        for (i, k) in kinds.into_iter().enumerate() {
            let k = k.ok_or_else(|| {
                Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "is not used by any term, so data cannot determine it; remove it from the law file",
                )
            })?;
            if k.is_log() && law.values[i] <= 0.0 {
                return Err(Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "multiplies a term (or is the constant) and must be positive: the log-sum-exp fit keeps every term positive",
                ));
            }
            out_kinds.push(k);
        }
        // Bounds in θ units: logs for multipliers.
        let bounds = law
            .bounds
            .iter()
            .zip(&out_kinds)
            .map(|(b, k)| b.map(|(lo, hi)| if k.is_log() { (lo.ln(), hi.ln()) } else { (lo, hi) }))
            .collect();
        Ok(LseModel {
            names: law.names.clone(),
            kinds: out_kinds,
            vars,
            constant: law.constant,
            terms,
            factors,
            bounds,
        })
    }

    #[inline(always)]
    fn exponent(e: Exponent, theta: &[f64]) -> f64 {
        match e {
            Exponent::Fixed(x) => x,
            Exponent::Coef { index, sign } => sign * theta[index],
        }
    }

    #[inline(always)]
    fn logits(&self, theta: &[f64], lnx: &[f64], z: &mut [f64; MAX_TERMS]) -> usize {
        for (t, term) in self.terms.iter().enumerate() {
            let mut s = theta[term.coef];
            for f in &self.factors[term.f0..term.f1] {
                s += Self::exponent(f.exp, theta) * lnx[f.feat];
            }
            z[t] = s;
        }
        let mut nt = self.terms.len();
        if let Some(c) = self.constant {
            z[nt] = theta[c];
            nt += 1;
        }
        nt
    }
}

impl LseModel {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_avx2(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64 {
        self.kernel::<fastmath::Fused>(theta, data, delta, grad)
    }

    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    fn kernel<A: fastmath::MulAdd>(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64 {
        const L: usize = LANES;
        let nt = self.terms.len() + usize::from(self.constant.is_some());
        let nfac = self.factors.len();
        // Per-evaluation constants: term biases, factor exponents.
        let mut b = [0.0f64; MAX_TERMS];
        let mut fe = [0.0f64; MAX_FACTORS];
        for (t, term) in self.terms.iter().enumerate() {
            b[t] = theta[term.coef];
        }
        if let Some(c) = self.constant {
            b[nt - 1] = theta[c];
        }
        for (f, fac) in self.factors.iter().enumerate() {
            fe[f] = Self::exponent(fac.exp, theta);
        }
        let np = data.n;
        let mut gb = [[0.0f64; L]; MAX_TERMS];
        let mut gf = [[0.0f64; L]; MAX_FACTORS];
        let mut jl = [0.0f64; L];
        let mut z = [[0.0f64; L]; MAX_TERMS];
        for base in (0..np).step_by(L) {
            let y: &[f64; L] = data.y[base..base + L].try_into().unwrap();
            let w: &[f64; L] = data.w[base..base + L].try_into().unwrap();
            for (t, term) in self.terms.iter().enumerate() {
                let mut v = [b[t]; L];
                for f in term.f0..term.f1 {
                    let feat = self.factors[f].feat;
                    let x: &[f64; L] = data.x[feat * np + base..feat * np + base + L].try_into().unwrap();
                    for l in 0..L {
                        v[l] += fe[f] * x[l];
                    }
                }
                z[t] = v;
            }
            if self.constant.is_some() {
                z[nt - 1] = [b[nt - 1]; L];
            }
            let mut m = [f64::NEG_INFINITY; L];
            for zt in &z[..nt] {
                for l in 0..L {
                    m[l] = m[l].max(zt[l]);
                }
            }
            let mut s = [0.0f64; L];
            for zt in &mut z[..nt] {
                for l in 0..L {
                    zt[l] = fastmath::exp_neg::<A>(zt[l] - m[l]);
                    s[l] += zt[l];
                }
            }
            // Each step a separate 4-lane loop: the compiler turns each into vector code.
            let mut r = [0.0f64; L];
            for l in 0..L {
                r[l] = m[l] + fastmath::ln_pos::<A>(s[l]) - y[l];
            }
            let mut c = [0.0f64; L];
            for l in 0..L {
                // Huber: r²/2 inside [−δ, δ], δ(|r| − δ/2) outside; ψ = clamp(r, −δ, δ).
                let psi = r[l].clamp(-delta, delta);
                let h = psi * (r[l] - 0.5 * psi);
                jl[l] += w[l] * h;
                c[l] = w[l] * psi / s[l];
            }
            for (t, term) in self.terms.iter().enumerate() {
                let mut g = [0.0f64; L];
                for l in 0..L {
                    g[l] = c[l] * z[t][l];
                    gb[t][l] += g[l];
                }
                for f in term.f0..term.f1 {
                    let feat = self.factors[f].feat;
                    let x: &[f64; L] = data.x[feat * np + base..feat * np + base + L].try_into().unwrap();
                    for l in 0..L {
                        gf[f][l] += g[l] * x[l];
                    }
                }
            }
            if self.constant.is_some() {
                for l in 0..L {
                    gb[nt - 1][l] += c[l] * z[nt - 1][l];
                }
            }
        }
        grad.fill(0.0);
        for (t, term) in self.terms.iter().enumerate() {
            grad[term.coef] += gb[t].iter().sum::<f64>();
        }
        for (f, fac) in self.factors[..nfac].iter().enumerate() {
            if let Exponent::Coef { index, sign } = fac.exp {
                grad[index] += sign * gf[f].iter().sum::<f64>();
            }
        }
        if let Some(c) = self.constant {
            grad[c] += gb[nt - 1].iter().sum::<f64>();
        }
        jl.iter().sum()
    }
}

impl FitModel for LseModel {
    fn names(&self) -> &[String] {
        &self.names
    }
    fn kinds(&self) -> &[CoefKind] {
        &self.kinds
    }
    fn bounds(&self) -> Vec<Option<(f64, f64)>> {
        self.bounds.clone()
    }
    fn feature_vars(&self) -> &[Var] {
        &self.vars
    }
    fn exponent_features(&self, coef: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .factors
            .iter()
            .filter(|f| matches!(f.exp, Exponent::Coef { index, .. } if index == coef))
            .map(|f| f.feat)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[inline]
    fn log_pred(&self, theta: &[f64], lnx: &[f64], grad: &mut [f64]) -> f64 {
        let mut z = [0.0f64; MAX_TERMS];
        let nt = self.logits(theta, lnx, &mut z);
        let m = z[..nt].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for zt in &mut z[..nt] {
            *zt = (*zt - m).exp();
            s += *zt;
        }
        let inv = 1.0 / s;
        grad.fill(0.0);
        for (t, term) in self.terms.iter().enumerate() {
            let w = z[t] * inv;
            grad[term.coef] += w;
            for f in &self.factors[term.f0..term.f1] {
                if let Exponent::Coef { index, sign } = f.exp {
                    grad[index] += w * sign * lnx[f.feat];
                }
            }
        }
        if let Some(c) = self.constant {
            grad[c] += z[self.terms.len()] * inv;
        }
        m + s.ln()
    }

    /// The LSE kernel: exponents do not depend on the row, so they are resolved once per
    /// evaluation; rows are processed in blocks of [`LANES`] with branch-free exp/ln so that the
    /// compiler vectorises across rows (AVX2 when the CPU has it); the gradient is accumulated
    /// per term and per factor and mapped to θ once at the end.
    fn objective(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { self.kernel_avx2(theta, data, delta, grad) };
            }
        }
        self.kernel::<fastmath::Plain>(theta, data, delta, grad)
    }

    fn term_weights(&self, theta: &[f64], lnx: &[f64]) -> Vec<(usize, f64)> {
        let mut z = [0.0f64; MAX_TERMS];
        let nt = self.logits(theta, lnx, &mut z);
        let m = z[..nt].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = z[..nt].iter().map(|v| (v - m).exp()).sum();
        let mut out: Vec<(usize, f64)> =
            self.terms.iter().enumerate().map(|(t, term)| (term.coef, (z[t] - m).exp() / s)).collect();
        if let Some(c) = self.constant {
            out.push((c, (z[self.terms.len()] - m).exp() / s));
        }
        out
    }
}

/// Observations turned into what the inner loop reads: log features, log loss, weights.
#[derive(Debug, Clone)]
pub struct FitData {
    /// Features per row.
    pub nf: usize,
    /// Row-major log features (n × nf).
    pub lnx: Vec<f64>,
    /// log loss per row.
    pub y: Vec<f64>,
    /// Weight per row.
    pub w: Vec<f64>,
}

impl FitData {
    /// Rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// Features of row i.
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.lnx[i * self.nf..(i + 1) * self.nf]
    }
}

/// The rows one optimisation reads (weight > 0), feature-major and padded with weight-0 rows
/// to a multiple of [`LANES`]: what the kernels read.
#[derive(Debug, Clone)]
pub struct Compact {
    /// Features.
    pub nf: usize,
    /// Rows including padding.
    pub n: usize,
    /// Feature-major log features (nf × n).
    pub x: Vec<f64>,
    /// log loss.
    pub y: Vec<f64>,
    /// Weights (0 for padding).
    pub w: Vec<f64>,
}

impl FitData {
    /// The rows with positive weight in `w` (one weight per row of `self`), compacted.
    pub fn compact(&self, w: &[f64]) -> Compact {
        let rows: Vec<usize> = (0..self.len()).filter(|&i| w[i] > 0.0).collect();
        let n = rows.len().div_ceil(LANES) * LANES;
        let mut x = vec![0.0; self.nf * n];
        let (mut y, mut ww) = (vec![0.0; n], vec![0.0; n]);
        for (k, &i) in rows.iter().enumerate() {
            for f in 0..self.nf {
                x[f * n + k] = self.row(i)[f];
            }
            y[k] = self.y[i];
            ww[k] = w[i];
        }
        // Padding repeats the first row with weight 0 (finite values, no contribution).
        for k in rows.len()..n {
            let i = rows.first().copied().unwrap_or(0);
            for f in 0..self.nf {
                x[f * n + k] = if self.is_empty() { 0.0 } else { self.row(i)[f] };
            }
            y[k] = if self.is_empty() { 0.0 } else { self.y[i] };
        }
        Compact { nf: self.nf, n, x, y, w: ww }
    }
}

/// How to choose starting points.
#[derive(Debug, Clone, PartialEq)]
pub enum Starts {
    /// [`Starts::Grid`] for laws with at most 6 coefficients, else [`Starts::Lhs`] of
    /// [`DEFAULT_LHS_STARTS`] points.
    Auto,
    /// Epoch's grid, per coefficient kind: constant log ∈ {−1, −0.5, 0, 0.5, 1}, scale log ∈
    /// {0, 5, …, 25}, exponent ∈ {0, 0.5, …, 2} (4,500 points for Chinchilla).
    Grid,
    /// Latin hypercube of n points: exponents in [−0.5, 2], scale logs within ±3 of the value
    /// that makes each term a share of the mean loss at the mean features, constant in
    /// [0.2, 0.99] × the smallest loss.
    Lhs(usize),
    /// Explicit θ points.
    Points(Vec<Vec<f64>>),
}

/// Latin-hypercube size for [`Starts::Auto`] with more than 6 coefficients.
pub const DEFAULT_LHS_STARTS: usize = 1000;

/// Fit settings; every default is here.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Huber δ on log-loss residuals (default 1e-3).
    pub huber_delta: f64,
    /// Drop the k highest-loss rows before fitting (default 0; Epoch uses 5 for Chinchilla).
    pub drop_highest: usize,
    /// Starting points.
    pub starts: Starts,
    /// Also start from the law's current coefficients (default true).
    pub include_law_start: bool,
    /// L-BFGS iteration cap per start (default 1000).
    pub max_iters: u64,
    /// L-BFGS memory (default 10, as scipy).
    pub memory: usize,
    /// Stop when the gradient norm falls below this (default 1e-10).
    pub tol_grad: f64,
    /// Stop when the objective changes by less than this between iterations (default 1e-15).
    pub tol_cost: f64,
    /// A start "reaches the best" when its objective is within this relative tolerance of the
    /// best (default 1e-6).
    pub best_rel_tol: f64,
    /// Folds of the cross-validation (default 5; 0 or 1 turns it off).
    pub cv_folds: usize,
    /// Seed for the Latin hypercube and the fold assignment.
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            huber_delta: 1e-3,
            drop_highest: 0,
            starts: Starts::Auto,
            include_law_start: true,
            max_iters: 1000,
            memory: 10,
            tol_grad: 1e-10,
            tol_cost: 1e-15,
            best_rel_tol: 1e-6,
            cv_folds: 5,
            seed: 0,
        }
    }
}

impl FitOptions {
    /// Check every field; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let o = Origin::default();
        if !(self.huber_delta.is_finite() && self.huber_delta > 0.0) {
            return Err(Error::invalid(&o, "huber_delta", self.huber_delta, "must be a positive number"));
        }
        if self.max_iters == 0 {
            return Err(Error::invalid(&o, "max_iters", 0, "must be at least 1"));
        }
        if self.memory == 0 {
            return Err(Error::invalid(&o, "memory", 0, "must be at least 1"));
        }
        for (f, v) in [("tol_grad", self.tol_grad), ("tol_cost", self.tol_cost), ("best_rel_tol", self.best_rel_tol)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(&o, f, v, "must be a non-negative number"));
            }
        }
        if let Starts::Lhs(0) = self.starts {
            return Err(Error::invalid(&o, "starts", "lhs:0", "needs at least one point"));
        }
        Ok(())
    }
}

/// One local optimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalFit {
    /// Final θ.
    pub theta: Vec<f64>,
    /// Objective there.
    pub objective: f64,
    /// L-BFGS iterations.
    pub iterations: u64,
    /// Objective+gradient evaluations.
    pub evaluations: u64,
    /// Why it stopped.
    pub status: String,
    /// True when it stopped on a tolerance (not on the iteration cap or an error).
    pub converged: bool,
}

/// Fit quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// 1 − SS_res/SS_tot on loss.
    pub r2: f64,
    /// Root-mean-square error in loss.
    pub rmse: f64,
    /// Root-mean-square error in log loss.
    pub rmse_log: f64,
    /// k-fold cross-validated RMSE in log loss (NaN when off).
    pub cv_rmse_log: f64,
    /// k-fold cross-validated RMSE in loss (NaN when off).
    pub cv_rmse: f64,
    /// Folds used (0 when off).
    pub cv_folds: usize,
}

/// Result of a multi-start fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Coefficient names.
    pub names: Vec<String>,
    /// Fitted coefficient values.
    pub values: Vec<f64>,
    /// Fitted θ (log space for constants and scales).
    pub theta: Vec<f64>,
    /// Huber objective at the optimum (sum over rows).
    pub objective: f64,
    /// Rows used.
    pub n: usize,
    /// Rows dropped by the drop-highest rule.
    pub dropped: usize,
    /// Quality.
    pub quality: Quality,
    /// The winning start's optimisation.
    pub best: LocalFit,
    /// Index of the winning start.
    pub best_start: usize,
    /// Starts run.
    pub starts: usize,
    /// Starts whose objective is within `best_rel_tol` of the best.
    pub starts_at_best: usize,
    /// Starts that converged.
    pub starts_converged: usize,
    /// L-BFGS iterations over all starts.
    pub total_iterations: u64,
    /// Objective+gradient evaluations over all starts.
    pub total_evaluations: u64,
    /// Distinct local optima (θ), best first, at most 8: warm starts for refits.
    pub optima: Vec<Vec<f64>>,
    /// Warnings (multi-modality, weak identifiability, no convergence).
    pub warnings: Vec<String>,
    /// Wall time of the fit (ms).
    pub fit_ms: f64,
}

/// The fitting engine for one model and one data set.
pub struct Fitter<'a, M: FitModel> {
    /// The model.
    pub model: &'a M,
    /// The data.
    pub data: FitData,
    /// Settings.
    pub opts: FitOptions,
    /// Observations after the drop rule.
    pub obs: Observations,
    /// Rows dropped.
    pub dropped: usize,
}

struct FitObjective<'a, M: FitModel> {
    model: &'a M,
    data: &'a Compact,
    delta: f64,
    /// Bounded coordinates are optimised as u with θ = lo + (hi − lo)·σ(u), so L-BFGS stays
    /// unconstrained.
    bounds: &'a [Option<(f64, f64)>],
    cache: RefCell<(Vec<f64>, f64, Vec<f64>)>,
    evals: Cell<u64>,
}

/// Weighted Huber objective over a compact data set and its gradient (written into `grad`),
/// row by row through [`FitModel::log_pred`].
#[allow(clippy::needless_range_loop)]
pub fn huber_objective<M: FitModel>(model: &M, data: &Compact, delta: f64, theta: &[f64], grad: &mut [f64]) -> f64 {
    let d = theta.len();
    let mut dlp = [0.0f64; MAX_PARAMS];
    let dlp = &mut dlp[..d];
    let mut x = [0.0f64; MAX_FEATURES];
    grad.fill(0.0);
    let mut j = 0.0;
    for i in 0..data.n {
        let wi = data.w[i];
        if wi == 0.0 {
            continue;
        }
        for f in 0..data.nf {
            x[f] = data.x[f * data.n + i];
        }
        let lp = model.log_pred(theta, &x[..data.nf], dlp);
        let r = lp - data.y[i];
        let (h, psi) =
            if r.abs() <= delta { (0.5 * r * r, r) } else { (delta * (r.abs() - 0.5 * delta), delta.copysign(r)) };
        j += wi * h;
        let c = wi * psi;
        for (g, p) in grad.iter_mut().zip(dlp.iter()) {
            *g += c * p;
        }
    }
    j
}

impl<M: FitModel> FitObjective<'_, M> {
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        {
            let c = self.cache.borrow();
            if c.0.as_slice() == theta {
                return (c.1, c.2.clone());
            }
        }
        self.evals.set(self.evals.get() + 1);
        let u = theta;
        let theta = from_free(self.bounds, u);
        let mut g = vec![0.0; theta.len()];
        let mut j = self.model.objective(&theta, self.data, self.delta, &mut g);
        for ((gk, b), uk) in g.iter_mut().zip(self.bounds).zip(u) {
            if let Some((lo, hi)) = b {
                let s = sigmoid(*uk);
                *gk *= (hi - lo) * s * (1.0 - s);
            }
        }
        if !j.is_finite() || g.iter().any(|v| !v.is_finite()) {
            j = f64::INFINITY;
            g.fill(0.0);
        }
        let mut c = self.cache.borrow_mut();
        c.0.clear();
        c.0.extend_from_slice(u);
        c.1 = j;
        c.2.clone_from(&g);
        (j, g)
    }
}

impl<M: FitModel> CostFunction for FitObjective<'_, M> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p).0)
    }
}

impl<M: FitModel> Gradient for FitObjective<'_, M> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(p).1)
    }
}

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// θ from the optimiser's free coordinates (identity where unbounded; borrowed, without a
/// copy, when nothing is bounded: the objective's hot path).
fn from_free<'u>(bounds: &[Option<(f64, f64)>], u: &'u [f64]) -> std::borrow::Cow<'u, [f64]> {
    if bounds.iter().all(Option::is_none) {
        return std::borrow::Cow::Borrowed(u);
    }
    u.iter().zip(bounds).map(|(&x, b)| b.map_or(x, |(lo, hi)| lo + (hi - lo) * sigmoid(x))).collect()
}

/// Free coordinates of θ; a value on or outside a bound starts just inside it.
fn to_free(bounds: &[Option<(f64, f64)>], theta: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .zip(bounds)
        .map(|(&t, b)| {
            b.map_or(t, |(lo, hi)| {
                let p = ((t - lo) / (hi - lo)).clamp(1e-6, 1.0 - 1e-6);
                (p / (1.0 - p)).ln()
            })
        })
        .collect()
}

impl<'a, M: FitModel> Fitter<'a, M> {
    /// Prepare data for a model: applies the drop rule, checks rows against the number of
    /// coefficients and refuses exponents the data cannot identify (constant columns).
    pub fn new(model: &'a M, obs: &Observations, opts: FitOptions) -> Result<Self> {
        opts.validate()?;
        let fo = Origin::file(&obs.file);
        let vars = model.feature_vars().to_vec();
        obs.validate(&vars)?;
        if opts.drop_highest >= obs.len() {
            return Err(Error::invalid(
                &fo,
                "drop_highest",
                opts.drop_highest,
                format!("must be below the number of rows ({})", obs.len()),
            ));
        }
        let kept = obs.drop_highest(opts.drop_highest);
        let p = model.names().len();
        let used = kept.weights.iter().filter(|w| **w > 0.0).count();
        if used <= p {
            return Err(Error::invalid(
                &fo,
                "rows",
                used,
                format!(
                    "too few rows with positive weight for {p} coefficients ({}): need at least {}",
                    model.names().join(", "),
                    p + 1
                ),
            ));
        }
        let nf = vars.len();
        let mut lnx = Vec::with_capacity(kept.len() * nf);
        for x in &kept.inputs {
            for v in &vars {
                lnx.push(x.get(*v).ln());
            }
        }
        let data = FitData { nf, lnx, y: kept.loss.iter().map(|l| l.ln()).collect(), w: kept.weights.clone() };
        // Identifiability: an exponent whose every feature is constant is confounded with the
        // term's coefficient.
        for (k, kind) in model.kinds().iter().enumerate() {
            if *kind != CoefKind::Exponent {
                continue;
            }
            let feats = model.exponent_features(k);
            let constant: Vec<usize> = feats
                .iter()
                .copied()
                .filter(|&f| {
                    let (lo, hi) = (0..data.len())
                        .filter(|&i| data.w[i] > 0.0)
                        .map(|i| data.row(i)[f])
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
                    hi - lo <= 1e-12 * (1.0 + hi.abs())
                })
                .collect();
            if !feats.is_empty() && constant.len() == feats.len() {
                let f = feats[0];
                let v = vars[f];
                let col = match kept.sources.get(&v) {
                    Some(Source::Column(c)) => format!("column `{c}`"),
                    Some(Source::Architecture) => "the architecture columns".to_string(),
                    Some(Source::Default(_)) => "the law's default (no column)".to_string(),
                    None => "the data".to_string(),
                };
                let value = kept.inputs.first().map_or(f64::NAN, |x| x.get(v));
                return Err(Error::invalid(
                    &fo,
                    v.name(),
                    value,
                    format!(
                        "`{}` (from {col}) has this same value in every row, so the exponent `{}` cannot be identified; \
                         give data where it varies or fix the exponent to a number in the law file",
                        v.name(),
                        model.names()[k]
                    ),
                ));
            }
        }
        let dropped = obs.len() - kept.len();
        Ok(Fitter { model, data, opts, obs: kept, dropped })
    }

    /// All rows.
    fn all_rows(&self) -> Vec<u32> {
        (0..self.data.len() as u32).filter(|&i| self.data.w[i as usize] > 0.0).collect()
    }

    /// Row weights `w` (one per row; 0 excludes a row) as the compact set the kernels read.
    pub fn compact(&self, w: &[f64]) -> Compact {
        self.data.compact(w)
    }

    /// One L-BFGS run from `start` on a compact data set.
    pub fn local(&self, start: &[f64], data: &Compact) -> LocalFit {
        let bounds = self.model.bounds();
        let mut fit = self.local_free(&to_free(&bounds, start), data, &bounds);
        fit.theta = from_free(&bounds, &fit.theta).into_owned();
        fit
    }

    /// [`Fitter::local`] in the optimiser's free coordinates.
    fn local_free(&self, start: &[f64], data: &Compact, bounds: &[Option<(f64, f64)>]) -> LocalFit {
        let problem = FitObjective {
            model: self.model,
            data,
            delta: self.opts.huber_delta,
            bounds,
            cache: RefCell::new((Vec::new(), 0.0, Vec::new())),
            evals: Cell::new(0),
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), self.opts.memory)
            .with_tolerance_grad(self.opts.tol_grad)
            .and_then(|s| s.with_tolerance_cost(self.opts.tol_cost));
        let solver = match solver {
            Ok(s) => s,
            Err(e) => return failed(start, format!("error: {e}")),
        };
        let res = Executor::new(problem, solver)
            .configure(|s| s.param(start.to_vec()).max_iters(self.opts.max_iters))
            .ctrlc(false)
            .run();
        match res {
            Ok(mut res) => {
                let st = &res.state;
                let evaluations = res.problem.take_problem().map_or(0, |p| p.evals.get());
                let st2 = st;
                let theta = st2.get_best_param().cloned().unwrap_or_else(|| start.to_vec());
                let objective = st2.get_best_cost();
                let (status, converged) = match st2.get_termination_reason() {
                    Some(TerminationReason::SolverConverged) => ("converged".to_string(), true),
                    Some(TerminationReason::MaxItersReached) => ("max_iters".to_string(), false),
                    Some(TerminationReason::SolverExit(m)) => {
                        // The line search cannot make progress: at the optimum to machine
                        // precision when the gradient is tiny.
                        (format!("stopped: {m}"), false)
                    }
                    Some(r) => (format!("{r:?}").to_lowercase(), false),
                    None => ("running".to_string(), false),
                };
                let objective = if objective.is_finite() { objective } else { f64::INFINITY };
                LocalFit { theta, objective, iterations: st2.get_iter(), evaluations, status, converged }
            }
            Err(e) => failed(start, format!("error: {e}")),
        }
    }

    /// The best of several local runs with row weights `w` (first wins ties).
    pub fn best_of(&self, starts: &[Vec<f64>], w: &[f64]) -> LocalFit {
        let data = self.compact(w);
        let mut best: Option<LocalFit> = None;
        for s in starts {
            let r = self.local(s, &data);
            if best.as_ref().is_none_or(|b| r.objective < b.objective) {
                best = Some(r);
            }
        }
        best.unwrap_or_else(|| failed(&[], "no starts".into()))
    }

    /// Starting points for the multi-start (θ space).
    pub fn start_points(&self, law_start: Option<&[f64]>) -> Vec<Vec<f64>> {
        let kinds = self.model.kinds();
        let d = kinds.len();
        let mut pts = Vec::new();
        if self.opts.include_law_start {
            if let Some(s) = law_start {
                pts.push(s.to_vec());
            }
        }
        let starts = match &self.opts.starts {
            Starts::Auto if d <= 6 => Starts::Grid,
            Starts::Auto => Starts::Lhs(DEFAULT_LHS_STARTS),
            s => s.clone(),
        };
        match starts {
            Starts::Grid => {
                let levels: Vec<Vec<f64>> = kinds
                    .iter()
                    .map(|k| match k {
                        CoefKind::Constant => vec![-1.0, -0.5, 0.0, 0.5, 1.0],
                        CoefKind::Scale => vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
                        CoefKind::Exponent => vec![0.0, 0.5, 1.0, 1.5, 2.0],
                    })
                    .collect();
                let total: usize = levels.iter().map(Vec::len).product();
                for mut k in 0..total {
                    let mut p = vec![0.0; d];
                    for j in (0..d).rev() {
                        p[j] = levels[j][k % levels[j].len()];
                        k /= levels[j].len();
                    }
                    pts.push(p);
                }
            }
            Starts::Lhs(n) => pts.extend(self.lhs(n)),
            Starts::Points(p) => pts.extend(p),
            Starts::Auto => unreachable!(),
        }
        pts
    }

    #[allow(clippy::needless_range_loop)]
    fn lhs(&self, n: usize) -> Vec<Vec<f64>> {
        let kinds = self.model.kinds();
        let d = kinds.len();
        let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(self.opts.seed, u64::MAX - 1));
        // u[j][i] ∈ [0,1): stratified per dimension.
        let mut u = vec![vec![0.0; n]; d];
        for uj in u.iter_mut() {
            let mut perm: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                perm.swap(i, rng.random_range(0..=i));
            }
            for (i, v) in uj.iter_mut().enumerate() {
                *v = (perm[i] as f64 + rng.random::<f64>()) / n as f64;
            }
        }
        let rows = self.all_rows();
        let nr = rows.len() as f64;
        let mean_y = rows.iter().map(|&i| self.data.y[i as usize].exp()).sum::<f64>() / nr;
        let min_l = rows.iter().map(|&i| self.data.y[i as usize].exp()).fold(f64::INFINITY, f64::min);
        let mean_f: Vec<f64> =
            (0..self.data.nf).map(|f| rows.iter().map(|&i| self.data.row(i as usize)[f]).sum::<f64>() / nr).collect();
        let n_scales = kinds.iter().filter(|k| **k != CoefKind::Exponent).count().max(1) as f64;
        let target = (mean_y / n_scales).ln();
        let mut pts = Vec::with_capacity(n);
        let mut grad = vec![0.0; d];
        for i in 0..n {
            let mut p = vec![0.0; d];
            for j in 0..d {
                p[j] = match kinds[j] {
                    CoefKind::Exponent => -0.5 + 2.5 * u[j][i],
                    CoefKind::Constant => (min_l * (0.2 + 0.79 * u[j][i])).ln(),
                    CoefKind::Scale => 0.0,
                };
            }
            // Put each scale so that its term is about `target` at the mean features: with
            // scales at 0, log-pred's gradient gives each scale's term share; the term's log
            // value at the mean is the exponent part, obtained per scale by a unit probe.
            for j in 0..d {
                if kinds[j] != CoefKind::Scale {
                    continue;
                }
                // log of the term(s) of scale j at the mean features with log-scale 0:
                let mut probe = p.clone();
                for (k, kind) in kinds.iter().enumerate() {
                    if *kind != CoefKind::Exponent {
                        probe[k] = -1e3;
                    }
                }
                probe[j] = 0.0;
                let lp = self.model.log_pred(&probe, &mean_f, &mut grad);
                p[j] = target - lp + (-3.0 + 6.0 * u[j][i]);
            }
            pts.push(p);
        }
        pts
    }

    /// Fit from the start set (θ of the law's own values as an optional extra start).
    pub fn fit(&self, law_start: Option<&[f64]>) -> Result<Fit> {
        let t0 = Instant::now();
        let rows = self.all_rows();
        let starts = self.start_points(law_start);
        let data = self.compact(&self.data.w);
        let locals: Vec<LocalFit> = starts.par_iter().map(|s| self.local(s, &data)).collect();
        let (best_start, best) = locals
            .iter()
            .enumerate()
            .filter(|(_, l)| l.objective.is_finite())
            .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective).then(a.0.cmp(&b.0)))
            .map(|(i, l)| (i, l.clone()))
            .ok_or_else(|| Error::Unsupported("every start of the fit failed (non-finite objective)".into()))?;
        let tol = self.opts.best_rel_tol * best.objective.abs().max(1e-300);
        let starts_at_best = locals.iter().filter(|l| l.objective - best.objective <= tol).count();
        let starts_converged = locals.iter().filter(|l| l.converged).count();
        // Distinct optima, best first.
        let mut order: Vec<usize> = (0..locals.len()).filter(|&i| locals[i].objective.is_finite()).collect();
        order.sort_by(|&a, &b| locals[a].objective.total_cmp(&locals[b].objective).then(a.cmp(&b)));
        let mut optima: Vec<Vec<f64>> = Vec::new();
        for i in order {
            let t = &locals[i].theta;
            if optima.iter().all(|o| o.iter().zip(t).any(|(a, b)| (a - b).abs() > 1e-3 * (1.0 + a.abs()))) {
                optima.push(t.clone());
                if optima.len() == 8 {
                    break;
                }
            }
        }
        let mut warnings = Vec::new();
        let few = (starts.len() / 100).max(2).min(starts.len());
        if starts_at_best < few {
            warnings.push(format!(
                "only {starts_at_best} of {} starts reached the best objective (within {:e}): the fit is multi-modal \
                 or hard; more starts may find a better optimum",
                starts.len(),
                self.opts.best_rel_tol
            ));
        }
        if !best.converged {
            warnings.push(format!("the best start did not meet the convergence tolerances ({})", best.status));
        }
        warnings.extend(self.identifiability(&best.theta, &rows));
        let quality = self.quality(&best.theta, &optima);
        Ok(Fit {
            names: self.model.names().to_vec(),
            values: to_values(self.model.kinds(), &best.theta),
            theta: best.theta.clone(),
            objective: best.objective,
            n: rows.len(),
            dropped: self.dropped,
            quality,
            best,
            best_start,
            starts: starts.len(),
            starts_at_best,
            starts_converged,
            total_iterations: locals.iter().map(|l| l.iterations).sum(),
            total_evaluations: locals.iter().map(|l| l.evaluations).sum(),
            optima,
            warnings,
            fit_ms: t0.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Warnings on weak identifiability at θ: dead terms and near-singular curvature.
    fn identifiability(&self, theta: &[f64], rows: &[u32]) -> Vec<String> {
        let names = self.model.names();
        let d = theta.len();
        let mut out = Vec::new();
        // Dead terms: contribute a negligible share of the loss in every row.
        let mut share = vec![0.0f64; d];
        let mut any = false;
        for &i in rows {
            for (c, s) in self.model.term_weights(theta, self.data.row(i as usize)) {
                share[c] = share[c].max(s);
                any = true;
            }
        }
        if any {
            for (c, s) in share.iter().enumerate() {
                if self.model.kinds()[c].is_log() && *s < 1e-6 {
                    out.push(format!(
                        "the term of `{}` is below 1e-6 of the loss in every row: it and its exponents are not identifiable",
                        names[c]
                    ));
                }
            }
        }
        // Curvature of the log-predictions (Gauss–Newton JᵀJ with unit-scaled columns).
        let mut jtj = nalgebra::DMatrix::<f64>::zeros(d, d);
        let mut g = vec![0.0; d];
        for &i in rows {
            self.model.log_pred(theta, self.data.row(i as usize), &mut g);
            for a in 0..d {
                for b in 0..d {
                    jtj[(a, b)] += g[a] * g[b];
                }
            }
        }
        let scale: Vec<f64> = (0..d).map(|a| jtj[(a, a)].sqrt().max(1e-300)).collect();
        for a in 0..d {
            for b in 0..d {
                jtj[(a, b)] /= scale[a] * scale[b];
            }
        }
        let eig = nalgebra::SymmetricEigen::new(jtj);
        let (imin, lmin) =
            eig.eigenvalues.iter().enumerate().fold(
                (0, f64::INFINITY),
                |acc, (i, &v)| {
                    if v < acc.1 {
                        (i, v)
                    } else {
                        acc
                    }
                },
            );
        let lmax = eig.eigenvalues.iter().copied().fold(0.0, f64::max);
        if lmax > 0.0 && lmin / lmax < 1e-12 {
            let v = eig.eigenvectors.column(imin);
            let mut idx: Vec<usize> = (0..d).collect();
            idx.sort_by(|&a, &b| v[b].abs().total_cmp(&v[a].abs()));
            let involved: Vec<&str> =
                idx.iter().take(3).filter(|&&a| v[a].abs() > 0.2).map(|&a| names[a].as_str()).collect();
            out.push(format!(
                "weakly identifiable: the data barely constrain a combination of {} (curvature ratio {:.1e})",
                involved.join(", "),
                lmin / lmax
            ));
        }
        out
    }

    /// Predicted log loss of row i at θ.
    pub fn log_pred(&self, theta: &[f64], i: usize) -> f64 {
        let mut g = [0.0; MAX_PARAMS];
        self.model.log_pred(theta, self.data.row(i), &mut g[..theta.len()])
    }

    fn quality(&self, theta: &[f64], optima: &[Vec<f64>]) -> Quality {
        let rows = self.all_rows();
        let n = rows.len() as f64;
        let (mut ss_res, mut ss_log) = (0.0, 0.0);
        let mean = rows.iter().map(|&i| self.data.y[i as usize].exp()).sum::<f64>() / n;
        let mut ss_tot = 0.0;
        for &i in &rows {
            let i = i as usize;
            let lp = self.log_pred(theta, i);
            let l = self.data.y[i].exp();
            ss_res += (l - lp.exp()).powi(2);
            ss_log += (self.data.y[i] - lp).powi(2);
            ss_tot += (l - mean).powi(2);
        }
        let k = self.opts.cv_folds;
        let (cv_log, cv, folds) =
            if k >= 2 && rows.len() >= 2 * k { self.cross_validate(k, optima) } else { (f64::NAN, f64::NAN, 0) };
        Quality {
            r2: 1.0 - ss_res / ss_tot,
            rmse: (ss_res / n).sqrt(),
            rmse_log: (ss_log / n).sqrt(),
            cv_rmse_log: cv_log,
            cv_rmse: cv,
            cv_folds: folds,
        }
    }

    /// k-fold CV: rows shuffled by the seed, each fold refitted from the full fit's optima.
    fn cross_validate(&self, k: usize, optima: &[Vec<f64>]) -> (f64, f64, usize) {
        let rows = self.all_rows();
        let mut perm = rows.clone();
        let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(self.opts.seed, u64::MAX));
        for i in (1..perm.len()).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        let starts: Vec<Vec<f64>> = optima.iter().take(4).cloned().collect();
        let errs: Vec<(f64, f64)> = (0..k)
            .into_par_iter()
            .map(|f| {
                let test: Vec<u32> = perm.iter().enumerate().filter(|(i, _)| i % k == f).map(|(_, &r)| r).collect();
                let mut w = self.data.w.clone();
                for &r in &test {
                    w[r as usize] = 0.0;
                }
                let fit = self.best_of(&starts, &w);
                test.iter().fold((0.0, 0.0), |(a, b), &i| {
                    let i = i as usize;
                    let lp = self.log_pred(&fit.theta, i);
                    (a + (lp - self.data.y[i]).powi(2), b + (lp.exp() - self.data.y[i].exp()).powi(2))
                })
            })
            .collect();
        let n = rows.len() as f64;
        let (a, b) = errs.iter().fold((0.0, 0.0), |(a, b), e| (a + e.0, b + e.1));
        ((a / n).sqrt(), (b / n).sqrt(), k)
    }
}

fn failed(start: &[f64], status: String) -> LocalFit {
    LocalFit {
        theta: start.to_vec(),
        objective: f64::INFINITY,
        iterations: 0,
        evaluations: 0,
        status,
        converged: false,
    }
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
        assert!(e.contains("too few rows") && e.contains("need at least 6"), "{e}");
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
