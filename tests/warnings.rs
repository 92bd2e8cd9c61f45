//! Fragility warnings: each fires on a crafted case and stays silent on a clean one, in the
//! library (`Solution::warnings`) and in the commands' JSON (`solve`, `eval`, `region`,
//! `pareto`), with its stable code.

mod common;

use colaw::cost::CostModel;
use colaw::error::Origin;
use colaw::fragility::{
    EDGE_OF_SPACE, LATENCY_SAMPLES_OTHER_DEVICE, MEMORY_ABOVE_USABLE, OUTSIDE_FITTED_RANGE, UNCALIBRATED_HARDWARE,
};
use colaw::hardware::{load_hardware, write_latency_samples, EfficiencyTerms, N_EFFICIENCY_TERMS};
use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions, Status};
use common::{colaw_json, temp};
use std::path::Path;

/// A small space: one choice per dimension but `layers` (and whatever `extra` adds).
fn instance(hardware: &str, layers: &str, budget: &str, extra_space: &str, rest: &str) -> String {
    format!(
        "name = 'w'\n[space]\nlayers = {layers}\nhidden = [1024]\nhead_dim = [64]\nkv_heads = [4]\n\
         ffn_ratio = [2.0]\nvocab = [32000]\n{extra_space}\n[[scenario]]\nname = 's'\nhardware = '{hardware}'\n\
         [scenario.budget]\n{budget}\n{rest}"
    )
}

fn load(text: &str, dir: &Path) -> Instance {
    Instance::from_toml_str(text, &Origin::file("w.toml"), Some(dir)).unwrap()
}

fn codes(ws: &[colaw::util::warning::Warning]) -> Vec<&str> {
    ws.iter().map(|w| w.code.as_str()).collect()
}

fn json_codes(v: &serde_json::Value) -> Vec<String> {
    v["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap().to_string()).collect()
}

/// tpot of the l-layer design of `instance(...)` on the scenario's device.
fn tpot(inst: &Instance, layers: u32) -> f64 {
    let s = &inst.scenarios[0];
    let w = &inst.space.widths[0];
    CostModel::with_mode(&s.hardware, &s.workload_for(w.weights, w.kv_cache), s.mode)
        .unwrap()
        .metrics(&w.arch(layers))
        .latency_ms
        .tpot
}

#[test]
fn uncalibrated_device_warns_and_a_calibrated_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let o = SolveOptions::default();
    let jetson = solve(&load(&instance("jetson-orin-nx-16gb", "[4, 8]", "", "", ""), dir.path()), "enum", &o).unwrap();
    let w = jetson.warnings.iter().find(|w| w.code == UNCALIBRATED_HARDWARE).expect("datasheet device warns");
    assert!(w.message.contains("datasheet roofline") && w.message.contains("lower bound"), "{}", w.message);
    let h100 =
        solve(&load(&instance("nvidia-h100-sxm-cudagraph", "[4, 8]", "", "", ""), dir.path()), "enum", &o).unwrap();
    assert!(!codes(&h100.warnings).contains(&UNCALIBRATED_HARDWARE), "{:?}", h100.warnings);
    // An engine calibrated on the device counts as calibrated.
    let eng = instance("nvidia-h100-sxm", "[4, 8]", "", "", "")
        .replace("hardware = 'nvidia-h100-sxm'", "hardware = 'nvidia-h100-sxm'\nengine = 'pytorch-cudagraph'");
    let s = solve(&load(&eng, dir.path()), "enum", &o).unwrap();
    assert!(!codes(&s.warnings).contains(&UNCALIBRATED_HARDWARE), "{:?}", s.warnings);
}

#[test]
fn edge_of_space_names_the_dimension() {
    let dir = tempfile::tempdir().unwrap();
    let o = SolveOptions::default();
    // No latency budget: the deepest design wins (the paper law falls with depth).
    let inst = load(&instance("nvidia-h100-sxm-cudagraph", "[4, 8, 12]", "", "", ""), dir.path());
    let s = solve(&inst, "enum", &o).unwrap();
    assert_eq!(s.arch.as_ref().unwrap().layers, 12);
    let e: Vec<_> = s.warnings.iter().filter(|w| w.code == EDGE_OF_SPACE).collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("layers = 12") && e[0].message.contains("largest"), "{}", e[0].message);
    // A tpot budget between the 8- and the 12-layer design picks the interior depth 8: clean.
    let budget = 0.5 * (tpot(&inst, 8) + tpot(&inst, 12));
    let inst =
        load(&instance("nvidia-h100-sxm-cudagraph", "[4, 8, 12]", &format!("tpot_ms = {budget}"), "", ""), dir.path());
    let s = solve(&inst, "enum", &o).unwrap();
    assert_eq!(s.arch.as_ref().unwrap().layers, 8);
    assert!(!codes(&s.warnings).contains(&EDGE_OF_SPACE), "{:?}", s.warnings);
    // The same design with the width gridded, the chosen width the largest: named.
    let inst = load(
        &instance("nvidia-h100-sxm-cudagraph", "[4, 8, 12]", &format!("tpot_ms = {budget}"), "", "")
            .replace("hidden = [1024]", "hidden = [512, 768, 1024]"),
        dir.path(),
    );
    let s = solve(&inst, "enum", &o).unwrap();
    if s.arch.as_ref().unwrap().hidden == 1024 {
        assert!(s.warnings.iter().any(|w| w.code == EDGE_OF_SPACE && w.message.contains("hidden = 1024")));
    }
}

#[test]
fn outside_fitted_range_fires_beyond_the_law_files_range() {
    let dir = tempfile::tempdir().unwrap();
    let paper = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/laws/paper.toml")).unwrap();
    let narrow = paper.replace("layers = [4, 32]", "layers = [4, 8]");
    assert_ne!(narrow, paper, "the shipped paper law records its layers range");
    std::fs::write(dir.path().join("narrow.toml"), &narrow).unwrap();
    std::fs::write(dir.path().join("wide.toml"), &paper).unwrap();
    let o = SolveOptions::default();
    let with_law = |law: &str| {
        load(
            &instance("nvidia-h100-sxm-cudagraph", "[4, 8, 12]", "", "", &format!("[law]\nname = '{law}'\n")),
            dir.path(),
        )
    };
    let s = solve(&with_law("narrow.toml"), "enum", &o).unwrap();
    assert_eq!(s.arch.as_ref().unwrap().layers, 12);
    let w = s.warnings.iter().find(|w| w.code == OUTSIDE_FITTED_RANGE).expect("12 layers is outside [4, 8]");
    assert!(w.message.contains("layers = 12") && w.message.contains("4 to 8"), "{}", w.message);
    let s = solve(&with_law("wide.toml"), "enum", &o).unwrap();
    assert!(!codes(&s.warnings).contains(&OUTSIDE_FITTED_RANGE), "{:?}", s.warnings);
}

/// Issue 18's case: `region` from a law fitted on a few small models gave a high P(optimal)
/// to a design far outside them without a word. The recommended designs of the paper
/// instance's region are named when the law's range stops at 8 layers and hidden 1024, and
/// not with the shipped paper law's range (the whole Table 5 space).
#[test]
fn region_names_recommended_designs_outside_the_fitted_range() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let paper = std::fs::read_to_string(root.join("models/laws/paper.toml")).unwrap();
    let narrow =
        paper.replace("layers = [4, 32]", "layers = [4, 8]").replace("hidden = [768, 3072]", "hidden = [768, 1024]");
    assert_ne!(narrow, paper);
    std::fs::write(dir.path().join("narrow.toml"), &narrow).unwrap();
    let inst = std::fs::read_to_string(root.join("instances/paper/table5-jetson-orin-nx-16gb-embodied.toml")).unwrap();
    let samples = root.join("instances/bench/robust/robust-s2026-00000-law-samples.csv");
    let run = |law: &str| {
        let p = dir.path().join(format!("inst-{law}"));
        std::fs::write(&p, inst.replace("name = \"paper\"", &format!("name = '{law}'"))).unwrap();
        let out = dir.path().join(format!("out-{law}"));
        let args = ["region", p.to_str().unwrap(), "--samples", samples.to_str().unwrap(), "--budget-grid", "0"];
        colaw_json(&[&args[..], &["--out", out.to_str().unwrap()]].concat())
    };
    let v = run("narrow.toml");
    let ws: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == OUTSIDE_FITTED_RANGE)
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(ws.iter().any(|m| m.contains("recommended design") && m.contains("(4 to 8)")), "no layers warning: {ws:?}");
    assert!(ws.iter().any(|m| m.contains("(768 to 1024)")), "no hidden warning: {ws:?}");
    let v = run("paper");
    assert!(!json_codes(&v).contains(&OUTSIDE_FITTED_RANGE.to_string()), "{v}");
}

#[test]
fn fit_records_the_range_of_its_rows() {
    // Chinchilla on three rows of (N, D): the written law file's range is their min/max.
    let data = temp(
        ".csv",
        "params,tokens,loss\n1e8,2e9,3.3\n4e8,5e9,2.9\n2e9,4e10,2.5\n3e8,1e10,2.95\n9e8,2e10,2.7\n6e7,1e9,3.6\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit.toml");
    colaw_json(&[
        "fit",
        "--law",
        "chinchilla",
        data.path().to_str().unwrap(),
        "--cv-folds",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let law = colaw::law::load_law(out.to_str().unwrap()).unwrap();
    let r = &law.file.range;
    assert_eq!(r["params"], [6e7, 2e9]);
    assert_eq!(r["tokens"], [1e9, 4e10]);
    assert!(law.file.range_source.as_deref().unwrap().contains("6 rows"));
}

/// A device whose memory sits just around a design's need: `extra_gb` above it, with
/// `reserve_gb` kept by the OS.
fn device(dir: &Path, need_bytes: f64, extra_gb: f64, reserve_gb: f64) -> String {
    let p = dir.join(format!("dev-{reserve_gb}.toml"));
    std::fs::write(
        &p,
        format!(
            "name = 'test device'\nmemory_gb = {}\nreserve_gb = {reserve_gb}\nbandwidth_gbps = 100\n[peak_tflops]\nbf16 = 10\n",
            need_bytes / 1e9 + extra_gb
        ),
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn memory_above_the_usable_share_warns_in_eval_and_solve() {
    let dir = tempfile::tempdir().unwrap();
    let base = colaw_json(&["eval", "Qwen2.5-0.5B", "--hardware", "jetson-orin-nx-16gb"]);
    let need = base["memory_bytes"]["total"].as_f64().unwrap();
    // Jetson: usable = total − the 2 GB reserve.
    assert_eq!(base["usable_bytes"].as_f64().unwrap(), 14e9);
    assert_eq!(base["capacity_bytes"].as_f64().unwrap(), 16e9);
    // 0.5 GB more than needed, 1 GB reserved: the design fits the device but not its share.
    let tight = device(dir.path(), need, 0.5, 1.0);
    let v = colaw_json(&["eval", "Qwen2.5-0.5B", "--hardware", &tight]);
    assert_eq!(v["fits_memory"], false);
    let w = v["warnings"].as_array().unwrap().iter().find(|w| w["code"] == MEMORY_ABOVE_USABLE).unwrap();
    assert!(w["message"].as_str().unwrap().contains("reserve_gb"), "{w}");
    let roomy = device(dir.path(), need, 0.5, 0.25);
    let v = colaw_json(&["eval", "Qwen2.5-0.5B", "--hardware", &roomy]);
    assert_eq!(v["fits_memory"], true);
    assert!(!json_codes(&v).contains(&MEMORY_ABOVE_USABLE.to_string()), "{v}");
    // In a solve: the device budget uses the usable share, so only `device_memory = false`
    // lets a design past it, and then the warning says so.
    let text = |hw: &str, device_memory: bool| {
        format!(
            "name = 'm'\n[space]\nlayers = [24]\nhidden = [896]\nheads = [14]\nkv_heads = [2]\nffn = [4864]\n\
             vocab = [151936]\ntied = [true]\n[[scenario]]\nname = 's'\nhardware = '{hw}'\n[scenario.budget]\n\
             device_memory = {device_memory}\n"
        )
    };
    let o = SolveOptions::default();
    let s = solve(&load(&text(&tight, true), dir.path()), "enum", &o).unwrap();
    assert_eq!(s.status, Status::Infeasible, "the device budget is the usable share");
    let s = solve(&load(&text(&tight, false), dir.path()), "enum", &o).unwrap();
    assert!(codes(&s.warnings).contains(&MEMORY_ABOVE_USABLE), "{:?}", s.warnings);
    let s = solve(&load(&text(&roomy, true), dir.path()), "enum", &o).unwrap();
    assert_eq!(s.status, Status::Optimal);
    assert!(!codes(&s.warnings).contains(&MEMORY_ABOVE_USABLE), "{:?}", s.warnings);
}

#[test]
fn latency_samples_from_another_device_warn() {
    let dir = tempfile::tempdir().unwrap();
    let h100 = load_hardware("nvidia-h100-sxm-cudagraph").unwrap();
    let terms = EfficiencyTerms::from_hardware(&h100);
    assert_eq!(terms.values.len(), N_EFFICIENCY_TERMS);
    let samples = dir.path().join("lat.csv");
    write_latency_samples(&samples, &[terms, terms, terms], &["NVIDIA H100 SXM5 80GB".to_string()]).unwrap();
    let robust = "[robust]\nlatency_samples = 'lat.csv'\nchance = 0.1\n";
    let o = SolveOptions::default();
    let on = |hw: &str| {
        let inst = load(&instance(hw, "[4, 8]", "", "", robust), dir.path());
        let s = solve(&inst, "auto", &o).unwrap();
        (codes(&s.warnings).contains(&LATENCY_SAMPLES_OTHER_DEVICE), s.warnings)
    };
    let (fires, ws) = on("jetson-orin-nx-16gb");
    assert!(fires, "{ws:?}");
    let (fires, ws) = on("nvidia-h100-sxm-cudagraph");
    assert!(!fires, "same physical device: {ws:?}");
    // region with --latency-samples says it too.
    let inst_path = dir.path().join("r.toml");
    std::fs::write(&inst_path, instance("jetson-orin-nx-16gb", "[4, 8]", "", "", "")).unwrap();
    let out = dir.path().join("region");
    let v = colaw_json(&[
        "region",
        inst_path.to_str().unwrap(),
        "--latency-samples",
        samples.to_str().unwrap(),
        "--budget-grid",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    let c = json_codes(&v);
    assert!(
        c.contains(&LATENCY_SAMPLES_OTHER_DEVICE.to_string()) && c.contains(&UNCALIBRATED_HARDWARE.to_string()),
        "{c:?}"
    );
    // The summary file carries them too.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["warnings"], v["warnings"]);
}

#[test]
fn solve_json_and_table_report_warnings() {
    let inst = Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/paper/table5-jetson-orin-nx-16gb-embodied.toml");
    let v = colaw_json(&["solve", inst.to_str().unwrap()]);
    let c = json_codes(&v);
    assert!(c.contains(&UNCALIBRATED_HARDWARE.to_string()), "{c:?}");
    for w in v["warnings"].as_array().unwrap() {
        assert!(w["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let o = common::colaw(&["solve", inst.to_str().unwrap(), "--format", "table"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning [uncalibrated_hardware]: scenario `jetson-orin-nx-16gb`"), "{err}");
    // The memory budget is the usable share: 16 GB less the 2 GB reserve.
    let mem = v["scenarios"][0]["budgets"].as_array().unwrap().iter().find(|b| b["metric"] == "memory_bytes").unwrap();
    assert_eq!(mem["limit"].as_f64().unwrap(), 14e9);
}
