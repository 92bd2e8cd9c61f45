//! Robust selection: the MIP (mean, CVaR, latency chance constraint) agrees with exhaustive
//! enumeration on random instances; an instance's `[robust]` section gives the same answer
//! as the equivalent command-line flags, flags override it, and `colaw batch` honours it.

mod common;

use colaw::error::Origin;
use colaw::hardware::read_latency_samples;
use colaw::instance::Instance;
use colaw::solve::{robust_enum, robust_mip, SolveOptions, Status};
use colaw::uncertainty::{Risk, RobustSpec};
use common::colaw_json as colaw;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn instance(rng: &mut StdRng) -> Instance {
    let hw = ["jetson-orin-nx-16gb", "jetson-orin-nano-8gb", "jetson-agx-orin-64gb"][rng.random_range(0..3)];
    let decode = [8.0, 15.0, 25.0, 40.0][rng.random_range(0..4)];
    let t = format!(
        "[space]\nlayers = [4, 8, 12, 16, 24]\nhidden = [512, 768, 1024, 1536, 2048]\nhead_dim = [64]\n\
         ffn_ratio = [1.0, 2.0, 4.0]\nmoe = [[1, 1], [8, 1], [8, 2]]\nkv_heads = [1, 4]\nvocab = [32000]\n\
         [[scenario]]\nhardware = '{hw}'\n[scenario.budget]\ndecode_ms = {decode}\nmemory_gb = 6.0\n"
    );
    Instance::from_toml_str(&t, &Origin::file("random.toml"), None).unwrap()
}

fn samples(inst: &Instance, rng: &mut StdRng, n: usize, spread: f64) -> Vec<Vec<f64>> {
    (0..n)
        .map(|_| {
            inst.law
                .coefficients()
                .iter()
                .map(|(_, v)| v)
                .map(|v| v * (1.0 + spread * rng.random_range(-1.0..1.0)))
                .collect()
        })
        .collect()
}

/// Checks agreement; returns whether the case had a solution.
fn agree(inst: &Instance, spec: &RobustSpec, what: &str) -> bool {
    let e = robust_enum(inst, spec).unwrap();
    let m = robust_mip(inst, spec, &SolveOptions::default()).unwrap();
    assert_eq!(e.status == Status::Infeasible, m.status == Status::Infeasible, "{what}: feasibility differs");
    if e.status == Status::Optimal {
        assert_eq!(m.status, Status::Optimal, "{what}");
        let (a, b) = (e.objective.unwrap(), m.objective.unwrap());
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{what}: enum {a} ({:?}) vs mip {b} ({:?})", e.label, m.label);
        if let Some(share) = spec.chance_epsilon.map(|_| m.robust.as_ref().unwrap().latency_ok_share.unwrap()) {
            assert!(share + 1e-12 >= m.robust.as_ref().unwrap().latency_required_share.unwrap(), "{what}");
        }
    }
    e.status == Status::Optimal
}

#[test]
fn mean_and_cvar_agree_with_enum() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut solved = 0;
    for case in 0..24 {
        let inst = instance(&mut rng);
        let coef = samples(&inst, &mut rng, 16, 0.06);
        for risk in [Risk::Mean, Risk::Cvar { alpha: 0.25 }, Risk::Cvar { alpha: 0.1 }] {
            let spec = RobustSpec {
                risk,
                coefficients: coef.clone(),
                latency: vec![],
                chance_epsilon: None,
                latency_scenarios: None,
                latency_devices: Vec::new(),
            };
            solved += agree(&inst, &spec, &format!("case {case} {risk:?}")) as usize;
        }
    }
    assert!(solved >= 36, "only {solved} of 72 cases had a feasible design");
}

#[test]
fn chance_constraint_agrees_with_enum() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/measurements/h100_cudagraph_cal_samples.csv");
    let lat = read_latency_samples(&path).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut solved = 0;
    for case in 0..12 {
        let inst = instance(&mut rng);
        let coef = samples(&inst, &mut rng, 8, 0.05);
        let start = rng.random_range(0..lat.len() - 12);
        for (risk, eps) in [(Risk::Mean, 0.2), (Risk::Cvar { alpha: 0.25 }, 0.5)] {
            let spec = RobustSpec {
                risk,
                coefficients: coef.clone(),
                latency: lat[start..start + 12].to_vec(),
                chance_epsilon: Some(eps),
                latency_scenarios: None,
                latency_devices: Vec::new(),
            };
            solved += agree(&inst, &spec, &format!("case {case} {risk:?} ε={eps}")) as usize;
        }
    }
    assert!(solved >= 8, "only {solved} of 24 cases had a feasible design");
}

#[test]
fn mean_risk_without_samples_is_the_point_optimum() {
    let mut rng = StdRng::seed_from_u64(1);
    let inst = instance(&mut rng);
    let spec = RobustSpec {
        risk: Risk::Mean,
        coefficients: vec![],
        latency: vec![],
        chance_epsilon: None,
        latency_scenarios: None,
        latency_devices: Vec::new(),
    };
    let r = robust_mip(&inst, &spec, &SolveOptions::default()).unwrap();
    let s = colaw::solve::solve(&inst, "enum", &SolveOptions::default()).unwrap();
    assert!((r.objective.unwrap() - s.objective.unwrap()).abs() < 1e-9);
}

#[test]
fn a_sample_that_overflows_at_some_depths_excludes_them_in_both_solvers() {
    // One degenerate bootstrap sample: κ_l = 1e-300 with α_l = −250, so κ_l·l^−α_l is tiny at
    // 4–16 layers and overflows to ∞ at 24. Designs with 24 layers have an unknown risk: neither
    // solver may choose them, and both must agree on the rest.
    let mut rng = StdRng::seed_from_u64(7);
    let mut inst = instance(&mut rng);
    let i = |n: &str| inst.law.coefficient_names().iter().position(|x| x == n).unwrap();
    let (kl, al) = (i("kappa_l"), i("alpha_l"));
    let mut cases = 0;
    for _ in 0..12 {
        inst = instance(&mut rng);
        let mut coefficients = samples(&inst, &mut rng, 6, 0.1);
        coefficients[2][kl] = 1e-300;
        coefficients[2][al] = -250.0;
        for risk in [Risk::Mean, Risk::Cvar { alpha: 0.5 }] {
            let spec = RobustSpec {
                risk,
                coefficients: coefficients.clone(),
                latency: vec![],
                chance_epsilon: None,
                latency_scenarios: None,
                latency_devices: Vec::new(),
            };
            if agree(&inst, &spec, "overflowing sample") {
                cases += 1;
                let e = robust_enum(&inst, &spec).unwrap();
                let m = robust_mip(&inst, &spec, &SolveOptions::default()).unwrap();
                for s in [&e, &m] {
                    let layers = s.arch.as_ref().unwrap().layers;
                    assert!(layers < 24, "{}: chose {layers} layers, whose risk is infinite", s.solver);
                    assert!(s.objective.unwrap().is_finite());
                }
            }
        }
    }
    assert!(cases >= 8, "only {cases} feasible cases");
}

/// A shipped `robust` instance with a chance constraint: (path, its `[robust]` table).
fn shipped_chance_instance() -> (std::path::PathBuf, toml::Table) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/bench/robust");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for p in files {
        let t: toml::Table = std::fs::read_to_string(&p).unwrap().parse().unwrap();
        let r = t["robust"].as_table().unwrap().clone();
        if r.contains_key("chance") && r["risk"].as_str() != Some("mean") {
            return (p, r);
        }
    }
    panic!("no shipped robust instance with a CVaR risk and a chance constraint");
}

#[test]
fn robust_section_equals_the_command_line_flags() {
    let (path, r) = shipped_chance_instance();
    let dir = path.parent().unwrap();
    let samples = dir.join(r["samples"].as_str().unwrap());
    let latency = dir.join(r["latency_samples"].as_str().unwrap());
    let risk = r["risk"].as_str().unwrap();
    let chance = r["chance"].as_float().unwrap().to_string();
    // The same instance without [robust], in another folder (so nothing resolves by accident).
    let text = std::fs::read_to_string(&path).unwrap();
    let plain_text = &text[..text.find("[robust]").unwrap()];
    let d = tempfile::tempdir().unwrap();
    let plain = d.path().join("plain.toml");
    std::fs::write(&plain, plain_text).unwrap();
    let (p, q, s, l) =
        (path.to_str().unwrap(), plain.to_str().unwrap(), samples.to_str().unwrap(), latency.to_str().unwrap());
    let flags = |risk: &str, solver: &str| {
        colaw(&[
            "solve",
            q,
            "--solver",
            solver,
            "--risk",
            risk,
            "--samples",
            s,
            "--latency-samples",
            l,
            "--chance",
            &chance,
        ])
    };
    let from_file = colaw(&["solve", p]);
    let from_flags = flags(risk, "auto");
    for k in ["value", "label", "latency_ok_share", "latency_required_share", "coefficient_samples", "latency_samples"]
    {
        assert_eq!(from_file[k], from_flags[k], "{k}");
    }
    assert_eq!(from_file["status"], "optimal");
    assert_eq!(from_file["coefficient_samples"], 64);
    assert_eq!(from_file["latency_samples"], 200);
    let ok = from_file["latency_ok_share"].as_f64().unwrap();
    assert!(ok + 1e-12 >= 1.0 - r["chance"].as_float().unwrap(), "chance constraint met: {ok}");
    // The robust MIP agrees with the enumeration `auto` picked.
    let mip = colaw(&["solve", p, "--solver", "mip"]);
    assert_eq!(mip["solver"], "robust-mip");
    let (a, b) = (from_file["value"].as_f64().unwrap(), mip["value"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-6 * a, "enum {a} vs mip {b}");
    // A flag overrides the file's value: --risk mean on the file = every part from flags.
    let mean_file = colaw(&["solve", p, "--risk", "mean"]);
    let mean_flags = flags("mean", "enum");
    assert_eq!(mean_file["value"], mean_flags["value"]);
    assert_eq!(mean_file["risk"]["kind"], "mean");
    // min mean ≤ mean of the CVaR design ≤ its CVaR.
    let m = mean_file["value"].as_f64().unwrap();
    assert!(m <= from_file["loss_mean"].as_f64().unwrap() + 1e-12 && from_file["loss_mean"].as_f64().unwrap() <= a);
    // `colaw batch` takes the same robust path.
    let out = d.path().join("b.jsonl");
    let o = common::colaw_cmd().args(["batch", p, q, "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["objective"], from_file["value"]);
    assert_eq!(lines[0]["value"], from_file["value"]);
    assert_eq!(lines[0]["label"], from_file["label"]);
    assert_eq!(lines[0]["status"], "optimal");
    // Without [robust] the batch solves the point problem (no risk field).
    assert!(lines[1]["risk"].is_null() && lines[1]["objective"].is_f64());
}
