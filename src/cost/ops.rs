//! The operator list of one forward step, with FLOPs and bytes as affine functions of the
//! number of cached positions c, so a decode sweep over c sums in closed form.

use crate::architecture::Architecture;
use crate::cost::storage::Storage;
use crate::hardware::{AttentionKernel, OpClass};
use crate::precision::Precision;
use serde::Serialize;

/// a + b·c, c = cached positions before the step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Affine {
    /// Value at c = 0.
    pub a: f64,
    /// Slope in c.
    pub b: f64,
}

impl Affine {
    /// Constant.
    pub const fn k(a: f64) -> Self {
        Affine { a, b: 0.0 }
    }
    /// Value at c.
    #[inline]
    pub fn at(&self, c: f64) -> f64 {
        self.a + self.b * c
    }
    fn scale(self, s: f64) -> Self {
        Affine { a: self.a * s, b: self.b * s }
    }
    fn add(self, o: Affine) -> Self {
        Affine { a: self.a + o.a, b: self.b + o.b }
    }
}

/// Which operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Token embedding gather.
    Embedding,
    /// Residual add + RMSNorm before attention.
    AttnNorm,
    /// Fused Q/K/V projection.
    QkvProj,
    /// Rotary position embedding on Q and K.
    Rope,
    /// Writing new K/V into the cache.
    KvWrite,
    /// Fused attention (scores, softmax, weighted sum) over the cache.
    Attention,
    /// Unfused Q·Kᵀ.
    AttnScores,
    /// Unfused softmax.
    Softmax,
    /// Unfused scores·V.
    AttnValues,
    /// Output projection.
    OProj,
    /// Residual add + RMSNorm before the FFN.
    FfnNorm,
    /// MoE router.
    Router,
    /// SwiGLU matrices (all active experts).
    Ffn,
    /// SiLU(gate)·up.
    FfnAct,
    /// Final RMSNorm.
    FinalNorm,
    /// Output projection to the vocabulary.
    LmHead,
}

impl OpKind {
    /// snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Embedding => "embedding",
            OpKind::AttnNorm => "attn_norm",
            OpKind::QkvProj => "qkv_proj",
            OpKind::Rope => "rope",
            OpKind::KvWrite => "kv_write",
            OpKind::Attention => "attention",
            OpKind::AttnScores => "attn_scores",
            OpKind::Softmax => "softmax",
            OpKind::AttnValues => "attn_values",
            OpKind::OProj => "o_proj",
            OpKind::FfnNorm => "ffn_norm",
            OpKind::Router => "router",
            OpKind::Ffn => "ffn",
            OpKind::FfnAct => "ffn_act",
            OpKind::FinalNorm => "final_norm",
            OpKind::LmHead => "lm_head",
        }
    }
}

/// One operator of a forward step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Op {
    /// Which operator.
    pub kind: OpKind,
    /// Efficiency class.
    pub class: OpClass,
    /// Repeated once per layer (else once per step).
    pub per_layer: bool,
    /// Floating-point (or integer) operations.
    pub flops: Affine,
    /// Bytes moved to/from memory.
    pub bytes: Affine,
}

/// Which cost terms to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every operator, activations traffic, embeddings, LM head, norms.
    #[default]
    Full,
    /// The paper's model: per-layer projections, SwiGLU and unfused attention only;
    /// weight and KV traffic only; no embeddings, LM head, norms, router or overheads.
    Paper,
}

/// Expected number of distinct experts touched when `tokens` tokens each pick `k` of `e`
/// experts uniformly without replacement: e·(1 − (1 − k/e)^tokens).
pub fn expected_distinct_experts(e: u32, k: u32, tokens: f64) -> f64 {
    if e <= 1 {
        return 1.0;
    }
    let e = e as f64;
    e * (1.0 - (1.0 - k as f64 / e).powf(tokens))
}

/// Shapes of one step: `batch` sequences, `new_tokens` new tokens each.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Sequences B.
    pub batch: f64,
    /// New tokens per sequence T (S_in for prefill, 1 for decode).
    pub new_tokens: f64,
}

/// Build the operator list of one step. Capacity is fixed so the list lives on the stack.
pub fn step_ops(
    arch: &Architecture,
    p: &Precision,
    s: &Storage,
    step: Step,
    mode: Mode,
    attention: AttentionKernel,
    out: &mut OpList,
) {
    out.len = 0;
    let full = mode == Mode::Full;
    let attention = if full { attention } else { AttentionKernel::Unfused };
    let kb = s.kv;
    // The paper counts weight and KV traffic only; full mode also moves activations.
    let ab = if full { p.activation_bytes() } else { 0.0 };
    let (b, t) = (step.batch, step.new_tokens);
    let n = b * t;
    let d = arch.hidden as f64;
    let q = arch.q_dim() as f64;
    let kv = arch.kv_dim() as f64;
    let f = arch.ffn as f64;
    let h = arch.heads as f64;
    let hd = arch.head_dim as f64;
    let v = arch.vocab as f64;
    let (e, k) = (arch.experts, arch.active_experts);
    let pairs = causal_pairs(t);
    // Keys each query row can see at most (the cache plus the new tokens): c + T.
    let keys = Affine { a: t, b: 1.0 };
    let c = Affine::k;
    let mut push = |kind, class, per_layer, flops: Affine, bytes: Affine| {
        out.ops[out.len] = Op { kind, class, per_layer, flops, bytes };
        out.len += 1;
    };
    use OpClass::{Elementwise, Gemm};
    use OpKind::*;
    let norm = |n: f64| (c(4.0 * n * d), c(3.0 * n * d * ab + d * s.norm));
    if full {
        push(Embedding, Elementwise, false, c(0.0), c(n * d * (s.embedding + ab)));
        let (fl, by) = norm(n);
        push(AttnNorm, Elementwise, true, fl, by);
    }
    let qkv_w = d * (q + 2.0 * kv) + if arch.qkv_bias { q + 2.0 * kv } else { 0.0 };
    push(QkvProj, Gemm, true, c(2.0 * n * d * (q + 2.0 * kv)), c(qkv_w * s.qkv + n * (d + q + 2.0 * kv) * ab));
    if full {
        push(Rope, Elementwise, true, c(6.0 * n * (q + kv)), c(2.0 * n * (q + kv) * ab));
        push(KvWrite, Elementwise, true, c(0.0), c(n * 2.0 * kv * (ab + kb)));
    }
    let kv_read = keys.scale(b * 2.0 * kv * kb);
    match attention {
        AttentionKernel::Fused => {
            push(
                OpKind::Attention,
                OpClass::Attention,
                true,
                pairs.scale(b * h * (4.0 * hd + 5.0)),
                kv_read.add(c(2.0 * n * q * ab)),
            );
        }
        AttentionKernel::Unfused => {
            // Materialised scores cover the full T × (c + T) rectangle (masked entries too).
            let scores = keys.scale(b * h * t * p.activation_bytes());
            let half_kv = keys.scale(b * kv * kb);
            push(
                AttnScores,
                OpClass::Attention,
                true,
                pairs.scale(2.0 * b * h * hd),
                half_kv.add(scores).add(c(n * q * ab)),
            );
            push(Softmax, OpClass::Attention, true, pairs.scale(5.0 * b * h), scores.scale(2.0));
            push(
                AttnValues,
                OpClass::Attention,
                true,
                pairs.scale(2.0 * b * h * hd),
                half_kv.add(scores).add(c(n * q * ab)),
            );
        }
    }
    push(OProj, Gemm, true, c(2.0 * n * q * d), c(q * d * s.o + n * (q + d) * ab));
    if full {
        let (fl, by) = norm(n);
        push(FfnNorm, Elementwise, true, fl, by);
        if e > 1 {
            let ef = e as f64;
            push(Router, OpClass::Moe, true, c(2.0 * n * d * ef), c(d * ef * s.router + n * (d + ef) * ab));
        }
    }
    let kf = k as f64;
    let loaded = expected_distinct_experts(e, k, n);
    let ffn_class = if e > 1 { OpClass::Moe } else { Gemm };
    push(
        Ffn,
        ffn_class,
        true,
        c(6.0 * n * kf * d * f),
        c(loaded * 3.0 * d * f * s.ffn + n * kf * (2.0 * d + 3.0 * f) * ab),
    );
    if full {
        push(FfnAct, Elementwise, true, c(4.0 * n * kf * f), c(3.0 * n * kf * f * ab));
        push(FinalNorm, Elementwise, false, c(4.0 * n * d), c(3.0 * n * d * ab + d * s.norm));
        // Logits for the last position of each sequence only, written in fp32.
        push(
            LmHead,
            Gemm,
            false,
            c(2.0 * b * d * v),
            c(v * d * s.lm_head + s.fixed_extra_bytes + b * d * ab + 4.0 * b * v),
        );
    }
}

/// Causal (query, key) pairs per sequence of a step of `t` new tokens, as an affine function
/// of the cached positions c: Σ_{i=1..t} (c + i) = t·c + t(t+1)/2.
pub fn causal_pairs(t: f64) -> Affine {
    Affine { a: t * (t + 1.0) / 2.0, b: t }
}

/// Output rows of the matrix-vector products of a step that runs them as vector kernels
/// (see [`crate::hardware::Overhead::per_gemv_row_ms`]): (per block, once per step). Per
/// block: Q, K and V (q_dim + 2·kv_dim), O (hidden), and per active expert gate, up and down
/// (2·ffn + hidden), plus the router (experts) in a mixture-of-experts block; per step: the
/// LM head (vocab). 0 when the step has more tokens than the vector kernels take.
pub fn gemv_rows(arch: &Architecture, step_tokens: f64) -> (f64, f64) {
    if step_tokens > crate::hardware::VECTOR_KERNEL_MAX_TOKENS {
        return (0.0, 0.0);
    }
    let (h, f) = (arch.hidden as f64, arch.ffn as f64);
    let router = if arch.is_moe() { arch.experts as f64 } else { 0.0 };
    let per_layer =
        arch.q_dim() as f64 + 2.0 * arch.kv_dim() as f64 + h + arch.active_experts as f64 * (2.0 * f + h) + router;
    (per_layer, arch.vocab as f64)
}

/// Longest operator list: 16 kinds.
pub const MAX_OPS: usize = 16;

/// A fixed-capacity operator list (no heap allocation in the evaluation loop).
#[derive(Debug, Clone, Copy)]
pub struct OpList {
    ops: [Op; MAX_OPS],
    len: usize,
}

impl Default for OpList {
    fn default() -> Self {
        let z = Op {
            kind: OpKind::Embedding,
            class: OpClass::Elementwise,
            per_layer: false,
            flops: Affine::k(0.0),
            bytes: Affine::k(0.0),
        };
        OpList { ops: [z; MAX_OPS], len: 0 }
    }
}

impl OpList {
    /// The operators.
    pub fn as_slice(&self) -> &[Op] {
        &self.ops[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_experts_limits() {
        assert!((expected_distinct_experts(8, 2, 1.0) - 2.0).abs() < 1e-12);
        assert!((expected_distinct_experts(8, 1, 1e6) - 8.0).abs() < 1e-9);
        // Two tokens, top-1 of 8: 8·(1 − (7/8)²) = 1.875.
        assert!((expected_distinct_experts(8, 1, 2.0) - 1.875).abs() < 1e-12);
        assert_eq!(expected_distinct_experts(1, 1, 5.0), 1.0);
    }
}
