//! `colaw batch PATHS… --out RESULTS.jsonl`.

use crate::batch::{run_batch, BatchConfig, Shard};
use crate::solve::SolverKind;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Instance files or folders (their *.toml, sorted).
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
    Ok(())
}
