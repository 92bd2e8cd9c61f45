//! The loop's figures: confidence per round and coefficient intervals per round.

use super::*;

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
            step: false,
        };
        let thr = Series {
            name: format!("stop at {}", self.opts.stop_confidence),
            points: vec![(1.0, self.opts.stop_confidence), (rounds.len().max(2) as f64, self.opts.stop_confidence)],
            band: None,
            step: true,
        };
        lines(
            &self.journal.dir.join("confidence.svg"),
            "Confidence of the choice",
            "round",
            "share of bootstrap samples",
            &[conf, thr],
            false,
        )?;
        // Each coefficient as its deviation from the final estimate, relative to it
        // ((v − final)/|final|, clamped to ±150 % so one wild early round cannot flatten the
        // rest), with its 95 % interval as a band.
        let last = &rounds[rounds.len() - 1];
        let rel = |v: f64, s: f64| ((v - s) / s.abs()).clamp(-1.5, 1.5);
        let series: Vec<Series> = last
            .names
            .iter()
            .enumerate()
            .filter(|(k, _)| last.values[*k].abs() > 1e-300)
            .map(|(k, n)| {
                let s = last.values[k];
                Series {
                    name: n.clone(),
                    points: rounds.iter().map(|r| (r.round as f64, rel(r.values[k], s))).collect(),
                    band: Some(
                        rounds.iter().map(|r| (r.round as f64, rel(r.ci95[k].0, s), rel(r.ci95[k].1, s))).collect(),
                    ),
                    step: false,
                }
            })
            .collect();
        lines(
            &self.journal.dir.join("coefficients.svg"),
            "Coefficients and 95 % bootstrap intervals, relative to the final estimate (±150 % shown)",
            "round",
            "(value − final) / |final|",
            &series,
            false,
        )
    }
}
