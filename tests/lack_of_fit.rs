//! The lack-of-fit test against the seeds' pure error (`law::noise::lack_of_fit`): on data
//! drawn from the law's own form it raises few false alarms (about its 1 % level), on data
//! with a wiggle the form cannot express it fires almost always, and `colaw fit` warns on the
//! second kind only.

mod common;

use colaw::law::fit::{fit_power_law, FitOptions, Starts};
use colaw::law::noise::lack_of_fit;
use colaw::law::{read_observations, ColumnMap, PowerLaw, Var};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

const LAW: &str = "name = \"one-term\"\n[coefficients]\nA = 20.0\nalpha = 0.1\n[form]\n[[form.terms]]\n\
                   coef = \"A\"\npow = { params = \"-alpha\" }\n";
/// One seed's spread in log loss, and the seeds per row.
const SEED_SD_LOG: f64 = 0.01;
const SEEDS: usize = 3;

/// 24 rows, N log-spaced over 10⁷…10¹¹, each the mean of 3 seeds of `truth(N)·e^ε`,
/// ε ~ N(0, 0.01²), with their sample sd as `loss_sd`.
fn data_csv(truth: impl Fn(f64) -> f64, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, SEED_SD_LOG).unwrap();
    let mut text = String::from("params,loss,loss_sd,seeds\n");
    for i in 0..24 {
        let n = 1e7 * 10f64.powf(4.0 * i as f64 / 23.0);
        let l: Vec<f64> = (0..SEEDS).map(|_| truth(n) * noise.sample(&mut rng).exp()).collect();
        let mean = l.iter().sum::<f64>() / SEEDS as f64;
        let sd = (l.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (SEEDS - 1) as f64).sqrt();
        text.push_str(&format!("{n},{mean},{sd},{SEEDS}\n"));
    }
    text
}

fn truth(n: f64) -> f64 {
    20.0 * n.powf(-0.1)
}

/// A 3 % wiggle in log N: no A·N^−α follows it.
fn wiggly(n: f64) -> f64 {
    truth(n) * (1.0 + 0.03 * n.ln().sin())
}

/// The p-value of the test on one generated data set, fitted with the one-term law.
fn p_value(text: &str) -> f64 {
    let law = PowerLaw::from_toml_str(LAW, &Default::default()).unwrap();
    let f = common::temp(".csv", text);
    let obs = read_observations(f.path(), &[Var::Params], &ColumnMap::default(), None).unwrap();
    let fo = FitOptions { starts: Starts::Lhs(8), cv_folds: 0, ..Default::default() };
    let (_, fit) = fit_power_law(&law, &obs, fo).unwrap();
    let (a, alpha) = (fit.values[0], fit.values[1]);
    let n: Vec<f64> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    let res: Vec<f64> = obs.loss.iter().zip(&n).map(|(l, n)| l.ln() - (a * n.powf(-alpha)).ln()).collect();
    let lof = lack_of_fit(&res, &obs.loss, &obs.loss_se, &obs.seeds, &obs.weights, 2).unwrap();
    assert_eq!((lof.df_fit, lof.df_pure), (22.0, 48.0));
    lof.p_value
}

#[test]
fn few_false_alarms_on_the_laws_own_form_and_a_missing_wiggle_is_found() {
    let runs = 100;
    let mut p_right: Vec<f64> = (0..runs).map(|s| p_value(&data_csv(truth, s))).collect();
    let alarms = p_right.iter().filter(|p| **p < 0.01).count();
    let found = (0..runs).filter(|s| p_value(&data_csv(wiggly, 1000 + *s)) < 0.01).count();
    eprintln!("lack of fit at 1 %: {alarms} of {runs} right-form data sets, {found} of {runs} wiggly ones");
    // At its 1 % level, 100 right-form sets give 1 alarm on average; 5 or more has
    // probability 0.3 %.
    assert!(alarms <= 4, "{alarms} false alarms in {runs}");
    // And the p-values are spread as a test's should be (uniform when the form is right):
    // their median within 0.35–0.65 (a uniform sample of 100 leaves that band with
    // probability below 0.3 %).
    p_right.sort_by(f64::total_cmp);
    let median = 0.5 * (p_right[49] + p_right[50]);
    eprintln!("median p-value on right-form data: {median:.3}");
    assert!((0.35..=0.65).contains(&median), "median p-value {median}");
    assert!(found >= 95, "the wiggle was found in only {found} of {runs}");
}

#[test]
fn colaw_fit_warns_when_the_form_misfits_and_only_then() {
    let law = common::temp(".toml", LAW);
    let run = |text: &str| {
        let f = common::temp(".csv", text);
        let o = common::colaw(&[
            "fit",
            &f.path().display().to_string(),
            "--law",
            &law.path().display().to_string(),
            "--cv-folds",
            "0",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, String::from_utf8_lossy(&o.stderr).to_string())
    };
    let (v, err) = run(&data_csv(wiggly, 7));
    assert!(err.contains("warning [law_misfit]") && err.contains("lack-of-fit F(22, 48)"), "{err}");
    assert!(v["lack_of_fit"]["p_value"].as_f64().unwrap() < 0.01, "{v}");
    let (v, err) = run(&data_csv(truth, 7));
    assert!(!err.contains("law_misfit"), "{err}");
    let p = v["lack_of_fit"]["p_value"].as_f64().unwrap();
    assert!(p > 0.01, "{p}");
    // Without loss_sd there is no pure error and no test.
    let plain: String =
        data_csv(truth, 7).lines().map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_string() + "\n").collect();
    let (v, _) = run(&plain);
    assert!(v.get("lack_of_fit").is_none(), "{v}");
}
