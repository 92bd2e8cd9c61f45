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

/// Print each warning as `warning [code]: message` on stderr (table mode and other human
/// output), one line each.
pub fn print_warnings(warnings: &[Warning]) {
    for w in warnings {
        eprintln!("warning [{}]: {w}", w.code);
    }
}

/// [`print_warnings`] (the name the solve, region, pareto and eval commands call).
pub fn print_stderr(warnings: &[Warning]) {
    print_warnings(warnings)
}

/// Drop repeats (same code and message), keeping the first of each in order.
pub fn dedup(ws: &mut Vec<Warning>) {
    let mut seen = std::collections::HashSet::new();
    ws.retain(|w| seen.insert((w.code.clone(), w.message.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_code_and_message() {
        let w = Warning::new("edge_of_space", "layers = 32 is the largest value of the space");
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["code"], "edge_of_space");
        assert_eq!(v["message"], "layers = 32 is the largest value of the space");
    }

    #[test]
    fn dedup_keeps_first_of_each() {
        let mut ws =
            vec![Warning::new("a", "x"), Warning::new("b", "x"), Warning::new("a", "x"), Warning::new("a", "y")];
        dedup(&mut ws);
        assert_eq!(ws, [Warning::new("a", "x"), Warning::new("b", "x"), Warning::new("a", "y")]);
    }
}
