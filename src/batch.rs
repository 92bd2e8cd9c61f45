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

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::solve::{solve, Solution, SolveOptions, Status};
use serde::Serialize;
use std::collections::HashSet;
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
    /// Instance files (folders are expanded to their `*.toml`, sorted).
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
}

/// One results line.
#[derive(Debug, Serialize)]
pub struct BatchLine<'a> {
    /// Instance path as given.
    pub path: String,
    /// The solve result.
    #[serde(flatten)]
    pub solution: &'a Solution,
}

#[derive(Debug, Serialize)]
struct ErrorLine<'a> {
    path: String,
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
}

/// Expand folders to their `*.toml` (sorted) and keep files as given.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|source| Error::Io { path: p.display().to_string(), source })?
                .flatten()
                .map(|e| e.path())
                .filter(|q| q.extension().is_some_and(|e| e == "toml"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Read the paths already recorded in a results file and cut a torn last line.
/// Returns (done paths, bytes dropped).
pub fn recover(out: &Path) -> Result<(HashSet<String>, u64)> {
    let (paths, dropped) = crate::util::jsonl::recover(out, |line| {
        let v = serde_json::from_slice::<serde_json::Value>(line).ok()?;
        v.get("path").and_then(|p| p.as_str()).map(str::to_string)
    })?;
    Ok((paths.into_iter().collect(), dropped))
}

/// Run a batch. `on_done(path, status)` is called after each instance (for progress).
pub fn run_batch(cfg: &BatchConfig, on_done: &(dyn Fn(&str, &str) + Sync)) -> Result<BatchSummary> {
    let mut all = expand_paths(&cfg.paths)?;
    if let Some(s) = cfg.shard {
        all = all.into_iter().enumerate().filter(|(i, _)| i % s.count == s.index).map(|(_, p)| p).collect();
    }
    let mut summary = BatchSummary { instances: all.len(), ..Default::default() };
    let io = |source| Error::Io { path: cfg.out.display().to_string(), source };
    let done = if cfg.resume {
        let (d, dropped) = recover(&cfg.out)?;
        summary.dropped_torn_bytes = dropped;
        d
    } else {
        std::fs::File::create(&cfg.out).map_err(io)?;
        HashSet::new()
    };
    let todo: Vec<PathBuf> = all.into_iter().filter(|p| !done.contains(&p.display().to_string())).collect();
    summary.skipped = summary.instances - todo.len();
    let file = std::fs::OpenOptions::new().append(true).create(true).open(&cfg.out).map_err(io)?;
    let file = Mutex::new(file);
    let counts = Mutex::new(summary);
    let write_err: Mutex<Option<Error>> = Mutex::new(None);
    let work = |p: &PathBuf| {
        let path = p.display().to_string();
        let result = Instance::load(p).and_then(|inst| {
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
            Ok(sol) => (serde_json::to_string(&BatchLine { path: path.clone(), solution: sol }), status_of(sol.status)),
            Err(e) => (
                serde_json::to_string(&ErrorLine { path: path.clone(), status: "error", message: &e.to_string() }),
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
                "infeasible" => c.infeasible += 1,
                "no_solution" => c.no_solution += 1,
                _ => c.error += 1,
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
        for _ in 0..cfg.jobs.max(1) {
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
    Ok(counts.into_inner().unwrap_or_else(|e| e.into_inner()))
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
