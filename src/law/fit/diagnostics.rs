//! What a fit says about itself: identifiability warnings (dead terms, near-singular
//! curvature), quality measures and k-fold cross-validation.

use super::*;

impl<'a, M: FitModel> Fitter<'a, M> {
    /// Warnings on weak identifiability at θ: dead terms (with what the law no longer
    /// depends on) and near-singular curvature. Fixed coefficients are not judged.
    pub(super) fn identifiability(&self, theta: &[f64], rows: &[u32]) -> Vec<Warning> {
        let names = self.model.names();
        let kinds = self.model.kinds();
        let fixed = self.model.fixed();
        let mut out = Vec::new();
        // Dead terms: contribute a negligible share of the loss in every row.
        let mut share = vec![0.0f64; theta.len()];
        let mut any = false;
        for &i in rows {
            for (c, s) in self.model.term_weights(theta, self.data.row(i as usize)) {
                share[c] = share[c].max(s);
                any = true;
            }
        }
        if any {
            let dead: Vec<bool> = (0..theta.len()).map(|c| kinds[c].is_log() && share[c] < 1e-6).collect();
            // Variables some live term still reads.
            let live: Vec<Var> = (0..theta.len())
                .filter(|&c| kinds[c] == CoefKind::Scale && !dead[c])
                .flat_map(|c| self.model.term_variables(c))
                .collect();
            for c in (0..theta.len()).filter(|&c| dead[c] && !fixed[c]) {
                let value = theta[c].exp();
                let message = if kinds[c] == CoefKind::Constant {
                    format!(
                        "the constant `{}` fitted to {value:.3e} is below 1e-6 of the loss in every row: the law now has \
                         no irreducible loss (its prediction falls towards 0 for large designs); fix it with \
                         --fix {}=VALUE if the data should not decide that",
                        names[c], names[c]
                    )
                } else {
                    let vars = self.model.term_variables(c);
                    let lost: Vec<String> =
                        vars.iter().filter(|v| !live.contains(v)).map(|v| v.meaning().to_string()).collect();
                    let effect = if lost.is_empty() {
                        if vars.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "; its variables ({}) still enter through other terms",
                                vars.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
                            )
                        }
                    } else {
                        format!(
                            ", and the fitted law now ignores {}: designs that differ only there get the same \
                             predicted loss. If the effect is real but these rows cannot show it, fix the term \
                             (--fix {}=VALUE) or add rows that vary it",
                            lost.join(" and "),
                            names[c]
                        )
                    };
                    format!(
                        "`{}` fitted to {value:.3e}: its term is below 1e-6 of the loss in every row, so it and its \
                         exponents are not identifiable{effect}",
                        names[c]
                    )
                };
                out.push(Warning::new("dead_term", message));
            }
        }
        // Curvature of the log-predictions (Gauss–Newton JᵀJ with unit-scaled columns), over
        // the fitted coefficients only.
        let free: Vec<usize> = (0..theta.len()).filter(|&c| !fixed[c]).collect();
        let d = free.len();
        if d == 0 {
            return out;
        }
        let mut jtj = nalgebra::DMatrix::<f64>::zeros(d, d);
        let mut full = vec![0.0; theta.len()];
        for &i in rows {
            self.model.log_pred(theta, self.data.row(i as usize), &mut full);
            for a in 0..d {
                for b in 0..d {
                    jtj[(a, b)] += full[free[a]] * full[free[b]];
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
                idx.iter().take(3).filter(|&&a| v[a].abs() > 0.2).map(|&a| names[free[a]].as_str()).collect();
            out.push(Warning::new(
                "weakly_identifiable",
                format!(
                    "weakly identifiable: the data barely constrain a combination of {} (curvature ratio {:.1e}); \
                     fixing one of them (--fix NAME=VALUE) removes the ambiguity",
                    involved.join(", "),
                    lmin / lmax
                ),
            ));
        }
        out
    }

    /// Predicted log loss of row i at θ.
    pub fn log_pred(&self, theta: &[f64], i: usize) -> f64 {
        let mut g = [0.0; MAX_PARAMS];
        self.model.log_pred(theta, self.data.row(i), &mut g[..theta.len()])
    }

    pub(super) fn quality(&self, theta: &[f64], optima: &[Vec<f64>]) -> Quality {
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
    pub(super) fn cross_validate(&self, k: usize, optima: &[Vec<f64>]) -> (f64, f64, usize) {
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
