//! The outer loop: fit → choose → measure → refit, until the choice is certain.
//!
//! Round r (1-based):
//! 1. fit the instance's law form to the data (the initial CSV plus every successful oracle
//!    result of rounds < r, in the order they were asked), warm-started from round r − 1's
//!    coefficients (round 1 starts from the instance law's own values plus
//!    [`LoopOptions::starts`]), and bootstrap it ([`LoopOptions::bootstrap`] resamples, seed
//!    mixed from ([`LoopOptions::seed`], r));
//! 2. compute the region of the instance under the bootstrap samples
//!    ([`crate::region::region`]): P(optimal) per design; the choice is the design optimal in
//!    the most samples, its *confidence* that share;
//! 3. stop when the confidence reaches [`LoopOptions::stop_confidence`], or when
//!    [`LoopOptions::rounds`] rounds have measured (round R + 1 only fits and chooses);
//! 4. otherwise pick [`LoopOptions::per_round`] designs never measured before
//!    ([`Strategy`]), call the oracle on them in parallel (retries, timeouts) and record every
//!    attempt in the journal.
//!
//! The journal ([`Journal`]) makes the loop resumable: a round's choice (the designs it asks)
//! is written before any oracle call, every finished call is one fsynced JSON line, so a
//! killed loop resumes by redoing only the calls that had not finished. Each round's fit
//! depends only on the journal's data, so a resumed loop asks exactly the designs an
//! uninterrupted one would.

use crate::error::{Error, Origin, Result};
use crate::instance::Instance;
use crate::law::bootstrap::{bootstrap, write_samples, BootstrapOptions};
use crate::law::fit::{huber_objective, to_theta, to_values, CoefKind, Fit, FitModel, FitOptions, LseModel, Starts};
use crate::law::noise::{
    fit_seed_weighted, flag_outliers, lack_of_fit_at, log_residuals, LackOfFit, OutlierCheck, OUTLIER_Z,
};
use crate::law::posterior::{posterior, MapPoint, PosteriorMethod, PosteriorOptions};
use crate::law::{read_observations, ColumnMap, LossLaw, PowerLaw};
use crate::oracle::{design_key, Design, FailureKind, Oracle, Reply};
use crate::plot::Series;
use crate::region::{region, Region, RegionOptions};
use crate::util::rng::mix_seed;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

mod data;
mod journal;
mod options;
mod pick;
mod plots;
mod run;
use data::*;
pub use data::{data_csv, data_csv_replies, feasible_designs, initial_data, lhs_pick, DATA_COLUMNS};
use journal::*;
pub use journal::{
    call_line, json_from_str, parse_call_line, CallRecord, Extension, Journal, Outlier, OutlierStatus, RoundRecord,
    State,
};
pub use options::{LoopOptions, Strategy, Uncertainty};
pub use pick::pick;

/// Outcome of a loop.
#[derive(Debug, Clone, Serialize)]
pub struct LoopReport {
    /// Every round, in order.
    pub rounds: Vec<RoundRecord>,
    /// Oracle attempts recorded in the journal (over all runs of this journal).
    pub calls: usize,
    /// Oracle attempts made by this run, the initial designs' (`--init`) and retries included
    /// (0 when everything was already journaled).
    pub calls_this_run: usize,
    /// Designs measured successfully by the oracle (rows it added to `data.csv`).
    pub measured: usize,
    /// Designs whose every attempt failed.
    pub failed: usize,
    /// The designs given up, with the last failure's kind and message.
    pub failures: Vec<FailureSummary>,
    /// Rows flagged as outliers and what became of them.
    pub outliers: Vec<OutlierStatus>,
    /// Things the user should know about this run (a finished journal resumed, an extension).
    pub notes: Vec<String>,
    /// Final choice.
    pub choice: Option<Design>,
    /// Its confidence.
    pub confidence: f64,
    /// Why the loop stopped.
    pub stop: String,
    /// Journal folder.
    pub journal: String,
}

/// A design whose every attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureSummary {
    /// Round that asked it.
    pub round: usize,
    /// Its call key.
    pub key: String,
    /// Attempts made.
    pub attempts: usize,
    /// Kind of the last failure.
    pub kind: Option<FailureKind>,
    /// Its message.
    pub error: String,
}

/// The designs given up in the journal's calls, with their last failure.
fn failure_summaries(calls: &[CallRecord], fin: &HashMap<String, Option<Reply>>) -> Vec<FailureSummary> {
    let mut out: Vec<FailureSummary> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in calls {
        let k = c.design.call_key();
        if !matches!(fin.get(&k), Some(None)) {
            continue;
        }
        let s = FailureSummary {
            round: c.round,
            key: k.clone(),
            attempts: 0,
            kind: c.failure,
            error: c.error.clone().unwrap_or_default(),
        };
        let i = *seen.entry(k).or_insert_with(|| {
            out.push(s.clone());
            out.len() - 1
        });
        out[i] = FailureSummary { attempts: out[i].attempts + 1, round: out[i].round, ..s };
    }
    out
}

/// Summary line of a round (stderr).
pub fn summary_line(r: &RoundRecord, ok: usize, failed: usize) -> String {
    let choice = r.choice.as_ref().map_or("none".to_string(), |d| d.key.clone());
    let mut s = format!(
        "round {}: {} rows, objective {:.3e}, choice {} P(optimal) {:.2} (predicted loss {:.4}), {} contenders of {}",
        r.round, r.rows, r.objective, choice, r.confidence, r.choice_loss, r.contenders, r.candidates
    );
    if let (Some(sigma), Some(p_eff), Some(dof)) = (r.sigma_log, r.p_eff, r.noise_dof) {
        s.push_str(&format!(
            ", {}: σ(log loss) {sigma:.4}, data fix {p_eff:.1} coefficients, ν {dof:.1}",
            r.uncertainty
        ));
    }
    if r.bootstrap_non_finite > 0 {
        let what =
            if r.uncertainty.is_empty() || r.uncertainty == "bootstrap" { "bootstrap refits" } else { "samples" };
        s.push_str(&format!(", {} {what} ran off to ±∞ (dropped)", r.bootstrap_non_finite));
    }
    if let Some(note) = &r.point_fallback {
        s.push_str(&format!(" ({note})"));
    }
    if let Some(l) = r.lack_of_fit.filter(|l| l.misfits()) {
        s.push_str(&format!(
            ", the law's form misfits these rows: {} — P(optimal) is bounded by the form, not by the data",
            l.summary()
        ));
    }
    if !r.outliers.is_empty() {
        let what: Vec<String> =
            r.outliers.iter().map(|o| format!("{} z = {:.1}: {}", o.label, o.z, o.action)).collect();
        s.push_str(&format!(", {} outlier(s) flagged ({})", r.outliers.len(), what.join("; ")));
    }
    if !r.asked.is_empty() || !r.reask.is_empty() {
        s.push_str(&format!(", asked {} ({ok} ok, {failed} failed)", r.asked.len() + r.reask.len()));
    }
    if let Some(why) = &r.stop {
        s.push_str(&format!("; stop: {why}"));
    }
    s
}

/// The outer loop over one instance.
pub struct OuterLoop<'a> {
    /// The instance (its law's form is fitted; its values start round 1).
    pub inst: &'a Instance,
    /// The oracle.
    pub oracle: &'a dyn Oracle,
    /// Settings.
    pub opts: LoopOptions,
    /// The journal.
    pub journal: Journal,
    /// Called with each round's summary line (e.g. print to stderr).
    pub on_round: Option<&'a (dyn Fn(&str) + Sync)>,
    /// Called with a line for every oracle attempt as it finishes (slow oracles: progress).
    pub on_call: Option<&'a (dyn Fn(&str) + Sync)>,
    /// Oracle attempts made by this value (initial designs, rounds, retries).
    calls_made: AtomicUsize,
}

/// The rows of `data.csv` as the loop last wrote them, aligned with the fit's rows.
#[derive(Debug, Clone, Default)]
pub(super) struct DataRows {
    /// Row ids: `initial:LINE` or the measurement's call key.
    ids: Vec<String>,
    /// Each row's design, when known (re-askable).
    designs: Vec<Option<Design>>,
    /// Rows the oracle measured.
    measured: usize,
    /// Flagged rows and their fate.
    statuses: Vec<OutlierStatus>,
}

struct Fitted {
    law: PowerLaw,
    values: Vec<f64>,
    objective: f64,
    rows: usize,
    samples: Vec<Vec<f64>>,
    ci95: Vec<(f64, f64)>,
    non_finite: usize,
    map: Option<MapPoint>,
    /// Set when the best optimum ran a coefficient off to ±∞ and a finite one was used.
    point_fallback: Option<String>,
    /// The outlier check of the fit (None with too few rows).
    check: Option<OutlierCheck>,
    /// Log loss and log prediction of every data row, and its weight in the fit.
    y_log: Vec<f64>,
    pred_log: Vec<f64>,
    weights: Vec<f64>,
    /// The floor added to each row's seed variance, when `loss_sd` weights were used.
    seed_floor: Option<f64>,
    /// The lack-of-fit test against the seeds' pure error (rows with several seeds only).
    lack: Option<LackOfFit>,
}

/// The point fit the loop can journal and warm-start from: `fit` itself when every value is
/// finite, else its best distinct optimum whose values are all finite (a coefficient that
/// ran off to ±∞ in natural units, e.g. κ_m with α_m large, cannot be written to the journal
/// nor predict a loss), with a note saying what was replaced. Errors when no optimum is
/// finite: the law has more freedom than the data fix.
fn finite_point(
    fit: &Fit,
    kinds: &[CoefKind],
    mut objective_at: impl FnMut(&[f64]) -> f64,
) -> Result<(Fit, Option<String>)> {
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if finite(&fit.values) {
        return Ok((fit.clone(), None));
    }
    let bad: Vec<&str> =
        fit.names.iter().zip(&fit.values).filter(|(_, v)| !v.is_finite()).map(|(n, _)| n.as_str()).collect();
    let Some((k, theta)) = fit.optima.iter().enumerate().find(|(_, t)| finite(&to_values(kinds, t))) else {
        return Err(Error::Unsupported(format!(
            "the point fit ran {} off to ±∞ and none of its {} other optima is finite: the data do not fix the \
             law's coefficients; add rows (--init) or bound the law's exponents in its file",
            bad.join(", "),
            fit.optima.len()
        )));
    };
    let mut out = fit.clone();
    out.theta = theta.clone();
    out.values = to_values(kinds, theta);
    out.objective = objective_at(theta);
    let note = format!(
        "the best optimum (objective {:.4e}) ran {} off to ±∞; used optimum {} of {} instead (objective {:.4e})",
        fit.objective,
        bad.join(", "),
        k + 1,
        fit.optima.len(),
        out.objective
    );
    Ok((out, Some(note)))
}

impl<'a> OuterLoop<'a> {
    /// A loop; `data` is copied into the journal as `initial.csv` unless the journal already
    /// has one (resume), in which case it must be the same bytes.
    pub fn new(inst: &'a Instance, oracle: &'a dyn Oracle, opts: LoopOptions, journal: Journal) -> Self {
        OuterLoop { inst, oracle, opts, journal, on_round: None, on_call: None, calls_made: AtomicUsize::new(0) }
    }

    fn fit_round(&self, r: usize, warm: Option<&[f64]>) -> Result<Fitted> {
        let law: &PowerLaw = self.inst.law.as_power_law().ok_or_else(|| {
            Error::Unsupported(format!(
                "the loop refits the law's form, which needs a law file (a power law); `{}` is not one",
                self.inst.law.name()
            ))
        })?;
        let model = LseModel::new(law)?;
        let tokens = self.inst.tokens.or(law.default_tokens());
        let obs = read_observations(&self.journal.data_path(), model.feature_vars(), &ColumnMap::default(), tokens)?;
        let fo = FitOptions {
            starts: if warm.is_some() { Starts::Lhs(self.opts.warm_starts.max(1)) } else { self.opts.starts.clone() },
            cv_folds: 0,
            seed: mix_seed(self.opts.seed, r as u64),
            ..FitOptions::default()
        };
        let k = model.names().len();
        let start = to_theta(model.kinds(), warm.unwrap_or(&law.values));
        // With `loss_sd` rows: weights 1/(v_i + floor), the floor the pooled (robust) residual
        // variance of the fit without them (`crate::law::noise`).
        let refit_starts = Starts::Lhs(self.opts.warm_starts.max(1));
        let (fitter, fit, seed_floor) = fit_seed_weighted(&model, &obs, fo, &start, refit_starts)?;
        let all_rows = fitter.compact(&fitter.data.w);
        let mut grad = vec![0.0; fit.theta.len()];
        let (fit, point_fallback) = finite_point(&fit, model.kinds(), |theta| {
            huber_objective(&model, &all_rows, fitter.opts.huber_delta, theta, &mut grad)
        })?;
        let res = log_residuals(&fitter, &fit.theta);
        let check = flag_outliers(&res, &fitter.data.w, k);
        let lack = lack_of_fit_at(&fitter, &fit.theta, &obs);
        let y_log = fitter.data.y.clone();
        let pred_log: Vec<f64> = y_log.iter().zip(&res).map(|(y, r)| y - r).collect();
        let seed = mix_seed(self.opts.seed, 1_000_000 + r as u64);
        let (b, map) = match &self.opts.uncertainty {
            Uncertainty::Bootstrap => {
                let bo = BootstrapOptions { resamples: self.opts.bootstrap, seed, ..Default::default() };
                (bootstrap(&fitter, &fit, &bo, None), None)
            }
            Uncertainty::Posterior(po) => {
                // The prior is centred on the instance law's own values, never on the previous
                // round's fit (that would count the data twice).
                let po = PosteriorOptions { seed, samples: self.opts.samples, ..*po };
                let (b, m) = posterior(&fitter, &fit, &law.values, &po)?;
                (b, Some(m))
            }
        };
        if b.samples.is_empty() {
            return Err(Error::Unsupported(format!(
                "round {r}: every one of the {} coefficient samples ({}) ran a coefficient off to ±∞; the data do not \
                 fix the law: add rows or bound the law's exponents",
                b.non_finite,
                self.opts.uncertainty.method()
            )));
        }
        let dir = self.journal.round_dir(r);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        write_samples(&dir.join("samples.csv"), &b)?;
        // The round's point law: with a posterior, its mode, which the samples (and so the
        // intervals and P(optimal)) are centred on. The unpenalised fit nearly interpolates a
        // few rows and runs exponents to their bounds; reporting it beside the posterior's
        // intervals put point values outside their own 95 % intervals (12 real rows, L_inf
        // 1.04 against [3.72, 4.83]). It stays in fit.toml as `least_squares`.
        let mode = map.as_ref().map(|m| to_values(model.kinds(), &m.theta)).filter(|v| v.iter().all(|x| x.is_finite()));
        let from_mode = mode.is_some();
        let point_values = mode.unwrap_or_else(|| fit.values.clone());
        let mut fitted = law.with_values(&point_values);
        let mut t = toml::Table::new();
        t.insert("method".into(), "colaw loop: Huber on log loss, LSE form, argmin L-BFGS, warm start".into());
        t.insert("point".into(), if from_mode { "posterior mode (MAP)" } else { "least squares (Huber)" }.into());
        if from_mode {
            let ls: toml::Table =
                b.names.iter().cloned().zip(fit.values.iter().map(|&v| toml::Value::from(v))).collect();
            t.insert("least_squares".into(), ls.into());
        }
        t.insert("round".into(), (r as i64).into());
        t.insert("n".into(), (fit.n as i64).into());
        t.insert("objective".into(), fit.objective.into());
        t.insert("r2".into(), fit.quality.r2.into());
        t.insert("uncertainty".into(), self.opts.uncertainty.method().into());
        match (&self.opts.uncertainty, &map) {
            (Uncertainty::Posterior(po), Some(m)) => {
                t.insert("samples".into(), (b.samples.len() as i64).into());
                t.insert("prior_rel_sd".into(), po.rel_sd.into());
                t.insert("noise_prior_sd".into(), po.noise_sd.into());
                t.insert("noise_prior_dof".into(), po.noise_dof.into());
                t.insert("sigma_log".into(), m.sigma.into());
                t.insert("p_eff".into(), m.p_eff.into());
                t.insert("noise_dof".into(), m.dof.into());
                t.insert("map_converged".into(), m.converged.into());
            }
            _ => {
                t.insert("bootstrap".into(), (b.samples.len() as i64).into());
            }
        }
        if let Some(note) = &point_fallback {
            t.insert("point_fallback".into(), note.clone().into());
        }
        if let Some(floor) = seed_floor {
            t.insert("seed_weights".into(), "1/(v_i + floor), v_i from loss_sd and seeds, mean 1".into());
            t.insert("seed_noise_floor_log".into(), floor.into());
        }
        if let Some(l) = &lack {
            t.insert("lack_of_fit_f".into(), l.f.into());
            t.insert("lack_of_fit_p".into(), l.p_value.into());
            t.insert("lack_of_fit".into(), l.summary().into());
        }
        if let Some(c) = &check {
            t.insert("residual_scale_log".into(), c.scale_log.into());
            t.insert("outliers_flagged".into(), (c.flagged.len() as i64).into());
        }
        let mut ci = toml::Table::new();
        for (k, n) in b.names.iter().enumerate() {
            ci.insert(n.clone(), toml::Value::Array(vec![b.ci95[k].0.into(), b.ci95[k].1.into()]));
        }
        t.insert("ci95".into(), ci.into());
        fitted.file.fit = Some(t);
        fitted.file.source = Some(format!("fitted by `colaw loop`, round {r}"));
        fitted.file.range = crate::law::observed_range(&obs.inputs);
        fitted.file.range_source = Some(format!("the {} rows of round {r}'s data", obs.len()));
        write_atomic(&dir.join("fit.toml"), fitted.to_toml_string().as_bytes())?;
        Ok(Fitted {
            law: fitted,
            values: point_values,
            objective: fit.objective,
            rows: fit.n,
            non_finite: b.non_finite,
            samples: b.samples,
            ci95: b.ci95,
            map,
            point_fallback,
            check,
            y_log,
            pred_log,
            weights: fitter.data.w.clone(),
            seed_floor,
            lack,
        })
    }

    /// Round 0's designs (`--init`), when the journal measured its initial data.
    fn round0(&self) -> Result<Vec<Design>> {
        Ok(read_json(&self.journal.round_dir(0).join("asked.json"))?.unwrap_or_default())
    }

    /// Rewrite `data.csv`: initial rows, then every measured design in the order asked (a
    /// round's designs, then its re-asks; first round 0's designs that a retry measured after
    /// the initial data were written). Rows a re-ask showed to be outliers are kept with
    /// weight 0 and the reason in `excluded`; then, or when a row has a `loss_sd`, the file
    /// has the columns [`data::EXTRA_COLUMNS`] (else it is the initial file plus rows, as
    /// before these existed).
    fn write_data(&self, rounds: &[RoundRecord], fin: &HashMap<String, Option<Reply>>) -> Result<DataRows> {
        let init = self.journal.initial_path();
        let df = data_keys(&init)?;
        let mut rows = DataRows::default();
        for (i, d) in df.designs.iter().enumerate() {
            rows.ids.push(format!("initial:{}", i + 2));
            rows.designs.push(d.clone());
        }
        let mut measured: Vec<(Design, Reply)> = Vec::new();
        let mut add = |d: &Design, rows: &mut DataRows| {
            if let Some(Some(rep)) = fin.get(&d.call_key()) {
                measured.push((d.clone(), *rep));
                rows.ids.push(d.call_key());
                rows.designs.push(Some(d.clone()));
            }
        };
        for d in self.round0()?.iter().filter(|d| !df.keys.contains(&d.key)) {
            add(d, &mut rows);
        }
        for r in rounds {
            for d in r.asked.iter().chain(&r.reask) {
                add(d, &mut rows);
            }
        }
        rows.measured = measured.len();
        // What each flagged row's re-ask says.
        let mut excluded: HashMap<String, String> = HashMap::new();
        for r in rounds {
            for o in &r.outliers {
                let (status, note) = outlier_fate(o, r.round, fin);
                if status == "excluded" {
                    excluded.entry(o.row.clone()).or_insert_with(|| note.clone());
                }
                rows.statuses.push(OutlierStatus { row: o.row.clone(), round: r.round, z: o.z, status, note });
            }
        }
        let extended = !excluded.is_empty() || measured.iter().any(|(_, r)| r.loss_sd.is_some());
        let text = if !extended {
            let mut text = std::fs::read_to_string(&init).map_err(io_err(&init))?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            for (d, rep) in &measured {
                text.push_str(&data_row(&df.head, d, rep, None).join(","));
                text.push('\n');
            }
            text
        } else {
            let mut head = df.head.clone();
            for c in EXTRA_COLUMNS {
                if !head.iter().any(|h| h == c) {
                    head.push_field(c);
                }
            }
            let mut w = csv::Writer::from_writer(Vec::new());
            let csv_err =
                |e: csv::Error| Error::Unsupported(format!("writing {}: {e}", self.journal.data_path().display()));
            w.write_record(&head).map_err(csv_err)?;
            for (i, rec) in df.records.iter().enumerate() {
                let why = excluded.get(&rows.ids[i]);
                let cells: Vec<String> = head
                    .iter()
                    .enumerate()
                    .map(|(c, h)| match (h, why) {
                        ("weight", Some(_)) => "0".to_string(),
                        ("excluded", Some(why)) => why.clone(),
                        _ if c < df.head.len() => rec.get(c).unwrap_or("").to_string(),
                        ("weight", None) => "1".to_string(),
                        _ => String::new(),
                    })
                    .collect();
                w.write_record(&cells).map_err(csv_err)?;
            }
            for (d, rep) in &measured {
                let why = excluded.get(&d.call_key()).map(String::as_str);
                w.write_record(data_row(&head, d, rep, why)).map_err(csv_err)?;
            }
            let bytes = w.into_inner().map_err(|e| Error::Unsupported(format!("csv: {e}")))?;
            String::from_utf8_lossy(&bytes).into_owned()
        };
        write_atomic(&self.journal.data_path(), text.as_bytes())?;
        Ok(rows)
    }

    /// When `data` does not exist: measure `n` feasible designs spread by [`lhs_pick`] with the
    /// oracle as round 0 of the journal (in parallel, retried, each attempt journaled like a
    /// round's, so a killed run resumes without redoing a finished call), then write the
    /// successful ones to `data`. Returns the designs measured (0 when `data` exists).
    pub fn measure_initial(&self, n: usize, data: &Path) -> Result<usize> {
        if data.exists() || n == 0 {
            return Ok(0);
        }
        self.opts.validate()?;
        let j = &self.journal;
        let _lock = j.lock()?;
        let dir = j.round_dir(0);
        let asked_path = dir.join("asked.json");
        // The designs are fixed once written, so a resumed run asks the same ones.
        let asked: Vec<Design> = match read_json(&asked_path)? {
            Some(asked) => asked,
            None => {
                let asked = lhs_pick(&feasible_designs(self.inst)?, n, self.opts.seed);
                std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                write_atomic(&asked_path, to_json(&asked)?.as_bytes())?;
                asked
            }
        };
        let attempts = 1 + self.opts.retries;
        let (mut calls, _) = j.calls()?;
        let fin = finals(&calls, attempts);
        let mut todo = todo_of(&pending(&asked, &calls, &fin), attempts);
        if self.opts.retry_failed {
            todo.extend(self.given_up(&asked, &calls, &fin, attempts));
        }
        let file = j.calls_appender()?;
        calls.extend(self.call_all(0, &todo, &file)?);
        let fin = finals(&calls, attempts);
        let rows: Vec<(Design, Reply)> =
            asked.iter().filter_map(|d| fin.get(&d.key).copied().flatten().map(|r| (d.clone(), r))).collect();
        if rows.is_empty() {
            let why = failure_summaries(&calls, &fin).first().map(|f| f.error.clone()).unwrap_or_default();
            return Err(Error::Unsupported(format!(
                "every one of the {} initial oracle calls failed (the last: {why}); see {} for every error; fix the \
                 oracle and run the same command again with --retry-failed to re-ask them",
                asked.len(),
                j.calls_path().display()
            )));
        }
        write_atomic(data, data_csv_replies(&rows).as_bytes())?;
        Ok(rows.len())
    }

    /// `--retry-failed`: the designs among `asked` whose every attempt failed, each with a
    /// fresh set of `attempts` attempts (numbered after the ones it used).
    fn given_up(
        &self,
        asked: &[Design],
        calls: &[CallRecord],
        fin: &HashMap<String, Option<Reply>>,
        attempts: usize,
    ) -> Work {
        asked
            .iter()
            .filter(|d| matches!(fin.get(&d.call_key()), Some(None)))
            .map(|d| {
                let used = failures(calls, &d.call_key());
                (d.clone(), used, used + attempts)
            })
            .collect()
    }

    /// Oracle attempts this value has made (initial designs, rounds, retries).
    pub fn calls_made(&self) -> usize {
        self.calls_made.load(Ordering::Relaxed)
    }
}

/// Oracle work: each design with (attempts used, last attempt number).
type Work = Vec<(Design, usize, usize)>;

/// Pending designs as call-all work: attempts from the ones used up to `attempts`.
fn todo_of(pending: &[(Design, usize)], attempts: usize) -> Work {
    pending.iter().map(|(d, used)| (d.clone(), *used, attempts)).collect()
}

/// What a flagged row's re-ask says (`state.json`'s status and note): `excluded` when the
/// re-ask's standardized residual under the flagging round's fit is within
/// [`OUTLIER_Z`] (the first measurement was the fluke), `kept` when the re-ask is as far off
/// (the design really is off the law), failed, or was not made, `re-asked` while pending.
fn outlier_fate(o: &Outlier, round: usize, fin: &HashMap<String, Option<Reply>>) -> (String, String) {
    let flagged =
        format!("flagged in round {round} (loss {:.5}, predicted {:.5}, z = {:.1})", o.loss, o.predicted_loss, o.z);
    let Some(rk) = &o.reask_key else {
        return ("kept".into(), format!("{flagged}; {}", o.action));
    };
    match fin.get(rk) {
        None => ("re-asked".into(), format!("{flagged}; re-ask {rk} not measured yet")),
        Some(None) => ("kept".into(), format!("{flagged}; its re-ask failed, so the row is kept")),
        Some(Some(rep)) => {
            let z = o.weight.sqrt() * (rep.loss.ln() - o.predicted_loss.ln()) / o.scale_log;
            if z.abs() <= OUTLIER_Z {
                ("excluded".into(), format!("{flagged}; re-ask {rk} gave {:.5} (z = {z:.1}): excluded", rep.loss))
            } else {
                ("kept".into(), format!("{flagged}; re-ask {rk} gave {:.5} (z = {z:.1}), as far off: kept", rep.loss))
            }
        }
    }
}

/// A summary of the coefficient intervals (name → [lo, hi]) of a round.
pub fn intervals(r: &RoundRecord) -> BTreeMap<String, [f64; 2]> {
    r.names.iter().zip(&r.ci95).map(|(n, c)| (n.clone(), [c.0, c.1])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::law::fit::Fitter;

    #[test]
    fn finals_count_failures_and_successes() {
        let d = |k: &str| Design { key: k.into(), ..crate::oracle::tests_support::design() };
        let rec = |k: &str, a, l: Option<f64>| CallRecord {
            round: 1,
            key: k.into(),
            attempt: a,
            loss: l,
            error: None,
            seconds: 0.0,
            design: d(k),
            loss_sd: None,
            seeds: None,
            failure: None,
            reask: None,
        };
        let calls =
            vec![rec("a", 1, None), rec("a", 2, Some(3.0)), rec("b", 1, None), rec("c", 1, None), rec("c", 2, None)];
        let f = finals(&calls, 2);
        assert_eq!(f.get("a"), Some(&Some(Reply::of(3.0))));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some(&None));
    }

    #[test]
    fn journal_lines_from_before_the_new_fields_still_read() {
        // A line as journals before loss_sd, failure kinds and re-asks wrote it.
        let d = crate::oracle::tests_support::design();
        let design = serde_json::to_string(&d).unwrap();
        assert!(!design.contains("seed"), "a first ask's design JSON is unchanged");
        let ok = format!(
            "{{\"round\":2,\"key\":\"{}\",\"attempt\":1,\"loss\":3.25,\"seconds\":1.5,\"design\":{design}}}",
            d.key
        );
        let bad = format!(
            "{{\"round\":2,\"key\":\"{}\",\"attempt\":1,\"loss\":null,\"error\":\"exited with 3\",\"seconds\":1.5,\"design\":{design}}}",
            d.key
        );
        let (a, b) = (parse_call_line(ok.as_bytes()).unwrap(), parse_call_line(bad.as_bytes()).unwrap());
        assert_eq!((a.loss, a.loss_sd, a.failure, a.design.seed), (Some(3.25), None, None, 0));
        assert_eq!((b.error.as_deref(), b.failure), (Some("exited with 3"), None));
        assert_eq!(finals(std::slice::from_ref(&b), 1).get(&d.key), Some(&None));
        assert_eq!(finals(&[b, a], 2).get(&d.key), Some(&Some(Reply::of(3.25))));
        // A state.json without extensions or outliers.
        let state = r#"{"version":1,"instance":"x","oracle":"o","data_sha256":"ab","rounds_done":3,"calls":12,"finished":null}"#;
        let s: State = serde_json::from_str(state).unwrap();
        assert!(s.extensions.is_empty() && s.outliers.is_empty());
    }

    #[test]
    fn torn_journal_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path()).unwrap();
        let d = crate::oracle::tests_support::design();
        let rec = CallRecord {
            round: 1,
            key: d.key.clone(),
            attempt: 1,
            loss: Some(3.0),
            error: None,
            seconds: 0.1,
            design: d,
            loss_sd: Some(0.01),
            seeds: Some(3),
            failure: None,
            reask: None,
        };
        let line = serde_json::to_string(&rec).unwrap();
        std::fs::write(j.calls_path(), format!("{line}\n{}", &line[..20])).unwrap();
        let (calls, dropped) = j.calls().unwrap();
        assert_eq!(calls, vec![rec]);
        assert_eq!(dropped, 20);
        assert_eq!(std::fs::read_to_string(j.calls_path()).unwrap(), format!("{line}\n"));
    }

    /// A fit of L = A·N^−alpha to noisy rows, and the θ of its optimum.
    fn one_term_fit() -> (Fit, Vec<CoefKind>, impl Fn(&[f64]) -> f64) {
        let text = "name = \"one-term\"\n[coefficients]\nA = 20.0\nalpha = 0.1\n[form]\n[[form.terms]]\n\
                    coef = \"A\"\npow = { params = \"-alpha\" }\n";
        let law = PowerLaw::from_toml_str(text, &Origin::default()).unwrap();
        let model = LseModel::new(&law).unwrap();
        let ns = [1e8, 3e8, 1e9, 3e9];
        let inputs = ns
            .iter()
            .map(|&n| {
                let mut x = crate::law::LawInputs::unknown();
                x.set(crate::law::Var::Params, n);
                x
            })
            .collect();
        let loss: Vec<f64> =
            ns.iter().enumerate().map(|(i, n)| 20.0 * n.powf(-0.1) * (1.0 + 0.01 * i as f64)).collect();
        let obs = crate::law::Observations::new(inputs, loss);
        let fitter =
            Fitter::new(&model, &obs, FitOptions { starts: Starts::Lhs(10), cv_folds: 0, ..Default::default() })
                .unwrap();
        let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values))).unwrap();
        let data = fitter.compact(&fitter.data.w);
        let delta = fitter.opts.huber_delta;
        let kinds = model.kinds().to_vec();
        let objective = move |t: &[f64]| huber_objective(&model, &data, delta, t, &mut [0.0; 2]);
        (fit, kinds, objective)
    }

    #[test]
    fn a_point_fit_off_to_infinity_falls_back_to_the_best_finite_optimum() {
        let (fit, kinds, objective) = one_term_fit();
        // A finite fit is kept as it is.
        let (same, note) = finite_point(&fit, &kinds, &objective).unwrap();
        assert_eq!((same.values.clone(), note), (fit.values.clone(), None));
        // The best optimum has log A = 800 (A = e^800 = ∞ in f64: unjournalable); the second
        // is the real fit.
        let mut bad = fit.clone();
        let far = vec![800.0, 5.0];
        bad.theta = far.clone();
        bad.values = to_values(&kinds, &far);
        assert!(bad.values[0].is_infinite());
        bad.optima = vec![far.clone(), fit.theta.clone()];
        let (ok, note) = finite_point(&bad, &kinds, &objective).unwrap();
        assert_eq!(ok.values, fit.values);
        assert_eq!(ok.theta, fit.theta);
        // Its objective is recomputed at the optimum used, not copied from the infinite one.
        assert!((ok.objective - objective(&fit.theta)).abs() <= 1e-12 * (1.0 + ok.objective.abs()));
        let note = note.unwrap();
        assert!(note.contains("ran A off to ±∞") && note.contains("optimum 2 of 2"), "{note}");
        // The journal round-trips it (a value of ∞ would be written as null).
        let json = serde_json::to_string(&ok.values).unwrap();
        assert_eq!(serde_json::from_str::<Vec<f64>>(&json).unwrap(), ok.values);
        // No finite optimum: refused, naming the coefficient and what to do.
        bad.optima = vec![far];
        let e = finite_point(&bad, &kinds, &objective).unwrap_err().to_string();
        assert!(e.contains("ran A off to ±∞") && e.contains("bound the law's exponents"), "{e}");
    }

    #[test]
    fn options_are_validated() {
        assert!(LoopOptions::default().validate().is_ok());
        let e = LoopOptions { stop_confidence: 1.5, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("stop_confidence"));
        let e = LoopOptions { per_round: 0, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("per_round"));
        // Each method checks its own fields only.
        assert_eq!(LoopOptions::default().uncertainty.method(), "laplace");
        assert!(LoopOptions { bootstrap: 0, ..Default::default() }.validate().is_ok());
        let e = LoopOptions { bootstrap: 1, uncertainty: Uncertainty::Bootstrap, ..Default::default() }
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("bootstrap"));
        let e = LoopOptions { samples: 1, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("samples"), "{e}");
        let po = PosteriorOptions { rel_sd: -1.0, ..Default::default() };
        let e = LoopOptions { uncertainty: Uncertainty::Posterior(po), ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("rel_sd"), "{e}");
    }
}
