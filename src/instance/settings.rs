//! Solver settings of an instance after defaults (`[solver]` resolved).

/// Solver settings after defaults.
#[derive(Debug, Clone)]
pub struct SolverSettings {
    /// Requested solver kind.
    pub kind: String,
    /// Seconds.
    pub time_limit_s: f64,
    /// Relative gap.
    pub gap: f64,
    /// Threads.
    pub threads: u32,
    /// Seed.
    pub seed: u32,
    /// Designs to return.
    pub top_k: usize,
}

impl Default for SolverSettings {
    fn default() -> Self {
        SolverSettings { kind: "auto".into(), time_limit_s: 60.0, gap: 0.0, threads: 1, seed: 0, top_k: 1 }
    }
}
