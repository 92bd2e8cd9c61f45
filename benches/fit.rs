//! Criterion benches of the Chinchilla replication (docs/fitting.md): one fit from Epoch's
//! 4,500-point grid, and the fit plus 1,000 bootstrap refits, on the 240 runs. Compare with
//! `python3 benches/fit_scipy.py` (the same method with scipy), run right after on the same
//! machine.

use colaw::law::bootstrap::{bootstrap, BootstrapOptions};
use colaw::law::fit::{FitModel, FitOptions, Fitter, LseModel, Starts};
use colaw::law::{load_law, read_observations, ColumnMap};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

fn chinchilla(c: &mut Criterion) {
    let law = load_law("chinchilla").unwrap();
    let model = LseModel::new(&law).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/chinchilla/chinchilla_epoch.csv");
    let obs = read_observations(&path, model.feature_vars(), &ColumnMap::default(), None).unwrap();
    // The Python script does neither cross-validation nor the law start: match it.
    let opts = FitOptions {
        drop_highest: 5,
        starts: Starts::Grid,
        include_law_start: false,
        cv_folds: 0,
        ..Default::default()
    };
    let fitter = Fitter::new(&model, &obs, opts).unwrap();
    let mut g = c.benchmark_group("chinchilla");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("fit_4500_starts", |b| b.iter(|| black_box(fitter.fit(None).unwrap())));
    g.bench_function("fit_and_1000_bootstraps", |b| {
        b.iter(|| {
            let fit = fitter.fit(None).unwrap();
            black_box(bootstrap(&fitter, &fit, &BootstrapOptions { resamples: 1000, seed: 0, restarts: 3 }, None))
        })
    });
    g.bench_function("fit_and_1000_bootstraps_warm_only", |b| {
        b.iter(|| {
            let fit = fitter.fit(None).unwrap();
            black_box(bootstrap(&fitter, &fit, &BootstrapOptions { resamples: 1000, seed: 0, restarts: 0 }, None))
        })
    });
    g.finish();
}

criterion_group!(benches, chinchilla);
criterion_main!(benches);
