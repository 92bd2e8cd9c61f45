//! The loop's robustness (issues 17.3, 18.1, 19.4): oracle commands that fail in every way
//! are recorded failures with their reason and the loop goes on; a round that measures
//! nothing exits non-zero and `--retry-failed` re-asks it; `--extend` reopens a finished
//! journal; per-row weights from `loss_sd`; a planted outlier is flagged, re-asked and
//! excluded with a record.

mod common;

use colaw::instance::Instance;
use colaw::law::fit::{fit_power_law, FitOptions, Starts};
use colaw::law::noise::seed_weights;
use colaw::law::{read_observations, ColumnMap, PowerLaw, Var};
use colaw::oracle::{parse_oracle, CommandOracle, Design, FailureKind, Oracle, SyntheticOracle};
use colaw::outer::{data_csv, initial_data, Journal, LoopOptions, OuterLoop};
use common::colaw;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A small space (64 candidates) whose law has 3 coefficients, so that fits are quick and
/// the outlier check (n ≥ 2k rows) is on from the first round.
const INSTANCE: &str = r#"
name = "small-3coef"
[space]
layers = { from = 4, to = 32, step = 4 }
hidden = [768, 1024, 1536, 2048]
head_dim = [64]
kv_heads = [1, 4]
ffn_ratio = [1.0, 2.0]
moe = [[1, 1]]
vocab = [32000]
tied = [true]

[law]
name = "prior.toml"

[[scenario]]
name = "orin"
hardware = "jetson-orin-nx-16gb"
compute_dtype = "bf16"
[scenario.budget]
tpot_ms = 20.0
"#;

/// L = E + A·N^−α + B·layers^β: size helps, depth beyond what size needs costs, and the
/// coefficients decide which depth wins (so P(optimal) stays below 1).
fn law(name: &str, c: [f64; 5]) -> String {
    format!(
        "name = \"{name}\"\n[coefficients]\nE = {}\nA = {}\nalpha = {}\nB = {}\nbeta = {}\n[form]\nconstant = \"E\"\n\
         [[form.terms]]\ncoef = \"A\"\npow = {{ params = \"-alpha\" }}\n[[form.terms]]\ncoef = \"B\"\n\
         pow = {{ layers = \"beta\" }}\n",
        c[0], c[1], c[2], c[3], c[4]
    )
}

/// The prior (the instance's law) and the truth the oracles answer from.
const PRIOR: [f64; 5] = [1.69, 406.4, 0.34, 0.03, 0.5];
const TRUTH: [f64; 5] = [1.8, 300.0, 0.3, 0.04, 0.6];

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    inst_path: PathBuf,
    inst: Instance,
    truth: PathBuf,
    data: PathBuf,
}

fn setup(init: usize) -> Setup {
    setup_with(init, &law("prior", PRIOR), &law("truth", TRUTH))
}

/// L = A·N^−α: two coefficients, linear in log–log, so the space's sizes pin them down (the
/// outlier test compares fitted coefficients with the truth's).
fn law2(name: &str, c: [f64; 2]) -> String {
    format!(
        "name = \"{name}\"\n[coefficients]\nA = {}\nalpha = {}\n[form]\n\
         [[form.terms]]\ncoef = \"A\"\npow = {{ params = \"-alpha\" }}\n",
        c[0], c[1]
    )
}
const TRUTH2: [f64; 2] = [20.0, 0.1];
const PRIOR2: [f64; 2] = [25.0, 0.11];

fn setup_with(init: usize, prior: &str, truth_law: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("prior.toml"), prior).unwrap();
    let truth = root.join("truth.toml");
    std::fs::write(&truth, truth_law).unwrap();
    let inst_path = root.join("instance.toml");
    std::fs::write(&inst_path, INSTANCE).unwrap();
    let inst = Instance::load(&inst_path).unwrap();
    let data = root.join("data.csv");
    if init > 0 {
        let o = parse_oracle(&spec(&truth), None).unwrap();
        std::fs::write(&data, data_csv(&initial_data(&inst, o.as_ref(), init, 5).unwrap())).unwrap();
    }
    Setup { _dir: dir, root, inst_path, inst, truth, data }
}

fn spec(truth: &Path) -> String {
    format!("synthetic:{}:noise=0.003:seed=1", truth.display())
}

/// A design of the small space (8 layers, its first width).
fn design() -> Design {
    let s = setup(0);
    Design::new(&s.inst.space.widths[0], 8)
}

fn cmd(c: &str, timeout_ms: u64) -> CommandOracle {
    CommandOracle { command: c.into(), timeout: Some(Duration::from_millis(timeout_ms)) }
}

#[test]
fn every_bad_oracle_command_is_a_failure_with_its_reason() {
    let d = design();
    let fail = |c: &str| cmd(c, 1500).measure(&d).unwrap_err();
    // Garbage (bytes that are not even UTF-8, then text that is not JSON).
    let f = fail("head -c 3000 /dev/urandom; echo; echo 'not json {'");
    assert_eq!(f.kind, FailureKind::Output, "{}", f.message);
    assert!(f.message.contains("no JSON object with `loss`"), "{}", f.message);
    // A hang: killed at the timeout, with what it started (the `sleep` holds stdout).
    let f = fail("sleep 30; echo '{\"loss\": 3}'");
    assert_eq!(f.kind, FailureKind::Timeout, "{}", f.message);
    // A flood: 100 MB on stdout, no reply; only a bounded tail is kept.
    let f = fail("yes 'loss loss loss loss loss' | head -c 100000000");
    assert_eq!(f.kind, FailureKind::Output, "{}", f.message);
    assert!(f.message.contains("100000000 bytes on stdout"), "{}", f.message);
    // A flood followed by a reply still counts: the reply is in the tail.
    let ok = cmd("yes 'step' | head -c 20000000; echo '{\"loss\": 3.25}'", 20_000).measure(&d).unwrap();
    assert_eq!(ok.loss, 3.25);
    // A non-zero exit, reported with the whole last lines of stderr.
    let f = fail("echo 'loading the corpus' >&2; echo 'RuntimeError: CUDA out of memory, tried 2.00 GiB' >&2; exit 3");
    assert_eq!(f.kind, FailureKind::Exit, "{}", f.message);
    assert!(
        f.message.contains("loading the corpus | RuntimeError: CUDA out of memory, tried 2.00 GiB"),
        "{}",
        f.message
    );
    // Non-finite and non-positive losses.
    for (out, what) in [("{\"loss\": NaN}", "NaN"), ("{\"loss\": 1e999}", "1e999"), ("{\"loss\": -2.0}", "-2")] {
        let f = fail(&format!("echo '{out}'"));
        assert_eq!(f.kind, FailureKind::Loss, "{out}: {}", f.message);
        assert!(f.message.contains(what), "{out}: {}", f.message);
    }
    // A Python oracle printing NaN (Python's json does), and one with several seeds.
    let py = "python3 -c 'import json,sys; json.load(sys.stdin); print(json.dumps({\"loss\": float(\"nan\")}))'";
    assert_eq!(fail(py).kind, FailureKind::Loss);
    let py = "python3 -c 'import json,sys; d=json.load(sys.stdin); \
              print(json.dumps({\"loss\": 3.5, \"loss_sd\": 0.02, \"seeds\": [0, 1, 2], \"key\": d[\"key\"]}))'";
    let r = cmd(py, 20_000).measure(&d).unwrap();
    assert_eq!((r.loss, r.loss_sd, r.seeds), (3.5, Some(0.02), Some(3)));
    // A bad `loss_sd` is a failure too, not a silently ignored field.
    let f = fail("echo '{\"loss\": 3.5, \"loss_sd\": -1}'");
    assert!(f.kind == FailureKind::Output && f.message.contains("loss_sd"), "{}", f.message);
    // A command that cannot start (no shell problem: the command itself is missing).
    let f = fail("/nonexistent/oracle-binary");
    assert_eq!(f.kind, FailureKind::Exit, "{}", f.message);
    assert!(f.message.contains("not found") || f.message.contains("No such file"), "{}", f.message);
}

/// `colaw loop` on the small instance with quick settings.
fn loop_cli(s: &Setup, journal: &Path, oracle: &str, extra: &[&str]) -> std::process::Output {
    loop_cli_rounds(s, journal, oracle, "1", extra)
}

fn loop_cli_rounds(s: &Setup, journal: &Path, oracle: &str, rounds: &str, extra: &[&str]) -> std::process::Output {
    let (inst, data, journal) =
        (s.inst_path.display().to_string(), s.data.display().to_string(), journal.display().to_string());
    let mut args = vec![
        "loop",
        "--instance",
        &inst,
        "--data",
        &data,
        "--oracle",
        oracle,
        "--journal",
        &journal,
        "--rounds",
        rounds,
        "--per-round",
        "2",
        "--stop-confidence",
        "1",
        "--samples",
        "50",
        "--starts",
        "20",
        "--warm-starts",
        "5",
    ];
    args.extend_from_slice(extra);
    colaw(&args)
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_round_that_measures_nothing_fails_then_retry_failed_and_extend() {
    let s = setup(10);
    let j = s.root.join("j");
    let state = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(j.join("state.json")).unwrap()).unwrap()
    };
    // Every call fails: exit non-zero, naming the round, the oracle's whole error line and
    // the way out.
    let broken = "echo 'training crashed: CUDA error 700 (illegal address)' >&2; exit 5";
    let out = loop_cli(&s, &j, broken, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("round 1 measured nothing")
            && err.contains("training crashed: CUDA error 700 (illegal address)")
            && err.contains("--retry-failed"),
        "{err}"
    );
    assert!(state()["finished"].is_null());
    assert_eq!(jsonl(&j.join("oracle.jsonl")).len(), 4, "2 designs × (1 + 1 retry)");
    // The oracle fixed: --retry-failed re-asks both designs (attempts 3), then goes on.
    let v = json(&loop_cli(&s, &j, &spec(&s.truth), &["--retry-failed"]));
    assert_eq!(v["calls_this_run"], 2);
    assert_eq!((v["measured"].as_u64(), v["failed"].as_u64()), (Some(2), Some(0)));
    assert!(v["notes"][0].as_str().unwrap().contains("re-asked 2 design(s)"), "{v}");
    let calls = jsonl(&j.join("oracle.jsonl"));
    assert_eq!(calls.len(), 6);
    for c in &calls[..4] {
        assert_eq!((c["failure"].as_str(), c["round"].as_u64()), (Some("exit"), Some(1)), "{c}");
    }
    for c in &calls[4..] {
        assert!(c["loss"].is_number() && c["attempt"] == 3, "{c}");
    }
    let rounds = v["rounds"].as_u64().unwrap();
    assert_eq!(rounds, 2);
    // Finished: a larger --rounds does not reopen it, and says so.
    let v = json(&loop_cli_rounds(&s, &j, &spec(&s.truth), "3", &[]));
    assert_eq!((v["calls_this_run"].as_u64(), v["rounds"].as_u64()), (Some(0), Some(rounds)));
    assert!(
        v["notes"][0].as_str().unwrap().contains("already finished")
            && v["notes"][0].as_str().unwrap().contains("--extend")
    );
    // --extend 1: one more measuring round after round 2, then a final fit.
    let v = json(&loop_cli(&s, &j, &spec(&s.truth), &["--extend", "1"]));
    assert_eq!((v["calls_this_run"].as_u64(), v["rounds"].as_u64()), (Some(2), Some(4)), "{v}");
    assert!(v["stop"].as_str().unwrap().contains("1 extended rounds measured"), "{v}");
    assert_eq!(state()["extensions"], serde_json::json!([{"after_round": 2, "rounds": 1}]));
    assert!(state()["finished"].is_string());
    assert_eq!(std::fs::read_to_string(j.join("data.csv")).unwrap().lines().count(), 1 + 10 + 4);
}

#[test]
fn calls_this_run_counts_the_initial_designs() {
    let s = setup(0);
    let j = s.root.join("j");
    let v = json(&loop_cli(&s, &j, &spec(&s.truth), &["--init", "8"]));
    assert_eq!(v["calls_this_run"], 8 + 2, "{v}");
    assert_eq!(v["calls"], 8 + 2);
}

#[test]
fn the_loop_goes_on_past_every_kind_of_oracle_failure() {
    // Designs of hidden size 768 or 1024 fail, by depth: 4 layers print garbage, 8 hang, 12
    // flood stdout, 16 exit 3, 20 print NaN; the others get the synthetic truth.
    let s = setup(0);
    let j = s.root.join("j");
    let oracle = format!(
        "read d; case \"$d\" in *'\"hidden\":768,'*|*'\"hidden\":1024,'*) \
         case \"$d\" in \
         *'\"layers\":4,'*) head -c 2000 /dev/urandom; exit 0;; \
         *'\"layers\":8,'*) sleep 30;; \
         *'\"layers\":12,'*) yes flood | head -c 30000000; exit 0;; \
         *'\"layers\":16,'*) echo 'bad design' >&2; exit 3;; \
         *'\"layers\":20,'*) echo '{{\"loss\": NaN}}'; exit 0;; esac;; esac; \
         exec {} oracle '{}' <<EOF\n$d\nEOF\n",
        env!("CARGO_BIN_EXE_colaw"),
        spec(&s.truth)
    );
    let out = loop_cli(&s, &j, &oracle, &["--init", "30", "--jobs", "4", "--retries", "0", "--timeout-s", "2"]);
    let v = json(&out);
    let expect = |c: &serde_json::Value| match (c["design"]["hidden"].as_u64(), c["design"]["layers"].as_u64()) {
        (Some(768 | 1024), Some(4)) => Some("output"),
        (Some(768 | 1024), Some(8)) => Some("timeout"),
        (Some(768 | 1024), Some(12)) => Some("output"),
        (Some(768 | 1024), Some(16)) => Some("exit"),
        (Some(768 | 1024), Some(20)) => Some("loss"),
        _ => None,
    };
    let calls = jsonl(&j.join("oracle.jsonl"));
    let mut kinds: Vec<&str> = Vec::new();
    for c in &calls {
        let want = expect(c);
        assert_eq!(c["failure"].as_str(), want, "{c}");
        assert_eq!(c["error"].is_string(), want.is_some(), "{c}");
        kinds.extend(c["failure"].as_str());
    }
    kinds.sort();
    kinds.dedup();
    assert!(kinds.len() >= 4, "the initial designs should hit most failure kinds: {kinds:?}");
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), calls.iter().filter(|c| c["error"].is_string()).count());
    assert!(failures.iter().all(|f| f["kind"].is_string() && !f["error"].as_str().unwrap().is_empty()));
    // The designs that answered are the data; the loop went on to its rounds.
    let round0_ok = calls.iter().filter(|c| c["round"] == 0 && c["loss"].is_number()).count();
    assert_eq!(std::fs::read_to_string(&s.data).unwrap().lines().count(), 1 + round0_ok);
    assert!(v["rounds"].as_u64().unwrap() >= 1);
}

/// The truth plus small noise, except one design whose first measurement is far off.
struct Planted {
    inner: SyntheticOracle,
    key: String,
    add: f64,
}

impl Oracle for Planted {
    fn evaluate(&self, d: &Design) -> Result<f64, String> {
        let l = self.inner.evaluate(d)?;
        Ok(if d.key == self.key && d.seed == 0 { l + self.add } else { l })
    }
    fn describe(&self) -> String {
        "planted outlier".into()
    }
}

/// Largest relative error of the fitted coefficients against the truth.
fn coef_error(law: &PowerLaw) -> f64 {
    law.values.iter().zip(TRUTH2).map(|(v, t)| ((v - t) / t).abs()).fold(0.0, f64::max)
}

#[test]
fn a_planted_outlier_is_flagged_reasked_and_excluded_with_a_record() {
    // With this law every sample picks the largest design (P(optimal) = 1), so the loop would
    // stop after round 1 but for the pending re-ask: it waits for it.
    let s = setup_with(0, &law2("prior", PRIOR2), &law2("truth", TRUTH2));
    let truth = SyntheticOracle {
        law: colaw::law::load_law(&s.truth.display().to_string()).unwrap(),
        noise: 0.0005,
        seed: 1,
        tokens: None,
        seeds: 1,
    };
    let plain = initial_data(&s.inst, &truth, 14, 5).unwrap();
    let key = plain[5].0.key.clone();
    let oracle = Planted { inner: truth, key: key.clone(), add: 0.4 };
    std::fs::write(&s.data, data_csv(&initial_data(&s.inst, &oracle, 14, 5).unwrap())).unwrap();
    let j = s.root.join("j");
    let opts = LoopOptions {
        rounds: 2,
        per_round: 2,
        stop_confidence: 1.0,
        samples: 50,
        starts: Starts::Lhs(30),
        warm_starts: 5,
        ..Default::default()
    };
    let report = OuterLoop::new(&s.inst, &oracle, opts, Journal::new(&j).unwrap()).run(&s.data).unwrap();
    // Round 1 flags exactly the planted row (line 7 of the data: header + 5 rows before it)
    // and re-asks it with seed 1.
    let r1 = &report.rounds[0];
    assert_eq!(r1.outliers.len(), 1, "{:?}", r1.outliers);
    let o = &r1.outliers[0];
    assert_eq!(o.row, "initial:7");
    assert!(o.z > 3.5 && o.loss > o.predicted_loss + 0.3, "{o:?}");
    assert_eq!(o.reask_key.as_deref(), Some(format!("{key}@seed=1").as_str()));
    assert_eq!(r1.reask.len(), 1);
    assert_eq!((r1.reask[0].key.as_str(), r1.reask[0].seed), (key.as_str(), 1));
    // The journal holds the re-ask's call, marked as one.
    let calls = jsonl(&j.join("oracle.jsonl"));
    let re: Vec<&serde_json::Value> = calls.iter().filter(|c| c["reask"].is_string()).collect();
    assert_eq!(re.len(), 1);
    assert_eq!((re[0]["design"]["seed"].as_u64(), re[0]["round"].as_u64()), (Some(1), Some(1)));
    assert!(re[0]["reask"].as_str().unwrap().contains("outlier"));
    // The re-ask agreed with the law: the row is excluded, with its record, in state.json,
    // the report and data.csv (weight 0 and the reason); the re-ask's row is in the data.
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(j.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["outliers"][0]["status"], "excluded", "{state}");
    assert_eq!(report.outliers.len(), 1);
    assert_eq!(report.outliers[0].status, "excluded");
    let data = std::fs::read_to_string(j.join("data.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(data.as_bytes());
    let head = rdr.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let recs: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(&recs[5][col("weight")], "0");
    assert!(recs[5][col("excluded")].contains("re-ask"), "{:?}", &recs[5]);
    assert!(recs.iter().enumerate().all(|(i, r)| i == 5 || &r[col("weight")] == "1"));
    assert_eq!(recs.len(), 14 + report.measured, "initial rows, then the re-ask and the rounds' designs");
    let name = col("name");
    assert_eq!(recs.iter().filter(|r| r[name] == *o.label).count(), 2, "the outlier and its re-ask");
    // Later rounds never flag it again (weight 0 rows are not checked).
    assert!(report.rounds[1..].iter().all(|r| r.outliers.iter().all(|o| o.row != "initial:7")));
    // The fit without the outlier recovers the true coefficients better than with it.
    let prior = PowerLaw::from_toml_str(&law2("prior", PRIOR2), &Default::default()).unwrap();
    let obs = read_observations(&j.join("data.csv"), &[Var::Params], &ColumnMap::default(), None).unwrap();
    let fo = || FitOptions { starts: Starts::Lhs(100), cv_folds: 0, ..Default::default() };
    let (without, _) = fit_power_law(&prior, &obs, fo()).unwrap();
    let mut with = obs.clone();
    with.weights[5] = 1.0;
    let (with, _) = fit_power_law(&prior, &with, fo()).unwrap();
    let (e_without, e_with) = (coef_error(&without), coef_error(&with));
    eprintln!("largest relative coefficient error: without the outlier {e_without:.4}, with it {e_with:.4}");
    assert!(e_without < e_with, "coefficient error without the outlier {e_without}, with it {e_with}");
}

#[test]
fn loss_sd_weights_move_the_fit_as_weighted_least_squares_does() {
    // L = A·N^−α through three points; the middle one is 0.06 % high (inside the Huber
    // threshold, so the objective is plain weighted least squares in log loss) and reports a
    // large loss_sd over 2 seeds, the others a small one.
    let law = PowerLaw::from_toml_str(
        "name = \"one-term\"\n[coefficients]\nA = 20.0\nalpha = 0.1\n[form]\n[[form.terms]]\n\
         coef = \"A\"\npow = { params = \"-alpha\" }\n",
        &Default::default(),
    )
    .unwrap();
    let ns = [1e8f64, 1e9, 1e10];
    let truth = |n: f64| 20.0 * n.powf(-0.1);
    let loss = [truth(ns[0]), truth(ns[1]) * 6e-4f64.exp(), truth(ns[2])];
    let sd = [0.0001, 0.004, 0.0001];
    let mut text = String::from("params,loss,loss_sd,seeds\n");
    for i in 0..3 {
        text.push_str(&format!("{},{},{},2\n", ns[i], loss[i], sd[i]));
    }
    let f = common::temp(".csv", &text);
    let mut obs = read_observations(f.path(), &[Var::Params], &ColumnMap::default(), None).unwrap();
    // Standard error = sd/√2; the floor 1e-7 (log loss²) stands in for the pooled residual noise.
    for (se, sd) in obs.loss_se.iter().zip(sd) {
        assert!((se.unwrap() - sd / 2f64.sqrt()).abs() < 1e-15);
    }
    let floor = 1e-7;
    let w = seed_weights(&obs.loss, &obs.loss_se, &obs.weights, floor);
    // By hand: v_i = (sd_i/(L_i·√2))², w_i ∝ 1/(v_i + floor), scaled to sum 3.
    let raw: Vec<f64> = (0..3).map(|i| 1.0 / ((sd[i] / loss[i]).powi(2) / 2.0 + floor)).collect();
    let sum: f64 = raw.iter().sum();
    for i in 0..3 {
        assert!((w[i] - 3.0 * raw[i] / sum).abs() < 1e-9 * w[i], "{w:?}");
    }
    assert!(w[1] < 0.1 * w[0], "the noisy row weighs little: {w:?}");
    let fo = || FitOptions { starts: Starts::Lhs(20), cv_folds: 0, ..Default::default() };
    let (flat, _) = fit_power_law(&law, &obs, fo()).unwrap();
    obs.weights = w.clone();
    let (weighted, _) = fit_power_law(&law, &obs, fo()).unwrap();
    // Weighted least squares of y = log L on x = log N, in closed form.
    let wls = |w: &[f64]| {
        let x: Vec<f64> = ns.iter().map(|n| n.ln()).collect();
        let y: Vec<f64> = loss.iter().map(|l| l.ln()).collect();
        let sw: f64 = w.iter().sum();
        let xm = (0..3).map(|i| w[i] * x[i]).sum::<f64>() / sw;
        let ym = (0..3).map(|i| w[i] * y[i]).sum::<f64>() / sw;
        let b = (0..3).map(|i| w[i] * (x[i] - xm) * (y[i] - ym)).sum::<f64>()
            / (0..3).map(|i| w[i] * (x[i] - xm).powi(2)).sum::<f64>();
        ((ym - b * xm).exp(), -b)
    };
    for (fit, w) in [(&flat, vec![1.0; 3]), (&weighted, w.clone())] {
        let (a, alpha) = wls(&w);
        assert!(
            (fit.values[0] / a - 1.0).abs() < 1e-5 && (fit.values[1] - alpha).abs() < 1e-6,
            "{:?} vs {a} {alpha}",
            fit.values
        );
    }
    // `colaw fit` weights the same file by its loss_sd, and says so in the fitted law.
    let law_file = common::temp(".toml", &law.to_toml_string());
    let out = colaw(&[
        "fit",
        &f.path().display().to_string(),
        "--law",
        &law_file.path().display().to_string(),
        "--cv-folds",
        "0",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("seed_noise_floor_log"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The expected direction: down-weighting the high middle row brings the fit back to the
    // line through the other two (the truth): its prediction there drops toward the truth.
    let pred = |v: &[f64]| v[0] * ns[1].powf(-v[1]);
    assert!(pred(&flat.values) > pred(&weighted.values));
    // (Equally spaced log N, equal outer weights: the fit's middle value is the weighted mean
    // of the three, so its excess is w_1/Σw of the 0.06 %: a third unweighted, 3.6 % weighted.)
    let excess = |v: &[f64]| (pred(v) / truth(ns[1])).ln() / 6e-4;
    assert!((excess(&flat.values) - 1.0 / 3.0).abs() < 1e-3, "{}", excess(&flat.values));
    assert!((excess(&weighted.values) - w[1] / 3.0).abs() < 1e-3, "{}", excess(&weighted.values));
}

#[test]
fn oracle_loss_sd_reaches_the_journal_the_data_and_the_weighted_fit() {
    let s = setup(10);
    let j = s.root.join("j");
    // The synthetic truth, reported as the mean of 3 seeds with a loss_sd.
    let oracle = format!(
        "l=$({} oracle '{}' | sed 's/.*\"loss\":\\([^,}}]*\\).*/\\1/'); echo \"{{\\\"loss\\\": $l, \\\"loss_sd\\\": 0.004, \\\"seeds\\\": [0, 1, 2]}}\"",
        env!("CARGO_BIN_EXE_colaw"),
        spec(&s.truth)
    );
    let v = json(&loop_cli(&s, &j, &oracle, &[]));
    assert_eq!(v["measured"], 2, "{v}");
    let calls = jsonl(&j.join("oracle.jsonl"));
    assert!(calls.iter().all(|c| c["loss_sd"] == 0.004 && c["seeds"] == 3), "{calls:?}");
    // data.csv gains weight, loss_sd, seeds, excluded; the initial rows have no loss_sd.
    let data = std::fs::read_to_string(j.join("data.csv")).unwrap();
    let head = data.lines().next().unwrap();
    assert!(head.ends_with("loss_sd,seeds,excluded") && head.contains(",weight,"), "{head}");
    assert_eq!(data.lines().filter(|l| l.contains(",4e-3,3,")).count(), 2, "{data}");
    // Round 2's fit used the weights and records the floor.
    let fit = std::fs::read_to_string(j.join("round-002/fit.toml")).unwrap();
    assert!(fit.contains("seed_noise_floor_log"), "{fit}");
    let r2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(j.join("round-002/choice.json")).unwrap()).unwrap();
    assert!(r2["seed_noise_floor"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_synthetic_oracle_with_seeds_lets_the_round_see_a_form_that_misfits() {
    // The truth adds 0.02·gqa^0.5 (gqa = heads/kv_heads: 3–32 here), which the prior's form
    // has no variable for; the oracle reports 3 seeds per call, so rounds after the first
    // have pure error and run the lack-of-fit test. The same truth without that term passes it.
    let misfit = law("truth", TRUTH) + "\n[[form.terms]]\ncoef = \"K\"\npow = { gqa = \"g\" }\n";
    let misfit = misfit.replacen("[coefficients]\n", "[coefficients]\nK = 0.02\ng = 0.5\n", 1);
    for (truth, misfits) in [(misfit, true), (law("truth", TRUTH), false)] {
        let s = setup_with(12, &law("prior", PRIOR), &truth);
        let j = s.root.join("j");
        let oracle = format!("synthetic:{}:noise=0.003:seed=1:seeds=3", s.truth.display());
        let out = loop_cli_rounds(&s, &j, &oracle, "2", &[]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        // Round 1's rows have no seeds (the initial data): no test yet.
        let r1: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(j.join("round-001/choice.json")).unwrap()).unwrap();
        assert!(r1.get("lack_of_fit").is_none(), "{r1}");
        // The last round (the right-form loop may stop confidently after round 2).
        let last = (2..=3).rev().map(|r| j.join(format!("round-{r:03}/choice.json"))).find(|p| p.exists()).unwrap();
        let rl: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&last).unwrap()).unwrap();
        let lof = &rl["lack_of_fit"];
        let p = lof["p_value"].as_f64().unwrap_or_else(|| panic!("no lack_of_fit in {}: {rl}", last.display()));
        // 2 rounds × the designs asked, 3 seeds each: 2 degrees of freedom of pure error per row.
        assert_eq!(lof["df_pure"].as_f64().unwrap() % 2.0, 0.0, "{lof}");
        assert_eq!(p < 0.01, misfits, "p = {p}: {lof}");
        assert_eq!(err.contains("the law's form misfits these rows"), misfits, "{err}");
        // The journal's calls carry the seeds the oracle reported.
        let calls = jsonl(&j.join("oracle.jsonl"));
        assert!(calls.iter().all(|c| c["seeds"] == 3 && c["loss_sd"].as_f64().unwrap() > 0.0), "{calls:?}");
    }
}
