//! Hand-checkable instances with known optima, and the infeasible, time-limit, top-k and
//! model-export paths.

mod common;

use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::law::{LawInputs, LossLaw, PaperLaw};
use colaw::solve::{solve, SolveOptions, Status};
use common::colaw_cmd;

/// Two widths (d = 512, 1024; MHA, head_dim 64, ffn = 2d, vocab 1000 untied) × depths
/// {4, 8, 12}. Parameters by hand: d = 512 has 2,622,464 per layer and 1,024,512 fixed
/// (depth 8 → 22,004,224; depth 12 → 32,494,080); d = 1024 has 10,487,808 per layer and
/// 2,049,024 fixed (depth 4 → 44,000,256). With params ≤ 25e6 only d = 512 at depths 4
/// and 8 fit, and the paper's loss falls with depth: the optimum is l8-d512.
fn hand(budget: &str, extra: &str) -> Instance {
    let t = format!(
        "[space]\nlayers = [4, 8, 12]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\n{budget}\n{extra}"
    );
    Instance::from_toml_str(&t, &Origin::file("hand.toml"), None).unwrap()
}

#[test]
fn hand_checked_optimum_every_exact_solver() {
    let inst = hand("params = 25e6", "");
    let mut a = inst.space.widths[0].arch(8);
    a.layers = 8;
    assert_eq!(a.params().total, 22_004_224);
    let want = PaperLaw::table6().loss(&LawInputs::from_arch(&a, None));
    for s in ["enum", "mip", "mip-assign", "auto"] {
        let sol = solve(&inst, s, &SolveOptions::default()).unwrap();
        assert_eq!(sol.status, Status::Optimal, "{s}");
        assert!(sol.verified, "{s}");
        let arch = sol.arch.as_ref().unwrap();
        assert_eq!((arch.layers, arch.hidden), (8, 512), "{s}");
        assert!((sol.loss.unwrap() - want).abs() < 1e-12, "{s}");
        assert_eq!(sol.params.unwrap().total, 22_004_224);
        assert_eq!(sol.candidates, 6);
    }
}

#[test]
fn top_k_returns_distinct_designs_in_order() {
    let inst = hand("params = 25e6", "");
    for s in ["enum", "mip", "mip-assign"] {
        let sol = solve(&inst, s, &SolveOptions { top_k: 3, ..Default::default() }).unwrap();
        // Only two designs fit: l8-d512 then l4-d512.
        let got: Vec<(u32, u32)> = sol.designs.iter().map(|d| (d.arch.layers, d.arch.hidden)).collect();
        assert_eq!(got, vec![(8, 512), (4, 512)], "{s}");
        assert!(sol.designs[0].objective <= sol.designs[1].objective);
    }
    let sol = solve(&hand("params = 1e9", ""), "mip", &SolveOptions { top_k: 4, ..Default::default() }).unwrap();
    assert_eq!(sol.designs.len(), 4);
    let e = solve(&hand("params = 1e9", ""), "enum", &SolveOptions { top_k: 4, ..Default::default() }).unwrap();
    for (x, y) in sol.designs.iter().zip(&e.designs) {
        assert!((x.objective - y.objective).abs() < 1e-9);
    }
}

#[test]
fn infeasible_names_budget_and_best_reachable() {
    let inst = hand("params = 1e6", "");
    for s in ["enum", "mip", "mip-assign", "analytic"] {
        let sol = solve(&inst, s, &SolveOptions::default()).unwrap();
        assert_eq!(sol.status, Status::Infeasible, "{s}");
        assert!(sol.objective.is_none() && sol.arch.is_none());
        let r = sol.infeasibility.as_ref().unwrap();
        let p = r.iter().find(|b| b.metric.name() == "params").unwrap();
        // Smallest design: d = 512 at depth 4 = 1,024,512 + 4 × 2,622,464.
        assert_eq!(p.best_reachable, 11_514_368.0);
        assert!(!p.satisfiable_alone);
        assert!(r.iter().find(|b| b.source.starts_with("device memory")).unwrap().satisfiable_alone);
        assert!(sol.message.contains("params") && sol.message.contains("1.1514e7"), "{}", sol.message);
    }
}

#[test]
fn jointly_infeasible_says_so() {
    // Each budget alone is met by some design, not both together.
    let inst = hand("params = 25e6", "[[scenario]]\nname = \"s2\"\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\nparams = 12e6\ntpot_ms = 1e-3\n");
    let sol = solve(&inst, "enum", &SolveOptions::default()).unwrap();
    assert_eq!(sol.status, Status::Infeasible);
    assert!(sol.message.contains("tpot_ms"), "{}", sol.message);
}

#[test]
fn time_limit_returns_best_found_or_no_solution() {
    // Paper law: the law-bound seeding gives an incumbent before the (immediate) limit.
    let inst = hand("params = 1e9", "");
    let sol = solve(&inst, "enum", &SolveOptions { time_limit_s: 1e-12, ..Default::default() }).unwrap();
    assert_eq!(sol.status, Status::Feasible);
    assert!(sol.verified && sol.objective.is_some());
    assert!(sol.message.contains("time limit"), "{}", sol.message);
    // A law with no cheap bound: nothing is scored before the limit.
    let dir = tempfile::tempdir().unwrap();
    let law = dir.path().join("mixed.toml");
    std::fs::write(
        &law,
        "name='m'\n[coefficients]\na=3.0\n[form]\n[[form.terms]]\ncoef='a'\npow={layers=-0.3, hidden=-0.2}\n",
    )
    .unwrap();
    let inst = hand("params = 1e9", &format!("[law]\nname = \"{}\"\n", law.display()));
    let sol = solve(&inst, "enum", &SolveOptions { time_limit_s: 1e-12, ..Default::default() }).unwrap();
    assert_eq!(sol.status, Status::NoSolution);
    assert!(sol.objective.is_none());
    // The MIP under a tiny limit: any of the three outcomes, never a crash; a feasible
    // answer carries its bound and gap.
    let inst = hand("params = 1e9", "");
    let sol = solve(&inst, "mip", &SolveOptions { time_limit_s: 1e-9, ..Default::default() }).unwrap();
    assert!(matches!(sol.status, Status::Optimal | Status::Feasible | Status::NoSolution));
    if sol.status == Status::Feasible {
        assert!(sol.verified);
    }
}

#[test]
fn compact_mip_refuses_general_objective_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let law = dir.path().join("mixed.toml");
    std::fs::write(
        &law,
        "name='m'\n[coefficients]\na=3.0\n[form]\n[[form.terms]]\ncoef='a'\npow={layers=-0.3, hidden=-0.2}\n",
    )
    .unwrap();
    let inst = hand("params = 1e9", &format!("[law]\nname = \"{}\"\n", law.display()));
    let e = solve(&inst, "mip", &SolveOptions::default()).unwrap_err().to_string();
    assert!(e.contains("mip-assign"), "{e}");
    let auto = solve(&inst, "auto", &SolveOptions::default()).unwrap();
    assert_eq!(auto.solver, "enum");
    assert!(auto.solver_reason.unwrap().contains("candidates"));
}

#[test]
fn cli_solve_json_table_and_write_model() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hand.toml");
    std::fs::write(
        &f,
        "[space]\nlayers = [4, 8, 12]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n[scenario.budget]\nparams = 25e6\n",
    )
    .unwrap();
    let out = colaw_cmd().arg("solve").arg(&f).args(["--solver", "mip"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "status",
        "objective",
        "loss",
        "arch",
        "scenarios",
        "params",
        "solver",
        "bound",
        "gap",
        "nodes",
        "solve_ms",
        "candidates",
        "verified",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["status"], "optimal");
    assert_eq!(v["arch"]["layers"], 8);
    assert!(v["scenarios"][0]["latency_ms"]["tpot"].as_f64().unwrap() > 0.0);
    assert!(v["scenarios"][0]["memory_bytes"]["total"].as_f64().unwrap() > 0.0);
    let table = colaw_cmd().arg("solve").arg(&f).args(["--format", "table"]).output().unwrap();
    let t = String::from_utf8_lossy(&table.stdout);
    assert!(t.contains("l8-d512") && t.contains("why enum"), "{t}");
    for ext in ["lp", "mps"] {
        let m = dir.path().join(format!("model.{ext}"));
        let out = colaw_cmd().arg("solve").arg(&f).args(["--solver", "mip", "--write-model"]).arg(&m).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(std::fs::metadata(&m).unwrap().len() > 100);
    }
    let out = colaw_cmd().arg("solve").arg(&f).args(["--solver", "enum", "--write-model", "x.lp"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--write-model"));
}

#[test]
fn cli_bad_instance_names_file_field_value() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "[space]\nlayers = [4]\nhidden = [512]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\nmoe = [[4, 8]]\n\
         [[scenario]]\nhardware = \"jetson-agx-orin-64gb\"\n",
    )
    .unwrap();
    let out = colaw_cmd().arg("solve").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("bad.toml") && e.contains("space.moe[0]") && e.contains("[4, 8]") && e.contains("active"),
        "{e}"
    );
}

#[test]
fn documented_example_instance_loads_and_solves() {
    let doc = std::fs::read_to_string("docs/instances.md").unwrap();
    let start = doc.find("```toml\n").unwrap() + 8;
    let end = start + doc[start..].find("```").unwrap();
    let inst = Instance::from_toml_str(&doc[start..end], &Origin::file("docs/instances.md"), None).unwrap();
    assert_eq!(inst.scenarios.len(), 2);
    assert_eq!(inst.terms.len(), 3);
    let e = solve(&inst, "enum", &SolveOptions::default()).unwrap();
    let m = solve(&inst, "mip", &SolveOptions::default()).unwrap();
    assert_eq!(e.status, m.status);
    if e.status == Status::Optimal {
        assert!((e.objective.unwrap() - m.objective.unwrap()).abs() <= 1e-6 * e.objective.unwrap().abs());
    }
}

/// A custom term with a depth split is used by the compact MIP; one without a split sends
/// `mip` to refuse (advice: mip-assign) while mip-assign and enum still agree.
#[test]
fn custom_terms_with_and_without_split() {
    use colaw::cost::Linear;
    use colaw::objective::{DesignView, ObjectiveTerm, WidthView};
    use std::sync::Arc;
    struct Kv(bool);
    impl ObjectiveTerm for Kv {
        fn name(&self) -> &str {
            "kv"
        }
        fn value(&self, d: &DesignView) -> f64 {
            3.0 * d.metrics[0].memory_bytes.kv_cache / 1e9
        }
        fn split(&self, w: &WidthView) -> Option<Linear> {
            let kv = w.costs[0].kv_bytes;
            self.0.then(|| Linear { fixed: 3.0 * kv.fixed / 1e9, per_layer: 3.0 * kv.per_layer / 1e9 })
        }
    }
    let t = "[space]\nlayers = [4, 8, 16, 24, 32]\nhidden = [768, 1024, 2048]\nhead_dim = [64]\nkv_heads = [1, 4, \"heads\"]\n\
             ffn_ratio = [1.0, 3.0]\nmoe = [[1, 1], [8, 1]]\nvocab = [32000]\n[[scenario]]\nhardware = \"jetson-orin-nano-8gb\"\n\
             prompt = 4096\ngen = 256\n[scenario.budget]\ntpot_ms = 25\n";
    let base = Instance::from_toml_str(t, &Origin::file("t.toml"), None).unwrap();
    let mut with = base.clone();
    with.add_term(Arc::new(Kv(true)));
    let e = solve(&with, "enum", &SolveOptions::default()).unwrap();
    let m = solve(&with, "mip", &SolveOptions::default()).unwrap();
    assert_eq!(e.label, m.label);
    assert!((e.objective.unwrap() - m.objective.unwrap()).abs() < 1e-9);
    let plain = solve(&base, "enum", &SolveOptions::default()).unwrap();
    assert!(e.objective.unwrap() > plain.objective.unwrap(), "the penalty costs something");
    let mut without = base.clone();
    without.add_term(Arc::new(Kv(false)));
    assert!(solve(&without, "mip", &SolveOptions::default()).unwrap_err().to_string().contains("mip-assign"));
    let a = solve(&without, "mip-assign", &SolveOptions::default()).unwrap();
    let e2 = solve(&without, "enum", &SolveOptions::default()).unwrap();
    assert!((a.objective.unwrap() - e.objective.unwrap()).abs() < 1e-9);
    assert!((e2.objective.unwrap() - e.objective.unwrap()).abs() < 1e-9);
}
