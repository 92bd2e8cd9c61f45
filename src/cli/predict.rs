//! `colaw predict --hardware HW MEASUREMENTS.csv [-o OUT.csv]`.

use crate::cost::{CostModel, Workload};
use crate::hardware::load_hardware;
use crate::measurement::{read_measurements, Phase};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Hardware file or name under models/hardware/.
    #[arg(long)]
    pub hardware: String,
    /// Measurement CSV (see docs: required hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens).
    pub measurements: PathBuf,
    /// Engine whose calibrated terms on this device and attention kernel to use; rows without
    /// a `weight_format` column take its default format.
    #[command(flatten)]
    pub engine: super::EngineArgs,
    /// Output CSV (default: stdout).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: PredictArgs) -> anyhow::Result<()> {
    let mut hw = load_hardware(&a.hardware)?;
    let deployment = a.engine.resolve(&hw, &a.hardware)?;
    if let Some(d) = &deployment {
        hw = d.hardware.clone();
    }
    let mf = read_measurements(&a.measurements)?;
    // Built in memory: stdout, or one atomic write of -o (no half-written CSV after a kill).
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = mf.headers.clone();
    head.push_field("predicted_ms");
    w.write_record(&head)?;
    for (rec, row) in mf.records.iter().zip(&mf.rows) {
        let wl = Workload {
            batch: row.batch,
            prompt_tokens: row.tokens,
            gen_tokens: 1,
            precision: row.precision,
            deploy: row.deploy.or(deployment.as_ref().map(|d| d.deployment)),
        };
        let model =
            CostModel::new(&hw, &wl).map_err(|e| anyhow::anyhow!("{}:{}: {e}", a.measurements.display(), row.line))?;
        let ms = model.step_ms(&row.arch, row.phase == Phase::Decode, row.tokens);
        let mut out = rec.clone();
        out.push_field(&format!("{ms:.6}"));
        w.write_record(&out)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    match &a.out {
        Some(p) => crate::util::fs::write_atomic(p, &bytes)?,
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?,
    }
    Ok(())
}
