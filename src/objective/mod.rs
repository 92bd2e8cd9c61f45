//! Objective terms. The objective is `loss_weight · loss + Σ terms`; each term is a small
//! [`ObjectiveTerm`] (one file per built-in). A term gives its value for a design and,
//! where it can, its split into a depth-only part plus a part linear in depth for a fixed
//! width configuration, which lets the compact MIP use it; a term without a split sends
//! the MIP to the assignment formulation.

mod cost;
mod energy;
mod params;

pub use cost::{CostQuantity, CostTerm};
pub use energy::EnergyTerm;
pub use params::ParamsTerm;

use crate::architecture::{Architecture, ParamCounts};
use crate::cost::{Linear, Metrics, WidthCosts};
use crate::error::{Error, Origin, Result};
use crate::scenario::Scenario;
use crate::space::WidthConfig;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One width configuration with its per-scenario costs, all linear in depth.
#[derive(Debug, Clone, Copy)]
pub struct WidthView<'a> {
    /// The width configuration.
    pub width: &'a WidthConfig,
    /// Its architecture at depth 1 (use the `Linear` fields for other depths).
    pub arch: &'a Architecture,
    /// Total parameters as fixed + l·per_layer.
    pub params: Linear,
    /// Active parameters as fixed + l·per_layer.
    pub active_params: Linear,
    /// Costs per scenario (instance order).
    pub costs: &'a [WidthCosts],
}

/// One full design with its exact metrics.
#[derive(Debug, Clone, Copy)]
pub struct DesignView<'a> {
    /// The width configuration (storage types included).
    pub width: &'a WidthConfig,
    /// The architecture.
    pub arch: &'a Architecture,
    /// Parameter counts.
    pub params: ParamCounts,
    /// Metrics per scenario (instance order).
    pub metrics: &'a [Metrics],
}

/// A term added to the objective. Implement `value`; implement `split` (and `depth_part`
/// if the term has a depth-only piece) so the compact MIP can use the term.
pub trait ObjectiveTerm: Send + Sync {
    /// Short name, shown in output.
    fn name(&self) -> &str;
    /// The term's value for a design (weight included).
    fn value(&self, design: &DesignView) -> f64;
    /// The values of several designs, appended to `out` in order. Solvers that score many
    /// designs without a split (`enum` and `mip-assign` on a general objective) call this
    /// once per width configuration; override it when one call for many designs is cheaper
    /// than many calls (a term computed outside Rust). Must equal [`ObjectiveTerm::value`]
    /// of each.
    fn values(&self, designs: &[DesignView], out: &mut Vec<f64>) {
        out.extend(designs.iter().map(|d| self.value(d)));
    }
    /// For a fixed width configuration: value(l) = depth_part(l) + fixed + l·per_layer.
    /// `None` when the term has no such split. Must be `Some` for every width configuration
    /// or for none: the solver decides from the first width which formulations apply.
    fn split(&self, _width: &WidthView) -> Option<Linear> {
        None
    }
    /// Depth-only part of the split (default 0).
    fn depth_part(&self, _layers: u32) -> f64 {
        0.0
    }
    /// A lower bound on the value over every design, used to prune enumeration
    /// (default −∞: no pruning).
    fn lower_bound(&self) -> f64 {
        f64::NEG_INFINITY
    }
}

/// Resolve a scenario name (default: the first).
pub(crate) fn scenario_index(
    name: &Option<String>,
    scenarios: &[Scenario],
    origin: &Origin,
    field: &str,
) -> Result<usize> {
    match name {
        None => Ok(0),
        Some(n) => scenarios.iter().position(|s| &s.name == n).ok_or_else(|| {
            Error::invalid(
                origin,
                field,
                format!("\"{n}\""),
                format!(
                    "must name a scenario ({})",
                    scenarios.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        }),
    }
}

/// `[[objective.term]]`: a built-in weighted term.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveTermSpec {
    /// `params`, `active_params`, `latency`, `memory`, `kv_cache` or `energy`.
    pub kind: String,
    /// Multiplier (the term adds weight × value).
    pub weight: f64,
    /// Scenario name for latency/memory/kv_cache/energy (default: the first).
    #[serde(default)]
    pub scenario: Option<String>,
    /// Latency metric: prefill, decode, tpot or total (default tpot).
    #[serde(default)]
    pub metric: Option<String>,
    /// Energy: picojoules per byte moved.
    #[serde(default)]
    pub pj_per_byte: Option<f64>,
    /// Energy: picojoules per operation.
    #[serde(default)]
    pub pj_per_flop: Option<f64>,
}

/// Build a built-in term from an instance file entry.
pub fn builtin_term(
    t: &ObjectiveTermSpec,
    i: usize,
    scenarios: &[Scenario],
    origin: &Origin,
) -> Result<Arc<dyn ObjectiveTerm>> {
    let f = |n: &str| format!("objective.term[{i}].{n}");
    if !t.weight.is_finite() {
        return Err(Error::invalid(origin, f("weight"), t.weight, "must be a finite number"));
    }
    let unused = |name: &str, present: bool| -> Result<()> {
        if present {
            Err(Error::invalid(origin, f(name), "given", format!("is not used by a `{}` term", t.kind)))
        } else {
            Ok(())
        }
    };
    let energy_fields = t.pj_per_byte.is_some() || t.pj_per_flop.is_some();
    Ok(match t.kind.as_str() {
        "params" | "active_params" => {
            unused("scenario", t.scenario.is_some())?;
            unused("metric", t.metric.is_some())?;
            unused("pj_per_byte", energy_fields)?;
            Arc::new(ParamsTerm { weight: t.weight, active: t.kind == "active_params" })
        }
        "latency" | "memory" | "kv_cache" => {
            unused("pj_per_byte", energy_fields)?;
            let s = scenario_index(&t.scenario, scenarios, origin, &f("scenario"))?;
            let q = match t.kind.as_str() {
                "latency" => match t.metric.as_deref().unwrap_or("tpot") {
                    "prefill" => CostQuantity::PrefillMs,
                    "decode" => CostQuantity::DecodeMs,
                    "tpot" => CostQuantity::TpotMs,
                    "total" => CostQuantity::TotalMs,
                    other => {
                        return Err(Error::invalid(
                            origin,
                            f("metric"),
                            format!("\"{other}\""),
                            "one of prefill, decode, tpot, total",
                        ))
                    }
                },
                "memory" => {
                    unused("metric", t.metric.is_some())?;
                    CostQuantity::MemoryGb
                }
                _ => {
                    unused("metric", t.metric.is_some())?;
                    CostQuantity::KvCacheGb
                }
            };
            Arc::new(CostTerm { weight: t.weight, scenario: s, quantity: q })
        }
        "energy" => {
            unused("metric", t.metric.is_some())?;
            let s = scenario_index(&t.scenario, scenarios, origin, &f("scenario"))?;
            let pos = |n: &str, v: Option<f64>| -> Result<f64> {
                match v {
                    Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
                    Some(x) => Err(Error::invalid(origin, f(n), x, "must be a finite number ≥ 0 (picojoules)")),
                    None => Err(Error::missing(origin, f(n), "an energy term needs pj_per_byte and pj_per_flop")),
                }
            };
            Arc::new(EnergyTerm::new(
                t.weight,
                s,
                &scenarios[s],
                pos("pj_per_byte", t.pj_per_byte)?,
                pos("pj_per_flop", t.pj_per_flop)?,
            ))
        }
        other => {
            return Err(Error::invalid(
                origin,
                f("kind"),
                format!("\"{other}\""),
                "one of params, active_params, latency, memory, kv_cache, energy",
            ))
        }
    })
}
