//! Design spaces: a grid per hyperparameter, linking rules, and the enumeration of width
//! configurations × depths.
//!
//! A *width configuration* is every choice except depth (hidden, heads, KV heads, head_dim,
//! FFN size, experts, vocabulary, tying, storage types). The solvers exploit that, for a
//! fixed width configuration, every cost and parameter count is linear in depth, so the
//! space is stored as `widths × depths` and never materialised as a product.

use crate::architecture::Architecture;
use crate::error::{Error, Origin, Result};
use crate::limits;
use crate::precision::DType;
use serde::{Deserialize, Serialize};

/// An integer grid: a list, or `{ from, to, step }` (inclusive).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Grid {
    /// Explicit values.
    List(Vec<i64>),
    /// Arithmetic range, both ends inclusive.
    Range {
        /// First value.
        from: i64,
        /// Last value (inclusive).
        to: i64,
        /// Step (default 1).
        #[serde(default = "one_i64")]
        step: i64,
    },
}

fn one_i64() -> i64 {
    1
}

impl Grid {
    /// How many values the grid names (before deduplication), without materialising it:
    /// checked arithmetic, so `{ from = 9223372036854775800, to = 9223372036854775807 }` is
    /// 8 values and `{ from = -9223372036854775808, to = 9223372036854775807 }` is refused
    /// rather than overflowing. Errors name `field`.
    pub fn len_checked(&self, origin: &Origin, field: &str) -> Result<u64> {
        let n = match self {
            Grid::List(v) => v.len() as u64,
            Grid::Range { from, to, step } => {
                if *step <= 0 {
                    return Err(Error::invalid(origin, format!("{field}.step"), step, "must be a positive integer"));
                }
                if to < from {
                    return Err(Error::invalid(origin, format!("{field}.to"), to, format!("must be ≥ from = {from}")));
                }
                // Values must be positive u32s anyway: name the first bad end before counting.
                for (end, v) in [("from", from), ("to", to)] {
                    if *v <= 0 || *v > u32::MAX as i64 {
                        return Err(Error::invalid(
                            origin,
                            format!("{field}.{end}"),
                            v,
                            format!("values must be positive integers ≤ {}", u32::MAX),
                        ));
                    }
                }
                limits::range_len(*from, *to, *step).unwrap_or(u64::MAX)
            }
        };
        if n == 0 {
            return Err(Error::invalid(origin, field, "[]", "needs at least one value"));
        }
        if n > limits::MAX_GRID_VALUES {
            return Err(Error::invalid(
                origin,
                field,
                self.describe(),
                format!("{n} values; a grid may hold at most {} (use a coarser step)", limits::MAX_GRID_VALUES),
            ));
        }
        Ok(n)
    }

    /// The grid as the user wrote it, for messages.
    fn describe(&self) -> String {
        match self {
            Grid::List(v) => format!("a list of {} values", v.len()),
            Grid::Range { from, to, step } => format!("{{ from = {from}, to = {to}, step = {step} }}"),
        }
    }

    /// Values, checked positive, sorted and deduplicated. The size is checked first
    /// ([`Grid::len_checked`]), so nothing is allocated for a grid that is refused.
    pub fn values(&self, origin: &Origin, field: &str) -> Result<Vec<u32>> {
        let n = self.len_checked(origin, field)?;
        let mut out = Vec::with_capacity(n as usize);
        match self {
            Grid::List(v) => {
                for &x in v {
                    if x <= 0 || x > u32::MAX as i64 {
                        return Err(Error::invalid(origin, field, x, "values must be positive integers"));
                    }
                    out.push(x as u32);
                }
            }
            Grid::Range { from, step, .. } => {
                // n values from `from` by `step`, all within [from, to] ⊂ [1, u32::MAX]: no overflow in i128.
                out.extend((0..n as i128).map(|i| (*from as i128 + i * *step as i128) as u32));
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// A KV-heads choice: a number, or `"heads"` / `"= heads"` (MHA).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KvChoice {
    /// Fixed number of KV heads.
    Count(i64),
    /// Equal to the number of query heads.
    Word(String),
}

/// Linking rules between hyperparameters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Largest allowed heads / kv_heads.
    #[serde(default)]
    pub max_gqa: Option<u32>,
    /// Smallest allowed head_dim (when heads are gridded).
    #[serde(default)]
    pub min_head_dim: Option<u32>,
    /// Largest allowed head_dim (when heads are gridded).
    #[serde(default)]
    pub max_head_dim: Option<u32>,
    /// Largest allowed active FFN ratio K·ffn/hidden.
    #[serde(default)]
    pub max_active_ffn_ratio: Option<f64>,
    /// Require heads·head_dim = hidden (default true).
    #[serde(default = "yes")]
    pub q_dim_equals_hidden: bool,
}

fn yes() -> bool {
    true
}

/// `[space]` as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSpec {
    /// Depth grid.
    pub layers: Grid,
    /// Width grid.
    pub hidden: Grid,
    /// Query-head grid (head_dim = hidden/heads unless `head_dim` is also given).
    #[serde(default)]
    pub heads: Option<Grid>,
    /// Head-dimension grid (heads = hidden/head_dim unless `heads` is also given).
    #[serde(default)]
    pub head_dim: Option<Grid>,
    /// KV-head choices (default `["heads"]`).
    #[serde(default)]
    pub kv_heads: Option<Vec<KvChoice>>,
    /// FFN ratio per expert: ffn = round(ratio·hidden / ffn_multiple)·ffn_multiple.
    #[serde(default)]
    pub ffn_ratio: Option<Vec<f64>>,
    /// FFN sizes per expert (alternative to `ffn_ratio`).
    #[serde(default)]
    pub ffn: Option<Grid>,
    /// Rounding multiple for `ffn_ratio` (default 1).
    #[serde(default)]
    pub ffn_multiple: Option<u32>,
    /// (experts, active experts) pairs (default `[[1, 1]]`, dense).
    #[serde(default)]
    pub moe: Option<Vec<[i64; 2]>>,
    /// Weight storage types (default `["bf16"]`).
    #[serde(default)]
    pub weight_dtype: Option<Vec<String>>,
    /// KV-cache storage types (default `["bf16"]`).
    #[serde(default)]
    pub kv_dtype: Option<Vec<String>>,
    /// Vocabulary sizes.
    pub vocab: Grid,
    /// Tied embeddings choices (default `[false]`).
    #[serde(default)]
    pub tied: Option<Vec<bool>>,
    /// Q/K/V biases (default false).
    #[serde(default)]
    pub qkv_bias: bool,
    /// Linking rules.
    #[serde(default)]
    pub rules: Rules,
}

/// One width configuration (every choice but depth), stored compactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WidthConfig {
    /// Hidden size.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// KV heads.
    pub kv_heads: u32,
    /// Head dimension.
    pub head_dim: u32,
    /// FFN size per expert.
    pub ffn: u32,
    /// Experts.
    pub experts: u32,
    /// Active experts.
    pub active_experts: u32,
    /// Vocabulary.
    pub vocab: u32,
    /// Tied embeddings.
    pub tied: bool,
    /// Q/K/V bias.
    pub qkv_bias: bool,
    /// Weight storage type.
    pub weights: DType,
    /// KV-cache storage type.
    pub kv_cache: DType,
}

impl WidthConfig {
    /// The architecture at a depth.
    pub fn arch(&self, layers: u32) -> Architecture {
        Architecture {
            name: None,
            layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
            ffn: self.ffn,
            experts: self.experts,
            active_experts: self.active_experts,
            vocab: self.vocab,
            tied_embeddings: self.tied,
            qkv_bias: self.qkv_bias,
        }
    }
}

/// An enumerated space.
#[derive(Debug, Clone)]
pub struct Space {
    /// Depths, ascending.
    pub depths: Vec<u32>,
    /// Width configurations.
    pub widths: Vec<WidthConfig>,
    /// Combinations dropped by linking rules or validation.
    pub skipped: u64,
    /// Every architecture appears with every (weight, KV) storage-type pair of the grid
    /// (true for enumerated grids); lets solvers skip storage types that are dominated.
    pub dtype_product: bool,
}

impl Space {
    /// widths × depths.
    pub fn candidates(&self) -> u64 {
        self.widths.len() as u64 * self.depths.len() as u64
    }
}

/// Most width configurations a space may have.
pub const MAX_WIDTHS: usize = 20_000_000;

impl SpaceSpec {
    /// Enumerate the grid under the rules. Combinations that break a rule (KV heads not
    /// dividing heads, heads not dividing hidden, …) are skipped and counted; a space where
    /// nothing survives is an error.
    ///
    /// The product of the grid sizes is checked against [`limits::DEFAULT_MAX_CANDIDATES`]
    /// first; [`SpaceSpec::enumerate_limited`] takes another limit.
    pub fn enumerate(&self, origin: &Origin) -> Result<Space> {
        self.enumerate_limited(origin, limits::DEFAULT_MAX_CANDIDATES)
    }

    /// The product of the grid sizes (an upper bound on the candidates, before the rules drop
    /// any), with each factor named, computed without materialising any grid.
    pub fn grid_product(&self, origin: &Origin) -> Result<(u64, String)> {
        let f = |n: &str| format!("space.{n}");
        let opt = |g: &Option<Grid>, n: &str| -> Result<Option<u64>> {
            g.as_ref().map(|g| g.len_checked(origin, &f(n))).transpose()
        };
        let ffn = match (&self.ffn_ratio, &self.ffn) {
            (Some(r), _) => Some(r.len() as u64),
            (None, Some(g)) => Some(g.len_checked(origin, &f("ffn"))?),
            (None, None) => None,
        };
        let list = |n: Option<usize>| n.map(|n| n as u64);
        let factors: Vec<(&str, Option<u64>)> = vec![
            ("layers", Some(self.layers.len_checked(origin, &f("layers"))?)),
            ("hidden", Some(self.hidden.len_checked(origin, &f("hidden"))?)),
            ("heads", opt(&self.heads, "heads")?),
            ("head_dim", opt(&self.head_dim, "head_dim")?),
            ("kv_heads", list(self.kv_heads.as_ref().map(Vec::len))),
            ("ffn", ffn),
            ("moe", list(self.moe.as_ref().map(Vec::len))),
            ("weight_dtype", list(self.weight_dtype.as_ref().map(Vec::len))),
            ("kv_dtype", list(self.kv_dtype.as_ref().map(Vec::len))),
            ("vocab", Some(self.vocab.len_checked(origin, &f("vocab"))?)),
            ("tied", list(self.tied.as_ref().map(Vec::len))),
        ];
        let given: Vec<(&str, u64)> = factors.into_iter().filter_map(|(n, v)| v.map(|v| (n, v.max(1)))).collect();
        let total = limits::product(&given.iter().map(|(_, v)| *v).collect::<Vec<_>>());
        let how = given.iter().map(|(n, v)| format!("{n} {v}")).collect::<Vec<_>>().join(" × ");
        Ok((total, how))
    }

    /// [`SpaceSpec::enumerate`] with a limit on the product of the grid sizes: a larger space
    /// is refused before anything is allocated, the error giving the count, its factors and how
    /// to raise the limit.
    pub fn enumerate_limited(&self, origin: &Origin, max_candidates: u64) -> Result<Space> {
        let (total, how) = self.grid_product(origin)?;
        if total > max_candidates {
            let shown = if total == u64::MAX { "more than 1.8e19".to_string() } else { format!("{total}") };
            return Err(Error::invalid(
                origin,
                "space",
                format!("{shown} candidates ({how})"),
                format!(
                    "more than the limit of {max_candidates}; shrink a grid, or raise the limit with \
                     `[solver] max_candidates = N` in the instance or `--max-candidates N` \
                     (memory grows with the width configurations, ~40 bytes each, plus the solver's own)"
                ),
            ));
        }
        let f = |n: &str| format!("space.{n}");
        let depths = self.layers.values(origin, &f("layers"))?;
        let hidden = self.hidden.values(origin, &f("hidden"))?;
        let heads = match &self.heads {
            Some(g) => Some(g.values(origin, &f("heads"))?),
            None => None,
        };
        let head_dims = match &self.head_dim {
            Some(g) => Some(g.values(origin, &f("head_dim"))?),
            None => None,
        };
        if heads.is_none() && head_dims.is_none() {
            return Err(Error::missing(origin, "space.heads", "give `heads` or `head_dim` (or both)"));
        }
        // KV choices: Some(n) or None for "= heads".
        let mut kv: Vec<Option<u32>> = Vec::new();
        for (i, c) in self.kv_heads.clone().unwrap_or_else(|| vec![KvChoice::Word("heads".into())]).iter().enumerate() {
            match c {
                KvChoice::Count(n) if *n > 0 && *n <= u32::MAX as i64 => kv.push(Some(*n as u32)),
                KvChoice::Count(n) => {
                    return Err(Error::invalid(
                        origin,
                        format!("space.kv_heads[{i}]"),
                        n,
                        "must be a positive integer or \"heads\"",
                    ))
                }
                KvChoice::Word(w) if matches!(w.replace(' ', "").as_str(), "heads" | "=heads") => kv.push(None),
                KvChoice::Word(w) => {
                    return Err(Error::invalid(
                        origin,
                        format!("space.kv_heads[{i}]"),
                        format!("\"{w}\""),
                        "must be a positive integer or \"heads\" (= heads, MHA)",
                    ))
                }
            }
        }
        if kv.is_empty() {
            return Err(Error::invalid(origin, "space.kv_heads", "[]", "needs at least one value"));
        }
        enum Ffn {
            Ratio(Vec<f64>, u32),
            Size(Vec<u32>),
        }
        let ffn = match (&self.ffn_ratio, &self.ffn) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    origin,
                    "space.ffn",
                    "given with ffn_ratio",
                    "give `ffn_ratio` or `ffn`, not both",
                ))
            }
            (None, None) => return Err(Error::missing(origin, "space.ffn_ratio", "give `ffn_ratio` or `ffn`")),
            (Some(r), None) => {
                if r.is_empty() {
                    return Err(Error::invalid(origin, "space.ffn_ratio", "[]", "needs at least one value"));
                }
                for (i, v) in r.iter().enumerate() {
                    if !(v.is_finite() && *v > 0.0) {
                        return Err(Error::invalid(
                            origin,
                            format!("space.ffn_ratio[{i}]"),
                            v,
                            "must be a positive number",
                        ));
                    }
                }
                let m = self.ffn_multiple.unwrap_or(1);
                if m == 0 {
                    return Err(Error::invalid(origin, "space.ffn_multiple", 0, "must be a positive integer"));
                }
                Ffn::Ratio(r.clone(), m)
            }
            (None, Some(g)) => Ffn::Size(g.values(origin, &f("ffn"))?),
        };
        let moe: Vec<(u32, u32)> = match &self.moe {
            None => vec![(1, 1)],
            Some(v) if v.is_empty() => {
                return Err(Error::invalid(origin, "space.moe", "[]", "needs at least one [experts, active] pair"))
            }
            Some(v) => {
                let mut out = Vec::new();
                for (i, [e, k]) in v.iter().enumerate() {
                    if *e <= 0 || *k <= 0 || k > e || *e > u32::MAX as i64 {
                        return Err(Error::invalid(
                            origin,
                            format!("space.moe[{i}]"),
                            format!("[{e}, {k}]"),
                            "must be [experts, active] with 1 ≤ active ≤ experts",
                        ));
                    }
                    out.push((*e as u32, *k as u32));
                }
                out
            }
        };
        let dtypes = |field: &str, v: &Option<Vec<String>>| -> Result<Vec<DType>> {
            let v = v.clone().unwrap_or_else(|| vec!["bf16".into()]);
            if v.is_empty() {
                return Err(Error::invalid(origin, format!("space.{field}"), "[]", "needs at least one data type"));
            }
            v.iter().enumerate().map(|(i, s)| DType::parse_field(s, origin, &format!("space.{field}[{i}]"))).collect()
        };
        let wdt = dtypes("weight_dtype", &self.weight_dtype)?;
        let kdt = dtypes("kv_dtype", &self.kv_dtype)?;
        let vocab = self.vocab.values(origin, &f("vocab"))?;
        let tied = self.tied.clone().unwrap_or_else(|| vec![false]);
        if tied.is_empty() {
            return Err(Error::invalid(origin, "space.tied", "[]", "needs at least one value"));
        }
        let r = &self.rules;
        if let Some(m) = r.max_active_ffn_ratio {
            if !(m.is_finite() && m > 0.0) {
                return Err(Error::invalid(origin, "space.rules.max_active_ffn_ratio", m, "must be a positive number"));
            }
        }

        // (heads, head_dim) pairs per hidden.
        let mut widths = Vec::new();
        let mut skipped = 0u64;
        for &d in &hidden {
            let mut hh: Vec<(u32, u32)> = Vec::new();
            match (&heads, &head_dims) {
                (Some(hs), None) => {
                    for &h in hs {
                        if d % h == 0 {
                            hh.push((h, d / h))
                        } else {
                            skipped += 1
                        }
                    }
                }
                (None, Some(ds)) => {
                    for &hd in ds {
                        if d % hd == 0 {
                            hh.push((d / hd, hd))
                        } else {
                            skipped += 1
                        }
                    }
                }
                (Some(hs), Some(ds)) => {
                    for &h in hs {
                        for &hd in ds {
                            if !r.q_dim_equals_hidden || h as u64 * hd as u64 == d as u64 {
                                hh.push((h, hd))
                            } else {
                                skipped += 1
                            }
                        }
                    }
                }
                (None, None) => unreachable!(),
            }
            hh.retain(|&(_, hd)| {
                let ok = r.min_head_dim.is_none_or(|m| hd >= m) && r.max_head_dim.is_none_or(|m| hd <= m);
                skipped += !ok as u64;
                ok
            });
            let ffns: Vec<u32> = match &ffn {
                Ffn::Size(v) => v.clone(),
                Ffn::Ratio(rs, m) => {
                    let mut v: Vec<u32> =
                        rs.iter().map(|x| (((x * d as f64) / *m as f64).round().max(1.0) as u32) * m).collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                }
            };
            for &(h, hd) in &hh {
                let mut kvs: Vec<u32> = kv.iter().map(|k| k.unwrap_or(h)).collect();
                kvs.sort_unstable();
                kvs.dedup();
                for &k in &kvs {
                    if k > h || h % k != 0 || r.max_gqa.is_some_and(|g| h / k > g) {
                        skipped += 1;
                        continue;
                    }
                    for &ff in &ffns {
                        for &(e, a) in &moe {
                            if r.max_active_ffn_ratio.is_some_and(|m| a as f64 * ff as f64 / d as f64 > m + 1e-12) {
                                skipped += 1;
                                continue;
                            }
                            for &wd in &wdt {
                                for &kd in &kdt {
                                    for &v in &vocab {
                                        for &t in &tied {
                                            widths.push(WidthConfig {
                                                hidden: d,
                                                heads: h,
                                                kv_heads: k,
                                                head_dim: hd,
                                                ffn: ff,
                                                experts: e,
                                                active_experts: a,
                                                vocab: v,
                                                tied: t,
                                                qkv_bias: self.qkv_bias,
                                                weights: wd,
                                                kv_cache: kd,
                                            });
                                            if widths.len() > MAX_WIDTHS {
                                                return Err(Error::invalid(
                                                    origin,
                                                    "space",
                                                    format!("more than {MAX_WIDTHS} width configurations"),
                                                    "shrink a grid (colaw stores one row per width configuration)",
                                                ));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if widths.is_empty() {
            return Err(Error::invalid(
                origin,
                "space",
                format!("{skipped} combinations, none valid"),
                "no width configuration satisfies the rules (heads must divide hidden or match head_dim; kv_heads must divide heads)",
            ));
        }
        Ok(Space { depths, widths, skipped, dtype_product: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> SpaceSpec {
        let t = format!("layers = {{ from = 4, to = 32, step = 4 }}\nhidden = [768, 1024]\nvocab = [32000]\n{extra}");
        toml::from_str(&t).unwrap()
    }

    #[test]
    fn table5_like_count() {
        let s = spec("head_dim = [64]\nkv_heads = [1, 2, 4, 8, \"heads\"]\nffn_ratio = [1.0, 2.0]\nmoe = [[1,1],[8,1],[8,2],[16,1],[16,2]]")
            .enumerate(&Origin::default())
            .unwrap();
        assert_eq!(s.depths, vec![4, 8, 12, 16, 20, 24, 28, 32]);
        // heads 12 and 16: kv {1,2,4,8? (12%8≠0 → skip),12} and {1,2,4,8,16}.
        assert_eq!(s.widths.len(), (4 + 5) * 2 * 5);
        assert!(s.skipped >= 1);
    }

    #[test]
    fn bad_kv_named() {
        let e = spec("head_dim = [64]\nkv_heads = [\"all\"]\nffn_ratio = [1.0]")
            .enumerate(&Origin::file("i.toml"))
            .unwrap_err();
        let e = e.to_string();
        assert!(e.contains("i.toml") && e.contains("space.kv_heads[0]") && e.contains("all"), "{e}");
    }

    #[test]
    fn bad_range_named() {
        let t = "layers = { from = 8, to = 4 }\nhidden = [768]\nvocab=[1]\nheads=[12]\nffn=[100]";
        let s: SpaceSpec = toml::from_str(t).unwrap();
        let e = s.enumerate(&Origin::file("i.toml")).unwrap_err().to_string();
        assert!(e.contains("space.layers.to"), "{e}");
    }
}
