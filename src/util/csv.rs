//! CSV reading with errors that name the file, the line and the column.

use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Open a CSV file (fields trimmed) and return its reader and header row.
pub fn open(path: &Path) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord)> {
    let file = path.display().to_string();
    let parse_err = |e: csv::Error| Error::Parse { origin: Origin::file(&file), message: e.to_string() };
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(parse_err)?;
    let head = rdr.headers().map_err(parse_err)?.clone();
    Ok((rdr, head))
}

/// Every record's columns `cols` (index, name) as finite numbers, one vector per row; an
/// error names the line (header = line 1) and the column.
pub fn numeric_rows(
    rdr: &mut csv::Reader<std::fs::File>,
    file: &str,
    cols: &[(usize, String)],
) -> Result<Vec<Vec<f64>>> {
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let origin = Origin::line(file, i + 2);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        let mut row = Vec::with_capacity(cols.len());
        for (c, name) in cols {
            let s = rec.get(*c).unwrap_or("");
            let v: f64 =
                s.parse().map_err(|_| Error::invalid(&origin, name, format!("\"{s}\""), "must be a number"))?;
            if !v.is_finite() {
                return Err(Error::invalid(&origin, name, v, "must be finite"));
            }
            row.push(v);
        }
        out.push(row);
    }
    Ok(out)
}

/// The position of each of `names` in `head`; a missing one is an error naming the column,
/// with `hint` saying where such a file comes from.
pub fn columns(head: &csv::StringRecord, names: &[&str], file: &str, hint: &str) -> Result<Vec<(usize, String)>> {
    names
        .iter()
        .map(|n| {
            head.iter()
                .position(|h| h == *n)
                .map(|i| (i, n.to_string()))
                .ok_or_else(|| Error::missing(&Origin::file(file), *n, hint.to_string()))
        })
        .collect()
}
