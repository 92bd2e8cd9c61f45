//! `colaw eval ARCH --hardware HW`.

use super::output::{grouped, human_bytes, print_json, Format};
use super::{EngineArgs, WorkloadArgs};
use crate::architecture::load_arch;
use crate::cost::Mode;
use crate::eval::{evaluate, Evaluation};
use crate::fragility;
use crate::hardware::load_hardware;
use crate::law::{load_law, LossLaw};
use clap::Args;

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Preset name, Hugging Face config.json, or colaw .toml/.json file.
    pub arch: String,
    /// Hardware file or name under models/hardware/.
    #[arg(long)]
    pub hardware: String,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Law file or name under models/laws/ (default: paper).
    #[arg(long, default_value = "paper")]
    pub law: String,
    /// Training tokens for laws with a data term (default: the law file's `tokens`).
    #[arg(long)]
    pub tokens: Option<f64>,
    /// The paper's pure roofline: no embeddings, LM head, norms or overheads, efficiency 1.
    #[arg(long)]
    pub paper_mode: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let ev = evaluation(&a)?;
    crate::util::warning::print_stderr(&ev.warnings);
    match a.format {
        Format::Json => print_json(&ev),
        Format::Table => {
            print!("{}", table(&ev));
            Ok(())
        }
    }
}

/// What `eval` prints, before it is printed.
pub fn evaluation(a: &EvalArgs) -> anyhow::Result<Evaluation> {
    let arch = load_arch(&a.arch)?;
    let mut hw = load_hardware(&a.hardware)?;
    let mut w = a.workload.workload()?;
    let deployment = a.engine.resolve(&hw, &a.hardware)?;
    if let Some(d) = &deployment {
        hw = d.hardware.clone();
        w.deploy = Some(d.deployment);
        if let Some(t) = d.compute {
            w.precision.compute = t;
        }
    }
    let law = load_law(&a.law)?;
    let mode = if a.paper_mode { Mode::Paper } else { Mode::Full };
    let mut ev = evaluate(&arch, &hw, &w, mode, Some(&law as &dyn LossLaw), a.tokens)?;
    ev.deployment = deployment.map(|d| d.report());
    ev.warnings.extend(fragility::for_evaluation(&hw, Some(&law), a.tokens, &arch, ev.memory_bytes.total));
    Ok(ev)
}

fn table(ev: &Evaluation) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let w = &ev.workload;
    let _ = writeln!(s, "{}  on  {}", ev.name.as_deref().unwrap_or("architecture"), ev.hardware);
    let _ = writeln!(s, "  {}", ev.arch.label());
    let _ = writeln!(
        s,
        "  workload: batch {}, prompt {}, gen {}, weights {}, kv {}, compute {}{}",
        w.batch,
        w.prompt_tokens,
        w.gen_tokens,
        ev.deployment.as_ref().map_or(w.precision.weights.to_string(), |d| d.weight_format.clone()),
        ev.deployment.as_ref().map_or(w.precision.kv_cache.to_string(), |d| d.kv_cache_type.clone()),
        w.precision.compute,
        if ev.mode == Mode::Paper { "  [paper mode]" } else { "" }
    );
    let p = &ev.params;
    let _ = writeln!(
        s,
        "  params: total {}  embedding {}  non-embedding {}  active {}",
        grouped(p.total),
        grouped(p.embedding),
        grouped(p.non_embedding),
        grouped(p.active)
    );
    if let Some(d) = &ev.deployment {
        let _ = writeln!(
            s,
            "  engine: {} {} (kv {}), {}; weights {} ({:.2} bits/weight)",
            d.engine,
            d.weight_format,
            d.kv_cache_type,
            if d.calibrated { "calibrated on this device" } else { "NOT calibrated on this device: roofline bound" },
            ev.weights_file_bytes.map_or("-".into(), |b| human_bytes(b as f64)),
            ev.weights_file_bytes.map_or(f64::NAN, |b| 8.0 * b as f64 / ev.params.total as f64),
        );
    }
    if let (Some(l), Some(n)) = (ev.loss, &ev.law) {
        let _ = writeln!(s, "  loss ({n}): {l:.4}");
    }
    let l = &ev.latency_ms;
    let _ = writeln!(
        s,
        "  latency: prefill {:.3} ms  decode {:.3} ms  tpot {:.3} ms  total {:.3} ms",
        l.prefill, l.decode, l.tpot, l.total
    );
    let m = &ev.memory_bytes;
    let _ = writeln!(
        s,
        "  memory: weights {}  kv {}  activations {}  total {} of {}{} ({})",
        human_bytes(m.weights),
        human_bytes(m.kv_cache),
        human_bytes(m.activations),
        human_bytes(m.total),
        human_bytes(ev.usable_bytes),
        if ev.usable_bytes < ev.capacity_bytes {
            format!(" usable ({} less the OS reserve)", human_bytes(ev.capacity_bytes))
        } else {
            String::new()
        },
        if ev.fits_memory { "fits" } else { "DOES NOT FIT" }
    );
    let _ = writeln!(
        s,
        "\n  {:<12} {:<12} {:>12} {:>8} {:>12} {:>8} {:>12}",
        "op", "class", "prefill ms", "bound", "decode ms", "bound", "total ms"
    );
    for r in &ev.breakdown {
        let b = |b: crate::cost::Bound| match b {
            crate::cost::Bound::Compute => "compute",
            crate::cost::Bound::Memory => "memory",
            crate::cost::Bound::None => "-",
        };
        let _ = writeln!(
            s,
            "  {:<12} {:<12} {:>12.4} {:>8} {:>12.4} {:>8} {:>12.4}",
            r.op,
            r.class,
            r.prefill_ms,
            b(r.prefill_bound),
            r.decode_ms,
            b(r.decode_bound),
            r.total_ms
        );
    }
    s
}
