//! [`RobustModel`]: what both robust variants share, the sample laws and the per-width rows
//! under the point cost model and under each latency sample, and the re-check of a pick.

use super::*;

/// Everything both robust variants share: the sample laws, and the per-width rows under the
/// point cost model and under each latency sample.
pub(super) struct RobustModel<'a> {
    pub(super) inst: &'a Instance,
    pub(super) spec: &'a RobustSpec,
    pub(super) problem: &'a Problem<'a>,
    pub(super) laws: Vec<Arc<dyn LossLaw>>,
    /// Point-model rows (with budget linears).
    pub(super) point_rows: Vec<WidthRow>,
    /// Per latency sample: rows with budget linears (chance constraint only).
    pub(super) sample_rows: Vec<Vec<WidthRow>>,
    pub(super) need: usize,
    /// Non-law objective per design, split: depth part, width part, per-layer part.
    pub(super) term_f: Vec<f64>,
    pub(super) term_g: Vec<f64>,
    pub(super) term_h: Vec<f64>,
}

impl<'a> RobustModel<'a> {
    pub(super) fn new(problem: &'a Problem<'a>) -> Result<Self> {
        let inst = problem.inst;
        let spec: &RobustSpec = inst.robust.as_deref().ok_or_else(|| {
            Error::Unsupported("robust selection needs a [robust] section (or --risk/--samples)".into())
        })?;
        spec.validate()?;
        let laws: Vec<Arc<dyn LossLaw>> = if spec.coefficients.is_empty() {
            vec![inst.law.clone()]
        } else {
            spec.coefficients.iter().map(|c| inst.law.with_coefficients(c)).collect::<Result<_>>()?
        };
        let point_rows = problem.rows(true);
        let (sample_rows, need) = match spec.chance_epsilon {
            None => (Vec::new(), 0),
            Some(eps) => {
                let rows = spec
                    .latency
                    .par_iter()
                    .map(|t| {
                        let mut j = inst.clone();
                        for (k, s) in j.scenarios.iter_mut().enumerate() {
                            if spec.latency_scenarios.as_ref().is_none_or(|v| v.contains(&k)) {
                                s.hardware = t.apply(&s.hardware);
                            }
                        }
                        Ok(Problem::new(&j)?.rows(true))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let jn = spec.latency.len() as f64;
                (rows, (((1.0 - eps) * jn) - 1e-9).ceil().max(0.0) as usize)
            }
        };
        // Non-law parts of the objective: the separable split minus the point law's parts.
        let lw = inst.loss_weight;
        let law = inst.law.as_ref();
        let depths = &inst.space.depths;
        let (term_f, term_g, term_h) = if problem.structure == Structure::Separable {
            let f =
                depths.iter().enumerate().map(|(i, &l)| problem.depth_obj[i] - lw * law.depth_part(l as f64)).collect();
            let g = (0..inst.space.widths.len())
                .map(|w| {
                    let x = LawInputs::from_arch(&inst.space.widths[w].arch(1), inst.tokens);
                    point_rows[w].g - if lw > 0.0 { lw * law.width_part(&x) } else { 0.0 }
                })
                .collect();
            let h = point_rows.iter().map(|r| r.h).collect();
            (f, g, h)
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        Ok(RobustModel { inst, spec, problem, laws, point_rows, sample_rows, need, term_f, term_g, term_h })
    }

    /// Number of latency samples in which design (w, i) meets every budget.
    pub(super) fn latency_ok(&self, w: usize, i: usize) -> usize {
        self.sample_rows.iter().filter(|r| r[w].lmax.is_some_and(|m| i <= m)).count()
    }

    pub(super) fn admissible(&self, w: usize, i: usize) -> bool {
        if self.sample_rows.is_empty() {
            self.point_rows[w].lmax.is_some_and(|m| i <= m)
        } else {
            self.latency_ok(w, i) >= self.need
        }
    }

    /// Objective of design (w, i) under each coefficient sample.
    pub(super) fn sample_objectives(&self, w: usize, i: usize, buf: &mut Vec<WidthCosts>) -> Vec<f64> {
        let inst = self.inst;
        let lw = inst.loss_weight;
        let l = inst.space.depths[i];
        let arch = inst.space.widths[w].arch(l);
        let x = LawInputs::from_arch(&arch, inst.tokens);
        let extra = if inst.terms.is_empty() {
            0.0
        } else {
            self.problem.costs(w, buf);
            self.problem.full_objective(w, buf, l) - lw * inst.law.loss(&x)
        };
        self.laws.iter().map(|law| lw * law.loss(&x) + extra).collect()
    }

    /// Number of latency samples in which design (w, i) meets every budget, recomputed with
    /// the full cost model per sample (independent of the per-width rows the solvers use).
    pub(super) fn latency_ok_direct(&self, w: usize, i: usize) -> Result<usize> {
        let inst = self.inst;
        let wc = &inst.space.widths[w];
        let arch = wc.arch(inst.space.depths[i]);
        let params = arch.params();
        let mut ok = 0;
        for t in &self.spec.latency {
            let sampled = |k: usize| self.spec.latency_scenarios.as_ref().is_none_or(|v| v.contains(&k));
            let metrics =
                scenario_metrics(inst, wc, &arch, |k| sampled(k).then(|| t.apply(&inst.scenarios[k].hardware)))?;
            ok += inst.budgets.iter().all(|b| b.metric.value(&metrics[b.scenario], &params) <= b.limit) as usize;
        }
        Ok(ok)
    }

    /// The outcome of a variant: the pick with its risk value as objective, and the report
    /// with the pick re-checked from scratch (per latency sample with the full cost model).
    pub(super) fn finish(&self, pick: Option<(usize, usize)>) -> Result<RawSolution> {
        let risk = self.spec.risk;
        let mut out = RawSolution::empty(if pick.is_some() { Status::Optimal } else { Status::Infeasible });
        let mut report = RobustReport {
            risk,
            value: None,
            loss_mean: None,
            loss_point: None,
            latency_ok_share: None,
            latency_required_share: (!self.sample_rows.is_empty())
                .then(|| self.need as f64 / self.sample_rows.len() as f64),
            coefficient_samples: if self.laws.len() > 1 { self.laws.len() } else { 0 },
            latency_samples: self.sample_rows.len(),
        };
        let mut verified = true;
        if let Some((w, i)) = pick {
            let inst = self.inst;
            let d = evaluate(inst, w, i)?;
            let mut v = self.sample_objectives(w, i, &mut Vec::new());
            let x = LawInputs::from_arch(&d.arch, inst.tokens);
            report.loss_mean = Some(self.laws.iter().map(|l| l.loss(&x)).sum::<f64>() / self.laws.len() as f64);
            let value = risk.of(&mut v);
            report.value = Some(value);
            verified = if self.sample_rows.is_empty() {
                d.verified
            } else {
                let direct = self.latency_ok_direct(w, i)?;
                report.latency_ok_share = Some(self.latency_ok(w, i) as f64 / self.sample_rows.len() as f64);
                direct >= self.need
            };
            report.loss_point = Some(d.loss);
            out.picks.push(Pick { width: w, depth: i, objective: value });
        }
        out.robust = Some((report, verified));
        Ok(out)
    }
}
