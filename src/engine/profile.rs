//! Calibrated terms of one engine on one device: the same `[efficiency]` and `[overhead]`
//! tables as a hardware file (models/hardware/README.md), so a profile fitted by
//! `colaw calibrate` can be moved between the two without renaming a key.
//!
//! The tables are `hardware::{Efficiency, ClassEfficiency, Overhead}` themselves.

use crate::error::{Error, Origin, Result};
use serde::{Deserialize, Serialize};

pub use crate::hardware::{ClassEfficiency, Efficiency, Overhead};

/// An engine's calibrated terms on one device (a `[devices.<hardware>]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// Efficiency factors (default 1).
    #[serde(default)]
    pub efficiency: Efficiency,
    /// Fixed overheads (default 0).
    #[serde(default)]
    pub overhead: Overhead,
    /// Formats this engine runs on this device, when fewer than the engine's list (e.g. no
    /// FP8 kernels before compute capability 8.9). Absent: all of the engine's formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_formats: Option<Vec<String>>,
    /// Where the numbers come from (a calibration data file, a hardware file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free-form notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Written by `colaw calibrate`: how the terms were fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<toml::Table>,
}

impl DeviceProfile {
    /// Check ranges; `prefix` is the table path (`devices.<name>`) used in error messages.
    pub fn validate(&self, origin: &Origin, prefix: &str) -> Result<()> {
        let frac = |field: &str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::invalid(origin, format!("{prefix}.{field}"), v, "an efficiency must lie in (0, 1]"))
            }
        };
        let e = &self.efficiency;
        frac("efficiency.compute", e.compute)?;
        frac("efficiency.bandwidth", e.bandwidth)?;
        for (name, c) in [("gemm", e.gemm), ("attention", e.attention), ("elementwise", e.elementwise), ("moe", e.moe)]
        {
            if let Some(c) = c {
                frac(&format!("efficiency.{name}.compute"), c.compute)?;
                frac(&format!("efficiency.{name}.bandwidth"), c.bandwidth)?;
            }
        }
        self.overhead.validate(origin, &format!("{prefix}.overhead"))
    }
}
