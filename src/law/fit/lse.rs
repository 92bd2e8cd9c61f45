//! [`LseModel`]: every [`PowerLaw`] as a [`FitModel`], in log-sum-exp form, with the
//! lane-parallel (LANES rows at a time) kernel of the objective and its gradient.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) struct LseTerm {
    pub(super) coef: usize,
    pub(super) f0: usize,
    pub(super) f1: usize,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct LseFactor {
    pub(super) feat: usize,
    pub(super) exp: Exponent,
}

/// A [`PowerLaw`] compiled for fitting in log-sum-exp form.
#[derive(Debug, Clone)]
pub struct LseModel {
    pub(super) names: Vec<String>,
    pub(super) kinds: Vec<CoefKind>,
    pub(super) vars: Vec<Var>,
    pub(super) constant: Option<usize>,
    pub(super) terms: Vec<LseTerm>,
    pub(super) factors: Vec<LseFactor>,
    pub(super) bounds: Vec<Option<(f64, f64)>>,
}

impl LseModel {
    /// Compile a law; refuses forms the log-sum-exp fit cannot represent.
    pub fn new(law: &PowerLaw) -> Result<LseModel> {
        let o = Origin::default();
        let n = law.names.len();
        let nfac: usize = law.terms.iter().map(|t| t.factors.len()).sum();
        if n > MAX_PARAMS || law.terms.len() + 1 > MAX_TERMS || nfac > MAX_FACTORS {
            return Err(Error::Unsupported(format!(
                "law `{}` has {} coefficients, {} terms and {nfac} factors; fitting supports at most {MAX_PARAMS}, {} and {MAX_FACTORS}",
                law.name,
                n,
                law.terms.len(),
                MAX_TERMS - 1
            )));
        }
        let mut kinds: Vec<Option<CoefKind>> = vec![None; n];
        let mut set = |i: usize, k: CoefKind| -> Result<()> {
            match kinds[i] {
                Some(old) if (old == CoefKind::Exponent) != (k == CoefKind::Exponent) => Err(Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "is used both as a multiplier and as an exponent; the log-sum-exp fit needs each coefficient to be one or the other",
                )),
                Some(CoefKind::Constant) => Ok(()),
                _ => {
                    kinds[i] = Some(k);
                    Ok(())
                }
            }
        };
        if let Some(c) = law.constant {
            set(c, CoefKind::Constant)?;
        }
        let mut vars: Vec<Var> = Vec::new();
        let mut terms = Vec::new();
        let mut factors = Vec::new();
        for t in &law.terms {
            set(t.coef, CoefKind::Scale)?;
            let f0 = factors.len();
            for f in &t.factors {
                if let Exponent::Coef { index, .. } = f.exp {
                    set(index, CoefKind::Exponent)?;
                }
                let feat = match vars.iter().position(|v| *v == f.var) {
                    Some(i) => i,
                    None => {
                        vars.push(f.var);
                        vars.len() - 1
                    }
                };
                factors.push(LseFactor { feat, exp: f.exp });
            }
            terms.push(LseTerm { coef: t.coef, f0, f1: factors.len() });
        }
        let mut out_kinds = Vec::with_capacity(n);
        for (i, k) in kinds.into_iter().enumerate() {
            let k = k.ok_or_else(|| {
                Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "is not used by any term, so data cannot determine it; remove it from the law file",
                )
            })?;
            if k.is_log() && law.values[i] <= 0.0 {
                return Err(Error::invalid(
                    &o,
                    format!("coefficients.{}", law.names[i]),
                    law.values[i],
                    "multiplies a term (or is the constant) and must be positive: the log-sum-exp fit keeps every term positive",
                ));
            }
            out_kinds.push(k);
        }
        // Bounds in θ units: logs for multipliers. A fixed coefficient is the degenerate
        // bound [θ, θ]: the optimiser's coordinate for it then has no effect and no gradient.
        let bounds = law
            .bounds
            .iter()
            .zip(&out_kinds)
            .zip(law.fixed.iter().zip(&law.values))
            .map(|((b, k), (&fixed, &v))| {
                let theta = |x: f64| if k.is_log() { x.ln() } else { x };
                if fixed {
                    Some((theta(v), theta(v)))
                } else {
                    b.map(|(lo, hi)| (theta(lo), theta(hi)))
                }
            })
            .collect();
        Ok(LseModel {
            names: law.names.clone(),
            kinds: out_kinds,
            vars,
            constant: law.constant,
            terms,
            factors,
            bounds,
        })
    }

    #[inline(always)]
    pub(super) fn exponent(e: Exponent, theta: &[f64]) -> f64 {
        match e {
            Exponent::Fixed(x) => x,
            Exponent::Coef { index, sign } => sign * theta[index],
        }
    }

    #[inline(always)]
    pub(super) fn logits(&self, theta: &[f64], lnx: &[f64], z: &mut [f64; MAX_TERMS]) -> usize {
        for (t, term) in self.terms.iter().enumerate() {
            let mut s = theta[term.coef];
            for f in &self.factors[term.f0..term.f1] {
                s += Self::exponent(f.exp, theta) * lnx[f.feat];
            }
            z[t] = s;
        }
        let mut nt = self.terms.len();
        if let Some(c) = self.constant {
            z[nt] = theta[c];
            nt += 1;
        }
        nt
    }
}

impl LseModel {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn kernel_avx2(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64 {
        self.kernel::<fastmath::Fused>(theta, data, delta, grad)
    }

    #[inline(always)]
    #[allow(clippy::needless_range_loop)]
    pub(super) fn kernel<A: fastmath::MulAdd>(
        &self,
        theta: &[f64],
        data: &Compact,
        delta: f64,
        grad: &mut [f64],
    ) -> f64 {
        const L: usize = LANES;
        let nt = self.terms.len() + usize::from(self.constant.is_some());
        let nfac = self.factors.len();
        // Per-evaluation constants: term biases, factor exponents.
        let mut b = [0.0f64; MAX_TERMS];
        let mut fe = [0.0f64; MAX_FACTORS];
        for (t, term) in self.terms.iter().enumerate() {
            b[t] = theta[term.coef];
        }
        if let Some(c) = self.constant {
            b[nt - 1] = theta[c];
        }
        for (f, fac) in self.factors.iter().enumerate() {
            fe[f] = Self::exponent(fac.exp, theta);
        }
        let np = data.n;
        let mut gb = [[0.0f64; L]; MAX_TERMS];
        let mut gf = [[0.0f64; L]; MAX_FACTORS];
        let mut jl = [0.0f64; L];
        let mut z = [[0.0f64; L]; MAX_TERMS];
        for base in (0..np).step_by(L) {
            let y: &[f64; L] = data.y[base..base + L].try_into().unwrap();
            let w: &[f64; L] = data.w[base..base + L].try_into().unwrap();
            for (t, term) in self.terms.iter().enumerate() {
                let mut v = [b[t]; L];
                for f in term.f0..term.f1 {
                    let feat = self.factors[f].feat;
                    let x: &[f64; L] = data.x[feat * np + base..feat * np + base + L].try_into().unwrap();
                    for l in 0..L {
                        v[l] += fe[f] * x[l];
                    }
                }
                z[t] = v;
            }
            if self.constant.is_some() {
                z[nt - 1] = [b[nt - 1]; L];
            }
            let mut m = [f64::NEG_INFINITY; L];
            for zt in &z[..nt] {
                for l in 0..L {
                    m[l] = m[l].max(zt[l]);
                }
            }
            let mut s = [0.0f64; L];
            for zt in &mut z[..nt] {
                for l in 0..L {
                    zt[l] = fastmath::exp_neg::<A>(zt[l] - m[l]);
                    s[l] += zt[l];
                }
            }
            // Each step a separate 4-lane loop: the compiler turns each into vector code.
            let mut r = [0.0f64; L];
            for l in 0..L {
                r[l] = m[l] + fastmath::ln_pos::<A>(s[l]) - y[l];
            }
            let mut c = [0.0f64; L];
            for l in 0..L {
                // Huber: r²/2 inside [−δ, δ], δ(|r| − δ/2) outside; ψ = clamp(r, −δ, δ).
                let psi = r[l].clamp(-delta, delta);
                let h = psi * (r[l] - 0.5 * psi);
                jl[l] += w[l] * h;
                c[l] = w[l] * psi / s[l];
            }
            for (t, term) in self.terms.iter().enumerate() {
                let mut g = [0.0f64; L];
                for l in 0..L {
                    g[l] = c[l] * z[t][l];
                    gb[t][l] += g[l];
                }
                for f in term.f0..term.f1 {
                    let feat = self.factors[f].feat;
                    let x: &[f64; L] = data.x[feat * np + base..feat * np + base + L].try_into().unwrap();
                    for l in 0..L {
                        gf[f][l] += g[l] * x[l];
                    }
                }
            }
            if self.constant.is_some() {
                for l in 0..L {
                    gb[nt - 1][l] += c[l] * z[nt - 1][l];
                }
            }
        }
        grad.fill(0.0);
        for (t, term) in self.terms.iter().enumerate() {
            grad[term.coef] += gb[t].iter().sum::<f64>();
        }
        for (f, fac) in self.factors[..nfac].iter().enumerate() {
            if let Exponent::Coef { index, sign } = fac.exp {
                grad[index] += sign * gf[f].iter().sum::<f64>();
            }
        }
        if let Some(c) = self.constant {
            grad[c] += gb[nt - 1].iter().sum::<f64>();
        }
        jl.iter().sum()
    }
}

impl FitModel for LseModel {
    fn names(&self) -> &[String] {
        &self.names
    }
    fn kinds(&self) -> &[CoefKind] {
        &self.kinds
    }
    fn bounds(&self) -> Vec<Option<(f64, f64)>> {
        self.bounds.clone()
    }
    fn feature_vars(&self) -> &[Var] {
        &self.vars
    }
    fn exponent_features(&self, coef: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .factors
            .iter()
            .filter(|f| matches!(f.exp, Exponent::Coef { index, .. } if index == coef))
            .map(|f| f.feat)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[inline]
    fn log_pred(&self, theta: &[f64], lnx: &[f64], grad: &mut [f64]) -> f64 {
        let mut z = [0.0f64; MAX_TERMS];
        let nt = self.logits(theta, lnx, &mut z);
        let m = z[..nt].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for zt in &mut z[..nt] {
            *zt = (*zt - m).exp();
            s += *zt;
        }
        let inv = 1.0 / s;
        grad.fill(0.0);
        for (t, term) in self.terms.iter().enumerate() {
            let w = z[t] * inv;
            grad[term.coef] += w;
            for f in &self.factors[term.f0..term.f1] {
                if let Exponent::Coef { index, sign } = f.exp {
                    grad[index] += w * sign * lnx[f.feat];
                }
            }
        }
        if let Some(c) = self.constant {
            grad[c] += z[self.terms.len()] * inv;
        }
        m + s.ln()
    }

    /// The LSE kernel: exponents do not depend on the row, so they are resolved once per
    /// evaluation; rows are processed in blocks of [`LANES`] with branch-free exp/ln so that the
    /// compiler vectorises across rows (AVX2 when the CPU has it); the gradient is accumulated
    /// per term and per factor and mapped to θ once at the end.
    fn objective(&self, theta: &[f64], data: &Compact, delta: f64, grad: &mut [f64]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { self.kernel_avx2(theta, data, delta, grad) };
            }
        }
        self.kernel::<fastmath::Plain>(theta, data, delta, grad)
    }

    fn term_variables(&self, coef: usize) -> Vec<Var> {
        let mut v: Vec<Var> = self
            .terms
            .iter()
            .filter(|t| t.coef == coef)
            .flat_map(|t| self.factors[t.f0..t.f1].iter().map(|f| self.vars[f.feat]))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn term_weights(&self, theta: &[f64], lnx: &[f64]) -> Vec<(usize, f64)> {
        let mut z = [0.0f64; MAX_TERMS];
        let nt = self.logits(theta, lnx, &mut z);
        let m = z[..nt].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = z[..nt].iter().map(|v| (v - m).exp()).sum();
        let mut out: Vec<(usize, f64)> =
            self.terms.iter().enumerate().map(|(t, term)| (term.coef, (z[t] - m).exp() / s)).collect();
        if let Some(c) = self.constant {
            out.push((c, (z[self.terms.len()] - m).exp() / s));
        }
        out
    }
}
