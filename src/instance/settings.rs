//! Solver settings of an instance after defaults (`[solver]` resolved), and the one check
//! of their values that the file and the command-line flags share.

use super::SolverSpec;
use crate::error::{Error, Origin, Result};
use crate::limits;

/// Solver settings after defaults.
#[derive(Debug, Clone)]
pub struct SolverSettings {
    /// Requested solver kind.
    pub kind: String,
    /// Seconds.
    pub time_limit_s: f64,
    /// Relative gap.
    pub gap: f64,
    /// Threads.
    pub threads: u32,
    /// Seed.
    pub seed: u32,
    /// Designs to return.
    pub top_k: usize,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings { kind: "auto".into(), time_limit_s: 60.0, gap: 0.0, threads: 1, seed: 0, top_k: 1 }
    }
}

/// How the user spelt the solver settings, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingNames {
    /// An instance file's `[solver]` keys (`solver.time_limit_s`); at least one thread.
    File,
    /// Command-line flags (`--time-limit`); `--threads 0` means every core.
    Flags,
}

impl SettingNames {
    fn of(self, key: &str) -> String {
        match (self, key) {
            (SettingNames::File, k) => format!("solver.{k}"),
            (SettingNames::Flags, "time_limit_s") => "--time-limit".into(),
            (SettingNames::Flags, k) => format!("--{}", k.replace('_', "-")),
        }
    }
}

impl SolverSettings {
    /// Set each value given (None: keep), checked by one rule for the file and the command
    /// line; an error names the setting as `names` spells it and where it came from.
    pub fn apply(&mut self, spec: &SolverSpec, origin: &Origin, names: SettingNames) -> Result<()> {
        let bad =
            |key: &str, v: &dyn std::fmt::Display, allowed: &str| Error::invalid(origin, names.of(key), v, allowed);
        if let Some(t) = spec.time_limit_s {
            limits::seconds(origin, &names.of("time_limit_s"), t)?;
            self.time_limit_s = t;
        }
        if let Some(g) = spec.gap {
            if !(g.is_finite() && (0.0..1.0).contains(&g)) {
                return Err(bad("gap", &g, "must lie in [0, 1)"));
            }
            self.gap = g;
        }
        if let Some(t) = spec.threads {
            limits::threads(origin, &names.of("threads"), t as usize, names == SettingNames::Flags)?;
            self.threads = t;
        }
        if let Some(seed) = spec.seed {
            if seed > i32::MAX as u32 {
                return Err(bad("seed", &seed, "must be at most 2147483647"));
            }
            self.seed = seed;
        }
        if let Some(k) = spec.top_k {
            // Capped at the space's size when solving; above MAX_TOP_K it is a typo, and each
            // design is verified and printed in full.
            limits::count(origin, &names.of("top_k"), k, 1, limits::MAX_TOP_K)?;
            self.top_k = k;
        }
        Ok(())
    }
}
