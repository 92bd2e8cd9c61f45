//! `mip-assign`: the general fallback. One binary per candidate that survives presolve
//! (every (width, depth) whose depth is feasible for that width), Σ x = 1, each budget as
//! one row, and the exact objective of each candidate as its cost. Works for any law and
//! any custom term, at the price of one binary per candidate.

use super::highs::{argmax, record, run_highs, settle};
use super::{Pick, Problem, RawSolution, SolveOptions, Solver, Status};
use crate::error::{Error, Result};
use good_lp::solvers::highs::highs;
use good_lp::{variable, Expression, ProblemVariables, SolverModel};
use std::time::Instant;

/// Most candidates the assignment model takes.
pub const MAX_ASSIGN_CANDIDATES: usize = 2_000_000;

/// The assignment MIP.
#[derive(Debug, Clone, Copy, Default)]
pub struct MipAssign;

impl Solver for MipAssign {
    fn name(&self) -> &'static str {
        "mip-assign"
    }

    fn can_write_model(&self) -> bool {
        true
    }

    fn solve(&self, p: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
        let t0 = Instant::now();
        let rows = p.rows(true);
        // Presolve: surviving candidates with their objective.
        let mut cand: Vec<(usize, usize, f64)> = Vec::new();
        let mut buf = Vec::new();
        let mut objs = Vec::new();
        for (w, row) in rows.iter().enumerate() {
            if let Some(imax) = row.lmax {
                p.costs(w, &mut buf);
                let depths: Vec<usize> = (0..=imax).collect();
                objs.clear();
                p.objectives(w, row, &buf, &depths, &mut objs);
                cand.extend(depths.iter().zip(&objs).map(|(&i, &o)| (w, i, o)));
                if w % 1024 == 0 && t0.elapsed().as_secs_f64() > opts.time_limit_s {
                    let mut out = RawSolution::empty(Status::NoSolution);
                    out.note = Some("time limit reached while building the assignment model".into());
                    return Ok(out);
                }
                if cand.len() > MAX_ASSIGN_CANDIDATES {
                    return Err(Error::Unsupported(format!(
                        "mip-assign: more than {MAX_ASSIGN_CANDIDATES} feasible candidates; use --solver enum or mip"
                    )));
                }
            }
        }
        let mut out = RawSolution::empty(Status::Optimal);
        if cand.is_empty() {
            out.status = Status::Infeasible;
            return Ok(out);
        }
        let mut excluded = vec![false; cand.len()];
        let mut nodes = 0u64;
        for round in 0..opts.top_k.max(1) {
            let live: Vec<usize> = (0..cand.len()).filter(|&c| !excluded[c]).collect();
            if live.is_empty() {
                break;
            }
            let mut vars = ProblemVariables::new();
            let x = vars.add_vector(variable().binary(), live.len());
            let mut obj = Expression::with_capacity(live.len());
            for (j, &c) in live.iter().enumerate() {
                obj.add_mul(cand[c].2, x[j]);
            }
            let mut m = vars.minimise(obj).using(highs);
            let mut one = Expression::with_capacity(live.len());
            for v in &x {
                one.add_mul(1.0, *v);
            }
            m.add_constraint(one.eq(1.0));
            for (k, b) in p.inst.budgets.iter().enumerate() {
                let mut e = Expression::with_capacity(live.len());
                for (j, &c) in live.iter().enumerate() {
                    let (w, i, _) = cand[c];
                    let v = rows[w].budgets[k].at(p.depths[i] as f64) / b.limit;
                    if v != 0.0 {
                        e.add_mul(v, x[j]);
                    }
                }
                m.add_constraint(e.leq(1.0));
            }
            let left = opts.time_limit_s - t0.elapsed().as_secs_f64();
            if left <= 0.0 {
                // The model took the whole limit to build: report what earlier rounds found.
                if round == 0 {
                    out.status = Status::NoSolution;
                    out.note = Some("time limit reached while building the assignment model".into());
                } else {
                    out.note = Some(format!("time limit reached after {round} of {} designs", opts.top_k));
                }
                break;
            }
            let write = if round == 0 { opts.write_model.as_deref() } else { None };
            let Some(sol) = settle(run_highs(m, opts, left, write)?, round, &mut out, &mut nodes) else {
                break;
            };
            let c = live[argmax(&sol.cols, 0, x.len())];
            let (w, i, objective) = cand[c];
            excluded[c] = true;
            let bound = sol.bound;
            if !record(&mut out, opts, round, Pick { width: w, depth: i, objective }, bound, sol) {
                break;
            }
        }
        out.nodes = Some(nodes);
        Ok(out)
    }
}
