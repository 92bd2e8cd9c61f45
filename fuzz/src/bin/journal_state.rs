//! afl target `journal_state` (see `fuzz/src/targets.rs`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = colaw_fuzz::targets::journal_state(data);
    });
}
