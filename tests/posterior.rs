//! The posterior of `colaw::law::posterior`: exact where the answer is known in closed form,
//! nominal interval coverage on synthetic data with known coefficients, and samples that the
//! region reads through the bootstrap's CSV schema.

use colaw::law::bootstrap::{bootstrap, write_samples, BootstrapOptions};
use colaw::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use colaw::law::posterior::{posterior, PosteriorMethod, PosteriorOptions, Prior};
use colaw::law::samples::read_coefficient_samples;
use colaw::law::{load_law, LawInputs, LossLaw, Observations, PowerLaw, Var};
use colaw::util::rng::mix_seed;
use colaw::Error;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// L = A·N^−alpha: log L = log A − alpha·log N is linear in θ = (log A, alpha), so with a
/// Gaussian prior and a known noise level the posterior is Gaussian in closed form.
fn one_term_law() -> PowerLaw {
    let text = r#"
name = "one-term"
[coefficients]
A = 20.0
alpha = 0.1
[form]
[[form.terms]]
coef = "A"
pow = { params = "-alpha" }
"#;
    PowerLaw::from_toml_str(text, &colaw::error::Origin::default()).unwrap()
}

fn obs_params(ns: &[f64], loss: &[f64]) -> Observations {
    let inputs = ns
        .iter()
        .map(|&n| {
            let mut x = LawInputs::unknown();
            x.set(Var::Params, n);
            x
        })
        .collect();
    Observations::new(inputs, loss.to_vec())
}

/// Mean and covariance of 2-vectors.
fn moments(v: &[[f64; 2]]) -> ([f64; 2], [[f64; 2]; 2]) {
    let n = v.len() as f64;
    let m = [v.iter().map(|x| x[0]).sum::<f64>() / n, v.iter().map(|x| x[1]).sum::<f64>() / n];
    let mut c = [[0.0; 2]; 2];
    for x in v {
        for p in 0..2 {
            for q in 0..2 {
                c[p][q] += (x[p] - m[p]) * (x[q] - m[q]) / (n - 1.0);
            }
        }
    }
    (m, c)
}

#[test]
fn linear_law_matches_the_closed_form_posterior() {
    let law = one_term_law();
    let model = LseModel::new(&law).unwrap();
    assert_eq!(model.names(), ["A", "alpha"]);
    // Three rows, two coefficients: the prior still matters (its precision is comparable to the
    // data's along the badly determined direction).
    let ns: [f64; 3] = [1e8, 3e8, 2e9];
    let sigma = 0.02; // noise sd of log loss, known (ν₀ huge)
    let truth = [20.0f64, 0.1];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let loss: Vec<f64> = ns
        .iter()
        .map(|&n| {
            let z: f64 = StandardNormal.sample(&mut rng);
            truth[0] * n.powf(-truth[1]) * (sigma * z).exp()
        })
        .collect();
    let obs = obs_params(&ns, &loss);
    let fitter =
        Fitter::new(&model, &obs, FitOptions { starts: Starts::Lhs(20), cv_folds: 0, ..Default::default() }).unwrap();
    let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values))).unwrap();
    let base = PosteriorOptions {
        samples: 6000,
        seed: 3,
        rel_sd: 0.5,
        exponent_floor: 0.05,
        noise_sd: sigma,
        noise_dof: 1e9,
        ..Default::default()
    };
    let prior = Prior::around(model.kinds(), &law.values, &base).unwrap();
    // Hand-worked conjugate posterior: H = XᵀX/σ² + diag(1/s²), mean = H⁻¹(Xᵀy/σ² + diag(1/s²)μ),
    // rows x_i = (1, −ln N_i).
    assert!((prior.sd[0] - 0.5).abs() < 1e-15 && (prior.sd[1] - 0.5 * 0.1).abs() < 1e-15);
    let mut h = [[1.0 / (prior.sd[0] * prior.sd[0]), 0.0], [0.0, 1.0 / (prior.sd[1] * prior.sd[1])]];
    let mut rhs = [prior.mean[0] * h[0][0], prior.mean[1] * h[1][1]];
    for (&n, &l) in ns.iter().zip(&loss) {
        let x = [1.0, -n.ln()];
        for p in 0..2 {
            for q in 0..2 {
                h[p][q] += x[p] * x[q] / (sigma * sigma);
            }
            rhs[p] += x[p] * l.ln() / (sigma * sigma);
        }
    }
    let det = h[0][0] * h[1][1] - h[0][1] * h[1][0];
    let cov = [[h[1][1] / det, -h[0][1] / det], [-h[1][0] / det, h[0][0] / det]];
    let mean = [cov[0][0] * rhs[0] + cov[0][1] * rhs[1], cov[1][0] * rhs[0] + cov[1][1] * rhs[1]];
    for method in [PosteriorMethod::Laplace, PosteriorMethod::Randomized] {
        let (b, map) = posterior(&fitter, &fit, &law.values, &PosteriorOptions { method, ..base }).unwrap();
        assert!(
            (map.theta[0] - mean[0]).abs() < 1e-6 * mean[0].abs().max(1.0),
            "{method:?}: MAP {:?} vs {mean:?}",
            map.theta
        );
        assert!((map.theta[1] - mean[1]).abs() < 1e-6, "{method:?}: MAP {:?} vs {mean:?}", map.theta);
        assert_eq!(b.samples.len(), 6000);
        let th: Vec<[f64; 2]> = b.samples.iter().map(|s| [s[0].ln(), s[1]]).collect();
        let (m, c) = moments(&th);
        for p in 0..2 {
            let se = (cov[p][p] / 6000.0).sqrt();
            assert!((m[p] - mean[p]).abs() < 4.0 * se, "{method:?}: mean[{p}] {} vs {} (se {se})", m[p], mean[p]);
            // Sample variance of 6000 normal draws: relative sd √(2/5999) ≈ 1.8 %.
            assert!((c[p][p] / cov[p][p] - 1.0).abs() < 0.08, "{method:?}: var[{p}] {} vs {}", c[p][p], cov[p][p]);
        }
        let rho = c[0][1] / (c[0][0] * c[1][1]).sqrt();
        let rho0 = cov[0][1] / (cov[0][0] * cov[1][1]).sqrt();
        assert!((rho - rho0).abs() < 0.03, "{method:?}: correlation {rho} vs {rho0}");
    }
}

/// Chinchilla-form data sets with the truth drawn from the prior: 95 % intervals must cover it
/// at the nominal rate within binomial tolerance (the plain bootstrap misses far more often at
/// n = 2k, which this test also shows).
#[test]
fn intervals_cover_the_truth_at_the_nominal_rate() {
    let law = load_law("chinchilla").unwrap();
    let model = LseModel::new(&law).unwrap();
    let k = law.values.len();
    let n = 2 * k;
    let opts = PosteriorOptions { samples: 300, rel_sd: 0.3, ..Default::default() };
    let (mut covered, mut total, mut boot_covered) = (0usize, 0usize, 0usize);
    for ds in 0..40u64 {
        let s = mix_seed(11, ds);
        let mut rng = rand::rngs::StdRng::seed_from_u64(s);
        let truth: Vec<f64> = law
            .values
            .iter()
            .map(|v| {
                let z: f64 = StandardNormal.sample(&mut rng);
                v * (opts.rel_sd * z).exp()
            })
            .collect();
        let tl = law.with_values(&truth);
        let inputs: Vec<LawInputs> = (0..n)
            .map(|_| {
                let mut x = LawInputs::unknown();
                x.set(Var::Params, (rng.random::<f64>() * (1.6e10f64 / 7e7).ln()).exp() * 7e7);
                x.set(Var::Tokens, (rng.random::<f64>() * 100f64.ln()).exp() * 5e9);
                x
            })
            .collect();
        let loss: Vec<f64> = inputs
            .iter()
            .map(|x| {
                let z: f64 = StandardNormal.sample(&mut rng);
                tl.loss(x) + 0.01 * z
            })
            .collect();
        let obs = Observations::new(inputs, loss);
        let fitter = Fitter::new(
            &model,
            &obs,
            FitOptions { starts: Starts::Lhs(100), cv_folds: 0, seed: s, ..Default::default() },
        )
        .unwrap();
        let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values))).unwrap();
        let (b, _) = posterior(&fitter, &fit, &law.values, &PosteriorOptions { seed: s, ..opts }).unwrap();
        let bo = bootstrap(&fitter, &fit, &BootstrapOptions { resamples: 100, seed: s, ..Default::default() }, None);
        for (c, t) in truth.iter().enumerate() {
            let inside = |(lo, hi): (f64, f64)| lo <= *t && *t <= hi;
            covered += inside(b.ci95[c]) as usize;
            boot_covered += inside(bo.ci95[c]) as usize;
            total += 1;
        }
    }
    let rate = covered as f64 / total as f64;
    // 200 intervals at p = 0.95: sd 1.5 %; ±3 sd (intervals of one data set are correlated, so
    // this is a loose band; a method that ignores the noise's uncertainty falls below it).
    assert!((0.90..=0.995).contains(&rate), "posterior coverage {covered}/{total} = {rate:.3}");
    let boot = boot_covered as f64 / total as f64;
    assert!(boot < rate, "bootstrap coverage {boot:.3} is not below the posterior's {rate:.3}");
}

#[test]
fn samples_are_read_through_the_bootstrap_schema() {
    let law = load_law("chinchilla").unwrap();
    let model = LseModel::new(&law).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let inputs: Vec<LawInputs> = (0..8)
        .map(|_| {
            let mut x = LawInputs::unknown();
            x.set(Var::Params, (rng.random::<f64>() * 5.0).exp() * 1e8);
            x.set(Var::Tokens, (rng.random::<f64>() * 4.0).exp() * 1e10);
            x
        })
        .collect();
    let loss: Vec<f64> = inputs.iter().map(|x| law.loss(x)).collect();
    let obs = Observations::new(inputs, loss);
    let fitter =
        Fitter::new(&model, &obs, FitOptions { starts: Starts::Lhs(20), cv_folds: 0, ..Default::default() }).unwrap();
    let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values))).unwrap();
    for method in [PosteriorMethod::Laplace, PosteriorMethod::Randomized] {
        let po = PosteriorOptions { method, samples: 30, seed: 9, ..Default::default() };
        let (b, _) = posterior(&fitter, &fit, &law.values, &po).unwrap();
        let (b2, _) = posterior(&fitter, &fit, &law.values, &po).unwrap();
        assert_eq!(b.samples, b2.samples, "same seed, same samples");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("samples.csv");
        write_samples(&p, &b).unwrap();
        let read = read_coefficient_samples(&p, &law).unwrap();
        assert_eq!(read.len(), b.samples.len());
        for (r, s) in read.iter().zip(&b.samples) {
            for (x, y) in r.iter().zip(s) {
                assert!((x - y).abs() <= 1e-14 * y.abs(), "{x} vs {y}");
            }
        }
        // Noise-free data: the truth is the law file's values; every sample is finite and the
        // intervals contain it.
        for (c, v) in law.values.iter().enumerate() {
            assert!(b.ci95[c].0 <= *v && *v <= b.ci95[c].1, "{method:?}: {} {:?} misses {v}", law.names[c], b.ci95[c]);
        }
    }
}

#[test]
fn bad_options_are_refused_with_the_field_named() {
    let bad = [
        (PosteriorOptions { samples: 1, ..Default::default() }, "samples"),
        (PosteriorOptions { rel_sd: 0.0, ..Default::default() }, "rel_sd"),
        (PosteriorOptions { noise_sd: f64::NAN, ..Default::default() }, "noise_sd"),
        (PosteriorOptions { noise_dof: -1.0, ..Default::default() }, "noise_dof"),
    ];
    for (o, field) in bad {
        let e: Error = o.validate().unwrap_err();
        assert!(e.to_string().contains(field), "{e}");
    }
    let law = load_law("chinchilla").unwrap();
    let model = LseModel::new(&law).unwrap();
    let mut v = law.values.clone();
    v[0] = -1.0; // A (a multiplier) must be positive
    assert!(Prior::around(model.kinds(), &v, &PosteriorOptions::default()).is_err());
}

/// A bound is a hard prior: Laplace draws outside it are drawn again. With the mode on the
/// bound of a law that is linear in θ, the bounded coordinate's samples are the half-normal
/// below it: mean bound − s·√(2/π), sd s·√(1 − 2/π), s² the Gaussian's variance there.
#[test]
fn laplace_samples_respect_a_bound_as_a_truncated_gaussian() {
    let ns: [f64; 3] = [1e8, 3e8, 2e9];
    let sigma = 0.02;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let loss: Vec<f64> = ns
        .iter()
        .map(|&n| {
            let z: f64 = StandardNormal.sample(&mut rng);
            20.0 * n.powf(-0.1) * (sigma * z).exp()
        })
        .collect();
    let obs = obs_params(&ns, &loss);
    // The data put alpha near 0.1; the bound (and the prior's centre) hold it at or below 0.08.
    let hi = 0.08;
    let law = PowerLaw::from_toml_str(
        &format!(
            "name = \"one-term-bounded\"\n[coefficients]\nA = 20.0\nalpha = {hi}\n[bounds]\nalpha = [0.0, {hi}]\n\
             [form]\n[[form.terms]]\ncoef = \"A\"\npow = {{ params = \"-alpha\" }}\n"
        ),
        &colaw::error::Origin::default(),
    )
    .unwrap();
    let model = LseModel::new(&law).unwrap();
    let fitter =
        Fitter::new(&model, &obs, FitOptions { starts: Starts::Lhs(20), cv_folds: 0, ..Default::default() }).unwrap();
    let fit = fitter.fit(Some(&to_theta(model.kinds(), &[20.0, 0.07]))).unwrap();
    let opts = PosteriorOptions {
        samples: 6000,
        seed: 5,
        rel_sd: 0.5,
        exponent_floor: 0.05,
        noise_sd: sigma,
        noise_dof: 1e9,
        ..Default::default()
    };
    let (b, map) = posterior(&fitter, &fit, &law.values, &opts).unwrap();
    assert_eq!(map.theta[1], hi, "the mode sits on the bound");
    let alpha: Vec<f64> = b.samples.iter().map(|s| s[1]).collect();
    assert!(alpha.iter().all(|&a| (0.0..=hi).contains(&a)), "a draw left the bounds");
    // The Gaussian's variance of alpha: (H⁻¹)₁₁ with H = XᵀX/σ² + diag(1/s²), x_i = (1, −ln N_i).
    let prior = Prior::around(model.kinds(), &law.values, &opts).unwrap();
    let mut h = [[1.0 / (prior.sd[0] * prior.sd[0]), 0.0], [0.0, 1.0 / (prior.sd[1] * prior.sd[1])]];
    for &n in &ns {
        let x = [1.0, -n.ln()];
        for p in 0..2 {
            for q in 0..2 {
                h[p][q] += x[p] * x[q] / (sigma * sigma);
            }
        }
    }
    let s = (h[0][0] / (h[0][0] * h[1][1] - h[0][1] * h[1][0])).sqrt();
    let two_over_pi = 2.0 / std::f64::consts::PI;
    let (mean_want, sd_want) = (hi - s * two_over_pi.sqrt(), s * (1.0 - two_over_pi).sqrt());
    let m = alpha.iter().sum::<f64>() / alpha.len() as f64;
    let sd = (alpha.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (alpha.len() - 1) as f64).sqrt();
    let se = sd_want / (alpha.len() as f64).sqrt();
    assert!((m - mean_want).abs() < 4.0 * se, "mean {m} vs half-normal {mean_want} (se {se})");
    assert!((sd / sd_want - 1.0).abs() < 0.06, "sd {sd} vs half-normal {sd_want}");
}
