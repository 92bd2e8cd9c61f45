//! `colaw batch`: a malformed instance in the middle fails alone; a resume after truncating
//! the results mid-line loses and duplicates nothing; shards partition the instances.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

fn instance(budget: f64) -> String {
    format!(
        "[space]\nlayers = [4, 8, 12]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\nparams = {budget}\n"
    )
}

fn setup(dir: &Path) -> Vec<String> {
    let mut paths = Vec::new();
    for (i, b) in [25e6, 1e9, 0.0, 1e6, 40e6].iter().enumerate() {
        let p = dir.join(format!("i{i}.toml"));
        let text = if i == 2 { "[space]\nlayers = [4]\nhidden = \"wide\"\n".to_string() } else { instance(*b) };
        std::fs::write(&p, text).unwrap();
        paths.push(p.display().to_string());
    }
    paths
}

/// Run `colaw batch ARGS`; these batches hold a malformed instance, so they exit 1 after
/// recording every line (exit codes: tests/exits.rs).
fn batch(args: &[&str]) -> std::process::Output {
    let out = common::colaw_cmd().arg("batch").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of 5 instances failed") && err.contains("i2.toml") && !err.contains("panicked"), "{err}");
    out
}

fn lines(f: &Path) -> BTreeMap<String, serde_json::Value> {
    let text = std::fs::read_to_string(f).unwrap();
    assert!(text.ends_with('\n'));
    let mut m = BTreeMap::new();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let p = v["path"].as_str().unwrap().to_string();
        assert!(m.insert(p.clone(), v).is_none(), "duplicate {p}");
    }
    m
}

#[test]
fn malformed_in_the_middle_then_resume_after_torn_line() {
    let d = tempfile::tempdir().unwrap();
    let paths = setup(d.path());
    let out = d.path().join("r.jsonl");
    let o = out.display().to_string();
    let mut args = paths.iter().map(String::as_str).collect::<Vec<_>>();
    args.extend(["--out", &o, "--jobs", "2"]);
    let run = batch(&args);
    let summary = String::from_utf8_lossy(&run.stderr);
    assert!(
        summary.contains("5 instances") && summary.contains("1 error") && summary.contains("1 infeasible"),
        "{summary}"
    );
    let m = lines(&out);
    assert_eq!(m.len(), 5);
    let bad = &m[&paths[2]];
    assert_eq!(bad["status"], "error");
    assert!(bad["message"].as_str().unwrap().contains("i2.toml"), "{bad}");
    assert_eq!(m[&paths[0]]["status"], "optimal");
    assert_eq!(m[&paths[0]]["arch"]["layers"], 8);
    assert_eq!(m[&paths[3]]["status"], "infeasible");
    let first = m.clone();

    // Kill simulation: keep two whole lines and half of the third.
    let text = std::fs::read_to_string(&out).unwrap();
    let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let cut = ends[1] + 1 + (ends[2] - ends[1]) / 2;
    std::fs::write(&out, &text[..cut]).unwrap();
    let mut args = paths.iter().map(String::as_str).collect::<Vec<_>>();
    args.extend(["--out", &o, "--resume"]);
    let run = batch(&args);
    let summary = String::from_utf8_lossy(&run.stderr);
    assert!(summary.contains("skipped 2") && summary.contains("torn"), "{summary}");
    let m = lines(&out);
    assert_eq!(m.len(), 5, "nothing lost, nothing duplicated");
    for (p, v) in &first {
        assert_eq!(m[p]["status"], v["status"], "{p}");
    }
    // Resume of a complete file does nothing.
    let run = batch(&args);
    assert!(String::from_utf8_lossy(&run.stderr).contains("skipped 5"));
    assert_eq!(lines(&out).len(), 5);
}

#[test]
fn shards_partition_the_instances() {
    let d = tempfile::tempdir().unwrap();
    setup(d.path());
    let dir = d.path().display().to_string();
    let mut all = BTreeMap::new();
    for k in 0..2 {
        let out = d.path().join(format!("s{k}.jsonl"));
        let o = out.display().to_string();
        let shard = format!("{k}/2");
        // Shard 0 of 2 holds i0, i2 (malformed), i4; shard 1 holds i1 and i3 (infeasible).
        let run = common::colaw_cmd().args(["batch", &dir, "--out", &o, "--shard", &shard]).output().unwrap();
        assert_eq!(run.status.code(), Some(if k == 0 { 1 } else { 3 }), "{}", String::from_utf8_lossy(&run.stderr));
        for (p, v) in lines(&out) {
            assert!(all.insert(p, v).is_none());
        }
    }
    assert_eq!(all.len(), 5);
}
