//! How one weight tensor is laid out in memory, and its exact size in bytes, block scales,
//! minimums, zero points and index tensors included.
//!
//! Every layout is taken from the code that writes it; the source is named on each variant.
//! Sizes are of the checkpoint an engine loads. Some engines repack at load time (vLLM's
//! Marlin kernels, TensorRT-LLM's interleaving); repacking reorders bits but keeps the
//! counts of weights, scales and zeros, except where a variant says otherwise.

use crate::error::{Error, Result};
use crate::precision::DType;
use serde::Serialize;
use std::fmt;

/// A ggml tensor type: blocks of `block_elements` weights stored in `block_bytes` bytes.
///
/// Block layouts from ggml/src/ggml-common.h (ggml-org/llama.cpp; each struct carries a
/// `static_assert` on its size):
///
/// | type | weights/block | bytes/block | layout | bits/weight |
/// |---|---:|---:|---|---:|
/// | F32 | 1 | 4 | IEEE single | 32 |
/// | F16 | 1 | 2 | IEEE half | 16 |
/// | BF16 | 1 | 2 | bfloat16 | 16 |
/// | Q4_0 | 32 | 18 | fp16 scale d + 16 bytes of nibbles | 4.5 |
/// | Q4_1 | 32 | 20 | fp16 d, fp16 min m + 16 bytes of nibbles | 5.0 |
/// | Q5_0 | 32 | 22 | fp16 d + 4 bytes of 5th bits + 16 bytes of nibbles | 5.5 |
/// | Q5_1 | 32 | 24 | fp16 d, fp16 m + 4 bytes of 5th bits + 16 bytes of nibbles | 6.0 |
/// | Q8_0 | 32 | 34 | fp16 d + 32 int8 | 8.5 |
/// | Q4_K | 256 | 144 | fp16 d, fp16 dmin + 12 bytes of 6-bit scales/mins (8 sub-blocks of 32) + 128 bytes of nibbles | 4.5 |
/// | Q5_K | 256 | 176 | fp16 d, fp16 dmin + 12 bytes scales/mins + 32 bytes of 5th bits + 128 bytes of nibbles | 5.5 |
/// | Q6_K | 256 | 210 | 128 bytes low nibbles + 64 bytes high 2 bits + 16 int8 scales (16 sub-blocks of 16) + fp16 d | 6.5625 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    BF16,
    /// 4-bit, one fp16 scale per 32.
    Q4_0,
    /// 4-bit, fp16 scale and min per 32.
    Q4_1,
    /// 5-bit, one fp16 scale per 32.
    Q5_0,
    /// 5-bit, fp16 scale and min per 32.
    Q5_1,
    /// 8-bit, one fp16 scale per 32.
    Q8_0,
    /// 4-bit K-quant, super-blocks of 256.
    Q4_K,
    /// 5-bit K-quant, super-blocks of 256.
    Q5_K,
    /// 6-bit K-quant, super-blocks of 256.
    Q6_K,
}

impl GgmlType {
    /// Every type, for listings.
    pub const ALL: [GgmlType; 11] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q4_K,
        GgmlType::Q5_K,
        GgmlType::Q6_K,
    ];

    /// Weights per block (ggml's `blck_size`).
    pub fn block_elements(self) -> u64 {
        match self {
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => 1,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => 32,
            GgmlType::Q4_K | GgmlType::Q5_K | GgmlType::Q6_K => 256,
        }
    }

    /// Bytes per block (ggml's `type_size`).
    pub fn block_bytes(self) -> u64 {
        match self {
            GgmlType::F32 => 4,
            GgmlType::F16 | GgmlType::BF16 => 2,
            GgmlType::Q4_0 => 2 + 16,
            GgmlType::Q4_1 => 2 + 2 + 16,
            GgmlType::Q5_0 => 2 + 4 + 16,
            GgmlType::Q5_1 => 2 + 2 + 4 + 16,
            GgmlType::Q8_0 => 2 + 32,
            GgmlType::Q4_K => 2 + 2 + 12 + 128,
            GgmlType::Q5_K => 2 + 2 + 12 + 32 + 128,
            GgmlType::Q6_K => 128 + 64 + 16 + 2,
        }
    }

    /// Bits per weight, scales included.
    pub fn bits_per_weight(self) -> f64 {
        8.0 * self.block_bytes() as f64 / self.block_elements() as f64
    }

    /// A quantised (block) type, as opposed to F32/F16/BF16 (ggml's `ggml_is_quantized`).
    pub fn is_quantized(self) -> bool {
        self.block_elements() > 1
    }

    /// Name as ggml prints it (`q4_K`, `f16`, ...).
    pub fn name(self) -> &'static str {
        match self {
            GgmlType::F32 => "f32",
            GgmlType::F16 => "f16",
            GgmlType::BF16 => "bf16",
            GgmlType::Q4_0 => "q4_0",
            GgmlType::Q4_1 => "q4_1",
            GgmlType::Q5_0 => "q5_0",
            GgmlType::Q5_1 => "q5_1",
            GgmlType::Q8_0 => "q8_0",
            GgmlType::Q4_K => "q4_K",
            GgmlType::Q5_K => "q5_K",
            GgmlType::Q6_K => "q6_K",
        }
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The storage of one weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Encoding {
    /// A ggml type (GGUF files). Rows must be whole blocks; the format rules guarantee it by
    /// falling back as llama.cpp does.
    Ggml(GgmlType),
    /// Unscaled floating point (fp32, bf16 or fp16): a checkpoint's dtype.
    Dense(DType),
    /// MLC-LLM group quantisation (python/mlc_llm/quantization/group_quantization.py,
    /// `GroupQuantize`, e.g. `q4f16_1`): along the input dimension, groups of `group`
    /// weights, each packed as `bits`-bit integers into uint32 words plus one scale of
    /// `scale_bytes` bytes (the model dtype); symmetric, no zero point. The number of groups
    /// is ceil(cols / group): a partial last group is padded.
    MlcGroup {
        /// Bits per weight before scales.
        bits: u32,
        /// Weights per group.
        group: u32,
        /// Bytes of one scale (2 for fp16/bf16, 4 for fp32).
        scale_bytes: u32,
    },
    /// AutoAWQ GEMM layout (awq/modules/linear/gemm.py, `WQLinear_GEMM`): `qweight` int32
    /// `[cols, rows/8]` (4 bits per weight), `qzeros` int32 `[cols/group, rows/8]` (one 4-bit zero
    /// per group and output), `scales` fp16 `[cols/group, rows]`. Requires cols % group = 0 and
    /// rows % 8 = 0 (asserted there).
    AwqGemm {
        /// Weights per group along the input dimension.
        group: u32,
    },
    /// AutoGPTQ layout (auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py, `QuantLinear`, the
    /// checkpoint format vLLM and transformers load): `qweight` int32 `[cols/32·4, rows]`,
    /// `qzeros` int32 `[ceil(cols/group), rows/32·4]`, `scales` fp16 `[ceil(cols/group), rows]`,
    /// `g_idx` int32 `[cols]`. Requires cols % 32 = 0 and rows % 8 = 0.
    GptqV1 {
        /// Weights per group along the input dimension.
        group: u32,
    },
    /// TensorRT-LLM weight-only group-wise int4 as produced by ModelOpt AWQ
    /// (tensorrt_llm/quantization/layers.py, `WeightOnlyGroupwiseQuantLinear` with
    /// `pre_quant_scale`, no zero): `qweight` `[cols, rows/8]` of 32-bit words, `scale` fp16
    /// `[cols/group, rows]`, and, when `pre_quant_scale`, an fp16 activation pre-scale `[cols]`
    /// (one per distinct input; the fused QKV projection carries one, not three).
    ModelOptAwq {
        /// Weights per group along the input dimension.
        group: u32,
        /// This tensor carries the per-input-channel pre-quantisation scale.
        pre_quant_scale: bool,
    },
    /// FP8 E4M3 weights with one fp32 weight scale and one fp32 activation scale per tensor
    /// (TensorRT-LLM `FP8Linear`: `weights_scaling_factor` and `activation_scaling_factor`,
    /// shape (1,), float32).
    Fp8PerTensor,
    /// FP8 E4M3 weights with one scale per output channel in the model dtype
    /// (compressed-tensors `initialize.py`: channel strategy → scale shape (rows, 1), dtype
    /// of the weight; the `FP8_DYNAMIC` scheme of llm-compressor, loaded by vLLM).
    Fp8PerChannel {
        /// Bytes of one scale (2 for a bf16/fp16 model).
        scale_bytes: u32,
    },
    /// int8 weights with one fp16 scale per output channel (TensorRT-LLM
    /// `WeightOnlyQuantLinear`, int8 weight-only: `per_channel_scale` `[rows]`).
    Int8PerChannel,
}

/// ceil(a / b) for b > 0.
fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

impl Encoding {
    /// Exact bytes of `count` matrices of `rows` × `cols` (cols contiguous). An error when
    /// the layout cannot hold that shape (e.g. AWQ with cols not a multiple of the group).
    pub fn bytes(&self, rows: u64, cols: u64, count: u64) -> Result<u64> {
        let per = match *self {
            Encoding::Ggml(t) => {
                let b = t.block_elements();
                if !cols.is_multiple_of(b) {
                    return Err(Error::Unsupported(format!(
                        "ggml type {t} stores rows of whole {b}-weight blocks; a row of {cols} weights does not fit"
                    )));
                }
                rows * (cols / b) * t.block_bytes()
            }
            Encoding::Dense(d) => {
                let bytes = match d {
                    DType::Fp32 => 4,
                    DType::Bf16 | DType::Fp16 => 2,
                    other => {
                        return Err(Error::Unsupported(format!(
                            "dense storage is fp32, bf16 or fp16; {other} needs scales (use an fp8/int8 format)"
                        )))
                    }
                };
                rows * cols * bytes
            }
            Encoding::MlcGroup { bits, group, scale_bytes } => {
                let groups = ceil_div(cols, group as u64);
                // Each group: group·bits/8 bytes of packed words + one scale.
                rows * groups * (group as u64 * bits as u64 / 8 + scale_bytes as u64)
            }
            Encoding::AwqGemm { group } => {
                let g = group as u64;
                if !cols.is_multiple_of(g) || !rows.is_multiple_of(8) {
                    return Err(Error::Unsupported(format!(
                        "AutoAWQ GEMM needs input features divisible by the group ({g}) and output features by 8; got {cols} inputs, {rows} outputs"
                    )));
                }
                let groups = cols / g;
                cols * rows / 2 + groups * (rows / 8) * 4 + groups * rows * 2
            }
            Encoding::GptqV1 { group } => {
                if !cols.is_multiple_of(32) || !rows.is_multiple_of(8) {
                    return Err(Error::Unsupported(format!(
                        "GPTQ packing needs input features divisible by 32 and output features by 8; got {cols} inputs, {rows} outputs"
                    )));
                }
                let groups = ceil_div(cols, group as u64);
                cols * rows / 2 + groups * (rows / 8) * 4 + groups * rows * 2 + cols * 4
            }
            Encoding::ModelOptAwq { group, pre_quant_scale } => {
                let g = group as u64;
                if !cols.is_multiple_of(g) || !rows.is_multiple_of(8) {
                    return Err(Error::Unsupported(format!(
                        "TensorRT-LLM int4 AWQ needs input features divisible by the group ({g}) and output features by 8; got {cols} inputs, {rows} outputs"
                    )));
                }
                cols * rows / 2 + (cols / g) * rows * 2 + if pre_quant_scale { cols * 2 } else { 0 }
            }
            Encoding::Fp8PerTensor => rows * cols + 4 + 4,
            Encoding::Fp8PerChannel { scale_bytes } => rows * cols + rows * scale_bytes as u64,
            Encoding::Int8PerChannel => rows * cols + rows * 2,
        };
        Ok(per * count)
    }

    /// Short name for reports (`q6_K`, `bf16`, `awq-g128`, ...).
    pub fn label(&self) -> String {
        match *self {
            Encoding::Ggml(t) => t.name().to_string(),
            Encoding::Dense(d) => d.name().to_string(),
            Encoding::MlcGroup { bits, group, scale_bytes } => format!("mlc-int{bits}-g{group}-s{}", 8 * scale_bytes),
            Encoding::AwqGemm { group } => format!("awq-int4-g{group}"),
            Encoding::GptqV1 { group } => format!("gptq-int4-g{group}"),
            Encoding::ModelOptAwq { group, pre_quant_scale } => {
                format!("modelopt-int4-g{group}{}", if pre_quant_scale { "+prescale" } else { "" })
            }
            Encoding::Fp8PerTensor => "fp8-e4m3-tensor".into(),
            Encoding::Fp8PerChannel { .. } => "fp8-e4m3-channel".into(),
            Encoding::Int8PerChannel => "int8-channel".into(),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}
