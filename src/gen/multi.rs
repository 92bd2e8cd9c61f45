//! `multi`: several devices and applications at once, every budget binding.

use super::*;

pub(super) fn gen_multi(rng: &mut StdRng, name: String) -> Result<InstanceFile> {
    let n = rng.random_range(2..=3);
    let mut devices: Vec<&str> = MULTI_DEVICES.to_vec();
    for i in (1..devices.len()).rev() {
        devices.swap(i, rng.random_range(0..=i));
    }
    let mut scenarios = Vec::new();
    let mut parts = Vec::new();
    for (k, &device) in devices.iter().take(n).enumerate() {
        let batch = *pick(rng, &[1u32, 1, 4, 16]);
        let prompt = *pick(rng, &[256u32, 1024, 4096]);
        let gen = *pick(rng, &[16u32, 128]);
        let (budget, app) = app_budget(rng, device, 0.7, 3.0)?;
        parts.push(format!("{app} on {device} (B={batch}, S_in={prompt}, S_out={gen})"));
        scenarios.push(scenario(&format!("s{k}-{device}"), device, batch, prompt, gen, budget));
    }
    let desc = format!("multi family: Table 5 space; one design for {}", parts.join(" and "));
    Ok(file(name, desc, table5_space(vec![0.5, 1.0, 2.0, 3.0, 4.0], false), scenarios))
}
