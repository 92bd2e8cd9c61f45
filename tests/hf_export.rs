//! Hugging Face export round trip: for every instance under `instances/paper/`, the best dense
//! and the best MoE design, written as a transformers `config.json` and read back, give the
//! same architecture and parameter count; and `colaw solve --emit-config` plus `colaw params`
//! agree on the command line.

mod common;

use colaw::architecture::load_arch;
use colaw::instance::Instance;
use colaw::solve::{solve, SolveOptions};
use common::colaw_json;
use std::path::Path;

/// The instance with only the dense (or only the MoE) width configurations of its space.
fn restricted(inst: &Instance, moe: bool) -> Instance {
    let mut i = inst.clone();
    i.space.widths.retain(|w| (w.experts > 1) == moe);
    i
}

#[test]
fn dense_and_moe_winners_of_every_paper_instance_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/paper");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = [0usize; 2];
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "toml")) {
        let inst = Instance::load(f).unwrap();
        for moe in [false, true] {
            let i = restricted(&inst, moe);
            if i.space.widths.is_empty() {
                continue;
            }
            let sol = solve(&i, "enum", &SolveOptions::default()).unwrap();
            let Some(best) = sol.designs.first() else { continue };
            let config = best.hf_config(&i).unwrap();
            let expected = if moe { "mixtral" } else { "llama" };
            assert_eq!(config["model_type"], expected, "{}", f.display());
            let path = tmp.path().join(format!("{}-{moe}.json", inst.name));
            std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
            let back = load_arch(path.to_str().unwrap()).unwrap();
            assert_eq!(back.params(), best.params, "{}: {}", f.display(), best.label);
            assert_eq!(
                colaw::Architecture { name: None, ..back },
                colaw::Architecture { name: None, ..best.arch.clone() }
            );
            // Positions cover the longest scenario sequence.
            let longest = i.scenarios.iter().map(|s| s.workload.prompt_tokens + s.workload.gen_tokens).max().unwrap();
            assert!(config["max_position_embeddings"].as_u64().unwrap() >= longest as u64);
            checked[moe as usize] += 1;
        }
    }
    assert!(checked[0] >= 30 && checked[1] >= 30, "dense, MoE winners checked: {checked:?}");
}

#[test]
fn emit_config_on_the_command_line_round_trips_through_params() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("winner");
    let sol = colaw_json(&[
        "solve",
        "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml",
        "--top-k",
        "2",
        "--emit-config",
        out.to_str().unwrap(),
    ]);
    for (k, folder) in [(0, out.clone()), (1, out.join("rank-2"))] {
        let p = colaw_json(&["params", folder.join("config.json").to_str().unwrap()]);
        assert_eq!(p["total"], sol["designs"][k]["params"]["total"], "rank {}", k + 1);
        assert_eq!(p["arch"]["layers"], sol["designs"][k]["arch"]["layers"]);
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["colaw"]["label"], sol["label"]);
    assert_eq!(config["torch_dtype"], "bfloat16");
    assert_eq!(config["tie_word_embeddings"], true);
}
