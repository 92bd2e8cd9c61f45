//! Roofline cost model: latency and memory of an architecture on a device under a workload.
//!
//! Each operator takes max(FLOPs / (peak·η_c), bytes / (bandwidth·η_b)) with the efficiency
//! factors η of its class; fixed overheads are added per step and per layer. A decode step
//! with c cached positions has FLOPs and bytes affine in c, so the sum over all S_out decode
//! steps is computed in closed form (splitting each operator's range where it changes from
//! memory- to compute-bound), not by looping over steps.
//!
//! Conventions: prefill is one forward over S_in prompt tokens from an empty cache with
//! logits for the last position only; decode step s = 1..S_out processes one token with
//! c = S_in + s − 1 cached positions (the paper's Σ_{s=1..S_out} T_decode); `decode` is the
//! last (slowest) step, `tpot` the mean step, `total` prefill plus every step.
//!
//! For the solvers, [`CostModel::width_costs`] returns per-layer and fixed parts of every
//! metric for one width configuration, so any depth costs O(1): metric(l) = fixed + l·per_layer.

mod ops;
pub mod storage;
mod workload;

pub use ops::{
    causal_pairs, expected_distinct_experts, gemv_rows, step_ops, Affine, Mode, Op, OpKind, OpList, Step, MAX_OPS,
};
pub use storage::{Deployment, Storage};
pub use workload::Workload;

use crate::architecture::Architecture;
use crate::error::Result;
use crate::hardware::{AttentionKernel, Hardware, OpClass, Overhead};
use serde::Serialize;

/// Latencies of one workload, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Latency {
    /// One forward over the prompt.
    pub prefill: f64,
    /// The last (slowest) decode step.
    pub decode: f64,
    /// Mean decode step (time per output token).
    pub tpot: f64,
    /// Prefill plus every decode step.
    pub total: f64,
}

/// Memory footprint, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Memory {
    /// All weights (every expert).
    pub weights: f64,
    /// KV cache for B sequences of S_in + S_out tokens.
    pub kv_cache: f64,
    /// Peak activation workspace (prefill).
    pub activations: f64,
    /// Sum of the above.
    pub total: f64,
}

/// Latency and memory of one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Metrics {
    /// Latencies, ms.
    pub latency_ms: Latency,
    /// Memory, bytes.
    pub memory_bytes: Memory,
}

/// A cost split into a depth-independent part and a part per layer.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Linear {
    /// Independent of depth.
    pub fixed: f64,
    /// Per transformer block.
    pub per_layer: f64,
}

impl Linear {
    /// fixed + l·per_layer.
    #[inline]
    pub fn at(&self, layers: f64) -> f64 {
        self.fixed + layers * self.per_layer
    }
}

/// Costs of one width configuration as linear functions of depth: what the solvers reuse
/// across every depth.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct WidthCosts {
    /// Prefill latency, ms.
    pub prefill_ms: Linear,
    /// Last decode step, ms.
    pub decode_ms: Linear,
    /// Sum of all decode steps, ms.
    pub decode_sum_ms: Linear,
    /// Weights, bytes.
    pub weights_bytes: Linear,
    /// KV cache, bytes.
    pub kv_bytes: Linear,
    /// Activation workspace, bytes (independent of depth).
    pub activation_bytes: f64,
    /// S_out, to turn the decode sum into a mean.
    pub gen_tokens: u32,
}

impl WidthCosts {
    /// Mean decode step (TPOT), ms, as a linear function of depth (0 without decode steps).
    pub fn tpot_ms(&self) -> Linear {
        if self.gen_tokens == 0 {
            return Linear::default();
        }
        let g = self.gen_tokens as f64;
        Linear { fixed: self.decode_sum_ms.fixed / g, per_layer: self.decode_sum_ms.per_layer / g }
    }

    /// Prefill plus every decode step, ms.
    pub fn total_ms(&self) -> Linear {
        Linear {
            fixed: self.prefill_ms.fixed + self.decode_sum_ms.fixed,
            per_layer: self.prefill_ms.per_layer + self.decode_sum_ms.per_layer,
        }
    }

    /// Weights + KV cache + activations, bytes.
    pub fn memory_bytes(&self) -> Linear {
        Linear {
            fixed: self.weights_bytes.fixed + self.kv_bytes.fixed + self.activation_bytes,
            per_layer: self.weights_bytes.per_layer + self.kv_bytes.per_layer,
        }
    }

    /// Metrics at a given depth, O(1).
    #[inline]
    pub fn at_depth(&self, layers: u32) -> Metrics {
        let l = layers as f64;
        let prefill = self.prefill_ms.at(l);
        let sum = self.decode_sum_ms.at(l);
        let tpot = if self.gen_tokens > 0 { sum / self.gen_tokens as f64 } else { 0.0 };
        let weights = self.weights_bytes.at(l);
        let kv = self.kv_bytes.at(l);
        Metrics {
            latency_ms: Latency { prefill, decode: self.decode_ms.at(l), tpot, total: prefill + sum },
            memory_bytes: Memory {
                weights,
                kv_cache: kv,
                activations: self.activation_bytes,
                total: weights + kv + self.activation_bytes,
            },
        }
    }
}

/// Whether an operator is limited by compute or by memory traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// FLOPs / peak dominates.
    Compute,
    /// Bytes / bandwidth dominates.
    Memory,
    /// Neither: the operator does no work in this phase.
    None,
}

/// One row of the per-operator breakdown (all layers together).
#[derive(Debug, Clone, Serialize)]
pub struct OpCost {
    /// Operator.
    pub op: &'static str,
    /// Efficiency class.
    pub class: &'static str,
    /// Prefill time, ms.
    pub prefill_ms: f64,
    /// Prefill bound.
    pub prefill_bound: Bound,
    /// Last decode step, ms.
    pub decode_ms: f64,
    /// Last decode step bound.
    pub decode_bound: Bound,
    /// Prefill plus every decode step, ms.
    pub total_ms: f64,
    /// Prefill FLOPs.
    pub prefill_flops: f64,
    /// Prefill bytes.
    pub prefill_bytes: f64,
}

/// Throughputs per operator class after efficiency factors.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rates {
    /// Operations per ms.
    ops_per_ms: f64,
    /// Bytes per ms.
    bytes_per_ms: f64,
}

/// The roofline model of one device at one precision. Cheap to copy; build once per
/// (hardware, precision) and evaluate many architectures.
#[derive(Debug, Clone, Copy)]
pub struct CostModel {
    rates: [Rates; 4],
    overhead: Overhead,
    attention: AttentionKernel,
    mode: Mode,
    workload: Workload,
}

fn class_index(c: OpClass) -> usize {
    match c {
        OpClass::Gemm => 0,
        OpClass::Attention => 1,
        OpClass::Elementwise => 2,
        OpClass::Moe => 3,
    }
}

/// Σ_{c=lo..=hi} max(x(c), y(c)) for affine x, y, exactly, in O(1).
pub fn sum_max_affine(x: Affine, y: Affine, lo: u64, hi: u64) -> f64 {
    if hi < lo {
        return 0.0;
    }
    let sum = |f: Affine, lo: u64, hi: u64| -> f64 {
        if hi < lo {
            return 0.0;
        }
        let n = (hi - lo + 1) as f64;
        n * f.a + f.b * (lo as f64 + hi as f64) * n / 2.0
    };
    // g(c) = x(c) − y(c) is affine: x wins on one side of its root.
    let ga = x.a - y.a;
    let gb = x.b - y.b;
    if gb == 0.0 {
        return if ga >= 0.0 { sum(x, lo, hi) } else { sum(y, lo, hi) };
    }
    let root = -ga / gb;
    // Split at the first integer c where the winner changes.
    let split = if root <= lo as f64 {
        lo
    } else if root > hi as f64 {
        hi + 1
    } else {
        root.ceil() as u64
    };
    let (first, second) = if gb > 0.0 { (y, x) } else { (x, y) };
    let head = if split > lo { sum(first, lo, split - 1) } else { 0.0 };
    head + sum(second, split, hi)
}

impl CostModel {
    /// Resolve the device's throughputs for this workload's compute type; fails when the
    /// device has no peak for it.
    pub fn new(hw: &Hardware, workload: &Workload) -> Result<Self> {
        Self::with_mode(hw, workload, Mode::Full)
    }

    /// As [`CostModel::new`] in a given mode. Paper mode ignores efficiency factors and
    /// overheads (η = 1, no overheads) and uses unfused attention, as the paper does.
    pub fn with_mode(hw: &Hardware, workload: &Workload, mode: Mode) -> Result<Self> {
        let peak = hw.peak_ops_per_s(workload.precision.compute)?;
        let bw = hw.bandwidth_gbps * 1e9;
        let paper = mode == Mode::Paper;
        let rate = |c: OpClass| {
            let e = if paper { Default::default() } else { hw.efficiency.for_class(c) };
            Rates { ops_per_ms: peak * e.compute / 1e3, bytes_per_ms: bw * e.bandwidth / 1e3 }
        };
        Ok(CostModel {
            rates: [rate(OpClass::Gemm), rate(OpClass::Attention), rate(OpClass::Elementwise), rate(OpClass::Moe)],
            overhead: if paper { Overhead::default() } else { hw.overhead },
            attention: if paper { AttentionKernel::Unfused } else { hw.attention_kernel },
            mode,
            workload: *workload,
        })
    }

    /// The workload this model was built for.
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    #[inline]
    fn op_time_ms(&self, op: &Op, c: f64) -> (f64, Bound) {
        let r = self.rates[class_index(op.class)];
        let tc = op.flops.at(c) / r.ops_per_ms;
        let tm = op.bytes.at(c) / r.bytes_per_ms;
        let bound = if tc == 0.0 && tm == 0.0 {
            Bound::None
        } else if tc >= tm {
            Bound::Compute
        } else {
            Bound::Memory
        };
        (tc.max(tm), bound)
    }

    /// Σ over decode steps of an operator's time, ms, in closed form.
    #[inline]
    fn op_decode_sum_ms(&self, op: &Op) -> f64 {
        let w = &self.workload;
        if w.gen_tokens == 0 {
            return 0.0;
        }
        let r = self.rates[class_index(op.class)];
        let lo = w.prompt_tokens as u64;
        let hi = lo + w.gen_tokens as u64 - 1;
        let x = Affine { a: op.flops.a / r.ops_per_ms, b: op.flops.b / r.ops_per_ms };
        let y = Affine { a: op.bytes.a / r.bytes_per_ms, b: op.bytes.b / r.bytes_per_ms };
        sum_max_affine(x, y, lo, hi)
    }

    /// Visit every operator of the prefill with its time and bound: one step over the whole
    /// prompt, or one per micro-batch when the device has `ubatch_tokens` (each with the
    /// cached positions of the micro-batches before it).
    fn for_each_prefill_op(&self, arch: &Architecture, s: &Storage, mut f: impl FnMut(&Op, f64, Bound)) {
        let w = &self.workload;
        let mut ops = OpList::default();
        for (t, c) in self.overhead.prefill_chunks(w.prompt_tokens) {
            let step = Step { batch: w.batch as f64, new_tokens: t as f64 };
            step_ops(arch, &w.precision, s, step, self.mode, self.attention, &mut ops);
            for op in ops.as_slice() {
                let (ms, bound) = self.op_time_ms(op, c as f64);
                f(op, ms, bound);
            }
        }
    }

    /// Overheads of one step of `t` new tokens after `c` cached positions: (per step, per
    /// layer), ms. `prefill` adds the extra overheads of a prefill step.
    fn step_overhead_ms(&self, arch: &Architecture, t: f64, c: f64, prefill: bool) -> (f64, f64) {
        let oh = &self.overhead;
        let b = self.workload.batch as f64;
        let pairs = causal_pairs(t).at(c);
        let (ps, pl) = if prefill { (oh.prefill_step_ms, oh.prefill_layer_ms) } else { (0.0, 0.0) };
        let (rows_layer, rows_step) = gemv_rows(arch, b * t);
        (
            oh.per_step_ms + ps + rows_step * oh.per_gemv_row_ms + b * t * oh.per_token_ms,
            oh.layer_ms(arch)
                + pl
                + b * (t * oh.per_token_layer_ms + pairs * oh.per_attention_pair_ms)
                + rows_layer * oh.per_gemv_row_ms,
        )
    }

    /// Overheads summed over every decode step: (fixed, per layer), ms. Exact, since the
    /// per-pair term is linear in the cache c = prompt … last: the mean step times the steps.
    fn decode_sum_overhead_ms(&self, arch: &Architecture) -> (f64, f64) {
        let w = &self.workload;
        let s = w.gen_tokens as f64;
        let c_mean = (w.prompt_tokens as f64 + self.last_context()) / 2.0;
        let (f, l) = self.step_overhead_ms(arch, 1.0, c_mean, false);
        (s * f, s * l)
    }

    /// Overheads of the whole prefill: (fixed, per layer), ms.
    fn prefill_overhead_ms(&self, arch: &Architecture) -> (f64, f64) {
        self.overhead.prefill_chunks(self.workload.prompt_tokens).fold((0.0, 0.0), |(f, l), (t, c)| {
            let (sf, sl) = self.step_overhead_ms(arch, t as f64, c as f64, true);
            (f + sf, l + sl)
        })
    }

    fn decode_ops(&self, arch: &Architecture, s: &Storage, out: &mut OpList) {
        let w = &self.workload;
        step_ops(
            arch,
            &w.precision,
            s,
            Step { batch: w.batch as f64, new_tokens: 1.0 },
            self.mode,
            self.attention,
            out,
        );
    }

    /// Bytes per stored element of `arch` under this model's workload; fails when the
    /// deployment's weight format cannot store this shape.
    pub fn storage(&self, arch: &Architecture) -> Result<Storage> {
        self.workload.storage(arch, &self.workload.precision)
    }

    /// As [`CostModel::storage`], with a shape the format cannot store costed at infinite
    /// bytes, so it meets no budget (solvers check `storage` on the designs they report).
    fn storage_or_unstorable(&self, arch: &Architecture) -> Storage {
        self.storage(arch).unwrap_or(Storage::UNSTORABLE)
    }

    /// Cached positions before the last decode step.
    fn last_context(&self) -> f64 {
        let w = &self.workload;
        (w.prompt_tokens as u64 + w.gen_tokens.max(1) as u64 - 1) as f64
    }

    /// Per-layer and fixed costs of the width configuration of `arch` (its `layers` is
    /// ignored). Allocation-free.
    pub fn width_costs(&self, arch: &Architecture) -> WidthCosts {
        let w = &self.workload;
        let mut ops = OpList::default();
        let mut prefill = Linear::default();
        let mut decode = Linear::default();
        let mut decode_sum = Linear::default();
        let bucket = |lin: &mut Linear, per_layer: bool, v: f64| {
            if per_layer {
                lin.per_layer += v
            } else {
                lin.fixed += v
            }
        };
        let storage = self.storage_or_unstorable(arch);
        self.for_each_prefill_op(arch, &storage, |op, ms, _| bucket(&mut prefill, op.per_layer, ms));
        self.decode_ops(arch, &storage, &mut ops);
        let c_last = self.last_context();
        for op in ops.as_slice() {
            if w.gen_tokens > 0 {
                bucket(&mut decode, op.per_layer, self.op_time_ms(op, c_last).0);
            }
            bucket(&mut decode_sum, op.per_layer, self.op_decode_sum_ms(op));
        }
        let (pf, pl) = self.prefill_overhead_ms(arch);
        prefill.fixed += pf;
        prefill.per_layer += pl;
        if w.gen_tokens > 0 {
            let (df, dl) = self.step_overhead_ms(arch, 1.0, c_last, false);
            decode.fixed += df;
            decode.per_layer += dl;
            let (sf, sl) = self.decode_sum_overhead_ms(arch);
            decode_sum.fixed += sf;
            decode_sum.per_layer += sl;
        }
        let (weights, kv, act) = self.memory_parts(arch, &storage);
        WidthCosts {
            prefill_ms: prefill,
            decode_ms: decode,
            decode_sum_ms: decode_sum,
            weights_bytes: weights,
            kv_bytes: kv,
            activation_bytes: act,
            gen_tokens: w.gen_tokens,
        }
    }

    /// (weights, KV cache, activations) in bytes, weights and KV linear in depth.
    fn memory_parts(&self, arch: &Architecture, st: &Storage) -> (Linear, Linear, f64) {
        let w = &self.workload;
        let p = &w.precision;
        let wb = st.qkv;
        let d = arch.hidden as f64;
        let b = w.batch as f64;
        let kv_per_layer = b * w.context_tokens() as f64 * 2.0 * arch.kv_dim() as f64 * st.kv;
        match self.mode {
            Mode::Full => {
                let pc = arch.params();
                let (qd, kvd, f) = (arch.q_dim() as f64, arch.kv_dim() as f64, arch.ffn as f64);
                let e = arch.experts as f64;
                let fixed = pc.embedding as f64 * st.embedding
                    + pc.lm_head as f64 * st.lm_head
                    + d * st.norm
                    + st.fixed_extra_bytes;
                let qkv = d * (qd + 2.0 * kvd) + if arch.qkv_bias { qd + 2.0 * kvd } else { 0.0 };
                let router = if arch.experts > 1 { d * e } else { 0.0 };
                let per_layer =
                    qkv * st.qkv + qd * d * st.o + 2.0 * d * st.norm + router * st.router + e * 3.0 * d * f * st.ffn;
                let n = b * w.prompt_tokens as f64;
                let ab = p.activation_bytes();
                let inner =
                    (n * (qd + 2.0 * kvd)).max(n * 3.0 * arch.ffn as f64 * arch.active_experts as f64).max(match self
                        .attention
                    {
                        AttentionKernel::Fused => 0.0,
                        AttentionKernel::Unfused => 2.0 * b * arch.heads as f64 * (w.prompt_tokens as f64).powi(2),
                    });
                // Residual stream + normalised input + the largest intermediate, plus fp32 logits.
                let act = ab * (2.0 * n * d + inner) + 4.0 * b * arch.vocab as f64;
                (Linear { fixed, per_layer }, Linear { fixed: 0.0, per_layer: kv_per_layer }, act)
            }
            Mode::Paper => {
                // ξ_W_all·d² per layer: Q, K, V, O and all experts; nothing else.
                let per_layer =
                    (arch.attention_params() - if arch.qkv_bias { arch.q_dim() + 2 * arch.kv_dim() } else { 0 }) as f64
                        + arch.experts as f64 * arch.expert_params() as f64;
                (Linear { fixed: 0.0, per_layer: per_layer * wb }, Linear { fixed: 0.0, per_layer: kv_per_layer }, 0.0)
            }
        }
    }

    /// Metrics of a full architecture.
    pub fn metrics(&self, arch: &Architecture) -> Metrics {
        self.width_costs(arch).at_depth(arch.layers)
    }

    /// Per-operator breakdown (all layers together), overheads as a final row.
    pub fn breakdown(&self, arch: &Architecture) -> Vec<OpCost> {
        let w = &self.workload;
        let l = arch.layers as f64;
        let mut dec = OpList::default();
        let storage = self.storage_or_unstorable(arch);
        self.decode_ops(arch, &storage, &mut dec);
        // Prefill per operator, summed over its micro-batches; the bound is the one that
        // takes the most time.
        let mut pre: Vec<(f64, f64, f64, f64, f64)> = vec![(0.0, 0.0, 0.0, 0.0, 0.0); dec.as_slice().len()];
        let mut i = 0;
        self.for_each_prefill_op(arch, &storage, |op, ms, bound| {
            let k = i % pre.len().max(1);
            i += 1;
            let e = &mut pre[k];
            e.0 += ms;
            match bound {
                Bound::Compute => e.1 += ms,
                Bound::Memory => e.2 += ms,
                Bound::None => {}
            }
            e.3 += op.flops.a;
            e.4 += op.bytes.a;
        });
        let c_last = self.last_context();
        let mut rows = Vec::with_capacity(MAX_OPS + 1);
        for (p, d) in pre.iter().zip(dec.as_slice()) {
            let mult = if d.per_layer { l } else { 1.0 };
            let bp = if p.1 == 0.0 && p.2 == 0.0 {
                Bound::None
            } else if p.1 >= p.2 {
                Bound::Compute
            } else {
                Bound::Memory
            };
            let (td, bd) = if w.gen_tokens > 0 { self.op_time_ms(d, c_last) } else { (0.0, Bound::None) };
            rows.push(OpCost {
                op: d.kind.name(),
                class: d.class.name(),
                prefill_ms: mult * p.0,
                prefill_bound: bp,
                decode_ms: mult * td,
                decode_bound: bd,
                total_ms: mult * (p.0 + self.op_decode_sum_ms(d)),
                prefill_flops: mult * p.3,
                prefill_bytes: mult * p.4,
            });
        }
        let (pf, pl) = self.prefill_overhead_ms(arch);
        let prefill_oh = pf + l * pl;
        let (df, dl) = self.step_overhead_ms(arch, 1.0, c_last, false);
        let decode_oh = if w.gen_tokens > 0 { df + l * dl } else { 0.0 };
        if prefill_oh > 0.0 || decode_oh > 0.0 {
            let (sf, sl) = self.decode_sum_overhead_ms(arch);
            rows.push(OpCost {
                op: "overhead",
                class: "overhead",
                prefill_ms: prefill_oh,
                prefill_bound: Bound::None,
                decode_ms: decode_oh,
                decode_bound: Bound::None,
                total_ms: prefill_oh + sf + l * sl,
                prefill_flops: 0.0,
                prefill_bytes: 0.0,
            });
        }
        rows
    }

    /// Latency of one forward step as the measurement schema defines it: `phase` prefill
    /// over `tokens` new tokens from an empty cache, or decode of one token with `tokens`
    /// cached positions. Batch and precision come from this model's workload.
    pub fn step_ms(&self, arch: &Architecture, decode: bool, tokens: u32) -> f64 {
        let w = &self.workload;
        let mut ops = OpList::default();
        let (step, c) = if decode {
            (Step { batch: w.batch as f64, new_tokens: 1.0 }, tokens as f64)
        } else {
            (Step { batch: w.batch as f64, new_tokens: tokens as f64 }, 0.0)
        };
        let s = self.storage_or_unstorable(arch);
        let l = arch.layers as f64;
        if !decode {
            let model = CostModel { workload: Workload { prompt_tokens: tokens, ..*w }, ..*self };
            let (f, pl) = model.prefill_overhead_ms(arch);
            let mut t = f + l * pl;
            model.for_each_prefill_op(arch, &s, |op, ms, _| t += if op.per_layer { l * ms } else { ms });
            return t;
        }
        step_ops(arch, &w.precision, &s, step, self.mode, self.attention, &mut ops);
        let (f, pl) = self.step_overhead_ms(arch, step.new_tokens, c, false);
        let mut t = f + l * pl;
        for op in ops.as_slice() {
            let (x, _) = self.op_time_ms(op, c);
            t += if op.per_layer { l * x } else { x };
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_max_affine_matches_loop() {
        let cases = [
            (Affine { a: 1.0, b: 0.5 }, Affine { a: 10.0, b: 0.1 }, 0u64, 100u64),
            (Affine { a: 10.0, b: 0.1 }, Affine { a: 1.0, b: 0.5 }, 3, 57),
            (Affine { a: 2.0, b: 0.0 }, Affine { a: 2.0, b: 0.0 }, 5, 5),
            (Affine { a: 0.0, b: 1.0 }, Affine { a: 22.5, b: 0.0 }, 0, 40),
            (Affine { a: 0.0, b: 1.0 }, Affine { a: 5.0, b: 0.0 }, 10, 20),
            (Affine { a: 100.0, b: -1.0 }, Affine { a: 0.0, b: 1.0 }, 0, 200),
        ];
        for (x, y, lo, hi) in cases {
            let brute: f64 = (lo..=hi).map(|c| x.at(c as f64).max(y.at(c as f64))).sum();
            let fast = sum_max_affine(x, y, lo, hi);
            assert!((brute - fast).abs() <= 1e-9 * brute.abs().max(1.0), "{x:?} {y:?} {lo} {hi}: {brute} vs {fast}");
        }
        assert_eq!(sum_max_affine(Affine::k(1.0), Affine::k(2.0), 5, 4), 0.0);
    }
}
