//! Resource guards: the largest sizes, counts and durations colaw accepts from a user, and the
//! checks that apply them before anything is allocated or spawned.
//!
//! Every number a user types that sizes work (a grid, a top-k, a sample count, a thread count, a
//! time limit) passes one of these checks first, so memory grows with the work actually done and
//! a typo gives one error naming the field, never an allocation failure or a panic. The limits
//! and the peak memory of each command are listed in `docs/reliability.md` ("Resource guards").

use crate::error::{Error, Origin, Result};
use std::time::Duration;

/// Default largest product of a space's grid sizes (layers × hidden × heads × … × tied), checked
/// before the space is enumerated. Raise it per instance with `[solver] max_candidates` or per
/// run with `--max-candidates`.
pub const DEFAULT_MAX_CANDIDATES: u64 = 1_000_000_000;

/// Most values one grid (`{ from, to, step }` or a list) may hold.
pub const MAX_GRID_VALUES: u64 = 10_000_000;

/// Most designs `--top-k` / `[solver] top_k` may ask for (each is verified and printed in full);
/// below it, k is capped at the space's size.
pub const MAX_TOP_K: usize = 10_000;

/// Most bootstrap resamples, posterior samples or coefficient samples a run may draw.
pub const MAX_SAMPLES: usize = 1_000_000;

/// Most threads or parallel jobs (`--threads`, `--jobs`).
pub const MAX_THREADS: usize = 1024;

/// Longest time limit in seconds (`--time-limit`, `--timeout-s`, `[solver] time_limit_s`):
/// 10⁷ s, about 116 days; anything longer is a typo, and `Duration` cannot hold 1e300 s.
pub const MAX_SECONDS: f64 = 1e7;

/// Most steps per axis of `region --budget-grid` (the map has N² cells, each scanning the designs).
pub const MAX_BUDGET_GRID: usize = 1000;

/// Most layers of a design whose tensors are listed one by one (an engine's weight format
/// assigns an encoding per tensor, ~12 per layer); far above any real model.
pub const MAX_LISTED_LAYERS: u32 = 100_000;

/// Most fit starts, rounds, folds, repeats, generated instances or grid points a flag may ask for.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// Check a user-given count: `min ≤ value ≤ max`, the error naming `field` (a flag such as
/// `--bootstrap` or a file key such as `solver.top_k`).
pub fn count(origin: &Origin, field: &str, value: usize, min: usize, max: usize) -> Result<usize> {
    if value < min || value > max {
        return Err(Error::invalid(origin, field, value, format!("must be an integer in [{min}, {max}]")));
    }
    Ok(value)
}

/// A count given on the command line, checked as [`count`].
pub fn flag_count(flag: &str, value: usize, min: usize, max: usize) -> Result<usize> {
    count(&Origin::default(), flag, value, min, max)
}

/// A user-given duration in seconds: finite, > 0 and at most [`MAX_SECONDS`].
pub fn seconds(origin: &Origin, field: &str, value: f64) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value <= MAX_SECONDS) {
        return Err(Error::invalid(
            origin,
            field,
            // 1e300, not its 301 digits.
            if value.is_finite() && value.abs() >= 1e9 { format!("{value:e}") } else { format!("{value}") },
            format!("must be a number of seconds in (0, {MAX_SECONDS:e}]"),
        ));
    }
    // Cannot fail after the check above (finite, positive, far below u64::MAX seconds).
    Duration::try_from_secs_f64(value).map_err(|e| Error::invalid(origin, field, value, e.to_string()))
}

/// A duration flag (`--timeout-s`), checked as [`seconds`].
pub fn flag_seconds(flag: &str, value: f64) -> Result<Duration> {
    seconds(&Origin::default(), flag, value)
}

/// A thread or job count: 1..=[`MAX_THREADS`], or 0 where `zero_means_all` (every core).
pub fn threads(origin: &Origin, field: &str, value: usize, zero_means_all: bool) -> Result<usize> {
    count(origin, field, value, usize::from(!zero_means_all), MAX_THREADS)
}

/// The number of values of `{ from, to, step }` (both ends inclusive), in checked arithmetic:
/// None when `step ≤ 0` or `to < from` (the caller names those), else `(to − from) / step + 1`
/// computed in 128 bits so no i64 range overflows.
pub fn range_len(from: i64, to: i64, step: i64) -> Option<u64> {
    if step <= 0 || to < from {
        return None;
    }
    let n = (to as i128 - from as i128) / step as i128 + 1;
    Some(u64::try_from(n).unwrap_or(u64::MAX))
}

/// The product of grid sizes, saturating at `u64::MAX` (only compared with a limit).
pub fn product(sizes: &[u64]) -> u64 {
    sizes.iter().fold(1u64, |acc, &n| acc.saturating_mul(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_len_never_overflows() {
        assert_eq!(range_len(4, 32, 4), Some(8));
        assert_eq!(range_len(9223372036854775800, i64::MAX, 1), Some(8));
        assert_eq!(range_len(i64::MIN, i64::MAX, 1), Some(u64::MAX));
        assert_eq!(range_len(i64::MIN, i64::MAX, i64::MAX), Some(3));
        assert_eq!(range_len(5, 4, 1), None);
        assert_eq!(range_len(1, 4, 0), None);
    }

    #[test]
    fn seconds_refuses_what_duration_cannot_hold() {
        let o = Origin::default();
        assert_eq!(seconds(&o, "--t", 1.5).unwrap(), Duration::from_millis(1500));
        for bad in [-1.0, 0.0, f64::NAN, f64::INFINITY, 1e300, MAX_SECONDS * 1.01] {
            let e = seconds(&o, "--timeout-s", bad).unwrap_err().to_string();
            assert!(e.contains("--timeout-s") && e.contains("seconds"), "{e}");
        }
    }

    #[test]
    fn counts_and_products() {
        let o = Origin::file("f.toml");
        assert_eq!(count(&o, "x", 5, 1, 5).unwrap(), 5);
        let e = count(&o, "solver.top_k", 0, 1, 10).unwrap_err().to_string();
        assert!(e.contains("f.toml") && e.contains("solver.top_k") && e.contains("[1, 10]"), "{e}");
        assert_eq!(threads(&o, "--threads", 0, true).unwrap(), 0);
        assert!(threads(&o, "--jobs", 0, false).is_err());
        assert!(threads(&o, "--jobs", MAX_THREADS + 1, false).is_err());
        assert_eq!(product(&[3, 4, 5]), 60);
        assert_eq!(product(&[u64::MAX, 2]), u64::MAX);
    }
}
