//! Correctness alarms: exact solvers must agree with the best verified objective, and
//! answers must not change between repeats.

use super::*;

pub(super) fn rel(a: f64, b: f64) -> f64 {
    (a - b) / b.abs().max(1e-12)
}

/// Judge rows: best known objective per instance (path), agreement, alarms and `solved`.
/// Alarms already set (e.g. answers that changed between repeats) are kept.
pub fn check(rows: &mut [BenchRow]) {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.path.clone()).or_default().push(i);
    }
    for idx in groups.values() {
        let has_design = |r: &BenchRow| matches!(r.status.as_str(), "optimal" | "feasible") && r.objective.is_some();
        let best = idx
            .iter()
            .map(|&i| &rows[i])
            .filter(|r| has_design(r) && r.verified)
            .filter_map(|r| r.objective)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))));
        let exact_infeasible = idx.iter().any(|&i| rows[i].exact && rows[i].status == "infeasible");
        for &i in idx {
            let r = &mut rows[i];
            let mut reasons: Vec<String> = Vec::new();
            if !r.alarm_reason.is_empty() {
                reasons.push(r.alarm_reason.clone());
            }
            r.best_known = best;
            r.rel_diff = match (r.objective, best) {
                (Some(o), Some(b)) => Some(rel(o, b)),
                _ => None,
            };
            if has_design(r) && !r.verified {
                reasons.push("returned design failed re-verification".into());
            }
            if r.exact {
                if let (Some(b), true) = (best, r.status == "optimal") {
                    match r.objective {
                        Some(o) if rel(o, b).abs() <= AGREE_TOL => {}
                        o => reasons.push(format!(
                            "claims optimal objective {} but the best verified objective is {b} (relative {:.3e})",
                            o.map_or("none".into(), |x| x.to_string()),
                            o.map_or(f64::NAN, |x| rel(x, b))
                        )),
                    }
                }
                if let (Some(b), "infeasible") = (best, r.status.as_str()) {
                    reasons.push(format!("claims infeasible but a verified design with objective {b} exists"));
                }
                if let (Some(b), Some(lb)) = (best, r.bound) {
                    if rel(lb, b) > AGREE_TOL {
                        reasons.push(format!("bound {lb} lies above the verified objective {b}"));
                    }
                }
            }
            r.alarm = !reasons.is_empty();
            r.alarm_reason = reasons.join("; ");
            let matches = r.rel_diff.is_some_and(|d| d.abs() <= AGREE_TOL) && has_design(r);
            r.solved = !r.alarm
                && match best {
                    Some(_) => matches && (!r.exact || r.status == "optimal"),
                    None => exact_infeasible && (r.status == "infeasible" || (!r.exact && r.status == "no_solution")),
                };
        }
    }
}
