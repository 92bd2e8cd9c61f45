//! Loading architectures: preset names (`models/archs/*.toml`), Hugging Face `config.json`
//! (llama, qwen2, mistral, mixtral) and colaw TOML/JSON files.

use super::Architecture;
use crate::error::{read_file, Error, Origin, Result};
use crate::models_dir;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The colaw architecture file schema (TOML or JSON). Optional fields take the defaults
/// of a dense, untied, bias-free MHA model; `head_dim` defaults to hidden/heads and then
/// requires heads to divide hidden.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchFile {
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Where the configuration comes from (documentation only).
    #[serde(default)]
    pub source: Option<String>,
    /// Parameter count published for the model (documentation; tests compare against it).
    #[serde(default)]
    pub published_params: Option<u64>,
    /// See [`Architecture::layers`].
    pub layers: i64,
    /// See [`Architecture::hidden`].
    pub hidden: i64,
    /// See [`Architecture::heads`].
    pub heads: i64,
    /// Defaults to `heads`.
    #[serde(default)]
    pub kv_heads: Option<i64>,
    /// Defaults to hidden / heads.
    #[serde(default)]
    pub head_dim: Option<i64>,
    /// FFN intermediate size per expert.
    pub ffn: i64,
    /// Defaults to 1.
    #[serde(default)]
    pub experts: Option<i64>,
    /// Defaults to 1.
    #[serde(default)]
    pub active_experts: Option<i64>,
    /// Vocabulary size.
    pub vocab: i64,
    /// Defaults to false.
    #[serde(default)]
    pub tied_embeddings: bool,
    /// Defaults to false.
    #[serde(default)]
    pub qkv_bias: bool,
}

/// Fields of an architecture before defaults and range checks, shared by every format.
struct RawArch {
    name: Option<String>,
    layers: i64,
    hidden: i64,
    heads: i64,
    kv_heads: Option<i64>,
    head_dim: Option<i64>,
    ffn: i64,
    experts: Option<i64>,
    active_experts: Option<i64>,
    vocab: i64,
    tied: bool,
    qkv_bias: bool,
}

impl RawArch {
    /// Apply defaults, convert to u32 with range errors, validate.
    fn finish(self, origin: &Origin, names: &FieldNames) -> Result<Architecture> {
        let to_u32 = |field: &str, v: i64| -> Result<u32> {
            if v <= 0 || v > u32::MAX as i64 {
                Err(Error::invalid(origin, field, v, "must be a positive integer"))
            } else {
                Ok(v as u32)
            }
        };
        let hidden = to_u32(names.hidden, self.hidden)?;
        let heads = to_u32(names.heads, self.heads)?;
        let head_dim = match self.head_dim {
            Some(h) => to_u32(names.head_dim, h)?,
            None => {
                if hidden % heads != 0 {
                    return Err(Error::invalid(
                        origin,
                        names.heads,
                        heads,
                        format!("must divide {} = {hidden} when {} is not given", names.hidden, names.head_dim),
                    ));
                }
                hidden / heads
            }
        };
        let arch = Architecture {
            name: self.name,
            layers: to_u32(names.layers, self.layers)?,
            hidden,
            heads,
            kv_heads: to_u32(names.kv_heads, self.kv_heads.unwrap_or(self.heads))?,
            head_dim,
            ffn: to_u32(names.ffn, self.ffn)?,
            experts: to_u32(names.experts, self.experts.unwrap_or(1))?,
            active_experts: to_u32(names.active_experts, self.active_experts.unwrap_or(1))?,
            vocab: to_u32(names.vocab, self.vocab)?,
            tied_embeddings: self.tied,
            qkv_bias: self.qkv_bias,
        };
        // Validation errors use colaw's names; map them to the file's own key names.
        arch.validate(origin).map_err(|e| names.rename(e))?;
        Ok(arch)
    }
}

/// Key names of one file format, so errors quote what the user wrote.
struct FieldNames {
    layers: &'static str,
    hidden: &'static str,
    heads: &'static str,
    kv_heads: &'static str,
    head_dim: &'static str,
    ffn: &'static str,
    experts: &'static str,
    active_experts: &'static str,
    vocab: &'static str,
}

const COLAW_NAMES: FieldNames = FieldNames {
    layers: "layers",
    hidden: "hidden",
    heads: "heads",
    kv_heads: "kv_heads",
    head_dim: "head_dim",
    ffn: "ffn",
    experts: "experts",
    active_experts: "active_experts",
    vocab: "vocab",
};

const HF_NAMES: FieldNames = FieldNames {
    layers: "num_hidden_layers",
    hidden: "hidden_size",
    heads: "num_attention_heads",
    kv_heads: "num_key_value_heads",
    head_dim: "head_dim",
    ffn: "intermediate_size",
    experts: "num_local_experts",
    active_experts: "num_experts_per_tok",
    vocab: "vocab_size",
};

impl FieldNames {
    fn rename(&self, e: Error) -> Error {
        match e {
            Error::Invalid { origin, field, value, allowed } => {
                let field = match field.as_str() {
                    "layers" => self.layers,
                    "hidden" => self.hidden,
                    "heads" => self.heads,
                    "kv_heads" => self.kv_heads,
                    "head_dim" => self.head_dim,
                    "ffn" => self.ffn,
                    "experts" => self.experts,
                    "active_experts" => self.active_experts,
                    "vocab" => self.vocab,
                    _ => return Error::Invalid { origin, field, value, allowed },
                }
                .to_string();
                Error::Invalid { origin, field, value, allowed }
            }
            other => other,
        }
    }
}

impl ArchFile {
    /// Convert to a validated [`Architecture`].
    pub fn into_arch(self, origin: &Origin) -> Result<Architecture> {
        RawArch {
            name: self.name,
            layers: self.layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            ffn: self.ffn,
            experts: self.experts,
            active_experts: self.active_experts,
            vocab: self.vocab,
            tied: self.tied_embeddings,
            qkv_bias: self.qkv_bias,
        }
        .finish(origin, &COLAW_NAMES)
    }
}

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

/// Parse architecture text: `format` is "toml" or "json"; JSON with a `model_type` key is
/// read as a Hugging Face config.
pub fn parse_arch_str(text: &str, format: &str, origin: &Origin) -> Result<Architecture> {
    match format {
        "json" => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
            if v.get("model_type").is_some() {
                arch_from_hf(&v, origin)
            } else {
                let f: ArchFile = serde_json::from_value(v)
                    .map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
                f.into_arch(origin)
            }
        }
        _ => {
            let f: ArchFile =
                toml::from_str(text).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
            f.into_arch(origin)
        }
    }
}

/// Folder holding architecture presets.
pub fn preset_dir() -> PathBuf {
    models_dir().join("archs")
}

/// Names of the shipped presets (file stems under `models/archs/`), sorted.
pub fn preset_names() -> Vec<String> {
    crate::list_stems(&preset_dir(), "toml")
}

/// Resolve an architecture named on the command line: an existing file path (colaw TOML,
/// colaw JSON or Hugging Face config.json) or a preset name (case-insensitive).
pub fn load_arch(spec: &str) -> Result<Architecture> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = read_file(path)?;
        let origin = Origin::file(spec);
        let format = if spec.ends_with(".json") { "json" } else { "toml" };
        let mut arch = parse_arch_str(&text, format, &origin)?;
        if arch.name.is_none() {
            arch.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        return Ok(arch);
    }
    let dir = preset_dir();
    let wanted = spec.to_ascii_lowercase();
    for name in preset_names() {
        if name.to_ascii_lowercase() == wanted {
            let file = dir.join(format!("{name}.toml"));
            let mut arch = parse_arch_str(&read_file(&file)?, "toml", &Origin::file(file.display().to_string()))?;
            arch.name.get_or_insert(name);
            return Ok(arch);
        }
    }
    Err(Error::Unknown {
        kind: "architecture".into(),
        name: spec.into(),
        hint: format!(
            "not a file and not a preset; presets: {} (or pass a colaw .toml/.json or a Hugging Face config.json)",
            preset_names().join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn colaw_unknown_key_rejected() {
        let e = parse_arch_str(
            "layers=2\nhidden=64\nheads=4\nffn=128\nvocab=10\nlayer=3\n",
            "toml",
            &Origin::file("a.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("a.toml") && e.contains("layer"), "{e}");
    }

    #[test]
    fn negative_size_named() {
        let e = parse_arch_str("layers=-2\nhidden=64\nheads=4\nffn=128\nvocab=10\n", "toml", &Origin::file("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`layers` = -2") && e.contains("positive"), "{e}");
    }
}
