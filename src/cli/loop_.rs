//! `colaw loop`: fit → choose → measure → refit until the choice is certain (resumable), and
//! `colaw oracle`: evaluate one design (JSON on stdin) with an oracle spec.

use super::output::print_json;
use crate::instance::Instance;
use crate::law::posterior::{PosteriorMethod, PosteriorOptions};
use crate::law::Starts;
use crate::oracle::{parse_oracle, Design};
use crate::outer::{Journal, LoopOptions, OuterLoop, Strategy, Uncertainty};
use anyhow::Context;
use clap::Args;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `loop`.
#[derive(Debug, Args)]
pub struct LoopArgs {
    /// Instance file: the design space, budgets and the law whose form is fitted.
    #[arg(long)]
    pub instance: PathBuf,
    /// Initial observations: hidden, layers, heads, kv_heads, head_dim, ffn, experts,
    /// active_experts, vocab, tied, loss (optional weight_dtype, kv_dtype).
    #[arg(long)]
    pub data: PathBuf,
    /// `synthetic:LAW[:noise=σ][:seed=s][:seeds=N]`, or a shell command reading the design as JSON on
    /// stdin and printing {"loss": …}.
    #[arg(long)]
    pub oracle: String,
    /// Journal folder; an existing journal is resumed.
    #[arg(long)]
    pub journal: PathBuf,
    /// Rounds that measure.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Designs measured per round.
    #[arg(long, default_value_t = 4)]
    pub per_round: usize,
    /// Stop when the choice is optimal in at least this share of the coefficient samples.
    #[arg(long, default_value_t = 0.9)]
    pub stop_confidence: f64,
    /// Where the coefficient samples come from: laplace (the weak-prior posterior, Gaussian
    /// at its mode; calibrated, docs/calibration.md), rto (the same posterior by
    /// randomize-then-optimize refits) or bootstrap (resampled rows; over-confident with few
    /// rows). A journal resumes only with the method it was started with.
    #[arg(long, default_value = "laplace")]
    pub uncertainty: String,
    /// Posterior samples per round (laplace, rto).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Prior standard deviation, relative: of the log of the law file's constant and
    /// multipliers (0.3: known within a factor e^±0.3) and of each exponent as a share of its
    /// value. Use ≥ 1 when the law file was fitted in another regime.
    #[arg(long)]
    pub prior_rel_sd: Option<f64>,
    /// Prior guess of the noise standard deviation of log loss (default 0.004).
    #[arg(long)]
    pub noise_prior_sd: Option<f64>,
    /// Rows that noise guess is worth (default 2: weak).
    #[arg(long)]
    pub noise_prior_dof: Option<f64>,
    /// Bootstrap resamples per round (--uncertainty bootstrap).
    #[arg(long, default_value_t = 50)]
    pub bootstrap: usize,
    /// Seed (fits, bootstraps, random strategies).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Oracle calls at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Wall-clock limit per oracle call, seconds (commands only).
    #[arg(long)]
    pub timeout_s: Option<f64>,
    /// Extra attempts after a failed oracle call.
    #[arg(long, default_value_t = 1)]
    pub retries: usize,
    /// Which designs to measure: mixed (half informative, half Latin hypercube), informative,
    /// random or lhs.
    #[arg(long, default_value = "mixed")]
    pub strategy: Strategy,
    /// Latin-hypercube starts of the first round's fit.
    #[arg(long, default_value_t = 200)]
    pub starts: usize,
    /// Latin-hypercube starts added to the warm start in later rounds.
    #[arg(long, default_value_t = 20)]
    pub warm_starts: usize,
    /// When --data does not exist: measure N feasible designs spread by a Latin hypercube
    /// with the oracle first (round 0 of the journal: parallel, retried, resumable) and write
    /// them there.
    #[arg(long, default_value_t = 0)]
    pub init: usize,
    /// Largest space (product of grid sizes) of the instance (default: its
    /// `[solver] max_candidates`, else 10⁹).
    #[arg(long)]
    pub max_candidates: Option<u64>,
    /// Re-ask the journal's designs whose every attempt failed (e.g. after fixing the
    /// oracle), each with 1 + --retries fresh attempts, then go on.
    #[arg(long)]
    pub retry_failed: bool,
    /// On a finished journal: measure N more rounds after its last one, whatever its
    /// confidence, then fit once more (a larger --rounds does not reopen a finished journal).
    #[arg(long, default_value_t = 0)]
    pub extend: usize,
}

pub fn run(a: LoopArgs) -> anyhow::Result<()> {
    let timeout = timeout_of(a.timeout_s)?;
    let opts = options(&a)?;
    let inst = Instance::load_with(&a.instance, super::max_candidates(a.max_candidates)?)?;
    let oracle = parse_oracle(&a.oracle, timeout)?;
    let journal = Journal::new(&a.journal)?;
    // Held from the initial designs to the end: no other loop can take the journal between.
    let _lock = journal.lock().with_context(|| format!("loop with journal {}", a.journal.display()))?;
    let print = |s: &str| eprintln!("{s}");
    let mut lp = OuterLoop::new(&inst, oracle.as_ref(), opts, journal);
    lp.on_round = Some(&print);
    lp.on_call = Some(&print);
    if !a.data.exists() && a.init > 0 {
        eprintln!("measuring {} initial designs (round 0 of the journal) into {}", a.init, a.data.display());
        let n = lp
            .measure_initial(a.init, &a.data)
            .with_context(|| format!("initial designs, journal {}", a.journal.display()))?;
        eprintln!("measured {n} initial designs into {}", a.data.display());
    }
    let report = lp.run(&a.data).with_context(|| format!("loop with journal {}", a.journal.display()))?;
    for n in &report.notes {
        eprintln!("note: {n}");
    }
    for o in report.outliers.iter().filter(|o| o.status != "re-asked") {
        eprintln!("outlier {}: {} — {}", o.row, o.status, o.note);
    }
    print_json(&serde_json::json!({
        "choice": report.choice,
        "confidence": report.confidence,
        "stop": report.stop,
        "rounds": report.rounds.len(),
        "calls": report.calls,
        "calls_this_run": report.calls_this_run,
        "measured": report.measured,
        "failed": report.failed,
        "failures": report.failures,
        "outliers": report.outliers,
        "notes": report.notes,
        "intervals": report.rounds.last().map(crate::outer::intervals),
        "journal": report.journal,
    }))
}

/// The loop's settings from its flags, checked (no file is read).
pub fn options(a: &LoopArgs) -> anyhow::Result<LoopOptions> {
    use crate::limits::{flag_count, MAX_ITERATIONS, MAX_SAMPLES};
    for (flag, v, min, max) in [
        ("--rounds", a.rounds, 0, MAX_ITERATIONS),
        ("--per-round", a.per_round, 1, MAX_ITERATIONS),
        ("--samples", a.samples, 0, MAX_SAMPLES),
        ("--bootstrap", a.bootstrap, 0, MAX_SAMPLES),
        ("--retries", a.retries, 0, MAX_ITERATIONS),
        ("--starts", a.starts, 1, MAX_ITERATIONS),
        ("--warm-starts", a.warm_starts, 0, MAX_ITERATIONS),
        ("--init", a.init, 0, MAX_ITERATIONS),
    ] {
        flag_count(flag, v, min, max)?;
    }
    crate::limits::threads(&Default::default(), "--jobs", a.jobs, false)?;
    let uncertainty = uncertainty_of(a)?;
    let opts = LoopOptions {
        rounds: a.rounds,
        per_round: a.per_round,
        stop_confidence: a.stop_confidence,
        uncertainty,
        bootstrap: a.bootstrap,
        samples: a.samples,
        seed: a.seed,
        jobs: a.jobs,
        retries: a.retries,
        starts: Starts::Lhs(a.starts),
        warm_starts: a.warm_starts,
        strategy: a.strategy,
        retry_failed: a.retry_failed,
        extend: a.extend,
    };
    opts.validate()?;
    Ok(opts)
}

/// `--timeout-s` as a duration (finite, positive, at most [`crate::limits::MAX_SECONDS`]).
pub fn timeout_of(timeout_s: Option<f64>) -> anyhow::Result<Option<Duration>> {
    Ok(timeout_s.map(|t| crate::limits::flag_seconds("--timeout-s", t)).transpose()?)
}

/// `--uncertainty` and the prior flags; prior flags with the bootstrap are refused (they would
/// silently do nothing).
pub fn uncertainty_of(a: &LoopArgs) -> anyhow::Result<Uncertainty> {
    let prior_flags = [
        ("--prior-rel-sd", a.prior_rel_sd),
        ("--noise-prior-sd", a.noise_prior_sd),
        ("--noise-prior-dof", a.noise_prior_dof),
    ];
    if a.uncertainty == "bootstrap" {
        if let Some((flag, _)) = prior_flags.iter().find(|(_, v)| v.is_some()) {
            anyhow::bail!("{flag} sets the posterior's prior; it needs --uncertainty laplace or rto, not bootstrap");
        }
        return Ok(Uncertainty::Bootstrap);
    }
    let method: PosteriorMethod = a
        .uncertainty
        .parse()
        .map_err(|_| anyhow::anyhow!("--uncertainty `{}`: expected laplace, rto or bootstrap", a.uncertainty))?;
    let mut po = PosteriorOptions { method, ..PosteriorOptions::default() };
    if let Some(v) = a.prior_rel_sd {
        po.rel_sd = v;
    }
    if let Some(v) = a.noise_prior_sd {
        po.noise_sd = v;
    }
    if let Some(v) = a.noise_prior_dof {
        po.noise_dof = v;
    }
    // Name the flag, not the field, when a value is out of range.
    for (flag, v) in prior_flags {
        if let Some(v) = v {
            if !(v.is_finite() && v > 0.0) {
                anyhow::bail!("{flag} = {v}: must be a positive number");
            }
        }
    }
    if a.samples < 2 {
        anyhow::bail!("--samples = {}: needs at least 2 posterior samples", a.samples);
    }
    Ok(Uncertainty::Posterior(po))
}

/// Arguments of `oracle`.
#[derive(Debug, Args)]
pub struct OracleArgs {
    /// Oracle spec, as for `loop --oracle`.
    pub spec: String,
    /// Wall-clock limit, seconds (commands only).
    #[arg(long)]
    pub timeout_s: Option<f64>,
}

pub fn run_oracle(a: OracleArgs) -> anyhow::Result<()> {
    // Check the flags before waiting on stdin.
    let o = parse_oracle(&a.spec, timeout_of(a.timeout_s)?)?;
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("reading the design from stdin")?;
    let d: Design = serde_json::from_str(s.trim()).context("stdin must be one design as JSON (as `loop` sends it)")?;
    let r = o.measure(&d).map_err(|e| anyhow::anyhow!("oracle failed: {e}"))?;
    let mut v = serde_json::json!({ "loss": r.loss });
    if let Some(sd) = r.loss_sd {
        v["loss_sd"] = sd.into();
    }
    if let Some(n) = r.seeds {
        v["seeds"] = n.into();
    }
    println!("{v}");
    Ok(())
}
