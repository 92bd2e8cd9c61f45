//! Law files: a constant plus a sum of power terms, with named coefficients that exponents
//! may share (the paper's α_r appears in two terms).
//!
//! ```toml
//! name = "paper"
//! tokens = 1e10                  # optional: training tokens when the data gives none
//! [coefficients]
//! L_inf = 2.53
//! kappa_l = 9.96
//! alpha_l = 1.63
//! [form]
//! constant = "L_inf"             # optional
//! [[form.terms]]
//! coef = "kappa_l"
//! pow = { layers = "-alpha_l" }  # exponent: a number, or a coefficient name with optional '-'
//! ```
//!
//! A number as an exponent is fixed; `fixed = ["alpha_m", …]` (top level) keeps named
//! coefficients at their `[coefficients]` values in every fit (`colaw fit --fix NAME=VALUE`
//! writes both), so few rows can fit a law with many coefficients.

use super::{LawInputs, LossLaw, Var};
use crate::error::{read_file, Error, Origin, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An exponent as written in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExponentSpec {
    /// A fixed number.
    Number(f64),
    /// A coefficient name, optionally negated with a leading '-'.
    Name(String),
}

/// One term as written in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawTermSpec {
    /// Coefficient multiplying the term.
    pub coef: String,
    /// Variable → exponent.
    #[serde(default)]
    pub pow: BTreeMap<String, ExponentSpec>,
}

/// The form section of a law file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSpec {
    /// Coefficient added as a constant (irreducible loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// The power terms.
    pub terms: Vec<LawTermSpec>,
}

/// A law file as on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawFile {
    /// Short name.
    pub name: String,
    /// What the law is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the coefficients come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Training tokens assumed when the data gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<f64>,
    /// Coefficient values by name. Order of the file is kept by name sorting.
    pub coefficients: BTreeMap<String, f64>,
    /// The form.
    pub form: FormSpec,
    /// Fitting bounds `[low, high]` by coefficient name, in natural units (optional). A
    /// bounded coefficient stays inside them in every fit and bootstrap refit: use them where
    /// few or noisy rows let an exponent run off (e.g. `alpha_l = [0, 3]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bounds: BTreeMap<String, [f64; 2]>,
    /// Coefficients every fit keeps at their `[coefficients]` value (not fitted): a few rows
    /// cannot determine every coefficient of a large law.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
    /// Written by `colaw fit`: method, data hash, n, quality, intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<toml::Table>,
}

/// A resolved exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exponent {
    /// Fixed value.
    Fixed(f64),
    /// sign · coefficient[index].
    Coef {
        /// Index into the coefficient vector.
        index: usize,
        /// +1 or −1.
        sign: f64,
    },
}

/// var^exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Factor {
    /// Variable.
    pub var: Var,
    /// Exponent.
    pub exp: Exponent,
}

/// coefficient[coef] · Π factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Index of the multiplying coefficient.
    pub coef: usize,
    /// Factors.
    pub factors: Vec<Factor>,
}

impl Term {
    /// True when every factor is `layers`.
    pub fn depth_only(&self) -> bool {
        !self.factors.is_empty() && self.factors.iter().all(|f| f.var == Var::Layers)
    }
    /// True when no factor changes with depth.
    pub fn depth_free(&self) -> bool {
        self.factors.iter().all(|f| !f.var.depends_on_depth())
    }
}

/// A law in power-sum form, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerLaw {
    /// Name.
    pub name: String,
    /// Coefficient names, index order.
    pub names: Vec<String>,
    /// Coefficient values, index order.
    pub values: Vec<f64>,
    /// Index of the constant coefficient.
    pub constant: Option<usize>,
    /// Terms.
    pub terms: Vec<Term>,
    /// Default training tokens.
    pub tokens: Option<f64>,
    /// Fitting bounds per coefficient (index order), natural units.
    pub bounds: Vec<Option<(f64, f64)>>,
    /// Per coefficient (index order): kept at its value by every fit.
    pub fixed: Vec<bool>,
    /// The file it came from (kept to write fitted copies).
    pub file: LawFile,
}

impl PowerLaw {
    /// Resolve and validate a law file.
    pub fn from_file(file: LawFile, origin: &Origin) -> Result<PowerLaw> {
        let names: Vec<String> = file.coefficients.keys().cloned().collect();
        let values: Vec<f64> = file.coefficients.values().copied().collect();
        for (n, v) in names.iter().zip(&values) {
            if !v.is_finite() {
                return Err(Error::invalid(origin, format!("coefficients.{n}"), v, "must be a finite number"));
            }
        }
        let index = |field: &str, name: &str| -> Result<usize> {
            names.iter().position(|n| n == name).ok_or_else(|| {
                Error::invalid(
                    origin,
                    field,
                    format!("\"{name}\""),
                    format!("must name a coefficient ({})", names.join(", ")),
                )
            })
        };
        let constant = match &file.form.constant {
            Some(c) => Some(index("form.constant", c)?),
            None => None,
        };
        if file.form.terms.is_empty() {
            return Err(Error::invalid(origin, "form.terms", "[]", "a law needs at least one term"));
        }
        let mut terms = Vec::with_capacity(file.form.terms.len());
        for (i, t) in file.form.terms.iter().enumerate() {
            let coef = index(&format!("form.terms[{i}].coef"), &t.coef)?;
            let mut factors = Vec::new();
            for (var, e) in &t.pow {
                let field = format!("form.terms[{i}].pow.{var}");
                let v = Var::parse(var).ok_or_else(|| {
                    Error::invalid(
                        origin,
                        &field,
                        format!("\"{var}\""),
                        format!(
                            "unknown variable; allowed: {}",
                            super::ALL_VARS.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                let exp = match e {
                    ExponentSpec::Number(x) if x.is_finite() => Exponent::Fixed(*x),
                    ExponentSpec::Number(x) => return Err(Error::invalid(origin, &field, x, "must be finite")),
                    ExponentSpec::Name(s) => {
                        let (sign, name) = match s.strip_prefix('-') {
                            Some(rest) => (-1.0, rest.trim()),
                            None => (1.0, s.trim()),
                        };
                        Exponent::Coef { index: index(&field, name)?, sign }
                    }
                };
                factors.push(Factor { var: v, exp });
            }
            terms.push(Term { coef, factors });
        }
        if let Some(t) = file.tokens {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::invalid(origin, "tokens", t, "must be a positive number of training tokens"));
            }
        }
        let mut bounds = vec![None; names.len()];
        for (name, &[lo, hi]) in &file.bounds {
            let field = format!("bounds.{name}");
            let i = names.iter().position(|n| n == name).ok_or_else(|| {
                Error::invalid(origin, &field, "[…]", format!("must name a coefficient ({})", names.join(", ")))
            })?;
            let shown = format!("[{lo}, {hi}]");
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(Error::invalid(origin, &field, shown, "must be [low, high] with finite low < high"));
            }
            // Multipliers and the constant are fitted in log space: their bounds must be positive.
            let multiplier = constant == Some(i) || terms.iter().any(|t| t.coef == i);
            if multiplier && lo <= 0.0 {
                return Err(Error::invalid(
                    origin,
                    &field,
                    shown,
                    "bounds a multiplier (or the constant), which is fitted in log space: low must be > 0",
                ));
            }
            if !(lo..=hi).contains(&values[i]) {
                return Err(Error::invalid(
                    origin,
                    &field,
                    shown,
                    format!("must contain the coefficient's value {} (coefficients.{name})", values[i]),
                ));
            }
            bounds[i] = Some((lo, hi));
        }
        let mut fixed = vec![false; names.len()];
        for (k, name) in file.fixed.iter().enumerate() {
            let field = format!("fixed[{k}]");
            let i = names.iter().position(|n| n == name).ok_or_else(|| {
                Error::invalid(
                    origin,
                    &field,
                    format!("\"{name}\""),
                    format!("must name a coefficient ({})", names.join(", ")),
                )
            })?;
            if fixed[i] {
                return Err(Error::invalid(origin, &field, format!("\"{name}\""), "listed twice; list each once"));
            }
            if bounds[i].is_some() {
                return Err(Error::invalid(
                    origin,
                    &field,
                    format!("\"{name}\""),
                    format!("is also bounded (bounds.{name}); a fixed coefficient is not fitted, so give it one or the other"),
                ));
            }
            fixed[i] = true;
        }
        Ok(PowerLaw {
            name: file.name.clone(),
            names,
            values,
            constant,
            terms,
            tokens: file.tokens,
            bounds,
            fixed,
            file,
        })
    }

    /// The same law with coefficient `name` set to `value` and fixed (not fitted), as
    /// `colaw fit --fix NAME=VALUE` asks; the file records it in `fixed`. A bound on the
    /// coefficient is dropped (a fixed value needs none).
    pub fn with_fixed(&self, name: &str, value: f64) -> Result<PowerLaw> {
        let o = Origin::default();
        let field = format!("--fix {name}");
        if !self.names.iter().any(|n| n == name) {
            return Err(Error::invalid(
                &o,
                field,
                value,
                format!("names no coefficient of law `{}` ({})", self.name, self.names.join(", ")),
            ));
        }
        if !value.is_finite() {
            return Err(Error::invalid(&o, field, value, "must be a finite number"));
        }
        let mut file = self.file.clone();
        file.coefficients.insert(name.to_string(), value);
        file.bounds.remove(name);
        if !file.fixed.iter().any(|n| n == name) {
            file.fixed.push(name.to_string());
        }
        PowerLaw::from_file(file, &o)
    }

    /// Names of the fixed coefficients, index order.
    pub fn fixed_names(&self) -> Vec<String> {
        self.names.iter().zip(&self.fixed).filter(|(_, f)| **f).map(|(n, _)| n.clone()).collect()
    }

    /// Parse TOML text.
    pub fn from_toml_str(text: &str, origin: &Origin) -> Result<PowerLaw> {
        let file: LawFile =
            toml::from_str(text).map_err(|e| Error::Parse { origin: origin.clone(), message: e.to_string() })?;
        Self::from_file(file, origin)
    }

    /// A copy with new coefficient values (same order as [`PowerLaw::names`]).
    pub fn with_values(&self, values: &[f64]) -> PowerLaw {
        let mut out = self.clone();
        out.values.copy_from_slice(values);
        for (n, v) in out.names.iter().zip(values) {
            out.file.coefficients.insert(n.clone(), *v);
        }
        out
    }

    /// Law file text with the current values.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(&self.file).expect("law file serialises to TOML")
    }

    #[inline]
    fn exponent(&self, e: Exponent) -> f64 {
        match e {
            Exponent::Fixed(x) => x,
            Exponent::Coef { index, sign } => sign * self.values[index],
        }
    }

    /// Value of one term (without summing).
    #[inline]
    pub fn term_value(&self, t: &Term, x: &LawInputs) -> f64 {
        let mut v = self.values[t.coef];
        for f in &t.factors {
            v *= x.get(f.var).powf(self.exponent(f.exp));
        }
        v
    }

    fn constant_value(&self) -> f64 {
        self.constant.map_or(0.0, |i| self.values[i])
    }
}

impl LossLaw for PowerLaw {
    fn name(&self) -> &str {
        &self.name
    }
    fn coefficients(&self) -> Vec<(String, f64)> {
        self.names.iter().cloned().zip(self.values.iter().copied()).collect()
    }
    fn loss(&self, x: &LawInputs) -> f64 {
        self.constant_value() + self.terms.iter().map(|t| self.term_value(t, x)).sum::<f64>()
    }
    fn variables(&self) -> Vec<Var> {
        let mut v: Vec<Var> = self.terms.iter().flat_map(|t| t.factors.iter().map(|f| f.var)).collect();
        v.sort();
        v.dedup();
        v
    }
    fn is_separable(&self) -> bool {
        self.terms.iter().all(|t| t.depth_only() || t.depth_free())
    }
    fn depth_part(&self, layers: f64) -> f64 {
        let mut x = LawInputs::unknown();
        x.set(Var::Layers, layers);
        self.terms.iter().filter(|t| t.depth_only()).map(|t| self.term_value(t, &x)).sum()
    }
    fn width_part(&self, x: &LawInputs) -> f64 {
        self.constant_value()
            + self
                .terms
                .iter()
                .filter(|t| !t.depth_only() && t.depth_free())
                .map(|t| self.term_value(t, x))
                .sum::<f64>()
    }
    fn default_tokens(&self) -> Option<f64> {
        self.tokens
    }
    fn monotone_in(&self) -> Option<Var> {
        let mut var = None;
        for t in &self.terms {
            let coef = self.values[t.coef];
            if t.factors.iter().all(|f| f.var == Var::Tokens) {
                continue; // constant at fixed tokens
            }
            if t.factors.len() != 1 {
                return None;
            }
            let f = t.factors[0];
            if !matches!(f.var, Var::Params | Var::ActiveParams | Var::NonEmbeddingParams) {
                return None;
            }
            if !(self.exponent(f.exp) < 0.0 && coef > 0.0) {
                return None;
            }
            match var {
                None => var = Some(f.var),
                Some(v) if v == f.var => {}
                Some(_) => return None,
            }
        }
        var
    }
    fn with_coefficients(&self, values: &[f64]) -> Result<std::sync::Arc<dyn LossLaw>> {
        if values.len() != self.values.len() {
            return Err(Error::Unsupported(format!(
                "law `{}` has {} coefficients, not {}",
                self.name,
                self.values.len(),
                values.len()
            )));
        }
        Ok(std::sync::Arc::new(self.with_values(values)))
    }
    fn as_power_law(&self) -> Option<&PowerLaw> {
        Some(self)
    }
}

/// Folder holding law files.
pub fn law_dir() -> PathBuf {
    crate::models_dir().join("laws")
}

/// Names of shipped laws (stems), sorted.
pub fn law_names() -> Vec<String> {
    crate::list_stems(&law_dir(), "toml")
}

/// Resolve a law named on the command line: a file path or a name under `models/laws/`.
pub fn load_law(spec: &str) -> Result<PowerLaw> {
    let file = crate::resolve_model_file(spec, "laws", "law")?;
    PowerLaw::from_toml_str(&read_file(&file)?, &Origin::file(file.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_coefficient_in_exponent_named() {
        let t = "name='x'\n[coefficients]\na=1.0\n[form]\n[[form.terms]]\ncoef='a'\npow={layers='-alpha'}\n";
        let e = PowerLaw::from_toml_str(t, &Origin::file("l.toml")).unwrap_err().to_string();
        assert!(e.contains("l.toml") && e.contains("form.terms[0].pow.layers") && e.contains("alpha"), "{e}");
    }

    #[test]
    fn unknown_variable_named() {
        let t = "name='x'\n[coefficients]\na=1.0\n[form]\n[[form.terms]]\ncoef='a'\npow={depthh=1}\n";
        let e = PowerLaw::from_toml_str(t, &Origin::file("l.toml")).unwrap_err().to_string();
        assert!(e.contains("depthh") && e.contains("layers"), "{e}");
    }

    #[test]
    fn roundtrip_keeps_values() {
        let law = load_law("paper").unwrap();
        let back = PowerLaw::from_toml_str(&law.to_toml_string(), &Origin::default()).unwrap();
        assert_eq!(law.values, back.values);
        assert_eq!(law.terms, back.terms);
    }
}
