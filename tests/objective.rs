//! Objective terms: each built-in term's value by hand, its depth split equal to its value at
//! every depth (what lets the compact MIP use it), and a bad `[[objective.term]]` named.

use colaw::cost::Metrics;
use colaw::error::Origin;
use colaw::instance::Instance;
use colaw::objective::{DesignView, WidthView};
use colaw::solve::{params_linear, Problem};

const BASE: &str = r#"
name = "terms"
[space]
layers = { from = 4, to = 24, step = 4 }
hidden = [768, 1536]
head_dim = [64]
kv_heads = [2, "heads"]
ffn_ratio = [2.0]
moe = [[1, 1], [8, 2]]
vocab = [32000]
[[scenario]]
name = "orin"
hardware = "jetson-orin-nano-8gb"
prompt = 512
gen = 128
[[scenario]]
name = "h100"
hardware = "nvidia-h100-sxm"
prompt = 2048
gen = 512
"#;

const TERMS: &str = r#"
[[objective.term]]
kind = "params"
weight = 1e-9
[[objective.term]]
kind = "active_params"
weight = 2e-9
[[objective.term]]
kind = "latency"
metric = "total"
scenario = "h100"
weight = 0.01
[[objective.term]]
kind = "memory"
weight = 0.3
[[objective.term]]
kind = "kv_cache"
scenario = "h100"
weight = 0.5
[[objective.term]]
kind = "energy"
weight = 0.1
pj_per_byte = 20.0
pj_per_flop = 0.5
"#;

fn load(extra: &str) -> colaw::error::Result<Instance> {
    Instance::from_toml_str(&format!("{BASE}{extra}"), &Origin::file("objective.rs"), None)
}

/// Every (width, depth) design with its exact metrics, passed to `f` with its width view.
fn each_design(inst: &Instance, mut f: impl FnMut(&WidthView, &DesignView, u32)) {
    let p = Problem::new(inst).unwrap();
    let mut buf = Vec::new();
    for (w, wc) in inst.space.widths.iter().enumerate() {
        p.costs(w, &mut buf);
        let arch1 = wc.arch(1);
        let (params, active_params) = params_linear(wc);
        let wv = WidthView { width: wc, arch: &arch1, params, active_params, costs: &buf };
        for &l in &inst.space.depths {
            let arch = wc.arch(l);
            let metrics: Vec<Metrics> = buf.iter().map(|c| c.at_depth(l)).collect();
            let dv = DesignView { width: wc, arch: &arch, params: arch.params(), metrics: &metrics };
            f(&wv, &dv, l);
        }
    }
}

#[test]
fn built_in_terms_by_hand() {
    let inst = load(TERMS).unwrap();
    let names: Vec<&str> = inst.terms.iter().map(|t| t.name()).collect();
    assert_eq!(
        names,
        ["params", "active_params", "latency.total_ms", "memory_gb", "kv_cache_gb", "energy_mj_per_token"]
    );
    let mut checked = 0;
    each_design(&inst, |_, d, _| {
        let v: Vec<f64> = inst.terms.iter().map(|t| t.value(d)).collect();
        let h100 = &d.metrics[1];
        let expect = [
            1e-9 * d.params.total as f64,
            2e-9 * d.params.active as f64,
            0.01 * h100.latency_ms.total,
            0.3 * d.metrics[0].memory_bytes.total / 1e9,
            0.5 * h100.memory_bytes.kv_cache / 1e9,
        ];
        for (k, e) in expect.iter().enumerate() {
            assert!((v[k] - e).abs() <= 1e-12 * e.abs().max(1.0), "{}: {} vs {e}", names[k], v[k]);
        }
        // Energy is positive and grows with the work done.
        assert!(v[5] > 0.0 && v[5].is_finite());
        checked += 1;
    });
    assert_eq!(checked, inst.candidates() as usize);
}

#[test]
fn depth_splits_equal_values_at_every_depth() {
    let inst = load(TERMS).unwrap();
    for t in &inst.terms {
        let mut n = 0;
        each_design(&inst, |w, d, l| {
            let s = t.split(w).unwrap_or_else(|| panic!("{} has no depth split", t.name()));
            let from_split = t.depth_part(l) + s.fixed + l as f64 * s.per_layer;
            let v = t.value(d);
            assert!(
                (from_split - v).abs() <= 1e-9 * v.abs().max(1e-12),
                "{} at depth {l}: {from_split} vs {v}",
                t.name()
            );
            assert!(v >= t.lower_bound(), "{}: {v} below its lower bound", t.name());
            n += 1;
        });
        assert!(n > 0);
    }
}

#[test]
fn energy_grows_with_depth() {
    let inst = load(TERMS).unwrap();
    let energy = inst.terms.iter().find(|t| t.name().starts_with("energy")).expect("an energy term");
    let mut last: Option<(usize, f64)> = None;
    each_design(&inst, |w, d, _| {
        let key = w.width as *const _ as usize;
        let v = energy.value(d);
        if let Some((k, prev)) = last {
            if k == key {
                assert!(v > prev, "energy did not grow with depth: {prev} then {v}");
            }
        }
        last = Some((key, v));
    });
}

#[test]
fn bad_terms_are_named() {
    let case = |extra: &str, needles: &[&str]| {
        let e = load(extra).unwrap_err().to_string();
        for n in needles {
            assert!(e.contains(n), "error lacks `{n}`: {e}");
        }
    };
    case("[[objective.term]]\nkind = \"flops\"\nweight = 1\n", &["objective.term[0].kind", "flops", "energy"]);
    case(
        "[[objective.term]]\nkind = \"params\"\nweight = 1\nmetric = \"tpot\"\n",
        &["objective.term[0].metric", "params"],
    );
    case(
        "[[objective.term]]\nkind = \"latency\"\nmetric = \"p99\"\nweight = 1\n",
        &["p99", "prefill, decode, tpot, total"],
    );
    case("[[objective.term]]\nkind = \"energy\"\nweight = 1\npj_per_flop = 1\n", &["pj_per_byte"]);
    case("[[objective.term]]\nkind = \"memory\"\nweight = 1\nscenario = \"mars\"\n", &["mars"]);
}
