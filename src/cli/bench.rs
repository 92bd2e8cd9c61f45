//! `colaw bench --solvers enum,mip,mip-assign,analytic PATHS… --out BENCH.csv`.

use crate::bench::{
    check, default_max_candidates, read_csv, run_bench, summarize, summary_table, write_csv, write_profile,
    BenchConfig, BenchRow, DEFAULT_SHIFT_MS,
};
use crate::solve::SolverKind;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Instance files or folders (their *.toml, sorted).
    #[arg(required_unless_present = "from")]
    pub paths: Vec<PathBuf>,
    /// Solver variants, comma-separated: enum, mip, mip-assign, analytic, robust-enum,
    /// robust-mip, auto. On `[robust]` instances only robust-enum, robust-mip and auto run
    /// (the others are `skipped`); robust-* are `skipped` on the other instances.
    #[arg(long, value_delimiter = ',', default_value = "enum,mip,mip-assign,analytic")]
    pub solvers: Vec<String>,
    /// Runs per (instance, solver): median and minimum time are reported.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Time limit per solve, seconds (default: each instance's).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Results CSV, one row per (instance, solver).
    #[arg(long)]
    pub out: PathBuf,
    /// Dolan–Moré performance profile (SVG).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Instances run at once (each solve still uses one thread; peak RSS becomes per process).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Shift of the shifted geometric mean time, ms.
    #[arg(long, default_value_t = DEFAULT_SHIFT_MS)]
    pub shift_ms: f64,
    /// Largest space a solver is run on, SOLVER=N (repeatable; default mip=2e6); larger
    /// spaces give `skipped` rows.
    #[arg(long = "max-candidates", value_name = "SOLVER=N")]
    pub max_candidates: Vec<String>,
    /// Re-judge rows of an earlier BENCH.csv (e.g. merged shards) instead of running.
    #[arg(long, conflicts_with = "paths")]
    pub from: Option<Vec<PathBuf>>,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    for s in &a.solvers {
        anyhow::ensure!(
            s.parse::<SolverKind>().is_ok(),
            "--solvers: `{s}` is not a solver variant; use {}",
            SolverKind::names().join(", ")
        );
    }
    crate::limits::flag_count("--repeat", a.repeat, 1, crate::limits::MAX_ITERATIONS)?;
    crate::limits::threads(&Default::default(), "--jobs", a.jobs, false)?;
    anyhow::ensure!(a.shift_ms.is_finite() && a.shift_ms >= 0.0, "--shift-ms {}: must be ≥ 0", a.shift_ms);
    if let Some(t) = a.time_limit {
        crate::limits::flag_seconds("--time-limit", t)?;
    }
    let (rows, solvers): (Vec<BenchRow>, Vec<String>) = match &a.from {
        Some(files) => {
            let mut rows = Vec::new();
            for f in files {
                rows.extend(read_csv(f)?);
            }
            check(&mut rows);
            let mut solvers: Vec<String> = Vec::new();
            for r in &rows {
                if !solvers.contains(&r.solver) {
                    solvers.push(r.solver.clone());
                }
            }
            (rows, solvers)
        }
        None => {
            let mut caps = default_max_candidates();
            for m in &a.max_candidates {
                let (s, n) = m
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--max-candidates {m}: expected SOLVER=N, e.g. mip=1e6"))?;
                let n: f64 = n.parse().map_err(|_| anyhow::anyhow!("--max-candidates {m}: N must be a number"))?;
                anyhow::ensure!(n.is_finite() && n >= 1.0, "--max-candidates {m}: N must be at least 1");
                caps.insert(s.to_string(), n as u64);
            }
            let cfg = BenchConfig {
                max_candidates: caps,
                paths: a.paths.clone(),
                solvers: a.solvers.clone(),
                repeat: a.repeat,
                time_limit_s: a.time_limit,
                jobs: a.jobs,
            };
            let rows = run_bench(&cfg, &|r: &BenchRow| {
                eprintln!("bench: {} {} {} {:.2} ms", r.instance, r.solver, r.status, r.time_median_ms);
            })?;
            (rows, a.solvers.clone())
        }
    };
    write_csv(&a.out, &rows)?;
    if let Some(p) = &a.profile {
        write_profile(p, &rows, &solvers)?;
    }
    let sums = summarize(&rows, &solvers, a.shift_ms);
    print!("{}", summary_table(&sums, a.shift_ms));
    let alarms: Vec<&BenchRow> = rows.iter().filter(|r| r.alarm).collect();
    for r in &alarms {
        eprintln!("ALARM: {} on {}: {}", r.solver, r.path, r.alarm_reason);
    }
    eprintln!("bench: {} rows in {}", rows.len(), a.out.display());
    anyhow::ensure!(
        alarms.is_empty(),
        "CORRECTNESS ALARM: {} result(s) of exact solvers disagree with the best verified objective or failed \
         verification (see the ALARM lines and the `alarm` column of {})",
        alarms.len(),
        a.out.display()
    );
    Ok(())
}
