//! The solve driver: the registry and its names, each variant's capabilities, how a request
//! resolves on point and `[robust]` instances, one `Solution` for both, and the one check of
//! solver settings and `--write-model`.

use colaw::cost::Linear;
use colaw::error::Origin;
use colaw::instance::{Instance, SettingNames, SolverSettings, SolverSpec};
use colaw::objective::{DesignView, ObjectiveTerm, WidthView};
use colaw::solve::{evaluate, solve, Problem, SolveOptions, SolverKind, Status, REGISTRY};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SMALL: &str = r#"
name = "driver"
[space]
layers = { from = 4, to = 16, step = 4 }
hidden = [512, 1024]
head_dim = [64]
kv_heads = [2, "heads"]
ffn_ratio = [2.0, 4.0]
vocab = [32000]
[[scenario]]
name = "orin"
hardware = "jetson-orin-nano-8gb"
prompt = 512
gen = 128
[scenario.budget]
tpot_ms = 30
"#;

fn small() -> Instance {
    Instance::from_toml_str(SMALL, &Origin::file("driver.rs"), None).unwrap()
}

fn robust() -> Instance {
    Instance::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/bench/robust/robust-s2026-00000.toml"))
        .unwrap()
}

fn kind(s: &str) -> SolverKind {
    s.parse().unwrap()
}

#[test]
fn names_parse_and_round_trip() {
    let names = SolverKind::names();
    assert_eq!(names[0], "auto");
    assert_eq!(names.len(), REGISTRY.len() + 1);
    for n in &names {
        assert_eq!(kind(n).name(), *n);
        assert_eq!(names.iter().filter(|m| *m == n).count(), 1, "{n} registered twice");
    }
    for n in ["enum", "mip", "mip-assign", "analytic", "robust-enum", "robust-mip"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let e = "simplex".parse::<SolverKind>().unwrap_err().to_string();
    assert!(e.contains("simplex") && e.contains("mip-assign"), "{e}");
}

#[test]
fn capabilities() {
    let exact = |s: &str| kind(s).is_exact();
    assert!(exact("auto") && exact("enum") && exact("mip") && exact("robust-mip"));
    assert!(!exact("analytic"));
    let writes = |s: &str| kind(s).can_write_model();
    assert!(writes("mip") && writes("mip-assign") && writes("robust-mip"));
    assert!(!writes("enum") && !writes("analytic") && !writes("auto"));
    assert!(kind("robust-enum").is_robust() && !kind("enum").is_robust() && !kind("auto").is_robust());
}

/// A term without a depth split: the compact MIP cannot use it.
struct NoSplit;

impl ObjectiveTerm for NoSplit {
    fn name(&self) -> &str {
        "no_split"
    }
    fn value(&self, d: &DesignView) -> f64 {
        1e-3 * (d.arch.layers as f64).sqrt()
    }
    fn split(&self, _w: &WidthView) -> Option<Linear> {
        None
    }
}

#[test]
fn requests_resolve_on_point_and_robust_instances() {
    let inst = small();
    let p = Problem::new(&inst).unwrap();
    let (s, why) = kind("auto").resolve(&p).unwrap();
    assert_eq!(s.name(), "enum");
    assert!(why.unwrap().contains("candidates"));
    assert!(kind("mip").supports(&p) && kind("mip-assign").supports(&p));
    let e = kind("robust-enum").resolve(&p).err().unwrap().to_string();
    assert!(e.contains("[robust]"), "{e}");

    let mut general = small();
    general.add_term(Arc::new(NoSplit));
    let g = Problem::new(&general).unwrap();
    assert!(!kind("mip").supports(&g), "the compact MIP needs a depth split");
    assert!(kind("mip-assign").supports(&g) && kind("enum").supports(&g));
    assert!(solve(&general, "mip", &SolveOptions::default()).is_err());

    let r = robust();
    let rp = Problem::new(&r).unwrap();
    assert_eq!(kind("enum").resolve(&rp).unwrap().0.name(), "robust-enum");
    assert_eq!(kind("mip").resolve(&rp).unwrap().0.name(), "robust-mip");
    assert_eq!(kind("auto").resolve(&rp).unwrap().0.name(), "robust-enum", "8,200 candidates: enumeration");
    let e = kind("analytic").resolve(&rp).err().unwrap().to_string();
    assert!(e.contains("robust-enum") && e.contains("analytic"), "{e}");
}

#[test]
fn one_solution_for_point_and_robust() {
    let inst = small();
    let s = solve(&inst, "enum", &SolveOptions::default()).unwrap();
    assert_eq!(s.status, Status::Optimal);
    assert!(s.robust.is_none());
    let (w, d) = s.pick.unwrap();
    let again = evaluate(&inst, w, d).unwrap();
    assert_eq!(again.label, s.designs[0].label);
    assert_eq!(Some(again.objective), s.objective);

    let r = robust();
    let opts = SolveOptions::default();
    let e = solve(&r, "robust-enum", &opts).unwrap();
    let m = solve(&r, "robust-mip", &opts).unwrap();
    for s in [&e, &m] {
        let rep = s.robust.as_ref().expect("a robust block");
        assert_eq!(s.objective, rep.value, "{}: objective is the risk value", s.solver);
        assert_eq!(s.loss, rep.loss_point);
        assert!(s.verified && s.designs.is_empty());
        let json = serde_json::to_value(s).unwrap();
        for k in ["risk", "value", "loss_mean", "coefficient_samples", "objective", "label"] {
            assert!(json.get(k).is_some(), "{k} missing at top level");
        }
    }
    let (a, b) = (e.objective.unwrap(), m.objective.unwrap());
    assert!((a - b).abs() <= 1e-6 * a.abs(), "robust-enum {a} vs robust-mip {b}");
    assert_eq!(solve(&r, "auto", &opts).unwrap().solver, "robust-enum");
}

#[test]
fn settings_have_one_check_for_file_and_flags() {
    let spec = |gap: Option<f64>, threads: Option<u32>| SolverSpec {
        kind: "auto".into(),
        time_limit_s: None,
        gap,
        threads,
        seed: None,
        top_k: None,
        max_candidates: None,
    };
    let o = Origin::file("x.toml");
    let mut s = SolverSettings::default();
    let e = s.apply(&spec(Some(1.5), None), &o, SettingNames::File).unwrap_err().to_string();
    assert!(e.contains("solver.gap") && e.contains("1.5") && e.contains("[0, 1)"), "{e}");
    let e = s.apply(&spec(Some(-0.1), None), &Origin::default(), SettingNames::Flags).unwrap_err().to_string();
    assert!(e.contains("--gap"), "{e}");
    assert!(s.apply(&spec(None, Some(0)), &o, SettingNames::File).is_err(), "a file needs ≥ 1 thread");
    s.apply(&spec(Some(0.01), Some(0)), &Origin::default(), SettingNames::Flags).unwrap();
    assert_eq!((s.gap, s.threads), (0.01, 0), "--threads 0 means every core");
    let opts = SolveOptions::from_settings(&s);
    assert_eq!((opts.gap, opts.threads), (0.01, 0));
}

#[test]
fn write_model_needs_a_mip_and_a_model_file() {
    let with = |p: &str| SolveOptions { write_model: Some(PathBuf::from(p)), ..SolveOptions::default() };
    assert!(with("m.lp").validate("mip").is_ok());
    assert!(with("m.mps").validate("mip-assign").is_ok());
    let e = with("m.lp").validate("enum").unwrap_err().to_string();
    assert!(e.contains("--write-model") && e.contains("enum"), "{e}");
    let e = with("m.txt").validate("mip").unwrap_err().to_string();
    assert!(e.contains(".lp or .mps"), "{e}");
    assert!(SolveOptions::default().validate("enum").is_ok());
}
