//! `energy`: weight × energy per generated token (mJ) from pJ/byte and pJ/FLOP figures,
//! over the decode step at the mean context length (FLOPs and bytes are affine in the
//! context, so this equals the mean over all decode steps).

use super::{DesignView, ObjectiveTerm, WidthView};
use crate::cost::{step_ops, Linear, Mode, OpList, Step, Workload};
use crate::hardware::AttentionKernel;
use crate::precision::Precision;
use crate::scenario::Scenario;
use crate::space::WidthConfig;

/// weight × mJ per generated token of one scenario.
#[derive(Debug, Clone, Copy)]
pub struct EnergyTerm {
    /// Multiplier.
    pub weight: f64,
    /// Scenario index.
    pub scenario: usize,
    /// pJ per byte moved to or from memory.
    pub pj_per_byte: f64,
    /// pJ per arithmetic operation.
    pub pj_per_flop: f64,
    workload: Workload,
    mode: Mode,
    attention: AttentionKernel,
}

impl EnergyTerm {
    /// A term for scenario `index`.
    pub fn new(weight: f64, index: usize, s: &Scenario, pj_per_byte: f64, pj_per_flop: f64) -> Self {
        EnergyTerm {
            weight,
            scenario: index,
            pj_per_byte,
            pj_per_flop,
            workload: s.workload,
            mode: s.mode,
            attention: s.hardware.attention_kernel,
        }
    }

    /// mJ per generated token as fixed + l·per_layer.
    pub fn per_token_mj(&self, w: &WidthConfig) -> Linear {
        let wl = &self.workload;
        let p = Precision { weights: w.weights, kv_cache: w.kv_cache, compute: wl.precision.compute };
        let mut ops = OpList::default();
        let arch = w.arch(1);
        let storage = wl.storage(&arch, &p).unwrap_or(crate::cost::Storage::UNSTORABLE);
        step_ops(
            &arch,
            &p,
            &storage,
            Step { batch: wl.batch as f64, new_tokens: 1.0 },
            self.mode,
            self.attention,
            &mut ops,
        );
        let c = wl.prompt_tokens as f64 + (wl.gen_tokens.max(1) as f64 - 1.0) / 2.0;
        let mut out = Linear::default();
        for op in ops.as_slice() {
            let pj = op.flops.at(c) * self.pj_per_flop + op.bytes.at(c) * self.pj_per_byte;
            let mj = pj * 1e-9 / wl.batch as f64;
            if op.per_layer {
                out.per_layer += mj
            } else {
                out.fixed += mj
            }
        }
        out
    }
}

impl ObjectiveTerm for EnergyTerm {
    fn name(&self) -> &str {
        "energy_mj_per_token"
    }
    fn value(&self, d: &DesignView) -> f64 {
        self.weight * self.per_token_mj(d.width).at(d.arch.layers as f64)
    }
    fn split(&self, w: &WidthView) -> Option<Linear> {
        let e = self.per_token_mj(w.width);
        Some(Linear { fixed: self.weight * e.fixed, per_layer: self.weight * e.per_layer })
    }
    fn lower_bound(&self) -> f64 {
        if self.weight >= 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        }
    }
}
