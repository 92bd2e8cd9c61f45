//! Loss laws: predict training loss from architecture quantities (and training tokens).
//!
//! [`LossLaw`] is the trait every solver and the fitter use. [`PowerLaw`] is the law-file
//! form (a constant plus a sum of coefficient × Π variable^exponent terms, exponents shared
//! by name); the paper's law and Chinchilla ship as such files under `models/laws/`, and
//! [`PaperLaw`] / [`ChinchillaLaw`] are closed-form Rust twins used to check them.

pub mod bootstrap;
mod builtin;
pub mod data;
mod fastmath;
pub mod fit;
pub mod noise;
pub mod posterior;
mod power;
pub mod samples;
mod vars;

pub use bootstrap::{bootstrap, Bootstrap, BootstrapOptions};
pub use builtin::{ChinchillaLaw, PaperLaw};
pub use data::{read_observations, ColumnMap, Observations};
pub use fit::{fit_power_law, Fit, FitModel, FitOptions, Fitter, LseModel, Starts};
pub use power::{law_dir, law_names, load_law, Exponent, Factor, LawFile, PowerLaw, Term};
pub use samples::{read_coefficient_samples, read_samples};
pub use vars::{LawInputs, Var, ALL_VARS};

use crate::error::{Error, Result};
use std::sync::Arc;

/// A law predicting loss. Implementations must be cheap to evaluate: solvers call `loss`
/// (or the split parts) once per candidate.
pub trait LossLaw: Send + Sync {
    /// Short name.
    fn name(&self) -> &str;
    /// Coefficient names and values, in a stable order.
    fn coefficients(&self) -> Vec<(String, f64)>;
    /// Predicted loss.
    fn loss(&self, x: &LawInputs) -> f64;
    /// Variables the law reads.
    fn variables(&self) -> Vec<Var>;
    /// True when loss = depth_part(layers) + width_part(x) with width_part independent of
    /// depth (no term mixes depth with other variables; params-type variables count as
    /// depending on depth).
    fn is_separable(&self) -> bool {
        false
    }
    /// Depth-only part (only meaningful when separable).
    fn depth_part(&self, _layers: f64) -> f64 {
        f64::NAN
    }
    /// Depth-free part (only meaningful when separable).
    fn width_part(&self, _x: &LawInputs) -> f64 {
        f64::NAN
    }
    /// Training tokens the law assumes when the data does not give them.
    fn default_tokens(&self) -> Option<f64> {
        None
    }
    /// The one parameter-count variable (`params`, `active_params` or
    /// `non_embedding_params`) that loss decreases in, when the design enters the law only
    /// through it (the compact MIP then maximises that count); None otherwise.
    fn monotone_in(&self) -> Option<Var> {
        None
    }
    /// The same law with other coefficient values (in [`LossLaw::coefficients`] order): a
    /// bootstrap sample. Laws without coefficients to resample refuse.
    fn with_coefficients(&self, values: &[f64]) -> Result<Arc<dyn LossLaw>> {
        let _ = values;
        Err(Error::Unsupported(format!("law `{}` cannot take coefficient samples", self.name())))
    }
    /// The law as a [`PowerLaw`], when it is one: the outer loop refits that form.
    fn as_power_law(&self) -> Option<&PowerLaw> {
        None
    }
    /// The coefficient names, in [`LossLaw::coefficients`] order.
    fn coefficient_names(&self) -> Vec<String> {
        self.coefficients().into_iter().map(|(n, _)| n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture::Architecture;

    fn arch() -> Architecture {
        let mut a = Architecture::new(12, 1024, 16, 2048, 32000);
        a.experts = 8;
        a.active_experts = 2;
        a.kv_heads = 4;
        a
    }

    #[test]
    fn paper_law_file_equals_builtin() {
        let file = load_law("paper").unwrap();
        let built = PaperLaw::table6();
        for l in [4u32, 12, 32] {
            let mut a = arch();
            a.layers = l;
            let x = LawInputs::from_arch(&a, None);
            let (f, b) = (file.loss(&x), built.loss(&x));
            assert!((f - b).abs() < 1e-12, "{f} vs {b}");
            assert!(file.is_separable());
            assert!((file.depth_part(l as f64) + file.width_part(&x) - f).abs() < 1e-12);
        }
    }

    #[test]
    fn chinchilla_file_equals_builtin() {
        let file = load_law("chinchilla").unwrap();
        let built = ChinchillaLaw::hoffmann();
        let x = LawInputs::from_arch(&arch(), Some(2e10));
        assert!((file.loss(&x) - built.loss(&x)).abs() < 1e-12);
        assert!(!file.is_separable());
    }
}
