//! Start points of the multi-start: Epoch AI's grid for 5-parameter laws, else a Latin
//! hypercube, plus the law's own values when given.

use super::*;

impl<'a, M: FitModel> Fitter<'a, M> {
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
        // Fixed coefficients take their value in every start: they are not searched over.
        let fixed = self.fixed_theta();
        let free = fixed.iter().filter(|f| f.is_none()).count();
        let starts = match &self.opts.starts {
            Starts::Auto if free <= 6 => Starts::Grid,
            Starts::Auto => Starts::Lhs(DEFAULT_LHS_STARTS),
            s => s.clone(),
        };
        match starts {
            Starts::Grid => {
                let levels: Vec<Vec<f64>> = kinds
                    .iter()
                    .zip(&fixed)
                    .map(|(k, f)| match (k, f) {
                        (_, Some(v)) => vec![*v],
                        (k, None) => Self::grid_levels(*k),
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

    /// Epoch's grid levels for one coefficient kind (θ units).
    fn grid_levels(k: CoefKind) -> Vec<f64> {
        match k {
            CoefKind::Constant => vec![-1.0, -0.5, 0.0, 0.5, 1.0],
            CoefKind::Scale => vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0],
            CoefKind::Exponent => vec![0.0, 0.5, 1.0, 1.5, 2.0],
        }
    }

    /// θ of each fixed coefficient (None: fitted).
    pub(super) fn fixed_theta(&self) -> Vec<Option<f64>> {
        self.model
            .bounds()
            .iter()
            .zip(self.model.fixed())
            .map(|(b, f)| if f { b.map(|(lo, _)| lo) } else { None })
            .collect()
    }

    #[allow(clippy::needless_range_loop)]
    pub(super) fn lhs(&self, n: usize) -> Vec<Vec<f64>> {
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
        let fixed = self.fixed_theta();
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
            for (j, f) in fixed.iter().enumerate() {
                if let Some(v) = f {
                    p[j] = *v;
                }
            }
            // Put each scale so that its term is about `target` at the mean features: with
            // scales at 0, log-pred's gradient gives each scale's term share; the term's log
            // value at the mean is the exponent part, obtained per scale by a unit probe.
            for j in 0..d {
                if kinds[j] != CoefKind::Scale || fixed[j].is_some() {
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
}
