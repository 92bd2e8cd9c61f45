//! The latency-model terms of a device that `colaw calibrate` fits: per operator class a
//! compute and a bandwidth efficiency (in (0, 1]) and the overheads (ms): per step, per
//! layer, per MoE layer, per token and layer, per attention pair and layer, the extra
//! per step and per layer of a prefill step, per matrix-vector output row, and per token of a
//! step. Called "efficiency terms" to keep them apart from law terms
//! and objective terms.

use super::{ClassEfficiency, Hardware, OpClass};
use serde::Serialize;

/// Number of efficiency terms.
pub const N_TERMS: usize = N_EFF + super::N_OVERHEADS;

/// Efficiency terms come first: (compute, bandwidth) per class in [`OpClass::ALL`] order.
pub(crate) const N_EFF: usize = 8;
pub(crate) const PER_STEP: usize = 8;
pub(crate) const PER_LAYER: usize = 9;
pub(crate) const PER_MOE_LAYER: usize = 10;
pub(crate) const PER_TOKEN_LAYER: usize = 11;
pub(crate) const PER_ATTENTION_PAIR: usize = 12;
pub(crate) const PREFILL_STEP: usize = 13;
pub(crate) const PREFILL_LAYER: usize = 14;
pub(crate) const PER_GEMV_ROW: usize = 15;
pub(crate) const PER_TOKEN: usize = 16;

/// Names of the terms, in vector order (also the columns of the samples CSV).
pub const TERM_NAMES: [&str; N_TERMS] = [
    "gemm_compute",
    "gemm_bandwidth",
    "attention_compute",
    "attention_bandwidth",
    "elementwise_compute",
    "elementwise_bandwidth",
    "moe_compute",
    "moe_bandwidth",
    "per_step_ms",
    "per_layer_ms",
    "per_moe_layer_ms",
    "per_token_layer_ms",
    "per_attention_pair_ms",
    "prefill_step_ms",
    "prefill_layer_ms",
    "per_gemv_row_ms",
    "per_token_ms",
];

/// A device's latency-model terms: per operator class a compute and a bandwidth
/// efficiency, and the overheads of [`super::Overhead`] (what `colaw calibrate` fits).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EfficiencyTerms {
    /// Values in [`TERM_NAMES`] order.
    pub values: [f64; N_TERMS],
}

impl EfficiencyTerms {
    /// The terms a hardware file currently has.
    pub fn from_hardware(hw: &Hardware) -> EfficiencyTerms {
        let mut v = [0.0; N_TERMS];
        for (i, c) in OpClass::ALL.iter().enumerate() {
            let e = hw.efficiency.for_class(*c);
            v[2 * i] = e.compute;
            v[2 * i + 1] = e.bandwidth;
        }
        for (k, (_, x)) in hw.overhead.named_ms().into_iter().enumerate() {
            v[N_EFF + k] = x;
        }
        EfficiencyTerms { values: v }
    }

    /// Write the terms into a copy of `hw` (per-class efficiencies, overheads).
    pub fn apply(&self, hw: &Hardware) -> Hardware {
        let mut out = hw.clone();
        let v = &self.values;
        let ce = |i: usize| Some(ClassEfficiency { compute: v[2 * i], bandwidth: v[2 * i + 1] });
        out.efficiency.gemm = ce(0);
        out.efficiency.attention = ce(1);
        out.efficiency.elementwise = ce(2);
        out.efficiency.moe = ce(3);
        for (k, (_, x)) in out.overhead.fields_mut().into_iter().enumerate() {
            *x = v[N_EFF + k];
        }
        out
    }

    /// Unconstrained coordinates for the calibration fit: logit of each efficiency,
    /// log of each overhead.
    pub(crate) fn to_theta(self) -> Vec<f64> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if i < N_EFF {
                    let x = x.clamp(1e-6, 1.0 - 1e-9);
                    (x / (1.0 - x)).ln()
                } else {
                    x.max(1e-9).ln()
                }
            })
            .collect()
    }

    /// Inverse of [`EfficiencyTerms::to_theta`].
    pub(crate) fn from_theta(t: &[f64]) -> EfficiencyTerms {
        let mut v = [0.0; N_TERMS];
        for i in 0..N_TERMS {
            // Clamped so that every prediction stays finite: an efficiency of exactly 0 or an
            // overhead of ∞ would make the fit's cost NaN and stall its line search.
            v[i] =
                if i < N_EFF { 1.0 / (1.0 + (-t[i].clamp(-30.0, 30.0)).exp()) } else { t[i].clamp(-80.0, 15.0).exp() };
        }
        EfficiencyTerms { values: v }
    }

    /// Name → value map for JSON and TOML.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        TERM_NAMES.iter().copied().zip(self.values).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_terms_are_the_overhead_fields_in_order() {
        let names: Vec<&str> = super::super::Overhead::default().named_ms().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, TERM_NAMES[N_EFF..].to_vec());
    }

    #[test]
    fn terms_round_trip_through_a_hardware_file() {
        let hw = crate::hardware::load_hardware("nvidia-h100-sxm").unwrap();
        let mut t = EfficiencyTerms::from_hardware(&hw);
        for (k, v) in t.values.iter_mut().enumerate().skip(N_EFF) {
            *v = 1e-3 * (k + 1) as f64;
        }
        let back = EfficiencyTerms::from_hardware(&t.apply(&hw));
        assert_eq!(back, t);
        assert_eq!(t.apply(&hw).overhead.per_gemv_row_ms, 1e-3 * (PER_GEMV_ROW + 1) as f64);
    }
}
