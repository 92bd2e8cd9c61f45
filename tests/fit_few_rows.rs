//! Few-row fitting (issue 18, item 3): too few rows for the free coefficients is an error that
//! names the ways out (`--fix`, a simpler `--law`, `fixed` in the law file) with the counts;
//! `--fix NAME=VALUE` and the law file's `fixed` keep coefficients out of the fit (also in the
//! bootstrap and the posterior); a skipped cross-validation and a term fitted to ~0 are
//! warnings that say what they mean.

mod common;

use common::{colaw, fails, temp};

/// The paper's law (Table 6 values, models/laws/paper.toml) at one design.
fn paper_loss(l: f64, d: f64, r: f64, rho: f64, dm: f64) -> f64 {
    2.53 + 9.96 * l.powf(-1.63)
        + 0.031 * rho.powf(1.09) * r.powf(-0.17) * d.powf(0.33)
        + 500.0 * r.powf(-0.17) * d.powf(-0.97)
        + 0.20 * dm.powf(-0.05)
}

/// Eight "trained models" of the paper's law with a small deterministic wobble (±0.2 %).
fn eight_rows() -> tempfile::NamedTempFile {
    let designs = [
        (4.0, 512.0, 1.0, 1.0, 128.0),
        (8.0, 768.0, 2.0, 0.5, 256.0),
        (12.0, 1024.0, 4.0, 0.25, 512.0),
        (16.0, 1536.0, 1.0, 0.125, 256.0),
        (20.0, 2048.0, 2.0, 1.0, 1024.0),
        (24.0, 1024.0, 3.0, 0.0625, 128.0),
        (6.0, 2560.0, 1.5, 0.5, 640.0),
        (10.0, 3072.0, 2.5, 0.25, 384.0),
    ];
    let mut csv = String::from("layers,hidden,ffn_ratio,rho,d_m,loss\n");
    for (i, (l, d, r, rho, dm)) in designs.iter().enumerate() {
        let wobble = 1.0 + 0.002 * (i as f64 * 1.7).sin();
        csv.push_str(&format!("{l},{d},{r},{rho},{dm},{:.7}\n", paper_loss(*l, *d, *r, *rho, *dm) * wobble));
    }
    temp(".csv", &csv)
}

const FIXES: [&str; 8] =
    ["--fix", "alpha_rho=1.09", "--fix", "beta1=-0.33", "--fix", "alpha_r=0.17", "--fix", "alpha_m=0.05"];

fn run_json(args: &[&str]) -> (serde_json::Value, String) {
    let o = colaw(args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{args:?}: {err}");
    (serde_json::from_slice(&o.stdout).expect("fit prints JSON"), err)
}

fn warning_codes(v: &serde_json::Value) -> Vec<String> {
    v["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn too_few_rows_names_fix_a_simpler_law_and_the_counts() {
    let data = eight_rows();
    let p = data.path().to_str().unwrap();
    fails(
        &["fit", "--law", "paper", p],
        &["8 rows for 11 free coefficients", "at least 12 rows", "--fix NAME=VALUE", "--law chinchilla", "fixed = ["],
    );
    // Three fixes leave 8 free: still one row short, and the message counts the fixed ones.
    fails(
        &["fit", "--law", "paper", p, "--fix", "alpha_rho=1.09", "--fix", "beta1=-0.33", "--fix", "alpha_r=0.17"],
        &["8 rows for 8 free coefficients", "and 3 fixed", "at least 9 rows"],
    );
    fails(&["fit", "--law", "paper", p, "--fix", "alpha_q=1"], &["--fix alpha_q", "alpha_m"]);
    fails(&["fit", "--law", "paper", p, "--fix", "alpha_m"], &["NAME=VALUE"]);
    fails(&["fit", "--law", "paper", p, "--fix", "alpha_m=abc"], &["abc", "not a number"]);
}

#[test]
fn fix_fits_eight_rows_warns_that_cv_was_skipped_and_the_file_keeps_it() {
    let data = eight_rows();
    let p = data.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fit.toml");
    let mut args = vec!["fit", "--law", "paper", p, "--starts", "lhs:200", "--out", out.to_str().unwrap()];
    args.extend(FIXES);
    let (v, err) = run_json(&args);
    // Fixed coefficients come back exactly; the 7 others are fitted well on 8 rows.
    for (name, value) in [("alpha_rho", 1.09), ("beta1", -0.33), ("alpha_r", 0.17), ("alpha_m", 0.05)] {
        assert_eq!(v["coefficients"][name], value, "{name}");
        assert_eq!(v["fixed"][name], value, "{name}");
    }
    assert_eq!(v["free_coefficients"], 7);
    assert_eq!(v["n"], 8);
    assert!(v["r2"].as_f64().unwrap() > 0.999, "{}", v["r2"]);
    // 5-fold CV needs 10 rows: skipped, and said so in JSON and on stderr.
    assert!(v["cv_rmse_log"].is_null());
    assert!(warning_codes(&v).contains(&"cv_skipped".to_string()), "{}", v["warnings"]);
    assert!(
        err.contains("warning: cross-validation skipped") && err.contains("10 rows") && err.contains("--cv-folds 4")
    );
    // The written law records `fixed`; refitting it keeps them without flags, and 4 folds run.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("fixed = ["), "{text}");
    let (again, _) = run_json(&["fit", "--law", out.to_str().unwrap(), p, "--starts", "lhs:200", "--cv-folds", "4"]);
    assert_eq!(again["fixed"]["beta1"], -0.33);
    assert_eq!(again["free_coefficients"], 7);
    assert_eq!(again["cv_folds"], 4);
    assert!(again["cv_rmse_log"].as_f64().unwrap() > 0.0);
    assert!(!warning_codes(&again).contains(&"cv_skipped".to_string()));
    // The fixed exponent alpha_rho is not asked to be identified when rho is constant.
    let flat: Vec<String> = std::fs::read_to_string(data.path())
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut f: Vec<&str> = l.split(',').collect();
            if i > 0 {
                f[3] = "1"; // rho
            }
            f.join(",")
        })
        .collect();
    let flat = temp(".csv", &(flat.join("\n") + "\n"));
    let mut plain = vec!["fit", "--law", "paper", flat.path().to_str().unwrap(), "--cv-folds", "0"];
    plain.extend(&FIXES[2..]);
    plain.extend(["--fix", "kappa_m=0.2"]);
    fails(&plain, &["rho", "alpha_rho", "--fix alpha_rho=VALUE"]);
    let mut args =
        vec!["fit", "--law", "paper", flat.path().to_str().unwrap(), "--starts", "lhs:50", "--cv-folds", "0"];
    args.extend(FIXES);
    run_json(&args);
}

#[test]
fn bootstrap_and_posterior_samples_hold_fixed_coefficients_constant() {
    let data = eight_rows();
    let p = data.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for how in [["--posterior", "laplace"], ["--bootstrap", "20"]] {
        let samples = dir.path().join(format!("{}.csv", how[0].trim_start_matches('-')));
        let mut args = vec![
            "fit",
            "--law",
            "paper",
            p,
            "--starts",
            "lhs:100",
            "--cv-folds",
            "0",
            "--samples",
            samples.to_str().unwrap(),
        ];
        args.extend(how);
        args.extend(FIXES);
        let (v, _) = run_json(&args);
        assert_eq!(v["ci95"]["alpha_m"], serde_json::json!([0.05, 0.05]), "{how:?}");
        let lo = v["ci95"]["kappa_l"][0].as_f64().unwrap();
        let hi = v["ci95"]["kappa_l"][1].as_f64().unwrap();
        assert!(lo < hi, "{how:?}: a free coefficient still varies: {lo} {hi}");
        let text = std::fs::read_to_string(&samples).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let col = rdr.headers().unwrap().iter().position(|h| h == "beta1").unwrap();
        let rows: Vec<f64> = rdr.records().map(|r| r.unwrap()[col].parse().unwrap()).collect();
        assert!(rows.len() >= 20 && rows.iter().all(|x| *x == -0.33), "{how:?}: {rows:?}");
    }
    // Posterior: the fixed coefficients are not among those the data fix.
    let mut args = vec!["fit", "--law", "paper", p, "--starts", "lhs:100", "--cv-folds", "0", "--posterior", "laplace"];
    args.extend(FIXES);
    let (v, _) = run_json(&args);
    assert!(v["p_eff"].as_f64().unwrap() <= 7.0 + 1e-9, "{}", v["p_eff"]);
}

#[test]
fn law_file_fixed_is_checked_on_load() {
    let base = std::fs::read_to_string("models/laws/chinchilla.toml").unwrap();
    let data = temp(".csv", "N,D,loss\n1e8,1e10,3.0\n2e8,2e10,2.9\n4e8,1e10,2.85\n");
    let p = data.path().to_str().unwrap();
    let law = temp(".toml", &format!("fixed = [\"gamma\"]\n{base}"));
    fails(&["fit", "--law", law.path().to_str().unwrap(), p], &["fixed[0]", "gamma", "must name a coefficient"]);
    let law = temp(".toml", &format!("fixed = [\"alpha\"]\n{base}\n[bounds]\nalpha = [0.1, 0.5]\n"));
    fails(&["fit", "--law", law.path().to_str().unwrap(), p], &["fixed[0]", "alpha", "bounds.alpha"]);
}

#[test]
fn a_term_fitted_to_zero_says_what_the_law_now_ignores() {
    // L = E + A·N^−a + K·d_m^−0.5 (a fixed numeric exponent), on data that does not depend on
    // d_m although it varies: K goes to ~0 and the law no longer sees the KV heads.
    let law = temp(
        ".toml",
        "name = \"dm-test\"\ntokens = 1e10\n[coefficients]\nE = 2.0\nA = 50.0\na = 0.3\nK = 0.5\n[form]\nconstant = \"E\"\n\
         [[form.terms]]\ncoef = \"A\"\npow = { params = \"-a\" }\n[[form.terms]]\ncoef = \"K\"\npow = { d_m = -0.5 }\n",
    );
    let mut csv = String::from("params,d_m,loss\n");
    for i in 0..12 {
        let n = 1e7 * 2f64.powi(i);
        csv.push_str(&format!("{n},{},{:.9}\n", [64, 128, 256, 512][i as usize % 4], 1.8 + 400.0 * n.powf(-0.3)));
    }
    let data = temp(".csv", &csv);
    let (v, err) =
        run_json(&["fit", "--law", law.path().to_str().unwrap(), data.path().to_str().unwrap(), "--starts", "lhs:100"]);
    assert!(v["coefficients"]["K"].as_f64().unwrap() < 1e-6, "{}", v["coefficients"]);
    let dead: Vec<&serde_json::Value> =
        v["warnings"].as_array().unwrap().iter().filter(|w| w["code"] == "dead_term").collect();
    assert_eq!(dead.len(), 1, "{}", v["warnings"]);
    let m = dead[0]["message"].as_str().unwrap();
    assert!(
        m.contains("`K` fitted to") && m.contains("now ignores the KV heads (d_m") && m.contains("--fix K="),
        "{m}"
    );
    assert!(err.contains("now ignores the KV heads"), "{err}");
}
