//! The command line end to end: outputs other tools rely on, and one error per bad input,
//! naming the file, field and value, with a non-zero exit and no panic.

mod common;

use common::{colaw, colaw_json as json, temp};

/// Runs a command expected to fail; returns stderr after checking it names every needle in
/// one error line.
fn fails(args: &[&str], needles: &[&str]) -> String {
    let err = common::fails(args, needles);
    assert_eq!(err.trim().lines().count(), 1, "one error line expected: {err}");
    err
}

#[test]
fn params_json_keys() {
    let v = json(&["params", "SmolLM2-135M"]);
    assert_eq!(v["total"], 134_515_008u64);
    for k in ["embedding", "non_embedding", "active"] {
        assert!(v[k].is_u64(), "{k}");
    }
}

#[test]
fn eval_json_keys_and_consistency() {
    let v = json(&["eval", "Llama-3.2-1B", "--hardware", "jetson-orin-nx-16gb", "--batch", "2", "--gen", "8"]);
    let l = &v["latency_ms"];
    let (pre, total, tpot) =
        (l["prefill"].as_f64().unwrap(), l["total"].as_f64().unwrap(), l["tpot"].as_f64().unwrap());
    assert!((total - pre - 8.0 * tpot).abs() < 1e-9 * total);
    assert!(l["decode"].as_f64().unwrap() >= tpot);
    let m = &v["memory_bytes"];
    let sum: f64 = ["weights", "kv_cache", "activations"].iter().map(|k| m[k].as_f64().unwrap()).sum();
    assert!((m["total"].as_f64().unwrap() - sum).abs() < 1.0);
    assert_eq!(v["fits_memory"], true);
    assert!(v["loss"].as_f64().unwrap() > 2.53);
    assert!(v["params"]["total"].as_u64().unwrap() == 1_235_814_400);
    let ops: Vec<&str> = v["breakdown"].as_array().unwrap().iter().map(|r| r["op"].as_str().unwrap()).collect();
    for op in ["embedding", "qkv_proj", "attention", "ffn", "lm_head"] {
        assert!(ops.contains(&op), "{op}");
    }
    // The breakdown adds up to the totals.
    let bsum: f64 = v["breakdown"].as_array().unwrap().iter().map(|r| r["total_ms"].as_f64().unwrap()).sum();
    assert!((bsum - total).abs() < 1e-9 * total);
}

#[test]
fn eval_table_and_hf_config() {
    let o =
        colaw(&["eval", "tests/fixtures/hf/mixtral-8x7b.json", "--hardware", "nvidia-h100-sxm", "--format", "table"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(out.contains("DOES NOT FIT") && out.contains("46,702,792,704"), "{out}");
}

#[test]
fn predict_adds_column() {
    let csv = temp(
        ".csv",
        "name,hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens,latency_ms\n\
         a,896,24,14,2,64,4864,151936,true,decode,1,1024,5.0\n\
         a,896,24,14,2,64,4864,151936,true,prefill,1,1024,30.0\n",
    );
    let o = colaw(&["predict", "--hardware", "nvidia-h100-sxm", csv.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(rdr.headers().unwrap().iter().next_back(), Some("predicted_ms"));
    let rows: Vec<f64> = rdr.records().map(|r| r.unwrap()[13].parse().unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[1] > rows[0] && rows[0] > 0.0);
}

#[test]
fn bad_inputs_each_named() {
    fails(&["params", "Qwen9-13B"], &["Qwen9-13B", "Qwen2.5-0.5B"]);
    let f = temp(".toml", "layers = 2\nhidden = 100\nheads = 3\nffn = 128\nvocab = 1000\n");
    fails(&["params", f.path().to_str().unwrap()], &[f.path().to_str().unwrap(), "heads", "3", "hidden"]);
    let f = temp(".toml", "layers = 2\nhidden = 96\nheads = 6\nkv_heads = 4\nffn = 128\nvocab = 1000\n");
    fails(&["params", f.path().to_str().unwrap()], &["kv_heads", "4", "divide"]);
    let f = temp(".toml", "layers = 0\nhidden = 96\nheads = 6\nffn = 128\nvocab = 1000\n");
    fails(&["params", f.path().to_str().unwrap()], &["layers", "0", "positive"]);
    let f = temp(".toml", "layers = 4\nhidden = -96\nheads = 6\nffn = 128\nvocab = 1000\n");
    fails(&["params", f.path().to_str().unwrap()], &["hidden", "-96"]);
    let f = temp(".json", "{\"model_type\": \"qwen2\", \"hidden_size\": 64, \"num_attention_heads\": 4}");
    fails(&["params", f.path().to_str().unwrap()], &["num_hidden_layers"]);
    let f = temp(".json", "{\"model_type\": \"gpt2\"}");
    fails(&["params", f.path().to_str().unwrap()], &["model_type", "gpt2", "llama"]);
    fails(
        &["eval", "SmolLM2-135M", "--hardware", "nvidia-h100-sxm", "--weight-dtype", "int3"],
        &["--weight-dtype", "int3", "int4"],
    );
    fails(&["eval", "SmolLM2-135M", "--hardware", "nope"], &["hardware", "nope", "nvidia-h100-sxm"]);
    fails(&["eval", "SmolLM2-135M", "--hardware", "paper-hypothetical-edge"], &["bf16", "int8"]);
    fails(&["eval", "SmolLM2-135M", "--hardware", "nvidia-h100-sxm", "--batch", "0"], &["batch", "0"]);
    let hw = temp(".toml", "name='x'\nmemory_gb=4\nbandwidth_gbps=nan\n[peak_tflops]\nbf16=1\n");
    fails(&["eval", "SmolLM2-135M", "--hardware", hw.path().to_str().unwrap()], &["bandwidth_gbps", "NaN"]);
    let head = "hidden,layers,heads,kv_heads,head_dim,ffn,vocab,tied,phase,batch,tokens,latency_ms\n";
    let csv =
        temp(".csv", &format!("{head}64,2,4,4,16,128,100,true,decode,1,8,1.0\n64,2,4,4,16,,100,true,decode,1,8,1.0\n"));
    fails(&["predict", "--hardware", "nvidia-h100-sxm", csv.path().to_str().unwrap()], &[":3:", "ffn"]);
    let csv = temp(".csv", &format!("{head}64,2,4,4,16,128,100,true,decode,1,8,NaN\n"));
    fails(&["predict", "--hardware", "nvidia-h100-sxm", csv.path().to_str().unwrap()], &[":2:", "latency_ms", "NaN"]);
    let csv = temp(".csv", &format!("{head}64,2,4,4,16,128,100,true,warmup,1,8,1\n"));
    fails(&["predict", "--hardware", "nvidia-h100-sxm", csv.path().to_str().unwrap()], &[":2:", "phase", "warmup"]);
}

#[test]
fn bad_robust_section_each_named() {
    let d = tempfile::tempdir().unwrap();
    let base = "[space]\nlayers = [4, 8]\nhidden = [512, 1024]\nhead_dim = [64]\nffn_ratio = [2.0]\nvocab = [32000]\n\
                [[scenario]]\nhardware = 'nvidia-h100-sxm-cudagraph'\n[scenario.budget]\ntpot_ms = 5\n";
    let lat = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/measurements/h100_cudagraph_cal_samples.csv");
    // A valid coefficient samples file beside the instances (the paper law's names).
    std::fs::write(
        d.path().join("law.csv"),
        "resample,L_inf,alpha_l,alpha_m,alpha_r,alpha_rho,beta1,beta2,kappa_d,kappa_l,kappa_m,kappa_rho\n\
         0,2.53,1.63,0.05,0.17,1.09,-0.33,0.97,500,9.96,0.2,0.031\n\
         1,2.55,1.60,0.05,0.17,1.09,-0.33,0.97,510,9.90,0.2,0.031\n",
    )
    .unwrap();
    let case = |name: &str, robust: &str, needles: &[&str]| {
        let f = d.path().join(name);
        std::fs::write(&f, format!("{base}[robust]\n{robust}\n")).unwrap();
        let mut n = vec![f.to_str().unwrap()];
        n.extend_from_slice(needles);
        fails(&["solve", f.to_str().unwrap()], &n);
    };
    case("risk.toml", "samples = 'law.csv'\nrisk = 'cvar:2'", &["robust.risk", "cvar:2", "(0, 1]"]);
    case("risk2.toml", "samples = 'law.csv'\nrisk = 'worst'", &["robust.risk", "worst", "mean or cvar"]);
    case("chance.toml", "samples = 'law.csv'\nchance = 0.1", &["robust.latency_samples", "robust.chance = 0.1"]);
    case(
        "chance2.toml",
        &format!("samples = 'law.csv'\nchance = 1.5\nlatency_samples = '{}'", lat.display()),
        &["robust.chance", "1.5", "[0, 1)"],
    );
    case("missing.toml", "samples = 'nope.csv'", &["robust.samples", "nope.csv", "colaw fit --bootstrap"]);
    case("lat-only.toml", &format!("latency_samples = '{}'", lat.display()), &["robust.chance", "latency_samples"]);
    case("empty.toml", "risk = 'mean'", &["robust.samples"]);
    case(
        "scen.toml",
        &format!("chance = 0.1\nlatency_samples = '{}'\nlatency_scenarios = ['gpu']", lat.display()),
        &["robust.latency_scenarios", "gpu", "scenario0"],
    );
    // A samples file without a coefficient of the law: names the field and the samples file.
    std::fs::write(d.path().join("short.csv"), "resample,L_inf\n0,2.5\n").unwrap();
    case("short.toml", "samples = 'short.csv'", &["robust.samples", "short.csv", "alpha_l"]);
    // The valid section solves (paths relative to the instance file, from another cwd).
    let ok = d.path().join("ok.toml");
    std::fs::write(&ok, format!("{base}[robust]\nsamples = 'law.csv'\nrisk = 'cvar:0.5'\n")).unwrap();
    let v = json(&["solve", ok.to_str().unwrap()]);
    assert_eq!(v["coefficient_samples"], 2);
    assert_eq!(v["risk"]["kind"], "cvar");
}
