//! Pareto fronts: every point is an exact optimum (checked by `enum`), and the traced front
//! equals the non-dominated set found by brute force over the whole space.

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
