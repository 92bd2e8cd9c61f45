//! The weight tensors of a decoder-only transformer, named and shaped as in a GGUF file, so a
//! storage format can assign each one an encoding and count its bytes.
//!
//! [`ModelShape`] holds plain integers (not [`crate::Architecture`]) so this module stays
//! independent of the architecture module; `docs/engines.md` says how the two connect.

use crate::error::{Origin, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The dimensions that fix every weight tensor's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelShape {
    /// Transformer blocks.
    pub layers: u32,
    /// Model width d.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// Key/value heads (GQA).
    pub kv_heads: u32,
    /// Per-head dimension.
    pub head_dim: u32,
    /// FFN intermediate size per expert (SwiGLU: gate, up, down).
    pub ffn: u32,
    /// Experts per MoE block (1 = dense).
    pub experts: u32,
    /// Vocabulary size.
    pub vocab: u32,
    /// The LM head shares the token-embedding matrix (no separate output tensor).
    pub tied_embeddings: bool,
    /// Q/K/V projections carry biases (Qwen2).
    pub qkv_bias: bool,
    /// The model converts to GGUF architecture `llama` (Llama, Mistral, Mixtral, TinyLlama,
    /// SmolLM2; not Qwen2). Only llama.cpp's rule for 80-layer GQA Llama models (its
    /// `LLM_TYPE_70B`) reads it.
    pub llama_arch: bool,
}

impl ModelShape {
    /// Check every field; errors name the field, the value and what is allowed (the
    /// architecture's own rules: positive sizes, kv_heads dividing heads).
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        crate::architecture::Architecture {
            name: None,
            layers: self.layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            ffn: self.ffn,
            experts: self.experts,
            active_experts: 1,
            vocab: self.vocab,
            tied_embeddings: self.tied_embeddings,
            qkv_bias: self.qkv_bias,
        }
        .validate(origin)
    }

    /// Query projection width, heads · head_dim.
    pub fn q_width(&self) -> u64 {
        self.heads as u64 * self.head_dim as u64
    }

    /// Key (or value) projection width, kv_heads · head_dim.
    pub fn kv_width(&self) -> u64 {
        self.kv_heads as u64 * self.head_dim as u64
    }

    /// llama.cpp's `LLM_TYPE_70B`: GGUF architecture `llama`, 80 layers and grouped-query
    /// attention (llama.cpp src/llama-quant.cpp, `llama_quant_model_from_metadata`; the same
    /// test as `LLM_ARCH_LLAMA`'s layer-count switch in src/llama-model.cpp).
    pub fn is_llama_70b(&self) -> bool {
        self.llama_arch && self.layers == 80 && self.heads != self.kv_heads
    }

    /// Every weight tensor, in the order llama.cpp's model loader visits them (its
    /// `weight_name_comparer`: tensors outside blocks first, sorted by name, then block by
    /// block, sorted by name within a block). llama.cpp's layer counters depend on this order.
    pub fn tensors(&self) -> Vec<Tensor> {
        let h = self.hidden as u64;
        let e = self.experts as u64;
        let mut v = Vec::with_capacity(4 + 12 * self.layers as usize);
        let top = |class, rows, cols| Tensor { class, layer: None, rows, cols, count: 1 };
        if !self.tied_embeddings {
            v.push(top(TensorClass::Output, self.vocab as u64, h));
        }
        v.push(top(TensorClass::OutputNorm, 1, h));
        v.push(top(TensorClass::TokenEmbd, self.vocab as u64, h));
        for i in 0..self.layers {
            let t = |class, rows, cols, count| Tensor { class, layer: Some(i), rows, cols, count };
            // Sorted by GGUF name within the block: attn_k, attn_norm, attn_output, attn_q,
            // attn_v, ffn_down, ffn_gate, ffn_gate_inp, ffn_norm, ffn_up (`.bias` before `.weight`).
            if self.qkv_bias {
                v.push(t(TensorClass::AttnKBias, 1, self.kv_width(), 1));
            }
            v.push(t(TensorClass::AttnK, self.kv_width(), h, 1));
            v.push(t(TensorClass::AttnNorm, 1, h, 1));
            v.push(t(TensorClass::AttnOutput, h, self.q_width(), 1));
            if self.qkv_bias {
                v.push(t(TensorClass::AttnQBias, 1, self.q_width(), 1));
            }
            v.push(t(TensorClass::AttnQ, self.q_width(), h, 1));
            if self.qkv_bias {
                v.push(t(TensorClass::AttnVBias, 1, self.kv_width(), 1));
            }
            v.push(t(TensorClass::AttnV, self.kv_width(), h, 1));
            v.push(t(TensorClass::FfnDown, h, self.ffn as u64, e));
            v.push(t(TensorClass::FfnGate, self.ffn as u64, h, e));
            if self.experts > 1 {
                v.push(t(TensorClass::FfnGateInp, e, h, 1));
            }
            v.push(t(TensorClass::FfnNorm, 1, h, 1));
            v.push(t(TensorClass::FfnUp, self.ffn as u64, h, e));
        }
        v
    }
}

/// What a weight tensor is, independent of the layer it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorClass {
    /// Token embedding matrix (vocab × hidden).
    TokenEmbd,
    /// Untied LM head (vocab × hidden).
    Output,
    /// Final RMSNorm weight.
    OutputNorm,
    /// RMSNorm weight before attention.
    AttnNorm,
    /// Query projection.
    AttnQ,
    /// Key projection.
    AttnK,
    /// Value projection.
    AttnV,
    /// Query bias.
    AttnQBias,
    /// Key bias.
    AttnKBias,
    /// Value bias.
    AttnVBias,
    /// Attention output projection.
    AttnOutput,
    /// RMSNorm weight before the FFN.
    FfnNorm,
    /// MoE router (experts × hidden).
    FfnGateInp,
    /// SwiGLU gate projection (all experts).
    FfnGate,
    /// SwiGLU up projection (all experts).
    FfnUp,
    /// SwiGLU down projection (all experts).
    FfnDown,
}

impl TensorClass {
    /// Every class, in display order.
    pub const ALL: [TensorClass; 16] = [
        TensorClass::TokenEmbd,
        TensorClass::Output,
        TensorClass::OutputNorm,
        TensorClass::AttnNorm,
        TensorClass::AttnQ,
        TensorClass::AttnK,
        TensorClass::AttnV,
        TensorClass::AttnQBias,
        TensorClass::AttnKBias,
        TensorClass::AttnVBias,
        TensorClass::AttnOutput,
        TensorClass::FfnNorm,
        TensorClass::FfnGateInp,
        TensorClass::FfnGate,
        TensorClass::FfnUp,
        TensorClass::FfnDown,
    ];

    /// GGUF tensor name stem (`blk.N.` prefix and `.weight`/`.bias` suffix left out).
    pub fn gguf_name(self) -> &'static str {
        match self {
            TensorClass::TokenEmbd => "token_embd",
            TensorClass::Output => "output",
            TensorClass::OutputNorm => "output_norm",
            TensorClass::AttnNorm => "attn_norm",
            TensorClass::AttnQ | TensorClass::AttnQBias => "attn_q",
            TensorClass::AttnK | TensorClass::AttnKBias => "attn_k",
            TensorClass::AttnV | TensorClass::AttnVBias => "attn_v",
            TensorClass::AttnOutput => "attn_output",
            TensorClass::FfnNorm => "ffn_norm",
            TensorClass::FfnGateInp => "ffn_gate_inp",
            TensorClass::FfnGate => "ffn_gate",
            TensorClass::FfnUp => "ffn_up",
            TensorClass::FfnDown => "ffn_down",
        }
    }

    /// A bias vector.
    pub fn is_bias(self) -> bool {
        matches!(self, TensorClass::AttnQBias | TensorClass::AttnKBias | TensorClass::AttnVBias)
    }

    /// A norm weight vector.
    pub fn is_norm(self) -> bool {
        matches!(self, TensorClass::AttnNorm | TensorClass::FfnNorm | TensorClass::OutputNorm)
    }

    /// A projection inside a transformer block (what weight-only quantisers such as AWQ,
    /// GPTQ and FP8 checkpoints quantise): Q, K, V, O, gate, up, down. Not the router.
    pub fn is_block_linear(self) -> bool {
        matches!(
            self,
            TensorClass::AttnQ
                | TensorClass::AttnK
                | TensorClass::AttnV
                | TensorClass::AttnOutput
                | TensorClass::FfnGate
                | TensorClass::FfnUp
                | TensorClass::FfnDown
        )
    }
}

impl fmt::Display for TensorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.is_bias() { ".bias" } else { "" };
        write!(f, "{}{suffix}", self.gguf_name())
    }
}

/// One weight tensor: `count` matrices of `rows` × `cols`, `cols` being the contiguous
/// dimension (GGUF `ne[0]`, the input features of a projection), along which block and
/// group quantisers form their blocks. Vectors have `rows` = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Tensor {
    /// What it is.
    pub class: TensorClass,
    /// Block index, `None` outside blocks.
    pub layer: Option<u32>,
    /// Output features (GGUF `ne[1]`).
    pub rows: u64,
    /// Input features, the contiguous dimension (GGUF `ne[0]`).
    pub cols: u64,
    /// Matrices stacked in this tensor (experts of a merged MoE tensor; else 1).
    pub count: u64,
}

impl Tensor {
    /// Number of weights.
    pub fn elements(&self) -> u64 {
        self.rows * self.cols * self.count
    }

    /// GGUF-style name, e.g. `blk.3.attn_v.weight`.
    pub fn name(&self) -> String {
        let kind = if self.class.is_bias() { "bias" } else { "weight" };
        let exps = if self.count > 1 { "_exps" } else { "" };
        match self.layer {
            Some(i) => format!("blk.{i}.{}{exps}.{kind}", self.class.gguf_name()),
            None => format!("{}.{kind}", self.class.gguf_name()),
        }
    }
}
