//! The loop's observations: the data CSV (columns the law fitter reads), the feasible
//! designs of an instance, and the initial Latin-hypercube sample of them.

use super::*;

/// Columns the data CSV must have (the measurement-CSV architecture columns and `loss`).
pub const DATA_COLUMNS: [&str; 11] =
    ["hidden", "layers", "heads", "kv_heads", "head_dim", "ffn", "experts", "active_experts", "vocab", "tied", "loss"];

/// The rows of a data CSV as the loop sees them.
pub(super) struct DataFile {
    /// Keys measured (`label|w|kv`) of the rows that have `weight_dtype` and `kv_dtype`.
    pub keys: HashSet<String>,
    /// Labels of the rows without them (such a row covers every storage type).
    pub labels: HashSet<String>,
    /// The header.
    pub head: csv::StringRecord,
    /// Each row's cells.
    pub records: Vec<csv::StringRecord>,
    /// Each row's design, when it names its storage types (else it cannot be re-asked).
    pub designs: Vec<Option<Design>>,
}

/// Read a data CSV: keys already measured, `label|w|kv` when the file has `weight_dtype` and
/// `kv_dtype` columns; otherwise the label alone (the row covers every storage type).
pub(super) fn data_keys(path: &Path) -> Result<DataFile> {
    let file = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| Error::Parse { origin: Origin::file(&file), message: e.to_string() })?;
    let head = rdr.headers().map_err(|e| Error::Parse { origin: Origin::file(&file), message: e.to_string() })?.clone();
    for c in DATA_COLUMNS {
        if !head.iter().any(|h| h == c) {
            return Err(Error::missing(
                &Origin::file(&file),
                c,
                format!(
                    "; the loop's data needs the columns {} (measured designs are appended in that form)",
                    DATA_COLUMNS.join(", ")
                ),
            ));
        }
    }
    let col = |n: &str| head.iter().position(|h| h == n);
    let (mut keys, mut labels) = (HashSet::new(), HashSet::new());
    let (mut records, mut designs) = (Vec::new(), Vec::new());
    for (i, rec) in rdr.records().enumerate() {
        let origin = Origin::line(&file, i + 2);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        let get = |n: &str| col(n).and_then(|c| rec.get(c)).unwrap_or("");
        let num = |n: &str| -> Result<u32> {
            get(n)
                .parse::<u32>()
                .map_err(|_| Error::invalid(&origin, n, format!("\"{}\"", get(n)), "must be a positive integer"))
        };
        let mut a = crate::Architecture::new(num("layers")?, num("hidden")?, num("heads")?, num("ffn")?, num("vocab")?);
        a.kv_heads = num("kv_heads")?;
        a.head_dim = num("head_dim")?;
        a.experts = num("experts")?;
        a.active_experts = num("active_experts")?;
        a.tied_embeddings = matches!(get("tied").to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        a.qkv_bias = matches!(get("qkv_bias").to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        let label = a.label();
        match (get("weight_dtype"), get("kv_dtype")) {
            (w, k) if !w.is_empty() && !k.is_empty() => {
                keys.insert(design_key(&label, w, k));
                designs.push(Some(Design::from_arch(&a, w, k)));
            }
            _ => {
                labels.insert(label);
                designs.push(None);
            }
        }
        records.push(rec);
    }
    Ok(DataFile { keys, labels, head, records, designs })
}

/// Columns `data.csv` gains when a row has a `loss_sd` or was excluded.
pub(super) const EXTRA_COLUMNS: [&str; 4] = ["weight", "loss_sd", "seeds", "excluded"];

/// One CSV row for a measured design, in the columns of `head`; `excluded`: why the row is
/// left out of the fit (weight 0).
pub(super) fn data_row(head: &csv::StringRecord, d: &Design, reply: &Reply, excluded: Option<&str>) -> Vec<String> {
    head.iter()
        .map(|h| match h {
            "hidden" => d.hidden.to_string(),
            "layers" => d.layers.to_string(),
            "heads" => d.heads.to_string(),
            "kv_heads" => d.kv_heads.to_string(),
            "head_dim" => d.head_dim.to_string(),
            "ffn" => d.ffn.to_string(),
            "experts" => d.experts.to_string(),
            "active_experts" => d.active_experts.to_string(),
            "vocab" => d.vocab.to_string(),
            "tied" => d.tied.to_string(),
            "qkv_bias" => d.qkv_bias.to_string(),
            "weight_dtype" => d.weight_dtype.clone(),
            "kv_dtype" => d.kv_dtype.clone(),
            "loss" => format!("{:e}", reply.loss),
            "loss_sd" => reply.loss_sd.map(|s| format!("{s:e}")).unwrap_or_default(),
            "seeds" => reply.loss_sd.and(reply.seeds).map(|n| n.to_string()).unwrap_or_default(),
            "weight" => if excluded.is_some() { "0" } else { "1" }.into(),
            "excluded" => excluded.unwrap_or("").to_string(),
            "name" | "label" | "arch" => d.label.clone(),
            _ => String::new(),
        })
        .collect()
}

/// Data CSV header and rows for designs (the loop's own format).
pub fn data_csv(designs: &[(Design, f64)]) -> String {
    let rows: Vec<(Design, Reply)> = designs.iter().map(|(d, l)| (d.clone(), Reply::of(*l))).collect();
    data_csv_replies(&rows)
}

/// [`data_csv`] for oracle replies: with `loss_sd` and `seeds` columns when a reply has a
/// `loss_sd`.
pub fn data_csv_replies(designs: &[(Design, Reply)]) -> String {
    let sd = designs.iter().any(|(_, r)| r.loss_sd.is_some());
    let extra: &[&str] = if sd {
        &["weight_dtype", "kv_dtype", "name", "loss_sd", "seeds"]
    } else {
        &["weight_dtype", "kv_dtype", "name"]
    };
    let head = csv::StringRecord::from(DATA_COLUMNS.iter().chain(extra).copied().collect::<Vec<_>>());
    let mut s = head.iter().collect::<Vec<_>>().join(",");
    s.push('\n');
    for (d, r) in designs {
        s.push_str(&data_row(&head, d, r, None).join(","));
        s.push('\n');
    }
    s
}

/// Every design of the instance that meets the budgets under its point cost model.
pub fn feasible_designs(inst: &Instance) -> Result<Vec<Design>> {
    let p = crate::solve::Problem::new(inst)?;
    let rows = p.rows(false);
    let mut out = Vec::new();
    for (w, r) in rows.iter().enumerate() {
        if let Some(m) = r.lmax {
            for &l in &inst.space.depths[..=m] {
                out.push(Design::new(&inst.space.widths[w], l));
            }
        }
    }
    Ok(out)
}

pub(super) fn features(d: &Design) -> [f64; 5] {
    let a = d.arch();
    let r = a.active_experts as f64 * a.ffn as f64 / a.hidden as f64;
    let rho = a.active_experts as f64 / a.experts as f64;
    let dm = (a.kv_heads * a.head_dim) as f64;
    [(a.layers as f64).ln(), (a.hidden as f64).ln(), r.ln(), rho.ln(), dm.ln()]
}

/// `k` designs from `pool` by a Latin hypercube over the normalised features, each point
/// taking the nearest design not taken yet (deterministic for a seed).
pub fn lhs_pick(pool: &[Design], k: usize, seed: u64) -> Vec<Design> {
    if pool.is_empty() || k == 0 {
        return Vec::new();
    }
    let f: Vec<[f64; 5]> = pool.iter().map(features).collect();
    let mut lo = [f64::INFINITY; 5];
    let mut hi = [f64::NEG_INFINITY; 5];
    for x in &f {
        for j in 0..5 {
            lo[j] = lo[j].min(x[j]);
            hi[j] = hi[j].max(x[j]);
        }
    }
    let norm = |x: &[f64; 5], j: usize| if hi[j] > lo[j] { (x[j] - lo[j]) / (hi[j] - lo[j]) } else { 0.5 };
    let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(seed, 0x004c_4853));
    let k = k.min(pool.len());
    let mut pts = vec![[0.0f64; 5]; k];
    for j in 0..5 {
        let mut perm: Vec<usize> = (0..k).collect();
        for i in (1..k).rev() {
            perm.swap(i, rng.random_range(0..=i));
        }
        for (i, p) in pts.iter_mut().enumerate() {
            p[j] = (perm[i] as f64 + rng.random::<f64>()) / k as f64;
        }
    }
    let mut taken = vec![false; pool.len()];
    let mut out = Vec::with_capacity(k);
    for p in &pts {
        let best = (0..pool.len()).filter(|&i| !taken[i]).min_by(|&a, &b| {
            let d = |i: usize| (0..5).map(|j| (norm(&f[i], j) - p[j]).powi(2)).sum::<f64>();
            d(a).total_cmp(&d(b)).then(a.cmp(&b))
        });
        if let Some(i) = best {
            taken[i] = true;
            out.push(pool[i].clone());
        }
    }
    out
}

/// An initial data set: `n` feasible designs spread by [`lhs_pick`], measured by `oracle`
/// (designs whose call fails are left out). For demos and tests; a real team starts from the
/// models it has trained.
pub fn initial_data(inst: &Instance, oracle: &dyn Oracle, n: usize, seed: u64) -> Result<Vec<(Design, f64)>> {
    let pool = feasible_designs(inst)?;
    Ok(lhs_pick(&pool, n, seed).into_iter().filter_map(|d| oracle.evaluate(&d).ok().map(|l| (d, l))).collect())
}
