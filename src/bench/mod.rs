//! Benchmarking solver variants (`colaw bench`): run each solver on each instance N times
//! with one thread, record status, objective, bound, gap, nodes, median and minimum wall
//! time and peak memory, check every answer against the best known objective, summarise
//! (solved, wins, shifted geometric mean time, heuristic gaps) and draw a Dolan–Moré
//! performance profile.
//!
//! **Correctness alarms.** An exact solver (`enum`, `mip`, `mip-assign`) whose optimal
//! objective differs from the best verified objective any solver found by more than 10⁻⁶
//! relative, that calls an instance infeasible while a verified design exists, whose bound
//! lies above a verified objective, or whose answer changes between repeats, and any solver
//! whose design fails re-verification, raises an alarm: a bug, not a statistic.
//! [`check`] computes this from rows alone, so rows read back from a CSV (e.g. merged
//! shards, or a crafted row in a test) are judged the same way.
//!
//! **Robust instances.** On an instance with a `[robust]` section the objective is a risk
//! measure over coefficient samples (and feasibility may be a chance constraint), so only
//! `robust-enum`, `robust-mip` and `auto` (which picks one of them, as `colaw solve` does)
//! run there; their `objective` is the risk value, and the two exact robust variants must
//! agree like the others. The point solvers (`enum`, `mip`, `mip-assign`, `analytic`) would
//! answer another question, so they are recorded as `skipped` with the reason, and so are
//! `robust-*` on instances without `[robust]`.
//!
//! **Timing.** Wall time of `solve()` (problem setup, solve, verification), instance
//! loading excluded; analytic's comparison against the exact optimum is switched off (the
//! bench computes its gap itself). Each solve runs inside a one-thread rayon pool with
//! `threads = 1`, so variants are compared on one core; `jobs > 1` runs instances in
//! parallel.
//!
//! **Memory.** With `jobs = 1` the peak resident set of each (instance, solver) run: the
//! kernel's high-water mark (VmHWM in /proc/self/status) is reset before the run by writing
//! 5 to /proc/self/clear_refs, so it covers the process baseline and the loaded instance
//! plus everything the solve allocates. With `jobs > 1` (or where the reset is not
//! permitted) it is the process peak so far, marked `rss_scope = process`.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::plot::{lines, Series};
use crate::solve::{solve, SolveOptions, SolverKind, Status};
use crate::util::stats::median;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

mod check;
mod row;
mod run;
mod summary;
pub use check::check;
pub use row::{read_csv, write_csv, BenchRow};
pub use run::{default_max_candidates, is_exact, peak_rss_mb, reset_peak_rss, run_bench, run_one, BenchConfig};
pub use summary::{profile, summarize, summary_table, write_profile, SolverSummary};

/// Relative tolerance for agreement with the best known objective.
pub const AGREE_TOL: f64 = 1e-6;

/// Default shift of the shifted geometric mean, ms.
pub const DEFAULT_SHIFT_MS: f64 = 10.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, solver: &str, status: &str, obj: Option<f64>, t: f64) -> BenchRow {
        BenchRow {
            status: status.into(),
            objective: obj,
            candidates: Some(10),
            repeats: 1,
            time_median_ms: t,
            time_min_ms: t,
            peak_rss_mb: Some(10.0),
            rss_scope: "run".into(),
            ..BenchRow::new(path, path, solver)
        }
    }

    #[test]
    fn agreement_and_alarms() {
        let mut rows = vec![
            row("a", "enum", "optimal", Some(3.0), 1.0),
            row("a", "mip", "optimal", Some(3.0 + 1e-9), 2.0),
            row("a", "mip-assign", "optimal", Some(3.1), 5.0),
            row("a", "analytic", "feasible", Some(3.3), 0.5),
            row("b", "enum", "infeasible", None, 1.0),
            row("b", "mip", "infeasible", None, 1.0),
            row("b", "analytic", "no_solution", None, 0.1),
        ];
        check(&mut rows);
        assert!(!rows[0].alarm && rows[0].solved);
        assert!(!rows[1].alarm && rows[1].solved);
        assert!(rows[2].alarm && !rows[2].solved && rows[2].alarm_reason.contains("claims optimal"));
        assert!(!rows[3].alarm && !rows[3].solved);
        assert!((rows[3].rel_diff.unwrap() - 0.1).abs() < 1e-12);
        assert!(rows[4].solved && rows[5].solved && rows[6].solved);
        let s = summarize(&rows, &["enum".into(), "mip".into(), "mip-assign".into(), "analytic".into()], 10.0);
        assert_eq!((s[0].solved, s[0].wins), (2, 1));
        assert_eq!(s[2].alarms, 1);
        assert!((s[3].mean_gap.unwrap() - 0.1).abs() < 1e-12);
        // Shifted geometric mean of {1, 1} with shift 10 is 1.
        assert!((s[0].sgm_ms - 1.0).abs() < 1e-12);
    }

    #[test]
    fn infeasible_claim_and_bound_alarm() {
        let mut rows = vec![
            row("a", "enum", "infeasible", None, 1.0),
            row("a", "analytic", "feasible", Some(2.0), 1.0),
            row("a", "mip", "feasible", Some(2.0), 1.0),
        ];
        rows[2].bound = Some(2.5);
        rows[1].verified = true;
        check(&mut rows);
        assert!(rows[0].alarm && rows[0].alarm_reason.contains("claims infeasible"));
        assert!(rows[2].alarm && rows[2].alarm_reason.contains("bound"));
        assert!(rows[1].solved);
    }

    #[test]
    fn unverified_design_alarms() {
        let mut rows = vec![row("a", "analytic", "feasible", Some(2.0), 1.0)];
        rows[0].verified = false;
        check(&mut rows);
        assert!(rows[0].alarm && rows[0].alarm_reason.contains("re-verification"));
    }

    #[test]
    fn profile_steps() {
        let mut rows = vec![
            row("a", "enum", "optimal", Some(1.0), 1.0),
            row("a", "mip", "optimal", Some(1.0), 4.0),
            row("b", "enum", "optimal", Some(1.0), 2.0),
            row("b", "mip", "optimal", Some(1.0), 1.0),
        ];
        check(&mut rows);
        let (s, tau) = profile(&rows, &["enum".into(), "mip".into()]);
        assert_eq!(s[0].points[0], (1.0, 0.5));
        assert_eq!(s[0].points[1], (2.0, 1.0));
        assert_eq!(s[1].points[1], (4.0, 1.0));
        assert_eq!(tau, 6.0);
        assert!(s.iter().all(|x| x.step));
    }

    #[test]
    fn csv_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.csv");
        let mut rows = vec![row("a", "enum", "optimal", Some(1.5), 1.0), row("a", "analytic", "feasible", None, 0.2)];
        rows[0].nodes = Some(7);
        write_csv(&p, &rows).unwrap();
        assert_eq!(read_csv(&p).unwrap(), rows);
    }
}
