//! CI's short run of every fuzz target without afl, in two parts. The replay: the committed
//! seeds (`fuzz/seeds/TARGET/`), every input the campaign found a crash or hang with
//! (`fuzz/regressions/TARGET/`) and the shipped files `fuzz/sources.txt` lists go through
//! the same target functions the afl binaries run (`fuzz/src/targets.rs`, included here by
//! path). The mutation run: a few thousand inputs per target made from those (afl-style
//! stacked byte edits, numbers swapped for extreme ones, splices), seeded, so a failure
//! reproduces; it is not coverage-guided, so it finds less than the campaign
//! (docs/reliability.md, "Fuzzing"). A panic fails the test and names the target and the
//! input (a mutated one is saved to a file); errors are expected.

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

/// splitmix64: a small seeded generator, so a mutation run is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Numbers that sit on a limit, overflow a type or are not numbers (the values the resource
/// guards and the parsers must refuse cleanly).
const NUMBERS: [&str; 18] = [
    "0",
    "-1",
    "-0",
    "1e300",
    "-1e300",
    "1e-320",
    "NaN",
    "inf",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551616",
    "2222222048",
    "10000000000",
    "1e15",
    "",
];

/// Bytes that end or start tokens in TOML, JSON, CSV and command lines.
const BYTES: &[u8] = b"\0\n\r\t \",:=[]{}#-+.eE019\\\xff";

/// One mutated input: 1 to 4 stacked edits of `input` (afl's "havoc" in miniature), some
/// splicing in the tail of `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = BYTES[rng.below(BYTES.len())];
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                v.drain(i..i + n);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let chunk = v[i..i + 1 + rng.below((len - i).min(64))].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let (i, j) = (rng.below(len + 1), rng.below(other.len()));
                v.truncate(i);
                v.extend_from_slice(&other[j..]);
            }
            6 => v.truncate(rng.below(len + 1)),
            _ => {
                // The next number after a random point (or a random point) becomes an extreme one.
                let start = rng.below(len + 1);
                let (i, j) = match v[start..].iter().position(u8::is_ascii_digit) {
                    Some(k) => {
                        let i = start + k;
                        let n = v[i..].iter().take_while(|b| b.is_ascii_digit() || b"-+.eE".contains(b)).count();
                        (i, i + n)
                    }
                    None => (start, start),
                };
                v.splice(i..j, NUMBERS[rng.below(NUMBERS.len())].bytes());
            }
        }
    }
    v
}

/// Executions per target of the mutation run: `COLAW_FUZZ_EXECS`, else 10 000 (under 2 s a target).
fn mutation_execs() -> usize {
    std::env::var("COLAW_FUZZ_EXECS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// The mutation run of `target`: `mutation_execs()` inputs made from its replay inputs of at
/// most 16 KiB (as `fuzz/make-corpus.sh` gives afl), seeded by the target's name and
/// `COLAW_FUZZ_SEED` (default 0). A panic saves the input and names the file.
fn mutation_run(target: &str) {
    std::env::set_current_dir(root()).expect("cd to the repository root");
    let f = targets::target(target).expect("a known target");
    let corpus: Vec<Vec<u8>> = inputs(target)
        .iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= 16 * 1024))
        .map(|p| std::fs::read(p).expect("readable input"))
        .collect();
    assert!(!corpus.is_empty(), "target {target} has no input of at most 16 KiB");
    let seed: u64 = std::env::var("COLAW_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut rng = Rng(target.bytes().fold(seed, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))));
    for exec in 0..mutation_execs() {
        let input = &corpus[rng.below(corpus.len())];
        let other = &corpus[rng.below(corpus.len())];
        let bytes = mutate(&mut rng, input, other);
        if std::panic::catch_unwind(|| f(&bytes)).is_err() {
            let saved = std::env::temp_dir().join(format!("colaw-fuzz-{target}-{seed}-{exec}"));
            std::fs::write(&saved, &bytes).expect("the crashing input is saved");
            panic!(
                "fuzz target {target} panicked on mutated input {exec} (COLAW_FUZZ_SEED={seed}), saved as {}; \
                 fix it and add the file to fuzz/regressions/{target}/",
                saved.display()
            );
        }
    }
}

macro_rules! replay_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay(stringify!($name));
            }
        )*
        /// The mutation run of each target (`mutation_run`).
        mod mutated {
            $(
                #[test]
                fn $name() {
                    super::mutation_run(stringify!($name));
                }
            )*
        }
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
