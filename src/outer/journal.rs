//! The journal that makes the loop resumable: per-round records, the loop state, and
//! `oracle.jsonl` with one fsynced line per oracle attempt (a torn last line is cut on read).

use super::*;

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
    /// The design (its `seed` is 0 except on a re-ask of an outlier).
    pub design: Design,
    /// Standard deviation of the loss over the oracle's seeds (`loss_sd` of its reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_sd: Option<f64>,
    /// Seeds behind the loss (`seeds` of its reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<u32>,
    /// Kind of failure (`spawn`, `timeout`, `exit`, `output`, `loss`, `other`); the message
    /// is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureKind>,
    /// Set on a re-ask of a flagged outlier: why it was asked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reask: Option<String>,
}

impl CallRecord {
    /// The measurement this attempt produced, if it succeeded.
    pub fn reply(&self) -> Option<Reply> {
        self.loss.map(|loss| Reply { loss, loss_sd: self.loss_sd, seeds: self.seeds })
    }
}

/// A row whose standardized residual lies far outside the others' spread
/// ([`crate::law::noise::flag_outliers`]), as a round found it and what the loop did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outlier {
    /// The data row: `initial:LINE` (a line of `initial.csv`) or the design's call key
    /// (`KEY`, or `KEY@seed=S` for a re-ask's row).
    pub row: String,
    /// Its architecture label.
    pub label: String,
    /// Measured loss.
    pub loss: f64,
    /// The round fit's prediction for it.
    pub predicted_loss: f64,
    /// Its weight in the fit (mean 1 over the rows).
    pub weight: f64,
    /// The robust residual scale of the round (log loss).
    pub scale_log: f64,
    /// Standardized residual: (√w · (log loss − log predicted) − median) / scale.
    pub z: f64,
    /// The call key of its re-ask (`KEY@seed=S`; None: not re-askable or already re-asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reask_key: Option<String>,
    /// What the loop did: `re-asked with seed S`, or why not.
    pub action: String,
}

/// `--extend N` on a finished journal: N more measuring rounds after round `after_round`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    /// The journal's last round when it was extended.
    pub after_round: usize,
    /// Rounds added.
    pub rounds: usize,
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
    /// Its predicted loss under the fitted law (NaN, journaled as null, without a choice).
    #[serde(deserialize_with = "nan_if_null")]
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
    /// How the samples were drawn: `bootstrap`, `laplace` or `rto` (journals written before
    /// the posterior existed: empty, meaning the bootstrap).
    #[serde(default)]
    pub uncertainty: String,
    /// Posterior only: σ̂ of log loss at the MAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_log: Option<f64>,
    /// Posterior only: coefficients the data fix (the prior holds the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_eff: Option<f64>,
    /// Posterior only: degrees of freedom of σ's posterior (ν₀ + n − p_eff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_dof: Option<f64>,
    /// Set when the best optimum ran a coefficient off to ±∞ and the best finite optimum
    /// was used instead: what was replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point_fallback: Option<String>,
    /// Rows whose residual the round found far outside the others' spread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<Outlier>,
    /// Designs asked again (another seed) because they were flagged; measured with `asked`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reask: Vec<Design>,
    /// Per-row weights from `loss_sd` were used: the floor added to each row's seed variance
    /// (log loss², the robust residual variance of the unweighted fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_noise_floor: Option<f64>,
    /// Rows with several seeds: the lack-of-fit test of the round's fit against their pure
    /// error (`crate::law::noise::lack_of_fit`); a small p-value says the law's form misfits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lack_of_fit: Option<crate::law::noise::LackOfFit>,
}

/// A number that JSON wrote as `null` (serde_json's spelling of NaN and ±∞) reads back as NaN,
/// so a journal written with one stays readable.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
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
    /// How the samples are drawn (`bootstrap`, `laplace`, `rto`); journals written before
    /// the posterior existed have none and used the bootstrap. A resume must use the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<String>,
    /// `--extend` runs, in order (the last one sets the round limit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Extension>,
    /// Flagged rows and what became of them (`flagged`, `re-asked`, `excluded`, `kept`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<OutlierStatus>,
}

/// A flagged row's fate, summarised in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlierStatus {
    /// The data row ([`Outlier::row`]).
    pub row: String,
    /// Round that flagged it.
    pub round: usize,
    /// Its standardized residual then.
    pub z: f64,
    /// `re-asked` (waiting for the re-ask), `excluded` (the re-ask agreed with the law: the
    /// row is left out, weight 0 in `data.csv`), `kept` (the re-ask confirmed it, failed, or
    /// the row could not be re-asked).
    pub status: String,
    /// Why, in words.
    pub note: String,
}
impl RoundRecord {
    /// Check what the next round relies on: the round number, one value and one interval per
    /// coefficient name, finite values (the warm start of the next fit).
    pub fn validate(&self, origin: &Origin, round: usize) -> Result<()> {
        if self.round != round {
            return Err(Error::invalid(origin, "round", self.round, format!("must be {round} (the folder's round)")));
        }
        let n = self.names.len();
        for (field, len) in [("values", self.values.len()), ("ci95", self.ci95.len())] {
            if len != n {
                return Err(Error::invalid(
                    origin,
                    field,
                    format!("{len} entries"),
                    format!("must have one per coefficient in `names` ({n}); the file was edited: restore it or start a new --journal"),
                ));
            }
        }
        if let Some((i, v)) = self.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::invalid(origin, format!("values[{i}]"), v, "must be finite"));
        }
        Ok(())
    }
}

impl State {
    /// Check what a resume relies on: the format version, a full SHA-256 and a known method.
    pub fn validate(&self, origin: &Origin) -> Result<()> {
        if self.version != 1 {
            return Err(Error::invalid(origin, "version", self.version, "this colaw reads journal version 1"));
        }
        let sha = &self.data_sha256;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            let shown: String = sha.chars().take(80).collect();
            return Err(Error::invalid(
                origin,
                "data_sha256",
                format!("\"{shown}\""),
                "must be 64 hex digits (the SHA-256 of initial.csv); the file was edited or truncated: \
                 restore it or start a new --journal",
            ));
        }
        if let Some(u) = &self.uncertainty {
            if !matches!(u.as_str(), "bootstrap" | "laplace" | "rto") {
                return Err(Error::invalid(
                    origin,
                    "uncertainty",
                    format!("\"{u}\""),
                    "must be bootstrap, laplace or rto",
                ));
            }
        }
        Ok(())
    }
}

/// The journal folder: `initial.csv` (the data given at the start), `data.csv` (initial +
/// every successful measurement), `oracle.jsonl` (every attempt), `round-NNN/{fit.toml,
/// samples.csv, choice.json}`, `state.json`, `lock` (held by the running loop), and at the
/// end `confidence.svg` and `coefficients.svg`.
#[derive(Debug, Clone)]
pub struct Journal {
    /// The folder.
    pub dir: PathBuf,
    /// The journal's lock while this value or a clone of it holds one (see [`Journal::lock`]).
    held: std::sync::Arc<std::sync::Mutex<std::sync::Weak<crate::util::fs::FileLock>>>,
}

pub(super) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.display().to_string(), source }
}

pub(super) use crate::util::fs::write_atomic;

/// A journal JSON file, or None when it does not exist yet.
pub(super) fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<Option<T>> {
    match std::fs::read_to_string(p) {
        Ok(s) => json_from_str(&s, &p.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(p)(e)),
    }
}

/// A journal JSON file's text (`state.json`, `round-NNN/choice.json`) parsed as `T`; `file`
/// names it in errors. [`Journal::state`] and [`Journal::round`] read through this.
pub fn json_from_str<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Parse { origin: Origin::file(file), message: e.to_string() })
}

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Unsupported(format!("json: {e}")))
}

impl Journal {
    /// A journal in `dir` (created when missing).
    pub fn new(dir: &Path) -> Result<Journal> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        Ok(Journal { dir: dir.to_path_buf(), held: Default::default() })
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
    /// Read `state.json` if present; a hand-edited or truncated one is an error naming the
    /// file and the field.
    pub fn state(&self) -> Result<Option<State>> {
        let p = self.state_path();
        let s: Option<State> = read_json(&p)?;
        if let Some(s) = &s {
            s.validate(&Origin::file(p.display().to_string()))?;
        }
        Ok(s)
    }
    /// Lock the journal for this process (`lock` in the folder) until the last guard is
    /// dropped: a second loop on the same journal is refused instead of interleaving its
    /// rounds. While a guard lives, this value and its clones get the same lock again, so a
    /// caller that holds it across [`OuterLoop::measure_initial`] and [`OuterLoop::run`]
    /// (`colaw loop` does) leaves no moment between them for another loop to take the journal.
    pub fn lock(&self) -> Result<std::sync::Arc<crate::util::fs::FileLock>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = held.upgrade() {
            return Ok(l);
        }
        let l = std::sync::Arc::new(crate::util::fs::FileLock::acquire(
            &self.dir.join("lock"),
            &self.dir,
            "wait for that loop to finish, or give another --journal",
        )?);
        *held = std::sync::Arc::downgrade(&l);
        Ok(l)
    }
    pub(super) fn write_state(&self, s: &State) -> Result<()> {
        write_atomic(&self.state_path(), to_json(s)?.as_bytes())
    }
    /// Read a round's record if present; a hand-edited one whose lengths or round number do
    /// not add up is an error naming the file and the field.
    pub fn round(&self, r: usize) -> Result<Option<RoundRecord>> {
        let p = self.round_dir(r).join("choice.json");
        let rec: Option<RoundRecord> = read_json(&p)?;
        if let Some(rec) = &rec {
            rec.validate(&Origin::file(p.display().to_string()), r)?;
        }
        Ok(rec)
    }
    /// `oracle.jsonl` opened for appending (shared by the oracle jobs).
    pub(super) fn calls_appender(&self) -> Result<Mutex<std::fs::File>> {
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
pub(super) fn pending(
    asked: &[Design],
    calls: &[CallRecord],
    fin: &HashMap<String, Option<Reply>>,
) -> Vec<(Design, usize)> {
    asked
        .iter()
        .filter(|d| !fin.contains_key(&d.call_key()))
        .map(|d| (d.clone(), failures(calls, &d.call_key())))
        .collect()
}

/// Failed attempts of one measurement (by call key).
pub(super) fn failures(calls: &[CallRecord], call_key: &str) -> usize {
    calls.iter().filter(|c| c.loss.is_none() && c.design.call_key() == call_key).count()
}

/// One line per oracle attempt: round, design, outcome and time.
pub fn call_line(c: &CallRecord, attempts: usize) -> String {
    let what = match (c.loss, &c.error) {
        (Some(l), _) => format!("loss {l:.5}"),
        (None, Some(e)) => format!("FAILED: {e}"),
        (None, None) => "FAILED".to_string(),
    };
    let sd = c.loss_sd.map(|s| format!(" ± {s:.5} (sd over {} seeds)", c.seeds.unwrap_or(1))).unwrap_or_default();
    let reask = if c.design.seed != 0 { format!(" [re-ask, seed {}]", c.design.seed) } else { String::new() };
    format!(
        "  oracle round {} {}{reask} (attempt {}/{}): {what}{sd} in {:.1} s",
        c.round, c.design.label, c.attempt, attempts, c.seconds
    )
}

/// Result of each measurement's calls so far, by call key ([`Design::call_key`]):
/// Some(reply) when measured, None when given up (`attempts` failures and no success).
pub(super) fn finals(calls: &[CallRecord], attempts: usize) -> HashMap<String, Option<Reply>> {
    let mut failed: HashMap<String, usize> = HashMap::new();
    let mut out = HashMap::new();
    for c in calls {
        let k = c.design.call_key();
        if let Some(r) = c.reply() {
            out.insert(k, Some(r));
        } else {
            let n = failed.entry(k.clone()).or_default();
            *n += 1;
            if *n >= attempts {
                out.entry(k).or_insert(None);
            }
        }
    }
    out
}
