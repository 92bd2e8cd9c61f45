//! Printing helpers shared by commands.

use serde::Serialize;

/// Output format for commands that can print tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Machine-readable JSON.
    #[default]
    Json,
    /// Aligned text for people.
    Table,
}

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Bytes in human units (GB = 1e9).
pub fn human_bytes(b: f64) -> String {
    if b >= 1e9 {
        format!("{:.3} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.3} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.3} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// Count with thousands separators.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
