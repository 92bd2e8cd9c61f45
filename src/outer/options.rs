//! Loop options and the strategies that pick the designs to measure next.

use super::*;

/// How the designs to measure next are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The current choice first, then designs by P(optimal) × spread of their predicted loss
    /// over the bootstrap samples (p95 − p05), then by the lowest optimistic (p05) loss.
    Informative,
    /// Half the designs (rounded up) as [`Strategy::Informative`], the rest by
    /// [`Strategy::Lhs`] among the other unmeasured designs (exploration). The default: in
    /// the comparison of `docs/loop.md` it reached the true optimum most often, with the
    /// smallest worst case.
    Mixed,
    /// Uniformly at random among the feasible designs not yet measured.
    Random,
    /// A Latin hypercube over (log layers, log hidden, log r, log ρ, log d_m), each point
    /// mapped to the nearest feasible design not yet measured.
    Lhs,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "informative" => Ok(Strategy::Informative),
            "mixed" => Ok(Strategy::Mixed),
            "random" => Ok(Strategy::Random),
            "lhs" => Ok(Strategy::Lhs),
            _ => Err(format!("`{s}`: expected informative, mixed, random or lhs")),
        }
    }
}

/// Where each round's coefficient samples come from (they give P(optimal), the stop rule and
/// the informative picks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Uncertainty {
    /// Nonparametric bootstrap of the fit ([`LoopOptions::bootstrap`] resamples). Over-confident
    /// when the rows are close to the number of coefficients (`docs/calibration.md`).
    Bootstrap,
    /// The weak-prior posterior of [`crate::law::posterior`], the prior centred on the
    /// instance law's values ([`LoopOptions::samples`] samples; the options' own `samples` and
    /// `seed` are replaced by the loop's). The default: calibrated on the benchmark of
    /// `docs/calibration.md`.
    Posterior(PosteriorOptions),
}

impl Default for Uncertainty {
    fn default() -> Self {
        Uncertainty::Posterior(PosteriorOptions::default())
    }
}

impl Uncertainty {
    /// The method's name as `--uncertainty` spells it: `bootstrap`, `laplace` or `rto`
    /// (recorded in the journal; a resume with another is refused).
    pub fn method(&self) -> &'static str {
        match self {
            Uncertainty::Bootstrap => "bootstrap",
            Uncertainty::Posterior(po) => match po.method {
                PosteriorMethod::Laplace => "laplace",
                PosteriorMethod::Randomized => "rto",
            },
        }
    }
}

/// Loop settings; every default is here.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopOptions {
    /// Rounds that measure (default 10); the loop then fits once more and stops.
    pub rounds: usize,
    /// Designs measured per round (default 4).
    pub per_round: usize,
    /// Stop when the choice is optimal in at least this share of bootstrap samples (0.9).
    pub stop_confidence: f64,
    /// How the coefficient samples are drawn (default: the Laplace posterior, rel_sd 0.3).
    pub uncertainty: Uncertainty,
    /// Bootstrap resamples per round with [`Uncertainty::Bootstrap`] (default 50).
    pub bootstrap: usize,
    /// Posterior samples per round with [`Uncertainty::Posterior`] (default 200: Monte Carlo
    /// error of a 0.9 claim ±0.02).
    pub samples: usize,
    /// Seed of the fits, bootstraps and random strategies.
    pub seed: u64,
    /// Oracle calls at once (default 1).
    pub jobs: usize,
    /// Extra attempts after a failed call (default 1).
    pub retries: usize,
    /// Starting points of round 1's fit (default `lhs:200`), besides the law's own values.
    pub starts: Starts,
    /// Latin-hypercube starts added to the warm start in later rounds (default 20).
    pub warm_starts: usize,
    /// Which designs to measure (default [`Strategy::Mixed`]).
    pub strategy: Strategy,
    /// Re-ask the designs of the journal whose every attempt failed (`--retry-failed`), each
    /// with `1 + retries` fresh attempts, before going on.
    pub retry_failed: bool,
    /// On a finished journal: measure this many more rounds after its last one, whatever its
    /// confidence, then fit once more (`--extend N`; 0: off).
    pub extend: usize,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            rounds: 10,
            per_round: 4,
            stop_confidence: 0.9,
            uncertainty: Uncertainty::default(),
            bootstrap: 50,
            samples: 200,
            seed: 0,
            jobs: 1,
            retries: 1,
            starts: Starts::Lhs(200),
            warm_starts: 20,
            strategy: Strategy::Mixed,
            retry_failed: false,
            extend: 0,
        }
    }
}

impl LoopOptions {
    /// Check every field; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let o = Origin::default();
        if self.per_round == 0 {
            return Err(Error::invalid(&o, "per_round", 0, "must be at least 1"));
        }
        if !(self.stop_confidence > 0.0 && self.stop_confidence <= 1.0) {
            return Err(Error::invalid(&o, "stop_confidence", self.stop_confidence, "must be in (0, 1]"));
        }
        match &self.uncertainty {
            Uncertainty::Bootstrap if self.bootstrap < 2 => {
                return Err(Error::invalid(&o, "bootstrap", self.bootstrap, "needs at least 2 resamples"));
            }
            Uncertainty::Bootstrap => {}
            Uncertainty::Posterior(po) => {
                if self.samples < 2 {
                    return Err(Error::invalid(&o, "samples", self.samples, "needs at least 2 posterior samples"));
                }
                PosteriorOptions { samples: self.samples, ..*po }.validate()?;
            }
        }
        if self.jobs == 0 {
            return Err(Error::invalid(&o, "jobs", 0, "must be at least 1"));
        }
        if let Starts::Lhs(0) = self.starts {
            return Err(Error::invalid(&o, "starts", "lhs:0", "needs at least one point"));
        }
        Ok(())
    }
}
