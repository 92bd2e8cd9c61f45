//! `analytic`: the paper's method as a heuristic. On the continuous relaxation in depth the
//! KKT conditions say the loss-optimal depth saturates the binding budget (the loss falls
//! with depth while every cost rises linearly), so for each width configuration
//! l*(w) = min_k (B_k − a_wk)/b_wk, clipped to the depth range. Width configurations are
//! ranked by the relaxed objective at l*(w); the best is rounded down to the depth grid and
//! repaired (next width in relaxed order) when rounding leaves no feasible depth. The
//! driver reports its gap to the exact optimum when it can compute one; it can never beat
//! the exact optimum since it returns a grid design that passed the exact checks.
//!
//! The paper's closed forms for width, FFN ratio and sparsity (ρ* = ρ_min under a latency
//! budget, ρ* ∝ d^−1.19 under memory) are consequences of the same stationarity conditions
//! under its pure roofline; here the width variables stay discrete and are compared at
//! their relaxed depth, which covers any cost model and any law.

use super::{Pick, Problem, RawSolution, SolveOptions, Solver, Status, Structure};
use crate::error::Result;
use crate::law::LawInputs;

/// The relaxation heuristic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Analytic;

impl Solver for Analytic {
    fn name(&self) -> &'static str {
        "analytic"
    }

    fn is_exact(&self) -> bool {
        false
    }

    fn solve(&self, p: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
        let rows = p.rows(true);
        let (lo, hi) = (p.depths[0] as f64, *p.depths.last().unwrap_or(&1) as f64);
        let inst = p.inst;
        // Relaxed optimum per width.
        let mut relaxed: Vec<(f64, usize)> = Vec::new();
        for (w, row) in rows.iter().enumerate() {
            let mut l_star = hi;
            for (k, b) in inst.budgets.iter().enumerate() {
                let lin = row.budgets[k];
                if lin.per_layer > 0.0 {
                    l_star = l_star.min((b.limit - lin.fixed) / lin.per_layer);
                } else if lin.fixed > b.limit {
                    l_star = f64::NEG_INFINITY;
                }
            }
            if l_star < lo {
                continue;
            }
            let wc = &inst.space.widths[w];
            let val = match p.structure {
                Structure::Separable => {
                    let f = inst.loss_weight * inst.law.depth_part(l_star)
                        + inst.terms.iter().map(|t| t.depth_part(l_star.round() as u32)).sum::<f64>();
                    f + row.g + l_star * row.h
                }
                _ => {
                    // Evaluate the law at the relaxed depth through the parameter counts.
                    let mut x = LawInputs::from_arch(&wc.arch(l_star.floor().max(1.0) as u32), inst.tokens);
                    x.set(crate::law::Var::Layers, l_star);
                    inst.loss_weight * inst.law.loss(&x)
                }
            };
            relaxed.push((val, w));
        }
        relaxed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out = RawSolution::empty(Status::Feasible);
        let mut buf = Vec::new();
        for &(_, w) in &relaxed {
            // Round down to the grid (= the largest feasible grid depth) and repair.
            if let Some(i) = rows[w].lmax {
                p.costs(w, &mut buf);
                let objective = p.objective(w, &rows[w], &buf, i);
                out.picks.push(Pick { width: w, depth: i, objective });
                if out.picks.len() >= opts.top_k.max(1) {
                    break;
                }
            }
        }
        if out.picks.is_empty() {
            out.status = Status::Infeasible;
        } else {
            out.note = Some("heuristic (continuous relaxation, rounded and repaired)".into());
        }
        Ok(out)
    }
}
