//! `colaw gen`: deterministic for a seed; every family's instances load and solve;
//! `infeasible` instances are infeasible and `tight` ones feasible (with exact solvers
//! agreeing); `large` sizes follow the ladder; `robust` instances carry real samples files
//! (a bootstrap of a fit, the measured H100 calibration samples) and the exact robust
//! variants agree on them.

mod common;

use colaw::gen::{generate, write_all, Family, GenOptions};
use colaw::instance::Instance;
use colaw::solve::{robust_enum, robust_mip, solve, SolveOptions, Status};
use colaw::uncertainty::Risk;

fn opts(family: Family, count: usize, seed: u64) -> GenOptions {
    GenOptions { family, count, seed, max_candidates: 1e6 }
}

fn texts(o: &GenOptions) -> Vec<(String, String)> {
    generate(o).unwrap().iter().map(|g| (g.file_name.clone(), g.to_toml().unwrap())).collect()
}

#[test]
fn deterministic_for_a_seed() {
    for fam in [Family::Paper, Family::Multi, Family::Infeasible, Family::Tight, Family::Large] {
        let a = texts(&opts(fam, 3, 11));
        assert_eq!(a, texts(&opts(fam, 3, 11)), "{fam:?}");
        assert_ne!(a, texts(&opts(fam, 3, 12)), "{fam:?}: another seed gives other instances");
    }
    // Instance i does not depend on the count (except for the large ladder).
    let a = texts(&opts(Family::Paper, 5, 2));
    assert_eq!(a[..3], texts(&opts(Family::Paper, 3, 2))[..]);
}

fn quick() -> SolveOptions {
    SolveOptions { compare_exact: false, time_limit_s: 30.0, ..Default::default() }
}

#[test]
fn every_family_loads_and_solves() {
    let dir = tempfile::tempdir().unwrap();
    for fam in [Family::Paper, Family::Multi, Family::Infeasible, Family::Tight, Family::Large] {
        let gens = generate(&opts(fam, 4, 5)).unwrap();
        let paths = write_all(&dir.path().join(fam.name()), &gens).unwrap();
        for p in paths {
            let inst = Instance::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            for kind in ["enum", "analytic"] {
                let s = solve(&inst, kind, &quick()).unwrap();
                assert!(s.verified, "{}: {kind}: {}", p.display(), s.message);
                assert_ne!(s.status, Status::Error, "{}: {}", p.display(), s.message);
            }
        }
    }
}

#[test]
fn infeasible_are_infeasible_and_tight_feasible() {
    for g in generate(&opts(Family::Infeasible, 6, 1)).unwrap() {
        let inst = Instance::from_file(g.file.clone(), &Default::default(), None, "x").unwrap();
        for kind in ["enum", "mip", "mip-assign"] {
            let s = solve(&inst, kind, &quick()).unwrap();
            assert_eq!(s.status, Status::Infeasible, "{} {kind}: {}", g.file_name, s.message);
            assert!(s.infeasibility.unwrap().iter().any(|b| !b.satisfiable_alone), "{}", g.file_name);
        }
    }
    for g in generate(&opts(Family::Tight, 6, 1)).unwrap() {
        let inst = Instance::from_file(g.file.clone(), &Default::default(), None, "x").unwrap();
        let mut objs = Vec::new();
        for kind in ["enum", "mip", "mip-assign"] {
            let s = solve(&inst, kind, &quick()).unwrap();
            assert_eq!(s.status, Status::Optimal, "{} {kind}: {}", g.file_name, s.message);
            assert!(s.verified);
            objs.push(s.objective.unwrap());
        }
        for o in &objs {
            assert!((o - objs[0]).abs() <= 1e-6 * objs[0].abs(), "{}: {objs:?}", g.file_name);
        }
    }
}

#[test]
fn large_sizes_follow_the_ladder() {
    let gens = generate(&opts(Family::Large, 3, 4)).unwrap();
    let sizes: Vec<u64> = gens
        .iter()
        .map(|g| Instance::from_file(g.file.clone(), &Default::default(), None, "x").unwrap().candidates())
        .collect();
    assert!(sizes[0] <= 10_000 && sizes[1] <= 100_000 && sizes[2] <= 1_000_000, "{sizes:?}");
    assert!(sizes[2] >= 100_000 && sizes[1] > sizes[0], "{sizes:?}");
}

/// Regression: `colaw batch` over many instances once overflowed a rayon worker's stack
/// (each blocked solve stole the next instance); 1,500 generated instances must complete.
#[test]
fn batch_of_many_generated_instances_completes() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("many");
    write_all(&dir, &generate(&opts(Family::Paper, 1500, 9)).unwrap()).unwrap();
    let out = d.path().join("r.jsonl");
    let o = common::colaw_cmd()
        // A few generated paper instances are infeasible (exit code 3); this test is about completion.
        .args(["batch", dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2", "--allow-infeasible"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1500);
}

/// Every generated file's name and text, the samples files included.
fn all_texts(o: &GenOptions) -> Vec<(String, String)> {
    generate(o)
        .unwrap()
        .iter()
        .flat_map(|g| {
            let mut v = vec![(g.file_name.clone(), g.to_toml().unwrap())];
            v.extend(g.extra_files.iter().cloned());
            v
        })
        .collect()
}

#[test]
fn robust_family_is_reproducible_and_loads() {
    let a = all_texts(&opts(Family::Robust, 4, 11));
    assert_eq!(a, all_texts(&opts(Family::Robust, 4, 11)), "same seed, same files (samples included)");
    assert_ne!(a, all_texts(&opts(Family::Robust, 4, 12)));
    let d = tempfile::tempdir().unwrap();
    let gens = generate(&opts(Family::Robust, 4, 11)).unwrap();
    let paths = write_all(d.path(), &gens).unwrap();
    let (mut chance, mut plain) = (0, 0);
    for p in &paths {
        let inst = Instance::load(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let spec = inst.robust.clone().unwrap_or_else(|| panic!("{}: no [robust]", p.display()));
        // 64 bootstrap refits of the paper law, in its coefficient order, near its values.
        assert_eq!(spec.coefficients.len(), 64);
        let l_inf = inst.law.coefficient_names().iter().position(|n| n == "L_inf").unwrap();
        let spread = spec.coefficients.iter().map(|c| c[l_inf]).fold(f64::NAN, f64::max)
            - spec.coefficients.iter().map(|c| c[l_inf]).fold(f64::NAN, f64::min);
        assert!(spread > 0.0, "bootstrap samples differ");
        assert!(matches!(spec.risk, Risk::Mean | Risk::Cvar { alpha: 0.05 | 0.1 | 0.25 }));
        match spec.chance_epsilon {
            Some(e) => {
                chance += 1;
                assert!([0.0, 0.01, 0.05, 0.1].contains(&e));
                assert_eq!(spec.latency.len(), 200, "the measured H100 calibration samples");
                assert_eq!(inst.scenarios[0].hardware.name, "NVIDIA H100 SXM5 80GB (calibrated, cudagraph)");
            }
            None => plain += 1,
        }
        let e = robust_enum(&inst, &spec).unwrap();
        let m = robust_mip(&inst, &spec, &quick()).unwrap();
        assert_eq!(e.status, Status::Optimal, "{}: {}", p.display(), e.message);
        assert_eq!(m.status, Status::Optimal, "{}: {}", p.display(), m.message);
        assert!(e.verified && m.verified);
        let (a, b) = (e.objective.unwrap(), m.objective.unwrap());
        assert!((a - b).abs() <= 1e-6 * a.abs(), "{}: enum {a} vs mip {b}", p.display());
        // Fitted to runs drawn from the paper law, the samples predict close to it.
        let (mean, point) =
            (e.robust.as_ref().unwrap().loss_mean.unwrap(), e.robust.as_ref().unwrap().loss_point.unwrap());
        assert!((mean - point).abs() < 0.01 * point, "{}: mean loss {mean} vs the law's {point}", p.display());
    }
    assert!(chance > 0 && plain > 0, "seed 11 gives both kinds ({chance} chance, {plain} plain)");
    // The latency samples are the shipped measurement, byte for byte.
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/measurements/h100_cudagraph_cal_samples.csv"),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(d.path().join(colaw::gen::ROBUST_LATENCY_SAMPLES)).unwrap(), shipped);
}
