//! Order statistics, and the F distribution's tail. One quantile definition for the whole
//! crate, so that `loss_p05` means the same in `region.csv`, `front.csv` and the bootstrap
//! intervals.

/// Quantile `q` ∈ [0, 1] of sorted data with linear interpolation between order statistics
/// (numpy's default, Hyndman–Fan type 7): h = (n − 1)·q, x[⌊h⌋] + (h − ⌊h⌋)(x[⌈h⌉] − x[⌊h⌋]).
/// NaN for empty data.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Sort a copy of `values` and take quantile `q` of it.
pub fn quantile_of(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile(&v, q)
}

/// Median (sorts `v` in place); NaN for empty data.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(v, 0.5)
}

/// ln Γ(x) for x > 0: Lanczos' approximation (g = 7, nine terms; relative error below 1e-14
/// over the range the F tail needs), with the reflection-free shift for x < 0.5.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x) = Γ(x + 1) / x keeps the series in its accurate range.
        return ln_gamma(x + 1.0) - x.ln();
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let a = C[1..].iter().enumerate().fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function I_x(a, b) (a, b > 0, x ∈ [0, 1]), by its
/// continued fraction evaluated with the modified Lentz method, on the side of the symmetry
/// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges fast.
pub fn beta_inc_reg(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - beta_inc_reg(b, a, 1.0 - x);
    }
    let ln_front = a * x.ln() + b * (1.0 - x).ln() - (ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b));
    // Lentz: f = 1/(1+ d1/(1+ d2/(1+ …))) with d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and
    // d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
    const TINY: f64 = 1e-300;
    let (mut c, mut d) = (1.0, 1.0 - (a + b) * x / (a + 1.0));
    d = 1.0 / if d.abs() < TINY { TINY } else { d };
    let mut f = d;
    for m in 1..=500 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = 1.0 / if d.abs() < TINY { TINY } else { d };
            c = 1.0 + num / c;
            if c.abs() < TINY {
                c = TINY;
            }
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-15 {
            break;
        }
    }
    (ln_front.exp() * f / a).clamp(0.0, 1.0)
}

/// P(F > f) for F ~ F(d1, d2), the F distribution with d1 and d2 degrees of freedom
/// (d1, d2 > 0; 1 for f ≤ 0): I_{d2/(d2 + d1·f)}(d2/2, d1/2).
pub fn f_survival(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 1.0;
    }
    beta_inc_reg(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0.5, 0.025, 1.0]) = [2.5, 1.075, 4.0]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95) - 4.8).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn ln_gamma_at_known_values() {
        // Γ(1) = Γ(2) = 1, Γ(5) = 24, Γ(1/2) = √π, Γ(10.5) = 1133278.3889487855…
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(10.5) - 1_133_278.388_948_785_5f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.1) - 9.513_507_698_668_732f64.ln()).abs() < 1e-13);
    }

    #[test]
    fn f_tail_against_closed_forms() {
        // d1 = 2: P(F > f) = (1 + 2f/d2)^(−d2/2), exactly.
        for (f, d2) in [(0.5f64, 3.0f64), (1.0, 7.0), (4.0, 10.0), (30.0, 30.0), (0.01, 1.0)] {
            let exact = (1.0 + 2.0 * f / d2).powf(-d2 / 2.0);
            let got = f_survival(f, 2.0, d2);
            assert!((got - exact).abs() < 1e-12 * exact.max(1e-3), "f {f} d2 {d2}: {got} vs {exact}");
        }
        // d1 = d2: the median is 1. F(1, 1) at f: 1 − (2/π)·atan(√f).
        assert!((f_survival(1.0, 9.0, 9.0) - 0.5).abs() < 1e-13);
        let f = 3.0f64;
        let exact = 1.0 - 2.0 / std::f64::consts::PI * f.sqrt().atan();
        assert!((f_survival(f, 1.0, 1.0) - exact).abs() < 1e-12);
        // Tables: F(5, 10) upper 5 % point 3.3258; F(20, 30) upper 1 % point 2.5487.
        assert!((f_survival(3.3258, 5.0, 10.0) - 0.05).abs() < 2e-5);
        assert!((f_survival(2.5487, 20.0, 30.0) - 0.01).abs() < 2e-5);
        assert_eq!(f_survival(0.0, 3.0, 4.0), 1.0);
        assert!(f_survival(1e6, 3.0, 4.0) < 1e-9);
    }
}
