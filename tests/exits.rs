//! Every command does what was asked or exits non-zero with the reason (issue 18, item 1):
//! `batch` finds instances in nested folders and refuses an empty set; an infeasible instance
//! exits with code 3 (0 with `--allow-infeasible`), in `solve` and in `batch`, resumed or not.

mod common;

use common::{colaw, colaw_cmd};
use std::path::Path;

/// A small instance: the params budget decides feasibility (the smallest design has
/// 11,514,368 parameters, tests/solve_cases.rs).
fn instance(params_budget: f64) -> String {
    format!(
        "[space]\nlayers = [4, 8, 12]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\nparams = {params_budget}\n"
    )
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn result_paths(f: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(f)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// The README's Slurm example points `batch` at `instances/`, whose files all live in
/// subfolders: the folder must expand to every instance below it (it found 0 before).
#[test]
fn batch_expands_the_shipped_instances_folder_recursively() {
    let found = colaw::batch::expand_paths(&["instances".into()]).unwrap();
    let mut expected = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("instances")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                expected.push(p);
            }
        }
    }
    expected.sort();
    assert!(expected.len() > 50, "{}", expected.len());
    assert_eq!(found, expected);
    assert!(found.iter().any(|p| p.starts_with("instances/bench/paper")));
}

#[test]
fn batch_recurses_and_shards_partition_the_recursive_set() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("set");
    let files = ["a.toml", "sub/b.toml", "sub/deeper/c.toml", "sub/d.toml", "z/e.toml"];
    for f in files {
        write(&root.join(f), &instance(1e9));
    }
    write(&root.join(".hidden/x.toml"), "not an instance");
    write(&root.join("sub/notes.txt"), "ignored");
    let dir = root.display().to_string();
    let mut union = Vec::new();
    for k in 0..3 {
        let out = d.path().join(format!("r{k}.jsonl"));
        let o = out.display().to_string();
        let shard = format!("{k}/3");
        let run = colaw_cmd().args(["batch", &dir, "--out", &o, "--shard", &shard, "--resume"]).output().unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
        let got = result_paths(&out);
        // Shard k takes every third of the sorted recursive list: 2, 2 and 1 instances.
        assert_eq!(got.len(), if k < 2 { 2 } else { 1 }, "{got:?}");
        union.extend(got);
    }
    union.sort();
    let mut want: Vec<String> = files.iter().map(|f| root.join(f).display().to_string()).collect();
    want.sort();
    assert_eq!(union, want, "the shards partition the five nested instances, the hidden folder left out");
}

#[test]
fn batch_with_no_instances_fails_and_leaves_the_results_alone() {
    let d = tempfile::tempdir().unwrap();
    let empty = d.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    write(&empty.join("sub/readme.txt"), "no instances here");
    let out = d.path().join("r.jsonl");
    std::fs::write(&out, "{\"path\":\"kept\",\"status\":\"optimal\"}\n").unwrap();
    let err = common::fails(
        &["batch", empty.to_str().unwrap(), "--out", out.to_str().unwrap(), "--shard", "3/8", "--resume"],
        &["no instance files", "empty", "recursively"],
    );
    assert!(err.starts_with("error:"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"path\":\"kept\",\"status\":\"optimal\"}\n");
}

#[test]
fn solve_infeasible_exits_3_with_the_full_report() {
    let f = common::temp(".toml", &instance(1e6));
    let p = f.path().to_str().unwrap();
    let o = colaw(&["solve", p]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("the JSON report is printed");
    assert_eq!(v["status"], "infeasible");
    assert_eq!(v["infeasibility"][0]["best_reachable"], 11_514_368.0);
    let err = stderr(&o);
    assert!(err.contains("exit code 3") && err.contains("--allow-infeasible") && !err.contains("error:"), "{err}");
    // Table mode too, and --allow-infeasible gives 0 with the same report.
    let t = colaw(&["solve", p, "--format", "table"]);
    assert_eq!(t.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&t.stdout).contains("CANNOT"));
    let ok = colaw(&["solve", p, "--allow-infeasible"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&ok.stdout).unwrap()["status"], "infeasible");
    // A feasible instance still exits 0, and --help documents the codes.
    let g = common::temp(".toml", &instance(1e9));
    assert!(colaw(&["solve", g.path().to_str().unwrap()]).status.success());
    let help = String::from_utf8_lossy(&colaw(&["--help"]).stdout).into_owned();
    assert!(help.contains("3 infeasible") && help.contains("--allow-infeasible"), "{help}");
}

#[test]
fn batch_infeasible_exits_3_lists_them_and_resume_agrees() {
    let d = tempfile::tempdir().unwrap();
    write(&d.path().join("set/ok.toml"), &instance(1e9));
    write(&d.path().join("set/tight/no1.toml"), &instance(1e6));
    write(&d.path().join("set/tight/no2.toml"), &instance(2e6));
    let dir = d.path().join("set").display().to_string();
    let out = d.path().join("r.jsonl").display().to_string();
    let run = colaw_cmd().args(["batch", &dir, "--out", &out]).output().unwrap();
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(3), "{err}");
    assert!(err.contains("2 infeasible") && err.contains("no1.toml") && err.contains("no2.toml"), "{err}");
    assert!(err.contains("--allow-infeasible") && !err.contains("error:"), "{err}");
    assert_eq!(result_paths(Path::new(&out)).len(), 3);
    // A resumed run that has nothing left to do exits as the first one did.
    let again = colaw_cmd().args(["batch", &dir, "--out", &out, "--resume"]).output().unwrap();
    assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));
    assert!(stderr(&again).contains("skipped 3") && stderr(&again).contains("no1.toml"));
    let allowed = colaw_cmd().args(["batch", &dir, "--out", &out, "--allow-infeasible"]).output().unwrap();
    assert!(allowed.status.success(), "{}", stderr(&allowed));
    assert!(stderr(&allowed).contains("2 infeasible"), "the summary still names them");
}

/// Rows of a tiny measurement file: (engine, phase, latency_ms).
fn measurements(rows: &[(Option<&str>, &str, f64)]) -> tempfile::NamedTempFile {
    let with_engine = rows.iter().any(|r| r.0.is_some());
    let mut text =
        String::from("name,hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens,latency_ms");
    text.push_str(if with_engine { ",engine\n" } else { "\n" });
    for (engine, phase, ms) in rows {
        text.push_str(&format!("q,896,24,14,2,64,4864,151936,true,{phase},1,1024,{ms}"));
        if with_engine {
            text.push_str(&format!(",{}", engine.unwrap_or("")));
        }
        text.push('\n');
    }
    common::temp(".csv", &text)
}

fn predicted_csv(text: &str) -> Vec<(f64, f64)> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let (m, p) =
        (h.iter().position(|x| x == "latency_ms").unwrap(), h.iter().position(|x| x == "predicted_ms").unwrap());
    rdr.records().map(|r| r.unwrap()).map(|r| (r[m].parse().unwrap(), r[p].parse().unwrap())).collect()
}

#[test]
fn predict_reports_measured_against_predicted_and_the_mape() {
    let f = measurements(&[(None, "decode", 5.0), (None, "prefill", 30.0), (None, "decode", 4.0)]);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("p.csv");
    let o =
        colaw(&["predict", "--hardware", "nvidia-h100-sxm", f.path().to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a JSON summary on stdout");
    // The MAPE is the one of the written predictions, recomputed here.
    let pairs = predicted_csv(&std::fs::read_to_string(&out).unwrap());
    let want = 100.0 * pairs.iter().map(|(m, p)| ((p - m) / m).abs()).sum::<f64>() / 3.0;
    assert!((v["mape_percent"].as_f64().unwrap() - want).abs() < 1e-3, "{v}");
    assert_eq!((v["rows"].as_u64(), v["measured_rows"].as_u64()), (Some(3), Some(3)));
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "decode and prefill at batch 1");
    assert_eq!(groups[0]["phase"], "decode");
    assert_eq!(groups[0]["mean_measured_ms"], 4.5);
    // A datasheet file says what its numbers are, in JSON and on stderr.
    assert_eq!(v["warnings"][0]["code"], "uncalibrated", "{v}");
    assert!(stderr(&o).contains("warning [") && stderr(&o).contains("lower bound"));
    // Without -o the CSV is on stdout (scripts read it) and the table on stderr.
    let o = colaw(&["predict", "--hardware", "nvidia-h100-sxm", f.path().to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(predicted_csv(&String::from_utf8_lossy(&o.stdout)), pairs);
    assert!(stderr(&o).contains("MAPE %") && stderr(&o).contains("decode"), "{}", stderr(&o));
}

#[test]
fn predict_refuses_rows_of_another_engine_than_the_calibration() {
    let f = measurements(&[
        (Some("cudagraph"), "decode", 2.4),
        (Some("eager"), "decode", 13.6),
        (Some("eager"), "prefill", 14.7),
    ]);
    let p = f.path().to_str().unwrap();
    let hw = ["predict", "--hardware", "nvidia-h100-sxm-cudagraph", p];
    let err = common::fails(
        &hw,
        &["2 of 3 rows", "eager", "`cudagraph` rows", "--only-engine cudagraph", "--allow-engine-mismatch"],
    );
    assert!(err.contains("lines 3, 4"), "{err}");
    // The same through an engine profile: `cudagraph` rows answer to pytorch-cudagraph (an alias).
    common::fails(
        &["predict", "--hardware", "nvidia-h100-sxm", "--engine", "pytorch-cudagraph", p],
        &["2 of 3 rows", "eager"],
    );
    let ok = colaw(&[
        "predict",
        "--hardware",
        "nvidia-h100-sxm",
        "--engine",
        "pytorch-cudagraph",
        p,
        "--only-engine",
        "cudagraph",
        "-o",
        "/dev/null",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!((v["rows"].as_u64(), v["rows_left_out"].as_u64()), (Some(1), Some(2)));
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(v["groups"][0]["matches_calibration"], true);
    // --allow-engine-mismatch predicts them, loudly.
    let mut args = hw.to_vec();
    args.extend(["--allow-engine-mismatch", "-o", "/dev/null"]);
    let o = colaw(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"][0]["code"], "calibration_engine_mismatch");
    assert!(stderr(&o).contains("]: 2 of 3 rows"));
    let eager: Vec<&serde_json::Value> =
        v["groups"].as_array().unwrap().iter().filter(|g| g["engine"] == "eager").collect();
    assert!(eager.len() == 2 && eager.iter().all(|g| g["matches_calibration"] == false));
    // Rows without an engine on a calibrated file: predicted, with a warning that nothing was checked.
    let bare = measurements(&[(None, "decode", 2.4)]);
    let o = colaw(&[
        "predict",
        "--hardware",
        "nvidia-h100-sxm-cudagraph",
        bare.path().to_str().unwrap(),
        "-o",
        "/dev/null",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["warnings"][0]["code"], "engine_unknown", "{v}");
    assert_eq!(v["calibration"]["engine"], "cudagraph");
    // `-o /dev/null` wrote into the device; an atomic rename over it (as root) had replaced it
    // with a plain file that every later program then read garbage from (cargo's compiler probe).
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device(), "/dev/null is no longer a device: {null:?}");
}
