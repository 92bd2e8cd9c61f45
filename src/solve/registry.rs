//! Which solver variants exist, and how a requested name becomes one.
//!
//! Adding a variant is one new file implementing [`Solver`] and one line in [`REGISTRY`];
//! its name is then accepted by `--solver`, `colaw bench --solvers` and `[solver] kind`.

use super::auto::choose;
use super::ROBUST_AUTO_ENUM_LIMIT;
use super::{Analytic, Enumerate, MipAssign, MipCompact, Problem, RobustEnum, RobustMip, Solver};
use crate::error::{Error, Result};
use std::str::FromStr;

/// Every variant, in the order `--solver` lists them.
pub static REGISTRY: &[&dyn Solver] = &[&MipCompact, &MipAssign, &Enumerate, &Analytic, &RobustEnum, &RobustMip];

/// A requested solver: `auto` (the driver picks) or one registered variant.
#[derive(Clone, Copy)]
pub enum SolverKind {
    /// Pick by space size and law structure (and `[robust]`), saying why.
    Auto,
    /// One registered variant.
    Variant(&'static dyn Solver),
}

impl std::fmt::Debug for SolverKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for SolverKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl FromStr for SolverKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<SolverKind> {
        if s == "auto" {
            return Ok(SolverKind::Auto);
        }
        lookup(s).map(SolverKind::Variant).ok_or_else(|| {
            Error::Unsupported(format!("unknown solver `{s}`: one of {}", SolverKind::names().join(", ")))
        })
    }
}

fn lookup(name: &str) -> Option<&'static dyn Solver> {
    REGISTRY.iter().copied().find(|s| s.name() == name)
}

impl SolverKind {
    /// Every accepted name: `auto`, then the registry's.
    pub fn names() -> Vec<&'static str> {
        std::iter::once("auto").chain(REGISTRY.iter().map(|s| s.name())).collect()
    }

    /// Name as used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            SolverKind::Auto => "auto",
            SolverKind::Variant(s) => s.name(),
        }
    }

    /// Whether an optimal answer is a proof (`auto` only picks exact variants).
    pub fn is_exact(&self) -> bool {
        match self {
            SolverKind::Auto => true,
            SolverKind::Variant(s) => s.is_exact(),
        }
    }

    /// Whether `--write-model` applies (`auto` may pick enumeration, so no).
    pub fn can_write_model(&self) -> bool {
        match self {
            SolverKind::Auto => false,
            SolverKind::Variant(s) => {
                s.can_write_model() || s.robust_twin().and_then(lookup).is_some_and(|r| r.can_write_model())
            }
        }
    }

    /// Whether this is a robust variant (runs on `[robust]` instances only).
    pub fn is_robust(&self) -> bool {
        matches!(self, SolverKind::Variant(s) if s.is_robust())
    }

    /// Whether the request can solve `problem` (`auto` always can).
    pub fn supports(&self, problem: &Problem) -> bool {
        self.resolve(problem).is_ok_and(|(s, _)| s.supports(problem))
    }

    /// The variant that runs for this request on `problem`, and why when `auto` chose it.
    /// On a `[robust]` instance `auto` picks by size, a point variant stands for its robust
    /// twin, and a point variant without one is refused; a robust variant needs `[robust]`.
    pub fn resolve(&self, problem: &Problem) -> Result<(&'static dyn Solver, Option<String>)> {
        let robust = problem.inst.robust.is_some();
        let found = |name: &str| {
            lookup(name).ok_or_else(|| Error::Unsupported(format!("BUG: solver `{name}` is not registered")))
        };
        match (*self, robust) {
            (SolverKind::Auto, false) => {
                let c = choose(problem);
                Ok((found(&c.solver)?, Some(c.reason)))
            }
            (SolverKind::Auto, true) => {
                let n = problem.candidates();
                if n <= ROBUST_AUTO_ENUM_LIMIT {
                    let why = format!(
                        "{n} candidates ≤ {ROBUST_AUTO_ENUM_LIMIT}: enumerating every design's risk is exact and fastest"
                    );
                    Ok((&RobustEnum, Some(why)))
                } else {
                    let why = format!(
                        "{n} candidates > {ROBUST_AUTO_ENUM_LIMIT}: the robust MIP scales better than enumeration"
                    );
                    Ok((&RobustMip, Some(why)))
                }
            }
            (SolverKind::Variant(s), true) if s.is_robust() => Ok((s, None)),
            (SolverKind::Variant(s), true) => match s.robust_twin() {
                Some(twin) => Ok((found(twin)?, None)),
                None => Err(Error::Unsupported(format!(
                    "robust selection runs with solver auto, enum (robust-enum) or mip (robust-mip), not `{}`",
                    s.name()
                ))),
            },
            (SolverKind::Variant(s), false) if s.is_robust() => Err(Error::Unsupported(format!(
                "solver `{}` selects over an instance's [robust] samples, and this instance has none: add a [robust] \
                 section or --risk/--samples",
                s.name()
            ))),
            (SolverKind::Variant(s), false) => Ok((s, None)),
        }
    }
}
