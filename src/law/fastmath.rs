//! Branch-free `exp` and `ln` for the fitting kernel, written so that the compiler vectorises
//! them over rows (4 lanes with AVX2, 2 with SSE2). Both are accurate to a few ulp over the
//! ranges the kernel uses (exp on [−700, 0], ln on normal positive numbers); a test checks
//! them against the standard library.

const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split (fdlibm): the high part has trailing zero bits so k·LN2_HI is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5·2^52: adding it rounds to an integer held in the low mantissa bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// Multiply-add: fused (one rounding, needs the FMA instructions) or plain.
pub trait MulAdd {
    /// a·b + c.
    fn mad(a: f64, b: f64, c: f64) -> f64;
}

/// a·b + c with two roundings (any CPU).
pub struct Plain;
/// a·b + c fused; only for code compiled with the `fma` target feature.
pub struct Fused;

impl MulAdd for Plain {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

impl MulAdd for Fused {
    #[inline(always)]
    fn mad(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// 1/k! for k = 0..=13.
const EXP_TAYLOR: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];
/// 1/(2k+1) for k = 0..=11.
const ATANH_SERIES: [f64; 12] = [
    1.0,
    1.0 / 3.0,
    1.0 / 5.0,
    1.0 / 7.0,
    1.0 / 9.0,
    1.0 / 11.0,
    1.0 / 13.0,
    1.0 / 15.0,
    1.0 / 17.0,
    1.0 / 19.0,
    1.0 / 21.0,
    1.0 / 23.0,
];

/// e^x for x ≤ 0 (inputs below −700 are clamped there: the result, ~1e−304, is negligible next
/// to the 1 that the log-sum-exp always contains).
#[inline(always)]
pub fn exp_neg<A: MulAdd>(x: f64) -> f64 {
    let x = x.max(-700.0);
    let kd = x * LOG2E + SHIFT;
    let ki = kd.to_bits();
    let k = kd - SHIFT;
    let r = x - k * LN2_HI - k * LN2_LO;
    // e^r on |r| ≤ ln2/2 by its Taylor polynomial to degree 13 (truncation < 1e-17), Horner.
    let mut p = EXP_TAYLOR[13];
    for c in EXP_TAYLOR[..13].iter().rev() {
        p = A::mad(p, r, *c);
    }
    let scale = f64::from_bits(ki.wrapping_add(1023) << 52);
    p * scale
}

/// ln x for a positive normal x.
#[inline(always)]
pub fn ln_pos<A: MulAdd>(x: f64) -> f64 {
    let bits = x.to_bits();
    // Exponent as a float without an int→float conversion: 2^52 + e_biased, minus the bias.
    let e = f64::from_bits(0x4330_0000_0000_0000 | (bits >> 52)) - (4_503_599_627_370_496.0 + 1023.0);
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000); // [1, 2)
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = if big { e + 1.0 } else { e };
    // ln m = 2 atanh(u), u = (m−1)/(m+1), |u| ≤ 0.1716: odd series to u^23 (truncation < 1e-18).
    let u = (m - 1.0) / (m + 1.0);
    let u2 = u * u;
    let mut s = ATANH_SERIES[11];
    for c in ATANH_SERIES[..11].iter().rev() {
        s = A::mad(s, u2, *c);
    }
    e * LN2_HI + (e * LN2_LO + 2.0 * u * s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std() {
        let mut worst = 0.0f64;
        for k in 0..200_000 {
            let x = -(k as f64) * 3.5e-3 - (k % 7) as f64 * 1e-5;
            let (a, b) = (exp_neg::<Plain>(x), x.exp());
            let f = exp_neg::<Fused>(x);
            if b > 1e-300 {
                worst = worst.max((f / b - 1.0).abs());
            }
            if b > 1e-300 {
                worst = worst.max((a / b - 1.0).abs());
            }
        }
        assert!(worst < 5e-16, "{worst:e}");
        assert_eq!(exp_neg::<Plain>(0.0), 1.0);
        assert!(exp_neg::<Plain>(-1e6) < 1e-300 && exp_neg::<Plain>(-1e6) >= 0.0);
    }

    #[test]
    fn ln_matches_std() {
        let mut worst = 0.0f64;
        for k in 1..200_000 {
            let x = 1.0 + k as f64 * 1.7e-4 + (k % 13) as f64 * 1e-9;
            for y in [x, 1.0 / x, x * 1e10] {
                let (a, b) = (ln_pos::<Plain>(y), y.ln());
                worst = worst.max((ln_pos::<Fused>(y) - b).abs() / b.abs().max(1e-300));
                worst = worst.max((a - b).abs() / b.abs().max(1e-300));
            }
        }
        assert!(worst < 5e-16, "{worst:e}");
        assert_eq!(ln_pos::<Plain>(1.0), 0.0);
    }
}
