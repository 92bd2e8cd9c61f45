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
        let gb = |l: Linear| Linear { fixed: l.fixed / 1e9, per_layer: l.per_layer / 1e9 };
        let lin = match self.quantity {
            CostQuantity::PrefillMs => c.prefill_ms,
            CostQuantity::DecodeMs => c.decode_ms,
            CostQuantity::TpotMs => c.tpot_ms(),
            CostQuantity::TotalMs => c.total_ms(),
            CostQuantity::MemoryGb => gb(c.memory_bytes()),
            CostQuantity::KvCacheGb => gb(c.kv_bytes),
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
