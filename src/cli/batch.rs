//! `colaw batch PATHS… --out RESULTS.jsonl`.

use super::{exit_code, Outcome};
use crate::batch::{run_batch, BatchConfig, BatchSummary, Shard};
use crate::solve::SolverKind;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Instance files or folders (every *.toml below a folder, recursively, sorted by path).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Results, one JSON line per instance.
    #[arg(long)]
    pub out: PathBuf,
    /// Instances solved at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Take every N-th instance starting at K (0-based), e.g. --shard $SLURM_ARRAY_TASK_ID/8.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Skip instances already complete in --out (a torn last line is dropped).
    #[arg(long)]
    pub resume: bool,
    /// Solver variant for every instance (default: each instance's).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(SolverKind::names()))]
    pub solver: Option<String>,
    /// Time limit per instance, seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Largest space (product of grid sizes) per instance (default: each instance's
    /// `[solver] max_candidates`, else 10⁹).
    #[arg(long)]
    pub max_candidates: Option<u64>,
    /// Exit 0 when some instances are infeasible (default: exit code 3 after the batch, with
    /// their paths listed), for batches that expect infeasible instances.
    #[arg(long)]
    pub allow_infeasible: bool,
}

pub fn run(a: BatchArgs) -> anyhow::Result<()> {
    crate::limits::threads(&Default::default(), "--jobs", a.jobs, false)?;
    if let Some(t) = a.time_limit {
        crate::limits::flag_seconds("--time-limit", t)?;
    }
    let cfg = BatchConfig {
        paths: a.paths,
        out: a.out.clone(),
        jobs: a.jobs,
        shard: a.shard,
        resume: a.resume,
        solver: a.solver,
        time_limit_s: a.time_limit,
        max_candidates: super::max_candidates(a.max_candidates)?,
    };
    let bar = ProgressBar::new(0);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let total = crate::batch::expand_paths(&cfg.paths)?.len();
    if total == 0 {
        let given: Vec<String> = cfg.paths.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "no instance files: {} hold no *.toml (folders are searched recursively); nothing was solved and {} was not touched",
            given.join(", "),
            a.out.display()
        );
    }
    bar.set_length(match cfg.shard {
        Some(s) => (total + s.count - 1 - s.index) / s.count,
        None => total,
    } as u64);
    let s = run_batch(&cfg, &|path: &str, status: &str| {
        bar.set_message(format!("{status}: {path}"));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    eprintln!(
        "batch: {} instances{}; solved now: {} optimal, {} feasible, {} infeasible, {} no solution, {} error; skipped {} already complete{}; results in {}",
        s.instances,
        cfg.shard.map(|x| format!(" (shard {}/{})", x.index, x.count)).unwrap_or_default(),
        s.optimal,
        s.feasible,
        s.infeasible,
        s.no_solution,
        s.error,
        s.skipped,
        if s.dropped_torn_bytes > 0 { format!("; dropped a torn last line ({} bytes)", s.dropped_torn_bytes) } else { String::new() },
        a.out.display()
    );
    if s.instances == 0 {
        if let Some(x) = cfg.shard {
            eprintln!(
                "batch: shard {}/{} holds none of the {} instances found (more shards than instances); the other shards cover them",
                x.index, x.count, s.found
            );
        }
    }
    outcome(&s, a.allow_infeasible)
}

/// Lists at most this many paths per status on stderr.
const LISTED: usize = 20;

/// The batch's exit: an error when any instance failed, then no-solution, then infeasible
/// (unless allowed), each listing the paths concerned.
fn outcome(s: &BatchSummary, allow_infeasible: bool) -> anyhow::Result<()> {
    let list = |paths: &[String]| {
        let mut t: Vec<String> = paths.iter().take(LISTED).map(|p| format!("  {p}")).collect();
        if paths.len() > LISTED {
            t.push(format!("  … and {} more (status in the results file)", paths.len() - LISTED));
        }
        t.join("\n")
    };
    if !s.infeasible_paths.is_empty() {
        eprintln!(
            "batch: {} infeasible (no design meets every budget):\n{}",
            s.infeasible_paths.len(),
            list(&s.infeasible_paths)
        );
    }
    if !s.no_solution_paths.is_empty() {
        eprintln!(
            "batch: {} with no design before the time limit:\n{}",
            s.no_solution_paths.len(),
            list(&s.no_solution_paths)
        );
    }
    if !s.error_paths.is_empty() {
        anyhow::bail!(
            "{} of {} instances failed (their `message` is in the results file):\n{}",
            s.error_paths.len(),
            s.instances,
            list(&s.error_paths)
        );
    }
    if !s.no_solution_paths.is_empty() {
        return Err(Outcome {
            code: exit_code::NO_SOLUTION,
            message: format!(
                "batch: exit code {}: {} instances found no design before the time limit",
                exit_code::NO_SOLUTION,
                s.no_solution_paths.len()
            ),
        }
        .into());
    }
    if !s.infeasible_paths.is_empty() && !allow_infeasible {
        return Err(Outcome {
            code: exit_code::INFEASIBLE,
            message: format!(
                "batch: exit code {}: {} instances are infeasible; --allow-infeasible exits 0",
                exit_code::INFEASIBLE,
                s.infeasible_paths.len()
            ),
        }
        .into());
    }
    Ok(())
}
