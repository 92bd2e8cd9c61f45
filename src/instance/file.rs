//! The instance file as users write it (`InstanceFile`): inputs only, with their defaults;
//! the schema is documented field by field in `docs/instances.md`.

use super::*;

/// An instance file as written (user inputs only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFile {
    /// Display name (defaults to the file stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The design space.
    pub space: SpaceSpec,
    /// The loss law.
    #[serde(default)]
    pub law: LawSpec,
    /// Deployment scenarios; one architecture must meet the budgets of every one.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<ScenarioSpec>,
    /// Objective: the law's loss plus optional weighted terms.
    #[serde(default)]
    pub objective: ObjectiveSpec,
    /// Solver settings.
    #[serde(default)]
    pub solver: SolverSpec,
    /// Robust selection over coefficient and latency samples (absent: the point estimates).
    #[serde(default)]
    pub robust: Option<RobustSection>,
}

/// `[robust]`: choose by a risk measure over bootstrap coefficient samples of the law, and
/// optionally require the budgets in a share of latency-calibration samples. Paths are
/// relative to the instance file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustSection {
    /// Bootstrap coefficient samples (`colaw fit --bootstrap B --samples FILE`).
    #[serde(default)]
    pub samples: Option<String>,
    /// `mean` or `cvar:ALPHA` (default mean).
    #[serde(default)]
    pub risk: Option<String>,
    /// Latency-calibration samples (`colaw calibrate --samples FILE`), for `chance`.
    #[serde(default)]
    pub latency_samples: Option<String>,
    /// Chance constraint ε: the budgets must hold in at least (1 − ε) of the latency samples.
    #[serde(default)]
    pub chance: Option<f64>,
    /// Scenarios (by name) whose device the latency samples describe (default: every one).
    #[serde(default)]
    pub latency_scenarios: Option<Vec<String>>,
}

/// `[law]`: a law name under `models/laws/` or a path (relative to the instance file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawSpec {
    /// `paper`, `chinchilla`, or a law file path.
    #[serde(default = "default_law")]
    pub name: String,
    /// Training tokens for laws with a data term (default: the law file's `tokens`).
    #[serde(default)]
    pub tokens: Option<f64>,
}

pub(super) fn default_law() -> String {
    "paper".into()
}

impl Default for LawSpec {
    fn default() -> Self {
        LawSpec { name: default_law(), tokens: None }
    }
}

/// A hardware: a name under `models/hardware/`, a path, or an inline table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HardwareSpec {
    /// Name or path.
    Name(String),
    /// Inline hardware table (the hardware file schema).
    Inline(Box<Hardware>),
}

/// `[[scenario]]`: a device, a workload and budgets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Name (default `scenario<i>`).
    #[serde(default)]
    pub name: Option<String>,
    /// The device.
    pub hardware: HardwareSpec,
    /// Sequences per batch (default 1).
    #[serde(default = "one_u32")]
    pub batch: u32,
    /// Prompt tokens (default 1024).
    #[serde(default = "default_prompt")]
    pub prompt: u32,
    /// Generated tokens (default 16).
    #[serde(default = "default_gen")]
    pub gen: u32,
    /// Compute data type (default bf16).
    #[serde(default = "default_compute")]
    pub compute_dtype: String,
    /// Inference engine (a name under `models/engines/`, an alias, or a path to an engine
    /// file): its weight format and KV cache set every stored byte, its attention kernel and
    /// its calibrated terms on this device (if any) replace the hardware file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The engine's weight format (default: the engine's default). Needs `engine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_format: Option<String>,
    /// The engine's KV-cache type (default: the engine's default). Needs `engine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_type: Option<String>,
    /// The paper's pure roofline (no embeddings/LM head/norms/overheads, η = 1).
    #[serde(default)]
    pub paper_mode: bool,
    /// Budgets.
    #[serde(default)]
    pub budget: BudgetSpec,
}

pub(super) fn one_u32() -> u32 {
    1
}
pub(super) fn default_prompt() -> u32 {
    1024
}
pub(super) fn default_gen() -> u32 {
    16
}
pub(super) fn default_compute() -> String {
    "bf16".into()
}

/// `[scenario.budget]`: upper limits; absent means unconstrained.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Prefill latency, ms.
    #[serde(default)]
    pub prefill_ms: Option<f64>,
    /// Last decode step, ms.
    #[serde(default)]
    pub decode_ms: Option<f64>,
    /// Mean time per output token, ms.
    #[serde(default)]
    pub tpot_ms: Option<f64>,
    /// End to end (prefill + every decode step), ms.
    #[serde(default)]
    pub total_ms: Option<f64>,
    /// Memory (weights + KV cache + activations), 10⁹ bytes.
    #[serde(default)]
    pub memory_gb: Option<f64>,
    /// Total parameters.
    #[serde(default)]
    pub params: Option<f64>,
    /// Active parameters per token.
    #[serde(default)]
    pub active_params: Option<f64>,
    /// Also require the memory total to fit the device's memory (default true).
    #[serde(default = "yes")]
    pub device_memory: bool,
}

pub(super) fn yes() -> bool {
    true
}

/// `[objective]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Weight of the law's loss (default 1; 0 drops it).
    #[serde(default = "one_f64")]
    pub loss_weight: f64,
    /// Weighted built-in terms.
    #[serde(default, rename = "term")]
    pub terms: Vec<ObjectiveTermSpec>,
}

pub(super) fn one_f64() -> f64 {
    1.0
}

impl Default for ObjectiveSpec {
    fn default() -> Self {
        ObjectiveSpec { loss_weight: 1.0, terms: vec![] }
    }
}

/// `[solver]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSpec {
    /// auto, mip, mip-assign, enum or analytic.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Seconds (default 60).
    #[serde(default)]
    pub time_limit_s: Option<f64>,
    /// Relative MIP gap at which to stop (default 0: prove optimality).
    #[serde(default)]
    pub gap: Option<f64>,
    /// Threads (default 1).
    #[serde(default)]
    pub threads: Option<u32>,
    /// HiGHS random seed (default 0).
    #[serde(default)]
    pub seed: Option<u32>,
    /// Number of best distinct designs to return (default 1).
    #[serde(default)]
    pub top_k: Option<usize>,
    /// Largest product of the space's grid sizes accepted (default
    /// [`crate::limits::DEFAULT_MAX_CANDIDATES`]); `--max-candidates` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_candidates: Option<u64>,
}

pub(super) fn default_kind() -> String {
    "auto".into()
}

impl Default for SolverSpec {
    fn default() -> Self {
        SolverSpec {
            kind: default_kind(),
            time_limit_s: None,
            gap: None,
            threads: None,
            seed: None,
            top_k: None,
            max_candidates: None,
        }
    }
}
