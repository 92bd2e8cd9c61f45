//! Bootstrap coefficient samples on disk: the CSV `colaw fit --samples` writes (see
//! [`super::bootstrap`]) read back, generically or in a law's coefficient order.

use super::LossLaw;
use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Read a samples CSV: the coefficient names (every column except `resample`, `objective`
/// and `converged`) and one vector per row.
pub fn read_samples(path: &Path) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
    let file = path.display().to_string();
    let (mut rdr, headers) = crate::util::csv::open(path)?;
    let cols: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(*h, "resample" | "objective" | "converged"))
        .map(|(i, h)| (i, h.to_string()))
        .collect();
    let out = crate::util::csv::numeric_rows(&mut rdr, &file, &cols)?;
    Ok((cols.into_iter().map(|c| c.1).collect(), out))
}

/// Read bootstrap coefficient samples for `law` (the `colaw fit --samples` format: one row
/// per resample, a column per coefficient named as in the law file; other columns such as
/// `resample` or `objective` are ignored). Rows come back in the law's coefficient order.
pub fn read_coefficient_samples(path: &Path, law: &dyn LossLaw) -> Result<Vec<Vec<f64>>> {
    let wanted = law.coefficient_names();
    let file = path.display().to_string();
    let (names, rows) = read_samples(path)?;
    let idx: Vec<usize> = wanted
        .iter()
        .map(|n| {
            names.iter().position(|h| h == n).ok_or_else(|| {
                Error::missing(
                    &Origin::file(&file),
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
        return Err(Error::Parse { origin: Origin::file(&file), message: "no samples".into() });
    }
    Ok(rows.iter().map(|r| idx.iter().map(|&i| r[i]).collect()).collect())
}
