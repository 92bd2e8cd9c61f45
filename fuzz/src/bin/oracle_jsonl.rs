//! afl target `oracle_jsonl` (see `fuzz/src/targets.rs`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = colaw_fuzz::targets::oracle_jsonl(data);
    });
}
