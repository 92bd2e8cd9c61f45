//! `robust-mip`: the compact MIP with per-sample objective rows (CVaR, Rockafellar–Uryasev)
//! and per-sample budget rows switched by binaries (chance constraint, exact big-M).

use super::*;

/// Exact robust MIP (separable objectives): the compact formulation with per-sample
/// objective rows (CVaR) and per-sample budget rows (chance constraint).
pub(super) fn robust_mip_run(problem: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
    let t0 = Instant::now();
    let p = RobustModel::new(problem)?;
    let (inst, spec) = (p.inst, p.spec);
    let depths = &inst.space.depths;
    let nw = inst.space.widths.len();
    let lw = inst.loss_weight;
    // Largest depth any admissible design of each width may take.
    let lmax: Vec<Option<usize>> = (0..nw)
        .map(|w| {
            if p.sample_rows.is_empty() {
                p.point_rows[w].lmax
            } else {
                p.sample_rows.iter().filter_map(|r| r[w].lmax).max()
            }
        })
        .collect();
    let keep: Vec<usize> = (0..nw).filter(|&w| lmax[w].is_some()).collect();
    if keep.is_empty() || (!p.sample_rows.is_empty() && p.need > p.sample_rows.len()) {
        return p.finish(None);
    }
    let imax = keep.iter().filter_map(|&w| lmax[w]).max().unwrap_or(0);
    let ds = &depths[..=imax];
    // Per-sample law parts.
    let fs: Vec<Vec<f64>> = p.laws.iter().map(|l| ds.iter().map(|&d| lw * l.depth_part(d as f64)).collect()).collect();
    let gs: Vec<Vec<f64>> = p
        .laws
        .iter()
        .map(|l| {
            keep.iter()
                .map(|&w| lw * l.width_part(&LawInputs::from_arch(&inst.space.widths[w].arch(1), inst.tokens)))
                .collect()
        })
        .collect();
    // A depth or width where some sample's law part is not finite gives every design using
    // it an unknown risk: exclude it (as robust-enum does) and keep NaN out of HiGHS.
    let bad_depth: Vec<bool> = (0..ds.len()).map(|i| fs.iter().any(|f| !f[i].is_finite())).collect();
    let bad_width: Vec<bool> = (0..keep.len()).map(|j| gs.iter().any(|g| !g[j].is_finite())).collect();
    let clean = |v: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        v.into_iter().map(|r| r.into_iter().map(|x| if x.is_finite() { x } else { 0.0 }).collect()).collect()
    };
    let (fs, gs) = (clean(fs), clean(gs));
    let s_n = p.laws.len() as f64;
    let mut vars = ProblemVariables::new();
    let y = vars.add_vector(variable().binary(), ds.len());
    let z = vars.add_vector(variable().binary(), keep.len());
    let u: Vec<Variable> =
        keep.iter().map(|&w| vars.add(variable().min(0.0).max(depths[lmax[w].unwrap_or(0)] as f64))).collect();
    // obj_s as an expression in (y, z, u).
    let obj_s = |s: usize| {
        let mut e = Expression::with_capacity(ds.len() + 2 * keep.len());
        for (i, &yi) in y.iter().enumerate() {
            e.add_mul(fs[s][i] + p.term_f[i], yi);
        }
        for (j, &w) in keep.iter().enumerate() {
            e.add_mul(gs[s][j] + p.term_g[w], z[j]);
            if p.term_h[w] != 0.0 {
                e.add_mul(p.term_h[w], u[j]);
            }
        }
        e
    };
    let (objective, cvar_vars) = match spec.risk {
        Risk::Mean => {
            let mut e = Expression::with_capacity(ds.len() + 2 * keep.len());
            for (i, &yi) in y.iter().enumerate() {
                e.add_mul(fs.iter().map(|f| f[i]).sum::<f64>() / s_n + p.term_f[i], yi);
            }
            for (j, &w) in keep.iter().enumerate() {
                e.add_mul(gs.iter().map(|g| g[j]).sum::<f64>() / s_n + p.term_g[w], z[j]);
                if p.term_h[w] != 0.0 {
                    e.add_mul(p.term_h[w], u[j]);
                }
            }
            (e, None)
        }
        Risk::Cvar { alpha } => {
            let t = vars.add(variable());
            let es = vars.add_vector(variable().min(0.0), p.laws.len());
            let mut e = Expression::with_capacity(1 + es.len());
            e.add_mul(1.0, t);
            for &v in &es {
                e.add_mul(1.0 / (alpha * s_n), v);
            }
            (e, Some((t, es)))
        }
    };
    let b: Vec<Variable> =
        if p.sample_rows.is_empty() { Vec::new() } else { vars.add_vector(variable().binary(), p.sample_rows.len()) };
    let mut m = vars.minimise(objective).using(highs);
    let lmax_kept: Vec<usize> = keep.iter().map(|&w| lmax[w].unwrap_or(0)).collect();
    choice_constraints(&mut m, &y, &z, &u, ds, &lmax_kept);
    for (i, _) in bad_depth.iter().enumerate().filter(|(_, b)| **b) {
        m.add_constraint(Expression::from(y[i]).leq(0.0));
    }
    for (j, _) in bad_width.iter().enumerate().filter(|(_, b)| **b) {
        m.add_constraint(Expression::from(z[j]).leq(0.0));
    }
    if let Some((t, es)) = &cvar_vars {
        for (s, &e_s) in es.iter().enumerate() {
            // e_s ≥ obj_s − t.
            let mut e = obj_s(s);
            e.add_mul(-1.0, *t);
            e.add_mul(-1.0, e_s);
            m.add_constraint(e.leq(0.0));
        }
    }
    // Budgets: point rows, or per latency sample switched by b_j.
    let budget_row = |rows: &[WidthRow], k: usize, limit: f64| {
        let mut e = Expression::with_capacity(2 * keep.len());
        let mut worst: f64 = 0.0;
        for (j, &w) in keep.iter().enumerate() {
            let lin = rows[w].budgets[k];
            e.add_mul(lin.fixed / limit, z[j]);
            e.add_mul(lin.per_layer / limit, u[j]);
            worst = worst.max((lin.fixed + lin.per_layer * depths[lmax[w].unwrap_or(0)] as f64) / limit);
        }
        (e, (worst - 1.0).max(0.0))
    };
    if p.sample_rows.is_empty() {
        for (k, bd) in inst.budgets.iter().enumerate() {
            m.add_constraint(budget_row(&p.point_rows, k, bd.limit).0.leq(1.0));
        }
    } else {
        for (jx, rows) in p.sample_rows.iter().enumerate() {
            for (k, bd) in inst.budgets.iter().enumerate() {
                let (mut e, big_m) = budget_row(rows, k, bd.limit);
                if big_m > 0.0 {
                    // row ≤ 1 + M(1 − b_j)  ⇔  row + M·b_j ≤ 1 + M.
                    e.add_mul(big_m, b[jx]);
                    m.add_constraint(e.leq(1.0 + big_m));
                }
            }
        }
        let mut e = Expression::with_capacity(b.len());
        for &v in &b {
            e.add_mul(1.0, v);
        }
        m.add_constraint(e.geq(p.need as f64));
    }
    let left = opts.time_limit_s - t0.elapsed().as_secs_f64();
    let outcome = run_highs(m, opts, left, opts.write_model.as_deref())?;
    let (pick, optimal, bound, nodes) = match outcome {
        MipOutcome::Infeasible => (None, true, None, None),
        MipOutcome::Stopped(_) => (None, false, None, None),
        MipOutcome::Solved { cols, optimal, bound, nodes, .. } => {
            let i = argmax(&cols, 0, y.len());
            let w = keep[argmax(&cols, y.len(), z.len())];
            (Some((w, i)), optimal, bound, nodes)
        }
    };
    let mut sol = p.finish(pick)?;
    sol.nodes = nodes;
    if let Some((w, i)) = pick {
        if !p.admissible(w, i) {
            return Err(Error::Unsupported(format!(
                "BUG: robust-mip returned an inadmissible design (width {w}, depth {i})"
            )));
        }
        if !optimal {
            sol.status = Status::Feasible;
        }
        let value = sol.picks.first().map(|p| p.objective);
        sol.bound = bound.or(if optimal { value } else { None });
    } else if !optimal {
        sol.status = Status::NoSolution;
    }
    Ok(sol)
}
