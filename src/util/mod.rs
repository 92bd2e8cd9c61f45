//! Small shared helpers with no knowledge of the domain: seed mixing, order statistics,
//! append-only JSON-lines files, atomic writes and output locks, CSV reading with located
//! errors, and the warning type every command reports caveats with. Everything above uses
//! these instead of keeping its own copy.

pub mod csv;
pub mod fs;
pub mod jsonl;
pub mod provenance;
pub mod rng;
pub mod stats;
pub mod warning;

pub use warning::{print_warnings, Warning};
