//! Region probabilities on a hand-checkable toy: four designs, two coefficient samples.

use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::region::{region, RegionOptions};

/// L = E + A/layers + B/hidden on layers {4, 8} × hidden {512, 1024}; a 50 M parameter
/// budget removes (8, 1024) (≈ 86 M parameters) and keeps the other three.
fn toy() -> (tempfile::TempDir, Instance) {
    let dir = tempfile::tempdir().unwrap();
    let law = dir.path().join("toy.toml");
    std::fs::write(
        &law,
        "name = 'toy'\n[coefficients]\nE = 2.0\nA = 4.0\nB = 1024.0\n[form]\nconstant = 'E'\n\
         [[form.terms]]\ncoef = 'A'\npow = { layers = -1 }\n[[form.terms]]\ncoef = 'B'\npow = { hidden = -1 }\n",
    )
    .unwrap();
    let t = format!(
        "[space]\nlayers = [4, 8]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [1000]\n\
         [law]\nname = '{}'\n[[scenario]]\nhardware = 'jetson-agx-orin-64gb'\n[scenario.budget]\nparams = 50e6\n",
        law.display()
    );
    let inst = Instance::from_toml_str(&t, &Origin::file("toy.toml"), None).unwrap();
    (dir, inst)
}

#[test]
fn toy_probabilities_by_hand() {
    let (_d, inst) = toy();
    assert_eq!(inst.law.coefficient_names(), vec!["A", "B", "E"]);
    // Sample 1: E=2, A=4, B=1024 → (4,512) 5, (8,512) 4.5, (4,1024) 4: optimum (4,1024).
    // Sample 2: E=2, A=40, B=100 → (4,512) 12.195, (8,512) 7.195, (4,1024) 12.098: optimum (8,512).
    let samples = vec![vec![4.0, 1024.0, 2.0], vec![40.0, 100.0, 2.0]];
    let r = region(&inst, &samples, &[], &RegionOptions { target_loss: Some(4.6), latency_scenarios: None }).unwrap();
    assert_eq!(r.draws, 2);
    assert_eq!(r.designs_listed, 3, "(8, 1024) is never feasible");
    let get = |l: u32, d: u32| r.designs.iter().find(|x| x.layers == l && x.hidden == d).unwrap();
    let (a, b, c) = (get(4, 512), get(8, 512), get(4, 1024));
    for x in [a, b, c] {
        assert_eq!(x.p_feasible, 1.0);
    }
    assert_eq!((a.p_optimal, b.p_optimal, c.p_optimal), (0.0, 0.5, 0.5));
    assert_eq!((a.p_target, b.p_target, c.p_target), (0.0, 0.5, 0.5));
    let l2 = 2.0 + 40.0 / 4.0 + 100.0 / 512.0;
    assert!((a.loss_mean - (5.0 + l2) / 2.0).abs() < 1e-12);
    assert!((a.loss_p05 - (5.0 + 0.05 * (l2 - 5.0))).abs() < 1e-12);
    assert!((a.loss_p95 - (5.0 + 0.95 * (l2 - 5.0))).abs() < 1e-12);
    // Point law (file values = sample 1): optimum (4, 1024), optimal in half the draws.
    let p = &r.designs[r.point_optimum.unwrap()];
    assert_eq!((p.layers, p.hidden), (4, 1024));
    assert_eq!(p.p_optimal, 0.5);
    assert_eq!(r.infeasible_draws, 0);
}

#[test]
fn a_sample_whose_law_is_not_finite_wins_nothing() {
    // A bootstrap refit can run off to a degenerate point (κ → 0 with |α| → ∞) where the law is
    // 0·∞ = NaN at every design. Such a draw must not hand a win to whichever design comes
    // first, and must not turn the other draws' statistics into NaN.
    let (_d, inst) = toy();
    let samples = vec![vec![4.0, 1024.0, 2.0], vec![40.0, 100.0, 2.0], vec![f64::INFINITY, f64::NEG_INFINITY, 2.0]];
    let r = region(&inst, &samples, &[], &RegionOptions::default()).unwrap();
    assert_eq!(r.draws, 3);
    assert_eq!(r.infeasible_draws, 1, "the NaN draw has no optimum");
    let get = |l: u32, d: u32| r.designs.iter().find(|x| x.layers == l && x.hidden == d).unwrap();
    let (a, b, c) = (get(4, 512), get(8, 512), get(4, 1024));
    assert_eq!((a.p_optimal, b.p_optimal, c.p_optimal), (0.0, 1.0 / 3.0, 1.0 / 3.0));
    // Means over the finite samples: (8,512) (4.5 + 7.195)/2 beats (4,1024) (4 + 12.098)/2.
    assert!((b.loss_mean - (4.5 + 2.0 + 40.0 / 8.0 + 100.0 / 512.0) / 2.0).abs() < 1e-12);
    let m = &r.designs[r.most_often_optimal.unwrap()];
    assert_eq!((m.layers, m.hidden), (8, 512), "a tie in wins goes to the lower mean loss");
}

#[test]
fn samples_file_must_name_every_coefficient() {
    let (d, inst) = toy();
    let f = d.path().join("s.csv");
    std::fs::write(&f, "sample,A,E\n0,1,2\n").unwrap();
    let e = colaw::law::read_coefficient_samples(&f, inst.law.as_ref()).unwrap_err().to_string();
    assert!(e.contains("s.csv") && e.contains("`B`"), "{e}");
    std::fs::write(&f, "sample,A,B,E\n0,1,x,2\n").unwrap();
    let e = colaw::law::read_coefficient_samples(&f, inst.law.as_ref()).unwrap_err().to_string();
    assert!(e.contains("s.csv:2") && e.contains("`B`"), "{e}");
    std::fs::write(&f, "B,A,E,extra\n3,1,2,9\n").unwrap();
    assert_eq!(colaw::law::read_coefficient_samples(&f, inst.law.as_ref()).unwrap(), vec![vec![1.0, 3.0, 2.0]]);
}
