//! `params` / `active_params`: weight × parameter count.

use super::{DesignView, ObjectiveTerm, WidthView};
use crate::cost::Linear;

/// weight × (total or active) parameters.
#[derive(Debug, Clone, Copy)]
pub struct ParamsTerm {
    /// Multiplier.
    pub weight: f64,
    /// Active parameters instead of total.
    pub active: bool,
}

impl ObjectiveTerm for ParamsTerm {
    fn name(&self) -> &str {
        if self.active {
            "active_params"
        } else {
            "params"
        }
    }
    fn value(&self, d: &DesignView) -> f64 {
        self.weight * if self.active { d.params.active } else { d.params.total } as f64
    }
    fn split(&self, w: &WidthView) -> Option<Linear> {
        let p = if self.active { w.active_params } else { w.params };
        Some(Linear { fixed: self.weight * p.fixed, per_layer: self.weight * p.per_layer })
    }
    fn lower_bound(&self) -> f64 {
        if self.weight >= 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        }
    }
}
