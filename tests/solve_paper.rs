//! Every bundled paper instance (the large benchmark spaces aside): the compact MIP proves optimality and agrees with
//! enumeration; every design is verified.

use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions, Status};

#[test]
fn table5_instances_mip_equals_enum() {
    let mut n = 0;
    let mut files: Vec<_> = std::fs::read_dir("instances/paper")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("large-"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 30, "7 devices × 4 Table 2 budgets + 2 Qwen2.5-0.5B-latency instances");
    for f in files {
        let inst = Instance::load(&f).unwrap();
        let e = solve(&inst, "enum", &SolveOptions::default()).unwrap();
        let m = solve(&inst, "mip", &SolveOptions::default()).unwrap();
        assert_eq!(e.status, Status::Optimal, "{}", f.display());
        assert_eq!(m.status, Status::Optimal, "{}", f.display());
        assert!(e.verified && m.verified);
        let (a, b) = (e.objective.unwrap(), m.objective.unwrap());
        assert!((a - b).abs() <= 1e-6 * a, "{}: enum {a} mip {b}", f.display());
        assert!(m.gap.unwrap() <= 1e-6);
        n += 1;
    }
    assert_eq!(n, 30);
}
