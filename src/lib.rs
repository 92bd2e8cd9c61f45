//! colaw — hardware co-design scaling laws for on-device LLMs.
//!
//! The numerical core (architecture, precision, hardware, cost, law) does no I/O beyond
//! loading its own model files; the command line lives in [`cli`].
#![warn(missing_docs)]

pub mod architecture;
pub mod batch;
pub mod cli;
pub mod cost;
pub mod error;
pub mod eval;
pub mod hardware;
pub mod instance;
pub mod law;
pub mod measurement;
pub mod objective;
pub mod precision;
pub mod solve;
pub mod space;

pub use architecture::{Architecture, ParamCounts};
pub use cost::{CostModel, Metrics, Workload};
pub use error::{Error, Result};
pub use hardware::Hardware;
pub use law::{LawInputs, LossLaw, PowerLaw};
pub use precision::{DType, Precision};

use std::path::{Path, PathBuf};

/// The `models/` folder: `$COLAW_MODELS` if set, else `./models` when it exists, else the
/// one shipped with the source tree this binary was built from.
pub fn models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("COLAW_MODELS") {
        return PathBuf::from(p);
    }
    let local = Path::new("models");
    if local.join("hardware").is_dir() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// File stems with a given extension in a folder, sorted (empty when the folder is absent).
pub fn list_stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            if p.extension()? == ext {
                Some(p.file_stem()?.to_string_lossy().into_owned())
            } else {
                None
            }
        })
        .collect();
    v.sort();
    v
}
