//! Benchmarking solver variants (`colaw bench`): run each solver on each instance N times
//! with one thread, record status, objective, bound, gap, nodes, median and minimum wall
//! time and peak memory, check every answer against the best known objective, summarise
//! (solved, wins, shifted geometric mean time, heuristic gaps) and draw a Dolan–Moré
//! performance profile.
//!
//! **Correctness alarms.** An exact solver (`enum`, `mip`, `mip-assign`) whose optimal
//! objective differs from the best verified objective any solver found by more than 10⁻⁶
//! relative, that calls an instance infeasible while a verified design exists, whose bound
//! lies above a verified objective, or whose answer changes between repeats, and any solver
//! whose design fails re-verification, raises an alarm: a bug, not a statistic.
//! [`check`] computes this from rows alone, so rows read back from a CSV (e.g. merged
//! shards, or a crafted row in a test) are judged the same way.
//!
//! **Robust instances.** On an instance with a `[robust]` section the objective is a risk
//! measure over coefficient samples (and feasibility may be a chance constraint), so only
//! `robust-enum`, `robust-mip` and `auto` (which picks one of them, as `colaw solve` does)
//! run there; their `objective` is the risk value, and the two exact robust variants must
//! agree like the others. The point solvers (`enum`, `mip`, `mip-assign`, `analytic`) would
//! answer another question, so they are recorded as `skipped` with the reason, and so are
//! `robust-*` on instances without `[robust]`.
//!
//! **Timing.** Wall time of `solve()` (problem setup, solve, verification), instance
//! loading excluded; analytic's comparison against the exact optimum is switched off (the
//! bench computes its gap itself). Each solve runs inside a one-thread rayon pool with
//! `threads = 1`, so variants are compared on one core; `jobs > 1` runs instances in
//! parallel.
//!
//! **Memory.** With `jobs = 1` the peak resident set of each (instance, solver) run: the
//! kernel's high-water mark (VmHWM in /proc/self/status) is reset before the run by writing
//! 5 to /proc/self/clear_refs, so it covers the process baseline and the loaded instance
//! plus everything the solve allocates. With `jobs > 1` (or where the reset is not
//! permitted) it is the process peak so far, marked `rss_scope = process`.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::plot::{lines, Series};
use crate::solve::{solve, SolveOptions, SolverKind, Status};
use crate::util::stats::median;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Relative tolerance for agreement with the best known objective.
pub const AGREE_TOL: f64 = 1e-6;

/// Default shift of the shifted geometric mean, ms.
pub const DEFAULT_SHIFT_MS: f64 = 10.0;

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

/// One (instance, solver) result: a CSV row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchRow {
    /// Instance name.
    pub instance: String,
    /// Instance file.
    pub path: String,
    /// Solver variant.
    pub solver: String,
    /// Exact solver (its optimum must match the best known).
    pub exact: bool,
    /// optimal, feasible, infeasible, no_solution or error.
    pub status: String,
    /// Objective of the returned design (verified re-evaluation).
    pub objective: Option<f64>,
    /// Proven lower bound.
    pub bound: Option<f64>,
    /// Relative gap reported by the solver.
    pub gap: Option<f64>,
    /// Branch-and-bound nodes.
    pub nodes: Option<u64>,
    /// Candidates in the space.
    pub candidates: Option<u64>,
    /// Runs timed.
    pub repeats: usize,
    /// Median wall time, ms.
    pub time_median_ms: f64,
    /// Minimum wall time, ms.
    pub time_min_ms: f64,
    /// Peak resident set, MB (10⁶ bytes).
    pub peak_rss_mb: Option<f64>,
    /// `run` (reset before this solve) or `process` (process peak so far).
    pub rss_scope: String,
    /// Every returned design passed re-evaluation.
    pub verified: bool,
    /// Best verified objective over every solver of this instance.
    pub best_known: Option<f64>,
    /// (objective − best_known)/|best_known|.
    pub rel_diff: Option<f64>,
    /// Correct answer: the best known objective (exact solvers: proven optimal), or agreed
    /// infeasibility.
    pub solved: bool,
    /// Correctness alarm.
    pub alarm: bool,
    /// Why the alarm was raised.
    pub alarm_reason: String,
    /// The solver's message.
    pub message: String,
}

fn status_name(s: Status) -> String {
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
fn run_message(requested: &str, ran: &str, message: String) -> String {
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
    let mut row = BenchRow {
        instance: inst.name.clone(),
        path: path.to_string(),
        solver: solver.to_string(),
        exact: is_exact(solver),
        status: String::new(),
        objective: None,
        bound: None,
        gap: None,
        nodes: None,
        candidates: Some(inst.candidates()),
        repeats: 0,
        time_median_ms: f64::NAN,
        time_min_ms: f64::NAN,
        peak_rss_mb: None,
        rss_scope: "process".into(),
        verified: true,
        best_known: None,
        rel_diff: None,
        solved: false,
        alarm: false,
        alarm_reason: String::new(),
        message: String::new(),
    };
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
                    instance: p.file_stem().map(|x| x.to_string_lossy().into_owned()).unwrap_or_default(),
                    path: path.clone(),
                    solver: s.clone(),
                    exact: is_exact(s),
                    status: "error".into(),
                    objective: None,
                    bound: None,
                    gap: None,
                    nodes: None,
                    candidates: None,
                    repeats: 0,
                    time_median_ms: f64::NAN,
                    time_min_ms: f64::NAN,
                    peak_rss_mb: None,
                    rss_scope: "process".into(),
                    verified: true,
                    best_known: None,
                    rel_diff: None,
                    solved: false,
                    alarm: false,
                    alarm_reason: String::new(),
                    message: format!("instance: {e}"),
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

fn rel(a: f64, b: f64) -> f64 {
    (a - b) / b.abs().max(1e-12)
}

/// Judge rows: best known objective per instance (path), agreement, alarms and `solved`.
/// Alarms already set (e.g. answers that changed between repeats) are kept.
pub fn check(rows: &mut [BenchRow]) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.path.clone()).or_default().push(i);
    }
    for idx in groups.values() {
        let has_design = |r: &BenchRow| matches!(r.status.as_str(), "optimal" | "feasible") && r.objective.is_some();
        let best = idx
            .iter()
            .map(|&i| &rows[i])
            .filter(|r| has_design(r) && r.verified)
            .filter_map(|r| r.objective)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))));
        let exact_infeasible = idx.iter().any(|&i| rows[i].exact && rows[i].status == "infeasible");
        for &i in idx {
            let r = &mut rows[i];
            let mut reasons: Vec<String> = Vec::new();
            if !r.alarm_reason.is_empty() {
                reasons.push(r.alarm_reason.clone());
            }
            r.best_known = best;
            r.rel_diff = match (r.objective, best) {
                (Some(o), Some(b)) => Some(rel(o, b)),
                _ => None,
            };
            if has_design(r) && !r.verified {
                reasons.push("returned design failed re-verification".into());
            }
            if r.exact {
                if let (Some(b), true) = (best, r.status == "optimal") {
                    match r.objective {
                        Some(o) if rel(o, b).abs() <= AGREE_TOL => {}
                        o => reasons.push(format!(
                            "claims optimal objective {} but the best verified objective is {b} (relative {:.3e})",
                            o.map_or("none".into(), |x| x.to_string()),
                            o.map_or(f64::NAN, |x| rel(x, b))
                        )),
                    }
                }
                if let (Some(b), "infeasible") = (best, r.status.as_str()) {
                    reasons.push(format!("claims infeasible but a verified design with objective {b} exists"));
                }
                if let (Some(b), Some(lb)) = (best, r.bound) {
                    if rel(lb, b) > AGREE_TOL {
                        reasons.push(format!("bound {lb} lies above the verified objective {b}"));
                    }
                }
            }
            r.alarm = !reasons.is_empty();
            r.alarm_reason = reasons.join("; ");
            let matches = r.rel_diff.is_some_and(|d| d.abs() <= AGREE_TOL) && has_design(r);
            r.solved = !r.alarm
                && match best {
                    Some(_) => matches && (!r.exact || r.status == "optimal"),
                    None => exact_infeasible && (r.status == "infeasible" || (!r.exact && r.status == "no_solution")),
                };
        }
    }
}

/// Per-solver summary.
#[derive(Debug, Clone, Serialize)]
pub struct SolverSummary {
    /// Solver.
    pub solver: String,
    /// Exact solver.
    pub exact: bool,
    /// Instances run.
    pub instances: usize,
    /// Correct answers.
    pub solved: usize,
    /// Fastest among the solvers that solved the instance (ties all win).
    pub wins: usize,
    /// Shifted geometric mean of the median time over every instance run, ms.
    pub sgm_ms: f64,
    /// Median of the median times, ms.
    pub median_ms: f64,
    /// Largest median time, ms.
    pub max_ms: f64,
    /// Largest peak RSS, MB.
    pub max_rss_mb: Option<f64>,
    /// Heuristics: mean relative gap to the best known objective (instances with a design).
    pub mean_gap: Option<f64>,
    /// Heuristics: largest relative gap.
    pub max_gap: Option<f64>,
    /// Instances with a known optimum where no design came back.
    pub no_design: usize,
    /// Status `error` (e.g. a formulation that refuses the size).
    pub errors: usize,
    /// Not run: the space exceeds the solver's `--max-candidates`.
    pub skipped: usize,
    /// Correctness alarms.
    pub alarms: usize,
}

/// Summaries in the order of `solvers`; the shifted geometric mean is
/// exp(mean ln(t + shift)) − shift over the median times of every instance (unsolved ones
/// count with the time they took).
pub fn summarize(rows: &[BenchRow], solvers: &[String], shift_ms: f64) -> Vec<SolverSummary> {
    let mut fastest: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.solved) {
        let e = fastest.entry(r.path.as_str()).or_insert(f64::INFINITY);
        *e = e.min(r.time_median_ms);
    }
    solvers
        .iter()
        .map(|s| {
            let mine: Vec<&BenchRow> = rows.iter().filter(|r| &r.solver == s).collect();
            let times: Vec<f64> = mine.iter().map(|r| r.time_median_ms).filter(|t| t.is_finite()).collect();
            let sgm = if times.is_empty() {
                f64::NAN
            } else {
                (times.iter().map(|t| (t + shift_ms).ln()).sum::<f64>() / times.len() as f64).exp() - shift_ms
            };
            let gaps: Vec<f64> = mine.iter().filter_map(|r| r.rel_diff).collect();
            let exact = is_exact(s);
            SolverSummary {
                solver: s.clone(),
                exact,
                instances: mine.len(),
                solved: mine.iter().filter(|r| r.solved).count(),
                wins: mine
                    .iter()
                    .filter(|r| r.solved && fastest.get(r.path.as_str()) == Some(&r.time_median_ms))
                    .count(),
                sgm_ms: sgm,
                median_ms: median(&mut times.clone()),
                max_ms: times.iter().copied().fold(f64::NAN, f64::max),
                max_rss_mb: mine.iter().filter_map(|r| r.peak_rss_mb).reduce(f64::max),
                mean_gap: (!exact && !gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64),
                max_gap: (!exact && !gaps.is_empty()).then(|| gaps.iter().copied().fold(f64::MIN, f64::max)),
                no_design: mine.iter().filter(|r| r.best_known.is_some() && r.objective.is_none()).count(),
                errors: mine.iter().filter(|r| r.status == "error").count(),
                skipped: mine.iter().filter(|r| r.status == "skipped").count(),
                alarms: mine.iter().filter(|r| r.alarm).count(),
            }
        })
        .collect()
}

/// Markdown table of summaries.
pub fn summary_table(sums: &[SolverSummary], shift_ms: f64) -> String {
    let f = |x: f64| if x.is_finite() { format!("{x:.2}") } else { "–".into() };
    let mut s = format!(
        "| solver | kind | instances | solved | wins | sgm time (ms, shift {shift_ms} ms) | median (ms) | max (ms) | \
         peak RSS (MB) | mean gap | max gap | errors | skipped | ALARMS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for x in sums {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.solver,
            if x.exact { "exact" } else { "heuristic" },
            x.instances,
            x.solved,
            x.wins,
            f(x.sgm_ms),
            f(x.median_ms),
            f(x.max_ms),
            x.max_rss_mb.map_or("–".into(), |m| format!("{m:.1}")),
            x.mean_gap.map_or("–".into(), |g| format!("{:.3} %", g * 100.0)),
            x.max_gap.map_or("–".into(), |g| format!("{:.3} %", g * 100.0)),
            x.errors,
            x.skipped,
            x.alarms
        );
    }
    s
}

/// Dolan–Moré performance profile: per solver, the fraction of instances solved within τ
/// times the fastest solver's time, as step points (τ ≥ 1). Instances nobody solved count
/// in the denominator. Times are floored at 1 µs.
pub fn profile(rows: &[BenchRow], solvers: &[String]) -> (Vec<Series>, f64) {
    let mut fastest: BTreeMap<&str, f64> = BTreeMap::new();
    let mut all: BTreeMap<&str, ()> = BTreeMap::new();
    for r in rows {
        all.insert(r.path.as_str(), ());
        if r.solved {
            let e = fastest.entry(r.path.as_str()).or_insert(f64::INFINITY);
            *e = e.min(r.time_median_ms.max(1e-3));
        }
    }
    let n = all.len().max(1) as f64;
    let ratios: Vec<Vec<f64>> = solvers
        .iter()
        .map(|s| {
            let mut v: Vec<f64> = rows
                .iter()
                .filter(|r| &r.solver == s && r.solved)
                .map(|r| r.time_median_ms.max(1e-3) / fastest[r.path.as_str()])
                .collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let tau_max = ratios.iter().flatten().copied().fold(1.0, f64::max) * 1.5;
    let series = solvers
        .iter()
        .zip(&ratios)
        .map(|(s, v)| {
            let mut pts = vec![(1.0, v.iter().filter(|&&r| r <= 1.0).count() as f64 / n)];
            for (k, &r) in v.iter().enumerate() {
                if r > 1.0 {
                    pts.push((r, (k + 1) as f64 / n));
                }
            }
            let last = pts.last().map_or(0.0, |p| p.1);
            pts.push((tau_max, last));
            Series { name: s.clone(), points: pts, band: None, step: true }
        })
        .collect();
    (series, tau_max)
}

/// Write the performance profile SVG.
pub fn write_profile(path: &Path, rows: &[BenchRow], solvers: &[String]) -> Result<()> {
    let (series, _) = profile(rows, solvers);
    let n = rows.iter().map(|r| r.path.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    lines(
        path,
        &format!("Performance profile ({n} instances)"),
        "τ: time / fastest solver's time (log)",
        "fraction of instances solved within τ",
        &series,
        true,
    )
}

/// Write rows as CSV.
pub fn write_csv(path: &Path, rows: &[BenchRow]) -> Result<()> {
    let io = |e: csv::Error| Error::Unsupported(format!("{}: {e}", path.display()));
    let mut w = csv::Writer::from_path(path).map_err(io)?;
    for r in rows {
        w.serialize(r).map_err(io)?;
    }
    w.flush().map_err(|e| Error::Io { path: path.display().to_string(), source: e })?;
    Ok(())
}

/// Read rows written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<BenchRow>> {
    let parse = |e: csv::Error| Error::Parse {
        origin: crate::error::Origin::file(path.display().to_string()),
        message: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(parse)?;
    r.deserialize().map(|x| x.map_err(parse)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, solver: &str, status: &str, obj: Option<f64>, t: f64) -> BenchRow {
        BenchRow {
            instance: path.into(),
            path: path.into(),
            solver: solver.into(),
            exact: is_exact(solver),
            status: status.into(),
            objective: obj,
            bound: None,
            gap: None,
            nodes: None,
            candidates: Some(10),
            repeats: 1,
            time_median_ms: t,
            time_min_ms: t,
            peak_rss_mb: Some(10.0),
            rss_scope: "run".into(),
            verified: true,
            best_known: None,
            rel_diff: None,
            solved: false,
            alarm: false,
            alarm_reason: String::new(),
            message: String::new(),
        }
    }

    #[test]
    fn agreement_and_alarms() {
        let mut rows = vec![
            row("a", "enum", "optimal", Some(3.0), 1.0),
            row("a", "mip", "optimal", Some(3.0 + 1e-9), 2.0),
            row("a", "mip-assign", "optimal", Some(3.1), 5.0),
            row("a", "analytic", "feasible", Some(3.3), 0.5),
            row("b", "enum", "infeasible", None, 1.0),
            row("b", "mip", "infeasible", None, 1.0),
            row("b", "analytic", "no_solution", None, 0.1),
        ];
        check(&mut rows);
        assert!(!rows[0].alarm && rows[0].solved);
        assert!(!rows[1].alarm && rows[1].solved);
        assert!(rows[2].alarm && !rows[2].solved && rows[2].alarm_reason.contains("claims optimal"));
        assert!(!rows[3].alarm && !rows[3].solved);
        assert!((rows[3].rel_diff.unwrap() - 0.1).abs() < 1e-12);
        assert!(rows[4].solved && rows[5].solved && rows[6].solved);
        let s = summarize(&rows, &["enum".into(), "mip".into(), "mip-assign".into(), "analytic".into()], 10.0);
        assert_eq!((s[0].solved, s[0].wins), (2, 1));
        assert_eq!(s[2].alarms, 1);
        assert!((s[3].mean_gap.unwrap() - 0.1).abs() < 1e-12);
        // Shifted geometric mean of {1, 1} with shift 10 is 1.
        assert!((s[0].sgm_ms - 1.0).abs() < 1e-12);
    }

    #[test]
    fn infeasible_claim_and_bound_alarm() {
        let mut rows = vec![
            row("a", "enum", "infeasible", None, 1.0),
            row("a", "analytic", "feasible", Some(2.0), 1.0),
            row("a", "mip", "feasible", Some(2.0), 1.0),
        ];
        rows[2].bound = Some(2.5);
        rows[1].verified = true;
        check(&mut rows);
        assert!(rows[0].alarm && rows[0].alarm_reason.contains("claims infeasible"));
        assert!(rows[2].alarm && rows[2].alarm_reason.contains("bound"));
        assert!(rows[1].solved);
    }

    #[test]
    fn unverified_design_alarms() {
        let mut rows = vec![row("a", "analytic", "feasible", Some(2.0), 1.0)];
        rows[0].verified = false;
        check(&mut rows);
        assert!(rows[0].alarm && rows[0].alarm_reason.contains("re-verification"));
    }

    #[test]
    fn profile_steps() {
        let mut rows = vec![
            row("a", "enum", "optimal", Some(1.0), 1.0),
            row("a", "mip", "optimal", Some(1.0), 4.0),
            row("b", "enum", "optimal", Some(1.0), 2.0),
            row("b", "mip", "optimal", Some(1.0), 1.0),
        ];
        check(&mut rows);
        let (s, tau) = profile(&rows, &["enum".into(), "mip".into()]);
        assert_eq!(s[0].points[0], (1.0, 0.5));
        assert_eq!(s[0].points[1], (2.0, 1.0));
        assert_eq!(s[1].points[1], (4.0, 1.0));
        assert_eq!(tau, 6.0);
        assert!(s.iter().all(|x| x.step));
    }

    #[test]
    fn csv_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.csv");
        let mut rows = vec![row("a", "enum", "optimal", Some(1.5), 1.0), row("a", "analytic", "feasible", None, 0.2)];
        rows[0].nodes = Some(7);
        write_csv(&p, &rows).unwrap();
        assert_eq!(read_csv(&p).unwrap(), rows);
    }
}
