//! Decoder-only transformer architectures: fields, validation, derived quantities of the
//! paper and exact parameter counts.
//!
//! Counting convention (matches `sum(p.numel() for p in model.parameters())` in PyTorch /
//! Hugging Face for the Llama, Qwen2, Mistral and Mixtral families): token embedding,
//! LM head unless tied, per layer Q/K/V/O (Q/K/V biases where `qkv_bias`), two RMSNorm
//! weight vectors, SwiGLU (gate, up, down) per expert, a bias-free router when experts > 1,
//! and the final RMSNorm. Rotary embeddings have no parameters.

pub mod hf;
mod load;

pub use hf::{arch_from_hf, to_hf_config, HfOptions};
pub use load::{load_arch, parse_arch_str, preset_dir, preset_names, ArchFile};

use crate::error::{Error, Origin, Result};
use serde::{Deserialize, Serialize};

/// One architecture. Build with [`Architecture::new`] or load with [`load_arch`]; call
/// [`Architecture::validate`] before use (loaders do).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Architecture {
    /// Display name (preset or file stem); not part of the design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of transformer blocks l.
    pub layers: u32,
    /// Model width d.
    pub hidden: u32,
    /// Query heads n_h.
    pub heads: u32,
    /// Key/value heads n_kv (GQA); equal to `heads` for MHA.
    pub kv_heads: u32,
    /// Per-head dimension; hidden/heads unless a model (e.g. Gemma) sets it otherwise.
    pub head_dim: u32,
    /// FFN intermediate size per expert.
    pub ffn: u32,
    /// Experts E (1 = dense).
    pub experts: u32,
    /// Experts active per token K.
    pub active_experts: u32,
    /// Vocabulary size V.
    pub vocab: u32,
    /// LM head shares the embedding matrix.
    pub tied_embeddings: bool,
    /// Q/K/V projections carry biases (Qwen2).
    pub qkv_bias: bool,
}

/// Parameter counts of an architecture (elements, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamCounts {
    /// Every parameter, all experts.
    pub total: u64,
    /// Token embedding matrix.
    pub embedding: u64,
    /// LM head matrix (0 when tied).
    pub lm_head: u64,
    /// total − embedding − untied LM head.
    pub non_embedding: u64,
    /// Parameters touched per token: total less the inactive experts.
    pub active: u64,
    /// Parameters of one transformer block (all experts).
    pub per_layer: u64,
}

/// The largest parameter count an architecture may have (10¹⁵, ~1000× the largest models
/// trained): parameter counts stay exact in `u64` below it.
pub const MAX_PARAMS: f64 = 1e15;

impl Architecture {
    /// A dense MHA architecture with head_dim = hidden/heads, untied, no bias; adjust
    /// fields afterwards for GQA, MoE etc.
    pub fn new(layers: u32, hidden: u32, heads: u32, ffn: u32, vocab: u32) -> Self {
        Architecture {
            name: None,
            layers,
            hidden,
            heads,
            kv_heads: heads,
            head_dim: hidden.checked_div(heads).unwrap_or(0),
            ffn,
            experts: 1,
            active_experts: 1,
            vocab,
            tied_embeddings: false,
            qkv_bias: false,
        }
    }

    /// Check every field; errors name the field, value and what is allowed.
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        let pos = |field: &str, v: u32| -> Result<()> {
            if v == 0 {
                Err(Error::invalid(origin, field, v, "must be a positive integer"))
            } else {
                Ok(())
            }
        };
        pos("layers", self.layers)?;
        pos("hidden", self.hidden)?;
        pos("heads", self.heads)?;
        pos("kv_heads", self.kv_heads)?;
        pos("head_dim", self.head_dim)?;
        pos("ffn", self.ffn)?;
        pos("experts", self.experts)?;
        pos("active_experts", self.active_experts)?;
        pos("vocab", self.vocab)?;
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(Error::invalid(
                origin,
                "kv_heads",
                self.kv_heads,
                format!("must divide heads = {} (grouped-query attention)", self.heads),
            ));
        }
        if self.active_experts > self.experts {
            return Err(Error::invalid(
                origin,
                "active_experts",
                self.active_experts,
                format!("must be at most experts = {}", self.experts),
            ));
        }
        // Parameter counts are exact integers (u64): a shape whose count is beyond any model
        // would overflow them. Every partial sum is part of the total, so bounding the total
        // (computed in floating point) keeps all of them exact.
        let (d, q, kv) = (self.hidden as f64, self.q_dim() as f64, self.kv_dim() as f64);
        let e = self.experts as f64;
        let layer = 2.0 * d * q + 2.0 * d * kv + 3.0 * (q + 2.0 * kv) + e * (3.0 * d * self.ffn as f64 + d) + 2.0 * d;
        let total = self.layers as f64 * layer + 2.0 * self.vocab as f64 * d + d;
        if total > MAX_PARAMS {
            return Err(Error::invalid(
                origin,
                "params",
                format!(
                    "{total:.3e} (layers {}, hidden {}, ffn {}, experts {}, vocab {})",
                    self.layers, self.hidden, self.ffn, self.experts, self.vocab
                ),
                format!(
                    "at most {MAX_PARAMS:.0e} parameters (exact counts would overflow): check layers, hidden, \
                     heads × head_dim, ffn, experts and vocab"
                ),
            ));
        }
        Ok(())
    }

    /// Query projection width n_h · head_dim.
    pub fn q_dim(&self) -> u64 {
        self.heads as u64 * self.head_dim as u64
    }
    /// K (or V) projection width d_m = n_kv · head_dim.
    pub fn kv_dim(&self) -> u64 {
        self.kv_heads as u64 * self.head_dim as u64
    }
    /// Paper's d_m = n_kv · head_dim (= d/gqa when head_dim = d/n_h).
    pub fn d_m(&self) -> f64 {
        self.kv_dim() as f64
    }
    /// Paper's FFN ratio r = K · ffn / d (active FFN width per token over d).
    pub fn ffn_ratio(&self) -> f64 {
        self.active_experts as f64 * self.ffn as f64 / self.hidden as f64
    }
    /// Paper's sparsity ρ = K / E (1 for dense).
    pub fn sparsity(&self) -> f64 {
        self.active_experts as f64 / self.experts as f64
    }
    /// GQA ratio n_h / n_kv.
    pub fn gqa(&self) -> f64 {
        self.heads as f64 / self.kv_heads as f64
    }
    /// True when experts > 1.
    pub fn is_moe(&self) -> bool {
        self.experts > 1
    }

    /// Parameters of one block's attention (Q, K, V, O and Q/K/V biases).
    pub fn attention_params(&self) -> u64 {
        let d = self.hidden as u64;
        let (q, kv) = (self.q_dim(), self.kv_dim());
        let bias = if self.qkv_bias { q + 2 * kv } else { 0 };
        d * q + 2 * d * kv + q * d + bias
    }
    /// Parameters of one SwiGLU expert (gate, up, down).
    pub fn expert_params(&self) -> u64 {
        3 * self.hidden as u64 * self.ffn as u64
    }
    /// Router parameters of one block (bias-free linear d → E; none when dense).
    pub fn router_params(&self) -> u64 {
        if self.is_moe() {
            self.hidden as u64 * self.experts as u64
        } else {
            0
        }
    }
    /// Parameters of one transformer block, all experts.
    pub fn layer_params(&self) -> u64 {
        self.attention_params()
            + self.experts as u64 * self.expert_params()
            + self.router_params()
            + 2 * self.hidden as u64
    }

    /// Exact parameter counts.
    pub fn params(&self) -> ParamCounts {
        let d = self.hidden as u64;
        let embedding = self.vocab as u64 * d;
        let lm_head = if self.tied_embeddings { 0 } else { embedding };
        let per_layer = self.layer_params();
        let total = embedding + lm_head + self.layers as u64 * per_layer + d;
        let inactive = self.layers as u64 * (self.experts - self.active_experts) as u64 * self.expert_params();
        ParamCounts {
            total,
            embedding,
            lm_head,
            non_embedding: total - embedding - lm_head,
            active: total - inactive,
            per_layer,
        }
    }

    /// Short human label, e.g. `l16-d2048-h32/8x64-f8192-E8K2-V128256`.
    pub fn label(&self) -> String {
        let moe = if self.is_moe() { format!("-E{}K{}", self.experts, self.active_experts) } else { String::new() };
        format!(
            "l{}-d{}-h{}/{}x{}-f{}{}-V{}{}",
            self.layers,
            self.hidden,
            self.heads,
            self.kv_heads,
            self.head_dim,
            self.ffn,
            moe,
            self.vocab,
            if self.tied_embeddings { "-tied" } else { "" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qwen05() -> Architecture {
        Architecture {
            name: None,
            layers: 24,
            hidden: 896,
            heads: 14,
            kv_heads: 2,
            head_dim: 64,
            ffn: 4864,
            experts: 1,
            active_experts: 1,
            vocab: 151_936,
            tied_embeddings: true,
            qkv_bias: true,
        }
    }

    #[test]
    fn qwen25_05b_by_hand() {
        // embedding 151936·896 = 136,134,656; per layer: q,o 896·896 each, k,v 896·128
        // each, biases 896+128+128, norms 2·896, SwiGLU 3·896·4864 = 14,912,384;
        // 24 layers = 357,897,216; + final norm 896 → 494,032,768 (published count).
        let p = qwen05().params();
        assert_eq!(p.per_layer, 14_912_384);
        assert_eq!(p.embedding, 136_134_656);
        assert_eq!(p.total, 494_032_768);
        assert_eq!(p.non_embedding, 494_032_768 - 136_134_656);
        assert_eq!(p.active, p.total);
    }

    #[test]
    fn derived_quantities() {
        let a = qwen05();
        assert_eq!(a.d_m(), 128.0);
        assert_eq!(a.gqa(), 7.0);
        assert!((a.ffn_ratio() - 4864.0 / 896.0).abs() < 1e-12);
        assert_eq!(a.sparsity(), 1.0);
    }

    #[test]
    fn validation_names_field() {
        let mut a = qwen05();
        a.kv_heads = 3;
        let e = a.validate(&Origin::file("x.toml")).unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("kv_heads") && e.contains('3') && e.contains("divide"), "{e}");
        let mut a = qwen05();
        a.layers = 0;
        assert!(a.validate(&Origin::default()).unwrap_err().to_string().contains("layers"));
        let mut a = qwen05();
        a.experts = 8;
        a.active_experts = 9;
        assert!(a.validate(&Origin::default()).unwrap_err().to_string().contains("active_experts"));
    }
}
