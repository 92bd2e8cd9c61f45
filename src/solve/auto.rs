//! `auto`: pick a variant by space size and law structure, and say why.

use super::{Problem, Structure};

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

/// Most width configurations `auto` hands to the compact MIP: its model grows with the
/// widths (9.7·10⁵ candidates over 57,600 widths already take HiGHS 2.4 s, and 6.9 M widths
/// exhausted 24 GB), while enumeration costs one cost-model evaluation per width
/// (1.2 s for 6.9 M widths), so beyond this enumeration is the better exact method.
pub const AUTO_MIP_MAX_WIDTHS: usize = 20_000;

/// Choose a variant.
pub fn choose(p: &Problem) -> Choice {
    let n = p.candidates();
    let (w, d) = (p.widths(), p.depths.len());
    if n > AUTO_ENUM_LIMIT && w > AUTO_MIP_MAX_WIDTHS {
        return Choice {
            solver: "enum".into(),
            reason: format!(
                "{n} candidates but {w} width configurations > {AUTO_MIP_MAX_WIDTHS}: the compact MIP grows with the widths, \
                 enumeration costs one evaluation per width and stays exact"
            ),
        };
    }
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
