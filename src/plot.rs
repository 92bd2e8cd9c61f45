//! SVG plots for people: probability maps (heatmap panels) and line charts with optional
//! bands. Used by `region`, `pareto`, `bench` and `loop`; callers pass plain data.

use plotters::prelude::*;
use std::path::Path;

/// One heatmap panel: a value (or nothing) per (x category, y category).
#[derive(Debug, Clone)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Category labels along x.
    pub x_labels: Vec<String>,
    /// Category labels along y.
    pub y_labels: Vec<String>,
    /// `values[y][x]`, None where the cell has no design.
    pub values: Vec<Vec<Option<f64>>>,
}

/// A line series, optionally with a shaded band (lo, hi) per point.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points in x order.
    pub points: Vec<(f64, f64)>,
    /// Optional (x, lo, hi) band.
    pub band: Option<Vec<(f64, f64, f64)>>,
    /// Draw as a step function (performance profiles).
    pub step: bool,
}

fn err<E: std::fmt::Display>(e: E) -> crate::Error {
    crate::Error::Unsupported(format!("plot: {e}"))
}

/// Viridis-like colour for t in [0, 1] (perceptually ordered, readable in grey).
pub fn color(t: f64) -> RGBColor {
    const STOPS: [(f64, (u8, u8, u8)); 5] = [
        (0.0, (68, 1, 84)),
        (0.25, (59, 82, 139)),
        (0.5, (33, 145, 140)),
        (0.75, (94, 201, 98)),
        (1.0, (253, 231, 37)),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    for w in STOPS.windows(2) {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
            return RGBColor(mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2));
        }
    }
    RGBColor(253, 231, 37)
}

/// Heatmap panels side by side with a shared colour scale `range` and a colour bar.
pub fn heatmaps(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    value_desc: &str,
    range: (f64, f64),
    panels: &[Panel],
) -> crate::Result<()> {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let (w, h) = (420 * cols as u32 + 110, 360 * rows as u32 + 50);
    // Drawn into memory, then written atomically: a kill never leaves half an SVG.
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
        let (main, bar) = root.split_horizontally(w - 110);
        let areas = main.split_evenly((rows, cols));
        let norm = |v: f64| (v - range.0) / (range.1 - range.0).max(1e-300);
        for (p, area) in panels.iter().zip(areas.iter()) {
            let (nx, ny) = (p.x_labels.len().max(1), p.y_labels.len().max(1));
            let mut chart = ChartBuilder::on(area)
                .caption(&p.title, ("sans-serif", 15))
                .margin(8)
                .x_label_area_size(38)
                .y_label_area_size(48)
                .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
                .map_err(err)?;
            let xl = |v: &f64| {
                let i = v.floor() as usize;
                if (v - v.floor() - 0.5).abs() < 1e-9 {
                    p.x_labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            let yl = |v: &f64| {
                let i = v.floor() as usize;
                if (v - v.floor() - 0.5).abs() < 1e-9 {
                    p.y_labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(2 * nx + 1)
                .y_labels(2 * ny + 1)
                .x_label_formatter(&xl)
                .y_label_formatter(&yl)
                .x_desc(x_desc)
                .y_desc(y_desc)
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(err)?;
            let mut cells = Vec::new();
            for (j, row) in p.values.iter().enumerate() {
                for (i, v) in row.iter().enumerate() {
                    let (x, y) = (i as f64, j as f64);
                    let style = match v {
                        Some(v) => color(norm(*v)).filled(),
                        None => RGBColor(235, 235, 235).filled(),
                    };
                    cells.push(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], style));
                }
            }
            chart.draw_series(cells).map_err(err)?;
        }
        // Colour bar.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(60)
            .margin_right(8)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..1.0, range.0..range.1)
            .map_err(err)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(value_desc)
            .y_labels(6)
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(err)?;
        let steps = 64;
        cb.draw_series((0..steps).map(|k| {
            let a = range.0 + (range.1 - range.0) * k as f64 / steps as f64;
            let b = range.0 + (range.1 - range.0) * (k + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], color(k as f64 / (steps - 1) as f64).filled())
        }))
        .map_err(err)?;
        root.present().map_err(err)?;
    }
    crate::util::fs::write_atomic(path, svg.as_bytes())
}

/// Line chart: series with optional bands, axis descriptions with units, legend.
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_x: bool,
) -> crate::Result<()> {
    let pts = || series.iter().flat_map(|s| s.points.iter().copied());
    let band_pts =
        || series.iter().filter_map(|s| s.band.as_ref()).flatten().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
    let all: Vec<(f64, f64)> = pts().chain(band_pts()).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    if all.is_empty() {
        return Err(crate::Error::Unsupported("plot: nothing to draw".into()));
    }
    let (mut x0, mut x1, mut y0, mut y1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY), |(a, b, c, d), &(x, y)| {
            (a.min(x), b.max(x), c.min(y), d.max(y))
        });
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = (y1 - y0).abs().max(1e-9) * 0.05;
    y0 -= pad;
    y1 += pad;
    if log_x {
        x0 = x0.max(1e-12);
    }
    // Drawn into memory, then written atomically: a kill never leaves half an SVG.
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (820, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let palette = [
            RGBColor(31, 119, 180),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
            RGBColor(148, 103, 189),
            RGBColor(255, 127, 14),
            RGBColor(140, 86, 75),
            RGBColor(227, 119, 194),
            RGBColor(127, 127, 127),
        ];
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(x_desc)
                    .y_desc(y_desc)
                    .label_style(("sans-serif", 12))
                    .light_line_style(RGBColor(240, 240, 240))
                    .draw()
                    .map_err(err)?;
                for (k, s) in series.iter().enumerate() {
                    let c = palette[k % palette.len()];
                    if let Some(b) = &s.band {
                        let mut poly: Vec<(f64, f64)> = b.iter().map(|&(x, _, hi)| (x, hi)).collect();
                        poly.extend(b.iter().rev().map(|&(x, lo, _)| (x, lo)));
                        chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.18).filled()))).map_err(err)?;
                    }
                    let mut pts = s.points.clone();
                    if s.step {
                        let mut st = Vec::with_capacity(2 * pts.len());
                        for w in pts.windows(2) {
                            st.push(w[0]);
                            st.push((w[1].0, w[0].1));
                        }
                        if let Some(&last) = pts.last() {
                            st.push(last);
                        }
                        pts = st;
                    }
                    chart
                        .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                        .map_err(err)?
                        .label(s.name.clone())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                    if !s.step {
                        chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
                    }
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 12))
                    .draw()
                    .map_err(err)?;
            }};
        }
        let mut b = ChartBuilder::on(&root);
        b.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(44).y_label_area_size(64);
        if log_x {
            draw!(b.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(err)?);
        } else {
            draw!(b.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
        }
        root.present().map_err(err)?;
    }
    crate::util::fs::write_atomic(path, svg.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_svgs() {
        let dir = tempfile::tempdir().unwrap();
        let p = Panel {
            title: "E=8, K=1".into(),
            x_labels: vec!["768".into(), "1024".into()],
            y_labels: vec!["4".into(), "8".into(), "12".into()],
            values: vec![vec![Some(0.1), None], vec![Some(0.5), Some(0.9)], vec![Some(1.0), Some(0.0)]],
        };
        let f = dir.path().join("h.svg");
        heatmaps(&f, "P(meets budgets)", "hidden", "layers", "probability", (0.0, 1.0), &[p.clone(), p]).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.contains("<svg") && text.contains("E=8, K=1") && text.contains("probability"));
        let f = dir.path().join("l.svg");
        let s = Series {
            name: "front".into(),
            points: vec![(1.0, 3.0), (2.0, 2.8), (4.0, 2.7)],
            band: Some(vec![(1.0, 2.9, 3.1), (2.0, 2.7, 2.9), (4.0, 2.6, 2.8)]),
            step: false,
        };
        lines(&f, "Pareto front", "decode latency (ms)", "loss (nats)", &[s], true).unwrap();
        assert!(std::fs::read_to_string(&f).unwrap().contains("Pareto front"));
    }

    #[test]
    fn colour_scale_ends() {
        assert_eq!(color(0.0), RGBColor(68, 1, 84));
        assert_eq!(color(1.0), RGBColor(253, 231, 37));
        assert_eq!(color(f64::NAN), color(0.0));
    }
}
