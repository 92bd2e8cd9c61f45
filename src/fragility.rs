//! Why an answer is less firm than it looks: the checks behind the warnings of `solve`,
//! `region`, `pareto` and `eval`. Pure functions of the instance (or device, law) and the
//! chosen designs; the commands print what they return.
//!
//! - [`UNCALIBRATED_HARDWARE`]: a device without `[calibration]` (nor an engine profile for
//!   it) predicts the datasheet roofline, a lower bound on latency.
//! - [`EDGE_OF_SPACE`]: a chosen value is the smallest or largest of its grid, so the space
//!   may have cut off a better design (named per dimension).
//! - [`OUTSIDE_FITTED_RANGE`]: a design's law variable lies outside the range of the data
//!   the law was fitted on (the law file's `range`).
//! - [`MEMORY_ABOVE_USABLE`]: a design needs more memory than the device's usable share
//!   (`memory_gb − reserve_gb`).
//! - [`LATENCY_SAMPLES_OTHER_DEVICE`]: latency-calibration samples were calibrated on a
//!   different device than the scenario runs on.

use crate::architecture::Architecture;
use crate::hardware::Hardware;
use crate::instance::Instance;
use crate::law::{LawInputs, LossLaw};
use crate::space::Space;
use crate::util::warning::Warning;
use std::collections::BTreeMap;

/// Code: the device's latencies are the datasheet roofline (no calibration).
pub const UNCALIBRATED_HARDWARE: &str = "uncalibrated_hardware";
/// Code: a chosen value sits at the smallest or largest value of its grid.
pub const EDGE_OF_SPACE: &str = "edge_of_space";
/// Code: a design lies outside the data the law was fitted on.
pub const OUTSIDE_FITTED_RANGE: &str = "outside_fitted_range";
/// Code: a design needs more than the device's usable memory.
pub const MEMORY_ABOVE_USABLE: &str = "memory_above_usable";
/// Code: latency samples come from another device than the scenario's.
pub const LATENCY_SAMPLES_OTHER_DEVICE: &str = "latency_samples_other_device";

/// A device predicted from its datasheet alone (`where_` says which scenario, or is empty).
pub fn uncalibrated(hw: &Hardware, where_: &str) -> Option<Warning> {
    (!hw.is_calibrated()).then(|| {
        Warning::new(
            UNCALIBRATED_HARDWARE,
            format!(
                "{where_}`{}` has no [calibration]: datasheet roofline, a lower bound on latency (measure the device \
                 and run `colaw calibrate`, or use an engine calibrated on it)",
                hw.name
            ),
        )
    })
}

/// A design whose memory exceeds the device's usable share (`label` names the design).
pub fn memory_above_usable(hw: &Hardware, memory_bytes: f64, label: &str, where_: &str) -> Option<Warning> {
    let usable = hw.usable_memory_bytes();
    (memory_bytes > usable * (1.0 + 1e-12)).then(|| {
        let reserve = if hw.reserve_gb > 0.0 {
            format!(
                "usable share {:.2} GB = {} GB less {} GB kept by the OS and runtime (reserve_gb)",
                usable / 1e9,
                hw.memory_gb,
                hw.reserve_gb
            )
        } else {
            format!("device memory {} GB", hw.memory_gb)
        };
        Warning::new(
            MEMORY_ABOVE_USABLE,
            format!("{where_}{label} needs {:.2} GB, above `{}`'s {reserve}", memory_bytes / 1e9, hw.name),
        )
    })
}

/// The warnings of one evaluated architecture (`colaw eval`, the Python `evaluate`): an
/// uncalibrated device, memory above its usable share, a design outside the law's fitted
/// range (with a law).
pub fn for_evaluation(
    hw: &Hardware,
    law: Option<&dyn LossLaw>,
    tokens: Option<f64>,
    arch: &Architecture,
    memory_bytes: f64,
) -> Vec<Warning> {
    let label = arch.name.clone().unwrap_or_else(|| arch.label());
    let mut w: Vec<Warning> = uncalibrated(hw, "").into_iter().collect();
    w.extend(memory_above_usable(hw, memory_bytes, &label, ""));
    if let Some(law) = law {
        w.extend(outside_fitted_range(law, tokens.or(law.default_tokens()), &[arch], &label));
    }
    w
}

/// Latency samples calibrated on `devices` (empty: unknown, no warning) used for a
/// scenario on `hw`.
pub fn latency_samples_device(devices: &[String], hw: &Hardware, scenario: &str) -> Option<Warning> {
    let on = hw.device_name();
    (!devices.is_empty() && !devices.iter().any(|d| d == on)).then(|| {
        Warning::new(
            LATENCY_SAMPLES_OTHER_DEVICE,
            format!(
                "the latency samples were calibrated on {}, but scenario `{scenario}` runs on {on}: their efficiency \
                 spread belongs to another device",
                devices.join(", ")
            ),
        )
    })
}

/// Which end of a grid a value sits at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

/// A design dimension at the end of its grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// Dimension name (`layers`, `hidden`, `ffn_ratio`, …).
    pub dimension: &'static str,
    /// The design's value.
    pub value: f64,
    /// Which end.
    pub side: Side,
    /// The grid's (min, max) for this dimension.
    pub grid: (f64, f64),
}

/// Dimensions other than depth and width, compared among the width configurations of the
/// same hidden size (FFN sizes and head counts follow the width). `floor`: a value of 1
/// cannot go lower (dense, one KV head, top-1), so it is no edge.
const DIMS: [(&str, bool); 6] = [
    ("heads", false),
    ("kv_heads", true),
    ("head_dim", false),
    ("ffn_ratio", false),
    ("experts", true),
    ("active_experts", true),
];

fn dim_values(a: &Architecture) -> [f64; 6] {
    [
        a.heads as f64,
        a.kv_heads as f64,
        a.head_dim as f64,
        a.ffn as f64 / a.hidden as f64,
        a.experts as f64,
        a.active_experts as f64,
    ]
}

/// The extent of every dimension of a space, computed once (O(widths)) so that each design
/// is checked in O(1).
#[derive(Debug, Clone)]
pub struct Extents {
    depth: (f64, f64),
    hidden: (f64, f64),
    per_hidden: BTreeMap<u32, [(f64, f64); 6]>,
}

impl Extents {
    /// The extents of `space`.
    pub fn of(space: &Space) -> Extents {
        let mm = |it: &mut dyn Iterator<Item = f64>| {
            it.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
        };
        let mut per_hidden: BTreeMap<u32, [(f64, f64); 6]> = BTreeMap::new();
        for w in &space.widths {
            let v = dim_values(&w.arch(1));
            let e = per_hidden.entry(w.hidden).or_insert([(f64::INFINITY, f64::NEG_INFINITY); 6]);
            for (k, x) in v.iter().enumerate() {
                e[k] = (e[k].0.min(*x), e[k].1.max(*x));
            }
        }
        Extents {
            depth: mm(&mut space.depths.iter().map(|&d| d as f64)),
            hidden: mm(&mut space.widths.iter().map(|w| w.hidden as f64)),
            per_hidden,
        }
    }

    /// Every dimension of `a` at the end of its grid (grids of one value have no edge).
    pub fn edges(&self, a: &Architecture) -> Vec<Edge> {
        let mut out = Vec::new();
        let mut check = |dimension: &'static str, value: f64, grid: (f64, f64), floor: bool| {
            let tol = 1e-9 * grid.1.abs().max(1.0);
            if grid.1 - grid.0 <= tol {
                return;
            }
            if (value - grid.0).abs() <= tol && !(floor && value <= 1.0) {
                out.push(Edge { dimension, value, side: Side::Min, grid });
            } else if (value - grid.1).abs() <= tol {
                out.push(Edge { dimension, value, side: Side::Max, grid });
            }
        };
        check("layers", a.layers as f64, self.depth, true);
        check("hidden", a.hidden as f64, self.hidden, false);
        if let Some(ext) = self.per_hidden.get(&a.hidden) {
            let v = dim_values(a);
            for (k, (name, floor)) in DIMS.iter().enumerate() {
                // At their natural ceiling (MHA, every expert active) there is nothing larger.
                let ceiling = match *name {
                    "kv_heads" => a.kv_heads >= a.heads,
                    "active_experts" => a.active_experts >= a.experts,
                    _ => false,
                };
                if ceiling && (v[k] - ext[k].1).abs() <= 1e-9 * ext[k].1.max(1.0) {
                    continue;
                }
                check(name, v[k], ext[k], *floor);
            }
        }
        out
    }
}

/// Up to 4 decimals, trailing zeros dropped (`0.5`, `3072`, `2.6667`).
fn num(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One warning per (dimension, end) where some of `designs` sit at the end of the space's
/// grid; `what` names the designs ("the chosen design", "front designs").
pub fn edge_of_space(ext: &Extents, designs: &[&Architecture], what: &str) -> Vec<Warning> {
    // (dimension, end) → the values at that end and the grid's (min, max).
    type Hits = BTreeMap<(&'static str, Side), (Vec<f64>, (f64, f64))>;
    let mut hits: Hits = BTreeMap::new();
    for a in designs {
        for e in ext.edges(a) {
            let h = hits.entry((e.dimension, e.side)).or_insert((Vec::new(), e.grid));
            if !h.0.contains(&e.value) {
                h.0.push(e.value);
            }
            h.1 = e.grid;
        }
    }
    let count = |dim: &str, side: Side| {
        designs.iter().filter(|a| ext.edges(a).iter().any(|e| e.dimension == dim && e.side == side)).count()
    };
    hits.into_iter()
        .map(|((dim, side), (values, grid))| {
            let (end, beyond) = match side {
                Side::Min => ("smallest", "a smaller"),
                Side::Max => ("largest", "a larger"),
            };
            let vals = values.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", ");
            let who = if designs.len() == 1 {
                what.to_string()
            } else {
                format!("{} of {} {what}", count(dim, side), designs.len())
            };
            Warning::new(
                EDGE_OF_SPACE,
                format!(
                    "{who}: {dim} = {vals}, the {end} value of the space ({dim} from {} to {}); {beyond} value \
                     might be better: widen the grid to check",
                    num(grid.0),
                    num(grid.1)
                ),
            )
        })
        .collect()
}

/// One warning per law variable that some of `designs` take outside the range the law was
/// fitted on (nothing when the law records no range).
pub fn outside_fitted_range(
    law: &dyn LossLaw,
    tokens: Option<f64>,
    designs: &[&Architecture],
    what: &str,
) -> Vec<Warning> {
    let range = law.fitted_range();
    if range.is_empty() {
        return Vec::new();
    }
    let inputs: Vec<LawInputs> = designs.iter().map(|a| LawInputs::from_arch(a, tokens)).collect();
    let mut out = Vec::new();
    for (var, lo, hi) in range {
        let tol = 1e-9 * hi.abs();
        let outside: Vec<f64> =
            inputs.iter().map(|x| x.get(var)).filter(|x| x.is_finite() && (*x < lo - tol || *x > hi + tol)).collect();
        if outside.is_empty() {
            continue;
        }
        let (min, max) = outside.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
        let shown = if min == max { fmt_sig(min) } else { format!("{}–{}", fmt_sig(min), fmt_sig(max)) };
        let who = if designs.len() == 1 {
            what.to_string()
        } else {
            format!("{} of {} {what}", outside.len(), designs.len())
        };
        out.push(Warning::new(
            OUTSIDE_FITTED_RANGE,
            format!(
                "{who}: {} = {shown}, outside the range law `{}` was fitted on ({} to {}): its loss is an \
                 extrapolation",
                var.name(),
                law.name(),
                fmt_sig(lo),
                fmt_sig(hi)
            ),
        ));
    }
    out
}

/// 4 significant digits, scientific when large (parameter and token counts).
fn fmt_sig(x: f64) -> String {
    if x.abs() >= 1e5 {
        format!("{x:.3e}")
    } else {
        num(x)
    }
}

/// Warnings about the instance itself: uncalibrated devices, and latency samples (of its
/// `[robust]` section) from another device.
pub fn for_instance(inst: &Instance) -> Vec<Warning> {
    let mut out: Vec<Warning> =
        inst.scenarios.iter().filter_map(|s| uncalibrated(&s.hardware, &format!("scenario `{}`: ", s.name))).collect();
    if let Some(r) = inst.robust.as_deref().filter(|r| !r.latency.is_empty()) {
        out.extend(latency_samples_devices(inst, &r.latency_devices, r.latency_scenarios.as_deref()));
    }
    out
}

/// Latency samples from `devices` applied to `scenarios` (None: every scenario).
pub fn latency_samples_devices(inst: &Instance, devices: &[String], scenarios: Option<&[usize]>) -> Vec<Warning> {
    inst.scenarios
        .iter()
        .enumerate()
        .filter(|(k, _)| scenarios.is_none_or(|s| s.contains(k)))
        .filter_map(|(_, s)| latency_samples_device(devices, &s.hardware, &s.name))
        .collect()
}

/// Warnings about designs of `inst` (their space edges, the law's fitted range, and their
/// memory per scenario, `memory_bytes[d][scenario]`).
pub fn for_designs(
    inst: &Instance,
    ext: &Extents,
    designs: &[&Architecture],
    memory_bytes: &[Vec<f64>],
    what: &str,
) -> Vec<Warning> {
    let mut out = edge_of_space(ext, designs, what);
    out.extend(outside_fitted_range(inst.law.as_ref(), inst.tokens, designs, what));
    for (k, s) in inst.scenarios.iter().enumerate() {
        let over: Vec<f64> = memory_bytes
            .iter()
            .filter_map(|m| m.get(k).copied())
            .filter(|m| *m > s.hardware.usable_memory_bytes())
            .collect();
        if let Some(&worst) = over.iter().max_by(|a, b| a.total_cmp(b)) {
            let who = if designs.len() == 1 {
                what.to_string()
            } else {
                format!("{} of {} {what}", over.len(), designs.len())
            };
            out.extend(memory_above_usable(&s.hardware, worst, &who, &format!("scenario `{}`: ", s.name)));
        }
    }
    out
}

/// Every warning about a solve of `inst`: the instance's, and those of the chosen design
/// (`chosen`: the design and its memory per scenario, bytes), if any.
pub fn for_solve(inst: &Instance, chosen: Option<(&Architecture, Vec<f64>)>) -> Vec<Warning> {
    let mut out = for_instance(inst);
    if let Some((a, mem)) = chosen {
        out.extend(for_designs(inst, &Extents::of(&inst.space), &[a], &[mem], "the chosen design"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Origin;

    fn space(hidden: &str, moe: &str) -> Space {
        let t = format!(
            "layers = [4, 8, 12]\nhidden = {hidden}\nhead_dim = [64]\nkv_heads = [1, 2, \"heads\"]\n\
             ffn_ratio = [1.0, 2.0, 4.0]\nmoe = {moe}\nvocab = [32000]\n"
        );
        toml::from_str::<crate::space::SpaceSpec>(&t).unwrap().enumerate(&Origin::default()).unwrap()
    }

    fn arch(layers: u32, hidden: u32, kv: u32, ratio: u32, e: u32, k: u32) -> Architecture {
        let mut a = Architecture::new(layers, hidden, hidden / 64, ratio * hidden, 32000);
        a.head_dim = 64;
        a.kv_heads = kv;
        a.experts = e;
        a.active_experts = k;
        a
    }

    const MOE: &str = "[[1, 1], [8, 1], [8, 2]]";

    #[test]
    fn interior_design_has_no_edge() {
        let ext = Extents::of(&space("[512, 768, 1024]", "[[1, 1], [8, 1], [16, 1], [8, 2]]"));
        assert!(ext.edges(&arch(8, 768, 2, 2, 8, 1)).is_empty());
        assert!(edge_of_space(&ext, &[&arch(8, 768, 2, 2, 8, 1)], "d").is_empty());
    }

    #[test]
    fn names_each_dimension_at_an_end() {
        let ext = Extents::of(&space("[512, 1024]", MOE));
        let e = ext.edges(&arch(12, 1024, 2, 4, 8, 2));
        let got: Vec<(&str, Side)> = e.iter().map(|e| (e.dimension, e.side)).collect();
        // kv 2 is neither 1 nor MHA (16): interior; top-2 of 8 is the largest K; E = 8 the largest E.
        assert_eq!(
            got,
            [
                ("layers", Side::Max),
                ("hidden", Side::Max),
                ("ffn_ratio", Side::Max),
                ("experts", Side::Max),
                ("active_experts", Side::Max)
            ]
        );
        // The natural floors (dense, one KV head, top-1) and ceilings (MHA) are no edge.
        let e = ext.edges(&arch(8, 1024, 1, 2, 1, 1));
        assert_eq!(e.iter().map(|e| e.dimension).collect::<Vec<_>>(), ["hidden"]);
        let e = ext.edges(&arch(8, 1024, 16, 2, 1, 1));
        assert_eq!(e.iter().map(|e| e.dimension).collect::<Vec<_>>(), ["hidden"]);
        // The smallest depth and FFN ratio are edges.
        let e = ext.edges(&arch(4, 1024, 2, 1, 1, 1));
        let got: Vec<(&str, Side)> = e.iter().map(|e| (e.dimension, e.side)).collect();
        assert_eq!(got, [("layers", Side::Min), ("hidden", Side::Max), ("ffn_ratio", Side::Min)]);
    }

    #[test]
    fn edge_warning_counts_designs() {
        let ext = Extents::of(&space("[512, 1024]", MOE));
        let (a, b) = (arch(12, 1024, 2, 2, 1, 1), arch(8, 1024, 2, 2, 1, 1));
        let w = edge_of_space(&ext, &[&a, &b], "front designs");
        let layers = w.iter().find(|w| w.message.contains("layers")).unwrap();
        assert_eq!(layers.code, EDGE_OF_SPACE);
        assert!(layers.message.starts_with("1 of 2 front designs: layers = 12, the largest"), "{}", layers.message);
        assert!(w.iter().any(|w| w.message.starts_with("2 of 2 front designs: hidden = 1024")), "{w:?}");
    }

    #[test]
    fn memory_uses_the_usable_share() {
        let hw = Hardware::from_toml_str(
            "name='j'\nmemory_gb=16\nreserve_gb=2\nbandwidth_gbps=100\n[peak_tflops]\nbf16=10\n",
            &Origin::default(),
        )
        .unwrap();
        assert!(memory_above_usable(&hw, 13.9e9, "d", "").is_none());
        let w = memory_above_usable(&hw, 14.7e9, "d", "").unwrap();
        assert_eq!(w.code, MEMORY_ABOVE_USABLE);
        assert!(w.message.contains("14.70 GB") && w.message.contains("14.00 GB") && w.message.contains("reserve_gb"));
        assert!(uncalibrated(&hw, "").is_some());
    }

    #[test]
    fn latency_device_compares_the_physical_device() {
        let mut hw = Hardware::from_toml_str(
            "name='NVIDIA H100 SXM5 80GB (calibrated, cudagraph)'\nmemory_gb=80\nbandwidth_gbps=3350\n[peak_tflops]\nbf16=989\n",
            &Origin::default(),
        )
        .unwrap();
        let h100 = vec!["NVIDIA H100 SXM5 80GB".to_string()];
        assert!(latency_samples_device(&h100, &hw, "s").is_none());
        assert!(latency_samples_device(&[], &hw, "s").is_none(), "unknown device: no warning");
        hw.name = "NVIDIA Jetson Orin NX 16GB".into();
        let w = latency_samples_device(&h100, &hw, "s").unwrap();
        assert_eq!(w.code, LATENCY_SAMPLES_OTHER_DEVICE);
        assert!(w.message.contains("H100") && w.message.contains("Orin NX"), "{}", w.message);
    }
}
