//! Small shared helpers with no knowledge of the domain: seed mixing, order statistics,
//! append-only JSON-lines files, atomic writes and output locks, and CSV reading with located
//! errors. Everything above uses these instead of keeping its own copy.

pub mod csv;
pub mod fs;
pub mod jsonl;
pub mod provenance;
pub mod rng;
pub mod stats;
