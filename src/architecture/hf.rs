//! Hugging Face `config.json`, both ways: [`arch_from_hf`] reads the llama, qwen2, mistral
//! and mixtral families; [`to_hf_config`] writes an architecture as the family that holds it
//! exactly, so that reading the written file gives the same architecture (and parameter
//! count) back and transformers' `AutoConfig` loads it.
//!
//! Which family a design is written as follows its structure (every family below has
//! bias-free SwiGLU, RMSNorm and rotary embeddings, as colaw's count assumes):
//!
//! | experts | Q/K/V bias | family | class |
//! |---|---|---|---|
//! | 1 | no | `llama` | `LlamaForCausalLM` |
//! | 1 | yes | `qwen2` | `Qwen2ForCausalLM` |
//! | > 1 | no | `mixtral` | `MixtralForCausalLM` |
//! | > 1 | yes | refused | Mixtral has no attention biases; Qwen2-MoE always adds a shared expert and its gate, which colaw's architectures do not have |
//!
//! Llama's own `attention_bias` is not used for Q/K/V biases because it also puts a bias on
//! the output projection.

use super::load::{RawArch, HF_NAMES};
use super::Architecture;
use crate::error::{Error, Origin, Result};
use serde_json::{json, Value};

/// Model types whose config.json colaw reads, and what they imply.
const HF_MODEL_TYPES: &str = "llama, qwen2, mistral, mixtral";

fn hf_int(v: &Value, key: &str, origin: &Origin) -> Result<Option<i64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_i64().map(Some).ok_or_else(|| Error::invalid(origin, key, x, "must be an integer")),
    }
}

fn hf_req(v: &Value, key: &str, origin: &Origin) -> Result<i64> {
    hf_int(v, key, origin)?
        .ok_or_else(|| Error::missing(origin, key, "a Hugging Face config.json of this model_type must set it"))
}

fn hf_bool(v: &Value, key: &str, origin: &Origin, default: bool) -> Result<bool> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(x) => Err(Error::invalid(origin, key, x, "must be true or false")),
    }
}

/// Read a Hugging Face `config.json` value. Unknown keys are ignored.
pub fn arch_from_hf(v: &Value, origin: &Origin) -> Result<Architecture> {
    let mt = v
        .get("model_type")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::missing(origin, "model_type", format!("expected one of {HF_MODEL_TYPES}")))?;
    // Defaults follow each transformers config class: Llama/Mistral/Mixtral untie the LM head
    // by default, Qwen2 always has Q/K/V biases.
    let (qkv_bias, moe) = match mt {
        "llama" => (hf_bool(v, "attention_bias", origin, false)?, false),
        "mistral" => (false, false),
        "qwen2" => (true, false),
        "mixtral" => (false, true),
        other => {
            return Err(Error::invalid(
                origin,
                "model_type",
                format!("\"{other}\""),
                format!("one of {HF_MODEL_TYPES}"),
            ))
        }
    };
    if mt == "llama" && hf_bool(v, "mlp_bias", origin, false)? {
        return Err(Error::invalid(origin, "mlp_bias", true, "colaw models bias-free SwiGLU; must be false"));
    }
    let (experts, active) = if moe {
        (Some(hf_req(v, "num_local_experts", origin)?), Some(hf_req(v, "num_experts_per_tok", origin)?))
    } else {
        (None, None)
    };
    let name = v.get("_name_or_path").and_then(Value::as_str).map(str::to_string).or_else(|| origin.file.clone());
    RawArch {
        name,
        layers: hf_req(v, "num_hidden_layers", origin)?,
        hidden: hf_req(v, "hidden_size", origin)?,
        heads: hf_req(v, "num_attention_heads", origin)?,
        kv_heads: hf_int(v, "num_key_value_heads", origin)?,
        head_dim: hf_int(v, "head_dim", origin)?,
        ffn: hf_req(v, "intermediate_size", origin)?,
        experts,
        active_experts: active,
        vocab: hf_req(v, "vocab_size", origin)?,
        tied: hf_bool(v, "tie_word_embeddings", origin, false)?,
        qkv_bias,
    }
    .finish(origin, &HF_NAMES)
}

/// Settings of a written config that the architecture does not fix.
#[derive(Debug, Clone, PartialEq)]
pub struct HfOptions {
    /// `max_position_embeddings`: the longest sequence the model is meant for, tokens.
    pub max_position_embeddings: u32,
    /// RoPE base frequency θ (`rope_theta`; `rope_type` "default", no scaling).
    pub rope_theta: f64,
    /// RMSNorm ε.
    pub rms_norm_eps: f64,
    /// `torch_dtype` of the weights (`bfloat16`, `float16`, `float32`), or None to leave it out
    /// (integer and 8-bit float storage are quantisation settings, not a config dtype).
    pub torch_dtype: Option<String>,
}

impl Default for HfOptions {
    fn default() -> Self {
        HfOptions { max_position_embeddings: 4096, rope_theta: 10_000.0, rms_norm_eps: 1e-6, torch_dtype: None }
    }
}

impl HfOptions {
    /// Options for a design stored as `weight_dtype` that serves sequences of up to
    /// `max_tokens` tokens (prompt + generated): the next power of two ≥ max(max_tokens, 2048)
    /// positions, and the weights' dtype when it is a float type transformers names.
    pub fn for_design(weight_dtype: &str, max_tokens: u64) -> Self {
        let positions = max_tokens.max(2048).next_power_of_two().min(u32::MAX as u64 / 2 + 1) as u32;
        let torch_dtype = match weight_dtype {
            "bf16" => Some("bfloat16"),
            "fp16" => Some("float16"),
            "fp32" => Some("float32"),
            _ => None,
        };
        HfOptions {
            max_position_embeddings: positions,
            torch_dtype: torch_dtype.map(str::to_string),
            ..Self::default()
        }
    }
}

/// The transformers family (`model_type`, class) that holds `arch` exactly; see the module
/// docs for the rule. Errors say why a structure has none.
pub fn hf_family(arch: &Architecture) -> Result<(&'static str, &'static str)> {
    match (arch.is_moe(), arch.qkv_bias) {
        (false, false) => Ok(("llama", "LlamaForCausalLM")),
        (false, true) => Ok(("qwen2", "Qwen2ForCausalLM")),
        (true, false) => Ok(("mixtral", "MixtralForCausalLM")),
        (true, true) => Err(Error::Unsupported(format!(
            "{}: no transformers family holds a mixture of experts with Q/K/V biases exactly (Mixtral has no \
             attention biases; Qwen2-MoE always adds a shared expert and its gate), so no config.json is written",
            arch.label()
        ))),
    }
}

/// The Hugging Face `config.json` of `arch` (see the module docs for the family chosen).
/// [`arch_from_hf`] of the result equals `arch` up to its name.
pub fn to_hf_config(arch: &Architecture, opts: &HfOptions) -> Result<Value> {
    arch.validate(&Origin::default())?;
    let (model_type, class) = hf_family(arch)?;
    if !(opts.rope_theta.is_finite() && opts.rope_theta > 0.0) {
        return Err(Error::invalid(&Origin::default(), "rope_theta", opts.rope_theta, "must be a positive number"));
    }
    if !(opts.rms_norm_eps.is_finite() && opts.rms_norm_eps > 0.0) {
        return Err(Error::invalid(&Origin::default(), "rms_norm_eps", opts.rms_norm_eps, "must be a positive number"));
    }
    let mut v = json!({
        "architectures": [class],
        "model_type": model_type,
        "vocab_size": arch.vocab,
        "hidden_size": arch.hidden,
        "intermediate_size": arch.ffn,
        "num_hidden_layers": arch.layers,
        "num_attention_heads": arch.heads,
        "num_key_value_heads": arch.kv_heads,
        "head_dim": arch.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": opts.max_position_embeddings,
        "rms_norm_eps": opts.rms_norm_eps,
        "rope_theta": opts.rope_theta,
        "rope_scaling": null,
        "tie_word_embeddings": arch.tied_embeddings,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": true,
    });
    let m = v.as_object_mut().expect("a JSON object literal");
    match model_type {
        "llama" => {
            m.insert("attention_bias".into(), false.into());
            m.insert("mlp_bias".into(), false.into());
        }
        "qwen2" => {
            m.insert("use_sliding_window".into(), false.into());
            m.insert("max_window_layers".into(), arch.layers.into());
        }
        _ => {
            m.insert("num_local_experts".into(), arch.experts.into());
            m.insert("num_experts_per_tok".into(), arch.active_experts.into());
            m.insert("output_router_logits".into(), false.into());
            m.insert("router_aux_loss_coef".into(), 0.02.into());
            m.insert("sliding_window".into(), Value::Null);
        }
    }
    if let Some(d) = &opts.torch_dtype {
        m.insert("torch_dtype".into(), d.clone().into());
    }
    // Provenance for people; transformers keeps unknown keys as plain attributes.
    m.insert(
        "colaw".into(),
        json!({ "label": arch.label(), "params": arch.params().total, "active_params": arch.params().active }),
    );
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(experts: u32, qkv_bias: bool) -> Architecture {
        Architecture {
            name: None,
            layers: 20,
            hidden: 1536,
            heads: 24,
            kv_heads: 4,
            head_dim: 64,
            ffn: 1536,
            experts,
            active_experts: 1,
            vocab: 151_936,
            tied_embeddings: true,
            qkv_bias,
        }
    }

    #[test]
    fn written_configs_read_back_as_the_same_architecture() {
        for (e, b, mt) in [(1, false, "llama"), (1, true, "qwen2"), (16, false, "mixtral")] {
            let a = design(e, b);
            let v = to_hf_config(&a, &HfOptions::default()).unwrap();
            assert_eq!(v["model_type"], mt);
            let back = arch_from_hf(&v, &Origin::file("config.json")).unwrap();
            assert_eq!(Architecture { name: None, ..back }, a, "{mt}");
        }
    }

    #[test]
    fn moe_with_qkv_bias_is_refused_with_the_reason() {
        let e = to_hf_config(&design(8, true), &HfOptions::default()).unwrap_err().to_string();
        assert!(e.contains("shared expert") && e.contains("E8K1"), "{e}");
    }

    #[test]
    fn options_follow_the_design() {
        let o = HfOptions::for_design("bf16", 1024 + 16);
        assert_eq!(o.max_position_embeddings, 2048);
        assert_eq!(o.torch_dtype.as_deref(), Some("bfloat16"));
        let o = HfOptions::for_design("int4", 4097);
        assert_eq!(o.max_position_embeddings, 8192);
        assert_eq!(o.torch_dtype, None);
    }

    #[test]
    fn hf_missing_key_is_named() {
        let v: Value = serde_json::json!({"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4,
            "intermediate_size": 128, "vocab_size": 100});
        let e = arch_from_hf(&v, &Origin::file("config.json")).unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("num_hidden_layers"), "{e}");
    }

    #[test]
    fn hf_heads_must_divide_hidden_without_head_dim() {
        let v: Value = serde_json::json!({"model_type": "mistral", "hidden_size": 100, "num_attention_heads": 3,
            "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100});
        let e = arch_from_hf(&v, &Origin::file("c.json")).unwrap_err().to_string();
        assert!(e.contains("num_attention_heads") && e.contains("hidden_size"), "{e}");
    }
}
