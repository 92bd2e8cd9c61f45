//! HiGHS through good_lp, shared by every MIP variant (`mip`, `mip-assign`, `robust-mip`):
//! solver options, writing the model, reading status, bound and node count, the top-k round
//! bookkeeping, and the depth/width choice rows of the compact formulation.

use super::{Pick, RawSolution, SolveOptions, Status};
use crate::error::{Error, Result};
use ::highs::{HighsModelStatus, HighsSolutionStatus};
use good_lp::solvers::highs::HighsProblem;
use good_lp::{Expression, SolverModel, Variable};
use std::path::Path;

/// What a HiGHS run produced.
pub(crate) enum MipOutcome {
    /// A solution (optimal when `optimal`).
    Solved { cols: Vec<f64>, optimal: bool, bound: Option<f64>, nodes: Option<u64>, note: Option<String> },
    /// Proven infeasible.
    Infeasible,
    /// Stopped without a solution.
    Stopped(String),
}

/// A solution of one top-k round.
pub(crate) struct Solved {
    /// Column values.
    pub cols: Vec<f64>,
    /// Proven optimal (else the round stopped at a limit with an incumbent).
    pub optimal: bool,
    /// HiGHS's dual bound in the model's units.
    pub bound: Option<f64>,
    /// Why it stopped, when not optimal.
    pub note: Option<String>,
}

/// Read one top-k round's outcome: `Some` to record, `None` when the rounds end. The first
/// round's outcome is the answer's status; later rounds only end the list.
pub(crate) fn settle(outcome: MipOutcome, round: usize, out: &mut RawSolution, nodes: &mut u64) -> Option<Solved> {
    match outcome {
        MipOutcome::Infeasible => {
            if round == 0 {
                out.status = Status::Infeasible;
            }
            None
        }
        MipOutcome::Stopped(note) => {
            if round == 0 {
                out.status = Status::NoSolution;
            }
            out.note = Some(note);
            None
        }
        MipOutcome::Solved { cols, optimal, bound, nodes: n, note } => {
            *nodes += n.unwrap_or(0);
            Some(Solved { cols, optimal, bound, note })
        }
    }
}

/// Record a round's design; the first round also gives the bound (tightened to the optimum
/// when proven at gap 0). Returns whether more rounds may follow (a non-optimal round ends
/// the list with status Feasible).
pub(crate) fn record(
    out: &mut RawSolution,
    opts: &SolveOptions,
    round: usize,
    pick: Pick,
    bound: Option<f64>,
    sol: Solved,
) -> bool {
    let objective = pick.objective;
    out.picks.push(pick);
    if round == 0 {
        out.bound = bound;
        if sol.optimal && opts.gap == 0.0 {
            out.bound = Some(bound.map_or(objective, |b| b.min(objective)));
        }
    }
    if !sol.optimal {
        out.status = Status::Feasible;
        out.note = sol.note;
        return false;
    }
    true
}

/// Apply options, optionally write the model, solve, and read status, bound and nodes.
pub(crate) fn run_highs(
    pb: HighsProblem,
    opts: &SolveOptions,
    time_left: f64,
    write: Option<&Path>,
) -> Result<MipOutcome> {
    let mut m = pb.try_into_inner().map_err(|e| Error::Unsupported(format!("HiGHS: {e}")))?;
    fn set<V: ::highs::HighsOptionValue>(m: &mut ::highs::Model, k: &str, v: V) -> Result<()> {
        m.try_set_option(k, v).map_err(|e| Error::Unsupported(format!("HiGHS option {k}: {e:?}")))
    }
    m.make_quiet();
    // Our presolve already dropped infeasible widths and bounded every u_w; HiGHS's own
    // presolve (probing over the dense linking rows) costs seconds on these models for
    // nothing, so it is off unless COLAW_HIGHS_OPTS turns it back on.
    set(&mut m, "presolve", "off")?;
    if std::env::var_os("COLAW_HIGHS_LOG").is_some() {
        set(&mut m, "output_flag", true)?;
        set(&mut m, "log_to_console", true)?;
    }
    if let Ok(extra) = std::env::var("COLAW_HIGHS_OPTS") {
        for kv in extra.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let r = if let Ok(b) = v.parse::<bool>() {
                m.try_set_option(k, b)
            } else if let Ok(i) = v.parse::<i32>() {
                m.try_set_option(k, i)
            } else if let Ok(f) = v.parse::<f64>() {
                m.try_set_option(k, f)
            } else {
                m.try_set_option(k, v)
            };
            r.map_err(|e| Error::Unsupported(format!("COLAW_HIGHS_OPTS {k}={v}: {e:?}")))?;
        }
    }
    set(&mut m, "time_limit", time_left.max(1e-3))?;
    set(&mut m, "mip_rel_gap", opts.gap)?;
    set(&mut m, "mip_abs_gap", if opts.gap > 0.0 { 1e-6 } else { 1e-9 })?;
    set(&mut m, "random_seed", opts.seed as i32)?;
    if opts.threads > 0 {
        set(&mut m, "threads", opts.threads as i32)?;
    }
    if let Some(p) = write {
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "lp" | "mps") {
            return Err(Error::Unsupported(format!(
                "--write-model {}: the file name must end in .lp or .mps",
                p.display()
            )));
        }
        let c = std::ffi::CString::new(p.display().to_string())
            .map_err(|_| Error::Unsupported(format!("--write-model {}: bad file name", p.display())))?;
        // SAFETY: live HiGHS instance; NUL-terminated path that outlives the call.
        let status = unsafe { highs_sys::Highs_writeModel(m.as_mut_ptr(), c.as_ptr()) };
        if status == highs_sys::STATUS_ERROR {
            return Err(Error::Unsupported(format!("HiGHS could not write the model to {}", p.display())));
        }
    }
    let solved = m.try_solve().map_err(|e| Error::Unsupported(format!("HiGHS failed: {e:?}")))?;
    if let Some(p) = write {
        if !p.is_file() {
            return Err(Error::Unsupported(format!("HiGHS did not write the model to {}", p.display())));
        }
    }
    let status = solved.status();
    let bound = solved.double_info_value(c"mip_dual_bound").ok().filter(|b| b.is_finite());
    let nodes = node_count(&solved);
    // Read the status as an integer: the `highs` crate panics on HiGHS's "none" (-1).
    let has_sol = solved.int_info_value(c"primal_solution_status").ok() == Some(HighsSolutionStatus::Feasible as i64);
    Ok(match status {
        HighsModelStatus::Infeasible => MipOutcome::Infeasible,
        HighsModelStatus::Optimal if has_sol => MipOutcome::Solved {
            cols: solved.get_solution().columns().to_vec(),
            optimal: true,
            bound,
            nodes,
            note: None,
        },
        s if has_sol => MipOutcome::Solved {
            cols: solved.get_solution().columns().to_vec(),
            optimal: false,
            bound,
            nodes,
            note: Some(format!("HiGHS stopped: {s:?}")),
        },
        s => MipOutcome::Stopped(format!("HiGHS stopped without a solution: {s:?}")),
    })
}

/// Branch-and-bound nodes (an int64 info value, which the `highs` crate cannot read).
fn node_count(solved: &::highs::SolvedModel) -> Option<u64> {
    let mut v: i64 = -1;
    // SAFETY: the pointer is the live HiGHS instance owned by `solved`; the key is a
    // NUL-terminated int64 info name and `v` outlives the call.
    let status = unsafe {
        highs_sys::Highs_getInt64InfoValue(solved.as_ptr() as *mut std::ffi::c_void, c"mip_node_count".as_ptr(), &mut v)
    };
    (status == highs_sys::STATUS_OK && v >= 0).then_some(v as u64)
}

/// One depth and one width configuration, with the exact linearisation u_j = L·z_j:
/// Σ y = 1, Σ z = 1, Σ u = Σ_i depth_i·y_i, u_j ≤ depth_{lmax_j}·z_j; plus the valid
/// inequality that depth i is chosen only with a width whose largest feasible depth
/// reaches it, y_i ≤ Σ_{j: lmax_j ≥ i} z_j, which tightens the LP relaxation.
pub(crate) fn choice_constraints(
    m: &mut HighsProblem,
    y: &[Variable],
    z: &[Variable],
    u: &[Variable],
    depths: &[u32],
    lmax: &[usize],
) {
    let sum = |vs: &[Variable]| {
        vs.iter().fold(Expression::with_capacity(vs.len()), |mut e, v| {
            e.add_mul(1.0, *v);
            e
        })
    };
    m.add_constraint(sum(y).eq(1.0));
    m.add_constraint(sum(z).eq(1.0));
    let mut link = sum(u);
    for (i, &yi) in y.iter().enumerate() {
        link.add_mul(-(depths[i] as f64), yi);
    }
    m.add_constraint(link.eq(0.0));
    for (j, (&uj, &zj)) in u.iter().zip(z).enumerate() {
        let mut e = Expression::with_capacity(2);
        e.add_mul(1.0, uj);
        e.add_mul(-(depths[lmax[j]] as f64), zj);
        m.add_constraint(e.leq(0.0));
    }
    for (i, &yi) in y.iter().enumerate() {
        let mut e = Expression::with_capacity(z.len() + 1);
        e.add_mul(1.0, yi);
        for (j, &zj) in z.iter().enumerate() {
            if lmax[j] >= i {
                e.add_mul(-1.0, zj);
            }
        }
        m.add_constraint(e.leq(0.0));
    }
}

/// Index of the largest of `len` columns starting at `start` (variables are numbered in
/// the order they were added: y, then z, then u).
pub(crate) fn argmax(cols: &[f64], start: usize, len: usize) -> usize {
    let mut best = 0;
    for i in 0..len {
        if cols[start + i] > cols[start + best] {
            best = i;
        }
    }
    best
}
