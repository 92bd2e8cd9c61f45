//! The data layout the inner loop reads: log features, log loss and weights, row-major
//! ([`FitData`]), and the rows of one fit gathered contiguously ([`Compact`]).

use super::*;

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
