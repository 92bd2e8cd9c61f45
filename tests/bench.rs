//! `colaw bench`: writes the CSV columns and the profile, exits 0 when the exact solvers
//! agree, and raises a correctness alarm (non-zero exit, ALARM line, `alarm` column) on a
//! crafted wrong result row; on the shipped `robust` set the robust variants agree, and the
//! point solvers are skipped there (and the robust ones elsewhere).

mod common;

use common::colaw;
use std::path::Path;

const COLUMNS: &str = "instance,path,solver,exact,status,objective,bound,gap,nodes,candidates,repeats,\
time_median_ms,time_min_ms,peak_rss_mb,rss_scope,verified,best_known,rel_diff,solved,alarm,alarm_reason,message";

fn gen(dir: &Path, family: &str, count: &str) -> String {
    let out = dir.join(family);
    let o = colaw(&["gen", "--family", family, "--count", count, "--seed", "3", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.display().to_string()
}

#[test]
fn bench_runs_and_writes_columns_and_profile() {
    let d = tempfile::tempdir().unwrap();
    let paper = gen(d.path(), "paper", "2");
    let infeasible = gen(d.path(), "infeasible", "1");
    let csv = d.path().join("b.csv");
    let svg = d.path().join("p.svg");
    let o = colaw(&[
        "bench",
        "--solvers",
        "enum,mip,mip-assign,analytic",
        "--repeat",
        "2",
        &paper,
        &infeasible,
        "--out",
        csv.to_str().unwrap(),
        "--profile",
        svg.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("shift 10 ms") && stdout.contains("| enum | exact | 3 | 3 |"), "{stdout}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next().unwrap(), COLUMNS);
    assert_eq!(text.lines().count(), 1 + 3 * 4);
    let rows = colaw::bench::read_csv(&csv).unwrap();
    assert!(rows.iter().all(|r| !r.alarm && r.repeats == 2 && r.peak_rss_mb.unwrap() > 0.0));
    assert!(rows.iter().filter(|r| r.exact).all(|r| r.solved), "every exact answer correct");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Performance profile") && svg.contains("mip-assign"));
}

#[test]
fn crafted_wrong_row_raises_alarm() {
    let d = tempfile::tempdir().unwrap();
    let paper = gen(d.path(), "paper", "1");
    let csv = d.path().join("b.csv");
    let o = colaw(&["bench", "--solvers", "enum,mip", "--repeat", "1", &paper, "--out", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Re-judging the honest rows passes.
    let again = d.path().join("again.csv");
    let o = colaw(&["bench", "--from", csv.to_str().unwrap(), "--out", again.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A "mip" row claiming a worse optimum than enum's verified design: an alarm.
    let mut rows = colaw::bench::read_csv(&csv).unwrap();
    let mip = rows.iter_mut().find(|r| r.solver == "mip").unwrap();
    mip.objective = Some(mip.objective.unwrap() * (1.0 + 1e-4));
    let bad = d.path().join("bad.csv");
    colaw::bench::write_csv(&bad, &rows).unwrap();
    let judged = d.path().join("judged.csv");
    let o = colaw(&["bench", "--from", bad.to_str().unwrap(), "--out", judged.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "an alarm must exit non-zero");
    assert!(err.contains("ALARM: mip") && err.contains("CORRECTNESS ALARM"), "{err}");
    let rows = colaw::bench::read_csv(&judged).unwrap();
    let mip = rows.iter().find(|r| r.solver == "mip").unwrap();
    assert!(mip.alarm && !mip.solved && mip.alarm_reason.contains("claims optimal"), "{mip:?}");
    assert!(rows.iter().find(|r| r.solver == "enum").is_some_and(|r| !r.alarm && r.solved));
}

#[test]
fn robust_solvers_agree_on_the_shipped_robust_set() {
    let d = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let robust = root.join("instances/bench/robust");
    let paper = root.join("instances/bench/paper/paper-s2026-00000.toml");
    let csv = d.path().join("r.csv");
    let o = colaw(&[
        "bench",
        "--solvers",
        "robust-enum,robust-mip,auto,enum",
        "--repeat",
        "1",
        robust.to_str().unwrap(),
        paper.to_str().unwrap(),
        "--out",
        csv.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    let rows = colaw::bench::read_csv(&csv).unwrap();
    let n = std::fs::read_dir(&robust)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert!(n >= 6, "{n} shipped robust instances");
    assert_eq!(rows.len(), 4 * (n + 1));
    assert!(rows.iter().all(|r| !r.alarm), "no alarm");
    for r in rows.iter().filter(|r| r.path.contains("/robust/")) {
        match r.solver.as_str() {
            "enum" => assert!(r.status == "skipped" && r.message.contains("robust instance"), "{r:?}"),
            _ => {
                assert!(r.solved && r.status == "optimal" && r.verified, "{r:?}");
                // Every exact robust answer equals the best known risk value.
                assert!(r.rel_diff.unwrap().abs() <= 1e-6, "{r:?}");
                assert!(r.bound.unwrap() <= r.objective.unwrap() * (1.0 + 1e-9), "{r:?}");
            }
        }
    }
    for r in rows.iter().filter(|r| r.path.contains("/paper/")) {
        match r.solver.as_str() {
            "robust-enum" | "robust-mip" => {
                assert!(r.status == "skipped" && r.message.contains("not a robust"), "{r:?}")
            }
            _ => assert!(r.solved, "{r:?}"),
        }
    }
    assert!(stdout.contains("| robust-enum | exact | ") && stdout.contains("| robust-mip | exact | "), "{stdout}");
    // A robust-mip row claiming a worse optimum than robust-enum's: an alarm.
    let mut rows = rows;
    let mip = rows.iter_mut().find(|r| r.solver == "robust-mip" && r.path.contains("/robust/")).unwrap();
    mip.objective = Some(mip.objective.unwrap() * (1.0 + 1e-4));
    let bad = d.path().join("bad.csv");
    colaw::bench::write_csv(&bad, &rows).unwrap();
    let o = colaw(&["bench", "--from", bad.to_str().unwrap(), "--out", d.path().join("j.csv").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("ALARM: robust-mip"), "{err}");
}
