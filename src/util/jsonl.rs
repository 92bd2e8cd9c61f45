//! Append-only JSON-lines files that survive a kill: a write the kill interrupted leaves at
//! most one torn last line, which [`recover`] cuts off before the file is appended to again.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Read every complete (`\n`-terminated) line of `path` that `accept` takes, cut the file at
/// the first line it refuses (only the last line can be torn) and return the accepted values
/// and the bytes dropped. Blank lines are kept and skipped; a missing file is empty.
pub fn recover<T>(path: &Path, accept: impl FnMut(&[u8]) -> Option<T>) -> Result<(Vec<T>, u64)> {
    let io = |source| Error::Io { path: path.display().to_string(), source };
    let mut f = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(io)?;
    let (out, keep) = complete_lines(&bytes, accept);
    let dropped = (bytes.len() - keep) as u64;
    if dropped > 0 {
        f.set_len(keep as u64).map_err(io)?;
        f.seek(SeekFrom::End(0)).map_err(io)?;
    }
    Ok((out, dropped))
}

/// The values of the complete lines of `bytes` that `accept` takes, up to the first line it
/// refuses, and the length of the prefix to keep (what [`recover`] cuts the file to).
pub fn complete_lines<T>(bytes: &[u8], mut accept: impl FnMut(&[u8]) -> Option<T>) -> (Vec<T>, usize) {
    let (mut keep, mut start, mut out) = (0usize, 0usize, Vec::new());
    while let Some(nl) = bytes[start..].iter().position(|&b| b == b'\n') {
        let line = &bytes[start..start + nl];
        match accept(line) {
            Some(v) => {
                out.push(v);
                keep = start + nl + 1;
            }
            _ if line.iter().all(|b| b.is_ascii_whitespace()) => keep = start + nl + 1,
            _ => break,
        }
        start += nl + 1;
    }
    (out, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_only_the_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"a\":1}\n\n{\"a\":2}\n{\"a\":").unwrap();
        let parse = |l: &[u8]| serde_json::from_slice::<serde_json::Value>(l).ok();
        let (v, dropped) = recover(&p, parse).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(dropped, 5);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n\n{\"a\":2}\n");
        let (v, dropped) = recover(&dir.path().join("absent.jsonl"), parse).unwrap();
        assert!(v.is_empty() && dropped == 0);
    }
}
