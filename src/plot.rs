//! SVG plots for people: probability maps (heatmap panels) and line charts with optional
//! bands. Used by `region`, `pareto`, `bench` and `loop`; callers pass plain data.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
    /// `values[y][x]`, None where the cell has no design (drawn hatched, see [`ColorScale`]).
    pub values: Vec<Vec<Option<f64>>>,
}

/// How heatmap values map to colours, and the legend beside the panels.
#[derive(Debug, Clone)]
pub enum ColorScale {
    /// A continuous scale over `range` with a colour bar titled `desc`.
    Continuous {
        /// Value at the scale's two ends.
        range: (f64, f64),
        /// Colour-bar title (the value and its unit).
        desc: String,
    },
    /// A few discrete values, one distinct colour each, with a swatch legend titled `desc`.
    /// Values not listed are drawn like missing cells.
    Discrete {
        /// Legend title.
        desc: String,
        /// (value, legend label) in legend order.
        levels: Vec<(f64, String)>,
    },
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
    /// Legend label of the band (default: "<name>: band").
    pub band_label: Option<String>,
    /// Draw as a step function (performance profiles).
    pub step: bool,
}

/// Axis options of a line chart.
#[derive(Debug, Clone, Copy, Default)]
pub struct Axes {
    /// Log-scaled x axis (ticks at 1-2-5 steps of each decade).
    pub log_x: bool,
    /// x is a count (rounds): ticks at whole numbers only.
    pub integer_x: bool,
    /// Fixed y range instead of the data's.
    pub y_range: Option<(f64, f64)>,
}

/// A linear axis over [lo, hi] whose ticks (and grid lines) are exactly `ticks` (plotters'
/// own key points on an f64 axis are fractional: rounds 1, 1.5, 2, …).
#[derive(Debug, Clone)]
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let f = (v - self.lo) / (self.hi - self.lo).max(1e-300);
        limit.0 + (f * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Bold grid lines at the ticks; no light ones in between.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Whole-number ticks over [x0, x1], at most about `n` of them, on an axis padded by a
/// quarter step at each end.
fn integer_axis(x0: f64, x1: f64, n: f64) -> Ticked {
    let step = ((x1 - x0) / n).ceil().max(1.0);
    let ticks = (0..).map(|k| x0.ceil() + k as f64 * step).take_while(|t| *t <= x1.floor() + 1e-9).collect();
    Ticked { lo: x0.floor() - 0.25, hi: x1.ceil() + 0.25, ticks }
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

/// Twelve distinguishable line colours (Tableau 10 plus two darker ones); series k takes
/// colour k, so up to twelve series never share one.
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
];

/// Fill of a cell without a value, and its hatch colour: light grey with a cross, so it can
/// never be mistaken for the scale's lowest colour.
const MISSING_FILL: RGBColor = RGBColor(246, 246, 246);
const MISSING_HATCH: RGBColor = RGBColor(175, 175, 175);

/// Estimated width in pixels of `text` at `font_px` (sans-serif averages ≈ 0.6 em per
/// character; the tests use the same estimate to check nothing leaves the canvas).
pub fn text_width_px(text: &str, font_px: f64) -> f64 {
    text.chars().count() as f64 * font_px * 0.6
}

/// plotters renders a font of size s at s / 1.24 px in SVG; sizes here are the rendered px.
fn font(px: f64) -> (&'static str, f64) {
    ("sans-serif", px * 1.24)
}

/// Draw `title` centred at the top of `area` (width `w`), shrinking the font and breaking
/// the line (at " — " or the space nearest the middle) so it fits; returns the height used.
fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    w: u32,
) -> crate::Result<u32> {
    let avail = w as f64 - 24.0;
    let mut lines = vec![title.to_string()];
    let mut px = 16.0;
    while text_width_px(title, px) > avail && px > 12.0 {
        px -= 1.0;
    }
    if text_width_px(title, px) > avail {
        px = 14.0;
        let cut = title.find(" — ").map(|i| (i, i + " — ".len())).or_else(|| {
            let mid = title.len() / 2;
            title
                .char_indices()
                .filter(|(_, c)| *c == ' ')
                .map(|(i, _)| i)
                .min_by_key(|i| i.abs_diff(mid))
                .map(|i| (i, i + 1))
        });
        if let Some((a, b)) = cut {
            lines = vec![title[..a].to_string(), title[b..].to_string()];
        }
        while lines.iter().any(|l| text_width_px(l, px) > avail) && px > 8.0 {
            px -= 1.0;
        }
    }
    let style = TextStyle::from(font(px)).pos(Pos::new(HPos::Center, VPos::Top)).color(&BLACK);
    for (k, l) in lines.iter().enumerate() {
        area.draw(&Text::new(l.clone(), ((w / 2) as i32, 8 + k as i32 * (px * 1.3) as i32), style.clone()))
            .map_err(err)?;
    }
    Ok(12 + (lines.len() as f64 * px * 1.3) as u32)
}

/// What a legend entry shows beside its label.
enum Mark {
    Line(RGBColor),
    Swatch(RGBColor),
    Band(RGBColor),
    Missing,
}

/// A legend in `area`, one entry per line from the top, with an optional heading.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    heading: Option<&str>,
    entries: &[(Mark, String)],
    top: i32,
) -> crate::Result<()> {
    let px = 12.0;
    let style = TextStyle::from(font(px)).pos(Pos::new(HPos::Left, VPos::Center)).color(&BLACK);
    let mut y = top;
    if let Some(h) = heading {
        area.draw(&Text::new(h.to_string(), (6, y), style.clone())).map_err(err)?;
        y += 20;
    }
    for (mark, label) in entries {
        match mark {
            Mark::Line(c) => area.draw(&PathElement::new(vec![(6, y), (28, y)], c.stroke_width(2))).map_err(err)?,
            Mark::Swatch(c) => area.draw(&Rectangle::new([(6, y - 6), (28, y + 6)], c.filled())).map_err(err)?,
            Mark::Band(c) => {
                area.draw(&Rectangle::new([(6, y - 6), (28, y + 6)], c.mix(0.25).filled())).map_err(err)?
            }
            Mark::Missing => {
                area.draw(&Rectangle::new([(6, y - 6), (28, y + 6)], MISSING_FILL.filled())).map_err(err)?;
                area.draw(&Rectangle::new([(6, y - 6), (28, y + 6)], MISSING_HATCH.stroke_width(1))).map_err(err)?;
                area.draw(&PathElement::new(vec![(6, y - 6), (28, y + 6)], MISSING_HATCH.stroke_width(1)))
                    .map_err(err)?;
                area.draw(&PathElement::new(vec![(6, y + 6), (28, y - 6)], MISSING_HATCH.stroke_width(1)))
                    .map_err(err)?;
            }
        }
        area.draw(&Text::new(label.clone(), (36, y), style.clone())).map_err(err)?;
        y += 20;
    }
    Ok(())
}

/// Width of a legend column holding these labels (and heading).
fn legend_width(labels: impl Iterator<Item = usize>, heading: Option<&str>) -> u32 {
    let chars = labels.chain(heading.map(|h| h.chars().count())).max().unwrap_or(0);
    (48.0 + text_width_px(&"m".repeat(chars), 12.0)).ceil() as u32
}

/// Heatmap panels side by side with a shared colour scale and its legend (a colour bar or
/// swatches) at the right; cells without a value are hatched grey and listed in the legend
/// as `missing` when any occurs.
pub fn heatmaps(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    scale: &ColorScale,
    missing: &str,
    panels: &[Panel],
) -> crate::Result<()> {
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let any_missing = panels.iter().flat_map(|p| p.values.iter().flatten()).any(|v| {
        v.is_none_or(|v| matches!(scale, ColorScale::Discrete { levels, .. } if !levels.iter().any(|l| l.0 == v)))
    });
    let mut legend: Vec<(Mark, String)> = Vec::new();
    if let ColorScale::Discrete { levels, .. } = scale {
        let n = levels.len().max(2) - 1;
        legend
            .extend(levels.iter().enumerate().map(|(k, (_, l))| (Mark::Swatch(color(k as f64 / n as f64)), l.clone())));
    }
    if any_missing {
        legend.push((Mark::Missing, missing.to_string()));
    }
    let heading = match scale {
        ColorScale::Continuous { desc, .. } | ColorScale::Discrete { desc, .. } => desc.as_str(),
    };
    let bar_w = match scale {
        ColorScale::Continuous { .. } => 110,
        ColorScale::Discrete { .. } => 0,
    };
    let side_w = legend_width(
        legend.iter().map(|e| e.1.chars().count()),
        matches!(scale, ColorScale::Discrete { .. }).then_some(heading),
    )
    .max(bar_w);
    let (w, h) = (420 * cols as u32 + side_w, 360 * rows as u32 + 70);
    // Drawn into a temporary file renamed over `path` once complete: a kill never leaves half
    // an SVG.
    let tmp = crate::util::fs::partial_path(path);
    let root = SVGBackend::new(&tmp, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let top = draw_title(&root, title, w)?;
    let (_, body) = root.split_vertically(top);
    let (main, side) = body.split_horizontally(w - side_w);
    let areas = main.split_evenly((rows, cols));
    let level_color = |v: f64| -> Option<RGBColor> {
        match scale {
            ColorScale::Continuous { range, .. } => Some(color((v - range.0) / (range.1 - range.0).max(1e-300))),
            ColorScale::Discrete { levels, .. } => {
                let n = levels.len().max(2) - 1;
                levels.iter().position(|l| l.0 == v).map(|k| color(k as f64 / n as f64))
            }
        }
    };
    for (p, area) in panels.iter().zip(areas.iter()) {
        let (nx, ny) = (p.x_labels.len().max(1), p.y_labels.len().max(1));
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, font(13.0))
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(52)
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
            .label_style(font(10.0))
            .axis_desc_style(font(11.0))
            .draw()
            .map_err(err)?;
        let mut cells = Vec::new();
        let mut hatch = Vec::new();
        for (j, row) in p.values.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                let (x, y) = (i as f64, j as f64);
                match v.and_then(level_color) {
                    Some(c) => cells.push(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], c.filled())),
                    None => {
                        cells.push(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], MISSING_FILL.filled()));
                        hatch.push(PathElement::new(vec![(x + 0.2, y + 0.2), (x + 0.8, y + 0.8)], MISSING_HATCH));
                        hatch.push(PathElement::new(vec![(x + 0.2, y + 0.8), (x + 0.8, y + 0.2)], MISSING_HATCH));
                    }
                }
            }
        }
        chart.draw_series(cells).map_err(err)?;
        chart.draw_series(hatch).map_err(err)?;
    }
    match scale {
        ColorScale::Continuous { range, desc } => {
            let (bar, rest) = side.split_vertically((h - top) * 2 / 3);
            // A narrow bar, however wide the legend below it is.
            let (bar, _) = bar.split_horizontally(bar_w);
            let mut cb = ChartBuilder::on(&bar)
                .margin_top(30)
                .margin_bottom(10)
                .margin_right(8)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..1.0, range.0..range.1)
                .map_err(err)?;
            cb.configure_mesh()
                .disable_mesh()
                .disable_x_axis()
                .y_desc(desc.as_str())
                .y_labels(6)
                .label_style(font(10.0))
                .axis_desc_style(font(10.0))
                .draw()
                .map_err(err)?;
            let steps = 64;
            cb.draw_series((0..steps).map(|k| {
                let a = range.0 + (range.1 - range.0) * k as f64 / steps as f64;
                let b = range.0 + (range.1 - range.0) * (k + 1) as f64 / steps as f64;
                Rectangle::new([(0.0, a), (1.0, b)], color(k as f64 / (steps - 1) as f64).filled())
            }))
            .map_err(err)?;
            draw_legend(&rest, None, &legend, 16)?;
        }
        ColorScale::Discrete { desc, .. } => draw_legend(&side, Some(desc), &legend, 40)?,
    }
    root.present().map_err(err)?;
    crate::util::fs::commit_partial(&tmp, path)
}

/// Tick positions for a log axis over [lo, hi]: 1-2-5 steps of each decade, or every
/// integer multiple (1..9) when the range spans less than one 1-2-5 step.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let pick = |mults: &[f64]| -> Vec<f64> {
        let mut v = Vec::new();
        let mut e = lo.log10().floor() as i32 - 1;
        while 10f64.powi(e) <= hi * 1.000001 {
            for m in mults {
                let t = m * 10f64.powi(e);
                if t >= lo * 0.999999 && t <= hi * 1.000001 {
                    v.push(t);
                }
            }
            e += 1;
        }
        v
    };
    let v = pick(&[1.0, 2.0, 5.0]);
    if v.len() >= 3 {
        return v;
    }
    pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

/// A tick label with as few digits as it needs (0.05, 0.2, 1, 20, 1e+05).
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// Line chart: series with optional bands, axis descriptions with units, the legend in a
/// column right of the plot (never over the data). Shorthand for [`lines_with`].
pub fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_x: bool,
) -> crate::Result<()> {
    lines_with(path, title, x_desc, y_desc, series, Axes { log_x, ..Axes::default() })
}

/// Data range of the series and bands: (x0, x1, y0, y1), y padded by 5 %.
fn data_range(series: &[Series]) -> crate::Result<(f64, f64, f64, f64)> {
    let pts = || series.iter().flat_map(|s| s.points.iter().copied());
    let band_pts =
        || series.iter().filter_map(|s| s.band.as_ref()).flatten().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
    let all: Vec<(f64, f64)> = pts().chain(band_pts()).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    if all.is_empty() {
        return Err(crate::Error::Unsupported("plot: nothing to draw".into()));
    }
    let (x0, mut x1, mut y0, mut y1) = all
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
    Ok((x0, x1, y0, y1))
}

/// Line chart with axis options (see [`Axes`]).
pub fn lines_with(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    axes: Axes,
) -> crate::Result<()> {
    let (mut x0, x1, mut y0, mut y1) = data_range(series)?;
    if let Some((a, b)) = axes.y_range {
        (y0, y1) = (a, b);
    }
    let mut legend = Vec::new();
    for (k, s) in series.iter().enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        legend.push((Mark::Line(c), s.name.clone()));
        if s.band.is_some() {
            legend.push((Mark::Band(c), s.band_label.clone().unwrap_or_else(|| format!("{}: band", s.name))));
        }
    }
    let side_w = legend_width(legend.iter().map(|e| e.1.chars().count()), None);
    let w = 700 + side_w;
    let h = 520;
    // Drawn into a temporary file renamed over `path` once complete: a kill never leaves half
    // an SVG.
    let tmp = crate::util::fs::partial_path(path);
    let root = SVGBackend::new(&tmp, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let top = draw_title(&root, title, w)?;
    let (_, body) = root.split_vertically(top);
    let (plot, side) = body.split_horizontally(w - side_w);
    draw_legend(&side, None, &legend, 30)?;
    macro_rules! draw {
        ($chart:expr, $xfmt:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(y_desc)
                .x_label_formatter($xfmt)
                .label_style(font(11.0))
                .axis_desc_style(font(12.0))
                .light_line_style(RGBColor(240, 240, 240))
                .draw()
                .map_err(err)?;
            for (k, s) in series.iter().enumerate() {
                let c = PALETTE[k % PALETTE.len()];
                if let Some(b) = &s.band {
                    let mut poly: Vec<(f64, f64)> = b.iter().map(|&(x, _, hi)| (x, hi)).collect();
                    poly.extend(b.iter().rev().map(|&(x, lo, _)| (x, lo)));
                    chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.25).filled()))).map_err(err)?;
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
                chart.draw_series(LineSeries::new(pts, c.stroke_width(2))).map_err(err)?;
                if !s.step {
                    chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
                }
            }
        }};
    }
    let mut b = ChartBuilder::on(&plot);
    b.margin(12).margin_top(4).x_label_area_size(46).y_label_area_size(64);
    let fmt = |v: &f64| tick_label(*v);
    if axes.log_x {
        x0 = x0.max(1e-12);
        // A little room at both ends so the extreme points are not on the frame.
        let (lo, hi) = (x0 / 1.08, x1 * 1.08);
        let ticks = log_ticks(lo, hi);
        draw!(b.build_cartesian_2d((lo..hi).log_scale().with_key_points(ticks), y0..y1).map_err(err)?, &fmt);
    } else if axes.integer_x {
        let ifmt = |v: &f64| format!("{v:.0}");
        draw!(b.build_cartesian_2d(integer_axis(x0, x1, 10.0), y0..y1).map_err(err)?, &ifmt);
    } else {
        draw!(b.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?, &fmt);
    }
    root.present().map_err(err)?;
    crate::util::fs::commit_partial(&tmp, path)
}

/// Small multiples: one panel per series (own y range, its band shaded, its own colour), in
/// a grid of up to four columns, x at whole numbers when `integer_x`.
pub fn small_multiples(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    integer_x: bool,
) -> crate::Result<()> {
    if series.is_empty() {
        return Err(crate::Error::Unsupported("plot: nothing to draw".into()));
    }
    let cols = series.len().clamp(1, 4);
    let rows = series.len().div_ceil(cols);
    let (w, h) = (300 * cols as u32, 230 * rows as u32 + 60);
    // Drawn into a temporary file renamed over `path` once complete: a kill never leaves half
    // an SVG.
    let tmp = crate::util::fs::partial_path(path);
    let root = SVGBackend::new(&tmp, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let top = draw_title(&root, title, w)?;
    let (_, body) = root.split_vertically(top);
    for (k, (s, area)) in series.iter().zip(body.split_evenly((rows, cols)).iter()).enumerate() {
        let c = PALETTE[k % PALETTE.len()];
        let (x0, x1, y0, y1) = data_range(std::slice::from_ref(s))?;
        let axis = if integer_x {
            integer_axis(x0, x1, 5.0)
        } else {
            Ticked { lo: x0, hi: x1, ticks: (0..=4).map(|k| x0 + (x1 - x0) * k as f64 / 4.0).collect() }
        };
        let mut chart = ChartBuilder::on(area)
            .caption(&s.name, font(12.0))
            .margin(6)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d(axis, y0..y1)
            .map_err(err)?;
        let xfmt = |v: &f64| if integer_x { format!("{v:.0}") } else { tick_label(*v) };
        let yfmt = |v: &f64| tick_label(*v);
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .y_labels(5)
            .label_style(font(9.0))
            .axis_desc_style(font(10.0))
            .light_line_style(RGBColor(244, 244, 244))
            .draw()
            .map_err(err)?;
        if let Some(b) = &s.band {
            let mut poly: Vec<(f64, f64)> = b.iter().map(|&(x, _, hi)| (x, hi)).collect();
            poly.extend(b.iter().rev().map(|&(x, lo, _)| (x, lo)));
            chart.draw_series(std::iter::once(Polygon::new(poly, c.mix(0.25).filled()))).map_err(err)?;
        }
        chart.draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2))).map_err(err)?;
        chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
    }
    root.present().map_err(err)?;
    crate::util::fs::commit_partial(&tmp, path)
}

/// Give the points of a chart written by [`lines`] hover labels: the k-th point marker
/// (`<circle>`, in the order the series' points were drawn) gets an SVG `<title>` with
/// `titles[k]`, which browsers show on hover. The marker count must equal the title count.
pub fn add_point_titles(path: &Path, titles: &[String]) -> crate::Result<()> {
    let io = |e: std::io::Error| crate::Error::Io { path: path.display().to_string(), source: e };
    let svg = std::fs::read_to_string(path).map_err(io)?;
    let markers = svg.matches("<circle").count();
    if markers != titles.len() {
        return Err(crate::Error::Unsupported(format!(
            "plot: {} has {markers} point markers for {} labels",
            path.display(),
            titles.len()
        )));
    }
    let escape = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::with_capacity(svg.len() + titles.iter().map(|t| t.len() + 24).sum::<usize>());
    let mut rest = svg.as_str();
    for t in titles {
        let start = rest.find("<circle").unwrap_or(rest.len());
        let end = rest[start..].find("/>").map_or(rest.len(), |e| start + e);
        out.push_str(&rest[..end]);
        out.push_str(&format!("><title>{}</title></circle>", escape(t)));
        rest = &rest[(end + 2).min(rest.len())..];
    }
    out.push_str(rest);
    crate::util::fs::write_atomic(path, out.as_bytes())
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
        let scale = ColorScale::Continuous { range: (0.0, 1.0), desc: "probability".into() };
        heatmaps(&f, "P(meets budgets)", "hidden", "layers", &scale, "no design", &[p.clone(), p]).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.contains("<svg") && text.contains("E=8, K=1") && text.contains("probability"));
        let f = dir.path().join("l.svg");
        let s = Series {
            name: "front".into(),
            points: vec![(1.0, 3.0), (2.0, 2.8), (4.0, 2.7)],
            band: Some(vec![(1.0, 2.9, 3.1), (2.0, 2.7, 2.9), (4.0, 2.6, 2.8)]),
            band_label: Some("5–95 % band".into()),
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

    #[test]
    fn log_ticks_cover_sub_unit_ranges() {
        // 0.2 GB to 15 GB: ticks below 1 as well as above (the old axis labelled only 1..10).
        assert_eq!(log_ticks(0.2, 15.0), vec![0.2, 0.5, 1.0, 2.0, 5.0, 10.0]);
        // Less than one 1-2-5 step: every integer multiple.
        assert_eq!(log_ticks(2.5, 4.5), vec![3.0, 4.0]);
        assert_eq!(tick_label(0.2), "0.2");
        assert_eq!(tick_label(10.0), "10");
        assert_eq!(tick_label(0.05), "0.05");
    }

    #[test]
    fn palette_colours_are_distinct() {
        for (i, a) in PALETTE.iter().enumerate() {
            for b in &PALETTE[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
