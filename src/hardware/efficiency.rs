//! The latency-model terms of a device that `colaw calibrate` fits: per operator class a
//! compute and a bandwidth efficiency (in (0, 1]) and the overheads (ms): per step, per
//! layer, per MoE layer, per token and layer, per attention pair and layer, and the extra
//! per step and per layer of a prefill step. Called "efficiency terms" to keep them apart from law terms
//! and objective terms.

use super::{ClassEfficiency, Hardware, OpClass};
use serde::Serialize;

/// Number of efficiency terms.
pub const N_TERMS: usize = 15;

/// Efficiency terms come first: (compute, bandwidth) per class in [`OpClass::ALL`] order.
pub(crate) const N_EFF: usize = 8;
pub(crate) const PER_STEP: usize = 8;
pub(crate) const PER_LAYER: usize = 9;
pub(crate) const PER_MOE_LAYER: usize = 10;
pub(crate) const PER_TOKEN_LAYER: usize = 11;
pub(crate) const PER_ATTENTION_PAIR: usize = 12;
pub(crate) const PREFILL_STEP: usize = 13;
pub(crate) const PREFILL_LAYER: usize = 14;

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
];

/// A device's latency-model terms: per operator class a compute and a bandwidth
/// efficiency, and seven overheads (what `colaw calibrate` fits).
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
        v[PER_STEP] = hw.overhead.per_step_ms;
        v[PER_LAYER] = hw.overhead.per_layer_ms;
        v[PER_MOE_LAYER] = hw.overhead.per_moe_layer_ms;
        v[PER_TOKEN_LAYER] = hw.overhead.per_token_layer_ms;
        v[PER_ATTENTION_PAIR] = hw.overhead.per_attention_pair_ms;
        v[PREFILL_STEP] = hw.overhead.prefill_step_ms;
        v[PREFILL_LAYER] = hw.overhead.prefill_layer_ms;
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
        out.overhead.per_step_ms = v[PER_STEP];
        out.overhead.per_layer_ms = v[PER_LAYER];
        out.overhead.per_moe_layer_ms = v[PER_MOE_LAYER];
        out.overhead.per_token_layer_ms = v[PER_TOKEN_LAYER];
        out.overhead.per_attention_pair_ms = v[PER_ATTENTION_PAIR];
        out.overhead.prefill_step_ms = v[PREFILL_STEP];
        out.overhead.prefill_layer_ms = v[PREFILL_LAYER];
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
