//! An engine deployment on a device, resolved from names: which engine, which weight format
//! and KV-cache type, and the device as that engine runs on it (its attention kernel and, where
//! the engine file has them, its calibrated efficiency and overhead terms).
//!
//! Used by every command that takes `--engine/--weight-format/--kv-cache-type` and by instance
//! scenarios with `engine = …`. Without an engine nothing here runs and the hardware file's
//! own terms and the workload's data types are used, as before engines existed.

use crate::cost::Deployment;
use crate::engine::{find_engine, Engine};
use crate::error::Result;
use crate::hardware::Hardware;
use serde::Serialize;
use std::path::Path;

/// What a user names: an engine, optionally a weight format and a KV-cache type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineSpec {
    /// Engine name, alias or path to an engine file.
    pub engine: String,
    /// Weight format (default: the engine's default).
    pub weight_format: Option<String>,
    /// KV-cache type (default: the engine's default).
    pub kv_cache_type: Option<String>,
}

impl EngineSpec {
    /// The spec named by an optional engine, weight format and KV-cache type. A format or KV
    /// type without an engine is refused: `Err((field, value))` with `field` either
    /// `"weight_format"` or `"kv_cache_type"`, for the caller to name as it spells it.
    pub fn from_parts(
        engine: Option<&str>,
        weight_format: Option<&str>,
        kv_cache_type: Option<&str>,
    ) -> std::result::Result<Option<EngineSpec>, (&'static str, String)> {
        let Some(engine) = engine else {
            for (field, v) in [("weight_format", weight_format), ("kv_cache_type", kv_cache_type)] {
                if let Some(v) = v {
                    return Err((field, v.to_string()));
                }
            }
            return Ok(None);
        };
        Ok(Some(EngineSpec {
            engine: engine.to_string(),
            weight_format: weight_format.map(str::to_string),
            kv_cache_type: kv_cache_type.map(str::to_string),
        }))
    }
}

/// Why a weight format or KV type without an engine is refused (CLI and instance files).
pub const NEEDS_ENGINE: &str = "formats belong to an engine; see models/engines/";

/// A resolved deployment.
#[derive(Debug, Clone)]
pub struct ResolvedDeployment {
    /// The engine.
    pub engine: Engine,
    /// Storage formats for the cost model.
    pub deployment: Deployment,
    /// The device as the engine runs on it.
    pub hardware: Hardware,
    /// The engine file has calibrated terms for this device; otherwise the latencies are the
    /// roofline bound of the device's own terms.
    pub calibrated: bool,
    /// The compute type the format imposes (FP8 W8A8 computes in fp8), if any.
    pub compute: Option<crate::precision::DType>,
}

/// What reports say about a deployment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeploymentReport {
    /// Engine name.
    pub engine: String,
    /// Weight format.
    pub weight_format: String,
    /// KV-cache type.
    pub kv_cache_type: String,
    /// Whether the engine has calibrated terms for this device.
    pub calibrated: bool,
}

impl ResolvedDeployment {
    /// The report of this deployment.
    pub fn report(&self) -> DeploymentReport {
        DeploymentReport {
            engine: self.engine.name.clone(),
            weight_format: self.deployment.weight_format.name().to_string(),
            kv_cache_type: self.deployment.kv_cache.name().to_string(),
            calibrated: self.calibrated,
        }
    }
}

/// The hardware file stem a `--hardware` spec names (`jetson-orin-nx-16gb` for a name or for
/// `models/hardware/jetson-orin-nx-16gb.toml`): the key of an engine's `[devices]` tables.
pub fn device_key(hardware_spec: &str) -> String {
    Path::new(hardware_spec).file_stem().map_or_else(|| hardware_spec.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Resolve `spec` for `hw` (whose file stem is `device`); engines are looked up in
/// `engines_dir` unless `spec.engine` is a path. Errors name what exists: unknown engines,
/// unknown formats, formats the engine (or the engine on this device) does not run.
pub fn resolve(spec: &EngineSpec, hw: &Hardware, device: &str, engines_dir: &Path) -> Result<ResolvedDeployment> {
    let engine = find_engine(engines_dir, &spec.engine)?;
    let name = spec.weight_format.clone().unwrap_or_else(|| engine.default_weight_format.clone());
    // A format that computes in a type the device has no peak for (FP8 W8A8 on a Jetson) is
    // refused here, naming the type.
    let weight_format = engine.weight_format_on(&name, device, |t| hw.peak_ops_per_s(t).is_ok())?;
    let kv_cache = match &spec.kv_cache_type {
        Some(k) => engine.kv_cache_type(k)?,
        None => engine.default_kv_cache()?,
    };
    let (hardware, calibrated) = engine.apply_to(hw, device);
    let compute = engine.required_compute(&name);
    Ok(ResolvedDeployment { engine, deployment: Deployment { weight_format, kv_cache }, hardware, calibrated, compute })
}

/// The shipped engines folder (`models/engines/`).
pub fn engines_dir() -> std::path::PathBuf {
    crate::models_dir().join("engines")
}
