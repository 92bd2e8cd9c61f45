//! [`Fitter`]: prepares the data for a model and runs the multi-start L-BFGS; the result
//! types ([`Fit`], [`LocalFit`], [`Quality`]).

use super::*;

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
    pub warnings: Vec<Warning>,
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
        let fixed = model.fixed();
        let free: Vec<&str> = model.names().iter().zip(&fixed).filter(|(_, f)| !**f).map(|(n, _)| n.as_str()).collect();
        let p = free.len();
        let used = kept.weights.iter().filter(|w| **w > 0.0).count();
        if used <= p {
            let held = fixed.iter().filter(|f| **f).count();
            return Err(Error::invalid(
                &fo,
                "rows",
                used,
                format!(
                    "too few rows with positive weight: {used} rows for {p} free coefficients ({}){}; a fit needs at \
                     least {} rows (one more than the free coefficients). Fix {} coefficient(s) to known values \
                     (`colaw fit --fix NAME=VALUE`, repeatable, or `fixed = [\"NAME\", …]` in the law file; \
                     docs/fitting.md, \"Few rows\"), fit a simpler law with `--law` (a law file with fewer terms, or \
                     e.g. `--law chinchilla`: 5 coefficients), or add rows",
                    free.join(", "),
                    if held > 0 { format!(" and {held} fixed") } else { String::new() },
                    p + 1,
                    p + 1 - used
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
            if *kind != CoefKind::Exponent || fixed[k] {
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
                         give data where it varies or fix the exponent (`--fix {}=VALUE`, or a number in the law file)",
                        v.name(),
                        model.names()[k],
                        model.names()[k]
                    ),
                ));
            }
        }
        let dropped = obs.len() - kept.len();
        Ok(Fitter { model, data, opts, obs: kept, dropped })
    }

    /// All rows.
    pub(super) fn all_rows(&self) -> Vec<u32> {
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
    pub(super) fn local_free(&self, start: &[f64], data: &Compact, bounds: &[Option<(f64, f64)>]) -> LocalFit {
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
}
impl<'a, M: FitModel> Fitter<'a, M> {
    /// Fit from the start set (θ of the law's own values as an optional extra start).
    pub fn fit(&self, law_start: Option<&[f64]>) -> Result<Fit> {
        let t0 = Instant::now();
        if let Some(s) = law_start {
            let d = self.model.kinds().len();
            if s.len() != d {
                return Err(Error::Unsupported(format!(
                    "the fit's start has {} values but the law has {d} coefficients",
                    s.len()
                )));
            }
        }
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
            warnings.push(Warning::new(
                "multi_modal",
                format!(
                    "only {starts_at_best} of {} starts reached the best objective (within {:e}): the fit is multi-modal \
                     or hard; more starts may find a better optimum",
                    starts.len(),
                    self.opts.best_rel_tol
                ),
            ));
        }
        if !best.converged {
            warnings.push(Warning::new(
                "not_converged",
                format!("the best start did not meet the convergence tolerances ({})", best.status),
            ));
        }
        warnings.extend(self.identifiability(&best.theta, &rows));
        let k = self.opts.cv_folds;
        if k >= 2 && rows.len() < 2 * k {
            warnings.push(Warning::new(
                "cv_skipped",
                format!(
                    "cross-validation skipped: {k}-fold CV needs at least {} rows (2 per fold) and the fit has {}; \
                     cv_rmse is not reported, so nothing checks how the law predicts unseen designs ({})",
                    2 * k,
                    rows.len(),
                    if rows.len() >= 4 {
                        format!("--cv-folds {} would run it; or add rows", rows.len() / 2)
                    } else {
                        "add rows".to_string()
                    }
                ),
            ));
        }
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
}
pub(super) fn failed(start: &[f64], status: String) -> LocalFit {
    LocalFit {
        theta: start.to_vec(),
        objective: f64::INFINITY,
        iterations: 0,
        evaluations: 0,
        status,
        converged: false,
    }
}
