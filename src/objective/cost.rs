//! `latency`, `memory`, `kv_cache`: weight × a cost-model quantity of one scenario.

use super::{DesignView, ObjectiveTerm, WidthView};
use crate::cost::Linear;

/// Which quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostQuantity {
    /// Prefill, ms.
    PrefillMs,
    /// Last decode step, ms.
    DecodeMs,
    /// Mean decode step, ms.
    TpotMs,
    /// End to end, ms.
    TotalMs,
    /// Memory total, GB (10⁹ bytes).
    MemoryGb,
    /// KV cache, GB.
    KvCacheGb,
}

/// weight × quantity of scenario `scenario`.
#[derive(Debug, Clone, Copy)]
pub struct CostTerm {
    /// Multiplier.
    pub weight: f64,
    /// Scenario index.
    pub scenario: usize,
    /// Quantity.
    pub quantity: CostQuantity,
}

impl ObjectiveTerm for CostTerm {
    fn name(&self) -> &str {
        match self.quantity {
            CostQuantity::PrefillMs => "latency.prefill_ms",
            CostQuantity::DecodeMs => "latency.decode_ms",
            CostQuantity::TpotMs => "latency.tpot_ms",
            CostQuantity::TotalMs => "latency.total_ms",
            CostQuantity::MemoryGb => "memory_gb",
            CostQuantity::KvCacheGb => "kv_cache_gb",
        }
    }
    fn value(&self, d: &DesignView) -> f64 {
        let m = &d.metrics[self.scenario];
        self.weight
            * match self.quantity {
                CostQuantity::PrefillMs => m.latency_ms.prefill,
                CostQuantity::DecodeMs => m.latency_ms.decode,
                CostQuantity::TpotMs => m.latency_ms.tpot,
                CostQuantity::TotalMs => m.latency_ms.total,
                CostQuantity::MemoryGb => m.memory_bytes.total / 1e9,
                CostQuantity::KvCacheGb => m.memory_bytes.kv_cache / 1e9,
            }
    }
    fn split(&self, w: &WidthView) -> Option<Linear> {
        let c = &w.costs[self.scenario];
        let g = c.gen_tokens.max(1) as f64;
        let lin = match self.quantity {
            CostQuantity::PrefillMs => c.prefill_ms,
            CostQuantity::DecodeMs => c.decode_ms,
            CostQuantity::TpotMs => {
                if c.gen_tokens == 0 {
                    Linear::default()
                } else {
                    Linear { fixed: c.decode_sum_ms.fixed / g, per_layer: c.decode_sum_ms.per_layer / g }
                }
            }
            CostQuantity::TotalMs => Linear {
                fixed: c.prefill_ms.fixed + c.decode_sum_ms.fixed,
                per_layer: c.prefill_ms.per_layer + c.decode_sum_ms.per_layer,
            },
            CostQuantity::MemoryGb => Linear {
                fixed: (c.weights_bytes.fixed + c.kv_bytes.fixed + c.activation_bytes) / 1e9,
                per_layer: (c.weights_bytes.per_layer + c.kv_bytes.per_layer) / 1e9,
            },
            CostQuantity::KvCacheGb => Linear { fixed: c.kv_bytes.fixed / 1e9, per_layer: c.kv_bytes.per_layer / 1e9 },
        };
        Some(Linear { fixed: self.weight * lin.fixed, per_layer: self.weight * lin.per_layer })
    }
    fn lower_bound(&self) -> f64 {
        if self.weight >= 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        }
    }
}
