//! Numeric data types for weights, KV cache and compute, with their storage cost.

use crate::error::{Error, Origin, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Elements per quantisation group for `int4` (one fp16 scale per group).
pub const INT4_GROUP_SIZE: u32 = 128;

/// A numeric data type. `int4` storage includes one fp16 scale per [`INT4_GROUP_SIZE`]
/// elements: 0.5 + 2/128 = 0.515625 bytes per element. `int8` and `fp8` are stored
/// per-channel (per-tensor) scaled, whose overhead is negligible and not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// IEEE single precision.
    Fp32,
    /// bfloat16.
    Bf16,
    /// IEEE half precision.
    Fp16,
    /// 8-bit float (E4M3/E5M2).
    Fp8,
    /// 8-bit integer.
    Int8,
    /// 4-bit integer with group scales.
    Int4,
}

/// All data types, in a stable order (for grids and help texts).
pub const ALL_DTYPES: [DType; 6] = [DType::Fp32, DType::Bf16, DType::Fp16, DType::Fp8, DType::Int8, DType::Int4];

impl DType {
    /// Bytes per stored element, group-scale overhead included.
    pub fn bytes(self) -> f64 {
        match self {
            DType::Fp32 => 4.0,
            DType::Bf16 | DType::Fp16 => 2.0,
            DType::Fp8 | DType::Int8 => 1.0,
            DType::Int4 => 0.5 + 2.0 / INT4_GROUP_SIZE as f64,
        }
    }
    /// Lower-case name as used in files and on the CLI.
    pub fn name(self) -> &'static str {
        match self {
            DType::Fp32 => "fp32",
            DType::Bf16 => "bf16",
            DType::Fp16 => "fp16",
            DType::Fp8 => "fp8",
            DType::Int8 => "int8",
            DType::Int4 => "int4",
        }
    }
    /// Parse with an error naming the field.
    pub fn parse_field(s: &str, origin: &Origin, field: &str) -> Result<DType> {
        s.parse()
            .map_err(|_| Error::invalid(origin, field, format!("\"{s}\""), "one of fp32, bf16, fp16, fp8, int8, int4"))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fp32" | "float32" | "f32" => Ok(DType::Fp32),
            "bf16" | "bfloat16" => Ok(DType::Bf16),
            "fp16" | "float16" | "f16" | "half" => Ok(DType::Fp16),
            "fp8" | "float8" | "e4m3" => Ok(DType::Fp8),
            "int8" | "i8" => Ok(DType::Int8),
            "int4" | "i4" => Ok(DType::Int4),
            other => Err(format!("unknown data type `{other}`: allowed fp32, bf16, fp16, fp8, int8, int4")),
        }
    }
}

/// Data types of one deployment: how weights and KV cache are stored, and the type the
/// matrix units compute in (which selects the device's compute peak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Precision {
    /// Storage type of weights.
    pub weights: DType,
    /// Storage type of the KV cache.
    pub kv_cache: DType,
    /// Type of activations and of the arithmetic (W8A8 → int8; weight-only int4 → bf16).
    pub compute: DType,
}

impl Default for Precision {
    fn default() -> Self {
        Precision { weights: DType::Bf16, kv_cache: DType::Bf16, compute: DType::Bf16 }
    }
}

impl Precision {
    /// Bytes per activation element. Integer compute keeps activations in 8 bits only for
    /// int8; int4 compute (rare) still moves 8-bit activations.
    pub fn activation_bytes(&self) -> f64 {
        match self.compute {
            DType::Int4 => 1.0,
            t => t.bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int4_overhead_is_one_fp16_scale_per_group() {
        assert_eq!(DType::Int4.bytes(), 0.515625);
    }

    #[test]
    fn parse_error_names_field_and_allowed() {
        let e = DType::parse_field("int3", &Origin::file("a.toml"), "weight_dtype").unwrap_err().to_string();
        assert!(e.contains("a.toml") && e.contains("weight_dtype") && e.contains("int3") && e.contains("int4"), "{e}");
    }
}
