//! Exact parameter counts against the counts published for public models.

use colaw::architecture::{load_arch, preset_dir, preset_names, ArchFile};
use std::path::Path;

#[test]
fn every_preset_matches_its_published_count() {
    let names = preset_names();
    for required in [
        "Qwen2.5-0.5B",
        "Qwen2.5-1.5B",
        "Llama-3.2-1B",
        "SmolLM2-135M",
        "SmolLM2-360M",
        "TinyLlama-1.1B",
        "Mixtral-8x7B",
    ] {
        assert!(names.iter().any(|n| n == required), "preset {required} missing");
    }
    for name in names {
        let file = preset_dir().join(format!("{name}.toml"));
        let raw: ArchFile = toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let published = raw.published_params.unwrap_or_else(|| panic!("{name}: no published_params"));
        let arch = load_arch(&name).unwrap();
        assert_eq!(arch.params().total, published, "{name}");
    }
}

#[test]
fn hugging_face_configs_match_published_counts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf");
    let mut rdr = csv::Reader::from_path(dir.join("published_params.csv")).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let file = dir.join(&rec[0]);
        let published: u64 = rec[2].parse().unwrap();
        let arch = load_arch(file.to_str().unwrap()).unwrap();
        assert_eq!(arch.params().total, published, "{}", &rec[0]);
        n += 1;
    }
    // Llama, Qwen2, Mistral and Mixtral families are all covered.
    assert!(n >= 7, "only {n} fixtures");
}

#[test]
fn mixtral_active_and_non_embedding_by_hand() {
    // Mixtral-8x7B: per layer attention 2·4096² + 2·4096·1024 = 41,943,040; one expert
    // 3·4096·14336 = 176,160,768; router 4096·8 = 32,768; norms 8,192.
    // Inactive per layer: 6 experts = 1,056,964,608; ×32 = 33,822,867,456.
    let a = load_arch("Mixtral-8x7B").unwrap();
    let p = a.params();
    assert_eq!(p.total, 46_702_792_704);
    assert_eq!(p.active, 46_702_792_704 - 33_822_867_456);
    assert_eq!(p.embedding, 131_072_000);
    assert_eq!(p.lm_head, 131_072_000);
    assert_eq!(p.non_embedding, 46_702_792_704 - 262_144_000);
    assert_eq!(p.per_layer, 41_943_040 + 8 * 176_160_768 + 32_768 + 8_192);
}
