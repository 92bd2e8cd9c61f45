//! `colaw gen --family F --count N --seed S --out DIR`.

use crate::gen::{generate, write_all, Family, GenOptions, FAMILIES};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Instance family.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(FAMILIES))]
    pub family: String,
    /// Number of instances.
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Seed (the same seed gives the same files).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created).
    #[arg(long)]
    pub out: PathBuf,
    /// `large`: largest target size in candidates (sizes are a log ladder from 10⁴ to this).
    #[arg(long, default_value_t = 1e8)]
    pub max_candidates: f64,
}

pub fn run(a: GenArgs) -> anyhow::Result<()> {
    let family: Family = a.family.parse().map_err(|e: String| anyhow::anyhow!("--family {e}"))?;
    crate::limits::flag_count("--count", a.count, 1, crate::limits::MAX_ITERATIONS)?;
    anyhow::ensure!(
        a.max_candidates.is_finite() && a.max_candidates >= 1e4,
        "--max-candidates {}: must be at least 1e4",
        a.max_candidates
    );
    let opts = GenOptions { family, count: a.count, seed: a.seed, max_candidates: a.max_candidates };
    let gens = generate(&opts)?;
    let paths = write_all(&a.out, &gens)?;
    eprintln!("gen: {} `{}` instances (seed {}) in {}", paths.len(), family.name(), a.seed, a.out.display());
    Ok(())
}
