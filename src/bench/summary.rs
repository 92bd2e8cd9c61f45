//! Per-solver summaries (shifted geometric means, solved counts) and performance profiles.

use super::*;

/// Per-solver summary.
#[derive(Debug, Clone, Serialize)]
pub struct SolverSummary {
    /// Solver.
    pub solver: String,
    /// Exact solver.
    pub exact: bool,
    /// Instances run.
    pub instances: usize,
    /// Correct answers.
    pub solved: usize,
    /// Fastest among the solvers that solved the instance (ties all win).
    pub wins: usize,
    /// Shifted geometric mean of the median time over every instance run, ms.
    pub sgm_ms: f64,
    /// Median of the median times, ms.
    pub median_ms: f64,
    /// Largest median time, ms.
    pub max_ms: f64,
    /// Largest peak RSS, MB.
    pub max_rss_mb: Option<f64>,
    /// Heuristics: mean relative gap to the best known objective (instances with a design).
    pub mean_gap: Option<f64>,
    /// Heuristics: largest relative gap.
    pub max_gap: Option<f64>,
    /// Instances with a known optimum where no design came back.
    pub no_design: usize,
    /// Status `error` (e.g. a formulation that refuses the size).
    pub errors: usize,
    /// Not run: the space exceeds the solver's `--max-candidates`.
    pub skipped: usize,
    /// Correctness alarms.
    pub alarms: usize,
}

/// Summaries in the order of `solvers`; the shifted geometric mean is
/// exp(mean ln(t + shift)) − shift over the median times of every instance (unsolved ones
/// count with the time they took).
pub fn summarize(rows: &[BenchRow], solvers: &[String], shift_ms: f64) -> Vec<SolverSummary> {
    let mut fastest: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.solved) {
        let e = fastest.entry(r.path.as_str()).or_insert(f64::INFINITY);
        *e = e.min(r.time_median_ms);
    }
    solvers
        .iter()
        .map(|s| {
            let mine: Vec<&BenchRow> = rows.iter().filter(|r| &r.solver == s).collect();
            let times: Vec<f64> = mine.iter().map(|r| r.time_median_ms).filter(|t| t.is_finite()).collect();
            let sgm = if times.is_empty() {
                f64::NAN
            } else {
                (times.iter().map(|t| (t + shift_ms).ln()).sum::<f64>() / times.len() as f64).exp() - shift_ms
            };
            let gaps: Vec<f64> = mine.iter().filter_map(|r| r.rel_diff).collect();
            let exact = is_exact(s);
            SolverSummary {
                solver: s.clone(),
                exact,
                instances: mine.len(),
                solved: mine.iter().filter(|r| r.solved).count(),
                wins: mine
                    .iter()
                    .filter(|r| r.solved && fastest.get(r.path.as_str()) == Some(&r.time_median_ms))
                    .count(),
                sgm_ms: sgm,
                median_ms: median(&mut times.clone()),
                max_ms: times.iter().copied().fold(f64::NAN, f64::max),
                max_rss_mb: mine.iter().filter_map(|r| r.peak_rss_mb).reduce(f64::max),
                mean_gap: (!exact && !gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64),
                max_gap: (!exact && !gaps.is_empty()).then(|| gaps.iter().copied().fold(f64::MIN, f64::max)),
                no_design: mine.iter().filter(|r| r.best_known.is_some() && r.objective.is_none()).count(),
                errors: mine.iter().filter(|r| r.status == "error").count(),
                skipped: mine.iter().filter(|r| r.status == "skipped").count(),
                alarms: mine.iter().filter(|r| r.alarm).count(),
            }
        })
        .collect()
}

/// Markdown table of summaries.
pub fn summary_table(sums: &[SolverSummary], shift_ms: f64) -> String {
    let f = |x: f64| if x.is_finite() { format!("{x:.2}") } else { "–".into() };
    let mut s = format!(
        "| solver | kind | instances | solved | wins | sgm time (ms, shift {shift_ms} ms) | median (ms) | max (ms) | \
         peak RSS (MB) | mean gap | max gap | errors | skipped | ALARMS |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for x in sums {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            x.solver,
            if x.exact { "exact" } else { "heuristic" },
            x.instances,
            x.solved,
            x.wins,
            f(x.sgm_ms),
            f(x.median_ms),
            f(x.max_ms),
            x.max_rss_mb.map_or("–".into(), |m| format!("{m:.1}")),
            x.mean_gap.map_or("–".into(), |g| format!("{:.3} %", g * 100.0)),
            x.max_gap.map_or("–".into(), |g| format!("{:.3} %", g * 100.0)),
            x.errors,
            x.skipped,
            x.alarms
        );
    }
    s
}

/// Dolan–Moré performance profile: per solver, the fraction of instances solved within τ
/// times the fastest solver's time, as step points (τ ≥ 1). Instances nobody solved count
/// in the denominator. Times are floored at 1 µs.
pub fn profile(rows: &[BenchRow], solvers: &[String]) -> (Vec<Series>, f64) {
    let mut fastest: BTreeMap<&str, f64> = BTreeMap::new();
    let mut all: BTreeMap<&str, ()> = BTreeMap::new();
    for r in rows {
        all.insert(r.path.as_str(), ());
        if r.solved {
            let e = fastest.entry(r.path.as_str()).or_insert(f64::INFINITY);
            *e = e.min(r.time_median_ms.max(1e-3));
        }
    }
    let n = all.len().max(1) as f64;
    let ratios: Vec<Vec<f64>> = solvers
        .iter()
        .map(|s| {
            let mut v: Vec<f64> = rows
                .iter()
                .filter(|r| &r.solver == s && r.solved)
                .map(|r| r.time_median_ms.max(1e-3) / fastest[r.path.as_str()])
                .collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let tau_max = ratios.iter().flatten().copied().fold(1.0, f64::max) * 1.5;
    let series = solvers
        .iter()
        .zip(&ratios)
        .map(|(s, v)| {
            let mut pts = vec![(1.0, v.iter().filter(|&&r| r <= 1.0).count() as f64 / n)];
            for (k, &r) in v.iter().enumerate() {
                if r > 1.0 {
                    pts.push((r, (k + 1) as f64 / n));
                }
            }
            let last = pts.last().map_or(0.0, |p| p.1);
            pts.push((tau_max, last));
            Series { name: s.clone(), points: pts, band: None, band_label: None, step: true }
        })
        .collect();
    (series, tau_max)
}

/// Write the performance profile SVG.
pub fn write_profile(path: &Path, rows: &[BenchRow], solvers: &[String]) -> Result<()> {
    let (series, _) = profile(rows, solvers);
    let n = rows.iter().map(|r| r.path.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    lines(
        path,
        &format!("Performance profile ({n} instances)"),
        "τ: time / fastest solver's time (log)",
        "fraction of instances solved within τ",
        &series,
        true,
    )
}
