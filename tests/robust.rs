//! Robust selection: the MIP (mean, CVaR, latency chance constraint) agrees with exhaustive
//! enumeration on random instances.

use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::region::read_latency_samples;
use colaw::solve::{robust_enum, robust_mip, Risk, RobustSpec, SolveOptions, Status};
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
    (0..n).map(|_| inst.law.values.iter().map(|v| v * (1.0 + spread * rng.random_range(-1.0..1.0))).collect()).collect()
}

/// Checks agreement; returns whether the case had a solution.
fn agree(inst: &Instance, spec: &RobustSpec, what: &str) -> bool {
    let e = robust_enum(inst, spec).unwrap();
    let m = robust_mip(inst, spec, &SolveOptions::default()).unwrap();
    assert_eq!(e.status == Status::Infeasible, m.status == Status::Infeasible, "{what}: feasibility differs");
    if e.status == Status::Optimal {
        assert_eq!(m.status, Status::Optimal, "{what}");
        let (a, b) = (e.value.unwrap(), m.value.unwrap());
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{what}: enum {a} ({:?}) vs mip {b} ({:?})", e.label, m.label);
        if let Some(share) = spec.chance_epsilon.map(|_| m.latency_ok_share.unwrap()) {
            assert!(share + 1e-12 >= m.latency_required_share.unwrap(), "{what}");
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
    };
    let r = robust_mip(&inst, &spec, &SolveOptions::default()).unwrap();
    let s = colaw::solve::solve(&inst, "enum", &SolveOptions::default()).unwrap();
    assert!((r.value.unwrap() - s.objective.unwrap()).abs() < 1e-9);
}
