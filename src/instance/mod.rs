//! Problem instances: the TOML file users write (`InstanceFile`, inputs only, with
//! defaults) and its validated, resolved form ([`Instance`]) that the solvers read.
//!
//! The schema is documented field by field in `docs/instances.md`. Every bad value gives one
//! [`Error`] naming the file, the field, the value and what is allowed.

use crate::cost::{Mode, Workload};
use crate::error::{read_file, Error, Origin, Result};
use crate::hardware::{load_hardware, read_latency_samples, Hardware};
use crate::law::load_law;
use crate::law::{read_coefficient_samples, LossLaw, Var};
use crate::objective::{builtin_term, ObjectiveTerm, ObjectiveTermSpec};
use crate::precision::{DType, Precision};
use crate::scenario::{Budget, BudgetMetric, Scenario};
use crate::space::{Space, SpaceSpec};
use crate::uncertainty::{Risk, RobustSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod file;
mod robust;
mod settings;
pub use file::{
    BudgetSpec, HardwareSpec, InstanceFile, LawSpec, ObjectiveSpec, RobustSection, ScenarioSpec, SolverSpec,
};
use robust::*;
pub use settings::{SettingNames, SolverSettings};

/// A validated instance, ready for the solvers.
#[derive(Clone)]
pub struct Instance {
    /// Name.
    pub name: String,
    /// Where it was loaded from, if a file.
    pub path: Option<PathBuf>,
    /// Enumerated design space.
    pub space: Space,
    /// Loss law.
    pub law: Arc<dyn LossLaw>,
    /// Training tokens passed to the law.
    pub tokens: Option<f64>,
    /// Scenarios.
    pub scenarios: Vec<Scenario>,
    /// Budgets over all scenarios.
    pub budgets: Vec<Budget>,
    /// Weight of the law's loss.
    pub loss_weight: f64,
    /// Extra objective terms (built-in from the file, custom from Rust).
    pub terms: Vec<Arc<dyn ObjectiveTerm>>,
    /// Solver settings from the file.
    pub solver: SolverSettings,
    /// `[robust]` with its samples loaded (None: select on the point estimates).
    pub robust: Option<Arc<RobustSpec>>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.name)
            .field("widths", &self.space.widths.len())
            .field("depths", &self.space.depths)
            .field("law", &self.law.name())
            .field("scenarios", &self.scenarios.iter().map(|s| &s.name).collect::<Vec<_>>())
            .field("budgets", &self.budgets)
            .field("terms", &self.terms.iter().map(|t| t.name()).collect::<Vec<_>>())
            .field(
                "robust",
                &self.robust.as_ref().map(|r| {
                    format!(
                        "{} over {} coefficient samples, {} latency samples, chance {:?}",
                        r.risk,
                        r.coefficients.len(),
                        r.latency.len(),
                        r.chance_epsilon
                    )
                }),
            )
            .finish()
    }
}

impl Instance {
    /// Load and validate an instance file.
    pub fn load(path: &Path) -> Result<Instance> {
        Self::load_with(path, None)
    }

    /// [`Instance::load`] with `--max-candidates` (when given) replacing the file's
    /// `[solver] max_candidates`.
    pub fn load_with(path: &Path, max_candidates: Option<u64>) -> Result<Instance> {
        let text = read_file(path)?;
        let origin = Origin::file(path.display().to_string());
        let mut file: InstanceFile =
            toml::from_str(&text).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        if max_candidates.is_some() {
            file.solver.max_candidates = max_candidates;
        }
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let mut inst = Self::from_file(file, &origin, path.parent(), &stem)?;
        inst.path = Some(path.to_path_buf());
        Ok(inst)
    }

    /// Parse TOML text (paths resolve against `base`).
    pub fn from_toml_str(text: &str, origin: &Origin, base: Option<&Path>) -> Result<Instance> {
        let file: InstanceFile =
            toml::from_str(text).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        Self::from_file(file, origin, base, "instance")
    }

    /// Resolve and validate a parsed file.
    pub fn from_file(file: InstanceFile, origin: &Origin, base: Option<&Path>, stem: &str) -> Result<Instance> {
        let resolve = |s: &str| -> String {
            let p = Path::new(s);
            match base {
                Some(b) if p.is_relative() && (s.contains('/') || s.ends_with(".toml")) && b.join(p).is_file() => {
                    b.join(p).display().to_string()
                }
                _ => s.to_string(),
            }
        };
        // Law.
        let law = load_law(&resolve(&file.law.name)).map_err(|e| match e {
            Error::Unknown { hint, .. } => Error::invalid(origin, "law.name", format!("\"{}\"", file.law.name), hint),
            other => other,
        })?;
        if let Some(t) = file.law.tokens {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::invalid(origin, "law.tokens", t, "must be a positive number of training tokens"));
            }
        }
        let tokens = file.law.tokens.or(law.default_tokens());
        if tokens.is_none() && law.variables().contains(&Var::Tokens) {
            return Err(Error::missing(
                origin,
                "law.tokens",
                format!("law `{}` has a data term and its file sets no `tokens`", law.name),
            ));
        }
        // Space.
        let max_candidates = match file.solver.max_candidates {
            Some(0) => return Err(Error::invalid(origin, "solver.max_candidates", 0, "must be at least 1")),
            Some(n) => n,
            None => crate::limits::DEFAULT_MAX_CANDIDATES,
        };
        let space = file.space.enumerate_limited(origin, max_candidates)?;
        // Scenarios and budgets.
        if file.scenarios.is_empty() {
            return Err(Error::missing(
                origin,
                "scenario",
                "add at least one [[scenario]] with a hardware and budgets",
            ));
        }
        let mut scenarios = Vec::new();
        let mut budgets = Vec::new();
        for (i, s) in file.scenarios.iter().enumerate() {
            let f = |name: &str| format!("scenario[{i}].{name}");
            let name = s.name.clone().unwrap_or_else(|| format!("scenario{i}"));
            if scenarios.iter().any(|x: &Scenario| x.name == name) {
                return Err(Error::invalid(origin, f("name"), format!("\"{name}\""), "scenario names must be unique"));
            }
            let hardware = match &s.hardware {
                HardwareSpec::Name(n) => load_hardware(&resolve(n)).map_err(|e| match e {
                    Error::Unknown { hint, .. } => Error::invalid(origin, f("hardware"), format!("\"{n}\""), hint),
                    other => other,
                })?,
                HardwareSpec::Inline(h) => {
                    h.validate(&Origin {
                        file: origin.file.as_ref().map(|p| format!("{p} [{}]", f("hardware"))),
                        line: None,
                    })?;
                    (**h).clone()
                }
            };
            let mut compute = DType::parse_field(&s.compute_dtype, origin, &f("compute_dtype"))?;
            let spec = crate::deployment::EngineSpec::from_parts(
                s.engine.as_deref(),
                s.weight_format.as_deref(),
                s.kv_cache_type.as_deref(),
            )
            .map_err(|(field, v)| {
                Error::invalid(
                    origin,
                    f(field),
                    format!("\"{v}\""),
                    format!("needs `engine` in the same scenario ({})", crate::deployment::NEEDS_ENGINE),
                )
            })?;
            let (hardware, deploy) = match spec {
                None => (hardware, None),
                Some(mut spec) => {
                    let e = spec.engine.clone();
                    spec.engine = resolve(&e);
                    let device = match &s.hardware {
                        HardwareSpec::Name(n) => crate::deployment::device_key(n),
                        HardwareSpec::Inline(_) => String::new(),
                    };
                    let r = crate::deployment::resolve(&spec, &hardware, &device, &crate::deployment::engines_dir())
                        .map_err(|err| {
                            let field = match &err {
                                Error::Unknown { kind, .. } if kind == "engine" => "engine",
                                Error::Unknown { kind, .. } if kind.contains("KV") => "kv_cache_type",
                                _ => "weight_format",
                            };
                            let value = match field {
                                "engine" => e.clone(),
                                "kv_cache_type" => s.kv_cache_type.clone().unwrap_or_default(),
                                _ => s.weight_format.clone().unwrap_or_default(),
                            };
                            Error::invalid(origin, f(field), format!("\"{value}\""), err.to_string())
                        })?;
                    if let Some(t) = r.compute {
                        compute = t;
                    }
                    if space
                        .widths
                        .iter()
                        .any(|w| w.weights != space.widths[0].weights || w.kv_cache != space.widths[0].kv_cache)
                    {
                        return Err(Error::invalid(
                            origin,
                            f("engine"),
                            format!("\"{e}\""),
                            "with an engine the scenario's weight_format and kv_cache_type fix every stored byte: give the space a single weight_dtype and kv_dtype",
                        ));
                    }
                    (r.hardware, Some(r.deployment))
                }
            };
            let workload = Workload {
                batch: s.batch,
                prompt_tokens: s.prompt,
                gen_tokens: s.gen,
                precision: Precision { weights: DType::Bf16, kv_cache: DType::Bf16, compute },
                deploy,
            };
            if s.batch == 0 {
                return Err(Error::invalid(origin, f("batch"), 0, "must be a positive integer"));
            }
            if s.prompt == 0 {
                return Err(Error::invalid(origin, f("prompt"), 0, "must be a positive integer (prompt tokens)"));
            }
            if let Err(e) = hardware.peak_ops_per_s(compute) {
                return Err(Error::invalid(origin, f("compute_dtype"), format!("\"{compute}\""), e.to_string()));
            }
            let b = &s.budget;
            let mut add = |metric: BudgetMetric, field: &str, v: Option<f64>, scale: f64| -> Result<()> {
                if let Some(v) = v {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(Error::invalid(
                            origin,
                            f(&format!("budget.{field}")),
                            v,
                            "must be a positive finite number",
                        ));
                    }
                    budgets.push(Budget {
                        scenario: i,
                        scenario_name: name.clone(),
                        metric,
                        limit: v * scale,
                        source: format!("budget.{field}"),
                    });
                }
                Ok(())
            };
            add(BudgetMetric::PrefillMs, "prefill_ms", b.prefill_ms, 1.0)?;
            add(BudgetMetric::DecodeMs, "decode_ms", b.decode_ms, 1.0)?;
            add(BudgetMetric::TpotMs, "tpot_ms", b.tpot_ms, 1.0)?;
            add(BudgetMetric::TotalMs, "total_ms", b.total_ms, 1.0)?;
            add(BudgetMetric::MemoryBytes, "memory_gb", b.memory_gb, 1e9)?;
            add(BudgetMetric::Params, "params", b.params, 1.0)?;
            add(BudgetMetric::ActiveParams, "active_params", b.active_params, 1.0)?;
            if b.device_memory && b.memory_gb.is_none_or(|m| m * 1e9 > hardware.memory_bytes()) {
                budgets.push(Budget {
                    scenario: i,
                    scenario_name: name.clone(),
                    metric: BudgetMetric::MemoryBytes,
                    limit: hardware.memory_bytes(),
                    source: "device memory".into(),
                });
            }
            scenarios.push(Scenario {
                name,
                hardware,
                workload,
                mode: if s.paper_mode { Mode::Paper } else { Mode::Full },
            });
        }
        // Objective.
        let o = &file.objective;
        if !(o.loss_weight.is_finite() && o.loss_weight >= 0.0) {
            return Err(Error::invalid(origin, "objective.loss_weight", o.loss_weight, "must be a finite number ≥ 0"));
        }
        let mut terms: Vec<Arc<dyn ObjectiveTerm>> = Vec::new();
        for (i, t) in o.terms.iter().enumerate() {
            terms.push(builtin_term(t, i, &scenarios, origin)?);
        }
        // Solver.
        let s = &file.solver;
        let kinds = ["auto", "mip", "mip-assign", "enum", "analytic"];
        if !kinds.contains(&s.kind.as_str()) {
            return Err(Error::invalid(
                origin,
                "solver.kind",
                format!("\"{}\"", s.kind),
                format!("one of {}", kinds.join(", ")),
            ));
        }
        let mut solver = SolverSettings { kind: s.kind.clone(), ..Default::default() };
        solver.apply(s, origin, SettingNames::File)?;
        let law: Arc<dyn LossLaw> = Arc::new(law);
        let robust = match &file.robust {
            Some(r) => Some(Arc::new(resolve_robust(r, origin, base, &scenarios, law.as_ref())?)),
            None => None,
        };
        Ok(Instance {
            name: file.name.clone().unwrap_or_else(|| stem.to_string()),
            path: None,
            space,
            law,
            tokens,
            scenarios,
            budgets,
            loss_weight: o.loss_weight,
            terms,
            solver,
            robust,
        })
    }

    /// Add a custom objective term (registered from Rust).
    pub fn add_term(&mut self, term: Arc<dyn ObjectiveTerm>) {
        self.terms.push(term);
    }

    /// Replace the law (any [`LossLaw`] registered from Rust). Training tokens the file did
    /// not give come from the new law's default. Coefficient samples of a `[robust]`
    /// section belong to the old law and must match the new one's coefficients in number.
    pub fn set_law(&mut self, law: Arc<dyn LossLaw>) -> Result<()> {
        if let Some(r) = &self.robust {
            let n = law.coefficients().len();
            if let Some(s) = r.coefficients.iter().find(|s| s.len() != n) {
                return Err(Error::Unsupported(format!(
                    "[robust] coefficient samples have {} values; law `{}` has {n} coefficients",
                    s.len(),
                    law.name()
                )));
            }
        }
        if self.tokens.is_none() {
            self.tokens = law.default_tokens();
        }
        self.law = law;
        Ok(())
    }

    /// Number of candidate designs (widths × depths).
    pub fn candidates(&self) -> u64 {
        self.space.widths.len() as u64 * self.space.depths.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
name = "small"
[space]
layers = [4, 8]
hidden = [512, 1024]
head_dim = [64]
kv_heads = [1, "heads"]
ffn_ratio = [2.0]
vocab = [32000]
[[scenario]]
hardware = "jetson-orin-nano-8gb"
[scenario.budget]
tpot_ms = 20
"#;

    #[test]
    fn parses_small() {
        let i = Instance::from_toml_str(SMALL, &Origin::file("s.toml"), None).unwrap();
        assert_eq!(i.space.depths, vec![4, 8]);
        assert_eq!(i.space.widths.len(), 4);
        assert_eq!(i.budgets.len(), 2, "{:?}", i.budgets);
        assert_eq!(i.candidates(), 8);
    }

    #[test]
    fn file_roundtrips_through_toml() {
        let f: InstanceFile = toml::from_str(SMALL).unwrap();
        let text = toml::to_string(&f).unwrap();
        let back = Instance::from_toml_str(&text, &Origin::default(), None).unwrap();
        let orig = Instance::from_toml_str(SMALL, &Origin::default(), None).unwrap();
        assert_eq!(back.space.widths, orig.space.widths);
        assert_eq!(back.budgets.len(), orig.budgets.len());
    }

    #[test]
    fn bad_budget_named() {
        let t = SMALL.replace("tpot_ms = 20", "tpot_ms = -3");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("scenario[0].budget.tpot_ms") && e.contains("-3"), "{e}");
    }

    #[test]
    fn unknown_hardware_named() {
        let t = SMALL.replace("jetson-orin-nano-8gb", "jetson-nope");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("scenario[0].hardware") && e.contains("jetson-nope") && e.contains("known"), "{e}");
    }

    #[test]
    fn missing_compute_peak_named() {
        let t = SMALL.replace("jetson-orin-nano-8gb\"", "paper-hypothetical-edge\"");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("scenario[0].compute_dtype") && e.contains("bf16") && e.contains("int8"), "{e}");
    }

    #[test]
    fn robust_section_checked_at_load() {
        let t = format!("{SMALL}[robust]\nsamples = 'x.csv'\nalpha = 0.1\n");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("`alpha`") && e.contains("latency_samples"), "{e}");
        let t = format!("{SMALL}[robust]\nsamples = 'no-such-samples.csv'\n");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("robust.samples") && e.contains("no-such-samples.csv"), "{e}");
        let f: InstanceFile = toml::from_str(SMALL).unwrap();
        assert!(f.robust.is_none() && !toml::to_string(&f).unwrap().contains("robust"));
    }

    #[test]
    fn unknown_key_named() {
        let t = SMALL.replace("[space]", "[space]\nlayer = [3]");
        let e = Instance::from_toml_str(&t, &Origin::file("s.toml"), None).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains("layer"), "{e}");
    }
}
