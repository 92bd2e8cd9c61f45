//! The one progress-display helper of the CLI: a bar (known count) or a spinner (unknown
//! length) on stderr, drawn only when stderr is a terminal and `COLAW_NO_PROGRESS` is unset,
//! so piped, logged and tested runs print nothing extra.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Whether progress is drawn at all.
fn shown() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("COLAW_NO_PROGRESS").is_none()
}

/// A bar over `len` steps labelled `what` (e.g. "bootstrap", "resamples"); hidden when not
/// on a terminal. Call `inc(1)` per step and `finish_and_clear()` at the end.
pub fn bar(len: u64, what: &str, unit: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if shown() {
        let t = format!("{what} {{bar:40}} {{pos}}/{{len}} {unit} ({{elapsed}}, {{eta}} left) {{msg}}");
        b.set_style(ProgressStyle::with_template(&t).unwrap_or_else(|_| ProgressStyle::default_bar()));
    } else {
        b.set_draw_target(ProgressDrawTarget::hidden());
    }
    b
}

/// A spinner with elapsed time for work of unknown length (`message`: what is running and
/// how big it is); hidden when not on a terminal. `finish_and_clear()` when done.
pub fn spinner(message: String) -> ProgressBar {
    let b = ProgressBar::new_spinner();
    if shown() {
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(message);
        b.enable_steady_tick(Duration::from_millis(120));
    } else {
        b.set_draw_target(ProgressDrawTarget::hidden());
    }
    b
}
