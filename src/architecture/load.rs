//! Loading architectures: preset names (`models/archs/*.toml`), Hugging Face `config.json`
//! (read in [`super::hf`]) and colaw TOML/JSON files.

use super::hf::arch_from_hf;
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
pub(super) struct RawArch {
    pub(super) name: Option<String>,
    pub(super) layers: i64,
    pub(super) hidden: i64,
    pub(super) heads: i64,
    pub(super) kv_heads: Option<i64>,
    pub(super) head_dim: Option<i64>,
    pub(super) ffn: i64,
    pub(super) experts: Option<i64>,
    pub(super) active_experts: Option<i64>,
    pub(super) vocab: i64,
    pub(super) tied: bool,
    pub(super) qkv_bias: bool,
}

impl RawArch {
    /// Apply defaults, convert to u32 with range errors, validate.
    pub(super) fn finish(self, origin: &Origin, names: &FieldNames) -> Result<Architecture> {
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
pub(super) struct FieldNames {
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

pub(super) const HF_NAMES: FieldNames = FieldNames {
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
