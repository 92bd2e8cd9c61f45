//! Property test: on random instances (spaces, budgets, laws, terms, one or two scenarios)
//! `mip`, `mip-assign` and `enum` agree on feasibility and on the optimal objective
//! (relative 1e-6), top-k lists agree, and `analytic` is never better than exact.

use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions, Status};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

static CASES: AtomicUsize = AtomicUsize::new(0);
static FEASIBLE: AtomicUsize = AtomicUsize::new(0);

const GENERAL_LAW: &str = r#"
name = "mixed"
tokens = 1e10
[coefficients]
E = 2.0
a = 30.0
b = 0.5
[form]
constant = "E"
[[form.terms]]
coef = "a"
pow = { layers = -0.4, hidden = -0.35 }
[[form.terms]]
coef = "b"
pow = { d_m = -0.1, ffn_ratio = -0.2 }
"#;

#[derive(Debug, Clone)]
struct Case {
    depths: Vec<u32>,
    hidden: Vec<u32>,
    head_dim: u32,
    kv: Vec<&'static str>,
    ratios: Vec<f64>,
    moe: Vec<(u32, u32)>,
    wdt: Vec<&'static str>,
    law: usize,
    terms: usize,
    two_scenarios: bool,
    tpot: f64,
    total: f64,
    mem_gb: f64,
    params: f64,
    vocab: u32,
    top_k: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::sample::subsequence(vec![2u32, 4, 6, 8, 12, 16, 20, 24, 32, 40], 1..6),
        proptest::sample::subsequence(vec![256u32, 384, 512, 768, 1024, 1536, 2048], 1..4),
        prop_oneof![Just(64u32), Just(128u32)],
        proptest::sample::subsequence(vec!["1", "2", "4", "\"heads\""], 1..4),
        proptest::sample::subsequence(vec![0.5f64, 1.0, 2.0, 3.5], 1..3),
        proptest::sample::subsequence(vec![(1u32, 1u32), (4, 1), (8, 2), (16, 1)], 1..3),
        proptest::sample::subsequence(vec!["bf16", "int8", "int4"], 1..3),
        0usize..3,
        0usize..4,
        any::<bool>(),
    )
        .prop_flat_map(|(depths, hidden, head_dim, kv, ratios, moe, wdt, law, terms, two)| {
            (
                Just((depths, hidden, head_dim, kv, ratios, moe, wdt, law, terms, two)),
                1.0f64..40.0,
                20.0f64..2000.0,
                0.1f64..6.0,
                5e7f64..3e9,
                prop_oneof![Just(32000u32), Just(151936u32)],
                1usize..4,
            )
        })
        .prop_map(
            |(
                (depths, hidden, head_dim, kv, ratios, moe, wdt, law, terms, two),
                tpot,
                total,
                mem,
                params,
                vocab,
                k,
            )| Case {
                depths,
                hidden,
                head_dim,
                kv,
                ratios,
                moe,
                wdt,
                law,
                terms,
                two_scenarios: two,
                tpot,
                total,
                mem_gb: mem,
                params,
                vocab,
                top_k: k,
            },
        )
}

fn toml(c: &Case, law_path: &str) -> String {
    let list = |v: &[String]| v.join(", ");
    let law = match c.law {
        0 => "paper".to_string(),
        1 => "chinchilla".to_string(),
        _ => law_path.to_string(),
    };
    let mut s = format!(
        "name = \"random\"\n[space]\nlayers = [{}]\nhidden = [{}]\nhead_dim = [{}]\nkv_heads = [{}]\nffn_ratio = [{}]\nffn_multiple = 32\nmoe = [{}]\nweight_dtype = [{}]\nvocab = [{}]\ntied = [true, false]\n[law]\nname = \"{}\"\n",
        list(&c.depths.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
        list(&c.hidden.iter().map(|d| d.to_string()).collect::<Vec<_>>()),
        c.head_dim,
        c.kv.join(", "),
        list(&c.ratios.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>()),
        list(&c.moe.iter().map(|(e, k)| format!("[{e}, {k}]")).collect::<Vec<_>>()),
        c.wdt.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", "),
        c.vocab,
        law
    );
    s += &format!(
        "[[scenario]]\nname = \"edge\"\nhardware = \"jetson-orin-nano-8gb\"\n[scenario.budget]\ntpot_ms = {}\nmemory_gb = {}\nparams = {}\n",
        c.tpot, c.mem_gb, c.params
    );
    if c.two_scenarios {
        s += &format!(
            "[[scenario]]\nname = \"server\"\nprompt = 2048\ngen = 64\nbatch = 4\n[scenario.hardware]\nname = \"srv\"\nmemory_gb = 80\nbandwidth_gbps = 900\n[scenario.hardware.peak_tflops]\nbf16 = 300\n[scenario.budget]\ntotal_ms = {}\n",
            c.total
        );
    }
    match c.terms {
        1 => s += "[[objective.term]]\nkind = \"params\"\nweight = 1e-10\n",
        2 => s += "[[objective.term]]\nkind = \"latency\"\nmetric = \"tpot\"\nweight = 0.01\n[[objective.term]]\nkind = \"kv_cache\"\nweight = 0.5\n",
        3 => s += "[[objective.term]]\nkind = \"energy\"\nweight = 0.02\npj_per_byte = 20\npj_per_flop = 0.5\n",
        _ => {}
    }
    s
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-12)
}

/// Property-test cases: `default` (the fast mode CI runs), or `COLAW_PROPTEST_CASES` (the long mode).
fn proptest_cases(default: u32) -> u32 {
    std::env::var("COLAW_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(240), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn solvers_agree(c in case()) {
        let dir = tempfile::tempdir().unwrap();
        let law_path = dir.path().join("mixed.toml");
        std::fs::write(&law_path, GENERAL_LAW).unwrap();
        let text = toml(&c, &law_path.display().to_string());
        let inst = match Instance::from_toml_str(&text, &Origin::file("random.toml"), None) {
            Ok(i) => i,
            Err(e) => {
                // Only an empty space (every combination breaks a rule) may be refused.
                prop_assert!(e.to_string().contains("none valid"), "{e}\n{text}");
                return Ok(());
            }
        };
        let opts = SolveOptions { top_k: c.top_k, compare_exact: true, ..SolveOptions::default() };
        let e = solve(&inst, "enum", &opts).unwrap();
        let a = solve(&inst, "mip-assign", &opts).unwrap();
        let mut runs = vec![("mip-assign", a)];
        if c.law != 2 && !(c.law == 1 && c.terms > 0) {
            runs.push(("mip", solve(&inst, "mip", &opts).unwrap()));
        } else {
            prop_assert!(solve(&inst, "mip", &opts).is_err(), "compact mip must refuse a general objective");
        }
        prop_assert!(e.verified, "enum unverified: {}", e.message);
        prop_assert!(matches!(e.status, Status::Optimal | Status::Infeasible));
        CASES.fetch_add(1, Ordering::Relaxed);
        for (name, s) in &runs {
            prop_assert_eq!(s.status, e.status, "{} vs enum\n{}", name, text);
            prop_assert!(s.verified, "{} unverified: {}", name, s.message);
            if e.status == Status::Optimal {
                prop_assert_eq!(s.designs.len(), e.designs.len(), "{} top-k length\n{}", name, text);
                for (x, y) in s.designs.iter().zip(&e.designs) {
                    prop_assert!(close(x.objective, y.objective), "{}: {} vs enum {}\n{}", name, x.objective, y.objective, text);
                }
            }
        }
        let an = solve(&inst, "analytic", &opts).unwrap();
        prop_assert!(an.verified, "analytic unverified: {}", an.message);
        if e.status == Status::Optimal {
            FEASIBLE.fetch_add(1, Ordering::Relaxed);
            let best = e.objective.unwrap();
            let h = an.objective.unwrap();
            prop_assert!(h >= best - 1e-9 * best.abs(), "analytic {} better than exact {}", h, best);
            prop_assert!(close(an.exact_objective.unwrap(), best));
        } else {
            prop_assert_eq!(an.status, Status::Infeasible);
            let r = e.infeasibility.as_ref().unwrap();
            prop_assert_eq!(r.len(), inst.budgets.len());
        }
    }
}

#[test]
fn zz_report_counts() {
    // Printed with --nocapture; the proptest above asserts per case.
    eprintln!(
        "property cases checked: {}, feasible: {}",
        CASES.load(Ordering::Relaxed),
        FEASIBLE.load(Ordering::Relaxed)
    );
}
