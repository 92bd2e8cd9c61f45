//! Engine files and weight-format byte counts: block layouts worked out by hand, llama.cpp's
//! K-quant mixes against published GGUF file sizes, refusals that name what exists, and every
//! shipped engine file loading and round-tripping.

use colaw::engine::{
    find_engine, load_engines, use_more_bits, Encoding, Engine, GgmlType, KvCacheType, ModelShape, TensorClass,
    WeightFormat,
};
use colaw::error::Origin;
use colaw::DType;
use std::path::{Path, PathBuf};

fn engines_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join("engines")
}

fn fmt(name: &str) -> WeightFormat {
    WeightFormat::parse(name).unwrap()
}

/// A Llama-family shape (GGUF arch `llama`, no biases).
#[allow(clippy::too_many_arguments)]
fn llama(
    layers: u32,
    hidden: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    ffn: u32,
    vocab: u32,
    tied: bool,
) -> ModelShape {
    ModelShape {
        layers,
        hidden,
        heads,
        kv_heads,
        head_dim,
        ffn,
        experts: 1,
        vocab,
        tied_embeddings: tied,
        qkv_bias: false,
        llama_arch: true,
    }
}

/// meta-llama/Llama-3.2-1B config.json (models/archs/Llama-3.2-1B.toml).
fn llama_3_2_1b() -> ModelShape {
    llama(16, 2048, 32, 8, 64, 8192, 128_256, true)
}

// ---------------------------------------------------------------------------------------------
// Block layouts

#[test]
fn ggml_block_sizes_by_hand() {
    // ggml-common.h: block_q4_0 = fp16 d + 32/2 nibble bytes = 18 B per 32 → 4.5 bits.
    assert_eq!((GgmlType::Q4_0.block_elements(), GgmlType::Q4_0.block_bytes()), (32, 18));
    // block_q8_0 = fp16 d + 32 int8 = 34 B per 32 → 8.5 bits.
    assert_eq!((GgmlType::Q8_0.block_elements(), GgmlType::Q8_0.block_bytes()), (32, 34));
    // block_q4_K = fp16 d + fp16 dmin + 12 B of 6-bit scales/mins + 256/2 = 144 B per 256 → 4.5 bits.
    assert_eq!((GgmlType::Q4_K.block_elements(), GgmlType::Q4_K.block_bytes()), (256, 144));
    // block_q5_K = 2 + 2 + 12 + 256/8 (high bits) + 256/2 = 176 B per 256 → 5.5 bits.
    assert_eq!((GgmlType::Q5_K.block_elements(), GgmlType::Q5_K.block_bytes()), (256, 176));
    // block_q6_K = 256/2 (low 4 bits) + 256/4 (high 2 bits) + 256/16 int8 scales + fp16 d = 210 B → 6.5625 bits.
    assert_eq!((GgmlType::Q6_K.block_elements(), GgmlType::Q6_K.block_bytes()), (256, 210));
    for (t, bits) in [
        (GgmlType::Q4_0, 4.5),
        (GgmlType::Q4_1, 5.0),
        (GgmlType::Q5_0, 5.5),
        (GgmlType::Q5_1, 6.0),
        (GgmlType::Q8_0, 8.5),
        (GgmlType::Q4_K, 4.5),
        (GgmlType::Q5_K, 5.5),
        (GgmlType::Q6_K, 6.5625),
        (GgmlType::F16, 16.0),
        (GgmlType::BF16, 16.0),
        (GgmlType::F32, 32.0),
    ] {
        assert_eq!(t.bits_per_weight(), bits, "{t}");
    }
}

#[test]
fn group_layouts_by_hand_on_a_4096_square_projection() {
    let (n, k) = (4096u64, 4096u64); // rows = outputs, cols = inputs
                                     // AutoAWQ GEMM, group 128: qweight int32 [4096, 4096/8] = 4096·512·4 = 8,388,608 B;
                                     // qzeros int32 [4096/128, 4096/8] = 32·512·4 = 65,536 B; scales fp16 [32, 4096] = 262,144 B.
                                     // Total 8,716,288 B = 4 + 4/128 + 16/128 = 4.15625 bits per weight.
    let awq = Encoding::AwqGemm { group: 128 }.bytes(n, k, 1).unwrap();
    assert_eq!(awq, 8_388_608 + 65_536 + 262_144);
    assert_eq!(8.0 * awq as f64 / (n * k) as f64, 4.15625);
    // GPTQ: the same three tensors plus g_idx int32 [4096] = 16,384 B.
    assert_eq!(Encoding::GptqV1 { group: 128 }.bytes(n, k, 1).unwrap(), awq + 16_384);
    // MLC q4f16_1: per row, 4096/32 = 128 groups of (32·4/8 = 16 B of uint32 words + 2 B fp16
    // scale) = 18 B → 4096·128·18 = 9,437,184 B = 4.5 bits.
    let mlc = Encoding::MlcGroup { bits: 4, group: 32, scale_bytes: 2 }.bytes(n, k, 1).unwrap();
    assert_eq!(mlc, 9_437_184);
    // A row of 100 inputs has ceil(100/32) = 4 groups (the last padded): 4·18 = 72 B per row.
    assert_eq!(Encoding::MlcGroup { bits: 4, group: 32, scale_bytes: 2 }.bytes(3, 100, 1).unwrap(), 3 * 72);
    // TensorRT-LLM int4 AWQ: qweight 4096·4096/2 = 8,388,608 B, scale fp16 [32, 4096] =
    // 262,144 B, pre-quant scale fp16 [4096] = 8,192 B; no zeros.
    assert_eq!(
        Encoding::ModelOptAwq { group: 128, pre_quant_scale: true }.bytes(n, k, 1).unwrap(),
        8_388_608 + 262_144 + 8_192
    );
    // FP8 per tensor: 1 B per weight + fp32 weight scale + fp32 input scale = 16,777,216 + 8.
    assert_eq!(Encoding::Fp8PerTensor.bytes(n, k, 1).unwrap(), 16_777_224);
    // FP8 per channel (bf16 scales): + 4096·2 = 8,192 B.
    assert_eq!(Encoding::Fp8PerChannel { scale_bytes: 2 }.bytes(n, k, 1).unwrap(), 16_777_216 + 8_192);
    // int8 weight-only: + fp16 per-channel scale 4096·2.
    assert_eq!(Encoding::Int8PerChannel.bytes(n, k, 1).unwrap(), 16_777_216 + 8_192);
    // Eight experts cost eight times one.
    assert_eq!(Encoding::AwqGemm { group: 128 }.bytes(n, k, 8).unwrap(), 8 * awq);
}

#[test]
fn layouts_that_cannot_hold_a_shape_are_refused() {
    // AutoAWQ asserts in_features % group_size == 0.
    let e = Encoding::AwqGemm { group: 128 }.bytes(4096, 896 + 64, 1).unwrap_err().to_string();
    assert!(e.contains("960") && e.contains("128"), "{e}");
    // A Q4_K row must be whole 256-weight super-blocks.
    let e = Encoding::Ggml(GgmlType::Q4_K).bytes(10, 896, 1).unwrap_err().to_string();
    assert!(e.contains("896") && e.contains("256"), "{e}");
    // A model whose projections AWQ cannot hold: the error names the format and the tensor.
    let s = llama(2, 960, 15, 5, 64, 2560, 1000, true);
    let e = fmt("awq-int4-g128").weight_bytes(&s).unwrap_err().to_string();
    assert!(e.contains("awq-int4-g128") && e.contains("blk.0."), "{e}");
}

// ---------------------------------------------------------------------------------------------
// llama.cpp K-quant mixes

#[test]
fn use_more_bits_matches_the_rule_by_hand() {
    // n = 16: n/8 = 2, 7n/8 = 14; (i − 2) % 3 == 2 → i = 4, 7, 10, 13.
    let sel: Vec<i64> = (0..16).filter(|&i| use_more_bits(i, 16)).collect();
    assert_eq!(sel, [0, 1, 4, 7, 10, 13, 14, 15]);
    // n = 32: i < 4, i ≥ 28, (i − 4) % 3 == 2 → 6, 9, ..., 27: half of the layers.
    let sel: Vec<i64> = (0..32).filter(|&i| use_more_bits(i, 32)).collect();
    assert_eq!(sel, [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]);
}

#[test]
fn mixed_layer_counts_agree_with_the_tensor_types_and_never_fall_with_depth() {
    // The compact MIP bounds the mixed-layer terms by their value at a width's largest depth:
    // that needs the counts nondecreasing in depth.
    for f in ["Q4_K_M", "Q5_K_M", "Q4_K_S", "Q8_0", "q4f16_1"] {
        let f = fmt(f);
        let mut prev = [0, 0];
        for l in 1..=160 {
            let m = f.mixed_layers(l);
            assert!(m[0] >= prev[0] && m[1] >= prev[1], "{f} at {l}: {m:?} after {prev:?}");
            prev = m;
        }
    }
    // And they count exactly the upgraded tensors weight_bytes assigns (a dense Llama shape,
    // hidden and ffn multiples of 256, so no fallback).
    for l in [1, 2, 7, 8, 9, 16, 22, 24, 32, 40, 48] {
        let s = llama(l, 512, 8, 2, 64, 1536, 1000, true);
        for (f, up_v, up_d) in [
            ("Q4_K_M", GgmlType::Q6_K, GgmlType::Q6_K),
            ("Q5_K_M", GgmlType::Q6_K, GgmlType::Q6_K),
            ("Q4_K_S", GgmlType::Q5_K, GgmlType::Q5_K),
        ] {
            let w = fmt(f).weight_bytes(&s).unwrap();
            let got = [
                w.count(TensorClass::AttnV, Encoding::Ggml(up_v)) as u32,
                w.count(TensorClass::FfnDown, Encoding::Ggml(up_d)) as u32,
            ];
            assert_eq!(got, fmt(f).mixed_layers(l), "{f} with {l} layers");
        }
    }
}

#[test]
fn llama_3_2_1b_q4_k_m_by_hand_and_against_the_published_file() {
    let w = fmt("Q4_K_M").weight_bytes(&llama_3_2_1b()).unwrap();
    // Tied embeddings: no output.weight, so token_embd is typed as the output: Q6_K
    // (2048 % 256 = 0). 128,256 · 2048 / 256 = 1,026,048 blocks · 210 B = 215,470,080 B.
    assert_eq!(w.class_bytes(TensorClass::TokenEmbd), 215_470_080);
    assert_eq!(w.class_bytes(TensorClass::Output), 0);
    // Per block, Q4_K (144 B per 256):
    //   attn_q 2048·2048/256·144 = 2,359,296   attn_k 512·2048/256·144 = 589,824
    //   attn_v 589,824 (Q4_K) or 512·2048/256·210 = 860,160 (Q6_K)
    //   attn_output 2,359,296   ffn_gate = ffn_up = 8192·2048/256·144 = 9,437,184
    //   ffn_down 9,437,184 (Q4_K) or 2048·8192/256·210 = 13,762,560 (Q6_K)
    //   two F32 norms 2·2048·4 = 16,384
    // Base block (all Q4_K) = 34,226,176 B; a use_more_bits block (layers 0,1,4,7,10,13,14,15)
    // adds 270,336 + 4,325,376 = 4,595,712 B.
    assert_eq!(w.layer_bytes(2), 34_226_176);
    assert_eq!(w.layer_bytes(0), 34_226_176 + 4_595_712);
    assert_eq!(w.count(TensorClass::AttnV, Encoding::Ggml(GgmlType::Q6_K)), 8);
    assert_eq!(w.count(TensorClass::FfnDown, Encoding::Ggml(GgmlType::Q6_K)), 8);
    // Total: 16·34,226,176 + 8·4,595,712 + 215,470,080 + output_norm 8,192 = 799,862,784 B.
    let total = 16 * 34_226_176 + 8 * 4_595_712 + 215_470_080 + 8_192;
    assert_eq!(w.total_bytes(), total);
    assert_eq!(w.total_elements(), 1_235_814_400, "Meta's published parameter count");
    // bartowski/Llama-3.2-1B-Instruct-GGUF, Llama-3.2-1B-Instruct-Q4_K_M.gguf (llama.cpp b3821):
    // 807,694,464 B (SHA-256 6f85a640a97cf2bf…, listed as 808 MB on Hugging Face). The rest,
    // 7,831,680 B, is the GGUF header: the 128,256-token vocabulary, 280k BPE merges, the chat
    // template, and the 32-float rope_freqs tensor, which colaw does not count.
    let published: u64 = 807_694_464;
    let rest = published - w.total_bytes();
    assert_eq!(rest, 7_831_680);
    assert!(rest < published / 100, "header is under 1 % of the file");
}

/// TheBloke's GGUF files (Hugging Face TheBloke/<model>-GGUF, quantised with llama.cpp in
/// Sep–Oct 2023), byte sizes as published with the files: (model, shape, [(format, bytes)]).
/// One model's published GGUF files: (model, shape, [(format, file bytes)]).
type Published = (&'static str, ModelShape, Vec<(&'static str, u64)>);

fn published_gguf() -> Vec<Published> {
    vec![
        (
            "Llama-2-7B",
            llama(32, 4096, 32, 32, 128, 11008, 32000, false),
            vec![("Q4_K_M", 4_081_004_224), ("Q5_K_M", 4_783_156_928), ("Q8_0", 7_161_089_728)],
        ),
        (
            "CodeLlama-7B-Instruct",
            llama(32, 4096, 32, 32, 128, 11008, 32016, false),
            vec![("Q4_K_M", 4_081_095_360), ("Q5_K_M", 4_783_256_256), ("Q8_0", 7_161_229_504)],
        ),
        (
            "CodeLlama-13B-Instruct",
            llama(40, 5120, 40, 40, 128, 13824, 32016, false),
            vec![("Q4_K_M", 7_866_070_016), ("Q5_K_M", 9_230_048_256), ("Q8_0", 13_831_494_016)],
        ),
        (
            "Phind-CodeLlama-34B-v2",
            llama(48, 8192, 64, 8, 128, 22016, 32000, false),
            vec![("Q4_K_M", 20_219_900_064), ("Q5_K_M", 23_838_797_984), ("Q8_0", 35_856_052_384)],
        ),
        (
            "Mistral-7B-Instruct-v0.1",
            llama(32, 4096, 32, 8, 128, 14336, 32000, false),
            vec![("Q4_K_M", 4_368_438_944), ("Q5_K_M", 5_131_409_056)],
        ),
    ]
}

#[test]
fn k_quant_mixes_reproduce_published_gguf_sizes_to_the_byte() {
    // Files of one model differ only in tensor data (the header — vocabulary, metadata — is the
    // same size whatever the format), so published size − computed weight bytes must be one
    // constant per model, and small (a 32k-token vocabulary: under 1 MB). Any error in a mix
    // rule (which attn_v/ffn_down get Q6_K, the output in Q6_K, the F32 norms) shows up as a
    // different constant for Q4_K_M, Q5_K_M and Q8_0.
    for (model, shape, files) in published_gguf() {
        let rests: Vec<u64> =
            files.iter().map(|(f, size)| size - fmt(f).weight_bytes(&shape).unwrap().total_bytes()).collect();
        assert!(rests.iter().all(|r| *r == rests[0]), "{model}: header sizes differ across formats: {rests:?}");
        assert!(rests[0] > 500_000 && rests[0] < 1_000_000, "{model}: header {}", rests[0]);
    }
    // Llama-2-7B by hand, Q8_0: every matrix 34 B per 32 weights.
    //   per block: q,k,v,o 4·(4096·4096/32·34) = 71,303,168; gate, up, down 3·(11008·4096/32·34)
    //   = 143,720,448; norms 32,768 → 215,056,384;  ·32 = 6,881,804,288
    //   token_embd and output (Q8_0 stays Q8_0): 2·(32000·4096/32·34) = 278,528,000; norm 16,384
    //   total 7,160,348,672 = 7,161,089,728 (published) − 741,056.
    let w = fmt("Q8_0").weight_bytes(&published_gguf()[0].1).unwrap();
    assert_eq!(w.total_bytes(), 7_160_348_672);
}

#[test]
fn every_tensor_type_and_byte_matches_llama_quantize_at_the_pinned_commit() {
    // tests/fixtures/llama_quantize_sizes.csv: GGUF files written by the pinned llama-quantize
    // for shapes that hit the special cases (hidden 896 → fallbacks, 8 experts, ffn 1000 → F16,
    // tied and untied, Q/K/V biases) in nine formats. Every total and every per-type count of
    // the matrices must agree exactly.
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama_quantize_sizes.csv"))
            .unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut checked = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |k: &str| f[header.iter().position(|h| *h == k).unwrap()];
        let int = |k: &str| get(k).parse::<u32>().unwrap();
        let shape = ModelShape {
            layers: int("layers"),
            hidden: int("hidden"),
            heads: int("heads"),
            kv_heads: int("kv_heads"),
            head_dim: int("head_dim"),
            ffn: int("ffn"),
            experts: int("experts"),
            vocab: int("vocab"),
            tied_embeddings: get("tied") == "true",
            qkv_bias: get("qkv_bias") == "true",
            llama_arch: true, // make_gguf.py writes GGUF architecture `llama`
        };
        let what = format!("{} {}", get("arch"), get("format"));
        let w = fmt(get("format")).weight_bytes(&shape).unwrap();
        assert_eq!(w.total_bytes(), get("weight_bytes").parse::<u64>().unwrap(), "{what}");
        let mut types = std::collections::BTreeMap::<String, usize>::new();
        for t in w.tensors.iter().filter(|t| !t.tensor.class.is_norm() && !t.tensor.class.is_bias()) {
            let Encoding::Ggml(g) = t.encoding else { panic!("{what}: not a ggml type") };
            *types.entry(g.name().to_uppercase()).or_default() += 1;
        }
        let got: Vec<String> = types.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        assert_eq!(got.join(";"), get("matrix_types"), "{what}");
        checked += 1;
    }
    assert_eq!(checked, 36);
}

#[test]
fn weight_bytes_match_the_gguf_files_timed_on_the_h200() {
    // data/measurements/llamacpp/h200_cuda.csv records, per design and format, the weight bytes
    // read back from the GGUF file llama-quantize wrote (pinned commit 0c1e570;
    // measure/llamacpp/make_gguf.py): 15 designs, including widths 576, 896 and 960 that hit
    // the fallbacks, in F16, Q8_0 and Q4_K_M. Every one must equal the byte model.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/measurements/llamacpp/h200_cuda.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |k: &str| header.iter().position(|h| *h == k).unwrap_or_else(|| panic!("no column {k}"));
    let mut seen = std::collections::BTreeSet::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let int = |k: &str| f[col(k)].parse::<u32>().unwrap();
        let (name, format) = (f[col("name")], f[col("format")]);
        if !seen.insert((name.to_string(), format.to_string())) {
            continue;
        }
        let shape = ModelShape {
            layers: int("layers"),
            hidden: int("hidden"),
            heads: int("heads"),
            kv_heads: int("kv_heads"),
            head_dim: int("head_dim"),
            ffn: int("ffn"),
            experts: int("experts"),
            vocab: int("vocab"),
            tied_embeddings: f[col("tied")] == "true",
            qkv_bias: f[col("qkv_bias")] == "true",
            llama_arch: true, // make_gguf.py writes GGUF architecture `llama`
        };
        let want: u64 = f[col("weight_bytes")].parse().unwrap();
        assert_eq!(fmt(format).weight_bytes(&shape).unwrap().total_bytes(), want, "{name} {format}");
    }
    assert!(seen.len() >= 45, "only {} design/format pairs", seen.len());
}

#[test]
fn rows_that_are_not_whole_super_blocks_fall_back_as_llama_cpp_does() {
    // Qwen2.5-0.5B: hidden 896 = 3.5·256, so Q4_K → Q5_0 and Q6_K → Q8_0 on every tensor whose
    // rows are 896 long; ffn_down rows are 4864 = 19·256 long and stay K-quants.
    let s = ModelShape {
        layers: 24,
        hidden: 896,
        heads: 14,
        kv_heads: 2,
        head_dim: 64,
        ffn: 4864,
        experts: 1,
        vocab: 151_936,
        tied_embeddings: true,
        qkv_bias: true,
        llama_arch: false,
    };
    let w = fmt("Q4_K_M").weight_bytes(&s).unwrap();
    let count = |c, t| w.count(c, Encoding::Ggml(t));
    // token_embd doubles as output; 896 % 256 ≠ 0 → Q8_0: 151,936·896/32·34 = 144,643,072 B.
    assert_eq!(count(TensorClass::TokenEmbd, GgmlType::Q8_0), 1);
    assert_eq!(w.class_bytes(TensorClass::TokenEmbd), 144_643_072);
    assert_eq!(count(TensorClass::AttnQ, GgmlType::Q5_0), 24);
    assert_eq!(count(TensorClass::AttnOutput, GgmlType::Q5_0), 24); // rows of 14·64 = 896
                                                                    // use_more_bits(i, 24): i < 3, i ≥ 21, (i − 3) % 3 == 2 → 12 layers.
    assert_eq!(count(TensorClass::AttnV, GgmlType::Q8_0), 12);
    assert_eq!(count(TensorClass::AttnV, GgmlType::Q5_0), 12);
    assert_eq!(count(TensorClass::FfnDown, GgmlType::Q6_K), 12);
    assert_eq!(count(TensorClass::FfnDown, GgmlType::Q4_K), 12);
    assert_eq!(count(TensorClass::AttnQBias, GgmlType::F32), 24);
    // Per block, base: q, o 2·(896·896/32·22) = 1,103,872; k, v 2·(128·896/32·22) = 157,696;
    // gate, up 2·(4864·896/32·22) = 5,992,448; down 896·4864/256·144 = 2,451,456;
    // norms 2·896·4 = 7,168; biases (896 + 128 + 128)·4 = 4,608 → 9,717,248 B.
    // A more-bits block adds v: 128·28·(34 − 22) = 43,008 and down: 896·19·(210 − 144) = 1,123,584.
    let total = 144_643_072 + 24 * 9_717_248 + 12 * (43_008 + 1_123_584) + 896 * 4;
    assert_eq!(w.total_bytes(), total);
    // 391,859,712 B for 494,032,768 weights: 6.35 bits per weight, not Q4_K's 4.5.
    assert_eq!(w.total_elements(), 494_032_768, "Qwen's published parameter count");
    assert!(w.bits_per_weight() > 6.0);
}

#[test]
fn eight_expert_models_and_70b_get_llama_cpp_special_cases() {
    // Mixtral-8x7B-shaped, Q4_K_M: llama.cpp puts attn_v and attn_k of 8-expert models in Q8_0
    // and attn_output in Q5_K; the router stays F32; ffn_down_exps follows use_more_bits.
    let mut s = llama(32, 4096, 32, 8, 128, 14336, 32000, false);
    s.experts = 8;
    let w = fmt("Q4_K_M").weight_bytes(&s).unwrap();
    let count = |c, t| w.count(c, Encoding::Ggml(t));
    assert_eq!(count(TensorClass::AttnV, GgmlType::Q8_0), 32);
    assert_eq!(count(TensorClass::AttnK, GgmlType::Q8_0), 32);
    assert_eq!(count(TensorClass::AttnOutput, GgmlType::Q5_K), 32);
    assert_eq!(count(TensorClass::FfnGateInp, GgmlType::F32), 32);
    assert_eq!(count(TensorClass::FfnDown, GgmlType::Q6_K), 16);
    // One ffn_down_exps in Q6_K: 8 experts · 4096 rows · 14336/256 blocks · 210 B = 385,351,680.
    let down_q6: u64 = 8 * 4096 * 56 * 210;
    let down_q4: u64 = 8 * 4096 * 56 * 144;
    assert_eq!(w.class_bytes(TensorClass::FfnDown), 16 * down_q6 + 16 * down_q4);
    assert_eq!(w.class_bytes(TensorClass::FfnGateInp), 32 * 8 * 4096 * 4);

    // Llama-2-70B-shaped (80 layers, GQA): attn_v not chosen by use_more_bits is Q5_K, not Q4_K.
    let s70 = llama(80, 8192, 64, 8, 128, 28672, 32000, false);
    let w = fmt("Q4_K_M").weight_bytes(&s70).unwrap();
    assert_eq!(w.count(TensorClass::AttnV, Encoding::Ggml(GgmlType::Q4_K)), 0);
    let q6 = w.count(TensorClass::AttnV, Encoding::Ggml(GgmlType::Q6_K));
    assert_eq!(q6, (0..80).filter(|&i| use_more_bits(i, 80)).count());
    assert_eq!(w.count(TensorClass::AttnV, Encoding::Ggml(GgmlType::Q5_K)), 80 - q6);
    // The same shape as Qwen (GGUF arch qwen2) does not get the 70B rule.
    let w = fmt("Q4_K_M").weight_bytes(&ModelShape { llama_arch: false, ..s70 }).unwrap();
    assert_eq!(w.count(TensorClass::AttnV, Encoding::Ggml(GgmlType::Q4_K)), 80 - q6);
}

#[test]
fn q4_0_keeps_the_output_in_q6_k_and_f16_keeps_norms_in_f32() {
    let s = llama(2, 256, 4, 2, 64, 512, 1000, false);
    let w = fmt("Q4_0").weight_bytes(&s).unwrap();
    // output: the target is not Q8_0 and 256 % 32 = 0 → Q6_K: 1000·256/256·210 = 210,000 B.
    assert_eq!(w.class_bytes(TensorClass::Output), 210_000);
    // token_embd (untied) stays Q4_0: 1000·256/32·18 = 144,000 B.
    assert_eq!(w.class_bytes(TensorClass::TokenEmbd), 144_000);
    let f16 = fmt("F16").weight_bytes(&s).unwrap();
    // Norms F32 (convert_hf_to_gguf writes 1-D tensors in F32): 2 layers · 2 · 256 · 4 + 256 · 4.
    let norms: u64 = [TensorClass::AttnNorm, TensorClass::FfnNorm, TensorClass::OutputNorm]
        .iter()
        .map(|c| f16.class_bytes(*c))
        .sum();
    assert_eq!(norms, 2 * 2 * 256 * 4 + 256 * 4);
    // Every matrix F16: 2 B per weight.
    assert_eq!(f16.class_bytes(TensorClass::AttnQ), 2 * 256 * 256 * 2);
}

#[test]
fn checkpoint_formats_keep_embedding_and_head_unquantised_mlc_does_not() {
    // Llama-3.2-1B (tied). AWQ: block projections in AutoAWQ layout, embedding in fp16.
    let s = llama_3_2_1b();
    let awq = fmt("awq-int4-g128").weight_bytes(&s).unwrap();
    assert_eq!(awq.class_bytes(TensorClass::TokenEmbd), 128_256 * 2048 * 2);
    // attn_q [2048 out, 2048 in]: 2048·2048/2 + (2048/128)·(2048/8)·4 + 16·2048·2
    //   = 2,097,152 + 16,384 + 65,536 = 2,179,072 B per layer.
    assert_eq!(awq.class_bytes(TensorClass::AttnQ), 16 * 2_179_072);
    // MLC q4f16_1 quantises the embedding too: 128,256 rows · 2048/32 groups · 18 B.
    let mlc = fmt("q4f16_1").weight_bytes(&s).unwrap();
    assert_eq!(mlc.class_bytes(TensorClass::TokenEmbd), 128_256 * 64 * 18);
    // ... and keeps the norms in fp16 (2 B), not F32 as GGUF does.
    assert_eq!(mlc.class_bytes(TensorClass::AttnNorm), 16 * 2048 * 2);
    // TensorRT-LLM int4 AWQ: K and V share the fused QKV's pre-scale (carried by Q).
    let trt = fmt("trtllm-int4-awq-g128").weight_bytes(&s).unwrap();
    // attn_k [512 out, 2048 in]: 2048·512/2 + 16·512·2 = 524,288 + 16,384, no pre-scale.
    assert_eq!(trt.class_bytes(TensorClass::AttnK), 16 * (524_288 + 16_384));
    // attn_q: 2,097,152 + 65,536 + pre-scale 2048·2 = 2,166,784.
    assert_eq!(trt.class_bytes(TensorClass::AttnQ), 16 * 2_166_784);
    // Dense bf16 is 2 B per weight for everything: 1,235,814,400 weights.
    let bf16 = WeightFormat::Dense(DType::Bf16).weight_bytes(&s).unwrap();
    assert_eq!(bf16.total_bytes(), 2 * 1_235_814_400);
    // Ordering sanity: 4-bit formats are smaller than fp8, which is smaller than bf16.
    for f in ["Q4_K_M", "q4f16_1", "awq-int4-g128", "gptq-int4-g128", "trtllm-int4-awq-g128"] {
        let b = fmt(f).weight_bytes(&s).unwrap().total_bytes();
        let fp8 = fmt("fp8-e4m3-per-channel").weight_bytes(&s).unwrap().total_bytes();
        assert!(b < fp8 && fp8 < bf16.total_bytes(), "{f}: {b} vs fp8 {fp8}");
    }
}

#[test]
fn the_tensor_list_counts_every_published_parameter_of_the_shipped_architectures() {
    // models/archs/*.toml carry each model's published parameter count (its config.json and
    // safetensors index); the GGUF-ordered tensor list must hold exactly that many weights.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/archs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let t: toml::Table = std::fs::read_to_string(entry.path()).unwrap().parse().unwrap();
        let int = |k: &str| t.get(k).and_then(|v| v.as_integer()).map(|v| v as u32);
        let flag = |k: &str| t.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let s = ModelShape {
            layers: int("layers").unwrap(),
            hidden: int("hidden").unwrap(),
            heads: int("heads").unwrap(),
            kv_heads: int("kv_heads").unwrap(),
            head_dim: int("head_dim").unwrap(),
            ffn: int("ffn").unwrap(),
            experts: int("experts").unwrap_or(1),
            vocab: int("vocab").unwrap(),
            tied_embeddings: flag("tied_embeddings"),
            qkv_bias: flag("qkv_bias"),
            llama_arch: !flag("qkv_bias"),
        };
        let published = t["published_params"].as_integer().unwrap() as u64;
        let w = WeightFormat::Dense(DType::Bf16).weight_bytes(&s).unwrap();
        assert_eq!(w.total_elements(), published, "{}", entry.path().display());
        assert_eq!(w.total_bytes(), 2 * published);
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} architecture files");
}

#[test]
fn kv_cache_bytes_per_token_by_hand() {
    let s = llama_3_2_1b();
    // f16: 16 layers · (K + V) · 8 heads · 64 · 2 B = 32,768 B per token.
    assert_eq!(KvCacheType::parse("f16").unwrap().bytes_per_token(&s).unwrap(), 32_768);
    // q8_0: each 512-value row is 16 blocks of 34 B = 544 B → 16 · 2 · 544 = 17,408 B.
    assert_eq!(KvCacheType::parse("q8_0").unwrap().bytes_per_token(&s).unwrap(), 17_408);
    // q4_0: 16 blocks of 18 B = 288 B per row → 9,216 B.
    assert_eq!(KvCacheType::parse("q4_0").unwrap().bytes_per_token(&s).unwrap(), 9_216);
    assert_eq!(KvCacheType::parse("fp8_e4m3").unwrap().bytes_per_token(&s).unwrap(), 16_384);
    assert_eq!(KvCacheType::parse("q8_0").unwrap().dtype(), None);
    assert_eq!(KvCacheType::parse("bf16").unwrap().dtype(), Some(DType::Bf16));
    let e = KvCacheType::parse("q3_k").unwrap_err().to_string();
    assert!(e.contains("q3_k") && e.contains("q8_0") && e.contains("fp8_e4m3"), "{e}");
}

#[test]
fn every_format_name_parses_back_and_unknown_names_list_the_catalogue() {
    for f in WeightFormat::ALL {
        assert_eq!(WeightFormat::parse(f.name()).unwrap(), f);
        // Every format gives a byte count for a shape every layout can hold.
        assert!(f.weight_bytes(&llama_3_2_1b()).unwrap().total_bytes() > 0, "{f}");
    }
    let e = WeightFormat::parse("Q4_K_XL").unwrap_err().to_string();
    assert!(
        e.contains("Q4_K_XL") && e.contains("Q4_K_M") && e.contains("q4f16_1") && e.contains("awq-int4-g128"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Engine files

#[test]
fn every_shipped_engine_file_loads_and_round_trips() {
    let engines = load_engines(&engines_dir()).unwrap();
    let names: Vec<&str> = engines.iter().map(|e| e.name.as_str()).collect();
    for want in
        ["llama.cpp", "mlc-llm", "tensorrt-llm", "vllm", "hf-transformers-eager", "pytorch-cudagraph", "pytorch-eager"]
    {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for e in &engines {
        let text = e.to_toml_string();
        let back = Engine::from_toml_str(&text, &Origin::default()).unwrap();
        assert_eq!(&back, e, "{} does not round-trip", e.name);
        // Defaults resolve, and every listed format has a byte model for a plain Llama shape.
        e.default_format().unwrap();
        e.default_kv_cache().unwrap();
        for f in &e.weight_formats {
            e.weight_format(f, None).unwrap().weight_bytes(&llama_3_2_1b()).unwrap();
        }
    }
}

#[test]
fn lookup_by_alias_and_unknown_engine_lists_what_exists() {
    let dir = engines_dir();
    assert_eq!(find_engine(&dir, "cudagraph").unwrap().name, "pytorch-cudagraph");
    assert_eq!(find_engine(&dir, "TRTLLM").unwrap().name, "tensorrt-llm");
    let e = find_engine(&dir, "ollama").unwrap_err().to_string();
    assert!(e.contains("ollama") && e.contains("llama.cpp") && e.contains("vllm") && e.contains("mlc-llm"), "{e}");
}

#[test]
fn a_format_an_engine_cannot_run_is_refused_naming_the_engine_and_its_formats() {
    let dir = engines_dir();
    let llama_cpp = find_engine(&dir, "llama.cpp").unwrap();
    assert_eq!(llama_cpp.weight_format("Q4_K_M", None).unwrap(), fmt("Q4_K_M"));
    let e = llama_cpp.weight_format("awq-int4-g128", None).unwrap_err().to_string();
    assert!(
        e.contains("llama.cpp") && e.contains("awq-int4-g128") && e.contains("Q4_K_M") && e.contains("Q8_0"),
        "{e}"
    );
    let trt = find_engine(&dir, "tensorrt-llm").unwrap();
    let e = trt.weight_format("Q4_K_M", None).unwrap_err().to_string();
    assert!(e.contains("tensorrt-llm") && e.contains("trtllm-int4-awq-g128"), "{e}");
    // An unknown name is a different error: it lists the whole catalogue.
    let e = llama_cpp.weight_format("Q4_K_Z", None).unwrap_err().to_string();
    assert!(e.contains("unknown weight format") && e.contains("fp8-e4m3-per-tensor"), "{e}");
    // KV-cache types likewise.
    let e = find_engine(&dir, "vllm").unwrap().kv_cache_type("q8_0").unwrap_err().to_string();
    assert!(e.contains("vllm") && e.contains("fp8_e4m3"), "{e}");
}

const MIN: &str = r#"
name = "toy"
display_name = "Toy"
version = "1"
weight_formats = ["Q4_0", "F16"]
default_weight_format = "Q4_0"
kv_cache_types = ["f16"]
default_kv_cache_type = "f16"
[attention]
kernel = "fused"
flash = true
implementation = "x"
[sources]
weight_formats = "a"
kv_cache_types = "b"
attention = "c"
"#;

#[test]
fn engine_file_errors_name_file_field_value_and_what_is_allowed() {
    let o = Origin::file("toy.toml");
    Engine::from_toml_str(MIN, &o).unwrap();
    let e =
        Engine::from_toml_str(&MIN.replace(r#"["Q4_0", "F16"]"#, r#"["Q4_0", "Q4_K_Z"]"#), &o).unwrap_err().to_string();
    assert!(
        e.contains("toy.toml") && e.contains("weight_formats") && e.contains("Q4_K_Z") && e.contains("Q4_K_M"),
        "{e}"
    );
    let e = Engine::from_toml_str(
        &MIN.replace(r#"default_weight_format = "Q4_0""#, r#"default_weight_format = "Q8_0""#),
        &o,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("default_weight_format") && e.contains("Q8_0") && e.contains("Q4_0, F16"), "{e}");
    let e = Engine::from_toml_str(&MIN.replace("attention = \"c\"\n", ""), &o).unwrap_err().to_string();
    assert!(e.contains("sources.attention"), "{e}");
    // deny_unknown_fields: a typo is reported, not ignored.
    let e =
        Engine::from_toml_str(&MIN.replace("flash = true", "flash = true\nfused = true"), &o).unwrap_err().to_string();
    assert!(e.contains("toy.toml") && e.contains("fused"), "{e}");
    let e =
        Engine::from_toml_str(&format!("{MIN}[devices.x.efficiency]\ncompute = 1.5\n"), &o).unwrap_err().to_string();
    assert!(e.contains("devices.x.efficiency.compute") && e.contains("1.5"), "{e}");
    let e =
        Engine::from_toml_str(&format!("{MIN}[devices.x]\nweight_formats = [\"Q8_0\"]\n"), &o).unwrap_err().to_string();
    assert!(e.contains("devices.x.weight_formats") && e.contains("Q8_0") && e.contains("Q4_0"), "{e}");
}

#[test]
fn tensorrt_llm_fp8_is_refused_on_a_device_without_fp8_matrix_units() {
    // tensorrt-llm.toml: fp8-e4m3-per-tensor requires fp8 (ModelOpt support matrix: Ada and
    // later). The Jetson hardware files publish no fp8 peak, the RTX 4090 and H100 files do.
    let trt = find_engine(&engines_dir(), "tensorrt-llm").unwrap();
    let hw_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hardware");
    let load =
        |stem: &str| colaw::hardware::load_hardware(hw_dir.join(format!("{stem}.toml")).to_str().unwrap()).unwrap();
    let jetson = load("jetson-orin-nano-8gb-super");
    let has = |hw: &colaw::Hardware| {
        let p = hw.peak_tflops.clone();
        move |t: DType| p.get(t).is_some()
    };
    let e = trt
        .weight_format_on("fp8-e4m3-per-tensor", "jetson-orin-nano-8gb-super", has(&jetson))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("tensorrt-llm") && e.contains("jetson-orin-nano-8gb-super") && e.contains("peak_tflops.fp8"),
        "{e}"
    );
    // The list of what it runs there leaves fp8 out and keeps int4 AWQ.
    let there = e.split("there it runs:").nth(1).unwrap();
    assert!(there.contains("trtllm-int4-awq-g128") && !there.contains("fp8"), "{e}");
    assert!(trt.weight_format_on("trtllm-int4-awq-g128", "jetson-orin-nano-8gb-super", has(&jetson)).is_ok());
    let rtx = load("nvidia-rtx-4090");
    assert!(trt.weight_format_on("fp8-e4m3-per-tensor", "nvidia-rtx-4090", has(&rtx)).is_ok());
    // A requirement on a format the engine does not list is an error naming the field.
    let bad = format!("{MIN}[requires_compute]\n\"Q8_0\" = \"int8\"\n")
        .replace("attention = \"c\"", "attention = \"c\"\nrequires_compute = \"d\"");
    let err = Engine::from_toml_str(&bad, &Origin::default()).unwrap_err().to_string();
    assert!(err.contains("requires_compute") && err.contains("Q8_0"), "{err}");
}

#[test]
fn a_device_profile_can_restrict_formats_and_the_refusal_names_the_device() {
    let text = format!("{MIN}[devices.jetson]\nweight_formats = [\"F16\"]\n");
    let e = Engine::from_toml_str(&text, &Origin::default()).unwrap();
    assert!(e.weight_format("Q4_0", None).is_ok());
    assert!(e.weight_format("Q4_0", Some("other")).is_ok());
    let err = e.weight_format("Q4_0", Some("jetson")).unwrap_err().to_string();
    assert!(err.contains("toy") && err.contains("jetson") && err.contains("F16"), "{err}");
}

#[test]
fn calibrated_profiles_have_the_hardware_file_shape_and_numbers() {
    // The pytorch-* profiles were copied from the calibrated hardware files; the hardware
    // loader parses those files, the engine loader the copies. Every factor must agree, which
    // also checks that [efficiency] and [overhead] have the same shape in both schemas.
    for (engine, hw_file) in
        [("pytorch-cudagraph", "nvidia-h100-sxm-cudagraph"), ("pytorch-eager", "nvidia-h100-sxm-eager")]
    {
        let e = find_engine(&engines_dir(), engine).unwrap();
        let p = e.profile("nvidia-h100-sxm").unwrap();
        let hw_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hardware").join(format!("{hw_file}.toml"));
        let hw = colaw::hardware::load_hardware(hw_path.to_str().unwrap()).unwrap();
        let (he, pe) = (&hw.efficiency, &p.efficiency);
        assert_eq!((he.compute, he.bandwidth), (pe.compute, pe.bandwidth));
        for (h, q) in
            [(he.gemm, pe.gemm), (he.attention, pe.attention), (he.elementwise, pe.elementwise), (he.moe, pe.moe)]
        {
            let (h, q) = (h.unwrap(), q.unwrap());
            assert_eq!((h.compute, h.bandwidth), (q.compute, q.bandwidth), "{engine}");
        }
        let (ho, po) = (&hw.overhead, &p.overhead);
        assert_eq!(
            (ho.per_step_ms, ho.per_layer_ms, ho.per_moe_layer_ms),
            (po.per_step_ms, po.per_layer_ms, po.per_moe_layer_ms)
        );
        assert_eq!(hw.calibration.as_ref(), p.calibration.as_ref());
        // The profile is keyed by the uncalibrated device it applies to: same peaks, bandwidth
        // and memory as the calibrated file, so profile + device = the calibrated file.
        let base = colaw::hardware::load_hardware(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hardware/nvidia-h100-sxm.toml").to_str().unwrap(),
        )
        .unwrap();
        assert_eq!(
            (base.peak_tflops, base.bandwidth_gbps, base.memory_gb),
            (hw.peak_tflops, hw.bandwidth_gbps, hw.memory_gb)
        );
    }
}

#[test]
fn engine_name_must_match_its_file_stem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.toml"), MIN).unwrap();
    let e = load_engines(dir.path()).unwrap_err().to_string();
    assert!(e.contains("other.toml") && e.contains("name") && e.contains("\"toy\""), "{e}");
}
