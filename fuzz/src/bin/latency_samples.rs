//! afl target `latency_samples` (see `fuzz/src/targets.rs`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = colaw_fuzz::targets::latency_samples(data);
    });
}
