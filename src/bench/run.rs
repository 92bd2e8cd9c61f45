//! Running the benchmark: each (instance, solver) pair `repeat` times on one thread, with
//! its peak memory, in parallel over pairs.

use super::*;

/// Whether a solver name is an exact one.
pub fn is_exact(solver: &str) -> bool {
    solver.parse::<SolverKind>().is_ok_and(|k| k.is_exact())
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Instance files or folders (their `*.toml`, sorted).
    pub paths: Vec<PathBuf>,
    /// Solver variants.
    pub solvers: Vec<String>,
    /// Runs per (instance, solver); median and minimum time are reported.
    pub repeat: usize,
    /// Time limit per solve, seconds (None: each instance's).
    pub time_limit_s: Option<f64>,
    /// Instances run at once.
    pub jobs: usize,
    /// Per solver: largest space (candidates) it is run on; larger ones are recorded as
    /// `skipped` (e.g. the compact MIP, whose binaries grow with the width configurations).
    pub max_candidates: BTreeMap<String, u64>,
}

/// Default size caps: the compact MIP hits a 60 s limit at ~10⁶ candidates (57,600 width
/// configurations) and needs > 20 GB at 10⁸; the assignment MIP refuses > 2·10⁶ itself.
pub fn default_max_candidates() -> BTreeMap<String, u64> {
    BTreeMap::from([("mip".to_string(), 2_000_000u64)])
}
pub(super) fn status_name(s: Status) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Peak resident set of this process in MB, from VmHWM.
pub fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0 / 1e6)
}

/// Reset the peak resident set (Linux ≥ 4.0); false where not permitted.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A run's message; `auto` names the variant it ran.
pub(super) fn run_message(requested: &str, ran: &str, message: String) -> String {
    if requested == "auto" {
        format!("{ran}: {message}")
    } else {
        message
    }
}

/// Run one solver on one loaded instance `repeat` times.
pub fn run_one(inst: &Instance, path: &str, solver: &str, cfg: &BenchConfig, per_run_rss: bool) -> BenchRow {
    let mut opts = SolveOptions::from_instance(inst);
    opts.threads = 1;
    opts.top_k = 1;
    opts.compare_exact = false;
    if let Some(t) = cfg.time_limit_s {
        opts.time_limit_s = t;
    }
    let mut row = BenchRow { candidates: Some(inst.candidates()), ..BenchRow::new(&inst.name, path, solver) };

    if let Some(&cap) = cfg.max_candidates.get(solver) {
        if inst.candidates() > cap {
            row.status = "skipped".into();
            row.message = format!("{} candidates > --max-candidates {solver}={cap}", inst.candidates());
            return row;
        }
    }
    let robust = inst.robust.is_some();
    let is_robust_solver = solver.parse::<SolverKind>().is_ok_and(|k| k.is_robust());
    if robust && !is_robust_solver && solver != "auto" {
        row.status = "skipped".into();
        row.message = format!(
            "robust instance: its objective is a risk over coefficient samples, not `{solver}`'s point estimate; run \
             robust-enum, robust-mip or auto"
        );
        return row;
    }
    if !robust && is_robust_solver {
        row.status = "skipped".into();
        row.message = "not a robust instance (no [robust] section)".into();
        return row;
    }
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(p) => p,
        Err(e) => {
            row.status = "error".into();
            row.message = format!("cannot start a one-thread pool: {e}");
            return row;
        }
    };
    if per_run_rss && reset_peak_rss() {
        row.rss_scope = "run".into();
    }
    let mut times = Vec::with_capacity(cfg.repeat);
    let mut first: Option<(String, Option<f64>)> = None;
    for _ in 0..cfg.repeat.max(1) {
        let t0 = Instant::now();
        let res = pool.install(|| solve(inst, solver, &opts));
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        match res {
            Ok(sol) => {
                let key = (status_name(sol.status), sol.objective);
                match &first {
                    None => {
                        row.status = key.0.clone();
                        row.objective = sol.objective;
                        row.bound = sol.bound;
                        row.gap = sol.gap;
                        row.nodes = sol.nodes;
                        row.verified = sol.verified;
                        row.message = run_message(solver, &sol.solver, sol.message);
                        first = Some(key);
                    }
                    Some(f) if row.exact && (f.0 != key.0 || f.1 != key.1) => {
                        row.alarm = true;
                        row.alarm_reason =
                            format!("answer changed between repeats: {} {:?} then {} {:?}", f.0, f.1, key.0, key.1);
                    }
                    Some(_) => {}
                }
            }
            Err(e) => {
                row.status = "error".into();
                row.message = e.to_string();
                break;
            }
        }
    }
    row.repeats = times.len();
    row.time_min_ms = times.iter().copied().fold(f64::INFINITY, f64::min);
    row.time_median_ms = median(&mut times);
    row.peak_rss_mb = peak_rss_mb();
    row
}

/// Run the benchmark; `on_done(instance, solver, status)` after each row. Rows come back
/// ordered by instance path, then solver as given, and already [`check`]ed.
pub fn run_bench(cfg: &BenchConfig, on_done: &(dyn Fn(&BenchRow) + Sync)) -> Result<Vec<BenchRow>> {
    if cfg.solvers.is_empty() {
        return Err(Error::Unsupported("bench: no solvers given".into()));
    }
    let paths = crate::batch::expand_paths(&cfg.paths)?;
    let per_run_rss = cfg.jobs <= 1;
    let out: Mutex<Vec<(usize, Vec<BenchRow>)>> = Mutex::new(Vec::new());
    let work = |k: usize, p: &PathBuf| {
        let path = p.display().to_string();
        let rows: Vec<BenchRow> = match Instance::load(p) {
            Ok(inst) => cfg
                .solvers
                .iter()
                .map(|s| {
                    let r = run_one(&inst, &path, s, cfg, per_run_rss);
                    on_done(&r);
                    r
                })
                .collect(),
            Err(e) => cfg
                .solvers
                .iter()
                .map(|s| BenchRow {
                    status: "error".into(),
                    message: format!("instance: {e}"),
                    ..BenchRow::new(
                        &p.file_stem().map(|x| x.to_string_lossy().into_owned()).unwrap_or_default(),
                        &path,
                        s,
                    )
                })
                .collect(),
        };
        out.lock().unwrap_or_else(|e| e.into_inner()).push((k, rows));
    };
    // Plain threads, not a rayon pool: each solve installs its own one-thread pool, and a
    // rayon worker blocked on another pool steals further instances onto its stack.
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..cfg.jobs.max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = paths.get(k) else { break };
                work(k, p);
            });
        }
    });
    let mut groups = out.into_inner().unwrap_or_else(|e| e.into_inner());
    groups.sort_by_key(|g| g.0);
    let mut rows: Vec<BenchRow> = groups.into_iter().flat_map(|g| g.1).collect();
    check(&mut rows);
    Ok(rows)
}
