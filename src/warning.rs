//! Warnings: an answer that holds but is less firm than it looks (a datasheet roofline, a
//! design on the edge of its space, a law used outside the data it was fitted on …).
//!
//! A [`Warning`] has a stable machine-readable `code` (snake_case; scripts match on it, so a
//! code is never renamed) and a message for people. Commands put them in their JSON as a
//! `warnings` array and print them on stderr ([`print_stderr`]), so a table on stdout stays
//! a table. The checks that produce them live next to what they check (`fragility` for
//! solve/region/pareto/eval); this module is only the shared type.

use serde::Serialize;

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Stable code, snake_case (e.g. `uncalibrated_hardware`).
    pub code: &'static str,
    /// What is fragile and why, for people.
    pub message: String,
}

impl Warning {
    /// A warning with a code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Warning {
        Warning { code, message: message.into() }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning [{}]: {}", self.code, self.message)
    }
}

/// Drop repeats (same code and message), keeping the first of each in order.
pub fn dedup(ws: &mut Vec<Warning>) {
    let mut seen = std::collections::HashSet::new();
    ws.retain(|w| seen.insert((w.code, w.message.clone())));
}

/// Print each warning on its own stderr line (`warning [code]: message`).
pub fn print_stderr(ws: &[Warning]) {
    for w in ws {
        eprintln!("{w}");
    }
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
        assert_eq!(w.to_string(), "warning [edge_of_space]: layers = 32 is the largest value of the space");
    }

    #[test]
    fn dedup_keeps_first_of_each() {
        let mut ws =
            vec![Warning::new("a", "x"), Warning::new("b", "x"), Warning::new("a", "x"), Warning::new("a", "y")];
        dedup(&mut ws);
        assert_eq!(ws, [Warning::new("a", "x"), Warning::new("b", "x"), Warning::new("a", "y")]);
    }
}
