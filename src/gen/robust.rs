//! `robust`: bootstrap coefficient samples of a paper-law fit to synthetic runs, a risk
//! measure, and on the H100 a chance constraint over measured calibration samples.

use super::*;

/// The calibrated H100 that the shipped latency samples describe.
pub const ROBUST_CHANCE_DEVICE: &str = "nvidia-h100-sxm-cudagraph";

/// File name of the latency samples written beside chance-constrained `robust` instances.
pub const ROBUST_LATENCY_SAMPLES: &str = "h100-cudagraph-cal-samples.csv";

/// The measured H100 latency-calibration bootstrap samples (`colaw calibrate --samples`).
pub(super) const H100_CAL_SAMPLES: &str = include_str!("../../data/measurements/h100_cudagraph_cal_samples.csv");

/// Synthetic training runs per `robust` instance's fit (the paper fitted its law on a few
/// hundred runs), and bootstrap resamples (so CVaR at 5 % still averages ≥ 3 samples).
pub(super) const ROBUST_RUNS: usize = 170;
pub(super) const ROBUST_RESAMPLES: usize = 64;

/// Bootstrap coefficient samples of the paper law (the `colaw fit --samples` CSV): draw
/// `ROBUST_RUNS` designs uniformly from `space`, give each the paper law's loss times
/// exp(N(0, σ)), fit the law (its own values plus 16 Latin-hypercube starts) and bootstrap
/// the fit.
pub(super) fn law_samples(space: &SpaceSpec, sigma: f64, seed: u64) -> Result<String> {
    let law = load_law("paper")?;
    let space = space.enumerate(&Origin::default())?;
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, sigma).map_err(|e| Error::Unsupported(format!("noise σ = {sigma}: {e}")))?;
    let mut inputs = Vec::with_capacity(ROBUST_RUNS);
    let mut losses = Vec::with_capacity(ROBUST_RUNS);
    for _ in 0..ROBUST_RUNS {
        let w = &space.widths[rng.random_range(0..space.widths.len())];
        let arch = w.arch(space.depths[rng.random_range(0..space.depths.len())]);
        let x = LawInputs::from_arch(&arch, law.default_tokens());
        losses.push(law.loss(&x) * noise.sample(&mut rng).exp());
        inputs.push(x);
    }
    let obs = Observations::new(inputs, losses);
    let model = LseModel::new(&law)?;
    let opts = FitOptions { starts: Starts::Lhs(16), cv_folds: 0, seed, ..Default::default() };
    let fitter = Fitter::new(&model, &obs, opts)?;
    let fit = fitter.fit(Some(&to_theta(model.kinds(), &law.values)))?;
    let b = bootstrap(&fitter, &fit, &BootstrapOptions { resamples: ROBUST_RESAMPLES, seed, restarts: 3 }, None);
    samples_csv(&b)
}

/// The Table 5 space on the calibrated H100 under a tpot or end-to-end budget set at a
/// random quantile (20–70 %) of every candidate's value, so that it binds.
pub(super) fn gen_h100(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let device = ROBUST_CHANCE_DEVICE;
    let ffn = ffn_subset(rng);
    let (batch, prompt, gen) = *pick(rng, &[(1u32, 1024u32, 16u32), (16, 1024, 16), (16, 4096, 128)]);
    let metric = *pick(rng, &["tpot_ms", "total_ms"]);
    let s = scenario(device, device, batch, prompt, gen, BudgetSpec { device_memory: true, ..Default::default() });
    let mut f = file(name, String::new(), table5_space(ffn.clone(), false), vec![s]);
    let values = metric_values(&f, metric)?;
    let q: f64 = rng.random_range(0.2..0.7);
    let limit = sig4(values[((values.len() - 1) as f64 * q) as usize]);
    set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
    f.description = Some(format!(
        "Table 5 space (ffn ratios {ffn:?}) on {device}, B={batch}, S_in={prompt}, S_out={gen}; {metric} ≤ {limit} \
         (the {:.0} % quantile of the candidates' values)",
        q * 100.0
    ));
    Ok(f)
}

pub(super) fn gen_robust(rng: &mut StdRng, name: String) -> Result<(InstanceFile, Vec<(String, String)>)> {
    let chance = rng.random::<f64>() < 0.5;
    let mut f = if chance { gen_h100(rng, name.clone())? } else { gen_paper(rng, name.clone())? };
    let risk = *pick(rng, &["mean", "cvar:0.05", "cvar:0.1", "cvar:0.25"]);
    let sigma = *pick(rng, &[0.005, 0.01, 0.02]);
    let samples_name = format!("{name}-law-samples.csv");
    let mut extra = vec![(samples_name.clone(), law_samples(&f.space, sigma, rng.random::<u64>())?)];
    let mut section = RobustSection {
        samples: Some(samples_name),
        risk: Some(risk.into()),
        latency_samples: None,
        chance: None,
        latency_scenarios: None,
    };
    let mut what = format!(
        "robust family: {risk} over {ROBUST_RESAMPLES} bootstrap samples of a paper-law fit to {ROBUST_RUNS} synthetic \
         runs (noise σ = {sigma})"
    );
    if chance {
        let eps = *pick(rng, &[0.0, 0.01, 0.05, 0.1]);
        section.latency_samples = Some(ROBUST_LATENCY_SAMPLES.into());
        section.chance = Some(eps);
        extra.push((ROBUST_LATENCY_SAMPLES.into(), H100_CAL_SAMPLES.into()));
        what += &format!("; budgets in ≥ {:.0} % of the H100 latency-calibration samples", (1.0 - eps) * 100.0);
    }
    f.description = Some(format!("{what}. {}", f.description.as_deref().unwrap_or("")));
    f.robust = Some(section);
    Ok((f, extra))
}
