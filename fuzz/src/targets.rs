//! One function per input format: the bytes go through colaw's own loading and validation
//! entry points, then through the cheap code that reads what was loaded (parameter counts,
//! one cost evaluation, a law value, summary lines). Errors are the expected outcome for
//! most inputs; a panic, an abort or a hang is the finding. Each returns whether its main
//! entry point accepted the input (the replay test checks the shipped files are accepted, so
//! a harness that rejects everything cannot pass for a clean run).
//!
//! Shared by the afl binaries (`fuzz/src/bin/*.rs`) and by the replay test of the main
//! crate (`tests/fuzz_corpus.rs`, which includes this file by path), so CI feeds the seed
//! corpus and every regression input through exactly the code the fuzzer ran.

use colaw::architecture::parse_arch_str;
use colaw::cost::{Mode, Workload};
use colaw::error::Origin;
use colaw::law::fit::{FitModel, LseModel};
use colaw::law::{ColumnMap, LawInputs, LossLaw, PowerLaw};
use colaw::{Architecture, Hardware};
use std::sync::OnceLock;

/// A target: the input's bytes in, whether the main entry point accepted them out.
pub type Target = fn(&[u8]) -> bool;

/// Every target, by the name its binary, its corpus folder and `fuzz/run.sh` use.
pub const TARGETS: [(&str, Target); 13] = [
    ("instance", instance),
    ("law", law),
    ("hardware", hardware),
    ("arch", arch),
    ("hf_config", hf_config),
    ("measurements", measurements),
    ("coef_samples", coef_samples),
    ("latency_samples", latency_samples),
    ("fit_data", fit_data),
    ("journal_state", journal_state),
    ("oracle_jsonl", oracle_jsonl),
    ("oracle_reply", oracle_reply),
    ("cli", cli),
];

/// The target function of `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

fn origin() -> Origin {
    Origin::file("fuzz-input")
}

/// The shipped laws, loaded once (the coefficient-samples and fit-data targets read inputs
/// for each of them).
fn laws() -> &'static [PowerLaw] {
    static LAWS: OnceLock<Vec<PowerLaw>> = OnceLock::new();
    LAWS.get_or_init(|| {
        ["paper", "chinchilla", "paper-bounded"].iter().filter_map(|n| colaw::law::load_law(n).ok()).collect()
    })
}

fn orin() -> &'static Hardware {
    static HW: OnceLock<Hardware> = OnceLock::new();
    HW.get_or_init(|| colaw::hardware::load_hardware("jetson-orin-nx-16gb").expect("shipped hardware file loads"))
}

/// What a loaded architecture is used for first: counts, a label, one evaluation on a
/// device with the law.
fn use_arch(a: &Architecture) {
    let _ = a.params();
    let _ = a.label();
    let _ = colaw::eval::evaluate(a, orin(), &Workload::default(), Mode::Full, Some(&laws()[0] as &dyn LossLaw), None);
}

/// Instance TOML: load, validate (law, space, scenarios, budgets, solver settings); an
/// exhaustive solve only for spaces of at most 256 designs.
pub fn instance(data: &[u8]) -> bool {
    let Ok(inst) = colaw::instance::Instance::from_toml_str(&text(data), &origin(), None) else { return false };
    let opts = colaw::solve::SolveOptions::from_instance(&inst);
    let _ = opts.validate(&inst.solver.kind);
    let _ = format!("{inst:?}");
    // A space this small enumerates in about a millisecond, so the cost model, the law, the
    // budgets and any robust samples run on every fuzzed design (larger spaces are only
    // loaded: the work per input stays bounded).
    if inst.candidates() <= 256 {
        let o = colaw::solve::SolveOptions {
            threads: 1,
            top_k: opts.top_k.min(4),
            compare_exact: false,
            ..colaw::solve::SolveOptions::default()
        };
        let _ = colaw::solve::solve(&inst, "enum", &o);
    }
    true
}

/// Law file: load, then evaluate it on an architecture and read its derived properties.
pub fn law(data: &[u8]) -> bool {
    let Ok(law) = PowerLaw::from_toml_str(&text(data), &origin()) else { return false };
    let a = Architecture::new(8, 1024, 16, 2816, 32000);
    let x = LawInputs::from_arch(&a, law.default_tokens().or(Some(1e10)));
    let _ = law.loss(&x);
    let _ = law.is_separable();
    let _ = law.monotone_in();
    let _ = law.coefficient_names();
    if law.is_separable() {
        let _ = law.depth_part(8.0);
        let _ = law.width_part(&x);
    }
    let _ = LseModel::new(&law);
    true
}

/// Hardware file: load and validate, then one cost evaluation of a small model on it.
pub fn hardware(data: &[u8]) -> bool {
    let Ok(hw) = Hardware::from_toml_str(&text(data), &origin()) else { return false };
    let a = Architecture::new(4, 512, 8, 1408, 32000);
    for mode in [Mode::Full, Mode::Paper] {
        let _ = colaw::eval::evaluate(&a, &hw, &Workload::default(), mode, None, None);
    }
    true
}

/// colaw architecture file (TOML): load and validate, then use it.
pub fn arch(data: &[u8]) -> bool {
    parse_arch_str(&text(data), "toml", &origin()).map(|a| use_arch(&a)).is_ok()
}

/// Hugging Face config.json (or colaw JSON without `model_type`): load and use.
pub fn hf_config(data: &[u8]) -> bool {
    parse_arch_str(&text(data), "json", &origin()).map(|a| use_arch(&a)).is_ok()
}

/// Measurement CSV: parse and validate every row, then each row's storage.
pub fn measurements(data: &[u8]) -> bool {
    let Ok(mf) = colaw::measurement::measurements_from_bytes(data, "fuzz-input") else { return false };
    for r in &mf.rows {
        let _ = r.storage();
    }
    true
}

/// Coefficient-samples CSV (`colaw fit --samples`): generic read, then for each shipped law.
pub fn coef_samples(data: &[u8]) -> bool {
    let generic = colaw::law::samples_from_bytes(data, "fuzz-input").is_ok();
    for law in laws() {
        if let Ok(rows) = colaw::law::coefficient_samples_from_bytes(data, "fuzz-input", law) {
            if let Some(r) = rows.first() {
                let _ = law.with_coefficients(r);
            }
        }
    }
    generic
}

/// Latency-samples CSV (`colaw calibrate --samples`).
pub fn latency_samples(data: &[u8]) -> bool {
    colaw::hardware::latency_samples_from_bytes(data, "fuzz-input").is_ok()
}

/// Fit data CSV (`colaw fit DATA`): observations for each shipped law's variables.
pub fn fit_data(data: &[u8]) -> bool {
    let mut any = false;
    for law in laws() {
        let Ok(model) = LseModel::new(law) else { continue };
        any |= colaw::law::observations_from_bytes(
            data,
            "fuzz-input",
            model.feature_vars(),
            &ColumnMap::default(),
            law.default_tokens(),
        )
        .is_ok();
    }
    any
}

/// A loop journal's JSON files: `state.json` and `round-NNN/choice.json`.
pub fn journal_state(data: &[u8]) -> bool {
    let t = text(data);
    let state = colaw::outer::json_from_str::<colaw::outer::State>(&t, "state.json")
        .and_then(|s| s.validate(&Origin::file("state.json")))
        .is_ok();
    // As `Journal::round` reads it (validated against its own round number), then what a
    // resumed loop and `colaw loop`'s report read from it.
    let round = colaw::outer::json_from_str::<colaw::outer::RoundRecord>(&t, "choice.json")
        .and_then(|r| r.validate(&Origin::file("choice.json"), r.round).map(|()| r))
        .map(|r| {
            let _ = colaw::outer::summary_line(&r, r.asked.len(), 0);
            let _ = colaw::outer::intervals(&r);
        })
        .is_ok();
    state || round
}

/// A loop journal's `oracle.jsonl`: the complete lines a resume keeps, each summarised.
pub fn oracle_jsonl(data: &[u8]) -> bool {
    let (calls, _) = colaw::util::jsonl::complete_lines(data, colaw::outer::parse_call_line);
    for c in &calls {
        let _ = colaw::outer::call_line(c, 2);
    }
    !calls.is_empty()
}

/// An oracle command's stdout (`{"loss": …}`), and the design JSON `colaw oracle` reads.
pub fn oracle_reply(data: &[u8]) -> bool {
    let t = text(data);
    let reply = colaw::oracle::parse_reply(&t).is_ok();
    let _ = colaw::oracle::parse_oracle_output(&t);
    let design = serde_json::from_str::<colaw::oracle::Design>(t.trim()).is_ok();
    reply || design
}

/// A command line: arguments separated by NUL bytes (the program name is added), parsed and
/// checked as `colaw` would before its real work.
pub fn cli(data: &[u8]) -> bool {
    let args = std::iter::once("colaw".to_string())
        .chain(data.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()));
    colaw::cli::check_args(args).is_ok()
}
