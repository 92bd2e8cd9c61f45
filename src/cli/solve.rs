//! `colaw solve INSTANCE.toml`.

use super::output::{grouped, human_bytes, print_json, Format};
use super::{exit_code, Outcome};
use crate::error::Origin;
use crate::instance::{Instance, SettingNames, SolverSpec};
use crate::solve::{solve, RobustReport, Solution, SolveOptions, SolverKind, Status};
use crate::uncertainty::{RobustOverrides, RobustSpec};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Instance file (TOML; see docs/instances.md).
    pub instance: PathBuf,
    /// Solver variant (default: the instance's `[solver] kind`, else auto).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(SolverKind::names()))]
    pub solver: Option<String>,
    /// Time limit, seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Return the K best distinct designs.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Relative MIP gap at which to stop (0 = prove optimality).
    #[arg(long)]
    pub gap: Option<f64>,
    /// Threads for HiGHS and enumeration (0 = all cores).
    #[arg(long)]
    pub threads: Option<u32>,
    /// HiGHS random seed.
    #[arg(long)]
    pub seed: Option<u32>,
    /// Largest product of the space's grid sizes to enumerate (default: the instance's
    /// `[solver] max_candidates`, else 10⁹; see docs/reliability.md).
    #[arg(long)]
    pub max_candidates: Option<u64>,
    /// Write the MIP model (.lp or .mps) for other solvers (mip and mip-assign).
    #[arg(long)]
    pub write_model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Set every latency budget to this architecture's own value ("the best design at the
    /// latency of Qwen2.5-0.5B"): preset, config.json or colaw file.
    #[arg(long)]
    pub budget_from: Option<String>,
    /// Robust objective over --samples: `mean` or `cvar:ALPHA` (e.g. cvar:0.1). This and the
    /// three flags below override the instance's `[robust]` section.
    #[arg(long)]
    pub risk: Option<String>,
    /// Bootstrap coefficient samples of the law (`colaw fit --samples`).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// Latency calibration samples (`colaw calibrate --samples`), for --chance.
    #[arg(long)]
    pub latency_samples: Option<PathBuf>,
    /// Chance constraint: budgets must hold in at least (1 − ε) of the latency samples.
    #[arg(long)]
    pub chance: Option<f64>,
    /// Write the chosen design as a Hugging Face transformers config: DIR/config.json (with
    /// --top-k K, the k-th design in DIR/rank-k/config.json). Llama or Qwen2 for dense
    /// designs, Mixtral for MoE, by structure (`colaw params DIR/config.json` gives its count).
    #[arg(long, value_name = "DIR")]
    pub emit_config: Option<PathBuf>,
    /// Exit 0 when no design meets every budget (default: exit code 3 after the report),
    /// for scripts that expect infeasible instances.
    #[arg(long)]
    pub allow_infeasible: bool,
}

/// Options from the instance, overridden by flags; validated.
pub fn options(inst: &Instance, a: &SolveArgs) -> anyhow::Result<(String, SolveOptions)> {
    let mut s = inst.solver.clone();
    let flags = SolverSpec {
        kind: s.kind.clone(),
        time_limit_s: a.time_limit,
        gap: a.gap,
        threads: a.threads,
        seed: a.seed,
        top_k: a.top_k,
        max_candidates: None,
    };
    s.apply(&flags, &Origin::default(), SettingNames::Flags)?;
    let kind = a.solver.clone().unwrap_or_else(|| s.kind.clone());
    let o = SolveOptions { write_model: a.write_model.clone(), ..SolveOptions::from_settings(&s) };
    o.validate(&kind)?;
    Ok((kind, o))
}

pub fn run(a: SolveArgs) -> anyhow::Result<()> {
    let mut inst = Instance::load_with(&a.instance, super::max_candidates(a.max_candidates)?)?;
    if let Some(r) = &a.budget_from {
        inst = crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
    }
    let (kind, opts) = options(&inst, &a)?;
    if let Some(spec) = robust_spec(&inst, &a)? {
        inst.robust = Some(Arc::new(spec));
    }
    // Large spaces take seconds: say so on a terminal (quiet when piped).
    let candidates = inst.space.widths.len() * inst.space.depths.len();
    let spin = (candidates >= 1_000_000).then(|| super::progress::spinner(format!("solve: {candidates} candidates")));
    let sol = solve(&inst, &kind, &opts);
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let sol = sol?;
    crate::util::warning::print_stderr(&sol.warnings);
    match (a.format, &sol.robust) {
        (Format::Json, _) => print_json(&sol)?,
        (Format::Table, None) => print!("{}", table(&sol)),
        (Format::Table, Some(r)) => print!("{}", robust_table(&sol, r)),
    }
    if !sol.verified {
        anyhow::bail!("a returned design failed re-evaluation (a bug): {}", sol.message);
    }
    if let Some(dir) = &a.emit_config {
        emit_configs(&inst, &sol, dir)?;
    }
    status_outcome(sol.status, a.allow_infeasible, &sol.message)
}

/// The exit of a solve whose report was printed: Ok for a design, an [`Outcome`] with its
/// own exit code for an infeasible instance (unless allowed) or no design in time, an error
/// for a failed solver.
pub fn status_outcome(status: Status, allow_infeasible: bool, message: &str) -> anyhow::Result<()> {
    match status {
        Status::Optimal | Status::Feasible => Ok(()),
        Status::Infeasible if allow_infeasible => Ok(()),
        Status::Infeasible => Err(Outcome {
            code: exit_code::INFEASIBLE,
            message: format!(
                "{message} — exit code {} (no design meets every budget); --allow-infeasible exits 0",
                exit_code::INFEASIBLE
            ),
        }
        .into()),
        Status::NoSolution => Err(Outcome {
            code: exit_code::NO_SOLUTION,
            message: format!(
                "{message} — exit code {} (no design found before the time limit); raise --time-limit or try --solver enum",
                exit_code::NO_SOLUTION
            ),
        }
        .into()),
        Status::Error => anyhow::bail!("the solver failed: {message}"),
    }
}

/// `--emit-config DIR`: the best design's config in DIR/config.json, the k-th in
/// DIR/rank-k/config.json. Without a design nothing is written (the exit status says why).
fn emit_configs(inst: &Instance, sol: &Solution, dir: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let configs = sol.hf_configs(inst)?;
    if configs.is_empty() {
        eprintln!("--emit-config {}: no design to write ({})", dir.display(), sol.message);
    }
    for (k, config) in configs.iter().enumerate() {
        let folder = if k == 0 { dir.to_path_buf() } else { dir.join(format!("rank-{}", k + 1)) };
        std::fs::create_dir_all(&folder).with_context(|| folder.display().to_string())?;
        let path = folder.join("config.json");
        std::fs::write(&path, serde_json::to_string_pretty(config)? + "\n")
            .with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// Human-readable summary.
pub fn table(s: &Solution) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {:?} by {} in {:.1} ms ({} candidates = {} widths × {} depths)",
        s.instance,
        s.status,
        s.solver,
        s.solve_ms,
        grouped(s.candidates),
        s.widths,
        s.depths
    );
    if let Some(r) = &s.solver_reason {
        let _ = writeln!(o, "  why {}: {r}", s.solver);
    }
    let _ = writeln!(o, "  {}", s.message);
    if matches!(s.status, Status::Optimal | Status::Feasible) {
        let _ = writeln!(
            o,
            "  objective {:.6}  loss {:.6}{}{}{}  verified {}",
            s.objective.unwrap_or(f64::NAN),
            s.loss.unwrap_or(f64::NAN),
            s.bound.map(|b| format!("  bound {b:.6}")).unwrap_or_default(),
            s.gap.map(|g| format!("  gap {:.3e}", g)).unwrap_or_default(),
            s.gap_to_exact.map(|g| format!("  gap to exact {:.3e}", g)).unwrap_or_default(),
            s.verified
        );
        for (rank, d) in s.designs.iter().enumerate() {
            let _ = writeln!(
                o,
                "\n  #{} {}  weights {} kv {}  loss {:.5}  objective {:.6}",
                rank + 1,
                d.label,
                d.weight_dtype,
                d.kv_dtype,
                d.loss,
                d.objective
            );
            let _ = writeln!(
                o,
                "     params total {}  active {}  non-embedding {}",
                grouped(d.params.total),
                grouped(d.params.active),
                grouped(d.params.non_embedding)
            );
            for sc in &d.scenarios {
                let l = &sc.latency_ms;
                let _ = writeln!(
                    o,
                    "     {} ({}, {}{}): prefill {:.3} ms  decode {:.3} ms  tpot {:.3} ms  total {:.3} ms  memory {}",
                    sc.name,
                    sc.hardware,
                    sc.compute_dtype,
                    sc.storage.as_ref().map(|x| format!(", stored {x}")).unwrap_or_default(),
                    l.prefill,
                    l.decode,
                    l.tpot,
                    l.total,
                    human_bytes(sc.memory_bytes.total)
                );
                for b in &sc.budgets {
                    let _ = writeln!(
                        o,
                        "       {:<14} {:>12} ≤ {:<12} {} [{}]",
                        b.metric.name(),
                        num(b.value),
                        num(b.limit),
                        if b.ok { "ok" } else { "VIOLATED" },
                        b.source
                    );
                }
            }
            for t in &d.terms {
                let _ = writeln!(o, "     term {:<24} {:.6}", t.name, t.value);
            }
        }
    }
    if let Some(r) = &s.infeasibility {
        let _ = writeln!(o, "\n  budget (scenario)                 limit          best reachable  alone");
        for b in r {
            let _ = writeln!(
                o,
                "  {:<14} ({:<14}) {:>14} {:>14}  {}",
                b.metric.name(),
                b.scenario,
                num(b.limit),
                num(b.best_reachable),
                if b.satisfiable_alone { "ok" } else { "CANNOT" }
            );
        }
    }
    o
}

/// The robust specification: the instance's `[robust]` with each given flag (--risk,
/// --samples, --latency-samples, --chance) overriding its part; None when neither the file
/// nor a flag asks for robust selection.
pub fn robust_spec(inst: &Instance, a: &SolveArgs) -> anyhow::Result<Option<RobustSpec>> {
    let o = RobustOverrides {
        risk: a.risk.clone(),
        samples: a.samples.clone(),
        latency_samples: a.latency_samples.clone(),
        chance: a.chance,
    };
    Ok(RobustSpec::with_overrides(inst.robust.as_deref(), &o, inst.law.as_ref())?)
}

/// Human-readable summary of a robust solve.
pub fn robust_table(s: &Solution, r: &RobustReport) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: {:?} by {} in {:.1} ms ({} candidates)",
        s.instance,
        s.status,
        s.solver,
        s.solve_ms,
        grouped(s.candidates)
    );
    if let Some(r) = &s.solver_reason {
        let _ = writeln!(o, "  why {}: {r}", s.solver);
    }
    let _ = writeln!(o, "  {}", s.message);
    if let Some(v) = r.value {
        let _ = writeln!(
            o,
            "  {} {:.6}  mean loss {:.6}  point loss {:.6}{}{}  verified {}",
            r.risk,
            v,
            r.loss_mean.unwrap_or(f64::NAN),
            r.loss_point.unwrap_or(f64::NAN),
            s.bound.map(|b| format!("  bound {b:.6}")).unwrap_or_default(),
            s.gap.map(|g| format!("  gap {g:.3e}")).unwrap_or_default(),
            s.verified
        );
        if let (Some(ok), Some(req)) = (r.latency_ok_share, r.latency_required_share) {
            let _ = writeln!(
                o,
                "  budgets met in {:.1} % of {} latency samples (required {:.1} %)",
                ok * 100.0,
                r.latency_samples,
                req * 100.0
            );
        }
        let _ = writeln!(
            o,
            "  {}  weights {} kv {}",
            s.label.as_deref().unwrap_or(""),
            s.weight_dtype.as_deref().unwrap_or(""),
            s.kv_dtype.as_deref().unwrap_or("")
        );
        for sc in &s.scenarios {
            let l = &sc.latency_ms;
            let _ = writeln!(
                o,
                "     {} ({}), point model: tpot {:.3} ms  total {:.3} ms  memory {}",
                sc.name,
                sc.hardware,
                l.tpot,
                l.total,
                human_bytes(sc.memory_bytes.total)
            );
        }
    }
    o
}

/// A number for tables: 4 decimals, or 4 significant digits in scientific notation when large.
fn num(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}
