//! `enum`: exhaustive and exact; the reference every other variant is checked against.
//!
//! Per width configuration the costs are computed once (linear in depth), the largest
//! feasible depth is found by binary search, and only feasible depths are scored. Widths are
//! pruned with a law-only lower bound: the widths with the smallest bounds are scored first
//! to get an incumbent, then every width whose bound exceeds the k-th best objective is
//! skipped without touching the cost model. For a top-1 search, widths dominated by the
//! same architecture with the grid's smallest storage types are skipped too. Parallel over widths with rayon (`threads`).

use super::{Pick, Problem, RawSolution, SolveOptions, Solver, Status, Structure};
use crate::cost::WidthCosts;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Exhaustive enumeration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Enumerate;

/// The k best candidates seen, sorted by (objective, width, depth).
#[derive(Debug, Clone)]
struct TopK {
    k: usize,
    v: Vec<Pick>,
}

impl TopK {
    fn new(k: usize) -> Self {
        // Grows with what is offered, not with k (a caller may pass a huge k).
        TopK { k, v: Vec::with_capacity(k.min(1024) + 1) }
    }
    #[inline]
    fn threshold(&self) -> f64 {
        if self.v.len() < self.k {
            f64::INFINITY
        } else {
            self.v[self.k - 1].objective
        }
    }
    #[inline]
    fn key(p: &Pick) -> (f64, usize, usize) {
        (p.objective, p.width, p.depth)
    }
    /// Offer a candidate; true when it entered.
    #[inline]
    fn offer(&mut self, p: Pick) -> bool {
        if p.objective > self.threshold() || p.objective.is_nan() {
            return false;
        }
        let kp = Self::key(&p);
        let pos = self.v.partition_point(|q| Self::key(q) < kp);
        if pos >= self.k {
            return false;
        }
        self.v.insert(pos, p);
        self.v.truncate(self.k);
        true
    }
    fn merge(mut self, other: TopK) -> TopK {
        for p in other.v {
            self.offer(p);
        }
        self
    }
}

fn score_width(p: &Problem, w: usize, buf: &mut Vec<WidthCosts>, top: &mut TopK) {
    let row = p.row(w, false, buf);
    let Some(imax) = row.lmax else { return };
    match p.structure {
        Structure::Separable => {
            for i in 0..=imax {
                let obj = p.depth_obj[i] + row.g + p.depths[i] as f64 * row.h;
                if obj <= top.threshold() {
                    top.offer(Pick { width: w, depth: i, objective: obj });
                }
            }
        }
        Structure::Monotone(_) => {
            // Loss falls with depth: walk down from the deepest feasible depth.
            for i in (0..=imax).rev() {
                let obj = p.objective(w, &row, buf, i);
                if !top.offer(Pick { width: w, depth: i, objective: obj }) {
                    break;
                }
            }
        }
        Structure::General => {
            // One batch per width: terms computed outside Rust pay their call once.
            let depths: Vec<usize> = (0..=imax).collect();
            let mut objs = Vec::with_capacity(depths.len());
            p.objectives(w, &row, buf, &depths, &mut objs);
            for (i, obj) in objs.into_iter().enumerate() {
                top.offer(Pick { width: w, depth: i, objective: obj });
            }
        }
    }
}

impl Solver for Enumerate {
    fn name(&self) -> &'static str {
        "enum"
    }

    fn robust_twin(&self) -> Option<&'static str> {
        Some("robust-enum")
    }

    fn solve(&self, p: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
        let threads = if opts.threads == 0 { rayon::current_num_threads() } else { opts.threads as usize };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Unsupported(format!("cannot start {threads} threads: {e}")))?;
        pool.install(|| run(p, opts))
    }
}

fn run(p: &Problem, opts: &SolveOptions) -> Result<RawSolution> {
    let k = opts.top_k.max(1);
    let n = p.widths();
    let deadline = Instant::now() + Duration::from_secs_f64(opts.time_limit_s.min(1e9));
    // Law-only lower bounds, when the structure gives them.
    let lb: Option<Vec<f64>> = if p.cheap_lower_bound(0) > f64::NEG_INFINITY {
        let skip_dominated = k == 1;
        Some(
            (0..n)
                .into_par_iter()
                .with_min_len(4096)
                .map(|w| if skip_dominated && p.dominated(w) { f64::INFINITY } else { p.cheap_lower_bound(w) })
                .collect(),
        )
    } else {
        None
    };
    // Incumbent from the most promising widths.
    let mut seed = TopK::new(k);
    let mut seeded = vec![false; if lb.is_some() { n } else { 0 }];
    if let Some(lb) = &lb {
        let m = k.saturating_mul(4).max(64).min(n);
        let mut idx: Vec<usize> = (0..n).collect();
        if m < n {
            idx.select_nth_unstable_by(m, |a, b| lb[*a].total_cmp(&lb[*b]).then(a.cmp(b)));
        }
        idx.truncate(m);
        idx.sort_unstable_by(|a, b| lb[*a].total_cmp(&lb[*b]).then(a.cmp(b)));
        let mut buf = Vec::new();
        for &w in &idx {
            if lb[w] > seed.threshold() {
                break;
            }
            score_width(p, w, &mut buf, &mut seed);
            seeded[w] = true;
        }
    }
    let seed_threshold = seed.threshold();
    let chunk = 2048usize;
    let timed_out = std::sync::atomic::AtomicBool::new(false);
    let top = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut t = TopK::new(k);
            // Start from the incumbent's threshold (safe: the global k-th best is no worse).
            let mut buf = Vec::new();
            if timed_out.load(std::sync::atomic::Ordering::Relaxed) || Instant::now() > deadline {
                timed_out.store(true, std::sync::atomic::Ordering::Relaxed);
                return t;
            }
            for w in c * chunk..((c + 1) * chunk).min(n) {
                if let Some(lb) = &lb {
                    if seeded[w] || lb[w] > seed_threshold.min(t.threshold()) {
                        continue;
                    }
                }
                score_width(p, w, &mut buf, &mut t);
            }
            t
        })
        .reduce(|| TopK::new(k), TopK::merge)
        .merge(seed);
    let stopped = timed_out.load(std::sync::atomic::Ordering::Relaxed);
    let mut out = RawSolution::empty(match (top.v.is_empty(), stopped) {
        (true, false) => Status::Infeasible,
        (true, true) => Status::NoSolution,
        (false, false) => Status::Optimal,
        (false, true) => Status::Feasible,
    });
    if stopped {
        out.note = Some(format!("time limit {} s reached before every width was scored", opts.time_limit_s));
    }
    if !stopped {
        out.bound = top.v.first().map(|b| b.objective);
    }
    out.picks = top.v;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_keeps_sorted_best() {
        let mut t = TopK::new(2);
        for (o, w) in [(3.0, 0), (1.0, 1), (2.0, 2), (0.5, 3)] {
            t.offer(Pick { width: w, depth: 0, objective: o });
        }
        assert_eq!(t.v.iter().map(|p| p.width).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(t.threshold(), 1.0);
    }
}
