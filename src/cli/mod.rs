//! The command line: thin wrappers that parse arguments, call the library and print.
//! `anyhow` lives here only; every error exits non-zero with one message.

mod batch;
mod bench;
mod calibrate;
mod eval;
mod fit;
mod gen;
mod loop_;
mod output;
mod params;
mod pareto;
mod predict;
mod region;
mod solve;

use crate::cost::Workload;
use crate::error::Origin;
use crate::precision::{DType, Precision};
use clap::{Args, Parser, Subcommand};

/// colaw — choose LLM architectures for a device under latency and memory budgets.
#[derive(Debug, Parser)]
#[command(name = "colaw", version, about, long_about = None, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Exact parameter counts of an architecture (preset, config.json or colaw file).
    Params(params::ParamsArgs),
    /// Loss, latency, memory and per-operator breakdown of an architecture on a device.
    Eval(eval::EvalArgs),
    /// Predict the latency of every row of a measurement CSV; adds a `predicted_ms` column.
    Predict(predict::PredictArgs),
    /// Fit efficiency factors and overheads to measured latencies; write a hardware file.
    Calibrate(calibrate::CalibrateArgs),
    /// Uncertainty-aware feasible regions: probabilities per design over bootstrap samples.
    Region(region::RegionArgs),
    /// Exact loss-versus-metric Pareto front by ε-constraint solves.
    Pareto(pareto::ParetoArgs),
    /// Choose the best architecture of an instance file under its budgets (exactly).
    Solve(solve::SolveArgs),
    /// Solve many instances: one JSON line each, resumable (--resume) and shardable (--shard K/N).
    Batch(batch::BatchArgs),
    /// Fit a law's coefficients to observations (robust multi-start fit, bootstrap intervals).
    Fit(fit::FitArgs),
    /// Generate benchmark instances of a family (paper, large, multi, infeasible, tight).
    Gen(gen::GenArgs),
    /// Benchmark solver variants on instances: CSV, summary, correctness alarms, performance profile.
    Bench(bench::BenchArgs),
    /// Outer loop: fit → choose → measure (oracle) → refit until the choice is certain; resumable.
    Loop(loop_::LoopArgs),
    /// Measure one design (JSON on stdin) with an oracle spec; prints {"loss": …}.
    Oracle(loop_::OracleArgs),
}

/// Engine options shared by commands: run the design as this engine stores and runs it.
#[derive(Debug, Clone, Args, Default)]
pub struct EngineArgs {
    /// Inference engine (models/engines/: llama.cpp, mlc-llm, tensorrt-llm, vllm,
    /// hf-transformers-eager, pytorch-cudagraph …) or an engine file. Its weight format and KV
    /// cache replace --weight-dtype/--kv-dtype; its calibrated terms for the device (if any)
    /// replace the hardware file's.
    #[arg(long)]
    pub engine: Option<String>,
    /// The engine's weight format (e.g. Q4_K_M, Q8_0, q4f16_1, awq-int4-g128); default: the
    /// engine's default. Needs --engine.
    #[arg(long)]
    pub weight_format: Option<String>,
    /// The engine's KV-cache type (e.g. f16, q8_0, fp8_e4m3); default: the engine's. Needs --engine.
    #[arg(long)]
    pub kv_cache_type: Option<String>,
}

impl EngineArgs {
    /// The deployment these flags name on `hw` (given as `hardware_spec`), if any.
    pub fn resolve(
        &self,
        hw: &crate::Hardware,
        hardware_spec: &str,
    ) -> crate::Result<Option<crate::deployment::ResolvedDeployment>> {
        use crate::deployment::{device_key, engines_dir, resolve, EngineSpec, NEEDS_ENGINE};
        let spec = EngineSpec::from_parts(
            self.engine.as_deref(),
            self.weight_format.as_deref(),
            self.kv_cache_type.as_deref(),
        )
        .map_err(|(field, v)| {
            let flag = format!("--{}", field.replace('_', "-"));
            crate::Error::invalid(&Origin::default(), flag, v, format!("needs --engine ({NEEDS_ENGINE})"))
        })?;
        match spec {
            Some(spec) => resolve(&spec, hw, &device_key(hardware_spec), &engines_dir()).map(Some),
            None => Ok(None),
        }
    }
}

/// Workload options shared by commands.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Sequences per batch.
    #[arg(long, default_value_t = 1)]
    pub batch: u32,
    /// Prompt tokens per sequence (S_in).
    #[arg(long, default_value_t = 1024)]
    pub prompt: u32,
    /// Generated tokens per sequence (S_out, the number of decode steps).
    #[arg(long, default_value_t = 16)]
    pub gen: u32,
    /// Weight storage type: fp32, bf16, fp16, fp8, int8, int4.
    #[arg(long, default_value = "bf16")]
    pub weight_dtype: String,
    /// KV-cache storage type.
    #[arg(long, default_value = "bf16")]
    pub kv_dtype: String,
    /// Compute / activation type (selects the device's compute peak).
    #[arg(long, default_value = "bf16")]
    pub compute_dtype: String,
}

impl WorkloadArgs {
    /// Validated workload.
    pub fn workload(&self) -> crate::Result<Workload> {
        let o = Origin::default();
        let w = Workload {
            batch: self.batch,
            prompt_tokens: self.prompt,
            gen_tokens: self.gen,
            precision: Precision {
                weights: DType::parse_field(&self.weight_dtype, &o, "--weight-dtype")?,
                kv_cache: DType::parse_field(&self.kv_dtype, &o, "--kv-dtype")?,
                compute: DType::parse_field(&self.compute_dtype, &o, "--compute-dtype")?,
            },
            deploy: None,
        };
        w.validate(&o)?;
        Ok(w)
    }
}

/// `--max-candidates`, checked (at least 1); None when not given.
pub fn max_candidates(flag: Option<u64>) -> anyhow::Result<Option<u64>> {
    if flag == Some(0) {
        anyhow::bail!("--max-candidates = 0: must be at least 1 (default {})", crate::limits::DEFAULT_MAX_CANDIDATES);
    }
    Ok(flag)
}

/// Exit codes of every command (README "Exit codes", `colaw --help`).
pub mod exit_code {
    /// The command did what was asked.
    pub const OK: i32 = 0;
    /// An error: bad input, a failed solver, an instance of a batch that could not be solved.
    pub const ERROR: i32 = 1;
    /// The command line itself is wrong (unknown flag, missing argument).
    pub const USAGE: i32 = 2;
    /// No design meets every budget (`solve`, `batch`); the report is printed in full.
    /// `--allow-infeasible` turns it into 0.
    pub const INFEASIBLE: i32 = 3;
    /// The solver stopped at its time limit before finding any design (`solve`, `batch`).
    pub const NO_SOLUTION: i32 = 4;
}

/// The exit codes as `colaw --help` lists them.
const EXIT_CODES_HELP: &str = "Exit codes: 0 done; 1 error (bad input, failed solve, a batch instance that errored); \
2 bad command line; 3 infeasible: no design meets every budget (solve, batch; --allow-infeasible gives 0); \
4 no design found before the time limit (solve, batch).";

/// A run that completed but did not produce what was asked (an infeasible instance, no
/// design in time): its report was printed; `message` goes to stderr and `code` is the exit
/// status. Not an error of the program, hence not `error:`.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status ([`exit_code`]).
    pub code: i32,
    /// One line for stderr: what happened and what to do.
    pub message: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Outcome {}

/// Run with process arguments; returns the exit code ([`exit_code`]): 0 on success, 1 for an
/// error while running (a bad file, a value out of range, a refused lock), 2 for a command
/// line that does not parse, 3 infeasible, 4 no design in time. A panic would exit 101; none
/// is expected.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    match run(cli) {
        Ok(()) => exit_code::OK,
        Err(e) => match e.downcast_ref::<Outcome>() {
            Some(o) => {
                eprintln!("{}", o.message);
                o.code
            }
            None => {
                eprintln!("error: {e:#}");
                exit_code::ERROR
            }
        },
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Params(a) => params::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Region(a) => region::run(a),
        Command::Pareto(a) => pareto::run(a),
        Command::Solve(a) => solve::run(a),
        Command::Batch(a) => batch::run(a),
        Command::Fit(a) => fit::run(a),
        Command::Gen(a) => gen::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Loop(a) => loop_::run(a),
        Command::Oracle(a) => loop_::run_oracle(a),
    }
}
