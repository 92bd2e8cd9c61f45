//! CI's short run of every fuzz target without afl: the committed seeds
//! (`fuzz/seeds/TARGET/`), every input the campaign found a crash or hang with
//! (`fuzz/regressions/TARGET/`) and the shipped files `fuzz/sources.txt` lists go through
//! the same target functions the afl binaries run (`fuzz/src/targets.rs`, included here by
//! path). A panic fails the test and names the target and the file; errors are expected.

#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Regular files under `dir` (recursively) whose name ends with `suffix`, sorted.
fn files(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, suffix, out);
        } else if p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(suffix)) {
            out.push(p);
        }
    }
}

/// Every input of `target`: seeds, regressions, then the shipped sources `fuzz/sources.txt`
/// lists, up to 256 KiB each (make-corpus.sh gives afl only those up to 16 KiB).
fn inputs(target: &str) -> Vec<PathBuf> {
    let r = root();
    let mut out = Vec::new();
    files(&r.join("fuzz/seeds").join(target), "", &mut out);
    files(&r.join("fuzz/regressions").join(target), "", &mut out);
    let sources = std::fs::read_to_string(r.join("fuzz/sources.txt")).expect("fuzz/sources.txt");
    for line in sources.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [t, folder, suffix] = f[..] {
            if t == target {
                let mut v = Vec::new();
                files(&r.join(folder), suffix, &mut v);
                out.extend(v.into_iter().filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= 256 * 1024)));
            }
        }
    }
    out
}

fn replay(target: &str) {
    // The targets resolve relative paths (instances, samples named on a command line) from
    // the repository root, as `fuzz/run.sh` runs them.
    std::env::set_current_dir(root()).expect("cd to the repository root");
    let f = targets::target(target).expect("a known target");
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "target {target} has no seed inputs");
    let mut accepted = Vec::new();
    for p in &inputs {
        let bytes = std::fs::read(p).expect("readable input");
        let name = p.display().to_string();
        let r = std::panic::catch_unwind(|| f(&bytes));
        assert!(r.is_ok(), "fuzz target {target} panicked on {name}");
        if r.unwrap_or(false) {
            accepted.push(name);
        }
    }
    // A harness that refused every input (a wrong models folder, a path resolved from the
    // wrong place) would replay cleanly and fuzz nothing but the first error path.
    assert!(
        accepted.len() * 4 >= inputs.len(),
        "target {target} accepted only {accepted:?} of {} inputs",
        inputs.len()
    );
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*
        /// Every target of fuzz/src/targets.rs has a replay test here.
        #[test]
        fn every_target_is_replayed() {
            let here = [$(stringify!($name)),*];
            for (t, _) in targets::TARGETS {
                assert!(here.contains(&t), "target {t} has no replay test");
            }
        }
    };
}

replay_tests!(
    instance,
    law,
    hardware,
    arch,
    hf_config,
    measurements,
    coef_samples,
    latency_samples,
    fit_data,
    journal_state,
    oracle_jsonl,
    oracle_reply,
    cli,
);
