//! Roofline numbers worked out by hand, the paper's ξ factors, and the closed-form decode
//! sum against a step-by-step loop.

use colaw::cost::{CostModel, Mode, Workload};
use colaw::error::Origin;
use colaw::{Architecture, DType, Hardware, Precision};
use proptest::prelude::*;

/// 1 TFLOP/s bf16, 100 GB/s, 1 GB: round numbers for hand work.
fn toy_hw() -> Hardware {
    Hardware::from_toml_str(
        "name='toy'\nmemory_gb=1\nbandwidth_gbps=100\n[peak_tflops]\nbf16=1\nint8=2\n",
        &Origin::default(),
    )
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// l=2, d=64, 4 heads of 16, 2 KV heads, ffn 128, V 1000.
fn dense() -> Architecture {
    let mut a = Architecture::new(2, 64, 4, 128, 1000);
    a.kv_heads = 2;
    a
}

#[test]
fn dense_paper_mode_by_hand() {
    // Paper mode: weights and KV traffic only (+ materialised scores), η = 1, no overheads.
    // B=1, S_in=8, S_out=4, bf16 (2 bytes).
    let w = Workload { batch: 1, prompt_tokens: 8, gen_tokens: 4, precision: Precision::default(), deploy: None };
    let m = CostModel::with_mode(&toy_hw(), &w, Mode::Paper).unwrap();
    let r = m.metrics(&dense());
    // Prefill, n = 8 tokens, per layer (seconds):
    //  qkv: 2·8·64·128 = 131,072 FLOP → 1.31072e-7 s; 64·128·2 = 16,384 B → 1.6384e-7 s (memory)
    //  scores: 36 causal pairs; K read 8·32·2 = 512 B + scores 4·8·8·2 = 512 B → 1.024e-8 s
    //  softmax: read+write scores 1,024 B → 1.024e-8 s;  values: as scores → 1.024e-8 s
    //  o: 2·8·64·64 = 65,536 FLOP → 6.5536e-8; 8,192 B → 8.192e-8 s (memory)
    //  ffn: 6·8·64·128 = 393,216 FLOP → 3.93216e-7; 3·64·128·2 = 49,152 B → 4.9152e-7 s
    //  layer = 1.6384e-7 + 3·1.024e-8 + 8.192e-8 + 4.9152e-7 = 7.68e-7 s; 2 layers → 1.536e-3 ms
    assert!(close(r.latency_ms.prefill, 1.536e-3), "{}", r.latency_ms.prefill);
    // Decode with c cached: qkv 16,384 B, o 8,192 B, ffn 49,152 B (all memory-bound:
    // FLOPs are 1/8 of prefill's). Attention over keys = c+1: scores op reads K
    // (c+1)·32·2 = 64(c+1) B and writes 4 heads' scores 4·(c+1)·2 = 8(c+1) B; softmax reads
    // and writes them, 16(c+1); values reads V 64(c+1) and the scores 8(c+1) → 160(c+1) B.
    // Step at c: 2 layers·[73,728 + 160(c+1)] B / 1e11 B/s.
    let step = |c: f64| 2.0 * (73_728.0 + 160.0 * (c + 1.0)) / 1e11 * 1e3;
    // The last step has c = S_in + S_out − 1 = 11.
    assert!(close(r.latency_ms.decode, step(11.0)), "{} vs {}", r.latency_ms.decode, step(11.0));
    let total = 1.536e-3 + (8..=11).map(|c| step(c as f64)).sum::<f64>();
    assert!(close(r.latency_ms.total, total));
    assert!(close(r.latency_ms.tpot, (total - 1.536e-3) / 4.0));
    // Memory: ξ_W_all·d²·2 per layer: (2·64² + 2·64·32 + 3·64·128)·2 = 73,728 B per layer;
    // KV: 1·12 tokens·2 layers·2·32·2 B = 3,072 B; no activations in paper mode.
    assert_eq!(r.memory_bytes.weights, 2.0 * 73_728.0);
    assert_eq!(r.memory_bytes.kv_cache, 3_072.0);
    assert_eq!(r.memory_bytes.total, 147_456.0 + 3_072.0);
}

#[test]
fn moe_full_mode_decode_by_hand() {
    // Small MoE, full mode, B=2, one decode step after S_in=4, S_out=1, int8 weights,
    // bf16 KV and compute. l=1, d=32, 2 heads of 16 (MHA), ffn 64, E=4, K=1, V=100, untied.
    let mut a = Architecture::new(1, 32, 2, 64, 100);
    a.experts = 4;
    a.active_experts = 1;
    let p = Precision { weights: DType::Int8, kv_cache: DType::Bf16, compute: DType::Bf16 };
    let w = Workload { batch: 2, prompt_tokens: 4, gen_tokens: 1, precision: p, deploy: None };
    let m = CostModel::new(&toy_hw(), &w).unwrap();
    // Decode step with c = 4 cached, n = 2 tokens; every op is memory-bound here. Bytes:
    //  embedding 2·32·(1+2) = 192;  attn_norm 3·2·32·2 + 32 = 416;  qkv 32·96 + 2·(32+96)·2 = 3,584
    //  rope 2·2·(32+32)·2 = 512;  kv_write 2·64·(2+2) = 512
    //  attention (fused): KV read 2·2·32·5·2 = 1,280 + Q and out 2·2·32·2 = 256 → 1,536
    //  o_proj 32·32 + 2·64·2 = 1,280;  ffn_norm 416;  router 32·4 + 2·(32+4)·2 = 272
    //  ffn: distinct experts 4·(1 − (3/4)²) = 1.75 → 1.75·3·32·64 = 10,752 + 2·(64+192)·2 = 1,024 → 11,776
    //  ffn_act 3·2·64·2 = 768;  final_norm 3·2·32·2 + 32 = 416;  lm_head 100·32 + 2·32·2 + 4·2·100 = 4,128
    let bytes = 192.0
        + 416.0
        + 3_584.0
        + 512.0
        + 512.0
        + 1_536.0
        + 1_280.0
        + 416.0
        + 272.0
        + 11_776.0
        + 768.0
        + 416.0
        + 4_128.0;
    let expect_ms = bytes / 1e11 * 1e3;
    let got = m.metrics(&a).latency_ms.decode;
    assert!(close(got, expect_ms), "{got} vs {expect_ms}");
    // Largest FLOP count is the ffn (6·2·32·64 = 24,576 FLOP → 2.5e-8 s) < its 1.18e-7 s of traffic.
    // Memory: params = 100·32·2 + (4·32² + 4·3·32·64 + 32·4 + 2·32) + 32
    //               = 6,400 + (4,096 + 24,576 + 128 + 64) + 32 = 35,296 (1 byte each in int8).
    assert_eq!(a.params().total, 35_296);
    let mm = m.metrics(&a).memory_bytes;
    assert_eq!(mm.weights, 35_296.0);
    // KV: 2 seqs · 5 tokens · 1 layer · 2·32 · 2 B = 1,280.
    assert_eq!(mm.kv_cache, 1_280.0);
    // Activations: prefill n = 8: 2·(2·8·32 + max(8·96, 8·3·64)) + 4·2·100 = 2·(512 + 1536) + 800.
    assert_eq!(mm.activations, 4_896.0);
}

#[test]
fn paper_factors_reproduced() {
    // ξ_F = 4 + 4/gqa + 6r; ξ_W_decode = 2 + 2/gqa + 3r; ξ_W_all = 2 + 2/gqa + 3r/ρ.
    for (d, h, kv, f, e, k) in
        [(1024u32, 16u32, 4u32, 512u32, 8u32, 1u32), (2048, 16, 16, 4096, 1, 1), (768, 12, 2, 384, 16, 2)]
    {
        let mut a = Architecture::new(1, d, h, f, 32000);
        a.kv_heads = kv;
        a.experts = e;
        a.active_experts = k;
        let gqa = a.gqa();
        let r = a.ffn_ratio();
        let rho = a.sparsity();
        let xi_f = 4.0 + 4.0 / gqa + 6.0 * r;
        let xi_w_dec = 2.0 + 2.0 / gqa + 3.0 * r;
        let xi_w_all = 2.0 + 2.0 / gqa + 3.0 * r / rho;
        let dd = (d as f64).powi(2);
        // Paper-mode decode at B=1, S_in=1, S_out=1 on a device where bandwidth dominates:
        let hw = toy_hw();
        let w = Workload { batch: 1, prompt_tokens: 1, gen_tokens: 1, precision: Precision::default(), deploy: None };
        let model = CostModel::with_mode(&hw, &w, Mode::Paper).unwrap();
        let mut ops = colaw::cost::OpList::default();
        colaw::cost::step_ops(
            &a,
            &w.precision,
            &colaw::cost::Storage::from_precision(&w.precision),
            colaw::cost::Step { batch: 1.0, new_tokens: 1.0 },
            Mode::Paper,
            colaw::hardware::AttentionKernel::Unfused,
            &mut ops,
        );
        let linear: Vec<_> = ops
            .as_slice()
            .iter()
            .filter(|o| matches!(o.class, colaw::hardware::OpClass::Gemm | colaw::hardware::OpClass::Moe))
            .collect();
        let flops: f64 = linear.iter().map(|o| o.flops.a).sum();
        let bytes: f64 = linear.iter().map(|o| o.bytes.a).sum();
        assert!(close(flops / dd, xi_f), "ξ_F {} vs {xi_f}", flops / dd);
        assert!(close(bytes / (dd * 2.0), xi_w_dec), "ξ_W_decode {} vs {xi_w_dec}", bytes / (dd * 2.0));
        let mem = model.width_costs(&a).weights_bytes.per_layer;
        assert!(close(mem / (dd * 2.0), xi_w_all), "ξ_W_all {} vs {xi_w_all}", mem / (dd * 2.0));
    }
}

fn arb_arch() -> impl Strategy<Value = Architecture> {
    (
        1u32..40,
        1u32..33,
        1u32..5,
        prop::sample::select(vec![32u32, 64, 128]),
        1u32..40,
        0usize..4,
        1u32..4,
        any::<bool>(),
    )
        .prop_map(|(l, heads, g, hd, fmul, moe, vmul, tied)| {
            let kv_choices: Vec<u32> = (1..=heads).filter(|k| heads % k == 0).collect();
            let kv = kv_choices[(g as usize) % kv_choices.len()];
            let hidden = heads * hd;
            let mut a = Architecture::new(l, hidden, heads, fmul * 64, vmul * 16000);
            a.kv_heads = kv;
            a.head_dim = hd;
            a.tied_embeddings = tied;
            let (e, k) = [(1, 1), (8, 1), (8, 2), (16, 2)][moe];
            a.experts = e;
            a.active_experts = k;
            a
        })
}

/// Property-test cases: `default` (the fast mode CI runs), or `COLAW_PROPTEST_CASES` (the long mode).
fn proptest_cases(default: u32) -> u32 {
    std::env::var("COLAW_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(proptest_cases(200)))]
    /// total = prefill + Σ step latencies, each step evaluated on its own (the definition).
    #[test]
    fn closed_form_total_equals_step_sum(
        a in arb_arch(), batch in 1u32..32, s_in in 1u32..3000, s_out in 1u32..300,
        unfused in any::<bool>(), ov in 0.0f64..0.1,
    ) {
        let mut hw = Hardware::from_toml_str(
            "name='h'\nmemory_gb=80\nbandwidth_gbps=3350\n[peak_tflops]\nbf16=989\n", &Origin::default()).unwrap();
        hw.overhead.per_layer_ms = ov;
        hw.overhead.per_step_ms = 2.0 * ov;
        hw.efficiency.bandwidth = 0.8;
        if unfused { hw.attention_kernel = colaw::hardware::AttentionKernel::Unfused; }
        let w = Workload { batch, prompt_tokens: s_in, gen_tokens: s_out, precision: Precision::default(), deploy: None };
        let m = CostModel::new(&hw, &w).unwrap();
        let r = m.metrics(&a);
        let prefill = m.step_ms(&a, false, s_in);
        let steps: Vec<f64> = (0..s_out).map(|s| m.step_ms(&a, true, s_in + s)).collect();
        let total = prefill + steps.iter().sum::<f64>();
        prop_assert!((r.latency_ms.prefill - prefill).abs() <= 1e-9 * prefill);
        prop_assert!((r.latency_ms.total - total).abs() <= 1e-9 * total, "{} vs {}", r.latency_ms.total, total);
        prop_assert!((r.latency_ms.decode - steps[steps.len() - 1]).abs() <= 1e-9 * r.latency_ms.decode);
        // Each decode step is at least as slow as the one before (the cache only grows).
        prop_assert!(steps.windows(2).all(|p| p[1] >= p[0] * (1.0 - 1e-12)));
    }

    /// The width decomposition gives the same metrics at every depth as a direct evaluation.
    #[test]
    fn width_costs_linear_in_depth(a in arb_arch(), depth in 1u32..64) {
        let hw = Hardware::from_toml_str(
            "name='h'\nmemory_gb=8\nbandwidth_gbps=100\n[peak_tflops]\nbf16=20\n", &Origin::default()).unwrap();
        let m = CostModel::new(&hw, &Workload::default()).unwrap();
        let wc = m.width_costs(&a);
        let mut b = a.clone();
        b.layers = depth;
        let direct = m.metrics(&b);
        let swept = wc.at_depth(depth);
        prop_assert!((direct.latency_ms.total - swept.latency_ms.total).abs() <= 1e-9 * direct.latency_ms.total);
        prop_assert_eq!(direct.memory_bytes.total, swept.memory_bytes.total);
    }
}

/// Micro-batched prefill (an engine's `n_ubatch`): per-step overheads are paid per
/// micro-batch, the per-pair term counts every causal (query, key) pair once, and the
/// workload metrics agree with the per-step latency the calibration fits.
#[test]
fn micro_batched_prefill_overheads_by_hand() {
    let a = Architecture::new(10, 512, 8, 1024, 1000);
    let mut plain = toy_hw();
    plain.overhead.ubatch_tokens = Some(512);
    let mut oh = plain.clone();
    oh.overhead.per_step_ms = 1.0;
    oh.overhead.per_layer_ms = 0.1;
    oh.overhead.per_token_layer_ms = 1e-3;
    oh.overhead.per_attention_pair_ms = 1e-6;
    oh.overhead.prefill_step_ms = 0.5;
    oh.overhead.prefill_layer_ms = 0.05;
    let w = Workload { prompt_tokens: 2048, gen_tokens: 1, ..Workload::default() };
    let (m0, m1) = (CostModel::new(&plain, &w).unwrap(), CostModel::new(&oh, &w).unwrap());
    // 4 micro-batches of 512; 2048·2049/2 = 2 098 176 causal pairs however they are split:
    // 4·(1 + 0.5) + 10·(4·(0.1 + 0.05) + 2048·1e-3 + 2 098 176·1e-6) = 53.46176 ms.
    let pre = m1.step_ms(&a, false, 2048) - m0.step_ms(&a, false, 2048);
    assert!((pre - 53.46176).abs() < 1e-9, "{pre}");
    // A decode step after 1000 cached positions: 1 + 10·(0.1 + 1e-3 + 1001·1e-6) = 2.02001 ms.
    let dec = m1.step_ms(&a, true, 1000) - m0.step_ms(&a, true, 1000);
    assert!((dec - 2.02001).abs() < 1e-9, "{dec}");
    // The solvers' closed form equals the per-step latency.
    let met = m1.metrics(&a);
    assert!(close(met.latency_ms.prefill, m1.step_ms(&a, false, 2048)));
    assert!(close(met.latency_ms.decode, m1.step_ms(&a, true, 2048)));
    // Without micro-batches the same prompt is one step: fewer overheads, same pairs.
    let mut one = oh.clone();
    one.overhead.ubatch_tokens = None;
    let mut one0 = plain.clone();
    one0.overhead.ubatch_tokens = None;
    let pre1 = CostModel::new(&one, &w).unwrap().step_ms(&a, false, 2048)
        - CostModel::new(&one0, &w).unwrap().step_ms(&a, false, 2048);
    assert!((pre1 - (1.5 + 10.0 * (0.15 + 2.048 + 2.098176))).abs() < 1e-9, "{pre1}");
}

/// Several decode steps: the per-pair overhead grows with the cache, summed exactly.
#[test]
fn decode_sum_of_per_pair_overhead_by_hand() {
    let a = Architecture::new(4, 512, 8, 1024, 1000);
    let mut hw = toy_hw();
    let w = Workload { prompt_tokens: 100, gen_tokens: 11, ..Workload::default() };
    let t0 = CostModel::new(&hw, &w).unwrap().metrics(&a).latency_ms.total;
    hw.overhead.per_attention_pair_ms = 1e-3;
    let m = CostModel::new(&hw, &w).unwrap();
    // Prefill: 4·100·101/2·1e-3 = 20.2; decode steps see c = 100 … 110, 1 + c pairs each:
    // 4·Σ(101 … 111)·1e-3 = 4·1166·1e-3 = 4.664.
    let d = m.metrics(&a).latency_ms.total - t0;
    assert!((d - (20.2 + 4.664)).abs() < 1e-9, "{d}");
}

/// The per-row cost of matrix-vector kernels: decode steps of at most 8 tokens pay it for
/// every output row of every matrix, prefill steps and larger batches do not.
#[test]
fn matrix_vector_row_overhead_by_hand() {
    // l=2, d=64, 4 heads of 16, 2 KV heads, ffn 128, V 1000. Rows per block: Q 64 + K 32 +
    // V 32 + O 64 + gate 128 + up 128 + down 64 = 512; per step the LM head's 1000.
    let a = dense();
    let mut hw = toy_hw();
    let w = Workload { prompt_tokens: 100, gen_tokens: 5, ..Workload::default() };
    let before = CostModel::new(&hw, &w).unwrap();
    hw.overhead.per_gemv_row_ms = 1e-3;
    let after = CostModel::new(&hw, &w).unwrap();
    // One decode step: (2·512 + 1000)·1e-3 = 2.024 ms.
    let dec = after.step_ms(&a, true, 100) - before.step_ms(&a, true, 100);
    assert!((dec - 2.024).abs() < 1e-12, "{dec}");
    // The 100-token prefill is a matrix-matrix step: no row cost.
    assert_eq!(after.step_ms(&a, false, 100), before.step_ms(&a, false, 100));
    // A prompt of 8 tokens still runs the vector kernels; 9 do not.
    let p8 = after.step_ms(&a, false, 8) - before.step_ms(&a, false, 8);
    assert!((p8 - 2.024).abs() < 1e-12, "{p8}");
    assert_eq!(after.step_ms(&a, false, 9), before.step_ms(&a, false, 9));
    // Five decode steps in the solvers' closed form: 5·2.024 = 10.12 ms more.
    let d = after.metrics(&a).latency_ms.total - before.metrics(&a).latency_ms.total;
    assert!((d - 10.12).abs() < 1e-9, "{d}");
    // Batch 16 decode (16 tokens per step) is past the vector kernels.
    let w16 = Workload { batch: 16, ..w };
    let (b0, b1) = (CostModel::new(&toy_hw(), &w16).unwrap(), CostModel::new(&hw, &w16).unwrap());
    assert_eq!(b1.step_ms(&a, true, 100), b0.step_ms(&a, true, 100));
    // An MoE block adds its router (E rows) and K experts' gate, up and down.
    let mut moe = dense();
    moe.experts = 4;
    moe.active_experts = 2;
    let (m0, m1) = (CostModel::new(&toy_hw(), &w).unwrap(), CostModel::new(&hw, &w).unwrap());
    // Per block 64 + 32 + 32 + 64 + 2·(128 + 128 + 64) + 4 = 836; (2·836 + 1000)·1e-3 = 2.672.
    let dm = m1.step_ms(&moe, true, 100) - m0.step_ms(&moe, true, 100);
    assert!((dm - 2.672).abs() < 1e-12, "{dm}");
}

/// The per-token overhead is paid once per step per new token of every sequence, whatever
/// the depth, in micro-batched prefill and in decode alike.
#[test]
fn per_token_overhead_by_hand() {
    let a = Architecture::new(10, 512, 8, 1024, 1000);
    let mut plain = toy_hw();
    plain.overhead.ubatch_tokens = Some(512);
    let mut oh = plain.clone();
    oh.overhead.per_token_ms = 1e-3;
    let w = Workload { batch: 2, prompt_tokens: 2048, gen_tokens: 3, ..Workload::default() };
    let (m0, m1) = (CostModel::new(&plain, &w).unwrap(), CostModel::new(&oh, &w).unwrap());
    // Prefill: 2 sequences × 2048 tokens × 1e-3 = 4.096 ms, in 4 micro-batches or one.
    let pre = m1.step_ms(&a, false, 2048) - m0.step_ms(&a, false, 2048);
    assert!((pre - 4.096).abs() < 1e-9, "{pre}");
    // A decode step: 2 new tokens, 0.002 ms; three of them 0.006 ms, 10 layers or 1.
    let dec = m1.step_ms(&a, true, 2048) - m0.step_ms(&a, true, 2048);
    assert!((dec - 0.002).abs() < 1e-12, "{dec}");
    let total = m1.metrics(&a).latency_ms.total - m0.metrics(&a).latency_ms.total;
    assert!((total - (4.096 + 0.006)).abs() < 1e-9, "{total}");
}
