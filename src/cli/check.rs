//! The command line's cheap path, for the fuzzer and its replay test: parse an argument
//! vector as `colaw` would and run every check a command makes before its real work (flags,
//! the files it names, options), never a solve, a fit, an oracle call or a write.

use super::{Cli, Command};
use crate::instance::Instance;
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
            crate::calibrate::TermSet::parse(&a.terms)?;
            if let Some(h) = &a.hardware {
                crate::hardware::load_hardware(h)?;
            }
        }
        Command::Region(a) => {
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
            crate::scenario::BudgetMetric::parse(&a.x)?;
            let inst = Instance::load(&a.instance)?;
            if let Some(r) = &a.budget_from {
                crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
            }
        }
        Command::Solve(a) => {
            let mut inst = Instance::load(&a.instance)?;
            if let Some(r) = &a.budget_from {
                inst = crate::pareto::with_budgets_from(&inst, &crate::architecture::load_arch(r)?)?;
            }
            super::solve::options(&inst, &a)?;
            super::solve::robust_spec(&inst, &a)?;
        }
        Command::Batch(a) => {
            anyhow::ensure!(a.jobs >= 1, "--jobs {}: must be at least 1", a.jobs);
            if let Some(t) = a.time_limit {
                anyhow::ensure!(t.is_finite() && t > 0.0, "--time-limit {t}: must be a positive number of seconds");
            }
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
            a.family.parse::<crate::gen::Family>().map_err(|e| anyhow::anyhow!("--family {e}"))?;
        }
        Command::Bench(a) => {
            anyhow::ensure!(a.repeat >= 1, "--repeat {}: must be at least 1", a.repeat);
            anyhow::ensure!(a.jobs >= 1, "--jobs {}: must be at least 1", a.jobs);
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
