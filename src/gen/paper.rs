//! `paper`: the paper's Table 5 setting on a random edge device and application.

use super::*;

pub(super) fn gen_paper(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let (budget, app) = app_budget(rng, device, 0.5, 2.0)?;
    let ffn = ffn_subset(rng);
    let desc = format!(
        "paper family: Table 5 space (ffn ratios {ffn:?}); {app} budget on {device}; workload B=1, S_in=1024, S_out=16"
    );
    let s = scenario(device, device, 1, 1024, 16, budget);
    Ok(file(name, desc, table5_space(ffn, is_int8_only(device)), vec![s]))
}
