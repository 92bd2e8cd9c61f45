//! The fuzz targets (`targets.rs`, shared with the main crate's replay test).
#![allow(missing_docs)]

pub mod targets;
