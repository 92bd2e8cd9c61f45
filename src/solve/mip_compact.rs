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

use super::{Pick, Problem, RawSolution, SolveOptions, Solver, Status, Structure, WidthRow};
use crate::error::{Error, Result};
use crate::law::{LawInputs, LossLaw};
use good_lp::solvers::highs::{highs, HighsProblem};
use good_lp::{variable, Expression, ProblemVariables, SolverModel, Variable};
use highs::{HighsModelStatus, HighsSolutionStatus};
use std::path::Path;
use std::time::Instant;

/// The compact MIP.
#[derive(Debug, Clone, Copy, Default)]
pub struct MipCompact;

/// What a HiGHS run produced.
pub(super) enum MipOutcome {
    /// A solution (optimal when `optimal`).
    Solved { cols: Vec<f64>, optimal: bool, bound: Option<f64>, nodes: Option<u64>, note: Option<String> },
    /// Proven infeasible.
    Infeasible,
    /// Stopped without a solution.
    Stopped(String),
}

/// A solution of one top-k round.
pub(super) struct Solved {
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
pub(super) fn settle(outcome: MipOutcome, round: usize, out: &mut RawSolution, nodes: &mut u64) -> Option<Solved> {
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
pub(super) fn record(
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
pub(super) fn run_highs(
    pb: HighsProblem,
    opts: &SolveOptions,
    time_left: f64,
    write: Option<&Path>,
) -> Result<MipOutcome> {
    let mut m = pb.try_into_inner().map_err(|e| Error::Unsupported(format!("HiGHS: {e}")))?;
    fn set<V: highs::HighsOptionValue>(m: &mut highs::Model, k: &str, v: V) -> Result<()> {
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
fn node_count(solved: &highs::SolvedModel) -> Option<u64> {
    let mut v: i64 = -1;
    // SAFETY: the pointer is the live HiGHS instance owned by `solved`; the key is a
    // NUL-terminated int64 info name and `v` outlives the call.
    let status = unsafe {
        highs_sys::Highs_getInt64InfoValue(solved.as_ptr() as *mut std::ffi::c_void, c"mip_node_count".as_ptr(), &mut v)
    };
    (status == highs_sys::STATUS_OK && v >= 0).then_some(v as u64)
}

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

/// One depth and one width configuration, with the exact linearisation u_j = L·z_j:
/// Σ y = 1, Σ z = 1, Σ u = Σ_i depth_i·y_i, u_j ≤ depth_{lmax_j}·z_j; plus the valid
/// inequality that depth i is chosen only with a width whose largest feasible depth
/// reaches it, y_i ≤ Σ_{j: lmax_j ≥ i} z_j, which tightens the LP relaxation.
pub(super) fn choice_constraints(
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
pub(super) fn argmax(cols: &[f64], start: usize, len: usize) -> usize {
    let mut best = 0;
    for i in 0..len {
        if cols[start + i] > cols[start + best] {
            best = i;
        }
    }
    best
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
