//! Warnings: an answer that stands but is more fragile than it looks, or an input that was
//! accepted with a caveat. Commands put them in a `warnings` array of their JSON output and
//! print them on stderr in table mode ([`print_warnings`]), so nothing is dropped silently.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One warning: a stable machine-readable `code` (snake_case, e.g. `cv_skipped`) and a
/// sentence for people that says what is fragile and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Stable identifier for scripts (snake_case).
    pub code: String,
    /// What is fragile and what to do, for people.
    pub message: String,
}

impl Warning {
    /// A warning with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Warning { code: code.into(), message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// Print each warning as `warning: …` on stderr (table mode and other human output).
pub fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}
