//! Calibration of the cost model's free terms against measured latencies.
//!
//! The free terms are the efficiency factors of each operator class (fraction of peak
//! compute and of peak bandwidth, in (0, 1]) and the fixed overheads per forward step and per
//! layer (≥ 0, ms). They are fitted with argmin's L-BFGS on the mean squared log ratio
//! log(predicted/measured) — a relative error, so a 10 µs decode step counts as much as a
//! 100 ms prefill. Bounds are enforced by reparametrisation: η = sigmoid(θ), overhead = e^θ.
//! A tiny ridge towards the device's datasheet values keeps terms the data cannot see
//! (e.g. attention compute when every row is a short decode) where they were.

use crate::cost::{causal_pairs, gemv_rows, step_ops, Mode, OpList, Step};
use crate::error::{Error, Result};
use crate::hardware::{
    EfficiencyTerms, Hardware, OpClass, N_EFF, N_EFFICIENCY_TERMS as N_TERMS, PER_ATTENTION_PAIR, PER_GEMV_ROW,
    PER_LAYER, PER_MOE_LAYER, PER_STEP, PER_TOKEN, PER_TOKEN_LAYER, PREFILL_LAYER, PREFILL_STEP,
};
use crate::measurement::{Measurement, Phase};
use crate::util::rng::mix_seed;
use crate::util::stats::quantile_of;
use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

/// One measurement reduced to what the fit needs: per operator its ideal (η = 1) compute
/// and memory times, and how often it runs.
#[derive(Debug, Clone)]
pub struct CalRow {
    /// Line in the measurement file.
    pub line: usize,
    /// Phase.
    pub phase: Phase,
    /// Batch.
    pub batch: u32,
    /// Architecture label (cross-validation folds group rows of one architecture).
    pub arch_key: String,
    /// Cross-validation group: rows of one group are held out together. The architecture
    /// label unless the caller groups otherwise (by source, by device: [`CalRow::group`]).
    pub group: String,
    /// Measured latency, ms.
    pub measured_ms: f64,
    layers: f64,
    moe: bool,
    /// Forward steps (micro-batches of a prefill).
    steps: f64,
    /// Whether the steps are prefill steps.
    prefill: bool,
    /// New tokens × batch summed over the steps (per layer, and once).
    tokens: f64,
    /// Causal (query, key) pairs × batch summed over the steps, per layer.
    pairs: f64,
    /// Matrix-vector output rows summed over the steps ([`crate::cost::gemv_rows`]).
    gemv_rows: f64,
    /// (class index, compute ms at η=1, memory ms at η=1, multiplicity).
    ops: Vec<(usize, f64, f64, f64)>,
}

/// Reduce measurements to calibration rows, with errors naming the row.
pub fn prepare(rows: &[Measurement], hw: &Hardware, file: &str) -> Result<Vec<CalRow>> {
    let mut out = Vec::with_capacity(rows.len());
    let bw_per_ms = hw.bandwidth_gbps * 1e9 / 1e3;
    let mut ops = OpList::default();
    for m in rows {
        let origin = crate::error::Origin::line(file, m.line);
        let measured_ms = m.latency_ms.ok_or_else(|| {
            Error::missing(&origin, "latency_ms", "calibration needs a measured latency in every row")
        })?;
        let peak_per_ms = hw.peak_ops_per_s(m.precision.compute).map_err(|e| {
            Error::invalid(
                &origin,
                "compute_dtype",
                m.precision.compute,
                format!("the cost model cannot cost this row: {e}"),
            )
        })?;
        let peak_per_ms = peak_per_ms / 1e3;
        // (new tokens, cached positions) of each forward step the row times.
        let chunks: Vec<(u32, u32)> = match m.phase {
            Phase::Prefill => hw.overhead.prefill_chunks(m.tokens).collect(),
            Phase::Decode => vec![(1, m.tokens)],
        };
        let storage = m.storage()?;
        let l = m.arch.layers as f64;
        let b = m.batch as f64;
        let mut v = Vec::new();
        let (mut tokens, mut pairs, mut rows) = (0.0, 0.0, 0.0);
        for &(t, c) in &chunks {
            let (t, c) = (t as f64, c as f64);
            let step = Step { batch: b, new_tokens: t };
            step_ops(&m.arch, &m.precision, &storage, step, Mode::Full, hw.attention_kernel, &mut ops);
            v.extend(ops.as_slice().iter().map(|op| {
                let ci = OpClass::ALL.iter().position(|&x| x == op.class).unwrap_or(0);
                (ci, op.flops.at(c) / peak_per_ms, op.bytes.at(c) / bw_per_ms, if op.per_layer { l } else { 1.0 })
            }));
            tokens += b * t;
            pairs += b * causal_pairs(t).at(c);
            let (per_layer, per_step) = gemv_rows(&m.arch, b * t);
            rows += l * per_layer + per_step;
        }
        out.push(CalRow {
            line: m.line,
            phase: m.phase,
            batch: m.batch,
            arch_key: m.arch.label(),
            group: m.arch.label(),
            measured_ms,
            layers: l,
            moe: m.arch.is_moe(),
            steps: chunks.len() as f64,
            prefill: m.phase == Phase::Prefill,
            tokens,
            pairs,
            gemv_rows: rows,
            ops: v,
        });
    }
    Ok(out)
}

/// Predicted latency of a row under given terms, ms.
pub fn predict(row: &CalRow, t: &EfficiencyTerms) -> f64 {
    let v = &t.values;
    let moe = if row.moe { 1.0 } else { 0.0 };
    let pre = if row.prefill { 1.0 } else { 0.0 };
    let mut ms = row.steps
        * (v[PER_STEP]
            + pre * v[PREFILL_STEP]
            + row.layers * (v[PER_LAYER] + moe * v[PER_MOE_LAYER] + pre * v[PREFILL_LAYER]))
        + row.layers * (row.tokens * v[PER_TOKEN_LAYER] + row.pairs * v[PER_ATTENTION_PAIR])
        + row.gemv_rows * v[PER_GEMV_ROW]
        + row.tokens * v[PER_TOKEN];
    for &(ci, tc, tm, mult) in &row.ops {
        ms += mult * (tc / v[2 * ci]).max(tm / v[2 * ci + 1]);
    }
    ms
}

/// Prediction and its gradient with respect to θ.
fn predict_grad(row: &CalRow, t: &EfficiencyTerms, g: &mut [f64; N_TERMS]) -> f64 {
    let v = &t.values;
    *g = [0.0; N_TERMS];
    let moe = if row.moe { 1.0 } else { 0.0 };
    let (n, l) = (row.steps, row.layers);
    // d(e^θ)/dθ = e^θ: each overhead's gradient is its own contribution.
    g[PER_STEP] = n * v[PER_STEP];
    g[PER_LAYER] = n * l * v[PER_LAYER];
    g[PER_MOE_LAYER] = n * moe * l * v[PER_MOE_LAYER];
    g[PER_TOKEN_LAYER] = l * row.tokens * v[PER_TOKEN_LAYER];
    g[PER_ATTENTION_PAIR] = l * row.pairs * v[PER_ATTENTION_PAIR];
    let pre = if row.prefill { 1.0 } else { 0.0 };
    g[PREFILL_STEP] = pre * n * v[PREFILL_STEP];
    g[PREFILL_LAYER] = pre * n * l * v[PREFILL_LAYER];
    g[PER_GEMV_ROW] = row.gemv_rows * v[PER_GEMV_ROW];
    g[PER_TOKEN] = row.tokens * v[PER_TOKEN];
    let mut ms = g[N_EFF..].iter().sum::<f64>();
    for &(ci, tc, tm, mult) in &row.ops {
        let (ic, ib) = (2 * ci, 2 * ci + 1);
        let (xc, xb) = (tc / v[ic], tm / v[ib]);
        // d(x/η)/dθ = −(x/η)·(1 − η) for η = sigmoid(θ).
        if xc >= xb {
            ms += mult * xc;
            g[ic] -= mult * xc * (1.0 - v[ic]);
        } else {
            ms += mult * xb;
            g[ib] -= mult * xb * (1.0 - v[ib]);
        }
    }
    ms
}

const RIDGE: f64 = 1e-10;

/// Which terms are fitted freely; the others keep the base hardware's values.
/// `Full` fits the eleven terms of the operator-class model (per class η_compute and
/// η_bandwidth, per-step, per-layer and per-MoE-layer overheads); `Extended` adds the
/// per-token, per-attention-pair, prefill-step, matrix-vector-row and per-token-per-step
/// overheads (seventeen:
/// engines whose prefill and decode steps differ in more than their roofline, e.g. llama.cpp); `Compact` ties the
/// four classes' compute efficiencies into one and their bandwidth efficiencies into one
/// (five free terms), for data too sparse to tell operator classes apart — published
/// single-number benchmarks, a few rows per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TermSet {
    /// The eleven operator-class terms free.
    #[default]
    Full,
    /// Every term free.
    Extended,
    /// Efficiencies tied across operator classes.
    Compact,
}

/// Terms of the eleven-term model (the ones after it came later).
const N_BASE_TERMS: usize = 11;

impl TermSet {
    /// For each term, the free parameter it takes its value from; `None`: fixed.
    fn tie(self) -> [Option<usize>; N_TERMS] {
        match self {
            TermSet::Full => std::array::from_fn(|k| (k < N_BASE_TERMS).then_some(k)),
            TermSet::Extended => std::array::from_fn(Some),
            // Even slots are compute, odd ones bandwidth (hardware::EFFICIENCY_TERM_NAMES).
            TermSet::Compact => {
                std::array::from_fn(
                    |k| {
                        if k < N_EFF {
                            Some(k % 2)
                        } else {
                            (k < N_BASE_TERMS).then_some(k - N_EFF + 2)
                        }
                    },
                )
            }
        }
    }

    /// Number of free parameters.
    pub fn n_free(self) -> usize {
        self.tie().iter().flatten().max().map_or(0, |m| m + 1)
    }

    /// Parse `full`, `extended` or `compact`.
    pub fn parse(s: &str) -> Result<TermSet> {
        match s {
            "full" => Ok(TermSet::Full),
            "extended" => Ok(TermSet::Extended),
            "compact" => Ok(TermSet::Compact),
            other => Err(Error::invalid(&Default::default(), "--terms", other, "full, extended or compact")),
        }
    }

    /// Full θ from the free parameters, fixed terms from `base` (a full θ).
    fn expand(self, reduced: &[f64], base: &[f64]) -> Vec<f64> {
        self.tie().iter().zip(base).map(|(j, b)| j.map_or(*b, |j| reduced[j])).collect()
    }

    /// The terms at free parameters `reduced`; fixed terms are `fixed`'s values exactly (θ
    /// cannot hold an overhead of 0).
    fn terms(self, reduced: &[f64], base: &[f64], fixed: &EfficiencyTerms) -> EfficiencyTerms {
        let mut t = EfficiencyTerms::from_theta(&self.expand(reduced, base));
        for (k, j) in self.tie().iter().enumerate() {
            if j.is_none() {
                t.values[k] = fixed.values[k];
            }
        }
        t
    }

    fn reduce(self, full: &[f64]) -> Vec<f64> {
        let tie = self.tie();
        (0..self.n_free()).map(|j| full[tie.iter().position(|&t| t == Some(j)).unwrap_or(0)]).collect()
    }
}

/// The fitting problem on a (multi)set of rows.
struct CalibrationObjective<'a> {
    rows: &'a [CalRow],
    /// Row indices, repeated for bootstrap resamples.
    idx: &'a [usize],
    /// Prior of the free parameters.
    prior: Vec<f64>,
    /// The prior as a full θ.
    base: Vec<f64>,
    /// The prior's terms: the fixed ones keep these values exactly.
    fixed: EfficiencyTerms,
    set: TermSet,
}

impl CalibrationObjective<'_> {
    fn eval(&self, reduced: &[f64], grad: Option<&mut [f64]>) -> f64 {
        let t = self.set.terms(reduced, &self.base, &self.fixed);
        let n = self.idx.len() as f64;
        let mut f = 0.0;
        let mut gsum = [0.0; N_TERMS];
        let mut g = [0.0; N_TERMS];
        for &i in self.idx {
            let r = &self.rows[i];
            let p = predict_grad(r, &t, &mut g);
            let e = (p / r.measured_ms).ln();
            f += e * e;
            for (s, gk) in gsum.iter_mut().zip(g) {
                *s += 2.0 * e / p * gk;
            }
        }
        f /= n;
        f += RIDGE * reduced.iter().zip(&self.prior).map(|(t, p)| (t - p).powi(2)).sum::<f64>();
        if !f.is_finite() {
            // A finite wall instead of NaN: argmin's line search does not stop on NaN.
            if let Some(out) = grad {
                out.iter_mut().for_each(|o| *o = 0.0);
            }
            return 1e300;
        }
        if let Some(out) = grad {
            for (j, o) in out.iter_mut().enumerate() {
                *o = 2.0 * RIDGE * (reduced[j] - self.prior[j]);
            }
            for (k, j) in self.set.tie().iter().enumerate() {
                if let Some(j) = j {
                    out[*j] += gsum[k] / n;
                }
            }
        }
        f
    }
}

impl CostFunction for CalibrationObjective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.eval(p, None))
    }
}

impl Gradient for CalibrationObjective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        let mut g = vec![0.0; self.set.n_free()];
        self.eval(p, Some(&mut g));
        Ok(g)
    }
}

fn lbfgs(problem: CalibrationObjective<'_>, start: Vec<f64>) -> (Vec<f64>, f64) {
    let f0 = problem.eval(&start, None);
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_cost(1e-12)
        .and_then(|s| s.with_tolerance_grad(1e-10));
    let run =
        solver.and_then(|s| Executor::new(problem, s).configure(|st| st.param(start.clone()).max_iters(500)).run());
    match run {
        Ok(res) => {
            let st = res.state();
            match st.get_best_param() {
                Some(p) if st.get_best_cost().is_finite() && st.get_best_cost() <= f0 => {
                    (p.clone(), st.get_best_cost())
                }
                _ => (start, f0),
            }
        }
        // A failed line search leaves the start as the answer; the multi-start covers it.
        Err(_) => (start, f0),
    }
}

/// Fit the terms on the rows `idx` (indices into `rows`, repeats allowed), from the prior
/// and a few spread starts; returns the best terms and objective.
pub fn fit(
    rows: &[CalRow],
    idx: &[usize],
    prior: &EfficiencyTerms,
    warm: Option<&EfficiencyTerms>,
    set: TermSet,
) -> (EfficiencyTerms, f64) {
    let base = prior.to_theta();
    let p0 = set.reduce(&base);
    let mut starts: Vec<Vec<f64>> = Vec::new();
    if let Some(w) = warm {
        starts.push(set.reduce(&w.to_theta()));
    } else {
        starts.push(p0.clone());
        for (eta, oh) in [(0.5, 1e-3), (0.8, 1e-2), (0.3, 1e-4), (0.65, 5e-3)] {
            let mut t = *prior;
            for i in 0..N_EFF {
                t.values[i] = eta;
            }
            t.values[PER_STEP] = oh * 5.0;
            t.values[PER_LAYER] = oh;
            t.values[PER_MOE_LAYER] = oh;
            // Per token and per pair: the per-layer overhead spread over ~100 tokens and
            // ~10⁴ pairs (a start at 0 could never move: the overheads are fitted as logs).
            // Terms the set keeps fixed ignore these values.
            t.values[PER_TOKEN_LAYER] = oh * 1e-2;
            t.values[PER_ATTENTION_PAIR] = oh * 1e-4;
            t.values[PREFILL_STEP] = oh * 5.0;
            t.values[PREFILL_LAYER] = oh;
            // ~10⁴ rows per block: the per-layer overhead spread over them.
            t.values[PER_GEMV_ROW] = oh * 1e-4;
            t.values[PER_TOKEN] = oh * 1e-2;
            starts.push(set.reduce(&t.to_theta()));
        }
    }
    let mut best = (p0.clone(), f64::INFINITY);
    for s in starts {
        let (th, f) =
            lbfgs(CalibrationObjective { rows, idx, prior: p0.clone(), base: base.clone(), fixed: *prior, set }, s);
        if f < best.1 {
            best = (th, f);
        }
    }
    (set.terms(&best.0, &base, prior), best.1)
}

/// Mean absolute percentage error, %.
pub fn mape(pred: &[f64], meas: &[f64]) -> f64 {
    100.0 * pred.iter().zip(meas).map(|(p, m)| ((p - m) / m).abs()).sum::<f64>() / pred.len().max(1) as f64
}

fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation (average ranks for ties).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}

/// Accuracy of one group of rows (a phase and batch).
#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    /// Phase.
    pub phase: &'static str,
    /// Batch.
    pub batch: u32,
    /// Rows.
    pub n: usize,
    /// MAPE of the datasheet model, %.
    pub mape_uncalibrated: f64,
    /// In-sample MAPE after calibration, %.
    pub mape_calibrated: f64,
    /// k-fold cross-validated MAPE (folds by architecture), %.
    pub mape_cv: f64,
    /// Spearman of the datasheet model.
    pub spearman_uncalibrated: f64,
    /// In-sample Spearman after calibration.
    pub spearman_calibrated: f64,
    /// Cross-validated Spearman.
    pub spearman_cv: f64,
}

/// Result of a calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// Fitted terms.
    pub terms: EfficiencyTerms,
    /// Objective (mean squared log ratio) at the optimum.
    pub objective: f64,
    /// Rows used.
    pub n: usize,
    /// Folds used for cross-validation.
    pub folds: usize,
    /// Per phase and batch accuracy.
    pub groups: Vec<GroupStats>,
    /// All rows together.
    pub overall: GroupStats,
    /// Cross-validated predictions, row order.
    #[serde(skip)]
    pub cv_predictions: Vec<f64>,
}

/// Minimum rows to identify every term (the extended set); a fit refuses fewer than twice its
/// set's free terms ([`TermSet::n_free`]).
pub const MIN_ROWS: usize = 2 * N_TERMS;

/// Calibrate: fit on all rows, cross-validate with `folds` folds grouped by architecture.
pub fn calibrate(rows: &[CalRow], base: &Hardware, folds: usize) -> Result<Calibration> {
    calibrate_with(rows, base, folds, TermSet::Full)
}

/// Calibrate the terms of `set`; cross-validation holds out whole [`CalRow::group`]s, in
/// `folds` folds, or one fold per group when `folds` is 0 (leave one group out).
pub fn calibrate_with(rows: &[CalRow], base: &Hardware, folds: usize, set: TermSet) -> Result<Calibration> {
    calibrate_with_progress(rows, base, folds, set, &|_, _| {})
}

/// [`calibrate_with`], calling `progress(done, total)` after the full fit and after each
/// cross-validation fold's fit (`total` = 1 + folds), for a progress display.
pub fn calibrate_with_progress(
    rows: &[CalRow],
    base: &Hardware,
    folds: usize,
    set: TermSet,
    progress: &dyn Fn(usize, usize),
) -> Result<Calibration> {
    let min_rows = 2 * set.n_free();
    if rows.len() < min_rows {
        return Err(Error::Unsupported(format!(
            "{} measurement rows cannot identify {} terms: give at least {min_rows} rows spanning prefill and decode{}",
            rows.len(),
            set.n_free(),
            if set == TermSet::Compact { "" } else { " (or fit fewer terms: --terms compact)" }
        )));
    }
    let prior = EfficiencyTerms::from_hardware(base);
    let all: Vec<usize> = (0..rows.len()).collect();
    let (terms, objective) = fit(rows, &all, &prior, None, set);
    // Whole groups are held out so CV measures prediction for unseen designs (or sources).
    let mut keys: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    keys.sort();
    keys.dedup();
    let folds = if folds == 0 { keys.len().max(2) } else { folds.clamp(2, keys.len().max(2)) };
    let fold_of = |r: &CalRow| keys.binary_search(&r.group.as_str()).unwrap_or(0) % folds;
    let mut cv = vec![f64::NAN; rows.len()];
    progress(1, folds + 1);
    for k in 0..folds {
        let train: Vec<usize> = all.iter().copied().filter(|&i| fold_of(&rows[i]) != k).collect();
        progress(k + 2, folds + 1);
        if train.len() < min_rows {
            continue;
        }
        let (t, _) = fit(rows, &train, &prior, Some(&terms), set);
        for (i, r) in rows.iter().enumerate() {
            if fold_of(r) == k {
                cv[i] = predict(r, &t);
            }
        }
    }
    let base_pred: Vec<f64> = rows.iter().map(|r| predict(r, &prior)).collect();
    let cal_pred: Vec<f64> = rows.iter().map(|r| predict(r, &terms)).collect();
    let stats = |phase: &'static str, batch: u32, sel: &[usize]| {
        let pick = |v: &[f64]| sel.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let m: Vec<f64> = sel.iter().map(|&i| rows[i].measured_ms).collect();
        let (b, c, x) = (pick(&base_pred), pick(&cal_pred), pick(&cv));
        GroupStats {
            phase,
            batch,
            n: sel.len(),
            mape_uncalibrated: mape(&b, &m),
            mape_calibrated: mape(&c, &m),
            mape_cv: mape(&x, &m),
            spearman_uncalibrated: spearman(&b, &m),
            spearman_calibrated: spearman(&c, &m),
            spearman_cv: spearman(&x, &m),
        }
    };
    let mut groups = Vec::new();
    let mut keys_pb: Vec<(Phase, u32)> = rows.iter().map(|r| (r.phase, r.batch)).collect();
    keys_pb.sort_by_key(|(p, b)| (p.name(), *b));
    keys_pb.dedup();
    for (p, b) in keys_pb {
        let sel: Vec<usize> = all.iter().copied().filter(|&i| rows[i].phase == p && rows[i].batch == b).collect();
        groups.push(stats(p.name(), b, &sel));
    }
    let overall = stats("all", 0, &all);
    Ok(Calibration { terms, objective, n: rows.len(), folds, groups, overall, cv_predictions: cv })
}

/// Bootstrap the terms: `b` resamples of the rows (seeded; resample i uses its own RNG
/// derived from (seed, i), so results do not depend on thread count), each refitted from
/// the full fit.
pub fn bootstrap(
    rows: &[CalRow],
    base: &Hardware,
    full: &EfficiencyTerms,
    b: usize,
    seed: u64,
    set: TermSet,
) -> Vec<EfficiencyTerms> {
    bootstrap_with_progress(rows, base, full, b, seed, set, &|| {})
}

/// [`bootstrap`], calling `tick()` (from several threads) after each resample's fit.
pub fn bootstrap_with_progress(
    rows: &[CalRow],
    base: &Hardware,
    full: &EfficiencyTerms,
    b: usize,
    seed: u64,
    set: TermSet,
    tick: &(dyn Fn() + Sync),
) -> Vec<EfficiencyTerms> {
    use rayon::prelude::*;
    let prior = EfficiencyTerms::from_hardware(base);
    (0..b)
        .into_par_iter()
        .map(|i| {
            let mut rng = StdRng::seed_from_u64(mix_seed(seed, i as u64));
            let idx: Vec<usize> = (0..rows.len()).map(|_| rng.random_range(0..rows.len())).collect();
            let t = fit(rows, &idx, &prior, Some(full), set).0;
            tick();
            t
        })
        .collect()
}

/// The 95 % interval of each efficiency term over bootstrap samples (type-7 quantiles
/// 2.5 % and 97.5 %), in [`EfficiencyTerms`] order with the term names.
pub fn intervals95(samples: &[EfficiencyTerms]) -> Vec<(&'static str, (f64, f64))> {
    crate::hardware::EFFICIENCY_TERM_NAMES
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let v: Vec<f64> = samples.iter().map(|t| t.values[k]).collect();
            (*name, (quantile_of(&v, 0.025), quantile_of(&v, 0.975)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_basics() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn theta_roundtrip() {
        let t = EfficiencyTerms {
            values: [0.7, 0.9, 0.5, 0.6, 1.0, 0.8, 0.4, 0.5, 0.01, 0.002, 0.03, 2e-4, 3e-8, 0.4, 0.02, 5e-7, 2e-3],
        };
        let back = EfficiencyTerms::from_theta(&t.to_theta());
        for (a, b) in t.values.iter().zip(back.values) {
            assert!((a - b).abs() < 1e-6, "{a} {b}");
        }
    }

    #[test]
    fn intervals_are_type7_quantiles() {
        // Five samples 0.1 … 0.5: h = 4·0.025 = 0.1 → 0.1 + 0.1·0.1 = 0.11; h = 3.9 → 0.49.
        let s: Vec<EfficiencyTerms> = (1..=5).map(|i| EfficiencyTerms { values: [0.1 * i as f64; N_TERMS] }).collect();
        let ci = intervals95(&s);
        assert_eq!(ci.len(), N_TERMS);
        assert_eq!(ci[0].0, "gemm_compute");
        for (_, (lo, hi)) in ci {
            assert!((lo - 0.11).abs() < 1e-12 && (hi - 0.49).abs() < 1e-12, "{lo} {hi}");
        }
    }
}
