//! `mip`: the compact formulation, solved by HiGHS through good_lp.
//!
//! Binaries y_i (one per depth, Σ y = 1) and z_w (one per surviving width configuration,
//! Σ z = 1), and continuous u_w = L·z_w linearised exactly:
//!
//! ```text
//! L = Σ_i depth_i·y_i,   Σ_w u_w = L,   0 ≤ u_w ≤ depthmax_w·z_w
//! ```
//!
//! so u_w is L on the chosen width and 0 elsewhere. Every cost and parameter count is
//! `fixed_w + L·per_layer_w` for the chosen width, hence linear in (z, u):
//! budget k is Σ_w (a_wk·z_w + b_wk·u_w) ≤ B_k (each row scaled by 1/B_k). The objective is
//! Σ_i F_i·y_i + Σ_w (G_w·z_w + H_w·u_w) for a separable law, or −N = −Σ_w (n_w·z_w +
//! n'_w·u_w) for a law monotone decreasing in a parameter count N. That is |depths| +
//! |widths| binaries, not their product. Presolve drops widths with no feasible depth and
//! bounds u_w by each width's largest feasible depth (which makes the budget rows exact);
//! for a top-1 search it also drops widths dominated by the same architecture with smaller
//! storage types ([`Problem::dominated`]).
//!
//! Extension point for heterogeneous designs (groups of layers choosing their own
//! precision/FFN/experts): a group g gets its own y^g, z^g and u^g = L_g·z^g blocks, and a
//! budget row sums the groups' rows; nothing here assumes a single group beyond
//! [`build`]'s loop.

use super::highs::{argmax, choice_constraints, record, run_highs, settle};
use super::{Pick, Problem, RawSolution, SolveOptions, Solver, Status, Structure, WidthRow};
use crate::error::Result;
use crate::law::LawInputs;
use good_lp::solvers::highs::{highs, HighsProblem};
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};
use std::time::Instant;

/// The compact MIP.
#[derive(Debug, Clone, Copy, Default)]
pub struct MipCompact;

/// The compact model's variables.
struct Vars {
    y: Vec<Variable>,
    z: Vec<Variable>,
    /// Width index of each z.
    keep: Vec<usize>,
}

/// Build the compact model, excluding the (width, depth) pairs in `cuts`.
fn build(p: &Problem, rows: &[WidthRow], cuts: &[(usize, usize)], top1: bool) -> Option<(HighsProblem, Vars, f64)> {
    let keep: Vec<usize> = (0..rows.len()).filter(|&w| rows[w].lmax.is_some() && !(top1 && p.dominated(w))).collect();
    if keep.is_empty() {
        return None;
    }
    let imax = keep.iter().map(|&w| rows[w].lmax.unwrap_or(0)).max().unwrap_or(0);
    let depths = &p.depths[..=imax];
    let mut vars = ProblemVariables::new();
    let y = vars.add_vector(variable().binary(), depths.len());
    let z = vars.add_vector(variable().binary(), keep.len());
    let u: Vec<Variable> =
        keep.iter().map(|&w| vars.add(variable().min(0.0).max(p.depths[rows[w].lmax.unwrap_or(0)] as f64))).collect();
    // Objective.
    let mut obj = Expression::with_capacity(depths.len() + 2 * keep.len());
    let mut scale = 1.0;
    match p.structure {
        Structure::Separable => {
            for (i, &yi) in y.iter().enumerate() {
                obj.add_mul(p.depth_obj[i], yi);
            }
            for (j, &w) in keep.iter().enumerate() {
                obj.add_mul(rows[w].g, z[j]);
                if rows[w].h != 0.0 {
                    obj.add_mul(rows[w].h, u[j]);
                }
            }
        }
        Structure::Monotone(_) => {
            scale = keep.iter().map(|&w| rows[w].n.fixed.abs()).fold(1.0, f64::max);
            for (j, &w) in keep.iter().enumerate() {
                obj.add_mul(-rows[w].n.fixed / scale, z[j]);
                obj.add_mul(-rows[w].n.per_layer / scale, u[j]);
            }
        }
        Structure::General => return None,
    }
    let mut m = vars.minimise(obj).using(highs);
    let lmax: Vec<usize> = keep.iter().map(|&w| rows[w].lmax.unwrap_or(0)).collect();
    choice_constraints(&mut m, &y, &z, &u, depths, &lmax);
    // A second valid inequality: F being the depth part of the objective, the chosen
    // depth's F is at least the best F the chosen width can reach,
    //   Σ_i F_i·y_i ≥ Σ_w min_{i ≤ lmax_w} F_i · z_w.
    // With no per-layer width part (H = 0, the paper's law) it makes the LP bound equal to
    // the optimum, so HiGHS closes at the root.
    if p.structure == Structure::Separable {
        let mut prefix_min = Vec::with_capacity(depths.len());
        let mut best = f64::INFINITY;
        for f in &p.depth_obj[..depths.len()] {
            best = best.min(*f);
            prefix_min.push(best);
        }
        let mut e = Expression::with_capacity(depths.len() + keep.len());
        for (i, &yi) in y.iter().enumerate() {
            e.add_mul(p.depth_obj[i], yi);
        }
        for (j, &w) in keep.iter().enumerate() {
            e.add_mul(-prefix_min[rows[w].lmax.unwrap_or(0)], z[j]);
        }
        m.add_constraint(e.geq(0.0));
    }
    // Budgets, scaled to ≤ 1.
    for (k, b) in p.inst.budgets.iter().enumerate() {
        let mut e = Expression::with_capacity(2 * keep.len());
        for (j, &w) in keep.iter().enumerate() {
            let lin = rows[w].budgets[k];
            if lin.fixed != 0.0 {
                e.add_mul(lin.fixed / b.limit, z[j]);
            }
            if lin.per_layer != 0.0 {
                e.add_mul(lin.per_layer / b.limit, u[j]);
            }
        }
        m.add_constraint(e.leq(1.0));
    }
    // No-good cuts for top-k: z_w + y_i ≤ 1.
    for &(w, i) in cuts {
        if let Some(j) = keep.iter().position(|&x| x == w) {
            if i < y.len() {
                let mut e = Expression::with_capacity(2);
                e.add_mul(1.0, z[j]);
                e.add_mul(1.0, y[i]);
                m.add_constraint(e.leq(1.0));
            }
        }
    }
    Some((m, Vars { y, z, keep }, scale))
}

/// Objective bound in loss units from a HiGHS bound.
fn loss_bound(p: &Problem, hb: f64, scale: f64) -> Option<f64> {
    match p.structure {
        Structure::Separable => Some(hb),
        Structure::Monotone(v) => {
            let n = -hb * scale;
            if n <= 0.0 {
                return None;
            }
            let mut x = LawInputs::unknown();
            x.set(v, n);
            x.set(crate::law::Var::Tokens, p.inst.tokens.unwrap_or(f64::NAN));
            Some(p.inst.loss_weight * p.inst.law.loss(&x))
        }
        Structure::General => None,
    }
}

impl Solver for MipCompact {
    fn name(&self) -> &'static str {
        "mip"
    }

    fn can_write_model(&self) -> bool {
        true
    }

    fn robust_twin(&self) -> Option<&'static str> {
        Some("robust-mip")
    }

    fn unsupported(&self, p: &Problem) -> Option<String> {
        (!p.compact_ok()).then(|| {
            format!(
                "solver `mip` (compact) needs a law that separates into depth and width parts or is monotone in one \
                 parameter count, and terms with a depth split; this instance has {}: use --solver mip-assign or enum",
                p.structure_description()
            )
        })
    }

    fn solve(&self, p: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
        let t0 = Instant::now();
        let rows = p.rows(true);
        let mut out = RawSolution::empty(Status::Optimal);
        let mut cuts = Vec::new();
        let mut nodes = 0u64;
        let mut buf = Vec::new();
        for round in 0..opts.top_k.max(1) {
            let Some((model, vars, scale)) = build(p, &rows, &cuts, opts.top_k <= 1) else {
                if round == 0 {
                    out.status = Status::Infeasible;
                }
                break;
            };
            let left = opts.time_limit_s - t0.elapsed().as_secs_f64();
            let write = if round == 0 { opts.write_model.as_deref() } else { None };
            let Some(sol) = settle(run_highs(model, opts, left, write)?, round, &mut out, &mut nodes) else {
                break;
            };
            let i = argmax(&sol.cols, 0, vars.y.len());
            let w = vars.keep[argmax(&sol.cols, vars.y.len(), vars.z.len())];
            p.costs(w, &mut buf);
            let objective = p.objective(w, &rows[w], &buf, i);
            let bound = sol.bound.and_then(|b| loss_bound(p, b, scale));
            if !record(&mut out, opts, round, Pick { width: w, depth: i, objective }, bound, sol) {
                break;
            }
            cuts.push((w, i));
        }
        out.nodes = Some(nodes);
        Ok(out)
    }
}
