//! The measurement CSV: one row per timed forward step, shared by `predict` and
//! `calibrate`.
//!
//! Required columns: `hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens`.
//! Optional: `name,experts,active_experts,qkv_bias,weight_dtype,kv_dtype,compute_dtype,
//! latency_ms,engine,weight_format,kv_cache_type`. `weight_format` (an engine's storage format,
//! e.g. `Q4_K_M`, `q4f16_1`, `awq-int4-g128`; docs/engines.md) replaces `weight_dtype` and
//! `kv_dtype` for the bytes the row moves; its KV cache is `kv_cache_type` (default `f16`).
//! `hardware` (a hardware file name) and `source` let one file pool several devices and
//! publications (`colaw calibrate` without `--hardware`, `--cv-by source`). `phase` = prefill: one forward over `tokens` new tokens per sequence
//! from an empty cache, logits for the last position only; `phase` = decode: one forward of
//! one new token per sequence attending to `tokens` cached positions. `latency_ms` is the
//! measured wall time of that one forward.

use crate::architecture::Architecture;
use crate::cost::{Deployment, Storage};
use crate::engine::{KvCacheType, WeightFormat};
use crate::error::{Error, Origin, Result};
use crate::precision::{DType, Precision};
use std::collections::HashMap;
use std::path::Path;

/// Forward-step kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Prompt processing.
    Prefill,
    /// One generated token.
    Decode,
}

impl Phase {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill",
            Phase::Decode => "decode",
        }
    }
}

/// One parsed row.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// 1-based line in the file (header is line 1).
    pub line: usize,
    /// Architecture of the row.
    pub arch: Architecture,
    /// Phase.
    pub phase: Phase,
    /// Batch.
    pub batch: u32,
    /// New tokens (prefill) or cached positions (decode).
    pub tokens: u32,
    /// Data types.
    pub precision: Precision,
    /// Measured latency, if present.
    pub latency_ms: Option<f64>,
    /// Engine label (e.g. eager, cudagraph), if present.
    pub engine: Option<String>,
    /// The engine's storage formats, when the row names a `weight_format`.
    pub deploy: Option<Deployment>,
    /// Hardware file (a name under models/hardware/ or a path) the row was measured on, when
    /// the file has a `hardware` column (files that pool several devices).
    pub device: Option<String>,
    /// Where the row comes from, when the file has a `source` column (cross-validation can
    /// hold out one source at a time).
    pub source: Option<String>,
}

impl Measurement {
    /// The one-step workload this row times (batch, tokens, its precision), stored in its
    /// own format or else in `fallback` (an engine deployment given on the command line).
    pub fn workload(&self, fallback: Option<Deployment>) -> crate::cost::Workload {
        crate::cost::Workload {
            batch: self.batch,
            prompt_tokens: self.tokens,
            gen_tokens: 1,
            precision: self.precision,
            deploy: self.deploy.or(fallback),
        }
    }

    /// Bytes per stored element of this row's architecture (its format, else its dtypes);
    /// rows read by [`read_measurements`] were checked to be storable on load.
    pub fn storage(&self) -> Result<Storage> {
        Storage::of(self.deploy.as_ref(), &self.arch, &self.precision)
    }
}

/// A measurement file: its header, raw records (to echo back) and parsed rows.
#[derive(Debug, Clone)]
pub struct MeasurementFile {
    /// Column names.
    pub headers: csv::StringRecord,
    /// Raw records.
    pub records: Vec<csv::StringRecord>,
    /// Parsed rows, same order.
    pub rows: Vec<Measurement>,
}

const REQUIRED: [&str; 11] =
    ["hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "vocab", "tied", "phase", "batch", "tokens"];

/// Read and validate a measurement CSV.
pub fn read_measurements(path: &Path) -> Result<MeasurementFile> {
    measurements_from_bytes(&crate::util::csv::read_bytes(path)?, &path.display().to_string())
}

/// [`read_measurements`] on the file's bytes; `file` names it in errors.
pub fn measurements_from_bytes(bytes: &[u8], file: &str) -> Result<MeasurementFile> {
    let file = file.to_string();
    let (mut rdr, headers) = crate::util::csv::from_bytes(bytes, &file)?;
    let col: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    for r in REQUIRED {
        if !col.contains_key(r) {
            return Err(Error::missing(
                &Origin::file(&file),
                r,
                format!("a measurement CSV needs the columns {}", REQUIRED.join(",")),
            ));
        }
    }
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let origin = Origin::line(&file, line);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        rows.push(parse_row(&rec, &col, &origin, line)?);
        records.push(rec);
    }
    if rows.is_empty() {
        return Err(Error::Parse { origin: Origin::file(&file), message: "no data rows".into() });
    }
    Ok(MeasurementFile { headers, records, rows })
}

fn parse_row(rec: &csv::StringRecord, col: &HashMap<&str, usize>, origin: &Origin, line: usize) -> Result<Measurement> {
    let get = |name: &str| -> Option<&str> { col.get(name).and_then(|&i| rec.get(i)).filter(|s| !s.is_empty()) };
    let req = |name: &str| -> Result<&str> {
        get(name).ok_or_else(|| Error::missing(origin, name, "this column is required in every row"))
    };
    let int = |name: &str, s: &str| -> Result<i64> {
        s.parse::<i64>().map_err(|_| Error::invalid(origin, name, format!("\"{s}\""), "must be an integer"))
    };
    let uint = |name: &str| -> Result<u32> {
        let v = int(name, req(name)?)?;
        if v <= 0 || v > u32::MAX as i64 {
            return Err(Error::invalid(origin, name, v, "must be a positive integer"));
        }
        Ok(v as u32)
    };
    let opt_uint = |name: &str, default: u32| -> Result<u32> {
        match get(name) {
            None => Ok(default),
            Some(_) => uint(name),
        }
    };
    let boolean = |name: &str, s: Option<&str>| -> Result<bool> {
        match s.map(|s| s.to_ascii_lowercase()) {
            None => Ok(false),
            Some(s) if s == "true" || s == "1" || s == "yes" => Ok(true),
            Some(s) if s == "false" || s == "0" || s == "no" => Ok(false),
            Some(s) => Err(Error::invalid(origin, name, format!("\"{s}\""), "must be true or false")),
        }
    };
    let dtype = |name: &str| -> Result<DType> {
        match get(name) {
            None => Ok(DType::Bf16),
            Some(s) => DType::parse_field(s, origin, name),
        }
    };
    let arch = Architecture {
        name: get("name").map(str::to_string),
        layers: uint("layers")?,
        hidden: uint("hidden")?,
        heads: uint("heads")?,
        kv_heads: uint("kv_heads")?,
        head_dim: uint("head_dim")?,
        ffn: uint("ffn")?,
        experts: opt_uint("experts", 1)?,
        active_experts: opt_uint("active_experts", 1)?,
        vocab: uint("vocab")?,
        tied_embeddings: boolean("tied", Some(req("tied")?))?,
        qkv_bias: boolean("qkv_bias", get("qkv_bias"))?,
    };
    arch.validate(origin)?;
    let phase = match req("phase")?.to_ascii_lowercase().as_str() {
        "prefill" => Phase::Prefill,
        "decode" => Phase::Decode,
        other => return Err(Error::invalid(origin, "phase", format!("\"{other}\""), "must be prefill or decode")),
    };
    let latency_ms = match get("latency_ms") {
        None => None,
        Some(s) => {
            let v: f64 = s
                .parse()
                .map_err(|_| Error::invalid(origin, "latency_ms", format!("\"{s}\""), "must be a number (ms)"))?;
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(origin, "latency_ms", s, "must be a positive finite number of ms"));
            }
            Some(v)
        }
    };
    let deploy = match get("weight_format") {
        None => None,
        Some(f) => {
            let weight_format = WeightFormat::parse(f)
                .map_err(|e| Error::invalid(origin, "weight_format", format!("\"{f}\""), e.to_string()))?;
            let kv = get("kv_cache_type").unwrap_or("f16");
            let kv_cache = KvCacheType::parse(kv)
                .map_err(|e| Error::invalid(origin, "kv_cache_type", format!("\"{kv}\""), e.to_string()))?;
            let d = Deployment { weight_format, kv_cache };
            Storage::from_format(&arch, &d).map_err(|e| {
                Error::invalid(origin, "weight_format", f, format!("cannot store this row's architecture: {e}"))
            })?;
            Some(d)
        }
    };
    Ok(Measurement {
        deploy,
        device: get("hardware").map(str::to_string),
        source: get("source").map(str::to_string),
        line,
        arch,
        phase,
        batch: uint("batch")?,
        tokens: uint("tokens")?,
        precision: Precision {
            weights: dtype("weight_dtype")?,
            kv_cache: dtype("kv_dtype")?,
            compute: dtype("compute_dtype")?,
        },
        latency_ms,
        engine: get("engine").map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const HEAD: &str = "hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens,latency_ms\n";

    #[test]
    fn bad_rows_are_named() {
        let cases = [
            ("64,2,4,4,16,128,100,true,training,1,8,1.0\n", "phase"),
            ("64,2,4,4,16,128,100,true,decode,1,8,-1.0\n", "latency_ms"),
            ("64,2,4,4,16,128,100,true,decode,1,8,NaN\n", "latency_ms"),
            ("64,2,4,3,16,128,100,true,decode,1,8,1.0\n", "kv_heads"),
            ("64,,4,4,16,128,100,true,decode,1,8,1.0\n", "layers"),
            ("64,2,4,4,16,128,100,maybe,decode,1,8,1.0\n", "tied"),
        ];
        for (row, field) in cases {
            let f = write(&format!("{HEAD}64,2,4,4,16,128,100,true,decode,1,8,1.0\n{row}"));
            let e = read_measurements(f.path()).unwrap_err().to_string();
            assert!(e.contains(":3:") && e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn missing_column_named() {
        let f = write("hidden,layers\n1,2\n");
        let e = read_measurements(f.path()).unwrap_err().to_string();
        assert!(e.contains("heads"), "{e}");
    }
}
