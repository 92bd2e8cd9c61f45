//! CSV reading with errors that name the file, the line and the column.

use crate::error::{Error, Origin, Result};
use std::path::Path;

/// Read a whole file, the error naming the path (CSV readers then parse the bytes with
/// [`from_bytes`], so the same code serves files and in-memory text).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// A CSV reader over in-memory bytes (fields trimmed) and its header row; `file` names the
/// source in errors.
pub fn from_bytes<'a>(bytes: &'a [u8], file: &str) -> Result<(csv::Reader<&'a [u8]>, csv::StringRecord)> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let head = rdr.headers().map_err(|e| Error::Parse { origin: Origin::file(file), message: e.to_string() })?.clone();
    Ok((rdr, head))
}

/// Every record's columns `cols` (index, name) as finite numbers, one vector per row; an
/// error names the line (header = line 1) and the column.
pub fn numeric_rows<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
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
