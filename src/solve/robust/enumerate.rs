//! `robust-enum`: the reference, the risk of every admissible design.

use super::*;

/// Reference: evaluate the risk of every admissible design.
pub(super) fn robust_enum_run(problem: &Problem) -> Result<RawSolution> {
    let p = RobustModel::new(problem)?;
    let (inst, spec) = (p.inst, p.spec);
    let nd = inst.space.depths.len();
    let best = (0..inst.space.widths.len())
        .into_par_iter()
        .map_init(Vec::new, |buf, w| {
            let mut best: Option<(f64, usize, usize)> = None;
            for i in 0..nd {
                if p.admissible(w, i) {
                    let mut v = p.sample_objectives(w, i, buf);
                    let r = spec.risk.of(&mut v);
                    // A sample whose law overflows at this design makes its risk unknown:
                    // never choose it on that basis.
                    if r.is_finite() && best.is_none_or(|(b, _, _)| r < b) {
                        best = Some((r, w, i));
                    }
                }
            }
            best
        })
        .reduce(
            || None,
            |a, b| match (a, b) {
                (Some(x), Some(y)) => Some(if y.0 < x.0 || (y.0 == x.0 && (y.1, y.2) < (x.1, x.2)) { y } else { x }),
                (x, None) => x,
                (None, y) => y,
            },
        );
    let mut sol = p.finish(best.map(|(_, w, i)| (w, i)))?;
    sol.bound = sol.picks.first().map(|p| p.objective);
    Ok(sol)
}
