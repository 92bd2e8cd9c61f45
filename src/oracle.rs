//! Oracles: whatever measures the loss of a design for the outer loop ([`crate::outer`]).
//!
//! Two kinds ship:
//! - `synthetic:LAW[:noise=σ][:seed=s][:seeds=N]` — the loss a law file (or shipped law name)
//!   predicts, plus Gaussian noise of standard deviation σ (in loss units, default 0). The
//!   noise is a function of (seed, design key) alone, so a resumed or repeated loop sees the
//!   same value for the same design whatever the order or parallelism of the calls; with
//!   `seeds=N` (N ≥ 2) each call draws N such values and replies their mean, `loss_sd` and
//!   `seeds`, like a training oracle run with several seeds;
//! - any other string is a shell command (`sh -c CMD`): it receives the design as one JSON
//!   object on stdin ([`Design`]: the architecture fields, the storage types and `key`) and
//!   must print a JSON object with a finite positive `loss` on stdout (the last line that
//!   parses as JSON is used, so training logs may precede it). A non-zero exit, a missing or
//!   bad `loss`, or running past the timeout is a failure of that call.

use crate::architecture::Architecture;
use crate::error::{Error, Origin, Result};
use crate::law::{LawInputs, LossLaw, PowerLaw};
use crate::space::WidthConfig;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One design to measure: an architecture and its storage types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Design {
    /// Identity of the design: the architecture label and the storage types
    /// (`l8-d1024-…|bf16|bf16`); a design is never measured twice under one key.
    pub key: String,
    /// Architecture label ([`Architecture::label`]).
    pub label: String,
    /// Layers.
    pub layers: u32,
    /// Hidden size.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// KV heads.
    pub kv_heads: u32,
    /// Head dimension.
    pub head_dim: u32,
    /// FFN size per expert.
    pub ffn: u32,
    /// Experts.
    pub experts: u32,
    /// Active experts per token.
    pub active_experts: u32,
    /// Vocabulary.
    pub vocab: u32,
    /// Tied embeddings.
    pub tied: bool,
    /// Q/K/V bias.
    pub qkv_bias: bool,
    /// Weight storage type.
    pub weight_dtype: String,
    /// KV-cache storage type.
    pub kv_dtype: String,
    /// Which measurement of the design this is: 0 for the first; a re-ask of a flagged
    /// outlier sends 1, 2, … so that an oracle that trains can use another seed (shift its
    /// training seed by this number). Omitted from the JSON when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seed: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Design {
    /// The design of a width configuration at a depth.
    pub fn new(w: &WidthConfig, layers: u32) -> Design {
        let a = w.arch(layers);
        Design::from_arch(&a, &w.weights.to_string(), &w.kv_cache.to_string())
    }

    /// A design from an architecture and storage type names.
    pub fn from_arch(a: &Architecture, weight_dtype: &str, kv_dtype: &str) -> Design {
        let label = a.label();
        Design {
            key: design_key(&label, weight_dtype, kv_dtype),
            label,
            layers: a.layers,
            hidden: a.hidden,
            heads: a.heads,
            kv_heads: a.kv_heads,
            head_dim: a.head_dim,
            ffn: a.ffn,
            experts: a.experts,
            active_experts: a.active_experts,
            vocab: a.vocab,
            tied: a.tied_embeddings,
            qkv_bias: a.qkv_bias,
            weight_dtype: weight_dtype.to_string(),
            kv_dtype: kv_dtype.to_string(),
            seed: 0,
        }
    }

    /// The same design, measured again with seed `seed` (a re-ask).
    pub fn with_seed(&self, seed: u64) -> Design {
        Design { seed, ..self.clone() }
    }

    /// The identity of one measurement: the key, plus `@seed=S` for a re-ask.
    pub fn call_key(&self) -> String {
        if self.seed == 0 {
            self.key.clone()
        } else {
            format!("{}@seed={}", self.key, self.seed)
        }
    }

    /// The architecture.
    pub fn arch(&self) -> Architecture {
        Architecture {
            name: None,
            layers: self.layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            ffn: self.ffn,
            experts: self.experts,
            active_experts: self.active_experts,
            vocab: self.vocab,
            tied_embeddings: self.tied,
            qkv_bias: self.qkv_bias,
        }
    }
}

/// The key of a design: `label|weight_dtype|kv_dtype`.
pub fn design_key(label: &str, weight_dtype: &str, kv_dtype: &str) -> String {
    format!("{label}|{weight_dtype}|{kv_dtype}")
}

/// What an oracle measured for one design.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reply {
    /// The loss (finite, positive): with several seeds, their mean.
    pub loss: f64,
    /// Standard deviation of the loss over the seeds the oracle trained (loss units), when
    /// it reports one (`loss_sd`).
    pub loss_sd: Option<f64>,
    /// Seeds behind `loss` (`seeds`: a count or a list; else the length of `loss_seeds`).
    pub seeds: Option<u32>,
}

impl Reply {
    /// A plain loss, nothing known about its noise.
    pub fn of(loss: f64) -> Reply {
        Reply { loss, loss_sd: None, seeds: None }
    }
}

/// Why an oracle call failed (journaled as `failure`, beside the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The command could not be started.
    Spawn,
    /// It ran past the timeout and was killed.
    Timeout,
    /// It exited with a non-zero status (or was killed by a signal).
    Exit,
    /// Its output held no usable reply (garbage, no JSON object with `loss`, a bad field).
    Output,
    /// The loss it returned is not a finite positive number.
    Loss,
    /// Anything else (an oracle's own message).
    Other,
}

/// A failed oracle call: what kind of failure and the whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The kind.
    pub kind: FailureKind,
    /// The message (whole lines; the oracle's stderr tail where there is one).
    pub message: String,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Something that measures the loss of a design. Implementations must be callable from
/// several threads at once; a failure is a message, never a panic.
pub trait Oracle: Send + Sync {
    /// Measure one design.
    fn evaluate(&self, design: &Design) -> std::result::Result<f64, String>;
    /// Measure one design with what the oracle knows of its noise; the default wraps
    /// [`Oracle::evaluate`] (no `loss_sd`) and checks the loss is finite and positive.
    fn measure(&self, design: &Design) -> std::result::Result<Reply, Failure> {
        match self.evaluate(design) {
            Ok(l) if l.is_finite() && l > 0.0 => Ok(Reply::of(l)),
            Ok(l) => Err(Failure::new(FailureKind::Loss, format!("loss {l} is not a finite positive number"))),
            Err(e) => Err(Failure::new(FailureKind::Other, e)),
        }
    }
    /// Human-readable description (recorded in the journal).
    fn describe(&self) -> String;
}

/// Loss from a law plus seeded Gaussian noise.
#[derive(Debug, Clone)]
pub struct SyntheticOracle {
    /// The true law.
    pub law: PowerLaw,
    /// Noise standard deviation (loss units).
    pub noise: f64,
    /// Noise seed.
    pub seed: u64,
    /// Training tokens given to the law (its default when None).
    pub tokens: Option<f64>,
    /// Seeds per call (≥ 1): with several, each draws its own noise and the reply is their
    /// mean with `loss_sd` and `seeds`, as a training oracle with `--repeats` replies.
    pub seeds: u32,
}

impl SyntheticOracle {
    /// The noise-free loss of a design.
    pub fn true_loss(&self, d: &Design) -> f64 {
        self.law.loss(&LawInputs::from_arch(&d.arch(), self.tokens.or(self.law.default_tokens())))
    }

    /// The noise added to a design: N(0, σ²) drawn from an RNG seeded by (seed, key).
    pub fn noise_of(&self, d: &Design) -> f64 {
        self.noise_of_seed(d, 0)
    }

    /// The noise of training seed `k` of a design (k = 0 is [`SyntheticOracle::noise_of`]).
    pub fn noise_of_seed(&self, d: &Design, k: u32) -> f64 {
        if self.noise == 0.0 {
            return 0.0;
        }
        // A re-ask (seed ≠ 0) draws other noise; seed 0 keeps the values journals hold; a
        // call's further training seeds (k ≥ 1) draw their own.
        let text = match (d.seed, k) {
            (0, 0) => format!("{}\u{0}{}", self.seed, d.key),
            (s, 0) => format!("{}\u{0}{}\u{0}{s}", self.seed, d.key),
            (s, k) => format!("{}\u{0}{}\u{0}{s}\u{0}{k}", self.seed, d.key),
        };
        let h = Sha256::digest(text.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[..8]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from_le_bytes(b));
        // Box–Muller.
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random::<f64>();
        self.noise * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

impl Oracle for SyntheticOracle {
    fn evaluate(&self, d: &Design) -> std::result::Result<f64, String> {
        self.measure(d).map(|r| r.loss).map_err(|f| f.message)
    }
    fn measure(&self, d: &Design) -> std::result::Result<Reply, Failure> {
        let truth = self.true_loss(d);
        let n = self.seeds.max(1);
        let losses: Vec<f64> = (0..n).map(|k| truth + self.noise_of_seed(d, k)).collect();
        let mean = losses.iter().sum::<f64>() / f64::from(n);
        if !(mean.is_finite() && mean > 0.0) {
            return Err(Failure::new(FailureKind::Loss, format!("synthetic loss {mean} is not a positive number")));
        }
        if n == 1 {
            return Ok(Reply::of(mean));
        }
        let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / f64::from(n - 1);
        Ok(Reply { loss: mean, loss_sd: Some(var.sqrt()), seeds: Some(n) })
    }
    fn describe(&self) -> String {
        let seeds = if self.seeds > 1 { format!(", {} seeds per call", self.seeds) } else { String::new() };
        format!("synthetic law `{}`, noise σ = {}, seed {}{seeds}", self.law.name, self.noise, self.seed)
    }
}

/// A shell command: design JSON on stdin, `{"loss": …}` on stdout.
#[derive(Debug, Clone)]
pub struct CommandOracle {
    /// The command, run with `sh -c`.
    pub command: String,
    /// Wall-clock limit per call (None: no limit).
    pub timeout: Option<Duration>,
}

/// Most bytes of a command's stdout kept (its tail): a command that floods stdout costs this
/// much memory, not what it prints; the reply is its last JSON line, so the tail suffices.
pub const STDOUT_KEEP_BYTES: usize = 1 << 20;
/// Most bytes of a command's stderr kept (its tail), for the failure message.
pub const STDERR_KEEP_BYTES: usize = 64 << 10;
/// Most bytes of stderr quoted in a failure message (whole lines; one longer line is cut).
const STDERR_QUOTE_BYTES: usize = 2000;
/// How long to wait for a command's pipes to close after it exited (its process group is
/// killed first, so only a process that left the group can hold them).
const PIPE_DRAIN: Duration = Duration::from_secs(5);

/// Read a stream to its end, keeping only its last `keep` bytes; returns them and the total.
fn read_tail(mut r: impl Read, keep: usize) -> (Vec<u8>, u64) {
    let mut buf = vec![0u8; 64 << 10];
    let mut out: Vec<u8> = Vec::new();
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                out.extend_from_slice(&buf[..n]);
                if out.len() > 2 * keep {
                    out.drain(..out.len() - keep);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if out.len() > keep {
        out.drain(..out.len() - keep);
    }
    (out, total)
}

/// The last whole lines of a text, at most about `max` bytes (a single longer last line is
/// cut at its start, marked with `…`), joined by " | " so a message stays one line.
pub fn last_lines(text: &str, max: usize) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut used = 0;
    for l in text.lines().rev().map(str::trim_end).filter(|l| !l.trim().is_empty()) {
        if used + l.len() > max {
            if lines.is_empty() {
                let mut start = l.len() - max;
                while !l.is_char_boundary(start) {
                    start += 1;
                }
                lines.push(&l[start..]);
                return format!("…{}", lines[0]);
            }
            break;
        }
        used += l.len() + 3;
        lines.push(l);
    }
    lines.reverse();
    lines.join(" | ")
}

/// Parse an oracle's stdout: the last line that is a JSON object with a numeric `loss`.
pub fn parse_oracle_output(stdout: &str) -> std::result::Result<f64, String> {
    parse_reply(stdout).map(|r| r.loss).map_err(|f| f.message)
}

/// Parse an oracle's stdout into a [`Reply`]: the last line that is a JSON object (so logs
/// may come first), with a finite positive `loss` and optional `loss_sd` (≥ 0, finite; null
/// is none) and `seeds` (a count or a list of seeds; else the length of `loss_seeds`).
pub fn parse_reply(stdout: &str) -> std::result::Result<Reply, Failure> {
    for line in stdout.lines().rev() {
        let t = line.trim();
        if !t.starts_with('{') {
            continue;
        }
        let v = match serde_json::from_str::<serde_json::Value>(t) {
            Ok(v) => v,
            // `{"loss": NaN}` or `1e999` is not JSON (or not an f64): say it is the loss.
            Err(_) if t.contains("\"loss\"") => {
                let raw = raw_text(t, "loss").unwrap_or_default();
                return Err(Failure::new(
                    FailureKind::Loss,
                    format!("`loss` is not a finite number: {raw:?} (in {})", last_lines(t, 200)),
                ));
            }
            Err(_) => continue,
        };
        // The number is re-read from its text with Rust's correctly rounded parser
        // (serde_json's fast float parser may be one ulp off), so a loss printed by
        // another program arrives bit-exact.
        let loss = match v.get("loss").and_then(|l| l.as_f64()).map(|l| raw_number(t, "loss").unwrap_or(l)) {
            Some(l) if l.is_finite() && l > 0.0 => l,
            Some(l) => return Err(Failure::new(FailureKind::Loss, format!("`loss` = {l} is not a positive number"))),
            None => {
                return Err(Failure::new(FailureKind::Output, format!("no numeric `loss` in {}", last_lines(t, 300))))
            }
        };
        let loss_sd = match v.get("loss_sd") {
            None | Some(serde_json::Value::Null) => None,
            Some(x) => match x.as_f64() {
                Some(sd) if sd.is_finite() && sd >= 0.0 => Some(sd),
                _ => {
                    return Err(Failure::new(
                        FailureKind::Output,
                        format!("`loss_sd` = {x} must be a non-negative number or null"),
                    ))
                }
            },
        };
        let count = |x: &serde_json::Value| -> Option<u32> {
            match x {
                serde_json::Value::Array(a) => u32::try_from(a.len()).ok(),
                _ => x.as_u64().and_then(|n| u32::try_from(n).ok()),
            }
        };
        let seeds = match v.get("seeds").or(v.get("loss_seeds")) {
            None | Some(serde_json::Value::Null) => None,
            Some(x) => match count(x) {
                Some(n) if n >= 1 => Some(n),
                _ => {
                    return Err(Failure::new(
                        FailureKind::Output,
                        format!("`seeds` = {x} must be a positive count or a non-empty list"),
                    ))
                }
            },
        };
        return Ok(Reply { loss, loss_sd, seeds });
    }
    Err(Failure::new(
        FailureKind::Output,
        format!("no JSON object with `loss` on stdout (it ends with: {:?})", last_lines(stdout, 200)),
    ))
}

/// The raw text of the value after `"key":` in a JSON-like line (up to `,` or `}`).
fn raw_text(line: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\"");
    let at = line.find(&pat)? + pat.len();
    let rest = line[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

/// The text of the number after `"key":` in a JSON object line, parsed exactly.
pub(crate) fn raw_number(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\"");
    let at = line.find(&pat)? + pat.len();
    let rest = line[at..].trim_start().strip_prefix(':')?.trim_start();
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Kill a process group (the command and everything it started that stayed in the group).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    {
        // No libc binding in this crate: the shell's `kill` sends the signal to the group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = pid;
}

impl CommandOracle {
    fn run(&self, d: &Design) -> std::result::Result<Reply, Failure> {
        let input = serde_json::to_string(d).map_err(|e| Failure::new(FailureKind::Other, e.to_string()))?;
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&self.command).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group, so a timeout kills what it started too (a `sleep`, a
        // training), and no leftover process keeps the pipes open.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .spawn()
            .map_err(|e| Failure::new(FailureKind::Spawn, format!("cannot start `sh -c {}`: {e}", self.command)))?;
        let pid = child.id();
        if let Some(mut stdin) = child.stdin.take() {
            // On a thread: a command that does not read its input must not block us, and a
            // broken pipe (it exited without reading) is fine.
            std::thread::spawn(move || {
                let _ = stdin.write_all(input.as_bytes()).and_then(|_| stdin.write_all(b"\n"));
            });
        }
        // Read the pipes on threads (a chatty command cannot block on a full pipe), keeping
        // bounded tails only (a flood costs no memory).
        let (tx, rx) = std::sync::mpsc::channel::<(bool, Vec<u8>, u64)>();
        for (is_out, pipe) in [
            (true, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
            (false, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let keep = if is_out { STDOUT_KEEP_BYTES } else { STDERR_KEEP_BYTES };
                let (bytes, total) = pipe.map(|p| read_tail(p, keep)).unwrap_or_default();
                let _ = tx.send((is_out, bytes, total));
            });
        }
        drop(tx);
        let t0 = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => {
                    kill_group(pid);
                    return Err(Failure::new(FailureKind::Other, format!("waiting for the oracle: {e}")));
                }
            }
            if self.timeout.is_some_and(|t| t0.elapsed() > t) {
                kill_group(pid);
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::new(
                    FailureKind::Timeout,
                    format!(
                        "timed out after {:.1} s (the command and its process group were killed)",
                        t0.elapsed().as_secs_f64()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // What it left running in its group would hold the pipes open: end it.
        kill_group(pid);
        let (mut out, mut err) = ((Vec::new(), 0u64), (Vec::new(), 0u64));
        for _ in 0..2 {
            match rx.recv_timeout(PIPE_DRAIN) {
                Ok((true, b, n)) => out = (b, n),
                Ok((false, b, n)) => err = (b, n),
                Err(_) => break,
            }
        }
        let stdout = String::from_utf8_lossy(&out.0);
        let stderr = String::from_utf8_lossy(&err.0);
        if !status.success() {
            let tail = last_lines(&stderr, STDERR_QUOTE_BYTES);
            let tail =
                if tail.is_empty() { "nothing on stderr".to_string() } else { format!("stderr ends with: {tail}") };
            return Err(Failure::new(FailureKind::Exit, format!("exited with {status}; {tail}")));
        }
        parse_reply(&stdout).map_err(|mut f| {
            if out.1 > STDOUT_KEEP_BYTES as u64 {
                f.message.push_str(&format!(" ({} bytes on stdout; the last {} read)", out.1, STDOUT_KEEP_BYTES));
            }
            f
        })
    }
}

impl Oracle for CommandOracle {
    fn evaluate(&self, d: &Design) -> std::result::Result<f64, String> {
        self.run(d).map(|r| r.loss).map_err(|f| f.message)
    }
    fn measure(&self, d: &Design) -> std::result::Result<Reply, Failure> {
        self.run(d)
    }
    fn describe(&self) -> String {
        format!("command `{}`", self.command)
    }
}

/// Most training seeds a synthetic oracle draws per call (`seeds=N`).
pub const SYNTHETIC_MAX_SEEDS: u32 = 1000;

/// Parse an oracle spec: `synthetic:LAW[:noise=σ][:seed=s][:seeds=N]`, else a shell command.
pub fn parse_oracle(spec: &str, timeout: Option<Duration>) -> Result<Box<dyn Oracle>> {
    let o = Origin::default();
    if let Some(rest) = spec.strip_prefix("synthetic:") {
        let mut parts = rest.split(':');
        let law_spec = parts.next().filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::invalid(&o, "--oracle", spec, "synthetic needs a law: synthetic:LAW[:noise=σ][:seed=s][:seeds=N]")
        })?;
        let law = crate::law::load_law(law_spec)?;
        let (mut noise, mut seed, mut seeds) = (0.0, 0u64, 1u32);
        for p in parts {
            match p.split_once('=') {
                Some(("noise", v)) => {
                    noise = v
                        .parse()
                        .ok()
                        .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                        .ok_or_else(|| Error::invalid(&o, "--oracle noise", v, "must be a non-negative number"))?
                }
                Some(("seed", v)) => {
                    seed = v
                        .parse()
                        .map_err(|_| Error::invalid(&o, "--oracle seed", v, "must be a non-negative integer"))?
                }
                Some(("seeds", v)) => {
                    seeds = v.parse().ok().filter(|n| (1..=SYNTHETIC_MAX_SEEDS).contains(n)).ok_or_else(|| {
                        Error::invalid(
                            &o,
                            "--oracle seeds",
                            v,
                            format!("must be a whole number of training seeds per call, 1 to {SYNTHETIC_MAX_SEEDS}"),
                        )
                    })?
                }
                _ => {
                    return Err(Error::invalid(
                        &o,
                        "--oracle",
                        spec,
                        format!("unknown synthetic option `{p}`; expected noise=σ, seed=s or seeds=N"),
                    ))
                }
            }
        }
        return Ok(Box::new(SyntheticOracle { law, noise, seed, tokens: None, seeds }));
    }
    if spec.trim().is_empty() {
        return Err(Error::invalid(
            &o,
            "--oracle",
            "\"\"",
            "give synthetic:LAW[:noise=σ][:seed=s][:seeds=N] or a command",
        ));
    }
    Ok(Box::new(CommandOracle { command: spec.to_string(), timeout }))
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn design() -> Design {
        let a = Architecture {
            name: None,
            layers: 8,
            hidden: 1024,
            heads: 16,
            kv_heads: 4,
            head_dim: 64,
            ffn: 1024,
            experts: 8,
            active_experts: 1,
            vocab: 32000,
            tied_embeddings: true,
            qkv_bias: false,
        };
        Design::from_arch(&a, "bf16", "bf16")
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::design;
    use super::*;

    #[test]
    fn synthetic_is_deterministic_per_design_and_seed() {
        let o = parse_oracle("synthetic:paper:noise=0.02:seed=7", None).unwrap();
        let d = design();
        let a = o.evaluate(&d).unwrap();
        assert_eq!(a, o.evaluate(&d).unwrap());
        let o2 = parse_oracle("synthetic:paper:noise=0.02:seed=8", None).unwrap();
        assert_ne!(a, o2.evaluate(&d).unwrap());
        let clean = parse_oracle("synthetic:paper", None).unwrap().evaluate(&d).unwrap();
        assert!((a - clean).abs() < 0.2);
    }

    #[test]
    fn bad_specs_name_the_option() {
        assert!(parse_oracle("synthetic:paper:noise=-1", None).err().unwrap().to_string().contains("noise"));
        assert!(parse_oracle("synthetic:paper:foo=1", None).err().unwrap().to_string().contains("foo"));
        assert!(parse_oracle("synthetic:no-such-law", None).is_err());
    }

    #[test]
    fn output_parsing() {
        assert_eq!(parse_oracle_output("step 1\n{\"loss\": 3.5}\n").unwrap(), 3.5);
        // Bit-exact round trip of the shortest representation.
        let x = 3.2898474722067554_f64;
        assert_eq!(parse_oracle_output(&format!("{{\"loss\": {x}, \"s\": 1}}")).unwrap().to_bits(), x.to_bits());
        assert!(parse_oracle_output("{\"loss\": -1}").is_err());
        assert!(parse_oracle_output("nothing").is_err());
    }

    #[test]
    fn command_oracle_reads_stdin_and_times_out() {
        let ok = CommandOracle { command: "grep -q '\"layers\":8' && echo '{\"loss\": 2.5}'".into(), timeout: None };
        assert_eq!(ok.evaluate(&design()).unwrap(), 2.5);
        let fail = CommandOracle { command: "exit 3".into(), timeout: None };
        assert!(fail.evaluate(&design()).unwrap_err().contains("exit"));
        let slow = CommandOracle { command: "sleep 5".into(), timeout: Some(Duration::from_millis(100)) };
        assert!(slow.evaluate(&design()).unwrap_err().contains("timed out"));
    }
}
