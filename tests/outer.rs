//! The outer loop (`colaw loop`): recovers the true optimum with the synthetic oracle,
//! resumes a killed run to exactly the journal of an uninterrupted one, records failing and
//! timed-out oracle calls without losing others.

mod common;

use colaw::instance::Instance;
use colaw::law::Starts;
use colaw::oracle::{parse_oracle, Design, SyntheticOracle};
use colaw::outer::{data_csv, feasible_designs, initial_data, Journal, LoopOptions, OuterLoop, RoundRecord};
use common::colaw;
use std::path::{Path, PathBuf};

/// A reduced paper space (Table 5 depths, 4 widths, 3 KV choices, 3 FFN ratios, dense and
/// two MoE shapes: 864 candidates, 808 within 20 ms/token on a Jetson Orin NX 16GB) whose
/// law is the paper's: its Table 6 values are the prior the loop starts from.
const INSTANCE: &str = r#"
name = "small-paper"
[space]
layers = { from = 4, to = 32, step = 4 }
hidden = [768, 1024, 1536, 2048]
head_dim = [64]
kv_heads = [1, 4, "heads"]
ffn_ratio = [0.5, 1.0, 2.0]
moe = [[1, 1], [8, 1], [16, 1]]
vocab = [151936]
tied = [true]

[law]
name = "paper"

[[scenario]]
name = "orin"
hardware = "jetson-orin-nx-16gb"
compute_dtype = "bf16"
[scenario.budget]
tpot_ms = 20.0
"#;

/// The truth differs from the prior (deeper layers pay less, sparsity helps less, KV width
/// matters more), so its optimum is not the paper law's.
fn truth_law() -> String {
    let paper = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/laws/paper.toml")).unwrap();
    paper
        .replace("name = \"paper\"", "name = \"truth\"")
        .replace("kappa_l = 9.96", "kappa_l = 14.0")
        .replace("alpha_l = 1.63", "alpha_l = 1.3")
        .replace("alpha_rho = 1.09", "alpha_rho = 0.7")
        .replace("kappa_m = 0.20", "kappa_m = 0.35")
        .replace("alpha_m = 0.05", "alpha_m = 0.12")
        .replace("alpha_r = 0.17", "alpha_r = 0.25")
}

struct Setup {
    _dir: tempfile::TempDir,
    root: PathBuf,
    inst_path: PathBuf,
    inst: Instance,
    truth: PathBuf,
    data: PathBuf,
}

fn setup(init: usize, seed: u64) -> Setup {
    setup_with(INSTANCE, init, seed)
}

fn setup_with(instance: &str, init: usize, seed: u64) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let inst_path = root.join("instance.toml");
    std::fs::write(&inst_path, instance).unwrap();
    let truth = root.join("truth.toml");
    std::fs::write(&truth, truth_law()).unwrap();
    let inst = Instance::load(&inst_path).unwrap();
    let oracle = parse_oracle(&oracle_spec(&truth), None).unwrap();
    let data = root.join("data.csv");
    std::fs::write(&data, data_csv(&initial_data(&inst, oracle.as_ref(), init, seed).unwrap())).unwrap();
    Setup { _dir: dir, root, inst_path, inst, truth, data }
}

fn oracle_spec(truth: &Path) -> String {
    format!("synthetic:{}:noise=0.003:seed=1", truth.display())
}

/// The true optimum: the feasible design with the lowest noise-free loss.
fn true_optimum(s: &Setup) -> Design {
    let o = SyntheticOracle {
        law: colaw::law::load_law(&s.truth.display().to_string()).unwrap(),
        noise: 0.0,
        seed: 0,
        tokens: None,
        seeds: 1,
    };
    feasible_designs(&s.inst).unwrap().into_iter().min_by(|a, b| o.true_loss(a).total_cmp(&o.true_loss(b))).unwrap()
}

fn fast_opts() -> LoopOptions {
    LoopOptions { bootstrap: 40, starts: Starts::Lhs(100), warm_starts: 10, ..Default::default() }
}

#[test]
fn loop_recovers_the_true_optimum_not_the_prior() {
    let s = setup(16, 1);
    let truth = true_optimum(&s);
    let prior = colaw::solve::solve(&s.inst, "enum", &colaw::solve::SolveOptions::from_instance(&s.inst)).unwrap();
    let prior_best = prior.label.clone().unwrap();
    assert_ne!(prior_best, truth.label, "the test needs a truth whose optimum differs from the prior's");
    let oracle = parse_oracle(&oracle_spec(&s.truth), None).unwrap();
    let journal = Journal::new(&s.root.join("journal")).unwrap();
    let report = OuterLoop::new(&s.inst, oracle.as_ref(), fast_opts(), journal).run(&s.data).unwrap();
    let choice = report.choice.clone().unwrap();
    assert_eq!(
        choice.key,
        truth.key,
        "rounds: {:?}",
        report.rounds.iter().map(|r| (&r.choice, r.confidence)).collect::<Vec<_>>()
    );
    assert!(report.confidence >= 0.9, "stopped by {}", report.stop);
    // Never re-asks a design.
    let asked: Vec<&str> = report.rounds.iter().flat_map(|r| r.asked.iter().map(|d| d.key.as_str())).collect();
    let mut uniq = asked.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), asked.len());
    // Journal contents.
    let j = s.root.join("journal");
    for f in ["state.json", "oracle.jsonl", "data.csv", "initial.csv", "confidence.svg", "coefficients.svg"] {
        assert!(j.join(f).is_file(), "{f} missing");
    }
    for r in 1..=report.rounds.len() {
        for f in ["fit.toml", "samples.csv", "choice.json"] {
            assert!(j.join(format!("round-{r:03}")).join(f).is_file(), "round {r} {f} missing");
        }
    }
    let rows = std::fs::read_to_string(j.join("data.csv")).unwrap().lines().count() - 1;
    assert_eq!(rows, 16 + report.measured);
}

fn rounds_of(j: &Path) -> Vec<RoundRecord> {
    let journal = Journal::new(j).unwrap();
    (1..).map_while(|r| journal.round(r).unwrap()).collect()
}

#[test]
fn killed_loop_resumes_to_the_uninterrupted_journal() {
    // The whole 16 GB as the memory budget (not the device's usable share): the kill below is
    // timed for this instance's trajectory, which reaches a 6th oracle call in round 2.
    let s = setup_with(
        &INSTANCE.replace("tpot_ms = 20.0", "tpot_ms = 20.0\nmemory_gb = 16.0\ndevice_memory = false"),
        12,
        2,
    );
    let common = |journal: &Path, oracle: &str| -> Vec<String> {
        [
            "loop",
            "--instance",
            &s.inst_path.display().to_string(),
            "--data",
            &s.data.display().to_string(),
            "--oracle",
            oracle,
            "--journal",
            &journal.display().to_string(),
            "--rounds",
            "3",
            "--per-round",
            "4",
            "--stop-confidence",
            "0.999",
            "--bootstrap",
            "30",
            "--starts",
            "100",
            "--warm-starts",
            "10",
            "--seed",
            "5",
            "--jobs",
            "2",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    // Uninterrupted, with the built-in oracle.
    let a = s.root.join("a");
    let args = common(&a, &oracle_spec(&s.truth));
    let out = colaw(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The same oracle as a command that SIGKILLs the loop (its parent) on the 6th call:
    // round 2, with another call possibly in flight.
    let b = s.root.join("b");
    let count = s.root.join("count");
    let killed = s.root.join("killed");
    let cmd = format!(
        "echo x >> {c}; n=$(wc -l < {c}); \
         if [ $n -ge 6 ] && mkdir {k} 2>/dev/null; then kill -9 $PPID; sleep 2; exit 1; fi; \
         exec {bin} oracle '{spec}'",
        c = count.display(),
        k = killed.display(),
        bin = env!("CARGO_BIN_EXE_colaw"),
        spec = oracle_spec(&s.truth)
    );
    let args = common(&b, &cmd);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = colaw(&argv);
    assert!(!out.status.success(), "the loop should have been killed");
    assert!(killed.exists());
    let before = rounds_of(&b);
    assert_eq!(before.len(), 2, "killed in round 2");
    let lines_before = std::fs::read_to_string(b.join("oracle.jsonl")).unwrap().lines().count();
    assert!(lines_before < 8);
    // Resume with the same command (it no longer kills).
    let out = colaw(&argv);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ra = rounds_of(&a);
    let rb = rounds_of(&b);
    let asked = |rs: &[RoundRecord]| {
        rs.iter().map(|r| r.asked.iter().map(|d| d.key.clone()).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    assert_eq!(asked(&ra), asked(&rb), "the same designs are asked in the same rounds");
    assert_eq!(ra.last().unwrap().choice, rb.last().unwrap().choice);
    assert_eq!(ra.last().unwrap().confidence, rb.last().unwrap().confidence);
    let (da, db) =
        (std::fs::read_to_string(a.join("data.csv")).unwrap(), std::fs::read_to_string(b.join("data.csv")).unwrap());
    let diff: Vec<(&str, &str)> = da.lines().zip(db.lines()).filter(|(x, y)| x != y).collect();
    assert!(da == db, "final data differ: {diff:?}");
    // No finished call was redone: every successful design appears once in the journal.
    let ok_keys = |p: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_to_string(p.join("oracle.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["loss"].is_number())
            .map(|v| v["key"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let kb = ok_keys(&b);
    let mut dedup = kb.clone();
    dedup.dedup();
    assert_eq!(kb, dedup, "a finished call was redone");
    assert_eq!(ok_keys(&a), kb);
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("state.json")).unwrap()).unwrap();
    assert!(state["finished"].is_string());
    // Resuming a finished journal changes nothing and calls nothing.
    let out = colaw(&argv);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["calls_this_run"], 0);
}

#[test]
fn failing_and_slow_oracles_are_recorded_and_retried() {
    let s = setup(12, 3);
    // stop_confidence 1: the round asks its 3 designs whatever the method claims.
    let opts = LoopOptions { rounds: 1, per_round: 3, retries: 1, jobs: 3, stop_confidence: 1.0, ..fast_opts() };
    // Runs past the timeout on the design of the first call to start (it writes it to
    // `slow.json`), every attempt; succeeds on the others.
    let (lock, marker) = (s.root.join("lock"), s.root.join("slow.json"));
    let cmd = format!(
        "read d; if mkdir {l} 2>/dev/null; then printf '%s' \"$d\" > {m}; fi; \
         if [ \"$d\" = \"$(cat {m} 2>/dev/null)\" ]; then sleep 5; fi; exec {} oracle '{}' <<EOF\n$d\nEOF",
        env!("CARGO_BIN_EXE_colaw"),
        oracle_spec(&s.truth),
        l = lock.display(),
        m = marker.display()
    );
    let slow = parse_oracle(&cmd, Some(std::time::Duration::from_millis(1500))).unwrap();
    let j = s.root.join("j");
    let report = OuterLoop::new(&s.inst, slow.as_ref(), opts, Journal::new(&j).unwrap()).run(&s.data).unwrap();
    let asked = &report.rounds[0].asked;
    assert_eq!(asked.len(), 3, "stopped by {}", report.stop);
    let slow_key = serde_json::from_str::<Design>(&std::fs::read_to_string(&marker).unwrap()).unwrap().key;
    assert!(asked.iter().any(|d| d.key == slow_key));
    let recs: Vec<serde_json::Value> = std::fs::read_to_string(j.join("oracle.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for d in asked {
        let mine: Vec<&serde_json::Value> = recs.iter().filter(|r| r["key"] == d.key.as_str()).collect();
        if d.key == slow_key {
            assert_eq!(mine.len(), 2, "one retry");
            assert!(mine.iter().all(|r| r["error"].as_str().unwrap().contains("timed out")));
        } else {
            assert_eq!(mine.len(), 1);
            assert!(mine[0]["loss"].is_number());
        }
    }
    assert_eq!(report.failed, 1);
    assert_eq!(report.measured, asked.len() - 1);
}

/// `colaw loop` measuring `init` initial designs, then one quick round of 2 designs.
fn one_round_with_init(
    s: &Setup,
    data: &Path,
    journal: &Path,
    oracle: &str,
    init: usize,
    extra: &[&str],
) -> std::process::Output {
    let (inst, data, journal, init) = (
        s.inst_path.display().to_string(),
        data.display().to_string(),
        journal.display().to_string(),
        init.to_string(),
    );
    let mut args = vec![
        "loop",
        "--instance",
        &inst,
        "--data",
        &data,
        "--init",
        &init,
        "--oracle",
        oracle,
        "--journal",
        &journal,
        "--rounds",
        "1",
        "--per-round",
        "2",
        "--stop-confidence",
        "1",
        "--bootstrap",
        "20",
        "--starts",
        "50",
    ];
    args.extend_from_slice(extra);
    colaw(&args)
}

#[test]
fn cli_init_measures_initial_designs_and_prints_json() {
    let s = setup(12, 6);
    let data = s.root.join("fresh.csv");
    let j = s.root.join("j");
    let out = one_round_with_init(&s, &data, &j, &oracle_spec(&s.truth), 14, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("measured 14 initial designs") && err.contains("round 1:") && err.contains("round 2:"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&data).unwrap().lines().count(), 15);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rounds"], 2);
    assert!(v["choice"]["key"].is_string() && v["intervals"]["alpha_l"].is_array());
    assert!(
        v["stop"].as_str().unwrap().contains("1 rounds measured") || v["stop"].as_str().unwrap().contains("confidence")
    );
    let svg = std::fs::read_to_string(j.join("confidence.svg")).unwrap();
    assert!(svg.contains("<svg"));
}

#[test]
fn killed_initial_round_resumes_without_redoing_calls() {
    // `--init` measures through the journal (round 0): a loop killed while measuring its
    // initial designs resumes, redoes no finished call and writes the same data file as an
    // uninterrupted run; a design whose oracle always fails is left out of the data.
    let s = setup(4, 7);
    let run = |journal: &Path, data: &Path, oracle: &str| {
        one_round_with_init(&s, data, journal, oracle, 16, &["--jobs", "2", "--retries", "0"])
    };
    let bin = env!("CARGO_BIN_EXE_colaw");
    // Fails on every design with 16 layers, otherwise the synthetic truth.
    let base = format!(
        "read d; case \"$d\" in *'\"layers\":16,'*) exit 7;; esac; exec {bin} oracle '{}' <<EOF\n$d\nEOF",
        oracle_spec(&s.truth)
    );
    let (ja, da) = (s.root.join("ja"), s.root.join("da.csv"));
    let out = run(&ja, &da, &base);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count = s.root.join("count");
    let killed = s.root.join("killed");
    let killer = format!(
        "echo x >> {c}; n=$(wc -l < {c}); \
         if [ $n -ge 5 ] && mkdir {k} 2>/dev/null; then kill -9 $PPID; sleep 2; exit 1; fi; {base}",
        c = count.display(),
        k = killed.display()
    );
    let (jb, db) = (s.root.join("jb"), s.root.join("db.csv"));
    let out = run(&jb, &db, &killer);
    assert!(!out.status.success() && killed.exists(), "the loop should have been killed in round 0");
    assert!(!db.exists(), "no data file before round 0 has finished");
    let before = std::fs::read_to_string(jb.join("oracle.jsonl")).unwrap().lines().count();
    assert!((3..16).contains(&before), "{before} calls journaled before the kill");
    let out = run(&jb, &db, &killer);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = (std::fs::read_to_string(&da).unwrap(), std::fs::read_to_string(&db).unwrap());
    assert_eq!(a, b, "resumed initial data differ from the uninterrupted run's");
    let round0 = |j: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(j.join("oracle.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["round"] == 0)
            .collect()
    };
    let (ra, rb) = (round0(&ja), round0(&jb));
    assert_eq!(ra.len(), 16, "one attempt per initial design (no retries)");
    let mut keys: Vec<&str> = rb.iter().map(|v| v["key"].as_str().unwrap()).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(n, keys.len(), "a finished initial call was redone");
    let failed = ra.iter().filter(|v| v["error"].is_string()).count();
    assert!(failed >= 1, "the space's LHS pick should include a 16-layer design");
    assert_eq!(a.lines().count(), 1 + 16 - failed, "failed designs are left out of the data");
}

#[test]
fn data_without_architecture_columns_is_refused() {
    let s = setup(12, 4);
    let bad = s.root.join("bad.csv");
    std::fs::write(&bad, "layers,hidden,heads,ffn,vocab,loss\n8,1024,16,2048,151936,3.4\n").unwrap();
    let oracle = parse_oracle(&oracle_spec(&s.truth), None).unwrap();
    let e = OuterLoop::new(&s.inst, oracle.as_ref(), fast_opts(), Journal::new(&s.root.join("j")).unwrap())
        .run(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("kv_heads"), "{e}");
}

/// Measured comparison (same oracle calls per round for every strategy): how many calls each
/// strategy needs until the loop stops on the true optimum with confidence ≥ 0.9, over
/// several seeds (initial data, noise and loop seed all vary with the seed). Run with
/// `cargo test --test outer -- --ignored --nocapture compare` (`COLAW_COMPARE_SEEDS`, default 8; `COLAW_COMPARE_NOISE`, default 0.003; `COLAW_COMPARE_SPACE=table5` for the full space).
#[test]
#[ignore]
fn compare_strategies() {
    use colaw::outer::Strategy;
    let seeds: u64 = std::env::var("COLAW_COMPARE_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let noise: f64 = std::env::var("COLAW_COMPARE_NOISE").ok().and_then(|s| s.parse().ok()).unwrap_or(0.003);
    // COLAW_COMPARE_SPACE=table5: the paper's full Table 5 space (8,200 candidates) instead.
    let full = std::env::var("COLAW_COMPARE_SPACE").is_ok_and(|v| v == "table5");
    let text = if full {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/paper/table5-jetson-orin-nx-16gb-embodied.toml"),
        )
        .unwrap()
    } else {
        INSTANCE.to_string()
    };
    let strategies = [Strategy::Informative, Strategy::Mixed, Strategy::Random, Strategy::Lhs];
    let mut table: Vec<(Strategy, Vec<Option<usize>>, usize, usize)> = Vec::new();
    let mut runs: Vec<Vec<String>> = vec![Vec::new(); strategies.len()];
    for (si, &st) in strategies.iter().enumerate() {
        let (mut calls, mut wrong, mut exhausted) = (Vec::new(), 0, 0);
        for seed in 0..seeds {
            let s = setup_with(&text, 12, 100 + seed);
            let truth = true_optimum(&s);
            let spec = format!("synthetic:{}:noise={noise}:seed={seed}", s.truth.display());
            let oracle = parse_oracle(&spec, None).unwrap();
            let opts = LoopOptions { rounds: 10, per_round: 4, seed, strategy: st, ..LoopOptions::default() };
            let t0 = std::time::Instant::now();
            let rep = OuterLoop::new(&s.inst, oracle.as_ref(), opts, Journal::new(&s.root.join("j")).unwrap())
                .run(&s.data)
                .unwrap();
            let used: usize = rep.rounds.iter().map(|r| r.asked.len()).sum();
            let right = rep.choice.as_ref().is_some_and(|c| c.key == truth.key) && rep.confidence >= 0.9;
            if right {
                calls.push(Some(used));
            } else {
                calls.push(None);
                if rep.confidence >= 0.9 {
                    wrong += 1;
                } else {
                    exhausted += 1;
                }
            }
            runs[si].push(format!(
                "seed {seed}: {} after {used} calls, P {:.2}, {:.1}s",
                if right {
                    "true optimum"
                } else if rep.choice.as_ref().is_some_and(|c| c.key == truth.key) {
                    "true optimum but unsure"
                } else {
                    "wrong design"
                },
                rep.confidence,
                t0.elapsed().as_secs_f64()
            ));
        }
        table.push((st, calls, wrong, exhausted));
    }
    println!(
        "\n{} space, {seeds} seeds, noise σ = {noise}, 12 initial designs, 4 calls per round, at most 10 rounds",
        if full { "Table 5" } else { "reduced" }
    );
    println!(
        "\n| strategy | on the true optimum with P ≥ 0.9 | calls: median (not reached = ∞) | mean over reached | max over reached | needed 0 calls | stopped confident on a wrong design | not confident after 40 calls |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (st, calls, wrong, exhausted) in &table {
        let mut all: Vec<f64> = calls.iter().map(|c| c.map_or(f64::INFINITY, |v| v as f64)).collect();
        all.sort_by(f64::total_cmp);
        let n = all.len();
        let med = if n % 2 == 1 { all[n / 2] } else { (all[n / 2 - 1] + all[n / 2]) / 2.0 };
        let ok: Vec<usize> = calls.iter().flatten().copied().collect();
        let mean = ok.iter().sum::<usize>() as f64 / ok.len().max(1) as f64;
        println!(
            "| {st:?} | {}/{} | {med} | {mean:.1} | {} | {} | {wrong} | {exhausted} |",
            ok.len(),
            n,
            ok.iter().max().map_or("-".to_string(), |m| m.to_string()),
            ok.iter().filter(|&&c| c == 0).count()
        );
    }
    for (si, st) in strategies.iter().enumerate() {
        println!("{st:?}:");
        for l in &runs[si] {
            println!("  {l}");
        }
    }
}

/// `colaw loop` with the posterior (the default, named explicitly): the round records the
/// method and its diagnostics, writes samples that `colaw region` reads, and a resume with
/// another method is refused naming the flag that would resume it.
#[test]
fn laplace_loop_journals_its_diagnostics_and_refuses_another_method_on_resume() {
    let s = setup(12, 8);
    let j = s.root.join("j");
    let (inst, data, jd, oracle) = (
        s.inst_path.display().to_string(),
        s.data.display().to_string(),
        j.display().to_string(),
        oracle_spec(&s.truth),
    );
    let args = |method: &str| -> Vec<String> {
        [
            "loop",
            "--instance",
            &inst,
            "--data",
            &data,
            "--oracle",
            &oracle,
            "--journal",
            &jd,
            "--rounds",
            "1",
            "--per-round",
            "2",
            "--stop-confidence",
            "1",
            "--starts",
            "50",
            "--uncertainty",
            method,
            "--samples",
            "120",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let run = |method: &str| colaw(&args(method).iter().map(String::as_str).collect::<Vec<_>>());
    let out = run("laplace");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("laplace: σ(log loss)"), "{err}");
    let rounds = rounds_of(&j);
    assert!(!rounds.is_empty());
    for r in &rounds {
        assert_eq!(r.uncertainty, "laplace");
        // 12+ rows, 11 coefficients: the data fix some of them, the prior the rest; σ's
        // degrees of freedom are ν₀ = 2 plus the rows the coefficients leave.
        let (sigma, p_eff, dof) = (r.sigma_log.unwrap(), r.p_eff.unwrap(), r.noise_dof.unwrap());
        assert!(sigma > 0.0 && sigma < 0.05, "σ {sigma}");
        assert!(p_eff > 1.0 && p_eff < 11.0, "p_eff {p_eff}");
        assert!((dof - (2.0 + r.rows as f64 - p_eff)).abs() < 1e-9, "ν {dof}, n {}, p_eff {p_eff}", r.rows);
        assert!(r.values.iter().all(|v| v.is_finite()));
        let fit: toml::Table =
            toml::from_str(&std::fs::read_to_string(j.join(format!("round-{:03}/fit.toml", r.round))).unwrap())
                .unwrap();
        let ft = fit["fit"].as_table().unwrap();
        assert_eq!(ft["uncertainty"].as_str(), Some("laplace"));
        assert_eq!(ft["p_eff"].as_float(), Some(p_eff));
        assert_eq!(ft["samples"].as_integer(), Some(120 - r.bootstrap_non_finite as i64));
        // The round's point law is the posterior's mode, the centre of its samples: every
        // value lies inside its own 95 % interval (the unpenalised fit need not, and is kept
        // as `least_squares`).
        assert_eq!(ft["point"].as_str(), Some("posterior mode (MAP)"));
        let ls = ft["least_squares"].as_table().unwrap();
        assert_eq!(ls.len(), r.names.len());
        for ((n, v), (lo, hi)) in r.names.iter().zip(&r.values).zip(&r.ci95) {
            let tol = 1e-9 * v.abs().max(1.0);
            assert!(*lo - tol <= *v && *v <= *hi + tol, "{n} = {v} outside its 95 % interval [{lo}, {hi}]");
            let written = fit["coefficients"][n.as_str()].as_float().unwrap();
            assert!((written - v).abs() <= 1e-12 * v.abs().max(1.0), "{n}: fit.toml {written}, round {v}");
        }
    }
    // The samples file has the bootstrap's schema: the region reads it unchanged.
    let samples = j.join("round-001/samples.csv");
    let rows = colaw::law::read_coefficient_samples(&samples, s.inst.law.as_ref()).unwrap();
    assert_eq!(rows.len(), 120 - rounds[0].bootstrap_non_finite);
    assert!(rows.iter().all(|r| r.len() == rounds[0].names.len()));
    let out = colaw(&[
        "region",
        &inst,
        "--samples",
        &samples.display().to_string(),
        "--out",
        &s.root.join("region").display().to_string(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Resuming with the bootstrap is refused; the error says how to resume.
    common::fails(&args("bootstrap").iter().map(String::as_str).collect::<Vec<_>>(), &["--uncertainty laplace"]);
    // A journal from before the posterior (no method in state.json) used the bootstrap: a
    // laplace resume of it is refused the same way.
    let state_path = j.join("state.json");
    let mut state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state.as_object_mut().unwrap().remove("uncertainty");
    std::fs::write(&state_path, state.to_string()).unwrap();
    common::fails(&args("laplace").iter().map(String::as_str).collect::<Vec<_>>(), &["--uncertainty bootstrap"]);
    // Old round records (no method, no diagnostics) still load.
    let mut rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(j.join("round-001/choice.json")).unwrap()).unwrap();
    for k in ["uncertainty", "sigma_log", "p_eff", "noise_dof"] {
        rec.as_object_mut().unwrap().remove(k);
    }
    let old: RoundRecord = serde_json::from_value(rec).unwrap();
    assert_eq!((old.uncertainty.as_str(), old.p_eff), ("", None));
}

#[test]
fn bad_uncertainty_flags_are_refused_naming_the_flag() {
    let s = setup(12, 9);
    let j = s.root.join("j").display().to_string();
    let (inst, data, oracle) = (s.inst_path.display().to_string(), s.data.display().to_string(), oracle_spec(&s.truth));
    let base = ["loop", "--instance", &inst, "--data", &data, "--oracle", &oracle, "--journal", &j];
    for (extra, needles) in [
        (&["--uncertainty", "mcmc"][..], &["--uncertainty", "mcmc", "laplace, rto or bootstrap"][..]),
        (&["--prior-rel-sd", "0"], &["--prior-rel-sd"]),
        (&["--uncertainty", "bootstrap", "--noise-prior-sd", "0.01"], &["--noise-prior-sd", "bootstrap"]),
        (&["--samples", "1"], &["--samples"]),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        common::fails(&args, needles);
    }
}
