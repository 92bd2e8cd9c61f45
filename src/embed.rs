//! Entry points for embedding colaw in another language (the Python package in `python/`):
//! each command's work behind one call that takes plain values (strings, numbers, columns)
//! and returns library types, so the bindings stay glue. Nothing here prints or writes files.
//!
//! - [`EvalSetup`] → [`Evaluator`]: the device, workload, engine and law of `colaw eval`,
//!   resolved once; [`Evaluator::evaluate`] is `eval` of one architecture,
//!   [`Evaluator::evaluate_table`] evaluates a table of designs given as columns (rows that
//!   share a width configuration share its costs, as the solvers do);
//! - [`predict`]: `colaw predict` of a measurement CSV (the predicted latencies);
//! - [`FitRequest`] → [`fit`]: `colaw fit` with bootstrap samples;
//! - [`InstanceSource`] → [`load_instance`]: an instance from a path, TOML text or JSON text;
//! - [`design_record`]: what a custom objective term written in another language sees of a
//!   design.

use crate::architecture::Architecture;
use crate::cost::{CostModel, Mode, WidthCosts, Workload};
use crate::deployment::{device_key, engines_dir, resolve, EngineSpec, ResolvedDeployment, NEEDS_ENGINE};
use crate::error::{Error, Origin, Result};
use crate::eval::{evaluate, predict_loss, Evaluation};
use crate::hardware::{load_hardware, Hardware};
use crate::instance::{Instance, InstanceFile};
use crate::law::bootstrap::{bootstrap, samples_csv, BootstrapOptions};
use crate::law::fit::{to_theta, FitModel, FitOptions, LseModel, Starts};
use crate::law::noise::{fit_seed_weighted, lack_of_fit_at};
use crate::law::{load_law, read_observations, ColumnMap, LawInputs, LossLaw, PowerLaw};
use crate::measurement::{read_measurements, Phase};
use crate::objective::DesignView;
use crate::precision::{DType, Precision};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Device, workload, engine and law of an evaluation, as `colaw eval` takes them on the
/// command line (the same defaults).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSetup {
    /// Hardware file or name under models/hardware/.
    pub hardware: String,
    /// Sequences per batch.
    pub batch: u32,
    /// Prompt tokens per sequence (S_in).
    pub prompt: u32,
    /// Generated tokens per sequence (S_out).
    pub gen: u32,
    /// Weight storage type.
    pub weight_dtype: String,
    /// KV-cache storage type.
    pub kv_dtype: String,
    /// Compute type.
    pub compute_dtype: String,
    /// Inference engine (models/engines/), if any.
    pub engine: Option<String>,
    /// The engine's weight format.
    pub weight_format: Option<String>,
    /// The engine's KV-cache type.
    pub kv_cache_type: Option<String>,
    /// Law file or name under models/laws/; None: no loss.
    pub law: Option<String>,
    /// Training tokens for laws with a data term.
    pub tokens: Option<f64>,
    /// The paper's pure roofline.
    pub paper_mode: bool,
}

impl Default for EvalSetup {
    fn default() -> Self {
        EvalSetup {
            hardware: String::new(),
            batch: 1,
            prompt: 1024,
            gen: 16,
            weight_dtype: "bf16".into(),
            kv_dtype: "bf16".into(),
            compute_dtype: "bf16".into(),
            engine: None,
            weight_format: None,
            kv_cache_type: None,
            law: Some("paper".into()),
            tokens: None,
            paper_mode: false,
        }
    }
}

/// A resolved [`EvalSetup`].
pub struct Evaluator {
    /// The device (the engine's calibrated terms applied, when one is given).
    pub hardware: Hardware,
    /// The workload.
    pub workload: Workload,
    /// Cost-model mode.
    pub mode: Mode,
    /// The law, when one is given.
    pub law: Option<PowerLaw>,
    /// Training tokens.
    pub tokens: Option<f64>,
    /// The engine deployment, when one is given.
    pub deployment: Option<ResolvedDeployment>,
    model: CostModel,
}

/// The engine deployment named by the three engine settings on `hw` (given as `spec`).
pub fn resolve_engine(
    hw: &Hardware,
    hardware_spec: &str,
    engine: Option<&str>,
    weight_format: Option<&str>,
    kv_cache_type: Option<&str>,
) -> Result<Option<ResolvedDeployment>> {
    let spec = EngineSpec::from_parts(engine, weight_format, kv_cache_type)
        .map_err(|(field, v)| Error::invalid(&Origin::default(), field, v, format!("needs engine ({NEEDS_ENGINE})")))?;
    match spec {
        Some(spec) => resolve(&spec, hw, &device_key(hardware_spec), &engines_dir()).map(Some),
        None => Ok(None),
    }
}

impl Evaluator {
    /// Load the device, engine and law; validate the workload.
    pub fn new(s: &EvalSetup) -> Result<Self> {
        let o = Origin::default();
        let mut hw = load_hardware(&s.hardware)?;
        let mut workload = Workload {
            batch: s.batch,
            prompt_tokens: s.prompt,
            gen_tokens: s.gen,
            precision: Precision {
                weights: DType::parse_field(&s.weight_dtype, &o, "weight_dtype")?,
                kv_cache: DType::parse_field(&s.kv_dtype, &o, "kv_dtype")?,
                compute: DType::parse_field(&s.compute_dtype, &o, "compute_dtype")?,
            },
            deploy: None,
        };
        workload.validate(&o)?;
        let deployment = resolve_engine(
            &hw,
            &s.hardware,
            s.engine.as_deref(),
            s.weight_format.as_deref(),
            s.kv_cache_type.as_deref(),
        )?;
        if let Some(d) = &deployment {
            hw = d.hardware.clone();
            workload.deploy = Some(d.deployment);
            if let Some(t) = d.compute {
                workload.precision.compute = t;
            }
        }
        let law = s.law.as_deref().map(load_law).transpose()?;
        let mode = if s.paper_mode { Mode::Paper } else { Mode::Full };
        let model = CostModel::with_mode(&hw, &workload, mode)?;
        Ok(Evaluator { hardware: hw, workload, mode, law, tokens: s.tokens, deployment, model })
    }

    /// `colaw eval` of one architecture.
    pub fn evaluate(&self, arch: &Architecture) -> Result<Evaluation> {
        let law = self.law.as_ref().map(|l| l as &dyn LossLaw);
        let mut ev = evaluate(arch, &self.hardware, &self.workload, self.mode, law, self.tokens)?;
        ev.deployment = self.deployment.as_ref().map(|d| d.report());
        ev.warnings.extend(crate::fragility::for_evaluation(
            &self.hardware,
            law,
            self.tokens,
            arch,
            ev.memory_bytes.total,
        ));
        Ok(ev)
    }

    /// Device memory a model may use, bytes (capacity less the device's reserve), what
    /// `fits_memory` compares with.
    pub fn capacity_bytes(&self) -> f64 {
        self.hardware.usable_memory_bytes()
    }

    /// Evaluate every row of `t` into `out` (parallel; rows that share a width configuration
    /// with the row before them reuse its costs, as the solvers' sweep does). The results
    /// equal [`Evaluator::evaluate`]'s. The first invalid row (lowest index) is the error,
    /// naming the row and the column.
    pub fn evaluate_table(&self, t: &DesignColumns, out: &mut TableOutput) -> Result<()> {
        let n = t.rows()?;
        out.check(n)?;
        const CHUNK: usize = 8192;
        let law = self.law.as_ref();
        let tokens = self.tokens.or(law.and_then(|l| l.default_tokens()));
        let separable = law.is_some_and(|l| l.is_separable());
        let errors: Vec<Error> = out
            .loss
            .par_chunks_mut(CHUNK)
            .zip(out.prefill_ms.par_chunks_mut(CHUNK))
            .zip(out.decode_ms.par_chunks_mut(CHUNK))
            .zip(out.tpot_ms.par_chunks_mut(CHUNK))
            .zip(out.total_ms.par_chunks_mut(CHUNK))
            .zip(out.weights_bytes.par_chunks_mut(CHUNK))
            .zip(out.kv_cache_bytes.par_chunks_mut(CHUNK))
            .zip(out.activations_bytes.par_chunks_mut(CHUNK))
            .zip(out.memory_bytes.par_chunks_mut(CHUNK))
            .zip(out.params.par_chunks_mut(CHUNK))
            .zip(out.active_params.par_chunks_mut(CHUNK))
            .enumerate()
            .filter_map(|(c, ((((((((((loss, pre), dec), tpot), tot), wb), kvb), ab), mb), p), ap))| {
                // The previous row's width configuration, its costs and (separable law) its
                // width part of the loss.
                let mut prev: Option<(Architecture, WidthCosts, f64)> = None;
                // Depth parts of a separable law by depth (a space has few depths).
                let mut depth_parts: std::collections::HashMap<u32, f64> = std::collections::HashMap::new();
                for k in 0..loss.len() {
                    let row = c * CHUNK + k;
                    let arch = match t.arch(row) {
                        Ok(a) => a,
                        Err(e) => return Some(e),
                    };
                    let same =
                        prev.as_ref().is_some_and(|(a, _, _)| Architecture { layers: a.layers, ..arch.clone() } == *a);
                    if !same {
                        if self.workload.deploy.is_some() {
                            if let Err(e) = self.model.storage(&arch) {
                                return Some(Error::Unsupported(format!("row {row}: {e}")));
                            }
                        }
                        let g = match law {
                            Some(l) if separable => l.width_part(&LawInputs::from_arch(&arch, tokens)),
                            _ => f64::NAN,
                        };
                        prev = Some((arch.clone(), self.model.width_costs(&arch), g));
                    }
                    let (m, g) = prev.as_ref().map(|(_, wc, g)| (wc.at_depth(arch.layers), *g)).unwrap_or_default();
                    loss[k] = match law {
                        // The split the solvers use: depth part + width part.
                        Some(l) if separable => {
                            *depth_parts.entry(arch.layers).or_insert_with(|| l.depth_part(arch.layers as f64)) + g
                        }
                        Some(l) => l.loss(&LawInputs::from_arch(&arch, tokens)),
                        None => f64::NAN,
                    };
                    pre[k] = m.latency_ms.prefill;
                    dec[k] = m.latency_ms.decode;
                    tpot[k] = m.latency_ms.tpot;
                    tot[k] = m.latency_ms.total;
                    wb[k] = m.memory_bytes.weights;
                    kvb[k] = m.memory_bytes.kv_cache;
                    ab[k] = m.memory_bytes.activations;
                    mb[k] = m.memory_bytes.total;
                    let pc = arch.params();
                    p[k] = pc.total as i64;
                    ap[k] = pc.active as i64;
                }
                None
            })
            .collect();
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        // A law that needs tokens and has none: one error, as `evaluate` gives, not NaNs.
        if let (Some(l), true) = (law, n > 0) {
            predict_loss(l, &t.arch(0)?, self.tokens)?;
        }
        Ok(())
    }
}

/// A table of designs as columns (one value per row). Optional columns take the defaults of
/// a colaw architecture file: `kv_heads` = heads, `head_dim` = hidden/heads, one expert,
/// one active expert, untied, no Q/K/V bias. Booleans are 0/1.
#[derive(Debug, Clone, Copy, Default)]
pub struct DesignColumns<'a> {
    /// Layers.
    pub layers: &'a [i64],
    /// Hidden size.
    pub hidden: &'a [i64],
    /// Query heads.
    pub heads: &'a [i64],
    /// KV heads.
    pub kv_heads: Option<&'a [i64]>,
    /// Head dimension.
    pub head_dim: Option<&'a [i64]>,
    /// FFN size per expert.
    pub ffn: &'a [i64],
    /// Experts.
    pub experts: Option<&'a [i64]>,
    /// Active experts.
    pub active_experts: Option<&'a [i64]>,
    /// Vocabulary.
    pub vocab: &'a [i64],
    /// Tied embeddings (0/1).
    pub tied: Option<&'a [i64]>,
    /// Q/K/V bias (0/1).
    pub qkv_bias: Option<&'a [i64]>,
}

impl DesignColumns<'_> {
    /// Rows; every column must have the same length.
    pub fn rows(&self) -> Result<usize> {
        let n = self.layers.len();
        let cols: [(&str, Option<&[i64]>); 11] = [
            ("layers", Some(self.layers)),
            ("hidden", Some(self.hidden)),
            ("heads", Some(self.heads)),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("ffn", Some(self.ffn)),
            ("experts", self.experts),
            ("active_experts", self.active_experts),
            ("vocab", Some(self.vocab)),
            ("tied", self.tied),
            ("qkv_bias", self.qkv_bias),
        ];
        for (name, c) in cols {
            if let Some(c) = c {
                if c.len() != n {
                    return Err(Error::invalid(
                        &Origin::default(),
                        name,
                        format!("{} rows", c.len()),
                        format!("every column needs the same number of rows as `layers` ({n})"),
                    ));
                }
            }
        }
        Ok(n)
    }

    /// The validated architecture of row `i`; errors name the row and the column.
    pub fn arch(&self, i: usize) -> Result<Architecture> {
        let origin = Origin::default();
        let located = |e: Error| match e {
            Error::Invalid { field, value, allowed, .. } => {
                Error::Invalid { origin: origin.clone(), field: format!("row {i}: {field}"), value, allowed }
            }
            other => other,
        };
        let flag = |c: Option<&[i64]>, name: &str| -> Result<bool> {
            match c.map(|c| c[i]) {
                None | Some(0) => Ok(false),
                Some(1) => Ok(true),
                Some(v) => {
                    Err(Error::invalid(&origin, format!("row {i}: {name}"), v, "must be true or false (0 or 1)"))
                }
            }
        };
        let pos = |v: i64, name: &str| -> Result<u32> {
            if v <= 0 || v > u32::MAX as i64 {
                Err(Error::invalid(&origin, format!("row {i}: {name}"), v, "must be a positive integer"))
            } else {
                Ok(v as u32)
            }
        };
        let hidden = pos(self.hidden[i], "hidden")?;
        let heads = pos(self.heads[i], "heads")?;
        let head_dim = match self.head_dim {
            Some(c) => pos(c[i], "head_dim")?,
            None if hidden % heads == 0 => hidden / heads,
            None => {
                return Err(Error::invalid(
                    &origin,
                    format!("row {i}: heads"),
                    heads,
                    format!("must divide hidden = {hidden} when there is no head_dim column"),
                ))
            }
        };
        let arch = Architecture {
            name: None,
            layers: pos(self.layers[i], "layers")?,
            hidden,
            heads,
            kv_heads: pos(self.kv_heads.map_or(self.heads[i], |c| c[i]), "kv_heads")?,
            head_dim,
            ffn: pos(self.ffn[i], "ffn")?,
            experts: pos(self.experts.map_or(1, |c| c[i]), "experts")?,
            active_experts: pos(self.active_experts.map_or(1, |c| c[i]), "active_experts")?,
            vocab: pos(self.vocab[i], "vocab")?,
            tied_embeddings: flag(self.tied, "tied")?,
            qkv_bias: flag(self.qkv_bias, "qkv_bias")?,
        };
        arch.validate(&origin).map_err(located)?;
        Ok(arch)
    }
}

/// Output columns of [`Evaluator::evaluate_table`], one value per row (`loss` is NaN
/// without a law).
#[derive(Debug, Default)]
pub struct TableOutput<'a> {
    /// Predicted loss.
    pub loss: &'a mut [f64],
    /// Prefill latency, ms.
    pub prefill_ms: &'a mut [f64],
    /// Last decode step, ms.
    pub decode_ms: &'a mut [f64],
    /// Mean decode step, ms.
    pub tpot_ms: &'a mut [f64],
    /// Prefill + every decode step, ms.
    pub total_ms: &'a mut [f64],
    /// Weights, bytes.
    pub weights_bytes: &'a mut [f64],
    /// KV cache, bytes.
    pub kv_cache_bytes: &'a mut [f64],
    /// Activations, bytes.
    pub activations_bytes: &'a mut [f64],
    /// Total memory, bytes.
    pub memory_bytes: &'a mut [f64],
    /// Total parameters.
    pub params: &'a mut [i64],
    /// Active parameters.
    pub active_params: &'a mut [i64],
}

impl TableOutput<'_> {
    /// Names of the output columns, in field order.
    pub const COLUMNS: [&'static str; 11] = [
        "loss",
        "prefill_ms",
        "decode_ms",
        "tpot_ms",
        "total_ms",
        "weights_bytes",
        "kv_cache_bytes",
        "activations_bytes",
        "memory_bytes",
        "params",
        "active_params",
    ];

    fn check(&self, n: usize) -> Result<()> {
        let lens = [
            self.loss.len(),
            self.prefill_ms.len(),
            self.decode_ms.len(),
            self.tpot_ms.len(),
            self.total_ms.len(),
            self.weights_bytes.len(),
            self.kv_cache_bytes.len(),
            self.activations_bytes.len(),
            self.memory_bytes.len(),
            self.params.len(),
            self.active_params.len(),
        ];
        match lens.iter().zip(Self::COLUMNS).find(|(l, _)| **l != n) {
            Some((l, name)) => Err(Error::Unsupported(format!("output column `{name}` holds {l} rows, the table {n}"))),
            None => Ok(()),
        }
    }
}

/// `colaw predict`: the predicted latency (ms) of every row of a measurement CSV on
/// `hardware`, with an engine's calibrated terms when one is named.
pub fn predict(
    measurements: &Path,
    hardware: &str,
    engine: Option<&str>,
    weight_format: Option<&str>,
    kv_cache_type: Option<&str>,
) -> Result<Vec<f64>> {
    let mut hw = load_hardware(hardware)?;
    let deployment = resolve_engine(&hw, hardware, engine, weight_format, kv_cache_type)?;
    if let Some(d) = &deployment {
        hw = d.hardware.clone();
    }
    let mf = read_measurements(measurements)?;
    mf.rows
        .iter()
        .map(|row| {
            let wl = row.workload(deployment.as_ref().map(|d| d.deployment));
            let model = CostModel::new(&hw, &wl).map_err(|e| match e {
                Error::Invalid { field, value, allowed, .. } => Error::Invalid {
                    origin: Origin::line(measurements.display().to_string(), row.line),
                    field,
                    value,
                    allowed,
                },
                other => other,
            })?;
            Ok(model.step_ms(&row.arch, row.phase == Phase::Decode, row.tokens))
        })
        .collect()
}

/// Settings of [`fit`] (the `colaw fit` flags, bootstrap samples only).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitRequest {
    /// Bootstrap resamples (0: none).
    pub bootstrap: usize,
    /// Seed of the bootstrap, Latin-hypercube starts and CV folds.
    pub seed: u64,
    /// Huber δ on log-loss residuals.
    pub huber_delta: f64,
    /// Drop the K highest-loss rows before fitting.
    pub drop_highest: usize,
    /// Starting points: auto, grid, or lhs:N.
    pub starts: String,
    /// Cross-validation folds (0: off).
    pub cv_folds: usize,
    /// Column mapping VAR=COLUMN,….
    pub map: Option<String>,
}

impl Default for FitRequest {
    fn default() -> Self {
        FitRequest {
            bootstrap: 0,
            seed: 0,
            huber_delta: 1e-3,
            drop_highest: 0,
            starts: "auto".into(),
            cv_folds: 5,
            map: None,
        }
    }
}

/// What [`fit`] returns.
#[derive(Debug, Clone, Serialize)]
pub struct FitOutcome {
    /// Law name.
    pub law: String,
    /// Fitted coefficients by name.
    pub coefficients: BTreeMap<String, f64>,
    /// 95 % bootstrap intervals by name (empty without bootstrap).
    pub ci95: BTreeMap<String, [f64; 2]>,
    /// Bootstrap standard errors by name (empty without bootstrap).
    pub stderr: BTreeMap<String, f64>,
    /// Final Huber objective.
    pub objective: f64,
    /// R² of loss.
    pub r2: f64,
    /// RMSE of log loss.
    pub rmse_log: f64,
    /// Cross-validated RMSE of log loss (None without folds).
    pub cv_rmse_log: Option<f64>,
    /// Rows used.
    pub n: usize,
    /// Rows dropped.
    pub dropped: usize,
    /// Starts run.
    pub starts: usize,
    /// Bootstrap resamples kept (finite).
    pub bootstrap: usize,
    /// Resamples that ran a coefficient off to ±∞ (left out).
    pub bootstrap_non_finite: usize,
    /// Warnings of the fit (a code and a message each).
    pub warnings: Vec<crate::util::warning::Warning>,
    /// Rows with several seeds: the lack-of-fit test against their pure error.
    pub lack_of_fit: Option<crate::law::noise::LackOfFit>,
    /// The fitted law file (TOML), as `colaw fit --out` writes it.
    pub law_toml: String,
    /// The samples CSV, as `colaw fit --samples` writes it (None without bootstrap).
    pub samples_csv: Option<String>,
}

/// `colaw fit --law LAW DATA --bootstrap B`: fit `law`'s form to the observations in `data`.
pub fn fit(data: &Path, law: &str, r: &FitRequest) -> Result<FitOutcome> {
    let law = load_law(law)?;
    let model = LseModel::new(&law)?;
    let map = match &r.map {
        Some(m) => ColumnMap::parse(m)?,
        None => ColumnMap::default(),
    };
    let obs = read_observations(data, model.feature_vars(), &map, law.default_tokens())?;
    let opts = FitOptions {
        huber_delta: r.huber_delta,
        drop_highest: r.drop_highest,
        starts: r.starts.parse::<Starts>()?,
        cv_folds: r.cv_folds,
        seed: r.seed,
        ..FitOptions::default()
    };
    // As `colaw fit`: rows with `loss_sd` weighted by their noise, and the lack-of-fit test.
    let refit_starts = opts.starts.clone();
    let (fitter, fit, _) = fit_seed_weighted(&model, &obs, opts, &to_theta(model.kinds(), &law.values), refit_starts)?;
    let lack_of_fit = lack_of_fit_at(&fitter, &fit.theta, &obs);
    let mut warnings = fit.warnings.clone();
    warnings.extend(lack_of_fit.and_then(|l| l.warning()));
    let boot = (r.bootstrap > 0).then(|| {
        bootstrap(&fitter, &fit, &BootstrapOptions { resamples: r.bootstrap, seed: r.seed, ..Default::default() }, None)
    });
    let by_name = |v: &[f64]| fit.names.iter().cloned().zip(v.iter().copied()).collect::<BTreeMap<_, _>>();
    let mut fitted = law.with_values(&fit.values);
    fitted.file.source = Some(format!("fitted by colaw (Python) to {}", data.display()));
    Ok(FitOutcome {
        law: law.name.clone(),
        coefficients: by_name(&fit.values),
        ci95: boot
            .as_ref()
            .map(|b| b.names.iter().cloned().zip(b.ci95.iter().map(|c| [c.0, c.1])).collect())
            .unwrap_or_default(),
        stderr: boot.as_ref().map(|b| by_name(&b.stderr)).unwrap_or_default(),
        objective: fit.objective,
        r2: fit.quality.r2,
        rmse_log: fit.quality.rmse_log,
        cv_rmse_log: fit.quality.cv_rmse_log.is_finite().then_some(fit.quality.cv_rmse_log),
        n: fit.n,
        dropped: fit.dropped,
        starts: fit.starts,
        bootstrap: boot.as_ref().map_or(0, |b| b.samples.len()),
        bootstrap_non_finite: boot.as_ref().map_or(0, |b| b.non_finite),
        warnings,
        lack_of_fit,
        law_toml: fitted.to_toml_string(),
        samples_csv: boot.as_ref().map(samples_csv).transpose()?,
    })
}

/// Where an instance comes from.
#[derive(Debug, Clone, Copy)]
pub enum InstanceSource<'a> {
    /// An instance file.
    Path(&'a Path),
    /// TOML text (relative paths resolve against the working directory).
    Toml(&'a str),
    /// JSON text of the same schema (what a Python dict becomes).
    Json(&'a str),
}

/// Load and validate an instance.
pub fn load_instance(src: InstanceSource) -> Result<Instance> {
    match src {
        InstanceSource::Path(p) => Instance::load(p),
        InstanceSource::Toml(t) => Instance::from_toml_str(t, &Origin::file("<instance text>"), Some(Path::new("."))),
        InstanceSource::Json(t) => {
            let origin = Origin::file("<instance dict>");
            let file: InstanceFile =
                serde_json::from_str(t).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
            Instance::from_file(file, &origin, Some(Path::new(".")), "instance")
        }
    }
}

/// What a custom objective term written outside Rust sees of a design: the architecture
/// fields, storage types, parameter counts, and per scenario (instance order) its latencies
/// (ms) and memory (bytes); the first scenario's metrics are repeated at the top level.
pub fn design_record(d: &DesignView) -> serde_json::Value {
    let a = d.arch;
    let metrics: Vec<serde_json::Value> = d
        .metrics
        .iter()
        .map(|m| {
            serde_json::json!({
                "prefill_ms": m.latency_ms.prefill, "decode_ms": m.latency_ms.decode,
                "tpot_ms": m.latency_ms.tpot, "total_ms": m.latency_ms.total,
                "weights_bytes": m.memory_bytes.weights, "kv_cache_bytes": m.memory_bytes.kv_cache,
                "activations_bytes": m.memory_bytes.activations, "memory_bytes": m.memory_bytes.total,
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "label": a.label(),
        "layers": a.layers, "hidden": a.hidden, "heads": a.heads, "kv_heads": a.kv_heads,
        "head_dim": a.head_dim, "ffn": a.ffn, "experts": a.experts, "active_experts": a.active_experts,
        "vocab": a.vocab, "tied": a.tied_embeddings, "qkv_bias": a.qkv_bias,
        "weight_dtype": d.width.weights.to_string(), "kv_dtype": d.width.kv_cache.to_string(),
        "params": d.params.total, "active_params": d.params.active,
    });
    if let (Some(obj), Some(serde_json::Value::Object(first))) = (v.as_object_mut(), metrics.first()) {
        for (k, x) in first {
            obj.insert(k.clone(), x.clone());
        }
    }
    v["scenarios"] = serde_json::Value::Array(metrics);
    v
}
