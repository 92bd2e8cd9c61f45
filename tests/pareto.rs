//! Pareto fronts: every point is an exact optimum (checked by `enum`), and the traced front
//! equals the non-dominated set found by brute force over the whole space.

mod common;

use colaw::cost::CostModel;
use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::law::LawInputs;
use colaw::pareto::{pareto, with_budgets_from};
use colaw::scenario::BudgetMetric;
use colaw::solve::{solve, SolveOptions, Status};

fn small() -> Instance {
    let t = "[space]\nlayers = [2, 4, 6, 8, 12, 16]\nhidden = [512, 768, 1024, 1536]\nhead_dim = [64]\n\
             ffn_ratio = [1.0, 2.0, 4.0]\nmoe = [[1, 1], [8, 1], [8, 2]]\nkv_heads = [1, 4]\nvocab = [32000]\n\
             [[scenario]]\nhardware = 'jetson-orin-nx-16gb'\n[scenario.budget]\nmemory_gb = 4.0\n";
    Instance::from_toml_str(t, &Origin::file("small.toml"), None).unwrap()
}

/// (decode ms, loss) of every feasible design, by brute force.
fn brute(inst: &Instance) -> Vec<(f64, f64)> {
    let s = &inst.scenarios[0];
    let mut v = Vec::new();
    for w in &inst.space.widths {
        let model = CostModel::with_mode(&s.hardware, &s.workload_for(w.weights, w.kv_cache), s.mode).unwrap();
        for &l in &inst.space.depths {
            let a = w.arch(l);
            let m = model.metrics(&a);
            let pc = a.params();
            if inst.budgets.iter().all(|b| b.metric.value(&m, &pc) <= b.limit) {
                v.push((m.latency_ms.decode, inst.law.loss(&LawInputs::from_arch(&a, inst.tokens))));
            }
        }
    }
    v
}

#[test]
fn traced_front_is_exact_and_complete() {
    let inst = small();
    let opts = SolveOptions::default();
    let front = pareto(&inst, BudgetMetric::DecodeMs, 0, 0, "mip", &opts).unwrap();
    assert!(front.len() >= 5, "front has {} points", front.len());
    // Non-dominated set by brute force.
    let mut all = brute(&inst);
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut nd: Vec<(f64, f64)> = Vec::new();
    for p in all {
        if nd.last().is_none_or(|q| p.1 < q.1 - 1e-12) {
            nd.push(p);
        }
    }
    assert_eq!(front.len(), nd.len());
    for (p, q) in front.iter().zip(&nd) {
        assert!((p.metric - q.0).abs() <= 1e-9 * q.0, "{} vs {}", p.metric, q.0);
        assert!((p.loss - q.1).abs() <= 1e-9, "{} vs {}", p.loss, q.1);
        // And enum agrees that it is the optimum under metric ≤ its value.
        let mut i = inst.clone();
        i.budgets.push(colaw::scenario::Budget {
            scenario: 0,
            scenario_name: i.scenarios[0].name.clone(),
            metric: BudgetMetric::DecodeMs,
            limit: p.metric,
            source: "test".into(),
        });
        let e = solve(&i, "enum", &opts).unwrap();
        assert_eq!(e.status, Status::Optimal);
        assert!((e.objective.unwrap() - p.objective).abs() <= 1e-9 * p.objective.abs());
    }
}

#[test]
fn grid_front_points_are_on_the_traced_front() {
    let inst = small();
    let opts = SolveOptions::default();
    let full = pareto(&inst, BudgetMetric::DecodeMs, 0, 0, "enum", &opts).unwrap();
    let grid = pareto(&inst, BudgetMetric::DecodeMs, 0, 6, "mip", &opts).unwrap();
    assert!(grid.len() >= 3 && grid.len() <= 6);
    for g in &grid {
        assert!(full.iter().any(|f| (f.metric - g.metric).abs() <= 1e-9 * f.metric && (f.loss - g.loss).abs() < 1e-9));
    }
}

#[test]
fn budgets_from_reference_architecture() {
    let mut inst = small();
    inst.budgets[0].metric = BudgetMetric::DecodeMs;
    let mut reference = colaw::Architecture::new(8, 768, 12, 1536, 32000);
    reference.kv_heads = 4;
    reference.name = Some("ref".into());
    let at_ref = with_budgets_from(&inst, &reference).unwrap();
    let s = &inst.scenarios[0];
    let w0 = &inst.space.widths[0];
    let m = CostModel::with_mode(&s.hardware, &s.workload_for(w0.weights, w0.kv_cache), s.mode).unwrap();
    assert_eq!(at_ref.budgets[0].limit, m.metrics(&reference).latency_ms.decode);
    // Non-latency budgets (device memory) are kept.
    for (a, b) in inst.budgets.iter().zip(&at_ref.budgets).skip(1) {
        assert_eq!(a.limit, b.limit, "{:?}", a.metric);
    }
    // The reference itself is in the space and meets its own budget, so the optimum is at
    // least as good as the reference.
    let sol = solve(&at_ref, "enum", &SolveOptions::default()).unwrap();
    let ref_loss = inst.law.loss(&LawInputs::from_arch(&reference, inst.tokens));
    assert!(sol.loss.unwrap() <= ref_loss + 1e-12);
}

/// `colaw pareto` on `small()` with a decode budget, its JSON and its output folder.
fn pareto_cli(extra: &[&str], decode_budget: f64) -> (serde_json::Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inst = dir.path().join("i.toml");
    std::fs::write(
        &inst,
        "[space]\nlayers = [2, 4, 6, 8, 12, 16]\nhidden = [512, 768, 1024, 1536]\nhead_dim = [64]\n\
         ffn_ratio = [1.0, 2.0, 4.0]\nmoe = [[1, 1], [8, 1], [8, 2]]\nkv_heads = [1, 4]\nvocab = [32000]\n\
         [[scenario]]\nhardware = 'jetson-orin-nx-16gb'\n[scenario.budget]\nmemory_gb = 4.0\n"
            .to_string()
            + &format!("decode_ms = {decode_budget}\n"),
    )
    .unwrap();
    let out = dir.path().join("front");
    let mut args = vec!["pareto", inst.to_str().unwrap(), "--x", "decode", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let v = common::colaw_json(&args);
    (v, dir)
}

#[test]
fn the_traded_metrics_budget_does_not_truncate_the_front() {
    // The full front (no decode budget) of small(), traced in the library.
    let full = pareto(&small(), BudgetMetric::DecodeMs, 0, 0, "enum", &SolveOptions::default()).unwrap();
    let top = full.last().unwrap().metric;
    let budget = full[full.len() / 2].metric; // cuts the front in half
    let (v, _d) = pareto_cli(&[], budget);
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), full.len(), "the instance's decode budget is dropped");
    let max = pts.iter().map(|p| p["metric"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!((max - top).abs() <= 1e-9 * top && max > budget);
    let dropped = v["dropped_budgets"].as_array().unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0]["metric"], "decode_ms");
    assert!(v["note"].as_str().unwrap().contains("--keep-traded-budget"));
    // The other budget stays active and is listed: the user's 4 GB (below the device's share,
    // which is then no separate budget).
    let active: Vec<f64> = v["budgets"].as_array().unwrap().iter().map(|b| b["limit"].as_f64().unwrap()).collect();
    assert_eq!(active, [4e9]);
    // Kept on request: the front stops at the budget.
    let (v, _d) = pareto_cli(&["--keep-traded-budget"], budget);
    let pts = v["points"].as_array().unwrap();
    assert!(pts.len() < full.len() && pts.iter().all(|p| p["metric"].as_f64().unwrap() <= budget));
    assert!(v["dropped_budgets"].as_array().unwrap().is_empty() && v["note"].is_null());
    // --drop-budget memory drops the 4 GB too: a front at least as long.
    let (v, _d) = pareto_cli(&["--drop-budget", "memory"], budget);
    assert_eq!(v["dropped_budgets"].as_array().unwrap().len(), 2);
    assert!(v["budgets"].as_array().unwrap().is_empty());
    assert!(v["points"].as_array().unwrap().len() >= full.len());
}

#[test]
fn front_csv_has_every_metric_and_svg_labels_every_point() {
    let (v, d) = pareto_cli(&[], 1e9);
    let n = v["points"].as_array().unwrap().len();
    let mut r = csv::Reader::from_path(d.path().join("front/front.csv")).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    for c in ["prefill_ms", "decode_ms", "tpot_ms", "total_ms", "memory_bytes", "params", "active_params", "label"] {
        assert!(head.iter().any(|h| h == c), "front.csv lacks {c}: {head:?}");
    }
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let inst = small();
    let s = &inst.scenarios[0];
    let mut rows = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let f = |c: &str| rec[col(c)].parse::<f64>().unwrap();
        let u = |c: &str| rec[col(c)].parse::<u32>().unwrap();
        let mut a = colaw::Architecture::new(u("layers"), u("hidden"), u("heads"), u("ffn"), u("vocab"));
        (a.kv_heads, a.head_dim, a.experts, a.active_experts) =
            (u("kv_heads"), u("head_dim"), u("experts"), u("active_experts"));
        // Recomputed from the design's columns: the metrics and counts are this design's.
        let m = CostModel::with_mode(&s.hardware, &s.workload, s.mode).unwrap().metrics(&a);
        let pc = a.params();
        assert_eq!(f("metric"), f("decode_ms"));
        for (c, want) in [
            ("prefill_ms", m.latency_ms.prefill),
            ("decode_ms", m.latency_ms.decode),
            ("tpot_ms", m.latency_ms.tpot),
            ("total_ms", m.latency_ms.total),
            ("memory_bytes", m.memory_bytes.total),
        ] {
            assert!((f(c) - want).abs() <= 1e-9 * want, "{c}: {} vs {want}", f(c));
        }
        assert_eq!((f("params") as u64, f("active_params") as u64), (pc.total, pc.active));
        assert!(pc.active < pc.total || a.experts == 1);
        rows += 1;
    }
    assert_eq!(rows, n);
    let svg = std::fs::read_to_string(d.path().join("front/front.svg")).unwrap();
    assert_eq!(svg.matches("<title>").count(), n, "one hover label per point");
    let first = v["points"][0]["label"].as_str().unwrap();
    assert!(svg.contains(&format!("<title>{first}: loss")), "labels name the design");
    assert!(svg.contains("budgets: memory ≤ 4.000 GB"), "the plot title lists the active budgets");
}
