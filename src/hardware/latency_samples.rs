//! The latency-samples CSV that `colaw calibrate --samples` writes and robust selection and
//! `colaw region` read: `sample`, then one column per efficiency term in
//! [`TERM_NAMES`] order, one row per bootstrap resample of the calibration.

use super::efficiency::{EfficiencyTerms, N_EFF, N_TERMS, TERM_NAMES};
use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Columns of the files written before the per-token and per-pair overheads existed.
const N_TERMS_V1: usize = 11;

/// Write latency-calibration samples (values to 10 significant digits).
pub fn write_latency_samples(path: &Path, samples: &[EfficiencyTerms]) -> Result<()> {
    let file = path.display().to_string();
    let err = |e: csv::Error| Error::Parse { origin: Origin::file(&file), message: e.to_string() };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec!["sample".to_string()];
    head.extend(TERM_NAMES.iter().map(|s| s.to_string()));
    w.write_record(&head).map_err(err)?;
    for (i, t) in samples.iter().enumerate() {
        let mut rec = vec![i.to_string()];
        rec.extend(t.values.iter().map(|v| format!("{v:.9e}")));
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Parse { origin: Origin::file(&file), message: e.to_string() })?;
    crate::util::fs::write_atomic(path, &bytes)
}

/// Read latency-calibration samples written by `colaw calibrate --samples`; every
/// efficiency must lie in (0, 1] and every overhead be ≥ 0.
pub fn read_latency_samples(path: &Path) -> Result<Vec<EfficiencyTerms>> {
    let file = path.display().to_string();
    let (mut rdr, head) = crate::util::csv::open(path)?;
    // The last four overheads came later: files written before them hold the first
    // N_TERMS_V1 columns, and the missing terms are 0 (what those calibrations assumed).
    let mut cols = crate::util::csv::columns(
        &head,
        &TERM_NAMES[..N_TERMS_V1],
        &file,
        "a latency samples file is written by `colaw calibrate --samples`",
    )?;
    let later = &TERM_NAMES[N_TERMS_V1..];
    let present: Vec<bool> = later.iter().map(|n| head.iter().any(|h| h == *n)).collect();
    for (n, _) in later.iter().zip(&present).filter(|(_, p)| **p) {
        cols.extend(crate::util::csv::columns(&head, &[n], &file, "")?);
    }
    let rows = crate::util::csv::numeric_rows(&mut rdr, &file, &cols)?;
    if rows.is_empty() {
        return Err(Error::Parse { origin: Origin::file(&file), message: "no samples".into() });
    }
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let mut v = [0.0; N_TERMS];
        let mut it = r.into_iter();
        for (k, slot) in v.iter_mut().enumerate() {
            if k < N_TERMS_V1 || present[k - N_TERMS_V1] {
                *slot = it.next().unwrap_or(0.0);
            }
        }
        let origin = Origin::line(&file, i + 2);
        for (k, x) in v.iter().enumerate() {
            let ok = if k < N_EFF { *x > 0.0 && *x <= 1.0 } else { *x >= 0.0 };
            if !ok {
                return Err(Error::invalid(&origin, TERM_NAMES[k], x, "efficiencies lie in (0, 1], overheads are ≥ 0"));
            }
        }
        out.push(EfficiencyTerms { values: v });
    }
    Ok(out)
}
