//! Fit options: the Huber δ, start strategy, drop rule, bounds and cross-validation.

use super::*;

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

impl std::str::FromStr for Starts {
    type Err = Error;

    /// `auto`, `grid` or `lhs:N` (N ≥ 1), as `--starts` takes them.
    fn from_str(s: &str) -> Result<Starts> {
        Ok(match s {
            "auto" => Starts::Auto,
            "grid" => Starts::Grid,
            other => match other.strip_prefix("lhs:").map(str::parse::<usize>) {
                Some(Ok(n)) if n > 0 && n <= crate::limits::MAX_ITERATIONS => Starts::Lhs(n),
                _ => {
                    return Err(Error::Unsupported(format!(
                        "--starts = \"{other}\": must be auto, grid or lhs:N with 1 ≤ N ≤ {}",
                        crate::limits::MAX_ITERATIONS
                    )))
                }
            },
        })
    }
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
