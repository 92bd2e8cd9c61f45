//! What a selection is robust against: the risk measure over the law's bootstrap
//! coefficient samples ([`Risk`]) and the samples themselves with an optional latency chance
//! constraint ([`RobustSpec`]). Pure data; `solve::robust` optimises over it.

use crate::error::{Error, Result};
use crate::hardware::{read_latency_samples, read_latency_samples_devices, EfficiencyTerms};
use crate::law::{read_coefficient_samples, LossLaw};
use serde::Serialize;
use std::path::PathBuf;

/// Risk measure of the objective over coefficient samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Risk {
    /// Expected objective.
    Mean,
    /// Conditional value at risk: mean of the worst `alpha` share.
    Cvar {
        /// Tail share in (0, 1].
        alpha: f64,
    },
}

impl Risk {
    /// Parse `mean` or `cvar:ALPHA` (ALPHA in (0, 1]; `cvar` alone is `cvar:0.1`); the error
    /// says what is allowed.
    pub fn parse_value(s: &str) -> std::result::Result<Risk, String> {
        if s == "mean" {
            return Ok(Risk::Mean);
        }
        if let Some(a) = s.strip_prefix("cvar:").or_else(|| s.strip_prefix("cvar")) {
            let a = a.trim_start_matches(':');
            let alpha: f64 = if a.is_empty() {
                0.1
            } else {
                a.parse().map_err(|_| "ALPHA of cvar:ALPHA must be a number in (0, 1]".to_string())?
            };
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err("ALPHA of cvar:ALPHA must lie in (0, 1] (the tail share, e.g. cvar:0.1)".into());
            }
            return Ok(Risk::Cvar { alpha });
        }
        Err("use mean or cvar:ALPHA with ALPHA in (0, 1] (e.g. cvar:0.1)".into())
    }

    /// Parse a `--risk` value.
    pub fn parse(s: &str) -> Result<Risk> {
        Risk::parse_value(s).map_err(|m| Error::Unsupported(format!("--risk {s}: {m}")))
    }

    /// The measure of a set of sample values (exact for equally weighted samples).
    pub fn of(&self, values: &mut [f64]) -> f64 {
        match *self {
            Risk::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Risk::Cvar { alpha } => {
                values.sort_by(|a, b| b.total_cmp(a));
                let k = alpha * values.len() as f64;
                let whole = (k + 1e-9).floor() as usize;
                let mut s: f64 = values[..whole.min(values.len())].iter().sum();
                if whole < values.len() {
                    s += (k - whole as f64).max(0.0) * values[whole];
                }
                s / k
            }
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Risk::Mean => write!(f, "mean"),
            Risk::Cvar { alpha } => write!(f, "cvar:{alpha}"),
        }
    }
}

/// What to be robust against.
#[derive(Debug, Clone)]
pub struct RobustSpec {
    /// Risk measure over coefficient samples.
    pub risk: Risk,
    /// Coefficient samples in the law's order (empty: the point law only).
    pub coefficients: Vec<Vec<f64>>,
    /// Latency calibration samples (needed for a chance constraint).
    pub latency: Vec<EfficiencyTerms>,
    /// Budgets must hold in at least (1 − ε) of the latency samples.
    pub chance_epsilon: Option<f64>,
    /// Scenarios the latency samples apply to (default: all).
    pub latency_scenarios: Option<Vec<usize>>,
    /// The devices the latency samples were calibrated on (their `hardware` column; empty
    /// when the file does not say): samples from another device draw a warning.
    pub latency_devices: Vec<String>,
}

/// Command-line overrides of a `[robust]` section (`colaw solve --risk --samples
/// --latency-samples --chance`).
#[derive(Debug, Clone, Default)]
pub struct RobustOverrides {
    /// `mean` or `cvar:ALPHA`.
    pub risk: Option<String>,
    /// Bootstrap coefficient samples of the law (`colaw fit --samples`).
    pub samples: Option<PathBuf>,
    /// Latency-calibration samples (`colaw calibrate --samples`).
    pub latency_samples: Option<PathBuf>,
    /// Chance-constraint ε.
    pub chance: Option<f64>,
}

impl RobustSpec {
    /// `base` (an instance's `[robust]`) with each given override replacing its part, the
    /// sample files read for `law`; None when neither `base` nor an override asks for robust
    /// selection (`--latency-samples` alone does not: it only serves a chance constraint).
    pub fn with_overrides(
        base: Option<&RobustSpec>,
        o: &RobustOverrides,
        law: &dyn LossLaw,
    ) -> Result<Option<RobustSpec>> {
        let asked = o.risk.is_some() || o.chance.is_some() || o.samples.is_some();
        let mut spec = match (base, asked) {
            (Some(r), _) => r.clone(),
            (None, true) => RobustSpec {
                risk: Risk::Mean,
                coefficients: Vec::new(),
                latency: Vec::new(),
                chance_epsilon: None,
                latency_scenarios: None,
                latency_devices: Vec::new(),
            },
            (None, false) => return Ok(None),
        };
        if let Some(r) = &o.risk {
            spec.risk = Risk::parse(r)?;
        }
        if let Some(p) = &o.samples {
            spec.coefficients = read_coefficient_samples(p, law)?;
        }
        if let Some(p) = &o.latency_samples {
            spec.latency = read_latency_samples(p)?;
            spec.latency_devices = read_latency_samples_devices(p)?;
        }
        if let Some(e) = o.chance {
            spec.chance_epsilon = Some(e);
        }
        spec.validate()?;
        Ok(Some(spec))
    }

    /// The rules every robust specification obeys, wherever it came from: ε ∈ [0, 1), and a
    /// chance constraint has latency samples to hold in.
    pub fn validate(&self) -> Result<()> {
        if let Some(e) = self.chance_epsilon {
            if !(e.is_finite() && (0.0..1.0).contains(&e)) {
                return Err(Error::Unsupported(format!("chance ε = {e}: must lie in [0, 1)")));
            }
            if self.latency.is_empty() {
                return Err(Error::Unsupported(
                    "a chance constraint needs latency samples: --latency-samples (written by `colaw calibrate \
                     --samples`) or `[robust] latency_samples`"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvar_of_samples() {
        // Worst 50 % of {1, 2, 3, 4} = mean(4, 3) = 3.5; worst 30 %: (4 + 0.2·3)/1.2.
        assert!((Risk::Cvar { alpha: 0.5 }.of(&mut [1.0, 2.0, 3.0, 4.0]) - 3.5).abs() < 1e-12);
        assert!((Risk::Cvar { alpha: 0.3 }.of(&mut [1.0, 2.0, 3.0, 4.0]) - 4.6 / 1.2).abs() < 1e-12);
        assert!((Risk::Cvar { alpha: 1.0 }.of(&mut [1.0, 2.0, 3.0, 4.0]) - 2.5).abs() < 1e-12);
        assert_eq!(Risk::Mean.of(&mut [1.0, 3.0]), 2.0);
        assert!(Risk::parse("cvar:0").is_err() && Risk::parse("max").is_err());
        assert_eq!(Risk::parse("cvar:0.2").unwrap(), Risk::Cvar { alpha: 0.2 });
    }
}
