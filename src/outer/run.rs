//! [`OuterLoop::run`]: the rounds themselves (fit, region, stop rule, oracle calls) and the
//! parallel oracle calls with retries.

use super::*;

impl OuterLoop<'_> {
    /// Run (or resume) the loop with `data` as the initial observations.
    pub fn run(&self, data: &Path) -> Result<LoopReport> {
        self.opts.validate()?;
        let j = &self.journal;
        let _lock = j.lock()?;
        let mut state = self.open_state(data)?;
        let init = data_keys(&j.initial_path())?;
        let attempts = 1 + self.opts.retries;
        let (mut calls, _) = j.calls()?;
        let designs = feasible_designs(self.inst)?;
        let file = j.calls_appender()?;
        let mut notes = Vec::new();
        let mut journaled: Vec<RoundRecord> = Vec::new();
        while let Some(rec) = j.round(journaled.len() + 1)? {
            journaled.push(rec);
        }
        if self.opts.retry_failed {
            let fin = finals(&calls, attempts);
            let mut work: Vec<(usize, Work)> = vec![(0, self.given_up(&self.round0()?, &calls, &fin, attempts))];
            for rec in &journaled {
                let wanted: Vec<Design> = rec.asked.iter().chain(&rec.reask).cloned().collect();
                work.push((rec.round, self.given_up(&wanted, &calls, &fin, attempts)));
            }
            let n: usize = work.iter().map(|(_, w)| w.len()).sum();
            for (round, todo) in &work {
                calls.extend(self.call_all(*round, todo, &file)?);
            }
            let fin = finals(&calls, attempts);
            let ok = work
                .iter()
                .flat_map(|(_, w)| w)
                .filter(|(d, _, _)| matches!(fin.get(&d.call_key()), Some(Some(_))))
                .count();
            notes.push(format!(
                "--retry-failed: re-asked {n} design(s) whose every attempt had failed; {ok} measured now"
            ));
        }
        match (state.finished.clone(), self.opts.extend) {
            (Some(why), n) if n > 0 => {
                let last = journaled.len();
                state.extensions.push(Extension { after_round: last, rounds: n });
                state.finished = None;
                j.write_state(&state)?;
                notes.push(format!(
                    "extending the finished journal (it stopped after round {last}: {why}) by {n} measuring round(s)"
                ));
            }
            (Some(why), _) => notes.push(format!(
                "the journal had already finished (stop: {why}); this is its result, nothing was re-run. `--extend N` \
                 measures N more rounds (a larger --rounds does not reopen a finished journal)"
            )),
            (None, n) if n > 0 => notes.push(format!(
                "--extend {n} applies to a finished journal; this one has not finished, so it resumes as it is"
            )),
            (None, _) => {}
        }
        let rule = match state.extensions.last() {
            Some(e) => StopRule {
                limit: e.after_round + e.rounds,
                no_confidence_until: e.after_round + e.rounds,
                limit_note: format!("{} extended rounds measured", e.rounds),
            },
            None => StopRule {
                limit: self.opts.rounds,
                no_confidence_until: 0,
                limit_note: format!("{} rounds measured", self.opts.rounds),
            },
        };
        let mut rounds: Vec<RoundRecord> = Vec::new();
        let mut r = 1usize;
        loop {
            let fin = finals(&calls, attempts);
            let rows = self.write_data(&rounds, &fin)?;
            let rec = match j.round(r)? {
                Some(rec) => rec,
                None => {
                    let rec = self.decide_round(r, &rounds, &init, designs.len(), &rows, &rule)?;
                    write_atomic(&j.round_dir(r).join("choice.json"), to_json(&rec)?.as_bytes())?;
                    // Go on with what was written (a resumed loop reads the same values).
                    j.round(r)?.unwrap_or(rec)
                }
            };
            // Oracle calls not finished yet (all of them, or those a kill interrupted).
            let wanted: Vec<Design> = rec.asked.iter().chain(&rec.reask).cloned().collect();
            let todo = todo_of(&pending(&wanted, &calls, &fin), attempts);
            calls.extend(self.call_all(r, &todo, &file)?);
            let fin = finals(&calls, attempts);
            let ok = wanted.iter().filter(|d| matches!(fin.get(&d.call_key()), Some(Some(_)))).count();
            let failed = wanted.len() - ok;
            if let Some(cb) = self.on_round {
                cb(&summary_line(&rec, ok, failed));
            }
            // A round an extension starts after goes on, whatever stopped it then.
            let stop = if state.extensions.iter().any(|e| e.after_round == r) { None } else { rec.stop.clone() };
            rounds.push(rec);
            let rows = self.write_data(&rounds, &fin)?;
            state.rounds_done = r;
            state.calls = calls.len();
            state.outliers = rows.statuses.clone();
            if let Some(why) = &stop {
                state.finished = Some(why.clone());
            }
            j.write_state(&state)?;
            // A round whose every call failed in this run measured nothing: say so and exit
            // non-zero rather than go on as if it had (the oracle is probably broken).
            if !todo.is_empty() && ok == 0 && stop.is_none() {
                let last = failure_summaries(&calls, &fin).into_iter().rev().find(|f| f.round == r);
                return Err(Error::Unsupported(format!(
                    "round {r} measured nothing: every one of its {} oracle call(s) failed (the last: {}); see {} for \
                     every error. The journal is kept: fix the oracle and run the same command with --retry-failed to \
                     re-ask these designs (run without it, the loop goes on without them)",
                    wanted.len(),
                    last.map_or(String::new(), |f| f.error),
                    j.calls_path().display()
                )));
            }
            if let Some(why) = stop {
                self.plots(&rounds)?;
                let last = rounds.last();
                return Ok(LoopReport {
                    calls: calls.len(),
                    calls_this_run: self.calls_made(),
                    measured: rows.measured,
                    failed: fin.values().filter(|v| v.is_none()).count(),
                    failures: failure_summaries(&calls, &fin),
                    outliers: rows.statuses,
                    notes,
                    choice: last.and_then(|l| l.choice.clone()),
                    confidence: last.map_or(0.0, |l| l.confidence),
                    stop: why,
                    journal: j.dir.display().to_string(),
                    rounds,
                });
            }
            r += 1;
        }
    }

    /// A round's flagged rows as journal records, and the re-asks to make: each flagged row
    /// not flagged before whose design is known is asked again with the next seed of its
    /// design.
    fn outliers_of(&self, f: &Fitted, rows: &DataRows, rounds: &[RoundRecord]) -> (Vec<Outlier>, Vec<Design>) {
        let Some(c) = &f.check else {
            return (Vec::new(), Vec::new());
        };
        let flagged_before: HashSet<&str> =
            rounds.iter().flat_map(|p| p.outliers.iter().map(|o| o.row.as_str())).collect();
        let mut next_seed: HashMap<String, u64> = HashMap::new();
        for d in rounds.iter().flat_map(|p| &p.reask) {
            let s = next_seed.entry(d.key.clone()).or_default();
            *s = (*s).max(d.seed);
        }
        let used: Vec<f64> = f.weights.iter().copied().filter(|w| *w > 0.0).collect();
        let mean_w = used.iter().sum::<f64>() / used.len().max(1) as f64;
        let (mut out, mut reask) = (Vec::new(), Vec::new());
        for &i in &c.flagged {
            let (Some(id), Some(design)) = (rows.ids.get(i), rows.designs.get(i)) else { continue };
            if flagged_before.contains(id.as_str()) {
                continue;
            }
            let (action, reask_key) = match design {
                _ if id.contains("@seed=") => ("a re-ask's own row: kept, not asked again".to_string(), None),
                Some(d) => {
                    let s = next_seed.get(&d.key).copied().unwrap_or(0) + 1;
                    next_seed.insert(d.key.clone(), s);
                    let rd = d.with_seed(s);
                    let key = rd.call_key();
                    reask.push(rd);
                    (format!("re-asked with seed {s}"), Some(key))
                }
                None => ("not re-askable (the initial row has no weight_dtype/kv_dtype): kept".to_string(), None),
            };
            out.push(Outlier {
                row: id.clone(),
                label: design.as_ref().map_or_else(|| id.clone(), |d| d.label.clone()),
                loss: f.y_log[i].exp(),
                predicted_loss: f.pred_log[i].exp(),
                weight: f.weights[i] / mean_w,
                scale_log: c.scale_log,
                z: c.z[i],
                reask_key,
                action,
            });
        }
        (out, reask)
    }

    /// The loop's state: the journal's (which must have been started from the same data), or
    /// a new one with `data` copied into the journal.
    fn open_state(&self, data: &Path) -> Result<State> {
        let j = &self.journal;
        let bytes = std::fs::read(data).map_err(io_err(data))?;
        let sha = crate::util::provenance::sha256_hex(&bytes);
        Ok(match j.state()? {
            Some(mut s) => {
                if s.data_sha256 != sha {
                    return Err(Error::invalid(
                        &Origin::file(data.display().to_string()),
                        "data",
                        sha.get(..12).unwrap_or(&sha),
                        format!(
                            "the journal {} was started from other data (sha256 {}…); give the same file or a new journal",
                            j.dir.display(),
                            s.data_sha256.get(..12).unwrap_or(&s.data_sha256)
                        ),
                    ));
                }
                // A journal's rounds must all draw their samples the same way: the stop rule and
                // the picks of a resumed loop would otherwise not be those of one run.
                let was = s.uncertainty.as_deref().unwrap_or("bootstrap");
                let now = self.opts.uncertainty.method();
                if was != now {
                    return Err(Error::invalid(
                        &Origin::file(j.state_path().display().to_string()),
                        "uncertainty",
                        now,
                        format!(
                            "the journal {} was run with `--uncertainty {was}`; resume it with `--uncertainty {was}`, \
                             or give a new --journal to use {now}",
                            j.dir.display()
                        ),
                    ));
                }
                s.uncertainty = Some(now.to_string());
                s
            }
            None => {
                write_atomic(&j.initial_path(), &bytes)?;
                let s = State {
                    extensions: Vec::new(),
                    outliers: Vec::new(),
                    version: 1,
                    instance: self.inst.name.clone(),
                    oracle: self.oracle.describe(),
                    data_sha256: sha,
                    rounds_done: 0,
                    calls: 0,
                    finished: None,
                    uncertainty: Some(self.opts.uncertainty.method().to_string()),
                };
                j.write_state(&s)?;
                s
            }
        })
    }

    /// Round `r`'s decision: fit the data so far, compute the region under the coefficient
    /// samples (posterior or bootstrap), apply the stop rule and pick the designs to measure (never one measured
    /// before: in the initial data or asked by an earlier round).
    fn decide_round(
        &self,
        r: usize,
        rounds: &[RoundRecord],
        init: &DataFile,
        candidates: usize,
        rows: &DataRows,
        rule: &StopRule,
    ) -> Result<RoundRecord> {
        let t0 = Instant::now();
        let warm = rounds.last().map(|p| p.values.clone());
        let f = self.fit_round(r, warm.as_deref())?;
        let mut inst = self.inst.clone();
        inst.law = std::sync::Arc::new(f.law.clone());
        let reg = region(&inst, &f.samples, &[], &RegionOptions::default())?;
        // Region rows → designs (same order as `reg.designs`).
        let rd: Vec<Design> = reg.designs.iter().map(|s| Design::new(&inst.space.widths[s.width], s.layers)).collect();
        // Round 0's designs too: one whose calls failed is not a fresh design (`--retry-failed`
        // re-asks it).
        let round0 = self.round0()?;
        let asked_before: HashSet<&str> = rounds
            .iter()
            .flat_map(|p| p.asked.iter().map(|d| d.key.as_str()))
            .chain(round0.iter().map(|d| d.key.as_str()))
            .collect();
        let measured = |d: &Design| {
            init.keys.contains(&d.key) || init.labels.contains(&d.label) || asked_before.contains(d.key.as_str())
        };
        let choice = reg.most_often_optimal;
        let confidence = choice.map_or(0.0, |c| reg.designs[c].p_optimal);
        let (mut outliers, mut reask) = self.outliers_of(&f, rows, rounds);
        // A flagged row's re-ask must come in before the loop may stop on confidence.
        let stop = if confidence >= self.opts.stop_confidence && r > rule.no_confidence_until && reask.is_empty() {
            Some(format!("confidence {confidence:.3} ≥ {}", self.opts.stop_confidence))
        } else if r > rule.limit {
            Some(rule.limit_note.clone())
        } else {
            None
        };
        if stop.is_some() && !reask.is_empty() {
            reask.clear();
            for o in outliers.iter_mut().filter(|o| o.reask_key.is_some()) {
                o.reask_key = None;
                o.action = "not re-asked: the loop stops at this round (its round limit); kept".into();
            }
        }
        let asked = if stop.is_none() {
            pick(
                self.opts.strategy,
                &reg,
                &rd,
                &measured,
                self.opts.per_round,
                mix_seed(self.opts.seed, 2_000_000 + r as u64),
            )
        } else {
            Vec::new()
        };
        let stop = stop.or_else(|| {
            (asked.is_empty() && reask.is_empty()).then(|| "every feasible design is measured".to_string())
        });
        Ok(RoundRecord {
            round: r,
            rows: f.rows,
            names: inst.law.coefficient_names(),
            values: f.values,
            ci95: f.ci95,
            objective: f.objective,
            choice: choice.map(|c| rd[c].clone()),
            confidence,
            choice_loss: choice.map_or(f64::NAN, |c| reg.designs[c].point_loss),
            point_choice: reg.point_optimum.map(|c| rd[c].clone()),
            candidates,
            contenders: reg.designs.iter().filter(|d| d.p_optimal > 0.0).count(),
            asked,
            stop,
            ms: t0.elapsed().as_secs_f64() * 1e3,
            bootstrap_non_finite: f.non_finite,
            uncertainty: self.opts.uncertainty.method().to_string(),
            sigma_log: f.map.as_ref().map(|m| m.sigma),
            p_eff: f.map.as_ref().map(|m| m.p_eff),
            noise_dof: f.map.as_ref().map(|m| m.dof),
            point_fallback: f.point_fallback.clone(),
            outliers,
            reask,
            seed_noise_floor: f.seed_floor,
            lack_of_fit: f.lack,
        })
    }

    /// Call the oracle on designs, each with (attempts used, last attempt number), `jobs` at
    /// a time; every attempt is appended to the journal as one fsynced line as soon as it
    /// finishes.
    pub(super) fn call_all(
        &self,
        round: usize,
        todo: &[(Design, usize, usize)],
        file: &Mutex<std::fs::File>,
    ) -> Result<Vec<CallRecord>> {
        if todo.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.journal.calls_path();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.jobs)
            .build()
            .map_err(|e| Error::Unsupported(format!("cannot start {} oracle jobs: {e}", self.opts.jobs)))?;
        let out: Mutex<Vec<CallRecord>> = Mutex::new(Vec::new());
        let write_err: Mutex<Option<Error>> = Mutex::new(None);
        pool.install(|| {
            todo.par_iter().with_max_len(1).for_each(|(d, used, upto)| {
                for attempt in used + 1..=*upto {
                    let t0 = Instant::now();
                    let res = self.oracle.measure(d);
                    self.calls_made.fetch_add(1, Ordering::Relaxed);
                    let ok = res.as_ref().ok();
                    let rec = CallRecord {
                        round,
                        key: d.key.clone(),
                        attempt,
                        loss: ok.map(|r| r.loss),
                        error: res.as_ref().err().map(|f| f.message.clone()),
                        seconds: t0.elapsed().as_secs_f64(),
                        design: d.clone(),
                        loss_sd: ok.and_then(|r| r.loss_sd),
                        seeds: ok.and_then(|r| r.seeds),
                        failure: res.as_ref().err().map(|f| f.kind),
                        reask: (d.seed != 0).then(|| {
                            format!("re-ask (seed {}) of a row flagged as an outlier in round {round}", d.seed)
                        }),
                    };
                    let mut line = serde_json::to_string(&rec).unwrap_or_default();
                    line.push('\n');
                    {
                        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                        if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.sync_data()) {
                            write_err.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(io_err(&path)(e));
                        }
                    }
                    // Keep what a resumed loop would read back from the journal.
                    let rec = parse_call_line(line.trim_end().as_bytes()).unwrap_or(rec);
                    if let Some(cb) = self.on_call {
                        cb(&call_line(&rec, *upto));
                    }
                    let done = rec.loss.is_some();
                    out.lock().unwrap_or_else(|e| e.into_inner()).push(rec);
                    if done {
                        break;
                    }
                }
            })
        });
        if let Some(e) = write_err.into_inner().unwrap_or(None) {
            return Err(e);
        }
        Ok(out.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

/// When a round stops: past `limit` rounds, and on confidence only after
/// `no_confidence_until` (an extension's rounds measure whatever the confidence).
pub(super) struct StopRule {
    pub(super) limit: usize,
    pub(super) no_confidence_until: usize,
    pub(super) limit_note: String,
}
