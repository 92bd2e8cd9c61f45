//! Bytes per stored element of each group of weights and of the KV cache.
//!
//! Without an engine every weight is stored in the workload's `weights` type and the cache in
//! its `kv_cache` type. With an engine's weight format (a GGUF mix, an AWQ checkpoint …) each
//! tensor class has its own encoding, with block scales and zeros included, and llama.cpp's
//! K-quant mixes store some layers' `attn_v`/`ffn_down` in a larger type. The cost model is
//! linear in depth, so a format's bytes are split into a per-layer part (the marginal bytes of
//! one more block) and a fixed remainder, both exact wherever the format's count of upgraded
//! layers is affine in depth (every depth that is a multiple of 8; see
//! [`Storage::from_format`]).

use crate::architecture::Architecture;
use crate::engine::{KvCacheType, ModelShape, TensorClass, WeightFormat};
use crate::error::Result;
use crate::precision::Precision;
use serde::Serialize;

/// A deployment's storage formats: how an engine stores the weights and the KV cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Deployment {
    /// Weight format (the file or checkpoint format the engine loads).
    pub weight_format: WeightFormat,
    /// KV-cache type.
    pub kv_cache: KvCacheType,
}

/// Bytes per stored element, by the operator that reads them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Storage {
    /// Token embedding rows.
    pub embedding: f64,
    /// Q, K, V projections (biases included).
    pub qkv: f64,
    /// Attention output projection.
    pub o: f64,
    /// MoE router.
    pub router: f64,
    /// SwiGLU gate, up and down (each expert).
    pub ffn: f64,
    /// RMSNorm weights.
    pub norm: f64,
    /// LM head (the embedding when tied).
    pub lm_head: f64,
    /// Cached keys and values.
    pub kv: f64,
    /// Weight bytes that belong to no single layer's pattern (the remainder of a mix whose
    /// upgraded layers are not proportional to depth, e.g. Q4_K_S's first four `attn_v`). Read
    /// once per forward step, like the LM head.
    pub fixed_extra_bytes: f64,
}

impl Storage {
    /// A shape the format cannot store: every byte infinitely expensive, so no budget is met.
    pub const UNSTORABLE: Storage = Storage {
        embedding: f64::INFINITY,
        qkv: f64::INFINITY,
        o: f64::INFINITY,
        router: f64::INFINITY,
        ffn: f64::INFINITY,
        norm: f64::INFINITY,
        lm_head: f64::INFINITY,
        kv: f64::INFINITY,
        fixed_extra_bytes: f64::INFINITY,
    };

    /// The storage of `arch`: the deployment's formats when there is one, else the data types
    /// of `p`.
    pub fn of(deploy: Option<&Deployment>, arch: &Architecture, p: &Precision) -> Result<Storage> {
        match deploy {
            Some(d) => Storage::from_format(arch, d),
            None => Ok(Storage::from_precision(p)),
        }
    }

    /// Every weight in `p.weights`, the cache in `p.kv_cache` (today's model).
    pub fn from_precision(p: &Precision) -> Storage {
        let w = p.weights.bytes();
        Storage {
            embedding: w,
            qkv: w,
            o: w,
            router: w,
            ffn: w,
            norm: w,
            lm_head: w,
            kv: p.kv_cache.bytes(),
            fixed_extra_bytes: 0.0,
        }
    }

    /// The storage of `arch`'s width configuration under a deployment. Per-layer bytes are the
    /// marginal bytes of one block between depths 8 and 16 (llama.cpp's `use_more_bits` upgrades
    /// exactly half of the blocks at every multiple of 8, Q4_K_S a fixed four `attn_v` plus one
    /// `ffn_down` in eight); what is left at depth 8 beyond 8 such blocks is `fixed_extra_bytes`.
    /// Depth-specific shape rules (llama.cpp's 80-layer "70B" rule) are not in this linear
    /// form; [`exact_weight_bytes`] has them.
    pub fn from_format(arch: &Architecture, d: &Deployment) -> Result<Storage> {
        let at = |layers: u32| d.weight_format.weight_bytes(&model_shape(arch, layers));
        let (w8, w16) = (at(8)?, at(16)?);
        let (c8, c16) = (w8.by_class(), w16.by_class());
        let class = |classes: &[TensorClass]| -> (f64, f64) {
            let sum = |m: &std::collections::BTreeMap<TensorClass, crate::engine::ClassBytes>| -> (f64, f64) {
                classes.iter().fold((0.0, 0.0), |(b, e), c| {
                    m.get(c).map_or((b, e), |cb| (b + cb.bytes as f64, e + cb.elements as f64))
                })
            };
            let ((b8, e8), (b16, e16)) = (sum(&c8), sum(&c16));
            let per_layer_elems = (e16 - e8) / 8.0;
            if per_layer_elems > 0.0 {
                let per_layer = (b16 - b8) / 8.0;
                (per_layer / per_layer_elems, b8 - 8.0 * per_layer)
            } else if e16 > 0.0 {
                (b16 / e16, 0.0)
            } else {
                (0.0, 0.0)
            }
        };
        use TensorClass::*;
        let (qkv, qkv_fixed) = class(&[AttnQ, AttnK, AttnV, AttnQBias, AttnKBias, AttnVBias]);
        let (o, o_fixed) = class(&[AttnOutput]);
        let (router, _) = class(&[FfnGateInp]);
        let (ffn, ffn_fixed) = class(&[FfnGate, FfnUp, FfnDown]);
        let (norm, _) = class(&[AttnNorm, FfnNorm, OutputNorm]);
        let (embedding, _) = class(&[TokenEmbd]);
        let lm_head = if arch.tied_embeddings { embedding } else { class(&[Output]).0 };
        let kv_width = arch.kv_dim();
        let kv = d.kv_cache.row_bytes(kv_width)? as f64 / kv_width as f64;
        Ok(Storage {
            embedding,
            qkv,
            o,
            router,
            ffn,
            norm,
            lm_head,
            kv,
            fixed_extra_bytes: (qkv_fixed + o_fixed + ffn_fixed).max(0.0),
        })
    }
}

/// The engine module's view of an architecture at a depth.
pub fn model_shape(arch: &Architecture, layers: u32) -> ModelShape {
    ModelShape {
        layers,
        hidden: arch.hidden,
        heads: arch.heads,
        kv_heads: arch.kv_heads,
        head_dim: arch.head_dim,
        ffn: arch.ffn,
        experts: arch.experts,
        vocab: arch.vocab,
        tied_embeddings: arch.tied_embeddings,
        qkv_bias: arch.qkv_bias,
        // Qwen2-style Q/K/V biases mark a non-Llama GGUF architecture (llama.cpp's 70B rule
        // applies to LLM_ARCH_LLAMA only).
        llama_arch: !arch.qkv_bias,
    }
}

/// Exact weight bytes of `arch` at its own depth under a weight format (every layer's own
/// type, every shape rule), for reports.
pub fn exact_weight_bytes(arch: &Architecture, format: WeightFormat) -> Result<u64> {
    Ok(format.weight_bytes(&model_shape(arch, arch.layers))?.total_bytes())
}
