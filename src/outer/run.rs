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
        let (init_keys, init_labels, _) = data_keys(&j.initial_path())?;
        let attempts = 1 + self.opts.retries;
        let (mut calls, _) = j.calls()?;
        let designs = feasible_designs(self.inst)?;
        let mut rounds: Vec<RoundRecord> = Vec::new();
        let mut calls_this_run = 0usize;
        let file = j.calls_appender()?;
        let mut r = 1usize;
        loop {
            let fin = finals(&calls, attempts);
            self.write_data(&rounds, &fin)?;
            let rec = match j.round(r)? {
                Some(rec) => rec,
                None => {
                    let rec = self.decide_round(r, &rounds, &init_keys, &init_labels, designs.len())?;
                    write_atomic(&j.round_dir(r).join("choice.json"), to_json(&rec)?.as_bytes())?;
                    // Go on with what was written (a resumed loop reads the same values).
                    j.round(r)?.unwrap_or(rec)
                }
            };
            // Oracle calls not finished yet (all of them, or those a kill interrupted).
            let todo = pending(&rec.asked, &calls, &fin);
            let new_calls = self.call_all(r, &todo, attempts, &file)?;
            calls_this_run += new_calls.len();
            calls.extend(new_calls);
            let fin = finals(&calls, attempts);
            let ok = rec.asked.iter().filter(|d| matches!(fin.get(&d.key), Some(Some(_)))).count();
            let failed = rec.asked.len() - ok;
            if let Some(cb) = self.on_round {
                cb(&summary_line(&rec, ok, failed));
            }
            let stop = rec.stop.clone();
            rounds.push(rec);
            state.rounds_done = r;
            state.calls = calls.len();
            if let Some(why) = &stop {
                state.finished = Some(why.clone());
            }
            j.write_state(&state)?;
            if let Some(why) = stop {
                let n = self.write_data(&rounds, &fin)?;
                self.plots(&rounds)?;
                let last = rounds.last();
                return Ok(LoopReport {
                    calls: calls.len(),
                    calls_this_run,
                    measured: n,
                    failed: fin.values().filter(|v| v.is_none()).count(),
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
        init_keys: &HashSet<String>,
        init_labels: &HashSet<String>,
        candidates: usize,
    ) -> Result<RoundRecord> {
        let t0 = Instant::now();
        let warm = rounds.last().map(|p| p.values.clone());
        let f = self.fit_round(r, warm.as_deref())?;
        let mut inst = self.inst.clone();
        inst.law = std::sync::Arc::new(f.law.clone());
        let reg = region(&inst, &f.samples, &[], &RegionOptions::default())?;
        // Region rows → designs (same order as `reg.designs`).
        let rd: Vec<Design> = reg.designs.iter().map(|s| Design::new(&inst.space.widths[s.width], s.layers)).collect();
        let asked_before: HashSet<&str> = rounds.iter().flat_map(|p| p.asked.iter().map(|d| d.key.as_str())).collect();
        let measured = |d: &Design| {
            init_keys.contains(&d.key) || init_labels.contains(&d.label) || asked_before.contains(d.key.as_str())
        };
        let choice = reg.most_often_optimal;
        let confidence = choice.map_or(0.0, |c| reg.designs[c].p_optimal);
        let stop = if confidence >= self.opts.stop_confidence {
            Some(format!("confidence {confidence:.3} ≥ {}", self.opts.stop_confidence))
        } else if r > self.opts.rounds {
            Some(format!("{} rounds measured", self.opts.rounds))
        } else {
            None
        };
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
        let stop = stop.or_else(|| asked.is_empty().then(|| "every feasible design is measured".to_string()));
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
            point_fallback: f.point_fallback,
        })
    }

    /// Call the oracle on designs (with the attempts each has used), `jobs` at a time; every
    /// attempt is appended to the journal as one fsynced line as soon as it finishes.
    pub(super) fn call_all(
        &self,
        round: usize,
        todo: &[(Design, usize)],
        attempts: usize,
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
            todo.par_iter().with_max_len(1).for_each(|(d, used)| {
                for attempt in used + 1..=attempts {
                    let t0 = Instant::now();
                    let res = self.oracle.evaluate(d);
                    let rec = CallRecord {
                        round,
                        key: d.key.clone(),
                        attempt,
                        loss: res.as_ref().ok().copied(),
                        error: res.as_ref().err().cloned(),
                        seconds: t0.elapsed().as_secs_f64(),
                        design: d.clone(),
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
                        cb(&call_line(&rec, attempts));
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
