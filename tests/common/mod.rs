//! Helpers shared by the integration tests: a test file that needs them declares
//! `mod common;`. Each test binary uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The `colaw` binary of this build, run from the repository root.
pub fn colaw_cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_colaw"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Run `colaw ARGS` and return its output, whatever its exit status.
pub fn colaw(args: &[&str]) -> Output {
    colaw_cmd().args(args).output().expect("the colaw binary runs")
}

/// Run `colaw ARGS`, require success and parse its stdout as JSON.
pub fn colaw_json(args: &[&str]) -> serde_json::Value {
    let o = colaw(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("colaw printed JSON")
}

/// Run a command expected to fail: checks a non-zero exit, no panic and that the error names
/// every needle; returns stderr.
pub fn fails(args: &[&str], needles: &[&str]) -> String {
    let o = colaw(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: error lacks `{n}`: {err}");
    }
    err
}

/// A temporary file with this extension and text.
pub fn temp(ext: &str, text: &str) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}
