//! Oracles: whatever measures the loss of a design for the outer loop ([`crate::outer`]).
//!
//! Two kinds ship:
//! - `synthetic:LAW[:noise=σ][:seed=s]` — the loss a law file (or shipped law name) predicts,
//!   plus Gaussian noise of standard deviation σ (in loss units, default 0). The noise is a
//!   function of (seed, design key) alone, so a resumed or repeated loop sees the same value
//!   for the same design whatever the order or parallelism of the calls;
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

/// Something that measures the loss of a design. Implementations must be callable from
/// several threads at once; a failure is a message, never a panic.
pub trait Oracle: Send + Sync {
    /// Measure one design.
    fn evaluate(&self, design: &Design) -> std::result::Result<f64, String>;
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
}

impl SyntheticOracle {
    /// The noise-free loss of a design.
    pub fn true_loss(&self, d: &Design) -> f64 {
        self.law.loss(&LawInputs::from_arch(&d.arch(), self.tokens.or(self.law.default_tokens())))
    }

    /// The noise added to a design: N(0, σ²) drawn from an RNG seeded by (seed, key).
    pub fn noise_of(&self, d: &Design) -> f64 {
        if self.noise == 0.0 {
            return 0.0;
        }
        let h = Sha256::digest(format!("{}\u{0}{}", self.seed, d.key).as_bytes());
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
        let l = self.true_loss(d) + self.noise_of(d);
        if l.is_finite() && l > 0.0 {
            Ok(l)
        } else {
            Err(format!("synthetic loss {l} is not a positive number"))
        }
    }
    fn describe(&self) -> String {
        format!("synthetic law `{}`, noise σ = {}, seed {}", self.law.name, self.noise, self.seed)
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

/// Parse an oracle's stdout: the last line that is a JSON object with a numeric `loss`.
pub fn parse_oracle_output(stdout: &str) -> std::result::Result<f64, String> {
    for line in stdout.lines().rev() {
        let t = line.trim();
        if !t.starts_with('{') {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(t) {
            // The number is re-read from its text with Rust's correctly rounded parser
            // (serde_json's fast float parser may be one ulp off), so a loss printed by
            // another program arrives bit-exact.
            let exact = v.get("loss").and_then(|l| l.as_f64()).map(|l| raw_number(t, "loss").unwrap_or(l));
            return match exact {
                Some(l) if l.is_finite() && l > 0.0 => Ok(l),
                Some(l) => Err(format!("`loss` = {l} is not a positive number")),
                None => Err(format!("no numeric `loss` in {t}")),
            };
        }
    }
    let tail: String = stdout.chars().rev().take(200).collect::<Vec<_>>().into_iter().rev().collect();
    Err(format!("no JSON object with `loss` on stdout (ends with: {tail:?})"))
}

/// The text of the number after `"key":` in a JSON object line, parsed exactly.
fn raw_number(line: &str, key: &str) -> Option<f64> {
    let pat = format!("\"{key}\"");
    let at = line.find(&pat)? + pat.len();
    let rest = line[at..].trim_start().strip_prefix(':')?.trim_start();
    let end =
        rest.find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

impl Oracle for CommandOracle {
    fn evaluate(&self, d: &Design) -> std::result::Result<f64, String> {
        let input = serde_json::to_string(d).map_err(|e| e.to_string())?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start `sh -c {}`: {e}", self.command))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its input is fine: ignore a broken pipe.
            let _ = stdin.write_all(input.as_bytes()).and_then(|_| stdin.write_all(b"\n"));
        }
        // Read the pipes on threads so a chatty command cannot block on a full pipe.
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let t_out = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_string(&mut s);
            }
            s
        });
        let t_err = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        let t0 = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => return Err(format!("waiting for the oracle: {e}")),
            }
            if self.timeout.is_some_and(|t| t0.elapsed() > t) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {:.1} s", t0.elapsed().as_secs_f64()));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stdout = t_out.join().unwrap_or_default();
        let stderr = t_err.join().unwrap_or_default();
        if !status.success() {
            let tail: String = stderr.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
            return Err(format!("exited with {status}; stderr ends with: {}", tail.trim()));
        }
        parse_oracle_output(&stdout)
    }
    fn describe(&self) -> String {
        format!("command `{}`", self.command)
    }
}

/// Parse an oracle spec: `synthetic:LAW[:noise=σ][:seed=s]`, else a shell command.
pub fn parse_oracle(spec: &str, timeout: Option<Duration>) -> Result<Box<dyn Oracle>> {
    let o = Origin::default();
    if let Some(rest) = spec.strip_prefix("synthetic:") {
        let mut parts = rest.split(':');
        let law_spec = parts.next().filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::invalid(&o, "--oracle", spec, "synthetic needs a law: synthetic:LAW[:noise=σ][:seed=s]")
        })?;
        let law = crate::law::load_law(law_spec)?;
        let (mut noise, mut seed) = (0.0, 0u64);
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
                _ => {
                    return Err(Error::invalid(
                        &o,
                        "--oracle",
                        spec,
                        format!("unknown synthetic option `{p}`; expected noise=σ or seed=s"),
                    ))
                }
            }
        }
        return Ok(Box::new(SyntheticOracle { law, noise, seed, tokens: None }));
    }
    if spec.trim().is_empty() {
        return Err(Error::invalid(&o, "--oracle", "\"\"", "give synthetic:LAW[:noise=σ][:seed=s] or a command"));
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
