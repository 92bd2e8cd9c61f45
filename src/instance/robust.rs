//! Resolving `[robust]`: the risk, the sample files (read and checked against the law and
//! the scenarios) and the chance constraint.

use super::*;

/// Validate `[robust]` and load its samples, so that a bad file or value fails at load time
/// with an error naming the instance file and the field.
pub(super) fn resolve_robust(
    r: &RobustSection,
    origin: &Origin,
    base: Option<&Path>,
    scenarios: &[Scenario],
    law: &dyn LossLaw,
) -> Result<RobustSpec> {
    let risk = match &r.risk {
        Some(s) => Risk::parse_value(s).map_err(|m| Error::invalid(origin, "robust.risk", format!("\"{s}\""), m))?,
        None => Risk::Mean,
    };
    if let Some(e) = r.chance {
        if !(e.is_finite() && (0.0..1.0).contains(&e)) {
            return Err(Error::invalid(
                origin,
                "robust.chance",
                e,
                "must lie in [0, 1): the budgets must hold in at least (1 − chance) of the latency samples",
            ));
        }
    }
    match (r.chance, &r.latency_samples) {
        (Some(e), None) => {
            return Err(Error::missing(
                origin,
                "robust.latency_samples",
                format!("robust.chance = {e} needs latency samples (written by `colaw calibrate --samples FILE`)"),
            ))
        }
        (None, Some(_)) => {
            return Err(Error::missing(
                origin,
                "robust.chance",
                "robust.latency_samples are only used by a chance constraint: add chance = ε (e.g. 0.1)",
            ))
        }
        _ => {}
    }
    if r.samples.is_none() && r.chance.is_none() {
        return Err(Error::missing(
            origin,
            "robust.samples",
            "[robust] needs coefficient samples (`colaw fit --bootstrap B --samples FILE`) or a chance constraint",
        ));
    }
    let latency_scenarios = match &r.latency_scenarios {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    scenarios.iter().position(|s| &s.name == n).ok_or_else(|| {
                        let known: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
                        Error::invalid(
                            origin,
                            "robust.latency_scenarios",
                            format!("\"{n}\""),
                            format!("not a scenario of this instance; scenarios: {}", known.join(", ")),
                        )
                    })
                })
                .collect::<Result<Vec<usize>>>()?,
        ),
    };
    let path = |s: &str| match base {
        Some(b) if Path::new(s).is_relative() => b.join(s),
        _ => PathBuf::from(s),
    };
    // One error naming the instance file and the field, with the samples file's own error.
    let existing = |field: &str, s: &str, how: &str| -> Result<PathBuf> {
        let p = path(s);
        if p.is_file() {
            return Ok(p);
        }
        Err(Error::invalid(
            origin,
            field,
            format!("\"{s}\""),
            format!("no such file {} (paths are relative to the instance file); write it with {how}", p.display()),
        ))
    };
    let named = |field: &'static str, s: &str| {
        let value = format!("\"{s}\"");
        move |e: Error| Error::invalid(origin, field, &value, e.to_string())
    };
    let coefficients = match &r.samples {
        Some(s) => {
            let p = existing("robust.samples", s, "`colaw fit --bootstrap B --samples FILE`")?;
            read_coefficient_samples(&p, law).map_err(named("robust.samples", s))?
        }
        None => Vec::new(),
    };
    let (latency, latency_devices) = match &r.latency_samples {
        Some(s) => {
            let p = existing("robust.latency_samples", s, "`colaw calibrate --bootstrap B --samples FILE`")?;
            (
                read_latency_samples(&p).map_err(named("robust.latency_samples", s))?,
                read_latency_samples_devices(&p).map_err(named("robust.latency_samples", s))?,
            )
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(RobustSpec { risk, coefficients, latency, chance_epsilon: r.chance, latency_scenarios, latency_devices })
}
