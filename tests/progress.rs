//! Progress on long work (issue 18: only the bootstrap had a bar; the fit's starts, `region`,
//! `pareto`, large solves and `calibrate` were silent). Each command runs on a terminal — a
//! pseudo-terminal from util-linux `script` — and its output must carry its bar's count
//! (`N/M unit`) or its spinner's message; with `COLAW_NO_PROGRESS` set nothing is drawn.
//! (Piped, the commands print no progress at all: tests/plots.rs checks `region`.)

use std::process::Command;

const INSTANCE: &str = "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml";
const SAMPLES: &str = "instances/bench/robust/robust-s2026-00000-law-samples.csv";
const LARGE: &str = "instances/bench/large/large-s2026-00003.toml";

/// `s` quoted for the shell `script -c` runs.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `colaw ARGS` on a pseudo-terminal; returns everything it drew (stdout and stderr
/// share the terminal). `quiet`: with `COLAW_NO_PROGRESS=1`.
fn on_terminal(args: &[&str], quiet: bool) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_colaw")).chain(args.iter().copied()).map(quote);
    let line = line.collect::<Vec<_>>().join(" ");
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c", &line, "/dev/null"]).current_dir(env!("CARGO_MANIFEST_DIR"));
    c.stdin(std::process::Stdio::null()).env_remove("COLAW_NO_PROGRESS");
    if quiet {
        c.env("COLAW_NO_PROGRESS", "1");
    }
    let o = c.output().expect("util-linux `script` runs (it gives the command a terminal)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{args:?} on a terminal: {}\n{out}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Every `POS/LEN unit` a bar drew, as (POS, LEN).
fn counts(out: &str, unit: &str) -> Vec<(u64, u64)> {
    let needle = format!(" {unit} (");
    out.match_indices(&needle)
        .filter_map(|(i, _)| {
            let before = &out[..i];
            let start = before.rfind(|c: char| !(c.is_ascii_digit() || c == '/')).map_or(0, |k| k + 1);
            let (pos, len) = before[start..].split_once('/')?;
            Some((pos.parse().ok()?, len.parse().ok()?))
        })
        .collect()
}

/// The bar drew progress over at least `min_len` steps: some count N/M with N ≥ 1 and
/// M ≥ `min_len` (bars redraw at most 20 times a second, so the last count may not show).
fn drew(out: &str, unit: &str, min_len: u64) -> bool {
    counts(out, unit).iter().any(|&(p, l)| p >= 1 && l >= min_len)
}

#[test]
fn count_parser_by_hand() {
    let out = "fit ████░░ 3/4500 starts (0s, 1s left) \r\x1b[2Kfit ██████ 4500/4500 starts (1s, 0s left)";
    assert_eq!(counts(out, "starts"), [(3, 4500), (4500, 4500)]);
    assert!(drew(out, "starts", 100) && !drew(out, "starts", 5000) && !drew(out, "draws", 1));
    assert!(!drew("fit 0/4500 starts (0s)", "starts", 1), "a bar that never moved");
}

#[test]
fn the_fits_starts_and_its_bootstrap_draw_bars() {
    let args = ["fit", "--law", "chinchilla", "data/chinchilla/chinchilla_epoch.csv", "--drop-highest", "5"];
    let args = [&args[..], &["--bootstrap", "8", "--cv-folds", "0"]].concat();
    let out = on_terminal(&args, false);
    // Chinchilla's default start grid has thousands of starts, every one counted.
    assert!(drew(&out, "starts", 100), "no bar over the fit's starts: {out:?}");
    assert!(drew(&out, "resamples", 8), "no bar over the bootstrap: {out:?}");
    let quiet = on_terminal(&args, true);
    assert!(counts(&quiet, "starts").is_empty() && counts(&quiet, "resamples").is_empty(), "{quiet:?}");
}

#[test]
fn region_pareto_and_a_large_solve_show_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let out = on_terminal(&["region", INSTANCE, "--samples", SAMPLES, "--budget-grid", "0", "--out", &d("r")], false);
    assert!(drew(&out, "draws", 64), "region: {out:?}");
    let out = on_terminal(&["pareto", INSTANCE, "--x", "tpot", "--points", "4", "--out", &d("p")], false);
    assert!(drew(&out, "solves", 4), "pareto over a grid: {out:?}");
    let out = on_terminal(&["pareto", INSTANCE, "--x", "tpot", "--out", &d("t")], false);
    assert!(out.contains("pareto: tracing the tpot_ms front"), "pareto tracing: {out:?}");
    let out = on_terminal(&["solve", LARGE, "--solver", "enum"], false);
    assert!(out.contains("solve: 9000960 candidates"), "a 9 M-candidate solve: {out:?}");
    // A small solve is quick: no spinner.
    let out = on_terminal(&["solve", INSTANCE], false);
    assert!(!out.contains("solve: 8200 candidates"), "{out:?}");
}

#[test]
fn calibrate_counts_its_fits() {
    let dir = tempfile::tempdir().unwrap();
    let hw = dir.path().join("h100.toml");
    let args = [
        "calibrate",
        "--hardware",
        "nvidia-h100-sxm",
        "data/measurements/h100_latency.csv",
        "--engine",
        "cudagraph",
        "--out",
        hw.to_str().unwrap(),
    ];
    let out = on_terminal(&args, false);
    // The full fit, then one per cross-validation fold.
    assert!(drew(&out, "fits", 2), "calibrate: {out:?}");
}
