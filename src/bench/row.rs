//! One (instance, solver) result ([`BenchRow`]) and the BENCH.csv it is written to and read
//! back from.

use super::*;

/// One (instance, solver) result: a CSV row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchRow {
    /// Instance name.
    pub instance: String,
    /// Instance file.
    pub path: String,
    /// Solver variant.
    pub solver: String,
    /// Exact solver (its optimum must match the best known).
    pub exact: bool,
    /// optimal, feasible, infeasible, no_solution or error.
    pub status: String,
    /// Objective of the returned design (verified re-evaluation).
    pub objective: Option<f64>,
    /// Proven lower bound.
    pub bound: Option<f64>,
    /// Relative gap reported by the solver.
    pub gap: Option<f64>,
    /// Branch-and-bound nodes.
    pub nodes: Option<u64>,
    /// Candidates in the space.
    pub candidates: Option<u64>,
    /// Runs timed.
    pub repeats: usize,
    /// Median wall time, ms.
    pub time_median_ms: f64,
    /// Minimum wall time, ms.
    pub time_min_ms: f64,
    /// Peak resident set, MB (10⁶ bytes).
    pub peak_rss_mb: Option<f64>,
    /// `run` (reset before this solve) or `process` (process peak so far).
    pub rss_scope: String,
    /// Every returned design passed re-evaluation.
    pub verified: bool,
    /// Best verified objective over every solver of this instance.
    pub best_known: Option<f64>,
    /// (objective − best_known)/|best_known|.
    pub rel_diff: Option<f64>,
    /// Correct answer: the best known objective (exact solvers: proven optimal), or agreed
    /// infeasibility.
    pub solved: bool,
    /// Correctness alarm.
    pub alarm: bool,
    /// Why the alarm was raised.
    pub alarm_reason: String,
    /// The solver's message.
    pub message: String,
}

impl BenchRow {
    /// A row for (instance, path, solver) before any run: no status or numbers yet, not
    /// solved, no alarm.
    pub fn new(instance: &str, path: &str, solver: &str) -> BenchRow {
        BenchRow {
            instance: instance.to_string(),
            path: path.to_string(),
            solver: solver.to_string(),
            exact: super::is_exact(solver),
            status: String::new(),
            objective: None,
            bound: None,
            gap: None,
            nodes: None,
            candidates: None,
            repeats: 0,
            time_median_ms: f64::NAN,
            time_min_ms: f64::NAN,
            peak_rss_mb: None,
            rss_scope: "process".into(),
            verified: true,
            best_known: None,
            rel_diff: None,
            solved: false,
            alarm: false,
            alarm_reason: String::new(),
            message: String::new(),
        }
    }
}
/// Write rows as CSV.
pub fn write_csv(path: &Path, rows: &[BenchRow]) -> Result<()> {
    crate::util::fs::write_csv_atomic(path, |w| rows.iter().try_for_each(|r| w.serialize(r)))
}

/// Read rows written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<BenchRow>> {
    let parse = |e: csv::Error| Error::Parse {
        origin: crate::error::Origin::file(path.display().to_string()),
        message: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(parse)?;
    r.deserialize().map(|x| x.map_err(parse)).collect()
}
