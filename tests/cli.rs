//! The command line end to end: outputs other tools rely on, and one error per bad input,
//! naming the file, field and value, with a non-zero exit and no panic.

use std::io::Write;
use std::process::{Command, Output};

fn colaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_colaw")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = colaw(args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Runs a command expected to fail; returns stderr after checking it names every needle.
fn fails(args: &[&str], needles: &[&str]) -> String {
    let o = colaw(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{args:?} should fail");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: error lacks `{n}`: {err}");
    }
    assert_eq!(err.trim().lines().count(), 1, "one error line expected: {err}");
    err
}

fn temp(ext: &str, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(ext).tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
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
