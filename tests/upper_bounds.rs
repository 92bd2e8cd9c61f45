//! The uncalibrated roofline is an upper bound on speed: no committed measurement may be faster
//! than its device file's datasheet model (η = 1, no overheads) predicts. A measurement faster
//! than the roofline means a peak in the device file is not a true peak (the RTX 4090 file held
//! the FP32-accumulate FP16 rate while engines accumulate in FP16) or the measurement is wrong.

use colaw::cost::{CostModel, Workload};
use colaw::hardware::load_hardware;
use colaw::measurement::{read_measurements, Phase};
use std::collections::HashMap;
use std::path::Path;

/// Published rows known to be faster than any roofline, with the reason (row line in
/// data/measurements/published/measurements.csv).
const KNOWN_IMPOSSIBLE: [(&str, &str); 1] = [(
    "133",
    "TensorRT-LLM Jetson README: Llama-3-8B GPTQ prefill of 1024 tokens in 337 ms needs the whole 42.6 TFLOPS \
     AGX Orin FP16 peak for the projections alone, before attention: a probable typo in the source",
)];

/// (measured faster than predicted, rows checked) for a measurement file on one device, or on
/// each row's own `device`.
fn violations(file: &str, device: Option<&str>) -> (Vec<String>, usize) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mf = read_measurements(&path).unwrap();
    let mut bad = Vec::new();
    let known: Vec<&str> = KNOWN_IMPOSSIBLE.iter().map(|(l, _)| *l).collect();
    let published_line = mf.headers.iter().position(|h| h == "published_line");
    let mut devices: HashMap<String, colaw::Hardware> = HashMap::new();
    for (row, rec) in mf.rows.iter().zip(&mf.records) {
        if published_line.and_then(|i| rec.get(i)).is_some_and(|l| known.contains(&l)) {
            continue;
        }
        let dev = device.map(str::to_string).or(row.device.clone()).expect("a device");
        let hw = devices.entry(dev.clone()).or_insert_with(|| load_hardware(&dev).unwrap());
        let w = Workload {
            batch: row.batch,
            prompt_tokens: row.tokens,
            gen_tokens: 1,
            precision: row.precision,
            deploy: row.deploy,
        };
        let ms = CostModel::new(hw, &w).unwrap().step_ms(&row.arch, row.phase == Phase::Decode, row.tokens);
        let measured = row.latency_ms.unwrap();
        if ms > measured * 1.000_001 {
            bad.push(format!(
                "{file}:{} {dev} {}: roofline {ms:.3} ms > measured {measured:.3} ms",
                row.line,
                row.arch.label()
            ));
        }
    }
    (bad, mf.rows.len())
}

#[test]
fn no_published_measurement_beats_the_roofline() {
    let (bad, n) = violations("data/measurements/published/steps.csv", None);
    assert!(n >= 100, "{n} rows");
    assert!(bad.is_empty(), "{} of {n} rows beat the roofline:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn no_harness_measurement_beats_the_roofline() {
    for (file, device) in [
        ("data/measurements/h100_latency.csv", "nvidia-h100-sxm"),
        ("data/measurements/llamacpp/h200_cuda.csv", "nvidia-h200-sxm"),
    ] {
        let (bad, n) = violations(file, Some(device));
        assert!(bad.is_empty(), "{} of {n} rows beat the roofline:\n{}", bad.len(), bad.join("\n"));
    }
}
