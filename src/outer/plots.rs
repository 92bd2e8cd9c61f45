//! The loop's figures: confidence per round and coefficient intervals per round.

use super::*;
use crate::plot::{lines_with, small_multiples, Axes};

impl OuterLoop<'_> {
    /// `confidence.svg` and `coefficients.svg`.
    pub(super) fn plots(&self, rounds: &[RoundRecord]) -> Result<()> {
        if rounds.is_empty() {
            return Ok(());
        }
        let conf = Series {
            name: "P(choice is optimal)".into(),
            points: rounds.iter().map(|r| (r.round as f64, r.confidence)).collect(),
            band: None,
            band_label: None,
            step: false,
        };
        let first = rounds[0].round as f64;
        let last_round = (rounds[rounds.len() - 1].round as f64).max(first + 1.0);
        let thr = Series {
            name: format!("stop at {}", self.opts.stop_confidence),
            points: vec![(first, self.opts.stop_confidence), (last_round, self.opts.stop_confidence)],
            band: None,
            band_label: None,
            step: true,
        };
        // Rounds are counts (whole-number ticks); a probability axis shows all of [0, 1] so
        // the distance to the stopping threshold reads true.
        lines_with(
            &self.journal.dir.join("confidence.svg"),
            "Confidence of the choice",
            "round",
            "share of coefficient samples",
            &[conf, thr],
            Axes { integer_x: true, y_range: Some((0.0, 1.02)), ..Axes::default() },
        )?;
        // Each coefficient as its deviation from the final estimate, relative to it, in %
        // ((v − final)/|final|, clamped to ±150 % so one wild early round cannot flatten the
        // rest), with its 95 % interval as a band: one small panel per coefficient, since
        // eleven bands on one axis hide each other.
        let last = &rounds[rounds.len() - 1];
        let rel = |v: f64, s: f64| 100.0 * ((v - s) / s.abs()).clamp(-1.5, 1.5);
        let series: Vec<Series> = last
            .names
            .iter()
            .enumerate()
            .filter(|(k, _)| last.values[*k].abs() > 1e-300)
            .map(|(k, n)| {
                let s = last.values[k];
                let shown = if (1e-3..1e5).contains(&s.abs()) { format!("{s:.4}") } else { format!("{s:.3e}") };
                Series {
                    name: format!("{n} (final {shown})"),
                    points: rounds.iter().map(|r| (r.round as f64, rel(r.values[k], s))).collect(),
                    band: Some(
                        rounds.iter().map(|r| (r.round as f64, rel(r.ci95[k].0, s), rel(r.ci95[k].1, s))).collect(),
                    ),
                    band_label: Some("95 % interval".into()),
                    step: false,
                }
            })
            .collect();
        if series.is_empty() {
            return Ok(());
        }
        small_multiples(
            &self.journal.dir.join("coefficients.svg"),
            "Coefficients per round with 95 % intervals, relative to the final estimate (clamped at ±150 %)",
            "round",
            "(value − final)/|final| (%)",
            &series,
            true,
        )
    }
}
