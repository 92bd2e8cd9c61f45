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
use crate::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use crate::law::{read_observations, ColumnMap, LossLaw, PowerLaw};
use crate::oracle::{design_key, Design, Oracle};
use crate::plot::{lines, Series};
use crate::region::{region, Region, RegionOptions};
use crate::util::rng::mix_seed;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

mod data;
mod journal;
mod options;
mod pick;
mod plots;
mod run;
use data::*;
pub use data::{data_csv, feasible_designs, initial_data, lhs_pick, DATA_COLUMNS};
use journal::*;
pub use journal::{call_line, parse_call_line, CallRecord, Journal, RoundRecord, State};
pub use options::{LoopOptions, Strategy};
pub use pick::pick;

/// Outcome of a loop.
#[derive(Debug, Clone, Serialize)]
pub struct LoopReport {
    /// Every round, in order.
    pub rounds: Vec<RoundRecord>,
    /// Oracle attempts recorded in the journal (over all runs of this journal).
    pub calls: usize,
    /// Oracle attempts made by this run (0 when everything was already journaled).
    pub calls_this_run: usize,
    /// Designs measured successfully by the oracle.
    pub measured: usize,
    /// Designs whose every attempt failed.
    pub failed: usize,
    /// Final choice.
    pub choice: Option<Design>,
    /// Its confidence.
    pub confidence: f64,
    /// Why the loop stopped.
    pub stop: String,
    /// Journal folder.
    pub journal: String,
}

/// Summary line of a round (stderr).
pub fn summary_line(r: &RoundRecord, ok: usize, failed: usize) -> String {
    let choice = r.choice.as_ref().map_or("none".to_string(), |d| d.key.clone());
    let mut s = format!(
        "round {}: {} rows, objective {:.3e}, choice {} P(optimal) {:.2} (predicted loss {:.4}), {} contenders of {}",
        r.round, r.rows, r.objective, choice, r.confidence, r.choice_loss, r.contenders, r.candidates
    );
    if r.bootstrap_non_finite > 0 {
        s.push_str(&format!(", {} bootstrap refits ran off to ±∞ (dropped)", r.bootstrap_non_finite));
    }
    if !r.asked.is_empty() {
        s.push_str(&format!(", asked {} ({ok} ok, {failed} failed)", r.asked.len()));
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
}

struct Fitted {
    law: PowerLaw,
    values: Vec<f64>,
    objective: f64,
    rows: usize,
    samples: Vec<Vec<f64>>,
    ci95: Vec<(f64, f64)>,
    non_finite: usize,
}

impl<'a> OuterLoop<'a> {
    /// A loop; `data` is copied into the journal as `initial.csv` unless the journal already
    /// has one (resume), in which case it must be the same bytes.
    pub fn new(inst: &'a Instance, oracle: &'a dyn Oracle, opts: LoopOptions, journal: Journal) -> Self {
        OuterLoop { inst, oracle, opts, journal, on_round: None, on_call: None }
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
        let fitter = Fitter::new(&model, &obs, fo)?;
        let start = to_theta(model.kinds(), warm.unwrap_or(&law.values));
        let fit = fitter.fit(Some(&start))?;
        let bo = BootstrapOptions {
            resamples: self.opts.bootstrap,
            seed: mix_seed(self.opts.seed, 1_000_000 + r as u64),
            ..Default::default()
        };
        let b = bootstrap(&fitter, &fit, &bo, None);
        let dir = self.journal.round_dir(r);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        write_samples(&dir.join("samples.csv"), &b)?;
        let mut fitted = law.with_values(&fit.values);
        let mut t = toml::Table::new();
        t.insert("method".into(), "colaw loop: Huber on log loss, LSE form, argmin L-BFGS, warm start".into());
        t.insert("round".into(), (r as i64).into());
        t.insert("n".into(), (fit.n as i64).into());
        t.insert("objective".into(), fit.objective.into());
        t.insert("r2".into(), fit.quality.r2.into());
        t.insert("bootstrap".into(), (b.samples.len() as i64).into());
        let mut ci = toml::Table::new();
        for (k, n) in b.names.iter().enumerate() {
            ci.insert(n.clone(), toml::Value::Array(vec![b.ci95[k].0.into(), b.ci95[k].1.into()]));
        }
        t.insert("ci95".into(), ci.into());
        fitted.file.fit = Some(t);
        fitted.file.source = Some(format!("fitted by `colaw loop`, round {r}"));
        write_atomic(&dir.join("fit.toml"), fitted.to_toml_string().as_bytes())?;
        Ok(Fitted {
            law: fitted,
            values: fit.values,
            objective: fit.objective,
            rows: fit.n,
            non_finite: b.non_finite,
            samples: b.samples,
            ci95: b.ci95,
        })
    }

    /// Rewrite `data.csv`: initial rows, then every measured design in the order asked.
    fn write_data(&self, rounds: &[RoundRecord], fin: &HashMap<String, Option<f64>>) -> Result<usize> {
        let init = self.journal.initial_path();
        let mut text = std::fs::read_to_string(&init).map_err(io_err(&init))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let (_, _, head) = data_keys(&init)?;
        let mut n = 0;
        for r in rounds {
            for d in &r.asked {
                if let Some(Some(l)) = fin.get(&d.key) {
                    text.push_str(&data_row(&head, d, *l));
                    text.push('\n');
                    n += 1;
                }
            }
        }
        write_atomic(&self.journal.data_path(), text.as_bytes())?;
        Ok(n)
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
        let todo = pending(&asked, &calls, &fin);
        let file = j.calls_appender()?;
        calls.extend(self.call_all(0, &todo, attempts, &file)?);
        let fin = finals(&calls, attempts);
        let rows: Vec<(Design, f64)> =
            asked.iter().filter_map(|d| fin.get(&d.key).copied().flatten().map(|l| (d.clone(), l))).collect();
        if rows.is_empty() {
            return Err(Error::Unsupported(format!(
                "every one of the {} initial oracle calls failed; see {} for the errors",
                asked.len(),
                j.calls_path().display()
            )));
        }
        write_atomic(data, data_csv(&rows).as_bytes())?;
        Ok(rows.len())
    }
}

/// A summary of the coefficient intervals (name → [lo, hi]) of a round.
pub fn intervals(r: &RoundRecord) -> BTreeMap<String, [f64; 2]> {
    r.names.iter().zip(&r.ci95).map(|(n, c)| (n.clone(), [c.0, c.1])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let calls =
            vec![rec("a", 1, None), rec("a", 2, Some(3.0)), rec("b", 1, None), rec("c", 1, None), rec("c", 2, None)];
        let f = finals(&calls, 2);
        assert_eq!(f.get("a"), Some(&Some(3.0)));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some(&None));
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
        };
        let line = serde_json::to_string(&rec).unwrap();
        std::fs::write(j.calls_path(), format!("{line}\n{}", &line[..20])).unwrap();
        let (calls, dropped) = j.calls().unwrap();
        assert_eq!(calls, vec![rec]);
        assert_eq!(dropped, 20);
        assert_eq!(std::fs::read_to_string(j.calls_path()).unwrap(), format!("{line}\n"));
    }

    #[test]
    fn options_are_validated() {
        assert!(LoopOptions::default().validate().is_ok());
        let e = LoopOptions { stop_confidence: 1.5, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("stop_confidence"));
        let e = LoopOptions { per_round: 0, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("per_round"));
    }
}
