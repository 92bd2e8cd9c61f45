//! `large`: spaces grown to a target number of candidates (10⁴ to 10⁷ and beyond).

use super::*;

/// Grids of the `large` family, coarse to fine, one list of levels per knob.
pub(super) struct LargeLevels;

impl LargeLevels {
    pub(super) const KNOBS: usize = 10;
    pub(super) const LEVELS: [usize; 10] = [4, 5, 4, 3, 4, 4, 3, 3, 3, 2];

    pub(super) fn spec(lv: &[usize; 10], int8_only: bool) -> SpaceSpec {
        let layers = match lv[0] {
            0 => Grid::Range { from: 4, to: 32, step: 4 },
            1 => Grid::Range { from: 2, to: 32, step: 2 },
            2 => Grid::Range { from: 1, to: 32, step: 1 },
            _ => Grid::Range { from: 1, to: 64, step: 1 },
        };
        let step = [512, 256, 128, 64, 32][lv[1]];
        let hidden = Grid::Range { from: 512, to: 4096, step };
        let head_dim = [vec![64], vec![64, 128], vec![32, 64, 128], vec![32, 64, 96, 128]][lv[2]].clone();
        let kv: Vec<KvChoice> = [vec![1, 0], vec![1, 2, 4, 8, 0], vec![1, 2, 4, 8, 16, 0]][lv[3]]
            .iter()
            .map(|&k| if k == 0 { KvChoice::Word("heads".into()) } else { KvChoice::Count(k) })
            .collect();
        let ffn = [
            vec![1.0, 2.0, 4.0],
            vec![0.5, 1.0, 2.0, 3.0, 4.0],
            vec![0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0],
            vec![0.25, 0.375, 0.5, 0.625, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0],
        ][lv[4]]
            .clone();
        let moe: Vec<[i64; 2]> = [
            vec![[1, 1]],
            vec![[1, 1], [8, 1], [8, 2], [16, 1], [16, 2]],
            vec![[1, 1], [4, 1], [8, 1], [8, 2], [16, 1], [16, 2], [32, 1], [32, 2]],
            vec![[1, 1], [4, 1], [4, 2], [8, 1], [8, 2], [16, 1], [16, 2], [16, 4], [32, 1], [32, 2], [64, 1], [64, 2]],
        ][lv[5]]
            .clone();
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let wd = if int8_only {
            strs(&[["int8"], ["int8"], ["int8"]][lv[6]])
        } else {
            [strs(&["bf16"]), strs(&["bf16", "int8"]), strs(&["bf16", "fp8", "int8", "int4"])][lv[6]].clone()
        };
        let kd = if int8_only {
            strs(&["int8"])
        } else {
            [strs(&["bf16"]), strs(&["bf16", "int8"]), strs(&["bf16", "fp8", "int8"])][lv[7]].clone()
        };
        let vocab = [vec![32000], vec![32000, 151936], vec![32000, 50304, 128256, 151936]][lv[8]].clone();
        let tied = [vec![true], vec![true, false]][lv[9]].clone();
        SpaceSpec {
            layers,
            hidden,
            heads: None,
            head_dim: Some(Grid::List(head_dim)),
            kv_heads: Some(kv),
            ffn_ratio: Some(ffn),
            ffn: None,
            ffn_multiple: Some(16),
            moe: Some(moe),
            weight_dtype: Some(wd),
            kv_dtype: Some(kd),
            vocab: Grid::List(vocab),
            tied: Some(tied),
            qkv_bias: false,
            rules: Rules { q_dim_equals_hidden: true, ..Default::default() },
        }
    }
}

/// Candidates of a space spec without materialising the product: the width
/// configurations of (hidden, heads, kv, ffn) times the independent lists.
pub fn count_candidates(spec: &SpaceSpec) -> Result<u64> {
    let mut core = spec.clone();
    let n_moe = core.moe.take().map_or(1, |v| v.len() as u64);
    let n_wd = core.weight_dtype.take().map_or(1, |v| v.len() as u64);
    let n_kd = core.kv_dtype.take().map_or(1, |v| v.len() as u64);
    let n_tied = core.tied.take().map_or(1, |v| v.len() as u64);
    let n_vocab = core.vocab.values(&Origin::default(), "space.vocab")?.len() as u64;
    core.vocab = Grid::List(vec![32000]);
    if core.rules.max_active_ffn_ratio.is_some() {
        return Ok(spec.enumerate(&Origin::default())?.candidates());
    }
    let s = core.enumerate(&Origin::default())?;
    Ok(s.candidates() * n_moe * n_wd * n_kd * n_tied * n_vocab)
}

pub(super) fn gen_large(rng: &mut StdRng, name: String, target: f64) -> Result<InstanceFile> {
    let device = *pick(rng, &EDGE_DEVICES);
    let int8 = is_int8_only(device);
    let mut lv = [0usize; 10];
    let mut size = count_candidates(&LargeLevels::spec(&lv, int8))?;
    loop {
        let mut order: Vec<usize> = (0..LargeLevels::KNOBS).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut grew = false;
        for k in order {
            if lv[k] + 1 >= LargeLevels::LEVELS[k] {
                continue;
            }
            let mut next = lv;
            next[k] += 1;
            let n = count_candidates(&LargeLevels::spec(&next, int8))?;
            if n as f64 <= target && n > size {
                lv = next;
                size = n;
                grew = true;
                break;
            }
        }
        if !grew {
            break;
        }
    }
    let (budget, app) = app_budget(rng, device, 0.5, 2.0)?;
    let desc = format!("large family: {size} candidates (target {target:.0}); {app} budget on {device}");
    let s = scenario(device, device, 1, 1024, 16, budget);
    let mut f = file(name, desc, LargeLevels::spec(&lv, int8), vec![s]);
    f.solver.time_limit_s = Some(300.0);
    Ok(f)
}
