//! Quick manual run of the outer loop on a small instance (development aid).
use colaw::instance::Instance;
use colaw::oracle::parse_oracle;
use colaw::outer::{data_csv, initial_data, Journal, LoopOptions, OuterLoop};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let inst = Instance::load(Path::new(&args[1])).unwrap();
    let oracle = parse_oracle(&args[2], None).unwrap();
    let n: usize = args[3].parse().unwrap();
    let dir = Path::new(&args[4]);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let init = initial_data(&inst, oracle.as_ref(), n, 1).unwrap();
    let data = dir.join("init.csv");
    std::fs::write(&data, data_csv(&init)).unwrap();
    let opts = LoopOptions { bootstrap: 40, rounds: 12, ..Default::default() };
    let print = |s: &str| eprintln!("{s}");
    let mut lp = OuterLoop::new(&inst, oracle.as_ref(), opts, Journal::new(&dir.join("j")).unwrap());
    lp.on_round = Some(&print);
    let t = std::time::Instant::now();
    let r = lp.run(&data).unwrap();
    eprintln!(
        "{} rounds, {} calls, {:?} in {:.1}s",
        r.rounds.len(),
        r.calls,
        r.choice.map(|d| d.key),
        t.elapsed().as_secs_f64()
    );
}
