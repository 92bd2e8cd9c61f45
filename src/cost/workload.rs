//! The workload an architecture is costed under.

use crate::architecture::Architecture;
use crate::cost::storage::{Deployment, Storage};
use crate::error::{Error, Origin, Result};
use crate::precision::Precision;
use serde::{Deserialize, Serialize};

/// Batch, prompt and generation lengths and data types. Defaults are the paper's
/// (B = 1, S_in = 1024, S_out = 16, bf16 everywhere).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Sequences processed together B.
    pub batch: u32,
    /// Prompt tokens per sequence S_in.
    pub prompt_tokens: u32,
    /// Generated tokens per sequence S_out (number of decode steps).
    pub gen_tokens: u32,
    /// Data types of weights, KV cache and compute.
    pub precision: Precision,
    /// An engine's storage formats; when set they replace `precision.weights` and
    /// `precision.kv_cache` for every byte the model moves or holds.
    #[serde(skip)]
    pub deploy: Option<Deployment>,
}

impl Default for Workload {
    fn default() -> Self {
        Workload { batch: 1, prompt_tokens: 1024, gen_tokens: 16, precision: Precision::default(), deploy: None }
    }
}

impl Workload {
    /// Check ranges; errors name the field.
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::invalid(origin, "batch", 0, "must be a positive integer"));
        }
        if self.prompt_tokens == 0 {
            return Err(Error::invalid(origin, "prompt", 0, "must be a positive integer (prompt tokens)"));
        }
        Ok(())
    }
    /// Bytes per stored element of `arch` under this workload, with `p` the storage types of
    /// a design (the deployment's formats win when set).
    pub fn storage(&self, arch: &Architecture, p: &Precision) -> Result<Storage> {
        Storage::of(self.deploy.as_ref(), arch, p)
    }

    /// Sequence length the KV cache must hold: S_in + S_out.
    pub fn context_tokens(&self) -> u64 {
        self.prompt_tokens as u64 + self.gen_tokens as u64
    }
}
