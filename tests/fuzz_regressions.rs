//! Inputs that once crashed colaw (found by the fuzzing campaign, docs/reliability.md
//! "Fuzzing", or named in issue 19), each fed through the entry point that crashed and
//! checked to give one clear error. The same inputs are replayed through the fuzz targets
//! by tests/fuzz_corpus.rs (fuzz/regressions/TARGET/).

mod common;

use colaw::cli::check_args;
use colaw::law::LossLaw;

fn err_of(args: &[&str]) -> String {
    let argv = std::iter::once("colaw").chain(args.iter().copied());
    match check_args(argv) {
        Ok(()) => panic!("{args:?} should be refused"),
        Err(e) => format!("{e:#}"),
    }
}

/// `--timeout-s` became a `Duration` unchecked: −1 and 1e300 panicked ("cannot convert float
/// seconds to Duration"); NaN and ∞ too.
#[test]
fn oracle_timeouts_out_of_range_are_refused() {
    for t in ["-1", "0", "1e300", "inf", "NaN", "1.1e7"] {
        let e = err_of(&["oracle", "synthetic:paper", &format!("--timeout-s={t}")]);
        assert!(e.contains("--timeout-s") && e.contains("number of seconds in (0, 1e7]"), "{t}: {e}");
        let e = err_of(&[
            "loop",
            "--instance",
            "instances/loop/gpu-proxy.toml",
            "--data",
            "d.csv",
            "--oracle",
            "synthetic:paper",
            "--journal",
            "j",
            &format!("--timeout-s={t}"),
        ]);
        assert!(e.contains("--timeout-s"), "{t}: {e}");
    }
    // The largest allowed value is taken (limits::MAX_SECONDS), and so is a fraction of a second.
    for t in ["1e7", "0.001"] {
        let argv = ["colaw", "oracle", "synthetic:paper", "--timeout-s", t];
        assert!(check_args(argv).is_ok(), "--timeout-s {t} should be accepted");
    }
}

/// The binary: exit code 1, one line, no panic (flags are checked before stdin is read).
#[test]
fn oracle_timeout_binary_exits_cleanly() {
    let err = common::fails(&["oracle", "synthetic:paper", "--timeout-s=-1"], &["--timeout-s` = -1"]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = common::colaw(&["oracle", "synthetic:paper", "--timeout-s=1e300"]);
    assert_eq!(o.status.code(), Some(1));
}

/// Found by afl on `fit_data` (fuzz/regressions/fit_data/afl-crash-001.csv): a row with
/// hidden = 2 222 222 048 overflowed the exact parameter count ("attempt to add with overflow"
/// with overflow checks; a silently wrong count without). Architectures beyond 10¹⁵
/// parameters are now refused, naming the row and the shape.
#[test]
fn fit_data_row_with_an_overflowing_shape_is_refused() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("fuzz/regressions/fit_data/afl-crash-001.csv")).unwrap();
    let law = colaw::law::load_law("paper").unwrap();
    let vars = law.variables();
    let e = colaw::law::observations_from_bytes(&bytes, "crash.csv", &vars, &Default::default(), Some(1e10))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("crash.csv") && e.contains("params") && e.contains("hidden 2222222048") && e.contains("1e15"),
        "{e}"
    );
}
