//! Engines wired into the cost model, instances and the solvers: exact storage bytes,
//! refusals that name the field, and solvers that agree under an engine's formats.

use colaw::architecture::load_arch;
use colaw::cost::{CostModel, Deployment, Mode, Workload};
use colaw::engine::{KvCacheType, WeightFormat};
use colaw::error::Origin;
use colaw::eval::evaluate;
use colaw::hardware::load_hardware;
use colaw::instance::Instance;
use colaw::Precision;
use std::process::Command;

fn q4km() -> Deployment {
    Deployment { weight_format: WeightFormat::parse("Q4_K_M").unwrap(), kv_cache: KvCacheType::parse("f16").unwrap() }
}

fn workload(deploy: Option<Deployment>) -> Workload {
    Workload { batch: 1, prompt_tokens: 1024, gen_tokens: 16, precision: Precision::default(), deploy }
}

/// Llama-3.2-1B in llama.cpp's Q4_K_M, worked by hand in docs/engines.md: Q6_K tied embedding
/// 215,470,080 B; per block Q4_K attn_q, attn_output, attn_k, ffn_gate, ffn_up; attn_v and
/// ffn_down Q6_K in blocks 0,1,4,7,10,13,14,15 and Q4_K elsewhere; F32 norms: 799,862,784 B.
#[test]
fn llama_3_2_1b_q4_k_m_weights_are_the_hand_worked_bytes() {
    let arch = load_arch("Llama-3.2-1B").unwrap();
    let hw = load_hardware("jetson-orin-nano-8gb-super").unwrap();
    let w = workload(Some(q4km()));
    let ev = evaluate(&arch, &hw, &w, Mode::Full, None, None).unwrap();
    assert_eq!(ev.weights_file_bytes, Some(799_862_784));
    // At 16 blocks (a multiple of 8) the depth-linear cost model holds the exact bytes too.
    assert!((ev.memory_bytes.weights - 799_862_784.0).abs() < 1.0, "{}", ev.memory_bytes.weights);
    // The KV cache is f16: 16 layers · 2 · 8·64 values · 2 B per token, over 1024 + 16 tokens.
    assert!((ev.memory_bytes.kv_cache - 16.0 * 2.0 * 512.0 * 2.0 * 1040.0).abs() < 1e-6);
    // Decode on a 102 GB/s device reads every weight once per token: the Q4_K_M model decodes
    // faster than bf16 by about the byte ratio (bf16 is 2 B per weight).
    let bf16 = CostModel::new(&hw, &workload(None)).unwrap().metrics(&arch);
    let q = CostModel::new(&hw, &w).unwrap().metrics(&arch);
    let ratio = bf16.latency_ms.tpot / q.latency_ms.tpot;
    let bytes_ratio = 2.0 * arch.params().total as f64 / 799_862_784.0;
    assert!((ratio / bytes_ratio - 1.0).abs() < 0.15, "tpot ratio {ratio}, bytes ratio {bytes_ratio}");
}

/// At a depth where llama.cpp's upgraded-layer count is not half the blocks (9: blocks 0, 3,
/// 6, 7, 8 get Q6_K attn_v/ffn_down, 5 of 9), the linear model is off by at most one block's
/// upgrade, and `weights_file_bytes` is exact.
#[test]
fn odd_depths_are_within_one_layer_upgrade() {
    let mut arch = load_arch("Llama-3.2-1B").unwrap();
    arch.layers = 9;
    let hw = load_hardware("jetson-orin-nano-8gb-super").unwrap();
    let ev = evaluate(&arch, &hw, &workload(Some(q4km())), Mode::Full, None, None).unwrap();
    let exact = ev.weights_file_bytes.unwrap() as f64;
    // One block's attn_v + ffn_down upgrade Q4_K → Q6_K (docs/engines.md): 270,336 + 4,325,376 B.
    let one_upgrade = (860_160.0 - 589_824.0) + (13_762_560.0 - 9_437_184.0);
    let diff = (ev.memory_bytes.weights - exact).abs();
    assert!(diff <= one_upgrade / 2.0 + 1.0, "linear {} exact {exact}", ev.memory_bytes.weights);
    assert!(diff > 0.0, "depth 9 should not be exactly linear");
}

fn instance_error(scenario_extra: &str) -> String {
    let text = format!(
        "[space]\nlayers = [4, 8]\nhidden = [1024]\nhead_dim = [64]\nkv_heads = [4]\nffn_ratio = [2.0]\nvocab = [32000]\n\
         [law]\nname = \"paper\"\n[[scenario]]\nhardware = \"jetson-orin-nano-8gb-super\"\ncompute_dtype = \"fp16\"\n{scenario_extra}\n\
         [scenario.budget]\ntpot_ms = 20.0\n"
    );
    match Instance::from_toml_str(&text, &Origin::file("engine.toml"), None) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn instance_errors_name_the_scenario_field_and_what_exists() {
    let e = instance_error("engine = \"llamacpp-turbo\"");
    assert!(e.contains("engine.toml") && e.contains("scenario[0].engine") && e.contains("llama.cpp"), "{e}");
    let e = instance_error("engine = \"llama.cpp\"\nweight_format = \"awq-int4-g128\"");
    assert!(e.contains("scenario[0].weight_format") && e.contains("Q4_K_M"), "{e}");
    let e = instance_error("weight_format = \"Q4_K_M\"");
    assert!(e.contains("scenario[0].weight_format") && e.contains("needs `engine`"), "{e}");
    // FP8 W8A8 needs fp8 matrix units, which no Jetson Orin has.
    let e = instance_error("engine = \"tensorrt-llm\"\nweight_format = \"fp8-e4m3-per-tensor\"");
    assert!(e.contains("scenario[0].weight_format") && e.contains("fp8"), "{e}");
    let e = instance_error("engine = \"llama.cpp\"\nkv_cache_type = \"q3_k\"");
    assert!(e.contains("scenario[0].kv_cache_type") && e.contains("q8_0"), "{e}");
    assert_eq!(instance_error("engine = \"llama.cpp\"\nweight_format = \"Q8_0\""), "");
}

/// Under an engine's formats every exact solver finds the same optimum.
#[test]
fn solvers_agree_under_an_engine() {
    let inst = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/instances/engines/table5-jetson-orin-nano-8gb-super-embodied-llamacpp-Q4_K_M.toml"
    );
    let mut objectives = Vec::new();
    for solver in ["enum", "mip", "mip-assign"] {
        let out = Command::new(env!("CARGO_BIN_EXE_colaw")).args(["solve", inst, "--solver", solver]).output().unwrap();
        assert!(out.status.success(), "{solver}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"], "optimal", "{solver}");
        objectives.push((solver, v["objective"].as_f64().unwrap(), v["label"].as_str().unwrap_or("").to_string()));
    }
    for (s, o, l) in &objectives[1..] {
        assert!((o - objectives[0].1).abs() < 1e-9, "{s} {o} {l} vs enum {:?}", objectives[0]);
    }
    // The engine changes the answer: the bf16 datasheet model picks a smaller design.
    let plain = concat!(env!("CARGO_MANIFEST_DIR"), "/instances/paper/table5-jetson-orin-nano-8gb-super-embodied.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_colaw")).args(["solve", plain]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["objective"].as_f64().unwrap() > objectives[0].1, "{v}");
}

/// Calibrating for an engine that already has a profile on the device starts from the
/// datasheet: "uncalibrated" means the device file's roofline, not the earlier profile
/// (pytorch-cudagraph ships an H100 profile fitted on these same rows).
#[test]
fn calibrate_for_an_engine_reports_against_the_datasheet() {
    let csv = concat!(env!("CARGO_MANIFEST_DIR"), "/data/measurements/h100_latency.csv");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("h100.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_colaw"))
        .args(["calibrate", "--hardware", "nvidia-h100-sxm", csv, "--engine", "cudagraph", "--out"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unc = v["overall"]["mape_uncalibrated"].as_f64().unwrap();
    let cv = v["overall"]["mape_cv"].as_f64().unwrap();
    // Only the CUDA-graph rows (1,028 of 2,056), datasheet roofline far off, calibrated close.
    assert_eq!(v["n"].as_u64(), Some(1028));
    assert!(unc > 50.0 && cv < 6.0, "uncalibrated {unc} %, cross-validated {cv} %");
}
