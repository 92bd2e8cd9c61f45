//! afl target `oracle_reply` (see `fuzz/src/targets.rs`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = colaw_fuzz::targets::oracle_reply(data);
    });
}
