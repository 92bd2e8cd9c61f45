//! colaw — hardware co-design scaling laws for on-device LLMs.
//!
//! The numerical core (architecture, precision, hardware, cost, law) does no I/O beyond
//! loading its own model files; the command line lives in [`cli`].
#![warn(missing_docs)]

pub mod architecture;
pub mod batch;
pub mod bench;
pub mod calibrate;
pub mod cli;
pub mod cost;
pub mod deployment;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fragility;
pub mod gen;
pub mod hardware;
pub mod instance;
pub mod law;
pub mod limits;
pub mod measurement;
pub mod objective;
pub mod oracle;
pub mod outer;
pub mod pareto;
pub mod plot;
pub mod precision;
pub mod region;
pub mod scenario;
pub mod solve;
pub mod space;
pub mod uncertainty;
pub mod util;

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
    if let Some(p) = std::env::var_os("COLAW_MODELS").filter(|p| !p.is_empty()) {
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

/// Resolve a model file named on the command line: an existing path, or `NAME.toml` under
/// `models/<subdir>/`. The error lists what is shipped.
pub fn resolve_model_file(spec: &str, subdir: &str, kind: &str) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let dir = models_dir().join(subdir);
    let f = dir.join(format!("{spec}.toml"));
    if f.is_file() {
        return Ok(f);
    }
    Err(Error::Unknown {
        kind: kind.into(),
        name: spec.into(),
        hint: format!("not a file and not under models/{subdir}/; known: {}", list_stems(&dir, "toml").join(", ")),
    })
}
