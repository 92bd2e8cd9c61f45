//! Resource guards and safe concurrent use (issue 19): each bad size, count, duration or
//! journal gives one clear error (exit 1 or 2, no panic, no abort) while the process runs
//! under an address-space limit, so any attempt to allocate for the number typed would fail
//! the test; two concurrent `batch --resume` on one output leave every instance exactly once.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Address-space limit for the guarded runs (KiB): a normal solve of a paper instance needs
/// well under it, the allocations the guards prevent need far more.
const LIMIT_KIB: u64 = 512 * 1024;

const PAPER: &str = "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml";

/// `colaw ARGS` under `ulimit -v LIMIT_KIB`, stdin closed.
fn limited(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_colaw"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("sh runs")
}

/// The run failed cleanly: exit 1 or 2 (not 101 = panic, not a signal = abort), one `error:`
/// line naming every needle, nothing about panics or allocations. Returns stderr.
fn clean_error(args: &[&str], needles: &[&str]) -> String {
    let o = limited(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(matches!(o.status.code(), Some(1 | 2)), "{args:?}: status {:?}, stderr: {err}", o.status);
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{args:?}: {err}");
    assert_eq!(err.matches("error:").count(), 1, "{args:?}: one error expected: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: error lacks `{n}`: {err}");
    }
    err
}

/// The paper instance with its `KEY = …` line replaced by `line`, written as `dir/name`.
fn with_line(dir: &Path, name: &str, key: &str, line: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(PAPER)).unwrap();
    let text: String =
        text.lines().map(|l| if l.starts_with(&format!("{key} =")) { line } else { l }).collect::<Vec<_>>().join("\n");
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn the_memory_limit_is_in_force_and_leaves_room_for_a_real_solve() {
    // The limit is set (a shell that ignored `ulimit -v` would let any allocation through)…
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec cat /proc/self/limits"))
        .output()
        .expect("sh runs");
    let limits = String::from_utf8_lossy(&o.stdout);
    let line = limits.lines().find(|l| l.starts_with("Max address space")).expect("a Linux /proc");
    assert!(line.contains(&(LIMIT_KIB * 1024).to_string()), "{line}");
    // …and a normal run fits under it, otherwise every refusal below could be the limit's doing.
    let o = limited(&["solve", PAPER]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn huge_grid_is_one_error_naming_file_and_field() {
    let d = tempfile::tempdir().unwrap();
    let p =
        with_line(d.path(), "huge.toml", "layers", "layers = { from = 9223372036854775800, to = 9223372036854775807 }");
    clean_error(&["solve", &p], &["huge.toml", "space.layers.from", "9223372036854775800"]);
    // The widest range i64 allows, and a long range of valid values: counted, not listed.
    let p = with_line(
        d.path(),
        "wide.toml",
        "layers",
        "layers = { from = -9223372036854775808, to = 9223372036854775807 }",
    );
    clean_error(&["solve", &p], &["wide.toml", "space.layers.from"]);
    let p = with_line(d.path(), "long.toml", "hidden", "hidden = { from = 1, to = 4000000000, step = 3 }");
    clean_error(&["solve", &p], &["long.toml", "space.hidden", "1333333334 values", "10000000"]);
}

#[test]
fn space_size_limit_gives_the_count_and_how_to_raise_it() {
    let d = tempfile::tempdir().unwrap();
    // 8 depths × 9·10⁶ hidden sizes × 5 KV choices × 5 FFN ratios × 5 MoE pairs = 9·10⁹ > 10⁹,
    // refused before a single grid is listed.
    let p = with_line(d.path(), "big.toml", "hidden", "hidden = { from = 1, to = 9000000 }");
    clean_error(
        &["solve", &p],
        &[
            "big.toml",
            "9000000000 candidates",
            "layers 8 × hidden 9000000 × head_dim 1 × kv_heads 5",
            "--max-candidates",
        ],
    );
    // The paper space: 8 depths × 9 hidden × 1 head_dim × 5 kv × 5 ffn × 5 moe × 1 × 1 × 1 = 9000.
    let low = format!(
        "{}\n[solver]\nmax_candidates = 8999\n",
        std::fs::read_to_string(PAPER).unwrap().split("[solver]").next().unwrap()
    );
    let p = d.path().join("low.toml");
    std::fs::write(&p, low).unwrap();
    let p = p.display().to_string();
    clean_error(&["solve", &p], &["low.toml", "9000 candidates", "limit of 8999"]);
    // The flag overrides the file.
    let o = limited(&["solve", &p, "--max-candidates", "9000"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    clean_error(&["solve", &p, "--max-candidates", "0"], &["--max-candidates"]);
}

#[test]
fn huge_top_k_is_refused_and_a_large_one_capped_at_the_space() {
    clean_error(&["solve", PAPER, "--top-k", "10000000000"], &["--top-k", "10000000000", "10000"]);
    let d = tempfile::tempdir().unwrap();
    // 2 widths (hidden 512 and 1024, head_dim 64, MHA) × 3 depths = 6 candidates, all feasible.
    let p = d.path().join("six.toml");
    std::fs::write(
        &p,
        "[space]\nlayers = [4, 8, 12]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\nparams = 1e12\n",
    )
    .unwrap();
    let o = limited(&["solve", &p.display().to_string(), "--solver", "enum", "--top-k", "5000"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["designs"].as_array().unwrap().len(), 6, "top-k capped at the 6 candidates");
}

#[test]
fn bad_timeouts_are_errors_not_panics() {
    for t in ["-1", "0", "1e300", "inf", "NaN", "1e8"] {
        let flag = format!("--timeout-s={t}");
        clean_error(&["oracle", "synthetic:paper", &flag], &["--timeout-s", "seconds"]);
    }
    let e = clean_error(&["oracle", "synthetic:paper", "--timeout-s=1e300"], &[]);
    assert!(e.contains("1e300") && e.len() < 300, "the value is shown short: {e}");
    clean_error(
        &[
            "loop",
            "--instance",
            "instances/loop/gpu-proxy.toml",
            "--data",
            "absent.csv",
            "--oracle",
            "synthetic:paper",
            "--journal",
            "absent-journal",
            "--timeout-s=1e300",
        ],
        &["--timeout-s"],
    );
    clean_error(&["solve", PAPER, "--time-limit", "1e300"], &["--time-limit"]);
}

#[test]
fn other_counts_are_checked_before_use() {
    clean_error(&["solve", PAPER, "--threads", "4000000000"], &["--threads", "1024"]);
    clean_error(&["batch", PAPER, "--out", "unused.jsonl", "--jobs", "100000000"], &["--jobs"]);
    clean_error(
        &["fit", "--law", "chinchilla", "data/chinchilla/chinchilla_epoch.csv", "--bootstrap", "100000000000"],
        &["--bootstrap", "1000000"],
    );
    clean_error(
        &["fit", "--law", "chinchilla", "data/chinchilla/chinchilla_epoch.csv", "--starts", "lhs:1000000000000"],
        &["--starts"],
    );
    clean_error(&["region", PAPER, "--out", "unused", "--budget-grid", "10000000000"], &["--budget-grid"]);
    clean_error(&["gen", "--family", "paper", "--out", "unused", "--count", "100000000000"], &["--count"]);
}

#[test]
fn an_engine_refuses_to_list_the_tensors_of_a_billion_layers() {
    let d = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("models/archs/Llama-2-7B.toml").unwrap();
    let text: String = text
        .lines()
        .map(|l| if l.starts_with("layers =") { "layers = 200000" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    let p = d.path().join("deep.toml");
    std::fs::write(&p, text).unwrap();
    // Without an engine the cost model is O(1) in depth and answers; with llama.cpp's weight
    // format every tensor is listed, so the depth is bounded first.
    assert!(limited(&["eval", &p.display().to_string(), "--hardware", "nvidia-h100-sxm"]).status.success());
    clean_error(
        &["eval", &p.display().to_string(), "--hardware", "nvidia-h100-sxm", "--engine", "llama.cpp"],
        &["layers", "200000", "100000"],
    );
    // Four billion layers: beyond 10¹⁵ parameters, refused by every command before costing.
    let text = std::fs::read_to_string(&p).unwrap().replace("layers = 200000", "layers = 4000000000");
    std::fs::write(&p, text).unwrap();
    clean_error(&["eval", &p.display().to_string(), "--hardware", "nvidia-h100-sxm"], &["params", "1e15"]);
}

/// A journal whose `state.json` holds `state`, and the loop run on it.
fn loop_on_state(state: &str) -> (tempfile::TempDir, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    let j = d.path().join("journal");
    std::fs::create_dir_all(&j).unwrap();
    std::fs::write(j.join("state.json"), state).unwrap();
    let data = d.path().join("data.csv");
    std::fs::write(&data, "hidden,loss\n").unwrap();
    let args = [
        "loop",
        "--instance",
        "instances/loop/gpu-proxy.toml",
        "--data",
        &data.display().to_string(),
        "--oracle",
        "synthetic:paper",
        "--journal",
        &j.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    (d, args)
}

#[test]
fn bad_state_json_names_the_file() {
    let good =
        r#"{"version":1,"instance":"x","oracle":"o","data_sha256":"SHA","rounds_done":0,"calls":0,"finished":null}"#;
    // A short hash (was a panic slicing it), a truncated file, a hash with non-hex characters.
    let full = "ab".repeat(32);
    let cases = [
        (good.replace("SHA", "ab"), "data_sha256"),
        (good[..50].to_string(), "EOF"),
        (good.replace("SHA", &format!("zz{}", &full[2..])), "64 hex digits"),
        (good.replace("\"version\":1", "\"version\":7").replace("SHA", &full), "version"),
    ];
    for (state, needle) in cases {
        let (_d, args) = loop_on_state(&state);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        clean_error(&args, &["state.json", needle]);
    }
}

#[test]
fn an_edited_round_record_names_the_file() {
    let d = tempfile::tempdir().unwrap();
    let (data, j) = (d.path().join("init.csv"), d.path().join("j"));
    let (data, js) = (data.display().to_string(), j.display().to_string());
    let args = [
        "loop",
        "--instance",
        PAPER,
        "--data",
        &data,
        "--init",
        "12",
        "--rounds",
        "1",
        "--oracle",
        "synthetic:paper:noise=0.005:seed=1",
        "--journal",
        &js,
    ];
    let o = limited(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Cut the warm start of round 2 to two values (was a panic indexing the fit's start).
    let p = j.join("round-001/choice.json");
    let mut rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    rec["values"] = serde_json::json!([1.0, 2.0]);
    std::fs::write(&p, rec.to_string()).unwrap();
    clean_error(&args, &["round-001/choice.json", "`values` = 2 entries"]);
}

#[test]
fn a_second_loop_on_one_journal_is_refused() {
    use colaw::instance::Instance;
    use colaw::outer::{Journal, LoopOptions, OuterLoop};
    let d = tempfile::tempdir().unwrap();
    let inst =
        Instance::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/loop/gpu-proxy.toml").as_path()).unwrap();
    let oracle = colaw::oracle::parse_oracle("synthetic:paper", None).unwrap();
    // Another holder of the folder (its own open lock file, as another process has).
    let other = Journal::new(&d.path().join("j")).unwrap();
    let held = other.lock().unwrap();
    let journal = Journal::new(&d.path().join("j")).unwrap();
    let lp = OuterLoop::new(&inst, oracle.as_ref(), LoopOptions::default(), journal.clone());
    let e = lp.run(&d.path().join("data.csv")).unwrap_err().to_string();
    assert!(e.contains("in use") && e.contains(&format!("pid {}", std::process::id())), "{e}");
    let e = lp.measure_initial(4, &d.path().join("data.csv")).unwrap_err().to_string();
    assert!(e.contains("in use"), "{e}");
    // A lock file left by a dead holder does not block: the kernel released its lock.
    drop(held);
    assert!(d.path().join("j/lock").exists());
    let mine = journal.lock().expect("a left-over lock file is locked again");
    // The holder's clones get its lock again (`colaw loop` holds it over both phases)…
    let again = journal.clone().lock().expect("re-entrant for the holder");
    assert!(std::sync::Arc::ptr_eq(&mine, &again));
    // …another holder does not, until the last guard is gone.
    assert!(other.lock().is_err());
    drop((mine, again));
    other.lock().expect("free again");
}

/// `n` copies of the paper instance in `dir`, returned as the paths batch records.
fn copies(dir: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(PAPER).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("i{i:03}.toml"));
            std::fs::write(&p, text.replace("tpot_ms = 20.0", &format!("tpot_ms = {}", 15.0 + i as f64 * 0.1)))
                .unwrap();
            p.display().to_string()
        })
        .collect()
}

/// path → count of lines with it.
fn counts(out: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for l in std::fs::read_to_string(out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *m.entry(v["path"].as_str().unwrap().to_string()).or_default() += 1;
    }
    m
}

#[test]
fn two_concurrent_resumed_batches_record_every_instance_once() {
    let d = tempfile::tempdir().unwrap();
    let inst = d.path().join("inst");
    std::fs::create_dir_all(&inst).unwrap();
    let paths = copies(&inst, 120);
    let out = d.path().join("r.jsonl");
    let (i, o) = (inst.display().to_string(), out.display().to_string());
    let spawn = || {
        common::colaw_cmd()
            .args(["batch", &i, "--out", &o, "--resume", "--solver", "enum"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut ok = 0;
    for r in [&a, &b] {
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!err.contains("panicked"), "{err}");
        match r.status.code() {
            Some(0) => ok += 1,
            // Refused because the other one holds the output.
            Some(1) => assert!(err.contains("in use by another colaw process") && err.contains("r.jsonl"), "{err}"),
            c => panic!("exit {c:?}: {err}"),
        }
    }
    assert!(ok >= 1, "one batch ran");
    let m = counts(&out);
    assert_eq!(m.len(), paths.len(), "every instance present");
    assert!(m.values().all(|&c| c == 1), "every instance once: {m:?}");
    // A later resume finds nothing to do and adds nothing.
    let r = common::colaw(&["batch", &i, "--out", &o, "--resume"]);
    assert!(r.status.success() && String::from_utf8_lossy(&r.stderr).contains("skipped 120"));
    assert_eq!(counts(&out), m);
}

#[test]
fn resume_refuses_a_changed_file_or_another_instance_set() {
    let d = tempfile::tempdir().unwrap();
    let inst = d.path().join("inst");
    std::fs::create_dir_all(&inst).unwrap();
    let paths = copies(&inst, 3);
    let out = d.path().join("r.jsonl").display().to_string();
    let i = inst.display().to_string();
    assert!(common::colaw(&["batch", &i, "--out", &out]).status.success());
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&out).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(line["sha256"].as_str().unwrap().len(), 64);
    // Another instance set: only the first file.
    common::fails(&["batch", &paths[0], "--out", &out, "--resume"], &["r.jsonl", "2 instance(s)", "i001.toml"]);
    // A changed file.
    std::fs::write(&paths[1], std::fs::read_to_string(&paths[1]).unwrap().replace("tpot_ms", "total_ms")).unwrap();
    common::fails(&["batch", &i, "--out", &out, "--resume"], &["r.jsonl", "1 instance file(s) changed", "i001.toml"]);
    // Without --resume it starts over (the changed file's total-latency budget is infeasible).
    assert!(common::colaw(&["batch", &i, "--out", &out, "--allow-infeasible"]).status.success());
}

#[test]
fn a_second_loop_process_on_one_journal_is_refused_while_the_first_runs() {
    let d = tempfile::tempdir().unwrap();
    let (data, j, go) = (d.path().join("init.csv"), d.path().join("j"), d.path().join("go"));
    let (data, js) = (data.display().to_string(), j.display().to_string());
    // The first loop's oracle waits for `go`, so it holds the journal while the second starts.
    let oracle = format!(
        "while [ ! -e '{}' ]; do sleep 0.05; done; exec '{}' oracle synthetic:paper:noise=0.005:seed=1",
        go.display(),
        env!("CARGO_BIN_EXE_colaw")
    );
    let args = |oracle: &str| -> Vec<String> {
        ["loop", "--instance", PAPER, "--data", &data, "--init", "12", "--rounds", "1", "--journal", &js]
            .iter()
            .map(|s| s.to_string())
            .chain(["--oracle".to_string(), oracle.to_string(), "--timeout-s".into(), "120".into()])
            .collect()
    };
    let first = common::colaw_cmd().args(args(&oracle)).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = format!("pid {}", first.id());
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(j.join("lock")).is_ok_and(|s| s.contains(&pid)) {
        assert!(t0.elapsed().as_secs() < 60, "the first loop never locked its journal");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = args("synthetic:paper:noise=0.005:seed=1");
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let refused = limited(&second);
    std::fs::write(&go, "").unwrap();
    let first = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("in use by another colaw process") && err.contains(&pid) && err.contains("j"), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    // The first loop ran undisturbed: every call it made is in the journal, once.
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let v: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let lines = std::fs::read_to_string(j.join("oracle.jsonl")).unwrap().lines().count();
    assert_eq!(v["calls"].as_u64(), Some(lines as u64), "{v}");
    // Once it has exited the journal is free again: the second resumes it and calls nothing.
    let o = limited(&second);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["calls_this_run"], 0, "{v}");
}
