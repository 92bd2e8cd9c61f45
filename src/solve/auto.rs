//! `auto`: pick a variant by space size and law structure, and say why.

use super::{Problem, SolveOptions, Structure};

/// The choice and its reason.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Variant name.
    pub solver: String,
    /// One sentence.
    pub reason: String,
}

/// Largest space `auto` enumerates.
pub const AUTO_ENUM_LIMIT: u64 = 200_000_000;

/// Choose a variant.
pub fn choose(p: &Problem, _opts: &SolveOptions) -> Choice {
    let n = p.candidates();
    let (w, d) = (p.widths(), p.depths.len());
    if n <= AUTO_ENUM_LIMIT {
        return Choice {
            solver: "enum".into(),
            reason: format!(
                "{n} candidates ({w} width configurations × {d} depths) ≤ {AUTO_ENUM_LIMIT}: exact enumeration, reusing \
                 each width's costs across depths and pruning with law bounds, is exact and fastest at this size"
            ),
        };
    }
    match p.structure {
        Structure::General => Choice {
            solver: "enum".into(),
            reason: format!(
                "{n} candidates; the law neither separates nor is monotone in one parameter count, so the compact MIP does \
                 not apply and the assignment MIP would need one binary per candidate: enumerating (bounded by the time limit)"
            ),
        },
        _ => Choice {
            solver: "mip".into(),
            reason: format!(
                "{n} candidates > {AUTO_ENUM_LIMIT} and {}: compact MIP with {} binaries",
                p.structure_description(),
                w + d
            ),
        },
    }
}
