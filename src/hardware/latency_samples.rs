//! The latency-samples CSV that `colaw calibrate --samples` writes and robust selection and
//! `colaw region` read: `sample`, then one column per efficiency term in
//! [`TERM_NAMES`] order, one row per bootstrap resample of the calibration, then `hardware`:
//! the device(s) calibrated (names joined by ` | ` when pooled; optional when reading).

use super::efficiency::{EfficiencyTerms, N_EFF, N_TERMS, TERM_NAMES};
use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Columns of the files written before the per-token and per-pair overheads existed.
const N_TERMS_V1: usize = 11;

/// Joins the device names of a pooled calibration in the `hardware` column.
const DEVICE_SEPARATOR: &str = " | ";

/// Write latency-calibration samples (values to 10 significant digits) of the calibration
/// on `devices` (device names, [`super::Hardware::device_name`]).
pub fn write_latency_samples(path: &Path, samples: &[EfficiencyTerms], devices: &[String]) -> Result<()> {
    let mut head = vec!["sample".to_string()];
    head.extend(TERM_NAMES.iter().map(|s| s.to_string()));
    head.push("hardware".into());
    let device = devices.join(DEVICE_SEPARATOR);
    crate::util::fs::write_csv_atomic(path, |w| {
        w.write_record(&head)?;
        for (i, t) in samples.iter().enumerate() {
            let mut rec = vec![i.to_string()];
            rec.extend(t.values.iter().map(|v| format!("{v:.9e}")));
            rec.push(device.clone());
            w.write_record(&rec)?;
        }
        Ok(())
    })
}

/// Read latency-calibration samples written by `colaw calibrate --samples`; every
/// efficiency must lie in (0, 1] and every overhead be ≥ 0.
pub fn read_latency_samples(path: &Path) -> Result<Vec<EfficiencyTerms>> {
    latency_samples_from_bytes(&crate::util::csv::read_bytes(path)?, &path.display().to_string())
}

/// [`read_latency_samples`] on the file's bytes; `file` names it in errors.
pub fn latency_samples_from_bytes(bytes: &[u8], file: &str) -> Result<Vec<EfficiencyTerms>> {
    let file = file.to_string();
    let (mut rdr, head) = crate::util::csv::from_bytes(bytes, &file)?;
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

/// The devices a latency-samples file was calibrated on (its `hardware` column, split at
/// ` | `); empty when the file has no such column (written before it existed). Every row
/// must name the same devices.
pub fn read_latency_samples_devices(path: &Path) -> Result<Vec<String>> {
    let file = path.display().to_string();
    let bytes = crate::util::csv::read_bytes(path)?;
    let (mut rdr, head) = crate::util::csv::from_bytes(&bytes, &file)?;
    let Some(col) = head.iter().position(|h| h == "hardware") else {
        return Ok(Vec::new());
    };
    let mut first: Option<String> = None;
    for (i, rec) in rdr.records().enumerate() {
        let origin = Origin::line(&file, i + 2);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        let v = rec.get(col).unwrap_or("").to_string();
        match &first {
            None => first = Some(v),
            Some(f) if *f != v => {
                return Err(Error::invalid(
                    &origin,
                    "hardware",
                    format!("\"{v}\""),
                    format!("every sample of one calibration names the same device(s), here \"{f}\""),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(first
        .unwrap_or_default()
        .split(DEVICE_SEPARATOR)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_column_round_trips_and_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        let t = EfficiencyTerms { values: [0.5; N_TERMS] };
        let devices = vec!["NVIDIA H100 SXM5 80GB".to_string(), "NVIDIA Jetson Orin NX 16GB".to_string()];
        write_latency_samples(&p, &[t, t], &devices).unwrap();
        assert_eq!(read_latency_samples(&p).unwrap().len(), 2);
        assert_eq!(read_latency_samples_devices(&p).unwrap(), devices);
        // A file without the column (older calibrations) reads, naming no device.
        let text = std::fs::read_to_string(&p).unwrap();
        let old: String = text.lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect();
        std::fs::write(&p, old).unwrap();
        assert_eq!(read_latency_samples(&p).unwrap().len(), 2);
        assert!(read_latency_samples_devices(&p).unwrap().is_empty());
    }
}
