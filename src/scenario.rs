//! Scenarios and budgets: a device running a workload, and the limits a design must meet
//! there. [`BudgetMetric`] carries all of a metric's behaviour (name, parsing, its value from
//! exact metrics or as a linear function of depth), so no other module matches on it.

use crate::architecture::ParamCounts;
use crate::cost::{Latency, Linear, Memory, Metrics, Mode, WidthCosts, Workload};
use crate::error::{Error, Result};
use crate::hardware::Hardware;
use crate::precision::{DType, Precision};
use serde::Serialize;

/// Which metric a budget limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetMetric {
    /// Prefill latency, ms.
    PrefillMs,
    /// Last decode step, ms.
    DecodeMs,
    /// Mean decode step, ms.
    TpotMs,
    /// End to end, ms.
    TotalMs,
    /// Memory total, bytes.
    MemoryBytes,
    /// Total parameters.
    Params,
    /// Active parameters.
    ActiveParams,
}

impl BudgetMetric {
    /// Name as used in output.
    pub fn name(self) -> &'static str {
        match self {
            BudgetMetric::PrefillMs => "prefill_ms",
            BudgetMetric::DecodeMs => "decode_ms",
            BudgetMetric::TpotMs => "tpot_ms",
            BudgetMetric::TotalMs => "total_ms",
            BudgetMetric::MemoryBytes => "memory_bytes",
            BudgetMetric::Params => "params",
            BudgetMetric::ActiveParams => "active_params",
        }
    }

    /// Parse a metric name as used on the command line (`tpot` or `tpot_ms`, `memory` or
    /// `memory_bytes`, …); the error lists what is allowed.
    pub fn parse(s: &str) -> Result<BudgetMetric> {
        Ok(match s {
            "prefill" | "prefill_ms" => BudgetMetric::PrefillMs,
            "decode" | "decode_ms" => BudgetMetric::DecodeMs,
            "tpot" | "tpot_ms" => BudgetMetric::TpotMs,
            "total" | "total_ms" => BudgetMetric::TotalMs,
            "memory" | "memory_bytes" => BudgetMetric::MemoryBytes,
            "params" => BudgetMetric::Params,
            "active_params" => BudgetMetric::ActiveParams,
            other => {
                return Err(Error::Unsupported(format!(
                    "unknown metric `{other}`: one of prefill, decode, tpot, total, memory, params, active_params"
                )))
            }
        })
    }

    /// A latency (ms) rather than a memory or parameter-count metric.
    pub fn is_latency(self) -> bool {
        matches!(self, BudgetMetric::PrefillMs | BudgetMetric::DecodeMs | BudgetMetric::TpotMs | BudgetMetric::TotalMs)
    }

    /// Axis-label unit suffix for plots: ` (ms)`, ` (GB)` (memory is plotted in GB), or
    /// nothing for parameter counts.
    pub fn plot_unit(self) -> &'static str {
        match self {
            BudgetMetric::MemoryBytes => " (GB)",
            BudgetMetric::Params | BudgetMetric::ActiveParams => "",
            _ => " (ms)",
        }
    }

    /// Axis label for plots, in words with its unit: `TPOT (ms)`, `memory (GB)`, `parameters`.
    pub fn plot_label(self) -> String {
        let what = match self {
            BudgetMetric::PrefillMs => "prefill latency",
            BudgetMetric::DecodeMs => "decode step latency",
            BudgetMetric::TpotMs => "TPOT",
            BudgetMetric::TotalMs => "total latency",
            BudgetMetric::MemoryBytes => "memory",
            BudgetMetric::Params => "parameters",
            BudgetMetric::ActiveParams => "active parameters",
        };
        format!("{what}{}", self.plot_unit())
    }

    /// The metric's value from exact metrics and parameter counts.
    pub fn value(self, x: &Metrics, p: &ParamCounts) -> f64 {
        self.pick(&x.latency_ms, &x.memory_bytes, p)
    }

    /// The metric's value from a latency and memory report and parameter counts.
    pub fn pick(self, latency_ms: &Latency, memory_bytes: &Memory, p: &ParamCounts) -> f64 {
        match self {
            BudgetMetric::PrefillMs => latency_ms.prefill,
            BudgetMetric::DecodeMs => latency_ms.decode,
            BudgetMetric::TpotMs => latency_ms.tpot,
            BudgetMetric::TotalMs => latency_ms.total,
            BudgetMetric::MemoryBytes => memory_bytes.total,
            BudgetMetric::Params => p.total as f64,
            BudgetMetric::ActiveParams => p.active as f64,
        }
    }

    /// The metric as fixed + depth·per_layer for one width configuration (`params` and
    /// `active_params` are the parameter counts as linear functions of depth).
    pub fn linear(self, c: &WidthCosts, params: Linear, active_params: Linear) -> Linear {
        match self {
            BudgetMetric::PrefillMs => c.prefill_ms,
            BudgetMetric::DecodeMs => c.decode_ms,
            BudgetMetric::TpotMs => c.tpot_ms(),
            BudgetMetric::TotalMs => c.total_ms(),
            BudgetMetric::MemoryBytes => c.memory_bytes(),
            BudgetMetric::Params => params,
            BudgetMetric::ActiveParams => active_params,
        }
    }
}

/// One resolved budget: metric of a scenario ≤ limit.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    /// Scenario index.
    pub scenario: usize,
    /// Scenario name.
    pub scenario_name: String,
    /// Metric.
    pub metric: BudgetMetric,
    /// Limit in the metric's unit (ms, bytes, parameters).
    pub limit: f64,
    /// Where it came from (`budget.tpot_ms`, `device memory`).
    pub source: String,
}

/// A resolved scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Device.
    pub hardware: Hardware,
    /// Workload (its precision's weights/KV types are replaced per design).
    pub workload: Workload,
    /// Cost model mode.
    pub mode: Mode,
}

impl Scenario {
    /// The workload at a design's storage types.
    pub fn workload_for(&self, weights: DType, kv_cache: DType) -> Workload {
        let mut w = self.workload;
        w.precision = Precision { weights, kv_cache, compute: self.workload.precision.compute };
        w
    }
}
