//! KV-cache storage types and the exact cache bytes per token.

use super::encoding::GgmlType;
use super::shape::ModelShape;
use crate::error::{Error, Result};
use crate::precision::DType;
use serde::Serialize;
use std::fmt;

/// How an engine stores cached keys and values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum KvCacheType {
    /// A ggml type (llama.cpp `--cache-type-k/-v`): f32, f16, bf16 or a 32-block type
    /// quantised along each cached row of kv_heads · head_dim values.
    Ggml(GgmlType),
    /// FP8 E4M3 (vLLM `fp8`/`fp8_e4m3`, TensorRT-LLM FP8 KV cache), one byte per value; the
    /// per-layer scales (two fp32 per layer) are not per-token and are not counted.
    Fp8E4M3,
    /// FP8 E5M2 (vLLM `fp8_e5m2`), one byte per value, unscaled.
    Fp8E5M2,
    /// int8 with per-tensor scales (TensorRT-LLM INT8 KV cache), one byte per value.
    Int8,
}

impl KvCacheType {
    /// Every type, in listing order.
    pub const ALL: [KvCacheType; 11] = [
        KvCacheType::Ggml(GgmlType::F32),
        KvCacheType::Ggml(GgmlType::F16),
        KvCacheType::Ggml(GgmlType::BF16),
        KvCacheType::Ggml(GgmlType::Q8_0),
        KvCacheType::Ggml(GgmlType::Q5_1),
        KvCacheType::Ggml(GgmlType::Q5_0),
        KvCacheType::Ggml(GgmlType::Q4_1),
        KvCacheType::Ggml(GgmlType::Q4_0),
        KvCacheType::Fp8E4M3,
        KvCacheType::Fp8E5M2,
        KvCacheType::Int8,
    ];

    /// Name in engine files and scenarios (llama.cpp's spelling for ggml types).
    pub fn name(self) -> &'static str {
        match self {
            KvCacheType::Ggml(t) => t.name(),
            KvCacheType::Fp8E4M3 => "fp8_e4m3",
            KvCacheType::Fp8E5M2 => "fp8_e5m2",
            KvCacheType::Int8 => "int8",
        }
    }

    /// Every name, in listing order.
    pub fn names() -> Vec<&'static str> {
        KvCacheType::ALL.iter().map(|k| k.name()).collect()
    }

    /// Look a type up by name; the error lists every known type.
    pub fn parse(name: &str) -> Result<KvCacheType> {
        KvCacheType::ALL.iter().copied().find(|k| k.name() == name).ok_or_else(|| Error::Unknown {
            kind: "KV-cache type".into(),
            name: name.into(),
            hint: format!("known types: {}", KvCacheType::names().join(", ")),
        })
    }

    /// The `precision::DType` with the same bytes per value, where there is one (the
    /// block-quantised ggml types have none: q8_0 is 8.5 bits per value).
    pub fn dtype(self) -> Option<DType> {
        match self {
            KvCacheType::Ggml(GgmlType::F32) => Some(DType::Fp32),
            KvCacheType::Ggml(GgmlType::F16) => Some(DType::Fp16),
            KvCacheType::Ggml(GgmlType::BF16) => Some(DType::Bf16),
            KvCacheType::Ggml(_) => None,
            KvCacheType::Fp8E4M3 | KvCacheType::Fp8E5M2 => Some(DType::Fp8),
            KvCacheType::Int8 => Some(DType::Int8),
        }
    }

    /// Bytes of one cached row (the K or the V of one token in one layer) of `width` values.
    pub fn row_bytes(self, width: u64) -> Result<u64> {
        match self {
            KvCacheType::Ggml(t) => {
                let b = t.block_elements();
                if !width.is_multiple_of(b) {
                    return Err(Error::Unsupported(format!(
                        "KV-cache type {t} stores rows of whole {b}-value blocks; kv_heads·head_dim = {width} does not fit"
                    )));
                }
                Ok(width / b * t.block_bytes())
            }
            KvCacheType::Fp8E4M3 | KvCacheType::Fp8E5M2 | KvCacheType::Int8 => Ok(width),
        }
    }

    /// Exact KV-cache bytes per cached token over all layers: layers · 2 (K and V) · row.
    pub fn bytes_per_token(self, shape: &ModelShape) -> Result<u64> {
        Ok(shape.layers as u64 * 2 * self.row_bytes(shape.kv_width())?)
    }
}

impl fmt::Display for KvCacheType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
