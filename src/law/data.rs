//! Observations for fitting a law: a CSV with a loss column and, for each variable the law
//! reads, a column (by the variable's name, an alias such as `N`/`D`, or `--map VAR=COLUMN`)
//! or architecture columns it can be derived from (the measurement-CSV names: `layers, hidden,
//! heads, ffn, vocab` required, `kv_heads, head_dim, experts, active_experts, tied, qkv_bias`
//! optional), through [`LawInputs::from_arch`].
//!
//! Every value a law takes the logarithm of must be a positive finite number; each bad cell is
//! an error naming the file, line and column.

use super::{LawInputs, Var};
use crate::architecture::Architecture;
use crate::error::{Error, Origin, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Columns an architecture is built from (required ones first).
pub const ARCH_REQUIRED: [&str; 5] = ["layers", "hidden", "heads", "ffn", "vocab"];
/// Optional architecture columns.
pub const ARCH_OPTIONAL: [&str; 6] = ["kv_heads", "head_dim", "experts", "active_experts", "tied", "qkv_bias"];

/// `--map VAR=COLUMN,…`: which column holds a law variable, the loss (`loss`) or the row
/// weights (`weight`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnMap {
    /// Law variable → column.
    pub vars: BTreeMap<Var, String>,
    /// Loss column (default `loss`).
    pub loss: Option<String>,
    /// Weight column (default `weight` when present).
    pub weight: Option<String>,
}

impl ColumnMap {
    /// Parse `VAR=COLUMN,VAR=COLUMN` (VAR: a law variable name or alias, `loss` or `weight`).
    pub fn parse(spec: &str) -> Result<ColumnMap> {
        let mut m = ColumnMap::default();
        let o = Origin::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (var, col) = part
                .split_once('=')
                .ok_or_else(|| Error::invalid(&o, "--map", format!("\"{part}\""), "each entry must be VAR=COLUMN"))?;
            let (var, col) = (var.trim(), col.trim().to_string());
            if col.is_empty() {
                return Err(Error::invalid(&o, "--map", format!("\"{part}\""), "the column name is empty"));
            }
            match var {
                "loss" | "L" => m.loss = Some(col),
                "weight" | "w" => m.weight = Some(col),
                _ => {
                    let v = Var::parse(var).ok_or_else(|| {
                        Error::invalid(
                            &o,
                            "--map",
                            format!("\"{var}\""),
                            format!(
                                "unknown variable; use loss, weight or a law variable: {}",
                                super::ALL_VARS.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
                            ),
                        )
                    })?;
                    m.vars.insert(v, col);
                }
            }
        }
        Ok(m)
    }
}

/// Where a variable's values came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A CSV column.
    Column(String),
    /// Derived from the architecture columns.
    Architecture,
    /// The law's default (e.g. training tokens), the same in every row.
    Default(f64),
}

/// Observations ready for fitting.
#[derive(Debug, Clone)]
pub struct Observations {
    /// File label (for messages).
    pub file: String,
    /// SHA-256 of the file bytes (hex), empty for in-memory data.
    pub sha256: String,
    /// 1-based line of each row in the file (header = 1).
    pub lines: Vec<usize>,
    /// Law inputs of each row (only the variables the law reads are guaranteed set).
    pub inputs: Vec<LawInputs>,
    /// Observed loss of each row (positive, finite).
    pub loss: Vec<f64>,
    /// Row weights (non-negative, finite; 1 when the file has none).
    pub weights: Vec<f64>,
    /// Standard error of each row's loss from repeated seeds, `loss_sd / √seeds` (loss
    /// units; the `loss_sd` and `seeds` columns, `seeds` 1 when absent): None when unknown.
    /// [`super::noise::seed_weights`] turns it into weights.
    pub loss_se: Vec<Option<f64>>,
    /// Seeds behind each row's loss (the `seeds` column of a row with a `loss_sd`; else 1):
    /// the replicates the lack-of-fit test ([`super::noise::lack_of_fit`]) pools.
    pub seeds: Vec<u32>,
    /// Where each variable came from.
    pub sources: BTreeMap<Var, Source>,
}

impl Observations {
    /// In-memory observations (tests, examples).
    pub fn new(inputs: Vec<LawInputs>, loss: Vec<f64>) -> Observations {
        let n = inputs.len();
        Observations {
            file: "<memory>".into(),
            sha256: String::new(),
            lines: (1..=n).collect(),
            inputs,
            loss,
            weights: vec![1.0; n],
            loss_se: vec![None; n],
            seeds: vec![1; n],
            sources: BTreeMap::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.loss.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.loss.is_empty()
    }

    /// The rows without the `k` highest losses (Epoch's rule drops the 5 highest-loss
    /// Chinchilla runs); ties are broken by row order, so the result is deterministic.
    pub fn drop_highest(&self, k: usize) -> Observations {
        if k == 0 {
            return self.clone();
        }
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| self.loss[b].total_cmp(&self.loss[a]).then(a.cmp(&b)));
        let mut keep: Vec<usize> = idx.into_iter().skip(k).collect();
        keep.sort_unstable();
        self.select(&keep)
    }

    /// A subset of rows, in the given order.
    pub fn select(&self, rows: &[usize]) -> Observations {
        Observations {
            file: self.file.clone(),
            sha256: self.sha256.clone(),
            lines: rows.iter().map(|&i| self.lines[i]).collect(),
            inputs: rows.iter().map(|&i| self.inputs[i]).collect(),
            loss: rows.iter().map(|&i| self.loss[i]).collect(),
            weights: rows.iter().map(|&i| self.weights[i]).collect(),
            loss_se: rows.iter().map(|&i| self.loss_se[i]).collect(),
            seeds: rows.iter().map(|&i| self.seeds[i]).collect(),
            sources: self.sources.clone(),
        }
    }

    /// Check that every value of `vars` and every loss and weight is usable; errors name the
    /// row and column.
    pub fn validate(&self, vars: &[Var]) -> Result<()> {
        for i in 0..self.len() {
            let origin = Origin::line(&self.file, self.lines[i]);
            let l = self.loss[i];
            if !(l.is_finite() && l > 0.0) {
                return Err(Error::invalid(&origin, "loss", l, "must be a positive finite number"));
            }
            let w = self.weights[i];
            if !(w.is_finite() && w >= 0.0) {
                return Err(Error::invalid(&origin, "weight", w, "must be a non-negative finite number"));
            }
            if let Some(Some(se)) = self.loss_se.get(i) {
                if !(se.is_finite() && *se >= 0.0) {
                    return Err(Error::invalid(&origin, "loss_sd", se, "must be a non-negative finite number"));
                }
            }
            for &v in vars {
                let x = self.inputs[i].get(v);
                if !(x.is_finite() && x > 0.0) {
                    let col = match self.sources.get(&v) {
                        Some(Source::Column(c)) => c.clone(),
                        _ => v.name().to_string(),
                    };
                    return Err(Error::invalid(
                        &origin,
                        col,
                        x,
                        format!("law variable `{}` must be a positive finite number (its log is taken)", v.name()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Read an observations CSV for a law reading `vars`. `default_tokens` fills training tokens
/// when the file has no column for them.
pub fn read_observations(
    path: &Path,
    vars: &[Var],
    map: &ColumnMap,
    default_tokens: Option<f64>,
) -> Result<Observations> {
    let bytes = crate::util::csv::read_bytes(path)?;
    observations_from_bytes(&bytes, &path.display().to_string(), vars, map, default_tokens)
}

/// [`read_observations`] on the file's bytes; `file` names it in errors.
pub fn observations_from_bytes(
    bytes: &[u8],
    file: &str,
    vars: &[Var],
    map: &ColumnMap,
    default_tokens: Option<f64>,
) -> Result<Observations> {
    let file = file.to_string();
    let fo = Origin::file(&file);
    let sha256 = crate::util::provenance::sha256_hex(bytes);
    let (mut rdr, headers) = crate::util::csv::from_bytes(bytes, &file)?;
    let col_of = |name: &str| headers.iter().position(|h| h == name);
    let listing = || headers.iter().collect::<Vec<_>>().join(", ");

    // Mapped columns must exist.
    let check = |flag: &str, col: &str| -> Result<usize> {
        col_of(col).ok_or_else(|| {
            Error::invalid(&fo, flag, format!("\"{col}\""), format!("no such column; the columns are {}", listing()))
        })
    };
    let loss_col = match &map.loss {
        Some(c) => check("--map loss", c)?,
        None => col_of("loss").ok_or_else(|| {
            Error::missing(
                &fo,
                "loss",
                format!("no `loss` column (columns: {}); name it with --map loss=COLUMN", listing()),
            )
        })?,
    };
    let weight_col = match &map.weight {
        Some(c) => Some(check("--map weight", c)?),
        None => col_of("weight"),
    };
    let (sd_col, seeds_col) = (col_of("loss_sd"), col_of("seeds"));
    let has_arch = ARCH_REQUIRED.iter().all(|c| col_of(c).is_some());
    let mut sources = BTreeMap::new();
    let mut var_cols: Vec<(Var, usize)> = Vec::new();
    for &v in vars {
        let src = if let Some(c) = map.vars.get(&v) {
            var_cols.push((v, check(&format!("--map {}", v.name()), c)?));
            Source::Column(c.clone())
        } else if let Some(i) = headers.iter().position(|h| Var::parse(h) == Some(v)) {
            var_cols.push((v, i));
            Source::Column(headers[i].to_string())
        } else if has_arch && v != Var::Tokens {
            Source::Architecture
        } else if let (Var::Tokens, Some(t)) = (v, default_tokens) {
            Source::Default(t)
        } else {
            return Err(Error::missing(
                &fo,
                v.name(),
                format!(
                    "the law reads `{}` but no column holds it (columns: {}); name one with --map {}=COLUMN{}",
                    v.name(),
                    listing(),
                    v.name(),
                    if v == Var::Tokens {
                        ""
                    } else {
                        " or give the architecture columns layers, hidden, heads, ffn, vocab"
                    }
                ),
            ));
        };
        sources.insert(v, src);
    }
    let need_arch = sources.values().any(|s| *s == Source::Architecture);

    let mut obs = Observations {
        file: file.clone(),
        sha256,
        lines: Vec::new(),
        inputs: Vec::new(),
        loss: Vec::new(),
        weights: Vec::new(),
        loss_se: Vec::new(),
        seeds: Vec::new(),
        sources,
    };
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let origin = Origin::line(&file, line);
        let rec = rec.map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        let num = |c: usize| -> Result<f64> {
            let s = rec.get(c).unwrap_or("");
            s.parse::<f64>().map_err(|_| Error::invalid(&origin, &headers[c], format!("\"{s}\""), "must be a number"))
        };
        let mut x = if need_arch {
            LawInputs::from_arch(&parse_arch(&rec, &headers, &origin)?, None)
        } else {
            LawInputs::unknown()
        };
        for (v, s) in &obs.sources {
            if let Source::Default(t) = s {
                x.set(*v, *t);
            }
        }
        for &(v, c) in &var_cols {
            x.set(v, num(c)?);
        }
        obs.loss.push(num(loss_col)?);
        obs.weights.push(match weight_col {
            Some(c) => num(c)?,
            None => 1.0,
        });
        // An empty `loss_sd` cell: unknown (rows of another source, or one seed).
        let cell = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|s| !s.is_empty());
        let (se, seeds) = match cell(sd_col) {
            None => (None, 1),
            Some(s) => {
                let sd = s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                    Error::invalid(&origin, "loss_sd", format!("\"{s}\""), "must be a non-negative number or empty")
                })?;
                let seeds = match cell(seeds_col) {
                    None => 1,
                    Some(s) => s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        Error::invalid(&origin, "seeds", format!("\"{s}\""), "must be a positive integer or empty")
                    })?,
                };
                (Some(sd / f64::from(seeds).sqrt()), seeds)
            }
        };
        obs.loss_se.push(se);
        obs.seeds.push(seeds);
        obs.inputs.push(x);
        obs.lines.push(line);
    }
    if obs.is_empty() {
        return Err(Error::Parse { origin: fo, message: "no data rows".into() });
    }
    obs.validate(vars)?;
    Ok(obs)
}

fn parse_arch(rec: &csv::StringRecord, headers: &csv::StringRecord, origin: &Origin) -> Result<Architecture> {
    let get = |name: &str| -> Option<&str> {
        headers.iter().position(|h| h == name).and_then(|i| rec.get(i)).filter(|s| !s.is_empty())
    };
    let uint = |name: &str, default: Option<u32>| -> Result<u32> {
        match (get(name), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(Error::missing(origin, name, "this architecture column is empty")),
            (Some(s), _) => match s.parse::<u32>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(Error::invalid(origin, name, format!("\"{s}\""), "must be a positive integer")),
            },
        }
    };
    let boolean = |name: &str| -> Result<bool> {
        match get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") | Some("0") | Some("no") => Ok(false),
            Some("true") | Some("1") | Some("yes") => Ok(true),
            Some(s) => Err(Error::invalid(origin, name, format!("\"{s}\""), "must be true or false")),
        }
    };
    let mut a = Architecture::new(
        uint("layers", None)?,
        uint("hidden", None)?,
        uint("heads", None)?,
        uint("ffn", None)?,
        uint("vocab", None)?,
    );
    a.kv_heads = uint("kv_heads", Some(a.heads))?;
    a.head_dim = uint("head_dim", Some(a.head_dim.max(1)))?;
    a.experts = uint("experts", Some(1))?;
    a.active_experts = uint("active_experts", Some(1))?;
    a.tied_embeddings = boolean("tied")?;
    a.qkv_bias = boolean("qkv_bias")?;
    a.validate(origin)?;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const ND: [Var; 2] = [Var::Params, Var::Tokens];

    #[test]
    fn aliases_and_map() {
        let f = write("N,D,loss\n1e8,2e9,3.0\n2e8,4e9,2.9\n");
        let o = read_observations(f.path(), &ND, &ColumnMap::default(), None).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o.inputs[1].get(Var::Tokens), 4e9);
        assert_eq!(o.lines, vec![2, 3]);
        assert_eq!(o.sha256.len(), 64);
        let f = write("n,tok,y\n1e8,2e9,3.0\n");
        let m = ColumnMap::parse("params=n, D=tok, loss=y").unwrap();
        let o = read_observations(f.path(), &ND, &m, None).unwrap();
        assert_eq!(o.inputs[0].get(Var::Params), 1e8);
        assert_eq!(o.loss[0], 3.0);
    }

    #[test]
    fn bad_cells_named() {
        let cases = [
            ("N,D,loss\n1e8,2e9,3.0\n1e8,2e9,-1\n", &[":3:", "loss"][..]),
            ("N,D,loss\n1e8,2e9,3.0\n1e8,2e9,NaN\n", &[":3:", "loss"]),
            ("N,D,loss\n1e8,2e9,3.0\n0,2e9,3\n", &[":3:", "`N`", "params"]),
            ("N,D,loss\n1e8,x,3.0\n", &[":2:", "`D`", "number"]),
            ("N,loss\n1e8,3.0\n", &["tokens", "--map tokens=COLUMN"]),
            ("N,D,L\n1e8,2e9,3.0\n", &["loss", "--map loss=COLUMN"]),
        ];
        for (text, needles) in cases {
            let f = write(text);
            let e = read_observations(f.path(), &ND, &ColumnMap::default(), None).unwrap_err().to_string();
            for n in needles {
                assert!(e.contains(n), "{text}: `{n}` not in {e}");
            }
        }
        let f = write("N,D,loss\n1e8,2e9,3.0\n");
        let e =
            read_observations(f.path(), &ND, &ColumnMap::parse("params=size").unwrap(), None).unwrap_err().to_string();
        assert!(e.contains("size") && e.contains("N, D, loss"), "{e}");
        let e = ColumnMap::parse("depthh=x").unwrap_err().to_string();
        assert!(e.contains("depthh") && e.contains("layers"), "{e}");
    }

    #[test]
    fn architecture_columns() {
        let f = write(
            "layers,hidden,heads,kv_heads,ffn,vocab,experts,active_experts,loss\n\
             8,1024,16,4,2048,32000,8,2,3.1\n",
        );
        let vars = [Var::Layers, Var::Hidden, Var::FfnRatio, Var::Rho, Var::DM, Var::Params];
        let o = read_observations(f.path(), &vars, &ColumnMap::default(), None).unwrap();
        let x = &o.inputs[0];
        assert_eq!(x.get(Var::Rho), 0.25);
        assert_eq!(x.get(Var::FfnRatio), 4.0);
        assert_eq!(x.get(Var::DM), 256.0);
        assert_eq!(o.sources[&Var::Rho], Source::Architecture);
    }

    #[test]
    fn drop_highest_keeps_order() {
        let x = LawInputs::unknown();
        let o = Observations::new(vec![x; 5], vec![3.0, 5.0, 1.0, 5.0, 2.0]);
        let d = o.drop_highest(2);
        assert_eq!(d.loss, vec![3.0, 1.0, 2.0]);
        assert_eq!(d.lines, vec![1, 3, 5]);
    }
}
