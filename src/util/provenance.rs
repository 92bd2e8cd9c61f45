//! Provenance of a fitted or calibrated model file: the table (`[fit]` of a law file,
//! `[calibration]` of a hardware file) that says how it was made and from which data, and the
//! data's SHA-256 that ties it to the exact bytes.

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Builder of a provenance table: the method, the data file and its hash first, then any
/// number of named values in the order given.
#[derive(Debug, Clone)]
pub struct Provenance(toml::Table);

impl Provenance {
    /// A table naming the method, the data file and the data's SHA-256.
    pub fn new(method: impl Into<String>, data: impl Into<String>, data_sha256: impl Into<String>) -> Self {
        let mut t = toml::Table::new();
        t.insert("method".into(), method.into().into());
        t.insert("data".into(), data.into().into());
        t.insert("data_sha256".into(), data_sha256.into().into());
        Provenance(t)
    }

    /// Add a value (numbers, text, arrays, tables).
    pub fn with(mut self, key: &str, value: impl Into<toml::Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Add a count (TOML integers are signed 64-bit).
    pub fn count(self, key: &str, n: usize) -> Self {
        self.with(key, n as i64)
    }

    /// Add a value when there is one.
    pub fn maybe(self, key: &str, value: Option<impl Into<toml::Value>>) -> Self {
        match value {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    /// The table.
    pub fn into_table(self) -> toml::Table {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_table() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let t = Provenance::new("m", "d.csv", "00").count("rows", 3).maybe("engine", None::<String>).into_table();
        assert_eq!(t["rows"].as_integer(), Some(3));
        assert!(!t.contains_key("engine"));
    }
}
