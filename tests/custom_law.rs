//! A law that is not a power law (examples/logistic_law.rs) works wherever a law file does:
//! `enum` and `mip-assign` agree with a brute-force minimum over the space, the compact `mip`
//! refuses it, and robust selection, the region and the Pareto bands take its coefficient
//! samples.

#[allow(dead_code)]
#[path = "../examples/logistic_law.rs"]
mod example;

use colaw::law::{LawInputs, LossLaw};
use colaw::pareto::{add_loss_bands, pareto};
use colaw::region::{region, RegionOptions};
use colaw::scenario::BudgetMetric;
use colaw::solve::{evaluate, robust_enum, solve, SolveOptions, Status};
use colaw::uncertainty::{Risk, RobustSpec};
use example::{instance, samples, LogisticLaw};

#[test]
fn the_law_is_the_hand_formula() {
    // N = 10⁸ non-embedding parameters is the midpoint: halfway between L₀ and L∞; hidden /
    // layers = r* removes the aspect penalty.
    let law = LogisticLaw::example();
    let mut x = LawInputs::unknown();
    x.set(colaw::law::Var::NonEmbeddingParams, 1e8);
    x.set(colaw::law::Var::Hidden, 1024.0);
    x.set(colaw::law::Var::Layers, 16.0);
    assert!((law.loss(&x) - (2.2 + (5.5 - 2.2) / 2.0)).abs() < 1e-12);
    x.set(colaw::law::Var::Layers, 8.0); // aspect 128 = 2 r*: + β (ln 2)²
    assert!((law.loss(&x) - (3.85 + 0.02 * 2f64.ln().powi(2))).abs() < 1e-12);
}

#[test]
fn enum_and_mip_assign_find_the_brute_force_optimum() {
    let inst = instance().unwrap();
    let opts = SolveOptions::default();
    let en = solve(&inst, "enum", &opts).unwrap();
    let ma = solve(&inst, "mip-assign", &opts).unwrap();
    assert_eq!(en.status, Status::Optimal, "{}", en.message);
    assert_eq!(ma.status, Status::Optimal, "{}", ma.message);
    assert!(en.verified && ma.verified);
    // Every candidate evaluated from scratch: the feasible minimum.
    let mut best = f64::INFINITY;
    for w in 0..inst.space.widths.len() {
        for d in 0..inst.space.depths.len() {
            let v = evaluate(&inst, w, d).unwrap();
            if v.verified {
                best = best.min(v.objective);
            }
        }
    }
    assert!(best.is_finite(), "the budget leaves no design");
    for s in [&en, &ma] {
        let o = s.objective.unwrap();
        assert!((o - best).abs() <= 1e-9 * best.abs(), "{}: {o} vs brute force {best}", s.solver);
        // The reported loss is the custom law's, not a law file's.
        let x = LawInputs::from_arch(s.arch.as_ref().unwrap(), inst.tokens);
        assert_eq!(s.loss.unwrap(), LogisticLaw::example().loss(&x));
    }
    let e = solve(&inst, "mip", &opts).unwrap_err().to_string();
    assert!(e.contains("mip-assign or enum"), "{e}");
}

#[test]
fn samples_drive_robust_selection_region_and_bands() {
    let inst = instance().unwrap();
    let coef = samples(8, 0.03);
    assert!(coef.windows(2).any(|w| w[0] != w[1]), "samples differ");
    let spec = RobustSpec {
        risk: Risk::Mean,
        coefficients: coef.clone(),
        latency: vec![],
        chance_epsilon: None,
        latency_scenarios: None,
        latency_devices: Vec::new(),
    };
    let r = robust_enum(&inst, &spec).unwrap();
    assert_eq!(r.status, Status::Optimal, "{}", r.message);
    // Its objective is the mean over the sample laws of the chosen design's loss.
    let x = LawInputs::from_arch(r.arch.as_ref().unwrap(), inst.tokens);
    let mean = coef.iter().map(|c| inst.law.with_coefficients(c).unwrap().loss(&x)).sum::<f64>() / coef.len() as f64;
    assert!((r.objective.unwrap() - mean).abs() < 1e-9 * mean, "{:?} vs {mean}", r.objective);
    let reg = region(&inst, &coef, &[], &RegionOptions::default()).unwrap();
    let p: f64 = reg.designs.iter().map(|d| d.p_optimal).sum();
    assert!((p - 1.0).abs() < 1e-9, "P(optimal) sums to {p}");
    let mut front = pareto(&inst, BudgetMetric::TpotMs, 0, 3, "enum", &SolveOptions::default()).unwrap();
    assert!(!front.is_empty());
    add_loss_bands(&inst, &mut front, &coef).unwrap();
    for f in &front {
        let (lo, hi) = (f.loss_p05.unwrap(), f.loss_p95.unwrap());
        assert!(lo <= hi && lo < f.loss + 0.5 && hi > f.loss - 0.5, "{lo} {hi} {}", f.loss);
    }
}
