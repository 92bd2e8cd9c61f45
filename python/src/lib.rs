//! `colaw._colaw`: the PyO3 glue under the `colaw` Python package. Every function takes plain
//! values (strings, JSON text, numpy buffers), calls one library entry point
//! (`colaw::embed` and the modules it names) with the GIL released, and returns JSON text or
//! fills buffers; the Python layer (`python/colaw/__init__.py`) builds dicts and DataFrames.
//! Errors are `colaw.ColawError` carrying colaw's message. Python callables (objective
//! terms, oracles) are called back with the GIL re-acquired, in batches where the solver
//! scores many designs at once.

use colaw::architecture::{load_arch, parse_arch_str, to_hf_config, Architecture, HfOptions};
use colaw::embed::{self, DesignColumns, EvalSetup, Evaluator, FitRequest, InstanceSource, TableOutput};
use colaw::error::Origin;
use colaw::hardware::read_latency_samples;
use colaw::instance::{Instance, SettingNames, SolverSpec};
use colaw::law::read_coefficient_samples;
use colaw::objective::{DesignView, ObjectiveTerm};
use colaw::oracle::{Design, Oracle};
use colaw::outer::{Journal, LoopOptions, OuterLoop, Strategy, Uncertainty};
use colaw::region::{region, RegionOptions};
use colaw::scenario::BudgetMetric;
use colaw::solve::{solve, SolveOptions};
use pyo3::buffer::PyBuffer;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Deserialize;
use std::path::Path;
use std::sync::{Arc, Mutex};

create_exception!(
    _colaw,
    ColawError,
    PyException,
    "An error reported by colaw (its message names the file, field and value)."
);

fn err(e: impl std::fmt::Display) -> PyErr {
    ColawError::new_err(e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(err)
}

/// An architecture: a preset name or file path, or (`is_json`) a colaw/HF JSON object.
fn arch_of(spec: &str, is_json: bool) -> colaw::Result<Architecture> {
    if is_json {
        parse_arch_str(spec, "json", &Origin::file("<architecture dict>"))
    } else {
        load_arch(spec)
    }
}

fn instance_of(kind: &str, text: &str) -> colaw::Result<Instance> {
    embed::load_instance(match kind {
        "path" => InstanceSource::Path(Path::new(text)),
        "toml" => InstanceSource::Toml(text),
        _ => InstanceSource::Json(text),
    })
}

/// `colaw params`: JSON of the counts and the architecture.
#[pyfunction]
fn params_json(py: Python<'_>, arch: &str, is_json: bool) -> PyResult<String> {
    py.detach(|| {
        let a = arch_of(arch, is_json).map_err(err)?;
        let p = a.params();
        json(&serde_json::json!({
            "name": a.name, "total": p.total, "embedding": p.embedding, "lm_head": p.lm_head,
            "non_embedding": p.non_embedding, "active": p.active, "per_layer": p.per_layer, "arch": a,
        }))
    })
}

/// `colaw eval`: JSON of the evaluation.
#[pyfunction]
fn evaluate_json(py: Python<'_>, arch: &str, is_json: bool, setup: &str) -> PyResult<String> {
    py.detach(|| {
        let s: EvalSetup = serde_json::from_str(setup).map_err(err)?;
        let a = arch_of(arch, is_json).map_err(err)?;
        json(&Evaluator::new(&s).map_err(err)?.evaluate(&a).map_err(err)?)
    })
}

/// A contiguous int64/float64 numpy column as a slice. The buffer stays alive (and must not
/// be resized) while the slice is used.
fn slice_of<T: pyo3::buffer::Element>(b: &PyBuffer<T>) -> PyResult<&[T]> {
    if !b.is_c_contiguous() {
        return Err(err("columns must be contiguous arrays"));
    }
    // SAFETY: a C-contiguous buffer of item_count elements of T, held by `b`.
    Ok(unsafe { std::slice::from_raw_parts(b.buf_ptr() as *const T, b.item_count()) })
}

/// As [`slice_of`], writable.
#[allow(clippy::mut_from_ref)]
fn slice_mut_of<T: pyo3::buffer::Element>(b: &PyBuffer<T>) -> PyResult<&mut [T]> {
    if !b.is_c_contiguous() || b.readonly() {
        return Err(err("output columns must be writable contiguous arrays"));
    }
    // SAFETY: a writable C-contiguous buffer of item_count elements of T, held by `b`; the
    // Python caller passes freshly allocated arrays that nothing else references.
    Ok(unsafe { std::slice::from_raw_parts_mut(b.buf_ptr() as *mut T, b.item_count()) })
}

/// Evaluate a table of designs: `columns` maps column names to int64 arrays (or None),
/// `out_f` is a (9, n) float64 array (loss … memory_bytes), `out_i` a (2, n) int64 array
/// (params, active_params). Returns the device memory in bytes.
#[pyfunction]
fn evaluate_table(
    py: Python<'_>,
    setup: &str,
    columns: &Bound<'_, PyDict>,
    out_f: &Bound<'_, PyAny>,
    out_i: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    let s: EvalSetup = serde_json::from_str(setup).map_err(err)?;
    let names = [
        "layers",
        "hidden",
        "heads",
        "kv_heads",
        "head_dim",
        "ffn",
        "experts",
        "active_experts",
        "vocab",
        "tied",
        "qkv_bias",
    ];
    let mut bufs: Vec<Option<PyBuffer<i64>>> = Vec::new();
    for n in names {
        bufs.push(match columns.get_item(n)? {
            Some(v) if !v.is_none() => Some(PyBuffer::<i64>::get(&v)?),
            _ => None,
        });
    }
    let col = |i: usize| -> PyResult<Option<&[i64]>> { bufs[i].as_ref().map(slice_of).transpose() };
    let req = |i: usize| -> PyResult<&[i64]> {
        col(i)?.ok_or_else(|| err(format!("the design table needs a `{}` column", names[i])))
    };
    let t = DesignColumns {
        layers: req(0)?,
        hidden: req(1)?,
        heads: req(2)?,
        kv_heads: col(3)?,
        head_dim: col(4)?,
        ffn: req(5)?,
        experts: col(6)?,
        active_experts: col(7)?,
        vocab: req(8)?,
        tied: col(9)?,
        qkv_bias: col(10)?,
    };
    let fb = PyBuffer::<f64>::get(out_f)?;
    let ib = PyBuffer::<i64>::get(out_i)?;
    let n = t.layers.len();
    let f = slice_mut_of(&fb)?;
    let i = slice_mut_of(&ib)?;
    if f.len() != 9 * n || i.len() != 2 * n {
        return Err(err(format!("output arrays must be (9, {n}) float64 and (2, {n}) int64")));
    }
    let (loss, f) = f.split_at_mut(n);
    let (prefill_ms, f) = f.split_at_mut(n);
    let (decode_ms, f) = f.split_at_mut(n);
    let (tpot_ms, f) = f.split_at_mut(n);
    let (total_ms, f) = f.split_at_mut(n);
    let (weights_bytes, f) = f.split_at_mut(n);
    let (kv_cache_bytes, f) = f.split_at_mut(n);
    let (activations_bytes, memory_bytes) = f.split_at_mut(n);
    let (params, active_params) = i.split_at_mut(n);
    let mut out = TableOutput {
        loss,
        prefill_ms,
        decode_ms,
        tpot_ms,
        total_ms,
        weights_bytes,
        kv_cache_bytes,
        activations_bytes,
        memory_bytes,
        params,
        active_params,
    };
    py.detach(|| {
        let ev = Evaluator::new(&s).map_err(err)?;
        ev.evaluate_table(&t, &mut out).map_err(err)?;
        Ok(ev.capacity_bytes())
    })
}

/// `colaw predict`: predicted latency (ms) per row of a measurement CSV.
#[pyfunction]
#[pyo3(signature = (measurements, hardware, engine=None, weight_format=None, kv_cache_type=None))]
fn predict(
    py: Python<'_>,
    measurements: &str,
    hardware: &str,
    engine: Option<&str>,
    weight_format: Option<&str>,
    kv_cache_type: Option<&str>,
) -> PyResult<Vec<f64>> {
    py.detach(|| embed::predict(Path::new(measurements), hardware, engine, weight_format, kv_cache_type).map_err(err))
}

/// `colaw fit`: JSON of [`colaw::embed::FitOutcome`].
#[pyfunction]
fn fit_json(py: Python<'_>, data: &str, law: &str, request: &str) -> PyResult<String> {
    py.detach(|| {
        let r: FitRequest = serde_json::from_str(request).map_err(err)?;
        json(&embed::fit(Path::new(data), law, &r).map_err(err)?)
    })
}

/// A custom objective term: a Python callable taking a JSON list of design records
/// (`colaw::embed::design_record`) and returning one float per record. The first exception
/// it raises is kept and re-raised after the solve (its designs score NaN, which no solver
/// picks).
struct PyTerm {
    name: String,
    func: Py<PyAny>,
    lower_bound: f64,
    error: Mutex<Option<PyErr>>,
}

impl ObjectiveTerm for PyTerm {
    fn name(&self) -> &str {
        &self.name
    }
    fn value(&self, design: &DesignView) -> f64 {
        let mut v = Vec::with_capacity(1);
        self.values(std::slice::from_ref(design), &mut v);
        v.first().copied().unwrap_or(f64::NAN)
    }
    fn values(&self, designs: &[DesignView], out: &mut Vec<f64>) {
        let records: Vec<serde_json::Value> = designs.iter().map(embed::design_record).collect();
        let text = serde_json::to_string(&records).unwrap_or_default();
        let res: PyResult<Vec<f64>> = Python::attach(|py| {
            let v: Vec<f64> = self.func.call1(py, (text,))?.extract(py)?;
            if v.len() != designs.len() {
                return Err(err(format!(
                    "objective term `{}` returned {} values for {} designs",
                    self.name,
                    v.len(),
                    designs.len()
                )));
            }
            Ok(v)
        });
        match res {
            Ok(v) => out.extend(v),
            Err(e) => {
                self.error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                out.extend(std::iter::repeat_n(f64::NAN, designs.len()));
            }
        }
    }
    fn lower_bound(&self) -> f64 {
        self.lower_bound
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct SolveRequest {
    solver: Option<String>,
    time_limit: Option<f64>,
    top_k: Option<usize>,
    gap: Option<f64>,
    threads: Option<u32>,
    seed: Option<u32>,
    budget_from: Option<String>,
}

/// `colaw solve`: (solution JSON, JSON list of {"config": …} or {"error": …} per design).
/// `terms` are (name, callable, lower bound) triples added to the objective.
#[pyfunction]
fn solve_json(
    py: Python<'_>,
    kind: &str,
    source: &str,
    request: &str,
    terms: Vec<(String, Py<PyAny>, f64)>,
) -> PyResult<(String, String)> {
    let r: SolveRequest = serde_json::from_str(request).map_err(err)?;
    let terms: Vec<Arc<PyTerm>> = terms
        .into_iter()
        .map(|(name, func, lower_bound)| Arc::new(PyTerm { name, func, lower_bound, error: Mutex::new(None) }))
        .collect();
    let out = py.detach(|| -> PyResult<(String, String)> {
        let mut inst = instance_of(kind, source).map_err(err)?;
        if let Some(b) = &r.budget_from {
            inst = colaw::pareto::with_budgets_from(&inst, &load_arch(b).map_err(err)?).map_err(err)?;
        }
        for t in &terms {
            inst.add_term(t.clone());
        }
        let mut s = inst.solver.clone();
        let flags = SolverSpec {
            kind: s.kind.clone(),
            time_limit_s: r.time_limit,
            gap: r.gap,
            threads: r.threads,
            seed: r.seed,
            top_k: r.top_k,
            max_candidates: None,
        };
        s.apply(&flags, &Origin::default(), SettingNames::Flags).map_err(err)?;
        let kind = r.solver.clone().unwrap_or_else(|| s.kind.clone());
        let sol = solve(&inst, &kind, &SolveOptions::from_settings(&s)).map_err(err)?;
        let configs: Vec<serde_json::Value> = sol
            .designs
            .iter()
            .map(|d| match d.hf_config(&inst) {
                Ok(c) => serde_json::json!({ "config": c }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            })
            .collect();
        Ok((json(&sol)?, json(&configs)?))
    });
    for t in &terms {
        if let Some(e) = t.error.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(e);
        }
    }
    out
}

/// The Hugging Face config of an architecture (JSON).
#[pyfunction]
#[pyo3(signature = (arch, is_json, weight_dtype="bf16", max_tokens=0, rope_theta=None))]
fn hf_config_json(
    py: Python<'_>,
    arch: &str,
    is_json: bool,
    weight_dtype: &str,
    max_tokens: u64,
    rope_theta: Option<f64>,
) -> PyResult<String> {
    py.detach(|| {
        let a = arch_of(arch, is_json).map_err(err)?;
        let mut o = HfOptions::for_design(weight_dtype, max_tokens);
        if let Some(t) = rope_theta {
            o.rope_theta = t;
        }
        json(&to_hf_config(&a, &o).map_err(err)?)
    })
}

/// `colaw region`: JSON of the region (every design's statistics and the summary indices).
#[pyfunction]
#[pyo3(signature = (kind, source, samples=None, latency_samples=None, target_loss=None))]
fn region_json(
    py: Python<'_>,
    kind: &str,
    source: &str,
    samples: Option<&str>,
    latency_samples: Option<&str>,
    target_loss: Option<f64>,
) -> PyResult<String> {
    py.detach(|| {
        let inst = instance_of(kind, source).map_err(err)?;
        let coef = match samples {
            Some(p) => read_coefficient_samples(Path::new(p), inst.law.as_ref()).map_err(err)?,
            None => Vec::new(),
        };
        let lat = match latency_samples {
            Some(p) => read_latency_samples(Path::new(p)).map_err(err)?,
            None => Vec::new(),
        };
        if coef.is_empty() && lat.is_empty() {
            return Err(err(
                "give samples (law coefficients) and/or latency_samples: without samples there is no uncertainty",
            ));
        }
        let opts = RegionOptions { target_loss, latency_scenarios: None };
        json(&region(&inst, &coef, &lat, &opts).map_err(err)?)
    })
}

/// `colaw pareto`: JSON list of the front's points.
#[pyfunction]
#[pyo3(signature = (kind, source, x, scenario=None, points=0, solver="auto", samples=None))]
#[allow(clippy::too_many_arguments)]
fn pareto_json(
    py: Python<'_>,
    kind: &str,
    source: &str,
    x: &str,
    scenario: Option<&str>,
    points: usize,
    solver: &str,
    samples: Option<&str>,
) -> PyResult<String> {
    py.detach(|| {
        let inst = instance_of(kind, source).map_err(err)?;
        let metric = BudgetMetric::parse(x).map_err(err)?;
        let s = match scenario {
            Some(n) => inst.scenarios.iter().position(|x| x.name == n).ok_or_else(|| {
                err(format!(
                    "unknown scenario `{n}`; the instance has {}",
                    inst.scenarios.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?,
            None => 0,
        };
        let opts = SolveOptions { compare_exact: false, ..SolveOptions::from_instance(&inst) };
        let mut front = colaw::pareto::pareto(&inst, metric, s, points, solver, &opts).map_err(err)?;
        if let Some(p) = samples {
            let coef = read_coefficient_samples(Path::new(p), inst.law.as_ref()).map_err(err)?;
            colaw::pareto::add_loss_bands(&inst, &mut front, &coef).map_err(err)?;
        }
        json(&front)
    })
}

/// An oracle: a Python callable taking a design as JSON text and returning its loss.
struct PyOracle {
    func: Py<PyAny>,
    name: String,
}

impl Oracle for PyOracle {
    fn evaluate(&self, design: &Design) -> Result<f64, String> {
        let text = serde_json::to_string(design).map_err(|e| e.to_string())?;
        Python::attach(|py| {
            let loss: f64 = self
                .func
                .call1(py, (text,))
                .and_then(|v| v.extract(py))
                .map_err(|e| format!("Python oracle `{}`: {e}", self.name))?;
            if loss.is_finite() && loss > 0.0 {
                Ok(loss)
            } else {
                Err(format!("Python oracle `{}` returned {loss}; a loss must be a finite positive number", self.name))
            }
        })
    }
    fn describe(&self) -> String {
        format!("python:{}", self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoopRequest {
    data: String,
    journal: String,
    init: usize,
    rounds: usize,
    per_round: usize,
    stop_confidence: f64,
    uncertainty: String,
    bootstrap: usize,
    samples: usize,
    seed: u64,
    jobs: usize,
    retries: usize,
    strategy: String,
    starts: usize,
}

/// `colaw loop` with a Python oracle: JSON of the report.
#[pyfunction]
fn loop_json(
    py: Python<'_>,
    kind: &str,
    source: &str,
    oracle: Py<PyAny>,
    name: String,
    request: &str,
) -> PyResult<String> {
    let r: LoopRequest = serde_json::from_str(request).map_err(err)?;
    let oracle = PyOracle { func: oracle, name };
    py.detach(|| {
        let inst = instance_of(kind, source).map_err(err)?;
        let uncertainty = match r.uncertainty.as_str() {
            "bootstrap" => Uncertainty::Bootstrap,
            m => Uncertainty::Posterior(colaw::law::posterior::PosteriorOptions {
                method: m.parse().map_err(|_| err(format!("uncertainty `{m}`: expected laplace, rto or bootstrap")))?,
                ..Default::default()
            }),
        };
        let opts = LoopOptions {
            rounds: r.rounds,
            per_round: r.per_round,
            stop_confidence: r.stop_confidence,
            uncertainty,
            bootstrap: r.bootstrap,
            samples: r.samples,
            seed: r.seed,
            jobs: r.jobs,
            retries: r.retries,
            starts: colaw::law::Starts::Lhs(r.starts.max(1)),
            strategy: r.strategy.parse::<Strategy>().map_err(err)?,
            ..LoopOptions::default()
        };
        let journal = Journal::new(Path::new(&r.journal)).map_err(err)?;
        // One lock over the initial designs and the rounds (Journal::lock).
        let _lock = journal.lock().map_err(err)?;
        let lp = OuterLoop::new(&inst, &oracle, opts, journal);
        let data = Path::new(&r.data);
        if !data.exists() && r.init > 0 {
            lp.measure_initial(r.init, data).map_err(err)?;
        }
        let report = lp.run(data).map_err(err)?;
        json(&serde_json::json!({
            "choice": report.choice,
            "confidence": report.confidence,
            "stop": report.stop,
            "rounds": report.rounds.len(),
            "calls": report.calls,
            "measured": report.measured,
            "failed": report.failed,
            "intervals": report.rounds.last().map(colaw::outer::intervals),
            "journal": report.journal,
        }))
    })
}

/// The compiled half of the `colaw` package.
#[pymodule]
fn _colaw(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ColawError", m.py().get_type::<ColawError>())?;
    m.add("TABLE_COLUMNS", TableOutput::COLUMNS.to_vec())?;
    m.add_function(wrap_pyfunction!(params_json, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_json, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_table, m)?)?;
    m.add_function(wrap_pyfunction!(predict, m)?)?;
    m.add_function(wrap_pyfunction!(fit_json, m)?)?;
    m.add_function(wrap_pyfunction!(solve_json, m)?)?;
    m.add_function(wrap_pyfunction!(hf_config_json, m)?)?;
    m.add_function(wrap_pyfunction!(region_json, m)?)?;
    m.add_function(wrap_pyfunction!(pareto_json, m)?)?;
    m.add_function(wrap_pyfunction!(loop_json, m)?)?;
    Ok(())
}
