//! `colaw gen`: deterministic for a seed; every family's instances load and solve;
//! `infeasible` instances are infeasible and `tight` ones feasible (with exact solvers
//! agreeing); `large` sizes follow the ladder.

use colaw::gen::{generate, write_all, Family, GenOptions};
use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions, Status};

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
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_colaw"))
        .args(["batch", dir.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1500);
}
