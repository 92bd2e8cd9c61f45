//! The Huber objective in log space as an argmin problem, and the logistic transform that
//! keeps bounded coefficients inside their bounds.

use super::*;

pub(super) struct FitObjective<'a, M: FitModel> {
    pub(super) model: &'a M,
    pub(super) data: &'a Compact,
    pub(super) delta: f64,
    /// Bounded coordinates are optimised as u with θ = lo + (hi − lo)·σ(u), so L-BFGS stays
    /// unconstrained.
    pub(super) bounds: &'a [Option<(f64, f64)>],
    pub(super) cache: RefCell<(Vec<f64>, f64, Vec<f64>)>,
    pub(super) evals: Cell<u64>,
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
    pub(super) fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
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

pub(super) fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// θ from the optimiser's free coordinates (identity where unbounded; borrowed, without a
/// copy, when nothing is bounded: the objective's hot path).
pub(super) fn from_free<'u>(bounds: &[Option<(f64, f64)>], u: &'u [f64]) -> std::borrow::Cow<'u, [f64]> {
    if bounds.iter().all(Option::is_none) {
        return std::borrow::Cow::Borrowed(u);
    }
    u.iter().zip(bounds).map(|(&x, b)| b.map_or(x, |(lo, hi)| lo + (hi - lo) * sigmoid(x))).collect()
}

/// Free coordinates of θ; a value on or outside a bound starts just inside it.
pub(super) fn to_free(bounds: &[Option<(f64, f64)>], theta: &[f64]) -> Vec<f64> {
    theta
        .iter()
        .zip(bounds)
        .map(|(&t, b)| {
            b.map_or(t, |(lo, hi)| {
                if hi <= lo {
                    return 0.0; // a fixed coefficient: any coordinate maps to it
                }
                let p = ((t - lo) / (hi - lo)).clamp(1e-6, 1.0 - 1e-6);
                (p / (1.0 - p)).ln()
            })
        })
        .collect()
}
