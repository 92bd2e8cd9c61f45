//! Reproduces the paper's headline findings with colaw, honestly:
//! (1) the best design at the latency of the Qwen2.5-0.5B architecture on each Jetson Orin
//!     device (paper Table 5 space, paper law, Table 2 embodied-AI budget replaced by the
//!     reference's own TPOT), and its predicted loss gain;
//! (2) the shape of the exact Pareto-optimal designs (loss vs TPOT): share of MoE, depth,
//!     routing top-k, FFN ratio.
//!
//! Run: `cargo run --release --example paper_findings`

use colaw::architecture::load_arch;
use colaw::instance::Instance;
use colaw::law::LawInputs;
use colaw::pareto::{pareto, with_budgets_from};
use colaw::scenario::BudgetMetric;
use colaw::solve::{solve, SolveOptions};
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let qwen = load_arch("Qwen2.5-0.5B")?;
    let opts = SolveOptions { compare_exact: false, ..Default::default() };
    println!("## (1) Best design at the TPOT of Qwen2.5-0.5B (paper space and law, B=1, S_in=1024, S_out=16)\n");
    println!("| device | Qwen2.5-0.5B TPOT ms | Qwen loss | best design | its TPOT ms | best loss | Δ loss (nats) | Δ perplexity |");
    println!("|---|---|---|---|---|---|---|---|");
    for dev in ["jetson-agx-orin-64gb", "jetson-orin-nx-16gb", "jetson-orin-nano-8gb", "jetson-orin-nano-8gb-super"] {
        let path = format!("instances/paper/table5-{dev}-embodied.toml");
        let inst = Instance::load(Path::new(&path))?;
        let at_ref = with_budgets_from(&inst, &qwen)?;
        let limit = at_ref.budgets.iter().find(|b| b.metric == BudgetMetric::TpotMs).map_or(f64::NAN, |b| b.limit);
        let sol = solve(&at_ref, "auto", &opts)?;
        let q = inst.law.loss(&LawInputs::from_arch(&qwen, inst.tokens));
        let (Some(best), Some(label)) = (sol.loss, sol.label.as_deref()) else {
            println!("| {dev} | {limit:.3} | {q:.4} | (none) | | | | |");
            continue;
        };
        let d = best - q;
        println!(
            "| {dev} | {limit:.3} | {q:.4} | `{label}` | {:.3} | {best:.4} | {d:+.4} | {:+.1} % |",
            sol.scenarios[0].latency_ms.tpot,
            100.0 * (d.exp() - 1.0)
        );
    }
    println!(
        "\nPaper: −19.42 % WikiText-2 perplexity at Qwen2.5-0.5B's latency on Orin (ln(50.88/63.14) = −0.216 nats).\n"
    );

    println!("## (2) Shape of the exact Pareto front, loss vs TPOT (paper space, no budget but device memory)\n");
    println!("| device | front designs | MoE share | depth < 20 share | top-1 share (of MoE) | FFN ratio < 4 share | depth range | widths |");
    println!("|---|---|---|---|---|---|---|---|");
    for dev in ["jetson-agx-orin-64gb", "jetson-orin-nx-16gb", "jetson-orin-nano-8gb"] {
        let path = format!("instances/paper/table5-{dev}-embodied.toml");
        let mut inst = Instance::load(Path::new(&path))?;
        inst.budgets.retain(|b| b.metric != BudgetMetric::TpotMs);
        let front = pareto(&inst, BudgetMetric::TpotMs, 0, 0, "auto", &opts)?;
        let n = front.len() as f64;
        let share = |f: &dyn Fn(&colaw::pareto::FrontPoint) -> bool| front.iter().filter(|p| f(p)).count() as f64 / n;
        let moe: Vec<_> = front.iter().filter(|p| p.arch.is_moe()).collect();
        let top1 = if moe.is_empty() {
            f64::NAN
        } else {
            moe.iter().filter(|p| p.arch.active_experts == 1).count() as f64 / moe.len() as f64
        };
        let (lmin, lmax) = front.iter().fold((u32::MAX, 0), |(a, b), p| (a.min(p.arch.layers), b.max(p.arch.layers)));
        let (dmin, dmax) = front.iter().fold((u32::MAX, 0), |(a, b), p| (a.min(p.arch.hidden), b.max(p.arch.hidden)));
        println!(
            "| {dev} | {} | {:.0} % | {:.0} % | {:.0} % | {:.0} % | {lmin}–{lmax} | {dmin}–{dmax} |",
            front.len(),
            100.0 * share(&|p| p.arch.is_moe()),
            100.0 * share(&|p| p.arch.layers < 20),
            100.0 * top1,
            100.0 * share(&|p| p.arch.ffn_ratio() < 4.0)
        );
    }
    println!(
        "\nPaper: Pareto-optimal designs are all MoE, shallow (< 20 layers), top-1 routing, FFN ratio well below 4."
    );
    Ok(())
}
