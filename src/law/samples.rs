//! Bootstrap coefficient samples on disk: the CSV `colaw fit --samples` writes (see
//! [`super::bootstrap`]) read back, generically or in a law's coefficient order.

use super::LossLaw;
use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Read a samples CSV: the coefficient names (every column except `resample`, `objective`
/// and `converged`) and one vector per row.
pub fn read_samples(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    samples_from_bytes(&crate::util::csv::read_bytes(path)?, &path.display().to_string())
}

/// [`read_samples`] on the file's bytes; `file` names it in errors.
pub fn samples_from_bytes(bytes: &[u8], file: &str) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let (mut rdr, headers) = crate::util::csv::from_bytes(bytes, file)?;
    let cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(*h, "resample" | "objective" | "converged"))
        .map(|(i, h)| (i, h.to_string()))
        .collect();
    let out = crate::util::csv::numeric_rows(&mut rdr, file, &cols)?;
    Ok((cols.into_iter().map(|c| c.1).collect(), out))
}

/// Read bootstrap coefficient samples for `law` (the `colaw fit --samples` format: one row
/// per resample, a column per coefficient named as in the law file; other columns such as
/// `resample` or `objective` are ignored). Rows come back in the law's coefficient order.
pub fn read_coefficient_samples(path: &Path, law: &dyn LossLaw) -> Result<Vec<Vec<f64>>> {
    coefficient_samples_from_bytes(&crate::util::csv::read_bytes(path)?, &path.display().to_string(), law)
}

/// [`read_coefficient_samples`] on the file's bytes; `file` names it in errors.
pub fn coefficient_samples_from_bytes(bytes: &[u8], file: &str, law: &dyn LossLaw) -> Result<Vec<Vec<f64>>> {
    let wanted = law.coefficient_names();
    let (names, rows) = samples_from_bytes(bytes, file)?;
    let idx: Vec<usize> = wanted
        .iter()
        .map(|n| {
            names.iter().position(|h| h == n).ok_or_else(|| {
                Error::missing(
                    &Origin::file(file),
                    n,
                    format!(
                        "law `{}` has coefficients {}; the samples file must have a column for each",
                        law.name(),
                        wanted.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<_>>()?;
    if rows.is_empty() {
        return Err(Error::Parse { origin: Origin::file(file), message: "no samples".into() });
    }
    Ok(rows.iter().map(|r| idx.iter().map(|&i| r[i]).collect()).collect())
}
