//! Inference engines as an input: which weight formats and KV-cache types an engine runs, how
//! it executes attention, and its calibrated efficiency/overhead terms per device, loaded from
//! `models/engines/*.toml` and validated; plus the exact byte size of a model's weights in each
//! format (block scales, zero points and mixed-precision tensors included).
//!
//! The schema and every format's byte layout, with sources, are in docs/engines.md and
//! models/engines/README.md. This module does no I/O beyond reading engine files.
//!
//! ```
//! use colaw::engine::{ModelShape, WeightFormat};
//! // Llama-3.2-1B as llama-quantize writes it in Q4_K_M: Q6_K tied embedding, half the attn_v
//! // and ffn_down tensors in Q6_K, the rest Q4_K, norms F32.
//! let shape = ModelShape {
//!     layers: 16, hidden: 2048, heads: 32, kv_heads: 8, head_dim: 64, ffn: 8192, experts: 1,
//!     vocab: 128_256, tied_embeddings: true, qkv_bias: false, llama_arch: true,
//! };
//! let w = WeightFormat::parse("Q4_K_M")?.weight_bytes(&shape)?;
//! assert_eq!(w.total_bytes(), 799_862_784);
//! assert!((w.bits_per_weight() - 5.178).abs() < 1e-3);
//! # Ok::<(), colaw::Error>(())
//! ```

mod encoding;
mod format;
mod kv;
mod profile;
mod shape;

pub use encoding::{Encoding, GgmlType};
pub use format::{use_more_bits, ClassBytes, GgufFileType, TensorBytes, WeightBytes, WeightFormat};
pub use kv::KvCacheType;
pub use profile::{ClassEfficiency, DeviceProfile, Efficiency, Overhead};
pub use shape::{ModelShape, Tensor, TensorClass};

use crate::error::{read_file, Error, Origin, Result};
use crate::precision::DType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How an engine executes attention by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKernel {
    /// One fused kernel; the score matrix never reaches memory (FlashAttention-style).
    Fused,
    /// Q·Kᵀ, softmax and ·V as separate kernels with the scores written and read back.
    Unfused,
}

impl AttentionKernel {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            AttentionKernel::Fused => "fused",
            AttentionKernel::Unfused => "unfused",
        }
    }
}

/// The `[attention]` table of an engine file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attention {
    /// The kernel as the engine runs by default (same meaning as a hardware file's
    /// `attention_kernel`).
    pub kernel: AttentionKernel,
    /// The fused kernel is a FlashAttention-family kernel (tiled, online softmax).
    pub flash: bool,
    /// What the engine calls it and how it is selected (free text).
    pub implementation: String,
    /// Every kernel the engine can be configured to use (must include `kernel`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported: Vec<AttentionKernel>,
}

/// One engine file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    /// Identifier typed by users (`engine = "llama.cpp"`); equals the file stem.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Other spellings accepted on lookup (case-insensitive), e.g. `cudagraph`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Which versions the file describes and what changed between them.
    pub version: String,
    /// Weight formats the engine runs (names from [`WeightFormat::names`]).
    pub weight_formats: Vec<String>,
    /// Format assumed when a scenario names the engine but no format.
    pub default_weight_format: String,
    /// KV-cache types the engine offers (names from [`KvCacheType::names`]).
    pub kv_cache_types: Vec<String>,
    /// KV-cache type used by default.
    pub default_kv_cache_type: String,
    /// Attention execution.
    pub attention: Attention,
    /// Free-form notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Where each claim comes from: keys `weight_formats`, `kv_cache_types`, `attention`
    /// (required) and any other field name.
    pub sources: BTreeMap<String, String>,
    /// Formats that need matrix units of a given compute type on the device, e.g.
    /// `"fp8-e4m3-per-tensor" = "fp8"` (FP8 weights and activations need FP8 tensor cores): a
    /// device whose hardware file has no `peak_tflops.<type>` cannot run them with this engine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requires_compute: BTreeMap<String, String>,
    /// Prefill micro-batch size in tokens (llama.cpp's `n_ubatch`): prompts longer than this
    /// run as several forward steps. Absent: one step per prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_ubatch_tokens: Option<u32>,
    /// Calibrated terms per device, keyed by hardware file stem. Empty until calibrated.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub devices: BTreeMap<String, DeviceProfile>,
}

/// Source keys every engine file must have.
pub const REQUIRED_SOURCES: [&str; 3] = ["weight_formats", "kv_cache_types", "attention"];

impl Engine {
    /// Check every field; errors name the file, the field, the value and what is allowed.
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid(origin, "name", "\"\"", "must not be empty"));
        }
        if self.display_name.trim().is_empty() {
            return Err(Error::invalid(origin, "display_name", "\"\"", "must not be empty"));
        }
        for (i, a) in self.aliases.iter().enumerate() {
            if a.trim().is_empty()
                || a.eq_ignore_ascii_case(&self.name)
                || self.aliases[..i].iter().any(|b| b.eq_ignore_ascii_case(a))
            {
                return Err(Error::invalid(
                    origin,
                    "aliases",
                    format!("\"{a}\""),
                    "each alias must be non-empty, differ from the name and from the other aliases (case-insensitive)",
                ));
            }
        }
        if self.version.trim().is_empty() {
            return Err(Error::invalid(origin, "version", "\"\"", "say which engine versions the file describes"));
        }
        check_names(origin, "weight_formats", &self.weight_formats, &WeightFormat::names())?;
        check_default(origin, "default_weight_format", &self.default_weight_format, &self.weight_formats)?;
        check_names(origin, "kv_cache_types", &self.kv_cache_types, &KvCacheType::names())?;
        check_default(origin, "default_kv_cache_type", &self.default_kv_cache_type, &self.kv_cache_types)?;
        if self.prefill_ubatch_tokens == Some(0) {
            return Err(Error::invalid(
                origin,
                "prefill_ubatch_tokens",
                0,
                "a micro-batch size ≥ 1 (tokens), or leave it out for one step per prompt",
            ));
        }
        let a = &self.attention;
        if a.implementation.trim().is_empty() {
            return Err(Error::invalid(origin, "attention.implementation", "\"\"", "must not be empty"));
        }
        if !a.supported.is_empty() && !a.supported.contains(&a.kernel) {
            let have: Vec<&str> = a.supported.iter().map(|k| k.name()).collect();
            return Err(Error::invalid(
                origin,
                "attention.supported",
                format!("[{}]", have.join(", ")),
                format!("must include attention.kernel = \"{}\"", a.kernel.name()),
            ));
        }
        for key in REQUIRED_SOURCES {
            match self.sources.get(key) {
                Some(s) if !s.trim().is_empty() => {}
                _ => {
                    return Err(Error::missing(
                        origin,
                        format!("sources.{key}"),
                        "every engine file cites where its formats, KV-cache types and attention kernel come from",
                    ))
                }
            }
        }
        for (format, dtype) in &self.requires_compute {
            let field = format!("requires_compute.\"{format}\"");
            check_names(origin, &field, std::slice::from_ref(format), &self.weight_formats)?;
            DType::parse_field(dtype, origin, &field)?;
            if self.sources.get("requires_compute").is_none_or(|s| s.trim().is_empty()) {
                return Err(Error::missing(
                    origin,
                    "sources.requires_compute",
                    "say where the hardware requirement comes from",
                ));
            }
        }
        for (device, p) in &self.devices {
            let prefix = format!("devices.{device}");
            p.validate(origin, &prefix)?;
            if let Some(fs) = &p.weight_formats {
                check_names(origin, &format!("{prefix}.weight_formats"), fs, &self.weight_formats)?;
            }
        }
        Ok(())
    }

    /// Parse TOML text and validate.
    pub fn from_toml_str(text: &str, origin: &Origin) -> Result<Engine> {
        let e: Engine =
            toml::from_str(text).map_err(|err| Error::Parse { origin: origin.clone(), message: err.to_string() })?;
        e.validate(origin)?;
        Ok(e)
    }

    /// Serialise to TOML.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).expect("an engine serialises to TOML")
    }

    /// Whether `spec` names this engine (its name or an alias, case-insensitive).
    pub fn answers_to(&self, spec: &str) -> bool {
        self.name.eq_ignore_ascii_case(spec) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(spec))
    }

    /// The format named `name`, if this engine runs it (on `device`, when given and the
    /// engine's profile for it restricts formats). Errors: an unknown format lists every
    /// known one; a known format the engine (or the engine on that device) cannot run names
    /// the engine and lists what it runs.
    pub fn weight_format(&self, name: &str, device: Option<&str>) -> Result<WeightFormat> {
        let f = WeightFormat::parse(name)?;
        if !self.weight_formats.iter().any(|x| x == name) {
            return Err(Error::Unsupported(format!(
                "engine `{}` does not run weight format `{name}`; it runs: {}",
                self.name,
                self.weight_formats.join(", ")
            )));
        }
        if let Some(d) = device {
            if let Some(allowed) = self.devices.get(d).and_then(|p| p.weight_formats.as_ref()) {
                if !allowed.iter().any(|x| x == name) {
                    return Err(Error::Unsupported(format!(
                        "engine `{}` does not run weight format `{name}` on `{d}`; there it runs: {}",
                        self.name,
                        allowed.join(", ")
                    )));
                }
            }
        }
        Ok(f)
    }

    /// The compute type a format needs matrix units for with this engine, if any (entries are
    /// checked on load; one that does not name a type imposes nothing).
    pub fn required_compute(&self, format: &str) -> Option<DType> {
        self.requires_compute.get(format).and_then(|d| d.parse().ok())
    }

    /// [`Engine::weight_format`] on a device, also refusing a format whose required compute
    /// type the device has no peak for (`has_peak(t)`: the hardware file lists
    /// `peak_tflops.<t>`). The error names the engine, the device and the formats it can run
    /// there.
    pub fn weight_format_on(&self, name: &str, device: &str, has_peak: impl Fn(DType) -> bool) -> Result<WeightFormat> {
        let f = self.weight_format(name, Some(device))?;
        if let Some(t) = self.required_compute(name).filter(|t| !has_peak(*t)) {
            let allowed =
                self.devices.get(device).and_then(|p| p.weight_formats.as_ref()).unwrap_or(&self.weight_formats);
            let runnable: Vec<&str> =
                allowed.iter().filter(|x| self.required_compute(x).is_none_or(&has_peak)).map(|x| x.as_str()).collect();
            return Err(Error::Unsupported(format!(
                "engine `{}` runs weight format `{name}` only on devices with {t} matrix units, and `{device}` has no \
                 peak_tflops.{t}; there it runs: {}",
                self.name,
                runnable.join(", ")
            )));
        }
        Ok(f)
    }

    /// The engine's default weight format.
    pub fn default_format(&self) -> Result<WeightFormat> {
        self.weight_format(&self.default_weight_format, None)
    }

    /// The KV-cache type named `name`, if this engine offers it.
    pub fn kv_cache_type(&self, name: &str) -> Result<KvCacheType> {
        let k = KvCacheType::parse(name)?;
        if !self.kv_cache_types.iter().any(|x| x == name) {
            return Err(Error::Unsupported(format!(
                "engine `{}` has no KV-cache type `{name}`; it offers: {}",
                self.name,
                self.kv_cache_types.join(", ")
            )));
        }
        Ok(k)
    }

    /// The engine's default KV-cache type.
    pub fn default_kv_cache(&self) -> Result<KvCacheType> {
        self.kv_cache_type(&self.default_kv_cache_type)
    }

    /// Calibrated terms on a device (hardware file stem), if any.
    pub fn profile(&self, device: &str) -> Option<&DeviceProfile> {
        self.devices.get(device)
    }

    /// `hw` with this engine's attention kernel and the device file's own efficiency and
    /// overhead terms (what calibrating the engine on the device starts from).
    pub fn with_kernel(&self, hw: &crate::hardware::Hardware) -> crate::hardware::Hardware {
        let mut out = hw.clone();
        out.attention_kernel = match self.attention.kernel {
            AttentionKernel::Fused => crate::hardware::AttentionKernel::Fused,
            AttentionKernel::Unfused => crate::hardware::AttentionKernel::Unfused,
        };
        if self.prefill_ubatch_tokens.is_some() {
            out.overhead.ubatch_tokens = self.prefill_ubatch_tokens;
        }
        out
    }

    /// `hw` as this engine runs on it: its attention kernel, and its calibrated efficiency
    /// and overhead terms on `device` (a hardware file stem) when the engine file has them.
    /// Without a profile the device's own terms stay (datasheet files: η = 1, no overheads,
    /// a roofline bound rather than a prediction), and the second value is `false`.
    pub fn apply_to(&self, hw: &crate::hardware::Hardware, device: &str) -> (crate::hardware::Hardware, bool) {
        let mut out = self.with_kernel(hw);
        match self.profile(device) {
            Some(p) => {
                out.efficiency = p.efficiency;
                // The micro-batch size is the engine's: a profile without one keeps it.
                let ubatch = p.overhead.ubatch_tokens.or(out.overhead.ubatch_tokens);
                out.overhead = crate::hardware::Overhead { ubatch_tokens: ubatch, ..p.overhead };
                (out, true)
            }
            None => (out, false),
        }
    }
}

/// Every entry of `values` is in `allowed` and none repeats; the list is not empty.
fn check_names<S: AsRef<str>>(origin: &Origin, field: &str, values: &[String], allowed: &[S]) -> Result<()> {
    let allowed: Vec<&str> = allowed.iter().map(|s| s.as_ref()).collect();
    if values.is_empty() {
        return Err(Error::invalid(origin, field, "[]", format!("list at least one of {}", allowed.join(", "))));
    }
    for (i, v) in values.iter().enumerate() {
        if !allowed.contains(&v.as_str()) {
            return Err(Error::invalid(origin, field, format!("\"{v}\""), format!("one of {}", allowed.join(", "))));
        }
        if values[..i].contains(v) {
            return Err(Error::invalid(origin, field, format!("\"{v}\""), "listed twice; list each once"));
        }
    }
    Ok(())
}

fn check_default(origin: &Origin, field: &str, value: &str, list: &[String]) -> Result<()> {
    if list.iter().any(|x| x == value) {
        Ok(())
    } else {
        Err(Error::invalid(origin, field, format!("\"{value}\""), format!("one of the listed {}", list.join(", "))))
    }
}

/// Load and validate one engine file; its `name` must equal the file stem, so the name a
/// user types and the file that answers are the same.
pub fn load_engine_file(path: &Path) -> Result<Engine> {
    let origin = Origin::file(path.display().to_string());
    let e = Engine::from_toml_str(&read_file(path)?, &origin)?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if e.name != stem {
        return Err(Error::invalid(
            &origin,
            "name",
            format!("\"{}\"", e.name),
            format!("must equal the file stem \"{stem}\""),
        ));
    }
    Ok(e)
}

/// The `.toml` files of an engines folder, sorted (empty when the folder is absent).
fn engine_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// Every engine in `dir` (normally `models/engines/`), sorted by name; the first invalid file
/// is an error.
pub fn load_engines(dir: &Path) -> Result<Vec<Engine>> {
    let mut v = engine_files(dir).iter().map(|p| load_engine_file(p)).collect::<Result<Vec<_>>>()?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    for (i, a) in v.iter().enumerate() {
        for b in &v[..i] {
            if let Some(clash) = std::iter::once(&a.name).chain(&a.aliases).find(|s| b.answers_to(s)) {
                return Err(Error::invalid(
                    &Origin::file(dir.join(format!("{}.toml", a.name)).display().to_string()),
                    "aliases",
                    format!("\"{clash}\""),
                    format!("already names engine `{}`; names and aliases must be unique", b.name),
                ));
            }
        }
    }
    Ok(v)
}

/// Resolve an engine named in a scenario or on the command line: a path to an engine file,
/// or a name or alias of an engine in `dir`. The error lists the engines that exist.
pub fn find_engine(dir: &Path, spec: &str) -> Result<Engine> {
    let path = Path::new(spec);
    if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
        return load_engine_file(path);
    }
    let engines = load_engines(dir)?;
    let names: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
    let hint = if names.is_empty() {
        format!("no engine files in {}", dir.display())
    } else {
        format!("known engines: {}", names.join(", "))
    };
    engines.iter().find(|e| e.answers_to(spec)).cloned().ok_or_else(|| Error::Unknown {
        kind: "engine".into(),
        name: spec.into(),
        hint,
    })
}
