//! Choosing the next designs to measure from a round's region.

use super::*;

/// Pick `k` designs to measure from a region (unmeasured ones only).
pub fn pick(
    strategy: Strategy,
    reg: &Region,
    designs: &[Design],
    measured: &dyn Fn(&Design) -> bool,
    k: usize,
    seed: u64,
) -> Vec<Design> {
    let open: Vec<usize> = (0..designs.len()).filter(|&i| !measured(&designs[i])).collect();
    match strategy {
        Strategy::Random => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(mix_seed(seed, 0x0052_4e44));
            let mut v = open;
            let n = v.len();
            for i in 0..k.min(n) {
                let j = rng.random_range(i..n);
                v.swap(i, j);
            }
            v.into_iter().take(k).map(|i| designs[i].clone()).collect()
        }
        Strategy::Lhs => {
            let pool: Vec<Design> = open.iter().map(|&i| designs[i].clone()).collect();
            lhs_pick(&pool, k, seed)
        }
        Strategy::Mixed => {
            let first = pick(Strategy::Informative, reg, designs, measured, k.div_ceil(2), seed);
            let taken: HashSet<String> = first.iter().map(|d| d.key.clone()).collect();
            let rest = pick(
                Strategy::Lhs,
                reg,
                designs,
                &|d: &Design| measured(d) || taken.contains(&d.key),
                k - first.len(),
                seed,
            );
            first.into_iter().chain(rest).collect()
        }
        Strategy::Informative => {
            let mut out: Vec<usize> = Vec::new();
            if let Some(c) = reg.most_often_optimal {
                if open.contains(&c) {
                    out.push(c);
                }
            }
            let st = &reg.designs;
            let spread = |i: usize| st[i].loss_p95 - st[i].loss_p05;
            let mut contenders: Vec<usize> = open.iter().copied().filter(|&i| st[i].p_optimal > 0.0).collect();
            contenders.sort_by(|&a, &b| {
                (st[b].p_optimal * spread(b)).total_cmp(&(st[a].p_optimal * spread(a))).then(a.cmp(&b))
            });
            let mut rest: Vec<usize> = open.iter().copied().filter(|&i| st[i].p_optimal == 0.0).collect();
            rest.sort_by(|&a, &b| st[a].loss_p05.total_cmp(&st[b].loss_p05).then(a.cmp(&b)));
            for i in contenders.into_iter().chain(rest) {
                if out.len() >= k {
                    break;
                }
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            out.into_iter().map(|i| designs[i].clone()).collect()
        }
    }
}
