//! `colaw solve INSTANCE.toml`.

use super::output::{grouped, human_bytes, print_json, Format};
use crate::instance::Instance;
use crate::solve::{solve, Solution, SolveOptions, Status, SOLVER_KINDS};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `solve`.
#[derive(Debug, Args)]
pub struct SolveArgs {
    /// Instance file (TOML; see docs/instances.md).
    pub instance: PathBuf,
    /// Solver variant (default: the instance's `[solver] kind`, else auto).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(SOLVER_KINDS))]
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
    /// Robust objective over --samples: `mean` or `cvar:ALPHA` (e.g. cvar:0.1).
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
}

/// Options from the instance, overridden by flags; validated.
pub fn options(inst: &Instance, a: &SolveArgs) -> anyhow::Result<(String, SolveOptions)> {
    let mut o = SolveOptions::from_instance(inst);
    if let Some(t) = a.time_limit {
        anyhow::ensure!(t.is_finite() && t > 0.0, "--time-limit {t}: must be a positive number of seconds");
        o.time_limit_s = t;
    }
    if let Some(k) = a.top_k {
        anyhow::ensure!(k >= 1, "--top-k {k}: must be at least 1");
        o.top_k = k;
    }
    if let Some(g) = a.gap {
        anyhow::ensure!(g.is_finite() && (0.0..1.0).contains(&g), "--gap {g}: must lie in [0, 1)");
        o.gap = g;
    }
    if let Some(t) = a.threads {
        o.threads = t;
    }
    if let Some(s) = a.seed {
        anyhow::ensure!(s <= i32::MAX as u32, "--seed {s}: must be at most 2147483647");
        o.seed = s;
    }
    o.write_model = a.write_model.clone();
    let kind = a.solver.clone().unwrap_or_else(|| inst.solver.kind.clone());
    if o.write_model.is_some() {
        anyhow::ensure!(
            matches!(kind.as_str(), "mip" | "mip-assign"),
            "--write-model needs --solver mip or mip-assign (the model of `{kind}` is not a MIP)"
        );
    }
    Ok((kind, o))
}

pub fn run(a: SolveArgs) -> anyhow::Result<()> {
    let mut inst = Instance::load(&a.instance)?;
    if let Some(r) = &a.budget_from {
        inst = crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
    }
    let (kind, opts) = options(&inst, &a)?;
    if a.risk.is_some() || a.chance.is_some() || a.samples.is_some() {
        return robust(&inst, &kind, &opts, &a);
    }
    let sol = solve(&inst, &kind, &opts)?;
    match a.format {
        Format::Json => print_json(&sol)?,
        Format::Table => print!("{}", table(&sol)),
    }
    if !sol.verified {
        anyhow::bail!("a returned design failed re-evaluation (a bug): {}", sol.message);
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
                    "     {} ({}, {}): prefill {:.3} ms  decode {:.3} ms  tpot {:.3} ms  total {:.3} ms  memory {}",
                    sc.name,
                    sc.hardware,
                    sc.compute_dtype,
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

/// `--risk` / `--chance`: robust selection by the robust MIP or by enumeration.
fn robust(inst: &Instance, kind: &str, opts: &SolveOptions, a: &SolveArgs) -> anyhow::Result<()> {
    use crate::solve::{robust_enum, robust_mip, Risk, RobustSpec};
    let risk = Risk::parse(a.risk.as_deref().unwrap_or("mean"))?;
    let coefficients = match &a.samples {
        Some(p) => crate::region::read_coefficient_samples(p, &inst.law)?,
        None => Vec::new(),
    };
    let latency = match &a.latency_samples {
        Some(p) => crate::region::read_latency_samples(p)?,
        None => Vec::new(),
    };
    anyhow::ensure!(
        a.chance.is_none() || !latency.is_empty(),
        "--chance needs --latency-samples (written by `colaw calibrate --samples`)"
    );
    let spec = RobustSpec { risk, coefficients, latency, chance_epsilon: a.chance, latency_scenarios: None };
    // auto: enumeration is faster up to a few million candidates (the CVaR MIP carries one
    // row per coefficient sample); beyond that the MIP scales better.
    let kind = if kind == "auto" {
        if inst.candidates() <= 5_000_000 {
            "enum"
        } else {
            "mip"
        }
    } else {
        kind
    };
    let sol = match kind {
        "enum" => robust_enum(inst, &spec)?,
        "mip" => robust_mip(inst, &spec, opts)?,
        other => anyhow::bail!("robust selection runs with --solver mip (default) or enum, not `{other}`"),
    };
    print_json(&sol)
}

/// A number for tables: 4 decimals, or 4 significant digits in scientific notation when large.
fn num(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:.4e}")
    } else {
        format!("{x:.4}")
    }
}
