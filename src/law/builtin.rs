//! Closed-form Rust versions of the shipped laws, used to check the law files.

use super::{LawInputs, LossLaw, Var};

/// The paper's Eq. 2:
/// L = κ_l/l^α_l + κ_ρ·ρ^α_ρ/(r^α_r·d^β1) + κ_d/(r^α_r·d^β2) + κ_m/d_m^α_m + L_inf.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(missing_docs)]
pub struct PaperLaw {
    pub kappa_l: f64,
    pub alpha_l: f64,
    pub kappa_rho: f64,
    pub alpha_rho: f64,
    pub beta1: f64,
    pub kappa_d: f64,
    pub beta2: f64,
    pub alpha_r: f64,
    pub kappa_m: f64,
    pub alpha_m: f64,
    pub l_inf: f64,
}

impl PaperLaw {
    /// Table 6 coefficients (fitted at 10 B training tokens).
    pub fn table6() -> Self {
        PaperLaw {
            kappa_l: 9.96,
            alpha_l: 1.63,
            kappa_rho: 0.031,
            alpha_rho: 1.09,
            beta1: -0.33,
            kappa_d: 500.0,
            beta2: 0.97,
            alpha_r: 0.17,
            kappa_m: 0.20,
            alpha_m: 0.05,
            l_inf: 2.53,
        }
    }
}

impl LossLaw for PaperLaw {
    fn name(&self) -> &str {
        "paper-builtin"
    }
    fn coefficients(&self) -> Vec<(String, f64)> {
        [
            ("kappa_l", self.kappa_l),
            ("alpha_l", self.alpha_l),
            ("kappa_rho", self.kappa_rho),
            ("alpha_rho", self.alpha_rho),
            ("beta1", self.beta1),
            ("kappa_d", self.kappa_d),
            ("beta2", self.beta2),
            ("alpha_r", self.alpha_r),
            ("kappa_m", self.kappa_m),
            ("alpha_m", self.alpha_m),
            ("L_inf", self.l_inf),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), *v))
        .collect()
    }
    fn loss(&self, x: &LawInputs) -> f64 {
        self.depth_part(x.get(Var::Layers)) + self.width_part(x)
    }
    fn variables(&self) -> Vec<Var> {
        vec![Var::Layers, Var::Hidden, Var::FfnRatio, Var::Rho, Var::DM]
    }
    fn is_separable(&self) -> bool {
        true
    }
    fn depth_part(&self, l: f64) -> f64 {
        self.kappa_l / l.powf(self.alpha_l)
    }
    fn width_part(&self, x: &LawInputs) -> f64 {
        let (d, r, rho, dm) = (x.get(Var::Hidden), x.get(Var::FfnRatio), x.get(Var::Rho), x.get(Var::DM));
        let ra = r.powf(self.alpha_r);
        self.kappa_rho * rho.powf(self.alpha_rho) / (ra * d.powf(self.beta1))
            + self.kappa_d / (ra * d.powf(self.beta2))
            + self.kappa_m / dm.powf(self.alpha_m)
            + self.l_inf
    }
    fn default_tokens(&self) -> Option<f64> {
        Some(1e10)
    }
}

/// Chinchilla: L(N, D) = E + A/N^α + B/D^β with N total parameters, D training tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(missing_docs)]
pub struct ChinchillaLaw {
    pub e: f64,
    pub a: f64,
    pub b: f64,
    pub alpha: f64,
    pub beta: f64,
}

impl ChinchillaLaw {
    /// Hoffmann et al. 2022 (approach 3) values.
    pub fn hoffmann() -> Self {
        ChinchillaLaw { e: 1.69, a: 406.4, b: 410.7, alpha: 0.34, beta: 0.28 }
    }
}

impl LossLaw for ChinchillaLaw {
    fn name(&self) -> &str {
        "chinchilla-builtin"
    }
    fn coefficients(&self) -> Vec<(String, f64)> {
        [("E", self.e), ("A", self.a), ("B", self.b), ("alpha", self.alpha), ("beta", self.beta)]
            .iter()
            .map(|(n, v)| (n.to_string(), *v))
            .collect()
    }
    fn loss(&self, x: &LawInputs) -> f64 {
        self.e + self.a / x.get(Var::Params).powf(self.alpha) + self.b / x.get(Var::Tokens).powf(self.beta)
    }
    fn variables(&self) -> Vec<Var> {
        vec![Var::Params, Var::Tokens]
    }
}
