//! Devices: memory, bandwidth, compute peaks per data type, efficiency factors and fixed
//! overheads, loaded from `models/hardware/*.toml` (or any path) and validated.
//!
//! Units: `memory_gb` in 10⁹ bytes (conservative against GiB-sized DRAM), `bandwidth_gbps`
//! in 10⁹ bytes/s, `peak_tflops` in 10¹² operations/s (TOPS for integer types), dense (not
//! 2:4-sparse) figures.

mod efficiency;
mod latency_samples;

pub use efficiency::{EfficiencyTerms, N_TERMS as N_EFFICIENCY_TERMS, TERM_NAMES as EFFICIENCY_TERM_NAMES};
pub(crate) use efficiency::{
    N_EFF, PER_ATTENTION_PAIR, PER_GEMV_ROW, PER_LAYER, PER_MOE_LAYER, PER_STEP, PER_TOKEN, PER_TOKEN_LAYER,
    PREFILL_LAYER, PREFILL_STEP,
};
pub use latency_samples::{
    latency_samples_from_bytes, read_latency_samples, read_latency_samples_devices, write_latency_samples,
};

use crate::error::{read_file, Error, Origin, Result};
use crate::precision::DType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Dense compute peaks per data type, in TFLOP/s (TOPS for integers). A missing entry means
/// no published figure: the cost model refuses to use that compute type on this device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peaks {
    /// FP32 (tensor-core TF32 where that is the published dense matrix figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp32: Option<f64>,
    /// BF16 matrix peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16: Option<f64>,
    /// FP16 matrix peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp16: Option<f64>,
    /// FP8 matrix peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8: Option<f64>,
    /// INT8 matrix peak (TOPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<f64>,
    /// INT4 matrix peak (TOPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int4: Option<f64>,
}

impl Peaks {
    /// Peak for a compute type, if the device has a figure.
    pub fn get(&self, t: DType) -> Option<f64> {
        match t {
            DType::Fp32 => self.fp32,
            DType::Bf16 => self.bf16,
            DType::Fp16 => self.fp16,
            DType::Fp8 => self.fp8,
            DType::Int8 => self.int8,
            DType::Int4 => self.int4,
        }
    }
    fn entries(&self) -> Vec<(DType, f64)> {
        crate::precision::ALL_DTYPES.iter().filter_map(|&t| self.get(t).map(|v| (t, v))).collect()
    }
}

/// Fraction of peak compute and bandwidth an operator class reaches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassEfficiency {
    /// Fraction of peak compute, in (0, 1].
    pub compute: f64,
    /// Fraction of peak bandwidth, in (0, 1].
    pub bandwidth: f64,
}

impl Default for ClassEfficiency {
    fn default() -> Self {
        ClassEfficiency { compute: 1.0, bandwidth: 1.0 }
    }
}

/// Efficiency factors: a device-wide pair, optionally overridden per operator class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Efficiency {
    /// Device-wide fraction of peak compute (default 1).
    #[serde(default = "one")]
    pub compute: f64,
    /// Device-wide fraction of peak bandwidth (default 1).
    #[serde(default = "one")]
    pub bandwidth: f64,
    /// Matrix multiplications (projections, FFN, experts, router, LM head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemm: Option<ClassEfficiency>,
    /// Attention over the KV cache (scores, softmax, weighted sum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<ClassEfficiency>,
    /// Elementwise and gather operators (embedding, norms, RoPE, activation, KV write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elementwise: Option<ClassEfficiency>,
    /// Mixture-of-experts router and expert GEMMs (grouped GEMMs run below dense cuBLAS
    /// rates); falls back to `gemm` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<ClassEfficiency>,
}

fn one() -> f64 {
    1.0
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for Efficiency {
    fn default() -> Self {
        Efficiency { compute: 1.0, bandwidth: 1.0, gemm: None, attention: None, elementwise: None, moe: None }
    }
}

/// Operator classes that can carry their own efficiency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum OpClass {
    /// Matrix multiplication.
    Gemm,
    /// Attention over the KV cache.
    Attention,
    /// Elementwise / gather.
    Elementwise,
    /// MoE router and experts.
    Moe,
}

impl OpClass {
    /// All classes.
    pub const ALL: [OpClass; 4] = [OpClass::Gemm, OpClass::Attention, OpClass::Elementwise, OpClass::Moe];
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            OpClass::Gemm => "gemm",
            OpClass::Attention => "attention",
            OpClass::Elementwise => "elementwise",
            OpClass::Moe => "moe",
        }
    }
}

impl Efficiency {
    /// Effective (compute, bandwidth) fractions for a class.
    pub fn for_class(&self, c: OpClass) -> ClassEfficiency {
        let o = match c {
            OpClass::Gemm => self.gemm,
            OpClass::Attention => self.attention,
            OpClass::Elementwise => self.elementwise,
            OpClass::Moe => self.moe.or(self.gemm),
        };
        o.unwrap_or(ClassEfficiency { compute: self.compute, bandwidth: self.bandwidth })
    }
}

/// Number of overheads in [`Overhead`].
pub const N_OVERHEADS: usize = 9;

/// Steps of at most this many tokens (batch × new tokens) run their matrix products as
/// matrix-vector kernels, which pay [`Overhead::per_gemv_row_ms`]: llama.cpp's
/// `MMVF_MAX_BATCH_SIZE` and `MMVQ_MAX_BATCH_SIZE`.
pub const VECTOR_KERNEL_MAX_TOKENS: f64 = 8.0;

/// Fixed latencies not explained by the roofline (kernel launches, host overhead).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Overhead {
    /// Added once per forward step (prefill or one decode step), ms.
    #[serde(default)]
    pub per_step_ms: f64,
    /// Added once per transformer block per forward step, ms.
    #[serde(default)]
    pub per_layer_ms: f64,
    /// Added on top of `per_layer_ms` for each mixture-of-experts block (routing, token
    /// sorting and dispatch kernels), ms.
    #[serde(default)]
    pub per_moe_layer_ms: f64,
    /// Added per new token per transformer block (per-token work no roofline term sees:
    /// small elementwise kernels, quantising activations for integer matmuls), ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub per_token_layer_ms: f64,
    /// Added per causal (query, key) pair per sequence per transformer block, whatever the
    /// number of heads: attention kernels whose grid (heads × query blocks) does not fill the
    /// device run for a time set by the pairs each block walks, not by their FLOPs, ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub per_attention_pair_ms: f64,
    /// Added on top of `per_step_ms` to each prefill step (micro-batch): engines launch
    /// other kernels for many tokens than for one (llama.cpp: quantising activations for
    /// MMQ, batched flash attention), ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub prefill_step_ms: f64,
    /// Added on top of `per_layer_ms` per block to each prefill step (micro-batch), ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub prefill_layer_ms: f64,
    /// Added per output row of each matrix-vector product of a step with at most
    /// [`VECTOR_KERNEL_MAX_TOKENS`] tokens (decode at small batch): engines run such steps
    /// with one thread block per output row (llama.cpp's MMVF/MMVQ kernels), and for rows of a
    /// few KB the block's start and memory latency, not its bytes, set the time. Rows per
    /// block: Q, K, V, O, gate, up, down of every block, and the vocabulary of the LM head, ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub per_gemv_row_ms: f64,
    /// Added per new token of a step (× batch), once per step, not per block: host-side
    /// work on the batch (llama.cpp: splitting it into micro-batches, positions, the
    /// attention mask, copying the inputs), ms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub per_token_ms: f64,
    /// Prefill runs as micro-batches of at most this many tokens (llama.cpp's `n_ubatch`,
    /// 512 by default): each micro-batch is a forward step of its own, re-reads the weights
    /// and pays the per-step and per-layer overheads. Absent: the prompt is one step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ubatch_tokens: Option<u32>,
}

impl Overhead {
    /// Overhead of one block of `arch` per forward step, ms.
    #[inline]
    pub fn layer_ms(&self, arch: &crate::Architecture) -> f64 {
        self.per_layer_ms + if arch.is_moe() { self.per_moe_layer_ms } else { 0.0 }
    }

    /// The overheads (ms) by name, in the order of the calibration's terms
    /// ([`EfficiencyTerms`] after the efficiencies): one list, so validation, calibration
    /// and the files agree on what exists.
    pub fn named_ms(&self) -> [(&'static str, f64); N_OVERHEADS] {
        let mut o = *self;
        let f = o.fields_mut();
        std::array::from_fn(|k| (f[k].0, *f[k].1))
    }

    /// As [`Overhead::named_ms`], for writing.
    pub fn fields_mut(&mut self) -> [(&'static str, &mut f64); N_OVERHEADS] {
        [
            ("per_step_ms", &mut self.per_step_ms),
            ("per_layer_ms", &mut self.per_layer_ms),
            ("per_moe_layer_ms", &mut self.per_moe_layer_ms),
            ("per_token_layer_ms", &mut self.per_token_layer_ms),
            ("per_attention_pair_ms", &mut self.per_attention_pair_ms),
            ("prefill_step_ms", &mut self.prefill_step_ms),
            ("prefill_layer_ms", &mut self.prefill_layer_ms),
            ("per_gemv_row_ms", &mut self.per_gemv_row_ms),
            ("per_token_ms", &mut self.per_token_ms),
        ]
    }

    /// Check every field; `prefix` is the table path (`overhead`, `devices.X.overhead`).
    pub fn validate(&self, origin: &Origin, prefix: &str) -> Result<()> {
        for (name, v) in self.named_ms() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    origin,
                    format!("{prefix}.{name}"),
                    v,
                    "an overhead must be a finite number ≥ 0 (ms)",
                ));
            }
        }
        if self.ubatch_tokens == Some(0) {
            return Err(Error::invalid(
                origin,
                format!("{prefix}.ubatch_tokens"),
                0,
                "a micro-batch size ≥ 1 (tokens), or leave it out for one step per prompt",
            ));
        }
        Ok(())
    }

    /// The prefill of `tokens` new tokens as steps: (new tokens, cached positions) of each
    /// micro-batch, in order.
    pub fn prefill_chunks(&self, tokens: u32) -> impl Iterator<Item = (u32, u32)> {
        let u = self.ubatch_tokens.unwrap_or(tokens.max(1)).max(1);
        let n = if tokens == 0 { 1 } else { tokens.div_ceil(u) };
        (0..n).map(move |i| {
            let start = i * u;
            (u.min(tokens - start.min(tokens)), start)
        })
    }
}

/// How attention is executed: one fused kernel (FlashAttention-style; scores never reach
/// memory) or the paper's unfused Q·Kᵀ → softmax → ·V with materialised scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKernel {
    /// Scores stay on chip.
    #[default]
    Fused,
    /// Scores are written and read back (paper's model).
    Unfused,
}

/// A device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Display name.
    pub name: String,
    /// Memory capacity of the device, 10⁹ bytes.
    pub memory_gb: f64,
    /// Memory the model cannot use, 10⁹ bytes (default 0): on unified-memory devices (Jetson,
    /// Apple, phones) the OS, the runtime and hardware carve-outs take a share of `memory_gb`.
    /// The device-memory budget and `fits_memory` use `memory_gb − reserve_gb`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reserve_gb: f64,
    /// Peak memory bandwidth, 10⁹ bytes/s.
    pub bandwidth_gbps: f64,
    /// Dense compute peaks per data type.
    #[serde(default)]
    pub peak_tflops: Peaks,
    /// Efficiency factors (default 1).
    #[serde(default)]
    pub efficiency: Efficiency,
    /// Fixed overheads (default 0).
    #[serde(default)]
    pub overhead: Overhead,
    /// Attention execution model.
    #[serde(default)]
    pub attention_kernel: AttentionKernel,
    /// Where each figure comes from: keys `memory_gb`, `bandwidth_gbps`, `peak_tflops` (or
    /// `peak_tflops.<dtype>`).
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Free-form notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Written by `colaw calibrate`: how the efficiency and overheads were fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<toml::Table>,
}

impl Hardware {
    /// Memory capacity in bytes.
    pub fn memory_bytes(&self) -> f64 {
        self.memory_gb * 1e9
    }

    /// Memory the model may use, bytes: capacity less the reserve (`memory_gb − reserve_gb`).
    pub fn usable_memory_bytes(&self) -> f64 {
        (self.memory_gb - self.reserve_gb) * 1e9
    }

    /// The device's name without the ` (calibrated…)` suffix `colaw calibrate` appends: the
    /// physical device a latency calibration belongs to.
    pub fn device_name(&self) -> &str {
        self.name.split(" (calibrated").next().unwrap_or(&self.name).trim()
    }

    /// Whether `colaw calibrate` (or an engine's profile for this device) fitted its
    /// efficiency and overheads; otherwise latencies are the datasheet roofline, a lower bound.
    pub fn is_calibrated(&self) -> bool {
        self.calibration.is_some()
    }

    /// Peak compute in operations per second for a compute type, or an error that says what
    /// the device does publish.
    pub fn peak_ops_per_s(&self, t: DType) -> Result<f64> {
        self.peak_tflops.get(t).map(|v| v * 1e12).ok_or_else(|| {
            let have: Vec<String> = self.peak_tflops.entries().iter().map(|(t, _)| t.to_string()).collect();
            Error::Unsupported(format!(
                "hardware `{}` has no published {t} compute peak, so colaw will not guess one; {}",
                self.name,
                if have.is_empty() {
                    "it has no compute figure at all: add `peak_tflops.<dtype>` with its source to the hardware file"
                        .to_string()
                } else {
                    format!(
                        "choose a compute dtype it has ({}) or add `peak_tflops.{t}` with its source",
                        have.join(", ")
                    )
                }
            ))
        })
    }

    /// Check ranges; errors name the field.
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        let positive = |field: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(origin, field, v, "must be a positive finite number"))
            }
        };
        if self.name.trim().is_empty() {
            return Err(Error::invalid(origin, "name", "\"\"", "must not be empty"));
        }
        positive("memory_gb", self.memory_gb)?;
        positive("bandwidth_gbps", self.bandwidth_gbps)?;
        if !(self.reserve_gb.is_finite() && self.reserve_gb >= 0.0 && self.reserve_gb < self.memory_gb) {
            return Err(Error::invalid(
                origin,
                "reserve_gb",
                self.reserve_gb,
                format!("must be ≥ 0 and below memory_gb = {} (10⁹ bytes the OS and runtime keep)", self.memory_gb),
            ));
        }
        for (t, v) in self.peak_tflops.entries() {
            positive(&format!("peak_tflops.{t}"), v)?;
        }
        let frac = |field: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::invalid(origin, field, v, "an efficiency must lie in (0, 1]"))
            }
        };
        let e = &self.efficiency;
        frac("efficiency.compute", e.compute)?;
        frac("efficiency.bandwidth", e.bandwidth)?;
        for c in OpClass::ALL {
            let ce = e.for_class(c);
            frac(&format!("efficiency.{}.compute", c.name()), ce.compute)?;
            frac(&format!("efficiency.{}.bandwidth", c.name()), ce.bandwidth)?;
        }
        self.overhead.validate(origin, "overhead")
    }

    /// Parse TOML text and validate.
    pub fn from_toml_str(text: &str, origin: &Origin) -> Result<Hardware> {
        let hw: Hardware =
            toml::from_str(text).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        hw.validate(origin)?;
        Ok(hw)
    }

    /// Serialise to TOML (used by `calibrate`).
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("hardware serialises to TOML")
    }
}

/// Folder holding hardware files.
pub fn hardware_dir() -> std::path::PathBuf {
    crate::models_dir().join("hardware")
}

/// Names of shipped hardware files (stems), sorted.
pub fn hardware_names() -> Vec<String> {
    crate::list_stems(&hardware_dir(), "toml")
}

/// Resolve a hardware named on the command line: a file path or a name under
/// `models/hardware/`.
pub fn load_hardware(spec: &str) -> Result<Hardware> {
    let file = crate::resolve_model_file(spec, "hardware", "hardware")?;
    let origin = Origin::file(file.display().to_string());
    Hardware::from_toml_str(&read_file(&file)?, &origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "name = \"x\"\nmemory_gb = 4\nbandwidth_gbps = 50\n[peak_tflops]\nint8 = 10\n";

    #[test]
    fn refuses_missing_compute_type() {
        let hw = Hardware::from_toml_str(MIN, &Origin::file("x.toml")).unwrap();
        assert_eq!(hw.peak_ops_per_s(DType::Int8).unwrap(), 10e12);
        let e = hw.peak_ops_per_s(DType::Bf16).unwrap_err().to_string();
        assert!(e.contains("bf16") && e.contains("int8"), "{e}");
    }

    #[test]
    fn bad_efficiency_named() {
        let text = format!("{MIN}[efficiency]\ncompute = 1.5\n");
        let e = Hardware::from_toml_str(&text, &Origin::file("x.toml")).unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("efficiency.compute") && e.contains("1.5"), "{e}");
    }

    #[test]
    fn negative_bandwidth_named() {
        let text = MIN.replace("bandwidth_gbps = 50", "bandwidth_gbps = -5");
        let e = Hardware::from_toml_str(&text, &Origin::file("x.toml")).unwrap_err().to_string();
        assert!(e.contains("bandwidth_gbps") && e.contains("-5"), "{e}");
    }

    #[test]
    fn reserve_is_checked_and_subtracted() {
        let hw = Hardware::from_toml_str(
            &MIN.replace("memory_gb = 4", "memory_gb = 4\nreserve_gb = 1.5"),
            &Origin::default(),
        )
        .unwrap();
        assert_eq!(hw.usable_memory_bytes(), 2.5e9);
        assert_eq!(Hardware::from_toml_str(MIN, &Origin::default()).unwrap().usable_memory_bytes(), 4e9);
        for bad in ["-1", "4", "nan"] {
            let text = MIN.replace("memory_gb = 4", &format!("memory_gb = 4\nreserve_gb = {bad}"));
            let e = Hardware::from_toml_str(&text, &Origin::file("x.toml")).unwrap_err().to_string();
            assert!(e.contains("x.toml") && e.contains("reserve_gb") && e.contains("memory_gb = 4"), "{e}");
        }
    }

    #[test]
    fn toml_roundtrip() {
        let hw = Hardware::from_toml_str(MIN, &Origin::default()).unwrap();
        let back = Hardware::from_toml_str(&hw.to_toml_string(), &Origin::default()).unwrap();
        assert_eq!(hw, back);
    }
}
