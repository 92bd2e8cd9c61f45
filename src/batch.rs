//! Batches: solve many instances, one JSON line each, resumable and shardable.
//!
//! An instance with a `[robust]` section is solved as `colaw solve` solves it (robust
//! selection, `auto` by size; `--solver` enum or mip picks the robust variant, other
//! solvers give an `error` line); its line carries the robust solution's fields (`risk`,
//! `value`, `loss_mean`, `latency_ok_share`, …) and `objective` = the risk value.
//!
//! Every line is written whole (one `write_all` of `line\n` under a lock, then flushed), so
//! a killed run leaves at most one torn last line; `resume` drops that torn tail, skips the
//! instances already recorded and appends the rest. A bad instance is recorded as an
//! `error` line and the batch goes on.
//!
//! Each line carries the SHA-256 of the instance file it solved (`sha256`), so a resume
//! whose instance file has changed since, or whose results hold instances this batch does not
//! name (another instance set, another shard), is refused with what differs. One process at
//! a time writes a results file: `RESULTS.lock` beside it is locked for the run
//! ([`crate::util::fs::FileLock`]), and a second batch on the same `--out` is refused.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::solve::{solve, Solution, SolveOptions, Status};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A shard: instance i belongs to shard `index` when i mod `count` = `index` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 0 ≤ index < count.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!(
                "`{s}`: expected K/N with 0 ≤ K < N, e.g. 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)"
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) =
            (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Instance files (folders are expanded to every `*.toml` below them, sorted).
    pub paths: Vec<PathBuf>,
    /// Results file (JSON lines).
    pub out: PathBuf,
    /// Instances solved at once.
    pub jobs: usize,
    /// Optional shard.
    pub shard: Option<Shard>,
    /// Skip instances already in `out`.
    pub resume: bool,
    /// Solver variant (None: each instance's `[solver] kind`).
    pub solver: Option<String>,
    /// Time limit per instance, seconds (None: each instance's).
    pub time_limit_s: Option<f64>,
    /// Largest space (product of grid sizes) per instance (None: each instance's
    /// `[solver] max_candidates`, else the default).
    pub max_candidates: Option<u64>,
}

/// One results line.
#[derive(Debug, Serialize)]
pub struct BatchLine<'a> {
    /// Instance path as given.
    pub path: String,
    /// SHA-256 of the instance file's bytes (a resume compares it).
    pub sha256: String,
    /// The solve result.
    #[serde(flatten)]
    pub solution: &'a Solution,
}

#[derive(Debug, Serialize)]
struct ErrorLine<'a> {
    path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    sha256: String,
    status: &'static str,
    message: &'a str,
}

/// Counts at the end of a batch.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchSummary {
    /// Instances after sharding.
    pub instances: usize,
    /// Skipped because already in the results (resume).
    pub skipped: usize,
    /// Solved now, by status.
    pub optimal: usize,
    /// Feasible, not proven optimal.
    pub feasible: usize,
    /// Infeasible.
    pub infeasible: usize,
    /// No design found.
    pub no_solution: usize,
    /// Bad instance or solver failure.
    pub error: usize,
    /// Torn bytes dropped from the end of the results file.
    pub dropped_torn_bytes: u64,
    /// Instances found before sharding.
    pub found: usize,
    /// Paths of this batch (solved now or recorded by an earlier run) that are infeasible,
    /// sorted.
    pub infeasible_paths: Vec<String>,
    /// Paths with no design before the time limit, sorted.
    pub no_solution_paths: Vec<String>,
    /// Paths that failed (bad instance or solver error), sorted.
    pub error_paths: Vec<String>,
}

/// Expand folders to every `*.toml` below them, recursively (each folder's files sorted by
/// path; folders whose name starts with `.` are skipped), and keep files as given, in order.
/// The order is a function of the file tree alone, so `--shard K/N` partitions the same list
/// in every task.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v = Vec::new();
            collect_toml(p, &mut v)?;
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Every `*.toml` file under `dir` (recursively; symbolic links to folders are not followed,
/// so a link cycle cannot loop).
fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
    for e in entries.flatten() {
        let path = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with('.');
        match e.file_type() {
            Ok(t) if t.is_dir() && !hidden => collect_toml(&path, out)?,
            Ok(t) if t.is_dir() => {}
            _ if path.extension().is_some_and(|x| x == "toml") && path.is_file() => out.push(path),
            _ => {}
        }
    }
    Ok(())
}

/// What a results line records of its instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    /// SHA-256 of the instance file it solved (None in results written before hashes were
    /// recorded).
    pub sha256: Option<String>,
    /// Its `status` (empty when the line has none).
    pub status: String,
}

/// Read the paths already recorded in a results file with what each line records, and cut a
/// torn last line. Returns (done paths, bytes dropped).
pub fn recover(out: &Path) -> Result<(HashMap<String, Recorded>, u64)> {
    let (lines, dropped) = crate::util::jsonl::recover(out, |line| {
        let v = serde_json::from_slice::<serde_json::Value>(line).ok()?;
        let path = v.get("path").and_then(|p| p.as_str())?.to_string();
        let status = v.get("status").and_then(|p| p.as_str()).unwrap_or_default().to_string();
        Some((path, Recorded { sha256: v.get("sha256").and_then(|s| s.as_str()).map(str::to_string), status }))
    })?;
    Ok((lines.into_iter().collect(), dropped))
}

/// SHA-256 of a file's bytes, or "" when it cannot be read (the solve then records the error).
fn file_sha256(p: &Path) -> String {
    std::fs::read(p).map(|b| crate::util::provenance::sha256_hex(&b)).unwrap_or_default()
}

/// A resume must continue the same batch: every recorded instance is one of `all`, and each
/// recorded hash matches the file now. Otherwise the error says what differs and what to do.
fn check_resume(out: &Path, done: &HashMap<String, Recorded>, all: &[PathBuf]) -> Result<()> {
    let names: std::collections::HashSet<String> = all.iter().map(|p| p.display().to_string()).collect();
    let sample = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        let more = if v.len() > 3 { format!(" and {} more", v.len() - 3) } else { String::new() };
        format!("{}{more}", v.into_iter().take(3).collect::<Vec<_>>().join(", "))
    };
    let foreign: Vec<String> = done.keys().filter(|p| !names.contains(*p)).cloned().collect();
    if !foreign.is_empty() {
        return Err(Error::Unsupported(format!(
            "{}: --resume: the results hold {} instance(s) this batch does not name ({}): they were written by \
                 another instance set or --shard; give the same paths and --shard, or another --out",
            out.display(),
            foreign.len(),
            sample(&foreign)
        )));
    }
    let changed: Vec<String> = all
        .iter()
        .filter_map(|p| {
            let key = p.display().to_string();
            let recorded = done.get(&key)?.sha256.as_ref()?;
            (*recorded != file_sha256(p)).then_some(key)
        })
        .collect();
    if !changed.is_empty() {
        return Err(Error::Unsupported(format!(
            "{}: --resume: {} instance file(s) changed since their results were written ({}; the sha256 recorded \
                 differs): their results are stale; delete their lines from the results or run without --resume",
            out.display(),
            changed.len(),
            sample(&changed)
        )));
    }
    Ok(())
}

/// Run a batch. `on_done(path, status)` is called after each instance (for progress).
pub fn run_batch(cfg: &BatchConfig, on_done: &(dyn Fn(&str, &str) + Sync)) -> Result<BatchSummary> {
    let mut all = expand_paths(&cfg.paths)?;
    let found = all.len();
    if let Some(s) = cfg.shard {
        all = all.into_iter().enumerate().filter(|(i, _)| i % s.count == s.index).map(|(_, p)| p).collect();
    }
    let mut summary = BatchSummary { instances: all.len(), found, ..Default::default() };
    let io = |source| Error::Io { path: cfg.out.display().to_string(), source };
    // Held until the batch returns: a second batch on this output is refused, not interleaved.
    let _lock = crate::util::fs::FileLock::acquire(
        &crate::util::fs::lock_path_for(&cfg.out),
        &cfg.out,
        "wait for it to finish, or give another --out",
    )?;
    let done = if cfg.resume {
        let (d, dropped) = recover(&cfg.out)?;
        check_resume(&cfg.out, &d, &all)?;
        summary.dropped_torn_bytes = dropped;
        d
    } else {
        std::fs::File::create(&cfg.out).map_err(io)?;
        HashMap::new()
    };
    let (todo, skipped): (Vec<PathBuf>, Vec<PathBuf>) =
        all.into_iter().partition(|p| !done.contains_key(&p.display().to_string()));
    summary.skipped = skipped.len();
    // Instances recorded by an earlier run count in the lists too, so a resumed task exits
    // as the uninterrupted one would.
    for p in &skipped {
        let path = p.display().to_string();
        match done.get(&path).map(|r| r.status.as_str()) {
            Some("infeasible") => summary.infeasible_paths.push(path),
            Some("no_solution") => summary.no_solution_paths.push(path),
            Some("error") => summary.error_paths.push(path),
            _ => {}
        }
    }
    let file = std::fs::OpenOptions::new().append(true).create(true).open(&cfg.out).map_err(io)?;
    let file = Mutex::new(file);
    let counts = Mutex::new(summary);
    let write_err: Mutex<Option<Error>> = Mutex::new(None);
    let work = |p: &PathBuf| {
        let path = p.display().to_string();
        let sha256 = file_sha256(p);
        let result = Instance::load_with(p, cfg.max_candidates).and_then(|inst| {
            let mut o = SolveOptions::from_instance(&inst);
            if let Some(t) = cfg.time_limit_s {
                o.time_limit_s = t;
            }
            let kind = cfg.solver.clone().unwrap_or_else(|| inst.solver.kind.clone());
            // The same selection `colaw solve` makes (robust for a `[robust]` instance).
            solve(&inst, &kind, &o)
        });
        let status_of =
            |s: Status| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let (line, status) = match &result {
            Ok(sol) => (
                serde_json::to_string(&BatchLine { path: path.clone(), sha256: sha256.clone(), solution: sol }),
                status_of(sol.status),
            ),
            Err(e) => (
                serde_json::to_string(&ErrorLine {
                    path: path.clone(),
                    sha256: sha256.clone(),
                    status: "error",
                    message: &e.to_string(),
                }),
                "error".to_string(),
            ),
        };
        let mut line = line.unwrap_or_else(|e| {
            format!("{{\"path\":{:?},\"status\":\"error\",\"message\":{:?}}}", path, e.to_string())
        });
        line.push('\n');
        {
            let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.flush()) {
                write_err.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(io(e));
            }
        }
        {
            let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
            match status.as_str() {
                "optimal" => c.optimal += 1,
                "feasible" => c.feasible += 1,
                "infeasible" => {
                    c.infeasible += 1;
                    c.infeasible_paths.push(path.clone());
                }
                "no_solution" => {
                    c.no_solution += 1;
                    c.no_solution_paths.push(path.clone());
                }
                _ => {
                    c.error += 1;
                    c.error_paths.push(path.clone());
                }
            }
        }
        on_done(&path, &status);
    };
    // Plain worker threads pulling from a shared index, not a rayon pool: a rayon worker
    // that blocks on a solver's own pool (enum builds one) steals further instances while it
    // waits, nesting one solve per instance on its stack until it overflows (seen at ~1,000
    // instances). A plain thread just blocks.
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        // No more threads than instances left (and --jobs is capped at MAX_THREADS by the CLI).
        for _ in 0..cfg.jobs.clamp(1, todo.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = todo.get(i) else { break };
                work(p);
            });
        }
    });
    if let Some(e) = write_err.into_inner().unwrap_or(None) {
        return Err(e);
    }
    let mut summary = counts.into_inner().unwrap_or_else(|e| e.into_inner());
    // Workers finish in any order; the lists are reported sorted.
    summary.infeasible_paths.sort();
    summary.no_solution_paths.sort();
    summary.error_paths.sort();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parse() {
        assert_eq!("1/4".parse::<Shard>().unwrap(), Shard { index: 1, count: 4 });
        assert!("4/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().unwrap_err().contains("K/N"));
    }

    #[test]
    fn recover_cuts_torn_tail() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("r.jsonl");
        std::fs::write(&f, "{\"path\":\"a\"}\n{\"path\":\"b\"}\n{\"path\":\"c\",\"sta").unwrap();
        let (done, dropped) = recover(&f).unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(dropped, "{\"path\":\"c\",\"sta".len() as u64);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "{\"path\":\"a\"}\n{\"path\":\"b\"}\n");
    }
}
