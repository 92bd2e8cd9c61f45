//! One architecture on one device: parameters, predicted loss, latencies, memory and the
//! per-operator breakdown — the `eval` command's result.

use crate::architecture::{Architecture, ParamCounts};
use crate::cost::storage::exact_weight_bytes;
use crate::cost::{CostModel, Latency, Memory, Mode, OpCost, Workload};
use crate::deployment::DeploymentReport;
use crate::error::{Error, Result};
use crate::hardware::Hardware;
use crate::law::{LawInputs, LossLaw, Var};
use serde::Serialize;

/// Everything `colaw eval` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Architecture name, if any.
    pub name: Option<String>,
    /// The architecture.
    pub arch: Architecture,
    /// Device name.
    pub hardware: String,
    /// Workload evaluated.
    pub workload: Workload,
    /// Cost model mode.
    pub mode: Mode,
    /// Parameter counts.
    pub params: ParamCounts,
    /// Predicted loss (when a law was given).
    pub loss: Option<f64>,
    /// Law used.
    pub law: Option<String>,
    /// Latencies, ms.
    pub latency_ms: Latency,
    /// Memory, bytes.
    pub memory_bytes: Memory,
    /// Device memory capacity, bytes.
    pub capacity_bytes: f64,
    /// The share the model may use, bytes: capacity less the device's `reserve_gb`.
    pub usable_bytes: f64,
    /// memory total ≤ usable share.
    pub fits_memory: bool,
    /// Per-operator costs.
    pub breakdown: Vec<OpCost>,
    /// The engine deployment, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentReport>,
    /// Exact bytes of the weights as the engine stores them (every layer's own type), when a
    /// deployment was given; `memory_bytes.weights` is the cost model's depth-linear form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights_file_bytes: Option<u64>,
    /// Why the numbers are less firm than they look: an uncalibrated device, memory above its
    /// usable share, a design outside the law's fitted range (the caller's to fill: `eval`
    /// is below the checks that produce them).
    pub warnings: Vec<crate::util::warning::Warning>,
}

/// Loss of an architecture under a law, with training tokens from the caller or the law's
/// default; a law that needs tokens and has none is an error, not a NaN.
pub fn predict_loss(law: &dyn LossLaw, arch: &Architecture, tokens: Option<f64>) -> Result<f64> {
    let tokens = tokens.or(law.default_tokens());
    if tokens.is_none() && law.variables().contains(&Var::Tokens) {
        return Err(Error::Unsupported(format!(
            "law `{}` has a data term but no training tokens were given: pass --tokens or set `tokens` in the law file",
            law.name()
        )));
    }
    let loss = law.loss(&LawInputs::from_arch(arch, tokens));
    if !loss.is_finite() {
        return Err(Error::Unsupported(format!(
            "law `{}` gives a non-finite loss ({loss}) for {}",
            law.name(),
            arch.label()
        )));
    }
    Ok(loss)
}

/// Evaluate an architecture.
pub fn evaluate(
    arch: &Architecture,
    hw: &Hardware,
    workload: &Workload,
    mode: Mode,
    law: Option<&dyn LossLaw>,
    tokens: Option<f64>,
) -> Result<Evaluation> {
    let model = CostModel::with_mode(hw, workload, mode)?;
    // A shape the format cannot store is an error here, not an infinite latency.
    model.storage(arch)?;
    let weights_file_bytes = match &workload.deploy {
        Some(d) => Some(exact_weight_bytes(arch, d.weight_format)?),
        None => None,
    };
    let m = model.metrics(arch);
    let loss = match law {
        Some(l) => Some(predict_loss(l, arch, tokens)?),
        None => None,
    };
    Ok(Evaluation {
        name: arch.name.clone(),
        arch: arch.clone(),
        hardware: hw.name.clone(),
        workload: *workload,
        mode,
        params: arch.params(),
        loss,
        law: law.map(|l| l.name().to_string()),
        latency_ms: m.latency_ms,
        memory_bytes: m.memory_bytes,
        capacity_bytes: hw.memory_bytes(),
        usable_bytes: hw.usable_memory_bytes(),
        fits_memory: m.memory_bytes.total <= hw.usable_memory_bytes(),
        breakdown: model.breakdown(arch),
        deployment: None,
        weights_file_bytes,
        warnings: Vec::new(),
    })
}
