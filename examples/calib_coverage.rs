//! Coverage of coefficient 95 % intervals on synthetic data with known coefficients (issue 17:
//! "cover the truth 93–97 % of the time at n = k + 1, 2k and 4k rows, for the paper law and
//! Chinchilla"), for the plain bootstrap and the posterior of `colaw::law::posterior`.
//!
//! Each data set: a true law drawn around the law file's values (every coefficient v →
//! v·exp(`truth_scale`·z), z ~ N(0, 1): the same draw as the calibration benchmark's), n
//! designs (paper law: a Latin hypercube over the feasible designs of the Table 5 space on a
//! Jetson Orin NX 16GB at 20 ms/token; Chinchilla: N and D log-uniform over Chinchilla's range),
//! loss = true loss + N(0, σ²). The fit is the loop's (LHS starts plus the law file's values,
//! Huber δ = 1e-3); the bootstrap has 100 resamples, the posterior 200 samples. Prints CSV on
//! stdout: law, method, n, truth_scale, datasets, intervals, covered, median_rel_width (median
//! over intervals of width / |truth|), then one row per coefficient with `coef` set.
//!
//! ```sh
//! cargo run --release --example calib_coverage -- --law paper --methods bootstrap,laplace --datasets 60
//! ```

use clap::Parser;
use colaw::instance::Instance;
use colaw::law::bootstrap::{bootstrap, Bootstrap, BootstrapOptions};
use colaw::law::fit::{to_theta, FitModel, FitOptions, Fitter, LseModel, Starts};
use colaw::law::posterior::{posterior, PosteriorOptions};
use colaw::law::{load_law, LawInputs, LossLaw, Observations, Var};
use colaw::outer::{feasible_designs, lhs_pick};
use colaw::util::rng::mix_seed;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::path::Path;

#[derive(Debug, Parser)]
struct Args {
    /// paper | chinchilla.
    #[arg(long, default_value = "paper")]
    law: String,
    /// Comma-separated: bootstrap, laplace, rto.
    #[arg(long, default_value = "bootstrap,laplace")]
    methods: String,
    /// Data sets per (method, n).
    #[arg(long, default_value_t = 60)]
    datasets: usize,
    /// Noise standard deviation in loss units.
    #[arg(long, default_value_t = 0.01)]
    noise: f64,
    /// Spread of the true coefficients around the law file's (relative, log scale).
    #[arg(long, default_value_t = 0.3)]
    truth_scale: f64,
    /// Prior relative standard deviation of the posterior.
    #[arg(long, default_value_t = 0.3)]
    rel_sd: f64,
    /// Prior guess of the log-loss noise standard deviation.
    #[arg(long, default_value_t = 0.004)]
    noise_sd: f64,
    /// Rows the noise guess is worth.
    #[arg(long, default_value_t = 2.0)]
    noise_dof: f64,
    /// Row counts (default k+1, 2k, 4k).
    #[arg(long)]
    n: Option<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw true exponents as e + truth_scale·max(|e|, 0.05)·z (the prior's shape) instead of
    /// e·exp(truth_scale·z) (a diagnostic: does the prior's shape explain a coverage gap?).
    #[arg(long)]
    normal_exponents: bool,
    /// Multiplicative noise: loss·exp(σ/loss·z) (homoscedastic in log loss, the posterior's
    /// model) instead of loss + σ·z (a diagnostic).
    #[arg(long)]
    log_noise: bool,
}

struct Tally {
    covered: usize,
    intervals: usize,
    rel_widths: Vec<f64>,
    per_coef: Vec<(usize, usize)>,
}

fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let law = load_law(&a.law)?;
    let model = LseModel::new(&law)?;
    let k = law.values.len();
    let ns: Vec<usize> = match &a.n {
        Some(s) => s.split(',').map(|x| x.trim().parse()).collect::<Result<_, _>>()?,
        None => vec![k + 1, 2 * k, 4 * k],
    };
    let methods: Vec<String> = a.methods.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let pool = if a.law == "paper" {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/paper/table5-jetson-orin-nx-16gb-embodied.toml");
        feasible_designs(&Instance::load(&p)?)?
    } else {
        Vec::new()
    };
    println!("law,method,n,truth_scale,rel_sd,datasets,intervals,covered,median_rel_width,coef");
    for &n in &ns {
        let mut tallies: Vec<Tally> = methods
            .iter()
            .map(|_| Tally { covered: 0, intervals: 0, rel_widths: Vec::new(), per_coef: vec![(0, 0); k] })
            .collect();
        for ds in 0..a.datasets {
            let s = mix_seed(a.seed, (n * 100_000 + ds) as u64);
            let mut rng = rand::rngs::StdRng::seed_from_u64(s);
            let truth: Vec<f64> = law
                .values
                .iter()
                .zip(model.kinds())
                .map(|(v, kind)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    if a.normal_exponents && !kind.is_log() {
                        v + a.truth_scale * v.abs().max(0.05) * z
                    } else {
                        v * (a.truth_scale * z).exp()
                    }
                })
                .collect();
            let tl = law.with_values(&truth);
            let inputs: Vec<LawInputs> = if a.law == "paper" {
                lhs_pick(&pool, n, s).iter().map(|d| LawInputs::from_arch(&d.arch(), law.default_tokens())).collect()
            } else {
                (0..n)
                    .map(|_| {
                        let mut x = LawInputs::unknown();
                        x.set(Var::Params, (rng.random::<f64>() * (1.6e10f64 / 7e7).ln()).exp() * 7e7);
                        x.set(Var::Tokens, (rng.random::<f64>() * (100.0f64).ln()).exp() * 5e9);
                        x
                    })
                    .collect()
            };
            let loss: Vec<f64> = inputs
                .iter()
                .map(|x| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    let l = tl.loss(x);
                    if a.log_noise {
                        l * (a.noise / l * z).exp()
                    } else {
                        (l + a.noise * z).max(1e-3)
                    }
                })
                .collect();
            let obs = Observations::new(inputs, loss);
            let fo = FitOptions { starts: Starts::Lhs(200), cv_folds: 0, seed: s, ..FitOptions::default() };
            let fitter = Fitter::new(&model, &obs, fo)?;
            let start = to_theta(model.kinds(), &law.values);
            let fit = fitter.fit(Some(&start))?;
            for (mi, m) in methods.iter().enumerate() {
                let b: Bootstrap = match m.as_str() {
                    "bootstrap" => bootstrap(
                        &fitter,
                        &fit,
                        &BootstrapOptions { resamples: 100, seed: s, ..Default::default() },
                        None,
                    ),
                    other => {
                        let po = PosteriorOptions {
                            method: other.parse().map_err(|e: String| anyhow::anyhow!("--methods {e}"))?,
                            samples: 200,
                            seed: s,
                            rel_sd: a.rel_sd,
                            noise_sd: a.noise_sd,
                            noise_dof: a.noise_dof,
                            ..Default::default()
                        };
                        posterior(&fitter, &fit, &law.values, &po)?.0
                    }
                };
                let t = &mut tallies[mi];
                for (c, tv) in truth.iter().enumerate() {
                    let (lo, hi) = b.ci95[c];
                    let ok = lo <= *tv && *tv <= hi;
                    t.intervals += 1;
                    t.covered += ok as usize;
                    t.per_coef[c].1 += 1;
                    t.per_coef[c].0 += ok as usize;
                    t.rel_widths.push((hi - lo) / tv.abs().max(1e-12));
                }
            }
        }
        for (mi, m) in methods.iter().enumerate() {
            let t = &mut tallies[mi];
            t.rel_widths.retain(|v| v.is_finite());
            t.rel_widths.sort_by(f64::total_cmp);
            let med = t.rel_widths.get(t.rel_widths.len() / 2).copied().unwrap_or(f64::NAN);
            println!(
                "{},{m},{n},{},{},{},{},{},{med:.4},",
                a.law, a.truth_scale, a.rel_sd, a.datasets, t.intervals, t.covered
            );
            for (c, (cov, tot)) in t.per_coef.iter().enumerate() {
                println!(
                    "{},{m},{n},{},{},{},{tot},{cov},,{}",
                    a.law, a.truth_scale, a.rel_sd, a.datasets, law.names[c]
                );
            }
        }
    }
    Ok(())
}
