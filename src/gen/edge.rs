//! `tight` and `infeasible`: a budget placed just above (tight) or below (infeasible) what
//! the space's designs reach.

use super::*;

/// Metrics the `infeasible` and `tight` families place at the edge.
pub(super) const EDGE_METRICS: [&str; 4] = ["tpot_ms", "total_ms", "decode_ms", "memory_gb"];

pub(super) fn set_metric(b: &mut BudgetSpec, metric: &str, v: Option<f64>) {
    match metric {
        "tpot_ms" => b.tpot_ms = v,
        "total_ms" => b.total_ms = v,
        "decode_ms" => b.decode_ms = v,
        _ => b.memory_gb = v,
    }
}

/// Every candidate's value of one budget metric (sorted ascending; memory in GB).
pub(super) fn metric_values(f: &InstanceFile, metric: &str) -> Result<Vec<f64>> {
    let mut probe = f.clone();
    set_metric(&mut probe.scenarios[0].budget, metric, Some(1e30));
    let inst = Instance::from_file(probe, &Origin::default(), None, "probe")?;
    let source = format!("budget.{metric}");
    let bi = inst.budgets.iter().position(|b| b.source == source).expect("probe budget present");
    let p = Problem::new(&inst)?;
    let rows = p.rows(true);
    let scale = if metric == "memory_gb" { 1e-9 } else { 1.0 };
    let mut v: Vec<f64> = rows
        .iter()
        .flat_map(|r| p.depths.iter().map(move |&l| r.budgets[bi].at(l as f64)))
        .map(|x| x * scale)
        .collect();
    v.sort_by(f64::total_cmp);
    Ok(v)
}

pub(super) fn gen_edge(rng: &mut StdRng, name: String, infeasible: bool) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let metric = *pick(rng, &EDGE_METRICS);
    let ffn = ffn_subset(rng);
    let s = scenario(device, device, 1, 1024, 16, BudgetSpec { device_memory: true, ..Default::default() });
    let mut f = file(name, String::new(), table5_space(ffn, is_int8_only(device)), vec![s]);
    let values = metric_values(&f, metric)?;
    if infeasible {
        let delta = rng.random_range(0.02..0.2);
        let limit = values[0] * (1.0 - delta);
        set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
        f.description = Some(format!(
            "infeasible family: {metric} ≤ {limit:.6} on {device}, {:.1} % below the smallest value any design reaches ({:.6})",
            delta * 100.0,
            values[0]
        ));
        return Ok(f);
    }
    let mut k = rng.random_range(0..5usize);
    loop {
        let limit = values[k.min(values.len() - 1)] * (1.0 + 1e-6);
        set_metric(&mut f.scenarios[0].budget, metric, Some(limit));
        f.description = Some(format!(
            "tight family: {metric} ≤ {limit:.9} on {device}, 1e-6 above the value of the design ranked {} by this metric",
            k + 1
        ));
        let inst = Instance::from_file(f.clone(), &Origin::default(), None, "tight")?;
        let sol = solve(&inst, "enum", &SolveOptions { compare_exact: false, ..Default::default() })?;
        if sol.status == Status::Optimal || k + 1 >= values.len() {
            return Ok(f);
        }
        // Another budget (device memory) cuts the k-th design: move outwards.
        k = (k + 1) * 2;
    }
}
