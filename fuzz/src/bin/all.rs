//! Every target in one afl binary, the target named by `$FUZZ_TARGET` (for running the whole
//! campaign from one build, e.g. on another machine: `FUZZ_TARGET=law afl-fuzz … -- all`).
fn main() {
    let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
    let Some(f) = colaw_fuzz::targets::target(&name) else {
        let names: Vec<&str> = colaw_fuzz::targets::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("FUZZ_TARGET must be one of {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        let _ = f(data);
    });
}
