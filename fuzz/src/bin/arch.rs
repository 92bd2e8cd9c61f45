//! afl target `arch` (see `fuzz/src/targets.rs`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = colaw_fuzz::targets::arch(data);
    });
}
