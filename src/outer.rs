//! The outer loop: fit → choose → measure → refit, until the choice is certain.
//!
//! Round r (1-based):
//! 1. fit the instance's law form to the data (the initial CSV plus every successful oracle
//!    result of rounds < r, in the order they were asked), warm-started from round r − 1's
//!    coefficients (round 1 starts from the instance law's own values plus
//!    [`LoopOptions::starts`]), and bootstrap it ([`LoopOptions::bootstrap`] resamples, seed
//!    mixed from ([`LoopOptions::seed`], r));
//! 2. compute the region of the instance under the bootstrap samples
//!    ([`crate::region::region`]): P(optimal) per design; the choice is the design optimal in
//!    the most samples, its *confidence* that share;
//! 3. stop when the confidence reaches [`LoopOptions::stop_confidence`], or when
//!    [`LoopOptions::rounds`] rounds have measured (round R + 1 only fits and chooses);
//! 4. otherwise pick [`LoopOptions::per_round`] designs never measured before
//!    ([`Strategy`]), call the oracle on them in parallel (retries, timeouts) and record every
//!    attempt in the journal.
//!
//! The journal ([`Journal`]) makes the loop resumable: a round's choice (the designs it asks)
//! is written before any oracle call, every finished call is one fsynced JSON line, so a
//! killed loop resumes by redoing only the calls that had not finished. Each round's fit
//! depends only on the journal's data, so a resumed loop asks exactly the designs an
//! uninterrupted one would.

use crate::error::{Error, Origin, Result};
use crate::instance::Instance;
use crate::law::bootstrap::{bootstrap, write_samples, BootstrapOptions};
use crate::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use crate::law::{read_observations, ColumnMap, LossLaw, PowerLaw};
use crate::oracle::{design_key, Design, Oracle};
use crate::plot::{lines, Series};
use crate::region::{region, Region, RegionOptions};
use crate::util::rng::mix_seed;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// How the designs to measure next are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The current choice first, then designs by P(optimal) × spread of their predicted loss
    /// over the bootstrap samples (p95 − p05), then by the lowest optimistic (p05) loss.
    Informative,
    /// Half the designs (rounded up) as [`Strategy::Informative`], the rest by
    /// [`Strategy::Lhs`] among the other unmeasured designs (exploration). The default: in
    /// the comparison of `docs/loop.md` it reached the true optimum most often, with the
    /// smallest worst case.
    Mixed,
    /// Uniformly at random among the feasible designs not yet measured.
    Random,
    /// A Latin hypercube over (log layers, log hidden, log r, log ρ, log d_m), each point
    /// mapped to the nearest feasible design not yet measured.
    Lhs,
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "informative" => Ok(Strategy::Informative),
            "mixed" => Ok(Strategy::Mixed),
            "random" => Ok(Strategy::Random),
            "lhs" => Ok(Strategy::Lhs),
            _ => Err(format!("`{s}`: expected informative, mixed, random or lhs")),
        }
    }
}

/// Loop settings; every default is here.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopOptions {
    /// Rounds that measure (default 10); the loop then fits once more and stops.
    pub rounds: usize,
    /// Designs measured per round (default 4).
    pub per_round: usize,
    /// Stop when the choice is optimal in at least this share of bootstrap samples (0.9).
    pub stop_confidence: f64,
    /// Bootstrap resamples per round (default 50).
    pub bootstrap: usize,
    /// Seed of the fits, bootstraps and random strategies.
    pub seed: u64,
    /// Oracle calls at once (default 1).
    pub jobs: usize,
    /// Extra attempts after a failed call (default 1).
    pub retries: usize,
    /// Starting points of round 1's fit (default `lhs:200`), besides the law's own values.
    pub starts: Starts,
    /// Latin-hypercube starts added to the warm start in later rounds (default 20).
    pub warm_starts: usize,
    /// Which designs to measure (default [`Strategy::Mixed`]).
    pub strategy: Strategy,
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            rounds: 10,
            per_round: 4,
            stop_confidence: 0.9,
            bootstrap: 50,
            seed: 0,
            jobs: 1,
            retries: 1,
            starts: Starts::Lhs(200),
            warm_starts: 20,
            strategy: Strategy::Mixed,
        }
    }
}

impl LoopOptions {
    /// Check every field; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let o = Origin::default();
        if self.per_round == 0 {
            return Err(Error::invalid(&o, "per_round", 0, "must be at least 1"));
        }
        if !(self.stop_confidence > 0.0 && self.stop_confidence <= 1.0) {
            return Err(Error::invalid(&o, "stop_confidence", self.stop_confidence, "must be in (0, 1]"));
        }
        if self.bootstrap < 2 {
            return Err(Error::invalid(&o, "bootstrap", self.bootstrap, "needs at least 2 resamples"));
        }
        if self.jobs == 0 {
            return Err(Error::invalid(&o, "jobs", 0, "must be at least 1"));
        }
        if let Starts::Lhs(0) = self.starts {
            return Err(Error::invalid(&o, "starts", "lhs:0", "needs at least one point"));
        }
        Ok(())
    }
}

/// One oracle attempt, one line of `oracle.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Round that asked.
    pub round: usize,
    /// Design key.
    pub key: String,
    /// Attempt number (1-based).
    pub attempt: usize,
    /// Measured loss (None when the attempt failed).
    pub loss: Option<f64>,
    /// Failure message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall time of the call (s).
    pub seconds: f64,
    /// The design.
    pub design: Design,
}

/// A round's record (`round-NNN/choice.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Round (1-based).
    pub round: usize,
    /// Rows the fit used.
    pub rows: usize,
    /// Coefficient names (law order).
    pub names: Vec<String>,
    /// Fitted values (law order): the next round's warm start.
    pub values: Vec<f64>,
    /// Bootstrap 95 % intervals (law order).
    pub ci95: Vec<(f64, f64)>,
    /// Huber objective of the fit.
    pub objective: f64,
    /// The choice: the design optimal in the most bootstrap samples.
    pub choice: Option<Design>,
    /// Its share of samples.
    pub confidence: f64,
    /// Its predicted loss under the fitted law.
    pub choice_loss: f64,
    /// The point-estimate optimum.
    pub point_choice: Option<Design>,
    /// Feasible designs.
    pub candidates: usize,
    /// Designs with P(optimal) > 0.
    pub contenders: usize,
    /// Designs asked this round, in order (their results join the data in this order).
    pub asked: Vec<Design>,
    /// Why the loop stops after this round (None: it goes on).
    pub stop: Option<String>,
    /// Fit, bootstrap and region time (ms).
    pub ms: f64,
    /// Bootstrap refits left out because a coefficient ran off to ±∞ (the law has more
    /// freedom than the data fix; consider bounds in the law file).
    #[serde(default)]
    pub bootstrap_non_finite: usize,
}

/// The journal's `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Format version.
    pub version: u32,
    /// Instance name.
    pub instance: String,
    /// Oracle description.
    pub oracle: String,
    /// SHA-256 of the initial data.
    pub data_sha256: String,
    /// Rounds whose oracle calls have all finished.
    pub rounds_done: usize,
    /// Oracle attempts recorded (successful or not).
    pub calls: usize,
    /// Set when the loop has finished: why.
    pub finished: Option<String>,
}

/// Outcome of a loop.
#[derive(Debug, Clone, Serialize)]
pub struct LoopReport {
    /// Every round, in order.
    pub rounds: Vec<RoundRecord>,
    /// Oracle attempts recorded in the journal (over all runs of this journal).
    pub calls: usize,
    /// Oracle attempts made by this run (0 when everything was already journaled).
    pub calls_this_run: usize,
    /// Designs measured successfully by the oracle.
    pub measured: usize,
    /// Designs whose every attempt failed.
    pub failed: usize,
    /// Final choice.
    pub choice: Option<Design>,
    /// Its confidence.
    pub confidence: f64,
    /// Why the loop stopped.
    pub stop: String,
    /// Journal folder.
    pub journal: String,
}

/// The journal folder: `initial.csv` (the data given at the start), `data.csv` (initial +
/// every successful measurement), `oracle.jsonl` (every attempt), `round-NNN/{fit.toml,
/// samples.csv, choice.json}`, `state.json`, and at the end `confidence.svg` and
/// `coefficients.svg`.
#[derive(Debug, Clone)]
pub struct Journal {
    /// The folder.
    pub dir: PathBuf,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

/// Write a file atomically (temporary file, fsync, rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// A journal JSON file, or None when it does not exist yet.
fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<Option<T>> {
    match std::fs::read_to_string(p) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Error::Parse { origin: Origin::file(p.display().to_string()), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(p)(e)),
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Unsupported(format!("json: {e}")))
}

impl Journal {
    /// A journal in `dir` (created when missing).
    pub fn new(dir: &Path) -> Result<Journal> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        Ok(Journal { dir: dir.to_path_buf() })
    }
    /// `state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    /// `oracle.jsonl`.
    pub fn calls_path(&self) -> PathBuf {
        self.dir.join("oracle.jsonl")
    }
    /// `data.csv`.
    pub fn data_path(&self) -> PathBuf {
        self.dir.join("data.csv")
    }
    /// `initial.csv`.
    pub fn initial_path(&self) -> PathBuf {
        self.dir.join("initial.csv")
    }
    /// `round-NNN/`.
    pub fn round_dir(&self, r: usize) -> PathBuf {
        self.dir.join(format!("round-{r:03}"))
    }
    /// Read `state.json` if present.
    pub fn state(&self) -> Result<Option<State>> {
        read_json(&self.state_path())
    }
    fn write_state(&self, s: &State) -> Result<()> {
        write_atomic(&self.state_path(), to_json(s)?.as_bytes())
    }
    /// Read a round's record if present.
    pub fn round(&self, r: usize) -> Result<Option<RoundRecord>> {
        read_json(&self.round_dir(r).join("choice.json"))
    }
    /// `oracle.jsonl` opened for appending (shared by the oracle jobs).
    fn calls_appender(&self) -> Result<Mutex<std::fs::File>> {
        let p = self.calls_path();
        let f = std::fs::OpenOptions::new().append(true).create(true).open(&p).map_err(io_err(&p))?;
        Ok(Mutex::new(f))
    }
    /// Every attempt recorded, after cutting a torn last line (a write the kill interrupted).
    /// Returns the records and the bytes dropped.
    pub fn calls(&self) -> Result<(Vec<CallRecord>, u64)> {
        crate::util::jsonl::recover(&self.calls_path(), parse_call_line)
    }
}

/// Parse one journal line. The loss is re-read from its text with Rust's correctly rounded
/// parser (serde_json's may be one ulp off), so a resumed loop sees bit-identical values.
pub fn parse_call_line(line: &[u8]) -> Option<CallRecord> {
    let mut c: CallRecord = serde_json::from_slice(line).ok()?;
    if c.loss.is_some() {
        c.loss = crate::oracle::raw_number(std::str::from_utf8(line).ok()?, "loss").or(c.loss);
    }
    Some(c)
}

/// Designs asked whose calls have not finished (none yet, or a call a kill interrupted),
/// each with the failed attempts it has used.
fn pending(asked: &[Design], calls: &[CallRecord], fin: &HashMap<String, Option<f64>>) -> Vec<(Design, usize)> {
    asked
        .iter()
        .filter(|d| !fin.contains_key(&d.key))
        .map(|d| (d.clone(), calls.iter().filter(|c| c.key == d.key && c.loss.is_none()).count()))
        .collect()
}

/// One line per oracle attempt: round, design, outcome and time.
pub fn call_line(c: &CallRecord, attempts: usize) -> String {
    let what = match (c.loss, &c.error) {
        (Some(l), _) => format!("loss {l:.5}"),
        (None, Some(e)) => format!("FAILED: {}", e.chars().take(160).collect::<String>()),
        (None, None) => "FAILED".to_string(),
    };
    format!(
        "  oracle round {} {} (attempt {}/{}): {what} in {:.1} s",
        c.round, c.design.label, c.attempt, attempts, c.seconds
    )
}

/// Result of a design's calls so far: Some(loss) when measured, None when given up.
fn finals(calls: &[CallRecord], attempts: usize) -> HashMap<String, Option<f64>> {
    let mut failed: HashMap<&str, usize> = HashMap::new();
    let mut out = HashMap::new();
    for c in calls {
        if let Some(l) = c.loss {
            out.insert(c.key.clone(), Some(l));
        } else {
            let n = failed.entry(&c.key).or_default();
            *n += 1;
            if *n >= attempts {
                out.entry(c.key.clone()).or_insert(None);
            }
        }
    }
    out
}

/// Columns the data CSV must have (the measurement-CSV architecture columns and `loss`).
pub const DATA_COLUMNS: [&str; 11] =
    ["hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "experts", "active_experts", "vocab", "tied", "loss"];

/// Keys already measured in a data CSV: `label|w|kv` when the file has `weight_dtype` and
/// `kv_dtype` columns; otherwise the label alone (the row covers every storage type).
fn data_keys(path: &Path) -> Result<(HashSet<String>, HashSet<String>, csv::StringRecord)> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::Parse { origin: Origin::file(&file), message: e.to_string() })?;
    let head = rdr.headers().map_err(|e| Error::Parse { origin: Origin::file(&file), message: e.to_string() })?.clone();
    for c in DATA_COLUMNS {
        if !head.iter().any(|h| h == c) {
            return Err(Error::missing(
                &Origin::file(&file),
                c,
                format!(
                    "; the loop's data needs the columns {} (measured designs are appended in that form)",
                    DATA_COLUMNS.join(", ")
                ),
            ));
        }
    }
    let col = |n: &str| head.iter().position(|h| h == n);
    let (mut keys, mut labels) = (HashSet::new(), HashSet::new());
    for (i, rec) in rdr.records().enumerate() {
        let origin = Origin::line(&file, i + 2);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).unwrap_or("");
        let num = |n: &str| -> Result<u32> {
            get(n)
                .parse::<u32>()
                .map_err(|_| Error::invalid(&origin, n, format!("\"{}\"", get(n)), "must be a positive integer"))
        };
        let mut a = crate::Architecture::new(num("layers")?, num("hidden")?, num("heads")?, num("ffn")?, num("vocab")?);
        a.kv_heads = num("kv_heads")?;
        a.head_dim = num("head_dim")?;
        a.experts = num("experts")?;
        a.active_experts = num("active_experts")?;
        a.tied_embeddings = matches!(get("tied").to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        a.qkv_bias = matches!(get("qkv_bias").to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        let label = a.label();
        match (get("weight_dtype"), get("kv_dtype")) {
            (w, k) if !w.is_empty() && !k.is_empty() => {
                keys.insert(design_key(&label, w, k));
            }
            _ => {
                labels.insert(label);
            }
        }
    }
    Ok((keys, labels, head))
}

/// One CSV row for a measured design, in the columns of `head`.
fn data_row(head: &csv::StringRecord, d: &Design, loss: f64) -> String {
    let cells: Vec<String> = head
        .iter()
        .map(|h| match h {
            "hidden" => d.hidden.to_string(),
            "layers" => d.layers.to_string(),
            "heads" => d.heads.to_string(),
            "kv_heads" => d.kv_heads.to_string(),
            "head_dim" => d.head_dim.to_string(),
            "ffn" => d.ffn.to_string(),
            "experts" => d.experts.to_string(),
            "active_experts" => d.active_experts.to_string(),
            "vocab" => d.vocab.to_string(),
            "tied" => d.tied.to_string(),
            "qkv_bias" => d.qkv_bias.to_string(),
            "weight_dtype" => d.weight_dtype.clone(),
            "kv_dtype" => d.kv_dtype.clone(),
            "loss" => format!("{loss:e}"),
            "weight" => "1".into(),
            "name" | "label" | "arch" => d.label.clone(),
            _ => String::new(),
        })
        .collect();
    cells.join(",")
}

/// Data CSV header and rows for designs (the loop's own format).
pub fn data_csv(designs: &[(Design, f64)]) -> String {
    let head = csv::StringRecord::from(
        DATA_COLUMNS.iter().copied().chain(["weight_dtype", "kv_dtype", "name"]).collect::<Vec<_>>(),
    );
    let mut s = head.iter().collect::<Vec<_>>().join(",");
    s.push('\n');
    for (d, l) in designs {
        s.push_str(&data_row(&head, d, *l));
        s.push('\n');
    }
    s
}

/// Every design of the instance that meets the budgets under its point cost model.
pub fn feasible_designs(inst: &Instance) -> Result<Vec<Design>> {
    let p = crate::solve::Problem::new(inst)?;
    let rows = p.rows(false);
    let mut out = Vec::new();
    for (w, r) in rows.iter().enumerate() {
        if let Some(m) = r.lmax {
            for &l in &inst.space.depths[..=m] {
                out.push(Design::new(&inst.space.widths[w], l));
            }
        }
    }
    Ok(out)
}

fn features(d: &Design) -> [f64; 5] {
    let a = d.arch();
    let r = a.active_experts as f64 * a.ffn as f64 / a.hidden as f64;
    let rho = a.active_experts as f64 / a.experts as f64;
    let dm = (a.kv_heads * a.head_dim) as f64;
    [(a.layers as f64).ln(), (a.hidden as f64).ln(), r.ln(), rho.ln(), dm.ln()]
}

/// `k` designs from `pool` by a Latin hypercube over the normalised features, each point
/// taking the nearest design not taken yet (deterministic for a seed).
pub fn lhs_pick(pool: &[Design], k: usize, seed: u64) -> Vec<Design> {
    if pool.is_empty() || k == 0 {
        return Vec::new();
    }
    let f: Vec<[f64; 5]> = pool.iter().map(features).collect();
    let mut lo = [f64::INFINITY; 5];
    let mut hi = [f64::NEG_INFINITY; 5];
    for x in &f {
        for j in 0..5 {
            lo[j] = lo[j].min(x[j]);
            hi[j] = hi[j].max(x[j]);
        }
    }
    let norm = |x: &[f64; 5], j: usize| if hi[j] > lo[j] { (x[j] - lo[j]) / (hi[j] - lo[j]) } else { 0.5 };
    let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(seed, 0x004c_4853));
    let k = k.min(pool.len());
    let mut pts = vec![[0.0f64; 5]; k];
    for j in 0..5 {
        let mut perm: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        for (i, p) in pts.iter_mut().enumerate() {
            p[j] = (perm[i] as f64 + rng.random::<f64>()) / k as f64;
        }
    }
    let mut taken = vec![false; pool.len()];
    let mut out = Vec::with_capacity(k);
    for p in &pts {
        let best = (0..pool.len()).filter(|&i| !taken[i]).min_by(|&a, &b| {
            let d = |i: usize| (0..5).map(|j| (norm(&f[i], j) - p[j]).powi(2)).sum::<f64>();
            d(a).total_cmp(&d(b)).then(a.cmp(&b))
        });
        if let Some(i) = best {
            taken[i] = true;
            out.push(pool[i].clone());
        }
    }
    out
}

/// An initial data set: `n` feasible designs spread by [`lhs_pick`], measured by `oracle`
/// (designs whose call fails are left out). For demos and tests; a real team starts from the
/// models it has trained.
pub fn initial_data(inst: &Instance, oracle: &dyn Oracle, n: usize, seed: u64) -> Result<Vec<(Design, f64)>> {
    let pool = feasible_designs(inst)?;
    Ok(lhs_pick(&pool, n, seed).into_iter().filter_map(|d| oracle.evaluate(&d).ok().map(|l| (d, l))).collect())
}

/// Pick `k` designs to measure from a region (unmeasured ones only).
pub fn pick(
    strategy: Strategy,
    reg: &Region,
    designs: &[Design],
    measured: &dyn Fn(&Design) -> bool,
    k: usize,
    seed: u64,
) -> Vec<Design> {
    let open: Vec<usize> = (0..designs.len()).filter(|&i| !measured(&designs[i])).collect();
    match strategy {
        Strategy::Random => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(seed, 0x0052_4e44));
            let mut v = open;
            let n = v.len();
            for i in 0..k.min(n) {
                let j = rng.random_range(i..n);
                v.swap(i, j);
            }
            v.into_iter().take(k).map(|i| designs[i].clone()).collect()
        }
        Strategy::Lhs => {
            let pool: Vec<Design> = open.iter().map(|&i| designs[i].clone()).collect();
            lhs_pick(&pool, k, seed)
        }
        Strategy::Mixed => {
            let first = pick(Strategy::Informative, reg, designs, measured, k.div_ceil(2), seed);
            let taken: HashSet<String> = first.iter().map(|d| d.key.clone()).collect();
            let rest = pick(
                Strategy::Lhs,
                reg,
                designs,
                &|d: &Design| measured(d) || taken.contains(&d.key),
                k - first.len(),
                seed,
            );
            first.into_iter().chain(rest).collect()
        }
        Strategy::Informative => {
            let mut out: Vec<usize> = Vec::new();
            if let Some(c) = reg.most_often_optimal {
                if open.contains(&c) {
                    out.push(c);
                }
            }
            let st = &reg.designs;
            let spread = |i: usize| st[i].loss_p95 - st[i].loss_p05;
            let mut contenders: Vec<usize> = open.iter().copied().filter(|&i| st[i].p_optimal > 0.0).collect();
            contenders.sort_by(|&a, &b| {
                (st[b].p_optimal * spread(b)).total_cmp(&(st[a].p_optimal * spread(a))).then(a.cmp(&b))
            });
            let mut rest: Vec<usize> = open.iter().copied().filter(|&i| st[i].p_optimal == 0.0).collect();
            rest.sort_by(|&a, &b| st[a].loss_p05.total_cmp(&st[b].loss_p05).then(a.cmp(&b)));
            for i in contenders.into_iter().chain(rest) {
                if out.len() >= k {
                    break;
                }
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            out.into_iter().map(|i| designs[i].clone()).collect()
        }
    }
}

/// Summary line of a round (stderr).
pub fn summary_line(r: &RoundRecord, ok: usize, failed: usize) -> String {
    let choice = r.choice.as_ref().map_or("none".to_string(), |d| d.key.clone());
    let mut s = format!(
        "round {}: {} rows, objective {:.3e}, choice {} P(optimal) {:.2} (predicted loss {:.4}), {} contenders of {}",
        r.round, r.rows, r.objective, choice, r.confidence, r.choice_loss, r.contenders, r.candidates
    );
    if r.bootstrap_non_finite > 0 {
        s.push_str(&format!(", {} bootstrap refits ran off to ±∞ (dropped)", r.bootstrap_non_finite));
    }
    if !r.asked.is_empty() {
        s.push_str(&format!(", asked {} ({ok} ok, {failed} failed)", r.asked.len()));
    }
    if let Some(why) = &r.stop {
        s.push_str(&format!("; stop: {why}"));
    }
    s
}

/// The outer loop over one instance.
pub struct OuterLoop<'a> {
    /// The instance (its law's form is fitted; its values start round 1).
    pub inst: &'a Instance,
    /// The oracle.
    pub oracle: &'a dyn Oracle,
    /// Settings.
    pub opts: LoopOptions,
    /// The journal.
    pub journal: Journal,
    /// Called with each round's summary line (e.g. print to stderr).
    pub on_round: Option<&'a (dyn Fn(&str) + Sync)>,
    /// Called with a line for every oracle attempt as it finishes (slow oracles: progress).
    pub on_call: Option<&'a (dyn Fn(&str) + Sync)>,
}

struct Fitted {
    law: PowerLaw,
    values: Vec<f64>,
    objective: f64,
    rows: usize,
    samples: Vec<Vec<f64>>,
    ci95: Vec<(f64, f64)>,
    non_finite: usize,
}

impl<'a> OuterLoop<'a> {
    /// A loop; `data` is copied into the journal as `initial.csv` unless the journal already
    /// has one (resume), in which case it must be the same bytes.
    pub fn new(inst: &'a Instance, oracle: &'a dyn Oracle, opts: LoopOptions, journal: Journal) -> Self {
        OuterLoop { inst, oracle, opts, journal, on_round: None, on_call: None }
    }

    fn fit_round(&self, r: usize, warm: Option<&[f64]>) -> Result<Fitted> {
        let law: &PowerLaw = &self.inst.law;
        let model = LseModel::new(law)?;
        let tokens = self.inst.tokens.or(law.default_tokens());
        let obs = read_observations(&self.journal.data_path(), model.feature_vars(), &ColumnMap::default(), tokens)?;
        let fo = FitOptions {
            starts: if warm.is_some() { Starts::Lhs(self.opts.warm_starts.max(1)) } else { self.opts.starts.clone() },
            cv_folds: 0,
            seed: mix_seed(self.opts.seed, r as u64),
            ..FitOptions::default()
        };
        let fitter = Fitter::new(&model, &obs, fo)?;
        let start = to_theta(model.kinds(), warm.unwrap_or(&law.values));
        let fit = fitter.fit(Some(&start))?;
        let bo = BootstrapOptions {
            resamples: self.opts.bootstrap,
            seed: mix_seed(self.opts.seed, 1_000_000 + r as u64),
            ..Default::default()
        };
        let b = bootstrap(&fitter, &fit, &bo, None);
        let dir = self.journal.round_dir(r);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        write_samples(&dir.join("samples.csv"), &b)?;
        let mut fitted = law.with_values(&fit.values);
        let mut t = toml::Table::new();
        t.insert("method".into(), "colaw loop: Huber on log loss, LSE form, argmin L-BFGS, warm start".into());
        t.insert("round".into(), (r as i64).into());
        t.insert("n".into(), (fit.n as i64).into());
        t.insert("objective".into(), fit.objective.into());
        t.insert("r2".into(), fit.quality.r2.into());
        t.insert("bootstrap".into(), (b.samples.len() as i64).into());
        let mut ci = toml::Table::new();
        for (k, n) in b.names.iter().enumerate() {
            ci.insert(n.clone(), toml::Value::Array(vec![b.ci95[k].0.into(), b.ci95[k].1.into()]));
        }
        t.insert("ci95".into(), ci.into());
        fitted.file.fit = Some(t);
        fitted.file.source = Some(format!("fitted by `colaw loop`, round {r}"));
        write_atomic(&dir.join("fit.toml"), fitted.to_toml_string().as_bytes())?;
        Ok(Fitted {
            law: fitted,
            values: fit.values,
            objective: fit.objective,
            rows: fit.n,
            non_finite: b.non_finite,
            samples: b.samples,
            ci95: b.ci95,
        })
    }

    /// Rewrite `data.csv`: initial rows, then every measured design in the order asked.
    fn write_data(&self, rounds: &[RoundRecord], fin: &HashMap<String, Option<f64>>) -> Result<usize> {
        let init = self.journal.initial_path();
        let mut text = std::fs::read_to_string(&init).map_err(io_err(&init))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let (_, _, head) = data_keys(&init)?;
        let mut n = 0;
        for r in rounds {
            for d in &r.asked {
                if let Some(Some(l)) = fin.get(&d.key) {
                    text.push_str(&data_row(&head, d, *l));
                    text.push('\n');
                    n += 1;
                }
            }
        }
        write_atomic(&self.journal.data_path(), text.as_bytes())?;
        Ok(n)
    }

    /// When `data` does not exist: measure `n` feasible designs spread by [`lhs_pick`] with the
    /// oracle as round 0 of the journal (in parallel, retried, each attempt journaled like a
    /// round's, so a killed run resumes without redoing a finished call), then write the
    /// successful ones to `data`. Returns the designs measured (0 when `data` exists).
    pub fn measure_initial(&self, n: usize, data: &Path) -> Result<usize> {
        if data.exists() || n == 0 {
            return Ok(0);
        }
        self.opts.validate()?;
        let j = &self.journal;
        let dir = j.round_dir(0);
        let asked_path = dir.join("asked.json");
        // The designs are fixed once written, so a resumed run asks the same ones.
        let asked: Vec<Design> = match read_json(&asked_path)? {
            Some(asked) => asked,
            None => {
                let asked = lhs_pick(&feasible_designs(self.inst)?, n, self.opts.seed);
                std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                write_atomic(&asked_path, to_json(&asked)?.as_bytes())?;
                asked
            }
        };
        let attempts = 1 + self.opts.retries;
        let (mut calls, _) = j.calls()?;
        let fin = finals(&calls, attempts);
        let todo = pending(&asked, &calls, &fin);
        let file = j.calls_appender()?;
        calls.extend(self.call_all(0, &todo, attempts, &file)?);
        let fin = finals(&calls, attempts);
        let rows: Vec<(Design, f64)> =
            asked.iter().filter_map(|d| fin.get(&d.key).copied().flatten().map(|l| (d.clone(), l))).collect();
        if rows.is_empty() {
            return Err(Error::Unsupported(format!(
                "every one of the {} initial oracle calls failed; see {} for the errors",
                asked.len(),
                j.calls_path().display()
            )));
        }
        write_atomic(data, data_csv(&rows).as_bytes())?;
        Ok(rows.len())
    }

    /// Run (or resume) the loop with `data` as the initial observations.
    pub fn run(&self, data: &Path) -> Result<LoopReport> {
        self.opts.validate()?;
        let j = &self.journal;
        let bytes = std::fs::read(data).map_err(io_err(data))?;
        let sha = crate::law::data::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let mut state = match j.state()? {
            Some(s) => {
                if s.data_sha256 != sha {
                    return Err(Error::invalid(
                        &Origin::file(data.display().to_string()),
                        "data",
                        &sha[..12],
                        format!(
                            "the journal {} was started from other data (sha256 {}…); give the same file or a new journal",
                            j.dir.display(),
                            &s.data_sha256[..12]
                        ),
                    ));
                }
                s
            }
            None => {
                write_atomic(&j.initial_path(), &bytes)?;
                let s = State {
                    version: 1,
                    instance: self.inst.name.clone(),
                    oracle: self.oracle.describe(),
                    data_sha256: sha,
                    rounds_done: 0,
                    calls: 0,
                    finished: None,
                };
                j.write_state(&s)?;
                s
            }
        };
        let (init_keys, init_labels, _) = data_keys(&j.initial_path())?;
        let attempts = 1 + self.opts.retries;
        let (mut calls, _) = j.calls()?;
        let designs = feasible_designs(self.inst)?;
        let mut rounds: Vec<RoundRecord> = Vec::new();
        let mut calls_this_run = 0usize;
        let file = j.calls_appender()?;
        let mut r = 1usize;
        loop {
            let fin = finals(&calls, attempts);
            self.write_data(&rounds, &fin)?;
            let rec = match j.round(r)? {
                Some(rec) => rec,
                None => {
                    let t0 = Instant::now();
                    let warm = rounds.last().map(|p| p.values.clone());
                    let f = self.fit_round(r, warm.as_deref())?;
                    let mut inst = self.inst.clone();
                    inst.law = std::sync::Arc::new(f.law.clone());
                    let reg = region(&inst, &f.samples, &[], &RegionOptions::default())?;
                    // Region rows → designs (same order as `reg.designs`).
                    let rd: Vec<Design> =
                        reg.designs.iter().map(|s| Design::new(&inst.space.widths[s.width], s.layers)).collect();
                    let asked_before: HashSet<&str> =
                        rounds.iter().flat_map(|p| p.asked.iter().map(|d| d.key.as_str())).collect();
                    let measured = |d: &Design| {
                        init_keys.contains(&d.key)
                            || init_labels.contains(&d.label)
                            || asked_before.contains(d.key.as_str())
                    };
                    let choice = reg.most_often_optimal;
                    let confidence = choice.map_or(0.0, |c| reg.designs[c].p_optimal);
                    let stop = if confidence >= self.opts.stop_confidence {
                        Some(format!("confidence {confidence:.3} ≥ {}", self.opts.stop_confidence))
                    } else if r > self.opts.rounds {
                        Some(format!("{} rounds measured", self.opts.rounds))
                    } else {
                        None
                    };
                    let asked = if stop.is_none() {
                        pick(
                            self.opts.strategy,
                            &reg,
                            &rd,
                            &measured,
                            self.opts.per_round,
                            mix_seed(self.opts.seed, 2_000_000 + r as u64),
                        )
                    } else {
                        Vec::new()
                    };
                    let stop =
                        stop.or_else(|| asked.is_empty().then(|| "every feasible design is measured".to_string()));
                    let rec = RoundRecord {
                        round: r,
                        rows: f.rows,
                        names: inst.law.names.clone(),
                        values: f.values,
                        ci95: f.ci95,
                        objective: f.objective,
                        choice: choice.map(|c| rd[c].clone()),
                        confidence,
                        choice_loss: choice.map_or(f64::NAN, |c| reg.designs[c].point_loss),
                        point_choice: reg.point_optimum.map(|c| rd[c].clone()),
                        candidates: designs.len(),
                        contenders: reg.designs.iter().filter(|d| d.p_optimal > 0.0).count(),
                        asked,
                        stop,
                        ms: t0.elapsed().as_secs_f64() * 1e3,
                        bootstrap_non_finite: f.non_finite,
                    };
                    write_atomic(&j.round_dir(r).join("choice.json"), to_json(&rec)?.as_bytes())?;
                    // Go on with what was written (a resumed loop reads the same values).
                    j.round(r)?.unwrap_or(rec)
                }
            };
            // Oracle calls not finished yet (all of them, or those a kill interrupted).
            let todo = pending(&rec.asked, &calls, &fin);
            let new_calls = self.call_all(r, &todo, attempts, &file)?;
            calls_this_run += new_calls.len();
            calls.extend(new_calls);
            let fin = finals(&calls, attempts);
            let ok = rec.asked.iter().filter(|d| matches!(fin.get(&d.key), Some(Some(_)))).count();
            let failed = rec.asked.len() - ok;
            if let Some(cb) = self.on_round {
                cb(&summary_line(&rec, ok, failed));
            }
            let stop = rec.stop.clone();
            rounds.push(rec);
            state.rounds_done = r;
            state.calls = calls.len();
            if let Some(why) = &stop {
                state.finished = Some(why.clone());
            }
            j.write_state(&state)?;
            if let Some(why) = stop {
                let n = self.write_data(&rounds, &fin)?;
                self.plots(&rounds)?;
                let last = rounds.last();
                return Ok(LoopReport {
                    calls: calls.len(),
                    calls_this_run,
                    measured: n,
                    failed: fin.values().filter(|v| v.is_none()).count(),
                    choice: last.and_then(|l| l.choice.clone()),
                    confidence: last.map_or(0.0, |l| l.confidence),
                    stop: why,
                    journal: j.dir.display().to_string(),
                    rounds,
                });
            }
            r += 1;
        }
    }

    /// Call the oracle on designs (with the attempts each has used), `jobs` at a time; every
    /// attempt is appended to the journal as one fsynced line as soon as it finishes.
    fn call_all(
        &self,
        round: usize,
        todo: &[(Design, usize)],
        attempts: usize,
        file: &Mutex<std::fs::File>,
    ) -> Result<Vec<CallRecord>> {
        if todo.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.journal.calls_path();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.jobs)
            .build()
            .map_err(|e| Error::Unsupported(format!("cannot start {} oracle jobs: {e}", self.opts.jobs)))?;
        let out: Mutex<Vec<CallRecord>> = Mutex::new(Vec::new());
        let write_err: Mutex<Option<Error>> = Mutex::new(None);
        pool.install(|| {
            todo.par_iter().with_max_len(1).for_each(|(d, used)| {
                for attempt in used + 1..=attempts {
                    let t0 = Instant::now();
                    let res = self.oracle.evaluate(d);
                    let rec = CallRecord {
                        round,
                        key: d.key.clone(),
                        attempt,
                        loss: res.as_ref().ok().copied(),
                        error: res.as_ref().err().cloned(),
                        seconds: t0.elapsed().as_secs_f64(),
                        design: d.clone(),
                    };
                    let mut line = serde_json::to_string(&rec).unwrap_or_default();
                    line.push('\n');
                    {
                        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                        if let Err(e) = f.write_all(line.as_bytes()).and_then(|_| f.sync_data()) {
                            write_err.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(io_err(&path)(e));
                        }
                    }
                    // Keep what a resumed loop would read back from the journal.
                    let rec = parse_call_line(line.trim_end().as_bytes()).unwrap_or(rec);
                    if let Some(cb) = self.on_call {
                        cb(&call_line(&rec, attempts));
                    }
                    let done = rec.loss.is_some();
                    out.lock().unwrap_or_else(|e| e.into_inner()).push(rec);
                    if done {
                        break;
                    }
                }
            })
        });
        if let Some(e) = write_err.into_inner().unwrap_or(None) {
            return Err(e);
        }
        Ok(out.into_inner().unwrap_or_else(|e| e.into_inner()))
    }

    /// `confidence.svg` and `coefficients.svg`.
    fn plots(&self, rounds: &[RoundRecord]) -> Result<()> {
        if rounds.is_empty() {
            return Ok(());
        }
        let conf = Series {
            name: "P(choice is optimal)".into(),
            points: rounds.iter().map(|r| (r.round as f64, r.confidence)).collect(),
            band: None,
            step: false,
        };
        let thr = Series {
            name: format!("stop at {}", self.opts.stop_confidence),
            points: vec![(1.0, self.opts.stop_confidence), (rounds.len().max(2) as f64, self.opts.stop_confidence)],
            band: None,
            step: true,
        };
        lines(
            &self.journal.dir.join("confidence.svg"),
            "Confidence of the choice",
            "round",
            "share of bootstrap samples",
            &[conf, thr],
            false,
        )?;
        // Each coefficient as its deviation from the final estimate, relative to it
        // ((v − final)/|final|, clamped to ±150 % so one wild early round cannot flatten the
        // rest), with its 95 % interval as a band.
        let last = &rounds[rounds.len() - 1];
        let rel = |v: f64, s: f64| ((v - s) / s.abs()).clamp(-1.5, 1.5);
        let series: Vec<Series> = last
            .names
            .iter()
            .enumerate()
            .filter(|(k, _)| last.values[*k].abs() > 1e-300)
            .map(|(k, n)| {
                let s = last.values[k];
                Series {
                    name: n.clone(),
                    points: rounds.iter().map(|r| (r.round as f64, rel(r.values[k], s))).collect(),
                    band: Some(
                        rounds.iter().map(|r| (r.round as f64, rel(r.ci95[k].0, s), rel(r.ci95[k].1, s))).collect(),
                    ),
                    step: false,
                }
            })
            .collect();
        lines(
            &self.journal.dir.join("coefficients.svg"),
            "Coefficients and 95 % bootstrap intervals, relative to the final estimate (±150 % shown)",
            "round",
            "(value − final) / |final|",
            &series,
            false,
        )
    }
}

/// A summary of the coefficient intervals (name → [lo, hi]) of a round.
pub fn intervals(r: &RoundRecord) -> BTreeMap<String, [f64; 2]> {
    r.names.iter().zip(&r.ci95).map(|(n, c)| (n.clone(), [c.0, c.1])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finals_count_failures_and_successes() {
        let d = |k: &str| Design { key: k.into(), ..crate::oracle::tests_support::design() };
        let rec = |k: &str, a, l: Option<f64>| CallRecord {
            round: 1,
            key: k.into(),
            attempt: a,
            loss: l,
            error: None,
            seconds: 0.0,
            design: d(k),
        };
        let calls =
            vec![rec("a", 1, None), rec("a", 2, Some(3.0)), rec("b", 1, None), rec("c", 1, None), rec("c", 2, None)];
        let f = finals(&calls, 2);
        assert_eq!(f.get("a"), Some(&Some(3.0)));
        assert_eq!(f.get("b"), None);
        assert_eq!(f.get("c"), Some(&None));
    }

    #[test]
    fn torn_journal_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path()).unwrap();
        let d = crate::oracle::tests_support::design();
        let rec = CallRecord {
            round: 1,
            key: d.key.clone(),
            attempt: 1,
            loss: Some(3.0),
            error: None,
            seconds: 0.1,
            design: d,
        };
        let line = serde_json::to_string(&rec).unwrap();
        std::fs::write(j.calls_path(), format!("{line}\n{}", &line[..20])).unwrap();
        let (calls, dropped) = j.calls().unwrap();
        assert_eq!(calls, vec![rec]);
        assert_eq!(dropped, 20);
        assert_eq!(std::fs::read_to_string(j.calls_path()).unwrap(), format!("{line}\n"));
    }

    #[test]
    fn options_are_validated() {
        assert!(LoopOptions::default().validate().is_ok());
        let e = LoopOptions { stop_confidence: 1.5, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("stop_confidence"));
        let e = LoopOptions { per_round: 0, ..Default::default() }.validate().unwrap_err();
        assert!(e.to_string().contains("per_round"));
    }
}
