//! `colaw params ARCH`.

use crate::architecture::load_arch;
use clap::Args;
use serde::Serialize;

/// Arguments of `params`.
#[derive(Debug, Args)]
pub struct ParamsArgs {
    /// Preset name, Hugging Face config.json, or colaw .toml/.json file.
    pub arch: String,
}

#[derive(Serialize)]
struct Out<'a> {
    name: Option<&'a str>,
    total: u64,
    embedding: u64,
    lm_head: u64,
    non_embedding: u64,
    active: u64,
    per_layer: u64,
    arch: &'a crate::Architecture,
}

pub fn run(a: ParamsArgs) -> anyhow::Result<()> {
    let arch = load_arch(&a.arch)?;
    let p = arch.params();
    super::output::print_json(&Out {
        name: arch.name.as_deref(),
        total: p.total,
        embedding: p.embedding,
        lm_head: p.lm_head,
        non_embedding: p.non_embedding,
        active: p.active,
        per_layer: p.per_layer,
        arch: &arch,
    })
}
