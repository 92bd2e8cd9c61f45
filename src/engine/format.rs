//! Weight formats: which encoding each tensor of a model gets, and the exact bytes.
//!
//! A format is a named recipe that assigns an [`Encoding`] to every tensor of a
//! [`ModelShape`]. Most formats treat every projection alike; llama.cpp's K-quant mixes
//! (`Q4_K_M`, `Q5_K_M`, ...) give some tensors more bits by layer index, implemented in
//! `gguf_tensor_type` exactly as in llama.cpp's src/llama-quant.cpp.

use super::encoding::{Encoding, GgmlType};
use super::shape::{ModelShape, Tensor, TensorClass};
use crate::error::{Error, Origin, Result};
use crate::precision::DType;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// llama.cpp file types (`llama_ftype`) colaw models: the target of `llama-quantize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(non_camel_case_types)]
pub enum GgufFileType {
    /// All F32.
    F32,
    /// F16 matrices, F32 vectors.
    F16,
    /// BF16 matrices, F32 vectors.
    BF16,
    /// Q4_0 with the output tensor in Q6_K.
    Q4_0,
    /// Q4_1 with the output tensor in Q6_K.
    Q4_1,
    /// Q5_0 with the output tensor in Q6_K.
    Q5_0,
    /// Q5_1 with the output tensor in Q6_K.
    Q5_1,
    /// Q8_0 throughout.
    Q8_0,
    /// Q4_K; the first four attn_v and the first eighth of ffn_down in Q5_K.
    Q4_K_S,
    /// Q4_K; half the attn_v and ffn_down tensors (by `use_more_bits`) in Q6_K.
    Q4_K_M,
    /// Q5_K throughout (output Q6_K).
    Q5_K_S,
    /// Q5_K; half the attn_v and ffn_down tensors in Q6_K.
    Q5_K_M,
    /// Q6_K throughout.
    Q6_K,
}

impl GgufFileType {
    /// The default tensor type (llama.cpp `llama_ftype_get_default_type`).
    pub fn default_type(self) -> GgmlType {
        match self {
            GgufFileType::F32 => GgmlType::F32,
            GgufFileType::F16 => GgmlType::F16,
            GgufFileType::BF16 => GgmlType::BF16,
            GgufFileType::Q4_0 => GgmlType::Q4_0,
            GgufFileType::Q4_1 => GgmlType::Q4_1,
            GgufFileType::Q5_0 => GgmlType::Q5_0,
            GgufFileType::Q5_1 => GgmlType::Q5_1,
            GgufFileType::Q8_0 => GgmlType::Q8_0,
            GgufFileType::Q4_K_S | GgufFileType::Q4_K_M => GgmlType::Q4_K,
            GgufFileType::Q5_K_S | GgufFileType::Q5_K_M => GgmlType::Q5_K,
            GgufFileType::Q6_K => GgmlType::Q6_K,
        }
    }
}

/// A weight format: which tensors of a model are quantised, in which layout, and which are kept
/// in a wider type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(non_camel_case_types)]
pub enum WeightFormat {
    /// A GGUF file produced by `llama-quantize` (or `convert_hf_to_gguf.py` for F32/F16/BF16)
    /// without an importance matrix or per-tensor overrides.
    Gguf(GgufFileType),
    /// Every tensor in one floating type (a Hugging Face checkpoint in fp32/bf16/fp16; MLC's
    /// `q0f16`/`q0bf16`/`q0f32`).
    Dense(DType),
    /// MLC-LLM `q4f16_1` (and `q4f16_0`, identical in bytes): every Linear, the embedding and
    /// the LM head group-quantised (int4, one fp16 scale per 32 weights); norms, biases and
    /// the MoE router in fp16 (python/mlc_llm/quantization/quantization.py,
    /// `quantize_embedding=True, quantize_final_fc=True`).
    MlcQ4f16_1,
    /// AutoAWQ int4, group 128, GEMM layout: block projections quantised; embedding, LM head,
    /// norms, biases and router in fp16.
    AwqInt4G128,
    /// GPTQ int4, group 128 (AutoGPTQ layout): block projections quantised; the rest fp16.
    GptqInt4G128,
    /// TensorRT-LLM `int4_awq` (ModelOpt W4A16 AWQ, group 128): block projections quantised
    /// with pre-quantisation scales (one per QKV, O, gate, up, down); the rest fp16 (the LM
    /// head stays fp16 unless built with `--quantize_lm_head`).
    TrtInt4AwqG128,
    /// FP8 E4M3 block projections with per-tensor fp32 scales; the rest in bf16/fp16.
    Fp8PerTensor,
    /// FP8 E4M3 block projections with per-output-channel bf16 scales (compressed-tensors
    /// `FP8_DYNAMIC`); the rest in bf16.
    Fp8PerChannel,
    /// int8 weight-only block projections with per-channel fp16 scales (TensorRT-LLM
    /// `int8_wo`); the rest fp16.
    Int8WeightOnly,
}

impl WeightFormat {
    /// Every format, in listing order.
    pub const ALL: [WeightFormat; 23] = [
        WeightFormat::Gguf(GgufFileType::F32),
        WeightFormat::Gguf(GgufFileType::F16),
        WeightFormat::Gguf(GgufFileType::BF16),
        WeightFormat::Gguf(GgufFileType::Q8_0),
        WeightFormat::Gguf(GgufFileType::Q6_K),
        WeightFormat::Gguf(GgufFileType::Q5_K_M),
        WeightFormat::Gguf(GgufFileType::Q5_K_S),
        WeightFormat::Gguf(GgufFileType::Q5_1),
        WeightFormat::Gguf(GgufFileType::Q5_0),
        WeightFormat::Gguf(GgufFileType::Q4_K_M),
        WeightFormat::Gguf(GgufFileType::Q4_K_S),
        WeightFormat::Gguf(GgufFileType::Q4_1),
        WeightFormat::Gguf(GgufFileType::Q4_0),
        WeightFormat::Dense(DType::Fp32),
        WeightFormat::Dense(DType::Bf16),
        WeightFormat::Dense(DType::Fp16),
        WeightFormat::MlcQ4f16_1,
        WeightFormat::AwqInt4G128,
        WeightFormat::GptqInt4G128,
        WeightFormat::TrtInt4AwqG128,
        WeightFormat::Fp8PerTensor,
        WeightFormat::Fp8PerChannel,
        WeightFormat::Int8WeightOnly,
    ];

    /// The name used in engine files, scenarios and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Gguf(t) => match t {
                GgufFileType::F32 => "F32",
                GgufFileType::F16 => "F16",
                GgufFileType::BF16 => "BF16",
                GgufFileType::Q4_0 => "Q4_0",
                GgufFileType::Q4_1 => "Q4_1",
                GgufFileType::Q5_0 => "Q5_0",
                GgufFileType::Q5_1 => "Q5_1",
                GgufFileType::Q8_0 => "Q8_0",
                GgufFileType::Q4_K_S => "Q4_K_S",
                GgufFileType::Q4_K_M => "Q4_K_M",
                GgufFileType::Q5_K_S => "Q5_K_S",
                GgufFileType::Q5_K_M => "Q5_K_M",
                GgufFileType::Q6_K => "Q6_K",
            },
            WeightFormat::Dense(DType::Fp32) => "fp32",
            WeightFormat::Dense(DType::Fp16) => "fp16",
            WeightFormat::Dense(DType::Bf16) => "bf16",
            WeightFormat::Dense(other) => other.name(),
            WeightFormat::MlcQ4f16_1 => "q4f16_1",
            WeightFormat::AwqInt4G128 => "awq-int4-g128",
            WeightFormat::GptqInt4G128 => "gptq-int4-g128",
            WeightFormat::TrtInt4AwqG128 => "trtllm-int4-awq-g128",
            WeightFormat::Fp8PerTensor => "fp8-e4m3-per-tensor",
            WeightFormat::Fp8PerChannel => "fp8-e4m3-per-channel",
            WeightFormat::Int8WeightOnly => "int8-weight-only",
        }
    }

    /// Every format name, in listing order (for error messages and help).
    pub fn names() -> Vec<&'static str> {
        WeightFormat::ALL.iter().map(|f| f.name()).collect()
    }

    /// Look a format up by name (exact, case-sensitive: `Q4_K_M` and `q4f16_1` are both
    /// spelled as their engines spell them). The error lists every known format.
    pub fn parse(name: &str) -> Result<WeightFormat> {
        WeightFormat::ALL.iter().copied().find(|f| f.name() == name).ok_or_else(|| Error::Unknown {
            kind: "weight format".into(),
            name: name.into(),
            hint: format!("known formats: {}", WeightFormat::names().join(", ")),
        })
    }

    /// The encoding of every tensor of `shape`, in llama.cpp's tensor order.
    pub fn assign(self, shape: &ModelShape) -> Result<Vec<(Tensor, Encoding)>> {
        shape.validate(&Origin::default())?;
        // The list below holds ~12 tensors per layer: bound it before building it.
        if shape.layers > crate::limits::MAX_LISTED_LAYERS {
            return Err(Error::invalid(
                &Origin::default(),
                "layers",
                shape.layers,
                format!(
                    "an engine's weight format encodes every tensor of every layer; at most {} layers",
                    crate::limits::MAX_LISTED_LAYERS
                ),
            ));
        }
        let tensors = shape.tensors();
        match self {
            WeightFormat::Gguf(ft) => {
                let mut state = GgufState::new(shape);
                tensors
                    .into_iter()
                    .map(|t| {
                        let e = Encoding::Ggml(gguf_tensor_type(ft, &t, shape, &mut state));
                        Ok((t, e))
                    })
                    .collect()
            }
            _ => Ok(tensors.into_iter().map(|t| (t, self.checkpoint_encoding(&t))).collect()),
        }
    }

    /// Encoding of one tensor in a non-GGUF format.
    fn checkpoint_encoding(self, t: &Tensor) -> Encoding {
        let linear = t.class.is_block_linear();
        match self {
            WeightFormat::Gguf(_) => unreachable!("GGUF formats are assigned by gguf_tensor_type"),
            WeightFormat::Dense(d) => Encoding::Dense(d),
            WeightFormat::MlcQ4f16_1 => {
                // Linear layers, experts, the embedding and the LM head are group-quantised;
                // the router (`is_moe_gate`), norms and biases stay in the model dtype.
                let quantised = linear || matches!(t.class, TensorClass::TokenEmbd | TensorClass::Output);
                if quantised {
                    Encoding::MlcGroup { bits: 4, group: 32, scale_bytes: 2 }
                } else {
                    Encoding::Dense(DType::Fp16)
                }
            }
            WeightFormat::AwqInt4G128 if linear => Encoding::AwqGemm { group: 128 },
            WeightFormat::GptqInt4G128 if linear => Encoding::GptqV1 { group: 128 },
            WeightFormat::TrtInt4AwqG128 if linear => Encoding::ModelOptAwq {
                group: 128,
                // K and V share the fused QKV projection's pre-scale, carried by Q.
                pre_quant_scale: !matches!(t.class, TensorClass::AttnK | TensorClass::AttnV),
            },
            WeightFormat::Fp8PerTensor if linear => Encoding::Fp8PerTensor,
            WeightFormat::Fp8PerChannel if linear => Encoding::Fp8PerChannel { scale_bytes: 2 },
            WeightFormat::Int8WeightOnly if linear => Encoding::Int8PerChannel,
            WeightFormat::Fp8PerChannel => Encoding::Dense(DType::Bf16),
            WeightFormat::Fp8PerTensor => Encoding::Dense(DType::Bf16),
            _ => Encoding::Dense(DType::Fp16),
        }
    }

    /// How many of `n_layers` blocks have their attn_v and their ffn_down in a larger type than
    /// the format's base type, `[attn_v, ffn_down]` (llama.cpp's K-quant mixes; zero for every
    /// other format). The set depends on the total depth, so bytes per layer are not constant:
    /// a cost linear in depth needs these counts as extra terms (docs/engines.md, 5.3). Shape
    /// rules that retype every block alike (8 experts, 70B) are not counted here.
    pub fn mixed_layers(self, n_layers: u32) -> [u32; 2] {
        let n = n_layers as i64;
        let more = (0..n).filter(|&i| use_more_bits(i, n)).count() as u32;
        match self {
            WeightFormat::Gguf(GgufFileType::Q4_K_M | GgufFileType::Q5_K_M) => [more, more],
            WeightFormat::Gguf(GgufFileType::Q4_K_S) => [n_layers.min(4), n_layers / 8],
            _ => [0, 0],
        }
    }

    /// Exact weight bytes of `shape` in this format, per tensor.
    pub fn weight_bytes(self, shape: &ModelShape) -> Result<WeightBytes> {
        let assigned = self.assign(shape)?;
        let mut tensors = Vec::with_capacity(assigned.len());
        for (t, e) in assigned {
            let bytes = e.bytes(t.rows, t.cols, t.count).map_err(|err| {
                Error::Unsupported(format!("weight format {}: tensor {}: {err}", self.name(), t.name()))
            })?;
            tensors.push(TensorBytes { tensor: t, encoding: e, bytes });
        }
        Ok(WeightBytes { format: self, layers: shape.layers, tensors })
    }
}

impl fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// llama.cpp's running counters over the tensors it has typed so far
/// (`quantize_state_impl::i_attention_wv`, `n_attention_wv`).
#[derive(Debug, Clone, Copy)]
struct GgufState {
    n_attention_wv: i64,
    i_attention_wv: i64,
    n_layer: i64,
}

impl GgufState {
    fn new(shape: &ModelShape) -> Self {
        // `init_quantize_state_counters`: one attn_v per block; the ffn counters are n_layer.
        GgufState { n_attention_wv: shape.layers as i64, i_attention_wv: 0, n_layer: shape.layers as i64 }
    }
}

/// llama.cpp's `use_more_bits`: the first and last eighth of the layers, and every third
/// layer in between. Integer division and C's truncating `%`, as in the source.
pub fn use_more_bits(i_layer: i64, n_layers: i64) -> bool {
    i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2
}

/// The ggml type llama.cpp's quantizer gives tensor `t` of a model of `shape` for file
/// type `ft`, with no importance matrix, no `--pure`, no per-tensor overrides and the
/// output tensor quantised (the `llama-quantize` defaults).
///
/// Source: ggml-org/llama.cpp src/llama-quant.cpp at commit 0c1e57098bba (2026-10-01, the one
/// vendored by llama-cpp-python 0.3.36; files quantised in Sep 2023 and with b3821 in Sep 2024
/// have exactly the sizes these rules predict, see tests/engines.rs): `tensor_allows_quantization`, `llama_tensor_get_type_impl`,
/// `tensor_type_fallback`; norms, biases (1-D tensors) and the MoE router are written F32
/// by convert_hf_to_gguf.py and never quantised. Falcon-specific branches and the
/// Q2/Q3/IQ types are not modelled.
fn gguf_tensor_type(ft: GgufFileType, t: &Tensor, shape: &ModelShape, state: &mut GgufState) -> GgmlType {
    // 1-D tensors (norms, biases) and the router: F32 in every file type.
    if t.class.is_norm() || t.class.is_bias() || t.class == TensorClass::FfnGateInp {
        return GgmlType::F32;
    }
    let default = ft.default_type();
    if !default.is_quantized() {
        // F32/F16/BF16 files: `llama_tensor_get_type` only changes types for quantised targets.
        if t.class == TensorClass::AttnV {
            state.i_attention_wv += 1;
        }
        return default;
    }
    let n_expert = shape.experts as i64;
    let mut new_type = default;
    let is_output = t.class == TensorClass::Output || (shape.tied_embeddings && t.class == TensorClass::TokenEmbd);
    if is_output {
        // Output tensor, and the token embedding when it doubles as the output (no
        // output.weight in the file): Q8_0 if the row is not whole blocks of the default
        // type, else Q6_K unless the target is Q8_0.
        let nx = t.cols;
        if !nx.is_multiple_of(default.block_elements()) {
            new_type = GgmlType::Q8_0;
        } else if new_type != GgmlType::Q8_0 {
            new_type = GgmlType::Q6_K;
        }
    } else {
        match t.class {
            TensorClass::AttnV => {
                match ft {
                    GgufFileType::Q4_K_M | GgufFileType::Q5_K_M
                        if use_more_bits(state.i_attention_wv, state.n_attention_wv) =>
                    {
                        new_type = GgmlType::Q6_K
                    }
                    GgufFileType::Q4_K_S if state.i_attention_wv < 4 => new_type = GgmlType::Q5_K,
                    _ => {}
                }
                if shape.is_llama_70b() && matches!(new_type, GgmlType::Q4_K) {
                    // 70B: attn_v is 8x smaller than attn_q, so one step up costs little.
                    new_type = GgmlType::Q5_K;
                }
                if n_expert == 8 {
                    new_type = GgmlType::Q8_0;
                }
                state.i_attention_wv += 1;
            }
            TensorClass::AttnK if n_expert == 8 => new_type = GgmlType::Q8_0,
            TensorClass::FfnDown => {
                // Dense: i_ffn_down counts ffn_down tensors = layer index; MoE: parsed from the
                // name. Both are the block index here.
                let i_layer = t.layer.unwrap_or(0) as i64;
                let n_layer = state.n_layer;
                match ft {
                    GgufFileType::Q4_K_M | GgufFileType::Q5_K_M if use_more_bits(i_layer, n_layer) => {
                        new_type = GgmlType::Q6_K
                    }
                    GgufFileType::Q4_K_S if i_layer < n_layer / 8 => new_type = GgmlType::Q5_K,
                    _ => {}
                }
            }
            TensorClass::AttnOutput if n_expert == 8 && matches!(ft, GgufFileType::Q4_K_S | GgufFileType::Q4_K_M) => {
                new_type = GgmlType::Q5_K
            }
            _ => {}
        }
    }
    gguf_fallback(new_type, t.cols)
}

/// llama.cpp `tensor_type_fallback`: a row that is not whole blocks of the chosen type
/// drops to a 32-block type of about the same size, and to F16 if even that does not fit.
fn gguf_fallback(target: GgmlType, ncols: u64) -> GgmlType {
    if ncols.is_multiple_of(target.block_elements()) {
        return target;
    }
    let fallback = match target {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q5_K => GgmlType::Q5_1,
        GgmlType::Q6_K => GgmlType::Q8_0,
        other => other,
    };
    if ncols.is_multiple_of(fallback.block_elements()) {
        fallback
    } else {
        GgmlType::F16
    }
}

/// One tensor with its encoding and exact size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorBytes {
    /// The tensor.
    pub tensor: Tensor,
    /// How it is stored.
    pub encoding: Encoding,
    /// Bytes, scales included.
    pub bytes: u64,
}

/// Bytes and weights of one tensor class (all layers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ClassBytes {
    /// Weights.
    pub elements: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Exact weight storage of one model in one format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightBytes {
    /// The format.
    pub format: WeightFormat,
    /// Blocks of the model.
    pub layers: u32,
    /// Every tensor, in llama.cpp's order.
    pub tensors: Vec<TensorBytes>,
}

impl WeightBytes {
    /// All weight bytes.
    pub fn total_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.bytes).sum()
    }

    /// All weights (elements).
    pub fn total_elements(&self) -> u64 {
        self.tensors.iter().map(|t| t.tensor.elements()).sum()
    }

    /// Mean bits per weight over the whole model.
    pub fn bits_per_weight(&self) -> f64 {
        8.0 * self.total_bytes() as f64 / self.total_elements() as f64
    }

    /// Bytes and weights per tensor class.
    pub fn by_class(&self) -> BTreeMap<TensorClass, ClassBytes> {
        let mut m: BTreeMap<TensorClass, ClassBytes> = BTreeMap::new();
        for t in &self.tensors {
            let c = m.entry(t.tensor.class).or_default();
            c.elements += t.tensor.elements();
            c.bytes += t.bytes;
        }
        m
    }

    /// Bytes of one class (0 when the model has none).
    pub fn class_bytes(&self, class: TensorClass) -> u64 {
        self.tensors.iter().filter(|t| t.tensor.class == class).map(|t| t.bytes).sum()
    }

    /// Bytes of block `layer`. Not the same for every block under llama.cpp's mixes.
    pub fn layer_bytes(&self, layer: u32) -> u64 {
        self.tensors.iter().filter(|t| t.tensor.layer == Some(layer)).map(|t| t.bytes).sum()
    }

    /// Bytes outside the blocks (embedding, LM head, final norm).
    pub fn non_layer_bytes(&self) -> u64 {
        self.tensors.iter().filter(|t| t.tensor.layer.is_none()).map(|t| t.bytes).sum()
    }

    /// Number of tensors of `class` stored with `encoding`.
    pub fn count(&self, class: TensorClass, encoding: Encoding) -> usize {
        self.tensors.iter().filter(|t| t.tensor.class == class && t.encoding == encoding).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_drops_to_a_32_block_type_then_f16() {
        // 896 = 3.5 super-blocks but 28 blocks of 32.
        assert_eq!(gguf_fallback(GgmlType::Q4_K, 896), GgmlType::Q5_0);
        assert_eq!(gguf_fallback(GgmlType::Q5_K, 896), GgmlType::Q5_1);
        assert_eq!(gguf_fallback(GgmlType::Q6_K, 896), GgmlType::Q8_0);
        // 1000 is not a multiple of 32 either: F16.
        assert_eq!(gguf_fallback(GgmlType::Q4_K, 1000), GgmlType::F16);
        assert_eq!(gguf_fallback(GgmlType::Q8_0, 1000), GgmlType::F16);
        // Whole blocks: unchanged.
        assert_eq!(gguf_fallback(GgmlType::Q4_K, 4096), GgmlType::Q4_K);
        assert_eq!(gguf_fallback(GgmlType::F16, 1000), GgmlType::F16);
    }

    #[test]
    fn untied_token_embedding_keeps_the_default_type_tied_takes_the_output_rule() {
        let mut s = ModelShape {
            layers: 1,
            hidden: 256,
            heads: 4,
            kv_heads: 4,
            head_dim: 64,
            ffn: 512,
            experts: 1,
            vocab: 100,
            tied_embeddings: false,
            qkv_bias: false,
            llama_arch: true,
        };
        let embd = |s: &ModelShape| {
            WeightFormat::Gguf(GgufFileType::Q4_K_M)
                .assign(s)
                .unwrap()
                .into_iter()
                .find(|(t, _)| t.class == TensorClass::TokenEmbd)
                .unwrap()
                .1
        };
        assert_eq!(embd(&s), Encoding::Ggml(GgmlType::Q4_K));
        s.tied_embeddings = true;
        assert_eq!(embd(&s), Encoding::Ggml(GgmlType::Q6_K));
    }
}
