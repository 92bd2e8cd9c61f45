//! The command line's cheap path, for the fuzzer and its replay test: parse an argument
//! vector as `colaw` would and run every check a command makes before its real work (flags,
//! the files it names, options), never a solve, a fit, an oracle call or a write. Where a
//! command checks flags inline in its `run`, the same calls are made here (keep them in step).

use super::{Cli, Command};
use crate::instance::Instance;
use crate::limits::{flag_count, MAX_ITERATIONS};
use clap::Parser;
use std::ffi::OsString;

/// Parse `args` (the first is the program name) and validate them as far as a command can
/// without solving, fitting, calling an oracle or writing. `Ok(())` means the command would
/// start its real work; an error is what it would print.
pub fn check_args<I, T>(args: I) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    match cli.command {
        Command::Params(a) => {
            crate::architecture::load_arch(&a.arch)?.params();
        }
        Command::Eval(a) => {
            super::eval::evaluation(&a)?;
        }
        Command::Predict(a) => {
            let hw = crate::hardware::load_hardware(&a.hardware)?;
            a.engine.resolve(&hw, &a.hardware)?;
        }
        Command::Calibrate(a) => {
            flag_count("--bootstrap", a.bootstrap, 0, crate::limits::MAX_SAMPLES)?;
            flag_count("--folds", a.folds, 0, MAX_ITERATIONS)?;
            crate::calibrate::TermSet::parse(&a.terms)?;
            if let Some(h) = &a.hardware {
                crate::hardware::load_hardware(h)?;
            }
        }
        Command::Region(a) => {
            flag_count("--budget-grid", a.budget_grid, 0, crate::limits::MAX_BUDGET_GRID)?;
            let inst = Instance::load(&a.instance)?;
            if let Some(p) = &a.samples {
                crate::law::read_coefficient_samples(p, inst.law.as_ref())?;
            }
            if let Some(p) = &a.latency_samples {
                crate::hardware::read_latency_samples(p)?;
            }
            if let Some(m) = &a.map_metric {
                crate::scenario::BudgetMetric::parse(m)?;
            }
        }
        Command::Pareto(a) => {
            flag_count("--points", a.points, 0, MAX_ITERATIONS)?;
            crate::scenario::BudgetMetric::parse(&a.x)?;
            let inst = Instance::load(&a.instance)?;
            if let Some(r) = &a.budget_from {
                crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
            }
        }
        Command::Solve(a) => {
            let mut inst = Instance::load_with(&a.instance, super::max_candidates(a.max_candidates)?)?;
            if let Some(r) = &a.budget_from {
                inst = crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
            }
            super::solve::options(&inst, &a)?;
            super::solve::robust_spec(&inst, &a)?;
        }
        Command::Batch(a) => {
            crate::limits::threads(&Default::default(), "--jobs", a.jobs, false)?;
            if let Some(t) = a.time_limit {
                crate::limits::flag_seconds("--time-limit", t)?;
            }
            super::max_candidates(a.max_candidates)?;
        }
        Command::Fit(a) => {
            super::fit::sampling(&a)?;
            crate::law::load_law(&a.law)?;
            if let Some(m) = &a.map {
                crate::law::ColumnMap::parse(m)?;
            }
            a.starts.parse::<crate::law::fit::Starts>()?;
        }
        Command::Gen(a) => {
            flag_count("--count", a.count, 1, MAX_ITERATIONS)?;
            a.family.parse::<crate::gen::Family>().map_err(|e| anyhow::anyhow!("--family {e}"))?;
        }
        Command::Bench(a) => {
            flag_count("--repeat", a.repeat, 1, MAX_ITERATIONS)?;
            crate::limits::threads(&Default::default(), "--jobs", a.jobs, false)?;
            if let Some(t) = a.time_limit {
                crate::limits::flag_seconds("--time-limit", t)?;
            }
        }
        Command::Loop(a) => {
            let timeout = super::loop_::timeout_of(a.timeout_s)?;
            // A command spec only builds the oracle; nothing is run.
            crate::oracle::parse_oracle(&a.oracle, timeout)?;
            super::loop_::options(&a)?;
        }
        Command::Oracle(a) => {
            let timeout = super::loop_::timeout_of(a.timeout_s)?;
            crate::oracle::parse_oracle(&a.spec, timeout)?;
        }
    }
    Ok(())
}
