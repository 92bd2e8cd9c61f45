//! Variables a law can read: architecture quantities, parameter counts and data quantities.

use crate::architecture::Architecture;

/// A law variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Var {
    /// Depth l.
    Layers,
    /// Width d.
    Hidden,
    /// FFN ratio r = K·ffn/d.
    FfnRatio,
    /// Sparsity ρ = K/E.
    Rho,
    /// d_m = kv_heads·head_dim.
    DM,
    /// n_h / n_kv.
    Gqa,
    /// Query heads.
    Heads,
    /// KV heads.
    KvHeads,
    /// Head dimension.
    HeadDim,
    /// FFN size per expert.
    Ffn,
    /// Experts E.
    Experts,
    /// Active experts K.
    ActiveExperts,
    /// Vocabulary.
    Vocab,
    /// Total parameters N.
    Params,
    /// Active parameters per token.
    ActiveParams,
    /// Non-embedding parameters.
    NonEmbeddingParams,
    /// Training tokens D.
    Tokens,
}

/// All variables, in index order.
pub const ALL_VARS: [Var; 17] = [
    Var::Layers,
    Var::Hidden,
    Var::FfnRatio,
    Var::Rho,
    Var::DM,
    Var::Gqa,
    Var::Heads,
    Var::KvHeads,
    Var::HeadDim,
    Var::Ffn,
    Var::Experts,
    Var::ActiveExperts,
    Var::Vocab,
    Var::Params,
    Var::ActiveParams,
    Var::NonEmbeddingParams,
    Var::Tokens,
];

impl Var {
    /// Canonical name (law files, CSV columns).
    pub fn name(self) -> &'static str {
        match self {
            Var::Layers => "layers",
            Var::Hidden => "hidden",
            Var::FfnRatio => "ffn_ratio",
            Var::Rho => "rho",
            Var::DM => "d_m",
            Var::Gqa => "gqa",
            Var::Heads => "heads",
            Var::KvHeads => "kv_heads",
            Var::HeadDim => "head_dim",
            Var::Ffn => "ffn",
            Var::Experts => "experts",
            Var::ActiveExperts => "active_experts",
            Var::Vocab => "vocab",
            Var::Params => "params",
            Var::ActiveParams => "active_params",
            Var::NonEmbeddingParams => "non_embedding_params",
            Var::Tokens => "tokens",
        }
    }
    /// What the variable is, for people (warnings: "the law now ignores …").
    pub fn meaning(self) -> &'static str {
        match self {
            Var::Layers => "depth (layers)",
            Var::Hidden => "width (hidden)",
            Var::FfnRatio => "the FFN ratio (ffn_ratio = K·ffn/hidden)",
            Var::Rho => "expert sparsity (rho = active/total experts)",
            Var::DM => "the KV heads (d_m = kv_heads × head_dim)",
            Var::Gqa => "grouped-query sharing (gqa = heads/kv_heads)",
            Var::Heads => "the query heads (heads)",
            Var::KvHeads => "the KV heads (kv_heads)",
            Var::HeadDim => "the head dimension (head_dim)",
            Var::Ffn => "the FFN size (ffn)",
            Var::Experts => "the number of experts (experts)",
            Var::ActiveExperts => "the active experts (active_experts)",
            Var::Vocab => "the vocabulary (vocab)",
            Var::Params => "the parameter count (params)",
            Var::ActiveParams => "the active parameter count (active_params)",
            Var::NonEmbeddingParams => "the non-embedding parameter count (non_embedding_params)",
            Var::Tokens => "the training tokens (tokens)",
        }
    }
    /// Parse a name or a common alias (l, d, r, N, D, …).
    pub fn parse(s: &str) -> Option<Var> {
        let v = match s {
            "l" | "depth" => Var::Layers,
            "d" | "width" | "d_model" => Var::Hidden,
            "r" => Var::FfnRatio,
            "ρ" | "sparsity" => Var::Rho,
            "N" | "n_params" | "total_params" => Var::Params,
            "D" | "training_tokens" => Var::Tokens,
            other => return ALL_VARS.iter().copied().find(|v| v.name() == other),
        };
        Some(v)
    }
    /// Index into [`LawInputs::values`].
    pub fn index(self) -> usize {
        self as usize
    }
    /// Changes with depth (layers itself, or a parameter count).
    pub fn depends_on_depth(self) -> bool {
        matches!(self, Var::Layers | Var::Params | Var::ActiveParams | Var::NonEmbeddingParams)
    }
}

/// Values of every variable for one design (NaN where unknown, e.g. tokens not given).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LawInputs {
    /// Indexed by [`Var::index`].
    pub values: [f64; 17],
}

impl LawInputs {
    /// All NaN.
    pub fn unknown() -> Self {
        LawInputs { values: [f64::NAN; 17] }
    }
    /// Value of a variable.
    #[inline]
    pub fn get(&self, v: Var) -> f64 {
        self.values[v as usize]
    }
    /// Set a variable.
    #[inline]
    pub fn set(&mut self, v: Var, x: f64) {
        self.values[v as usize] = x;
    }
    /// Every quantity of an architecture, plus training tokens if known.
    pub fn from_arch(a: &Architecture, tokens: Option<f64>) -> Self {
        let p = a.params();
        let mut x = LawInputs::unknown();
        x.set(Var::Layers, a.layers as f64);
        x.set(Var::Hidden, a.hidden as f64);
        x.set(Var::FfnRatio, a.ffn_ratio());
        x.set(Var::Rho, a.sparsity());
        x.set(Var::DM, a.d_m());
        x.set(Var::Gqa, a.gqa());
        x.set(Var::Heads, a.heads as f64);
        x.set(Var::KvHeads, a.kv_heads as f64);
        x.set(Var::HeadDim, a.head_dim as f64);
        x.set(Var::Ffn, a.ffn as f64);
        x.set(Var::Experts, a.experts as f64);
        x.set(Var::ActiveExperts, a.active_experts as f64);
        x.set(Var::Vocab, a.vocab as f64);
        x.set(Var::Params, p.total as f64);
        x.set(Var::ActiveParams, p.active as f64);
        x.set(Var::NonEmbeddingParams, p.non_embedding as f64);
        x.set(Var::Tokens, tokens.unwrap_or(f64::NAN));
        x
    }
}
