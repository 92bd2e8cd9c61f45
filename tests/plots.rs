//! Every SVG the commands write (`region`, `pareto`, `loop`, `bench --profile`), rendered on
//! shipped instances with small settings and checked as a document: it parses as XML, its
//! axes carry descriptions, and no text element reaches outside the canvas (text extents
//! estimated as font size × 0.6 per character, the estimate `colaw::plot` lays out with).
//! Then the specific faults each plot once had, each as an assertion.

mod common;
use common::{colaw, colaw_json};
use std::path::{Path, PathBuf};

const INSTANCE: &str = "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml";
const SAMPLES: &str = "instances/bench/robust/robust-s2026-00000-law-samples.csv";

/// One `<text>` element: position attributes, rotation and its text.
#[derive(Debug)]
struct Text {
    x: f64,
    y: f64,
    font_px: f64,
    anchor: String,
    dy: String,
    rotate: Option<(f64, f64, f64)>,
    content: String,
}

/// A parsed SVG: canvas size and its text elements.
struct Svg {
    width: f64,
    height: f64,
    texts: Vec<Text>,
}

impl Svg {
    fn contents(&self) -> Vec<&str> {
        self.texts.iter().map(|t| t.content.as_str()).collect()
    }
    fn has(&self, s: &str) -> bool {
        self.texts.iter().any(|t| t.content == s)
    }
}

fn decode_entities(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').ok_or_else(|| format!("unterminated entity in {s:?}"))?;
        let ent = &rest[i + 1..i + end];
        out.push(match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).map_err(|_| format!("bad entity &{e};"))?)
                    .ok_or("bad char")?
            }
            e if e.starts_with('#') => {
                char::from_u32(e[1..].parse().map_err(|_| format!("bad entity &{e};"))?).ok_or("bad char")?
            }
            e => return Err(format!("unknown entity &{e};")),
        });
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Attributes of a start tag's inner text (after the name): name="value" pairs, all quoted.
fn attributes(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(|| format!("attribute without value: {rest:?}"))?;
        let name = rest[..eq].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || "-_:".contains(c)) {
            return Err(format!("bad attribute name {name:?}"));
        }
        let after = rest[eq + 1..].trim_start();
        let q = after.chars().next().ok_or("missing value")?;
        if q != '"' && q != '\'' {
            return Err(format!("unquoted attribute {name}"));
        }
        let close = after[1..].find(q).ok_or_else(|| format!("unterminated value of {name}"))?;
        out.push((name.to_string(), decode_entities(&after[1..1 + close])?));
        rest = after[close + 2..].trim_start();
    }
    Ok(out)
}

/// A small well-formedness check (balanced, properly nested tags; quoted attributes; valid
/// entities; one root element) that also collects what the checks below need.
fn parse_svg(text: &str) -> Result<Svg, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = text;
    let (mut width, mut height) = (0.0, 0.0);
    let mut texts = Vec::new();
    let mut open_text: Option<(Vec<(String, String)>, String)> = None;
    while let Some(lt) = rest.find('<') {
        let chars = &rest[..lt];
        if chars.contains('>') {
            return Err(format!("stray '>' in character data {chars:?}"));
        }
        let decoded = decode_entities(chars)?;
        if stack.is_empty() && !decoded.trim().is_empty() {
            return Err("text outside the root element".into());
        }
        if let Some((_, buf)) = open_text.as_mut() {
            buf.push_str(&decoded);
        }
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            let end = rest.find("-->").ok_or("unterminated comment")?;
            rest = &rest[end + 3..];
            continue;
        }
        if rest.starts_with("<?") {
            let end = rest.find("?>").ok_or("unterminated declaration")?;
            rest = &rest[end + 2..];
            continue;
        }
        let gt = rest.find('>').ok_or("unterminated tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().ok_or_else(|| format!("closing </{name}> without an open tag"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}>"));
            }
            if name.trim() == "text" {
                let (attrs, content) = open_text.take().ok_or("</text> without <text>")?;
                texts.push(text_element(&attrs, content.trim())?);
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        if name.is_empty() {
            return Err("empty tag name".into());
        }
        let attrs = attributes(&tag[name_end..])?;
        if stack.is_empty() {
            roots += 1;
            if name != "svg" {
                return Err(format!("root element <{name}>"));
            }
            let get = |k: &str| attrs.iter().find(|a| a.0 == k).and_then(|a| a.1.parse::<f64>().ok());
            width = get("width").ok_or("svg without a numeric width")?;
            height = get("height").ok_or("svg without a numeric height")?;
        }
        if !self_closing {
            if name == "text" {
                open_text = Some((attrs, String::new()));
            }
            stack.push(name.to_string());
        }
    }
    if !rest.trim().is_empty() {
        return Err("text after the root element".into());
    }
    if !stack.is_empty() || roots != 1 {
        return Err(format!("unclosed elements {stack:?} or {roots} roots"));
    }
    Ok(Svg { width, height, texts })
}

fn text_element(attrs: &[(String, String)], content: &str) -> Result<Text, String> {
    let get = |k: &str| attrs.iter().find(|a| a.0 == k).map(|a| a.1.clone());
    let num = |k: &str| -> Result<f64, String> {
        get(k).ok_or_else(|| format!("<text> without {k}"))?.parse().map_err(|_| format!("<text> {k} not a number"))
    };
    let rotate = match get("transform") {
        Some(t) => {
            let inner = t.trim().strip_prefix("rotate(").and_then(|s| s.strip_suffix(')')).ok_or("transform")?;
            let v: Vec<f64> = inner.split(',').map(|x| x.trim().parse().unwrap_or(f64::NAN)).collect();
            Some((v[0], v[1], v[2]))
        }
        None => None,
    };
    Ok(Text {
        x: num("x")?,
        y: num("y")?,
        font_px: num("font-size")?,
        anchor: get("text-anchor").unwrap_or_else(|| "start".into()),
        dy: get("dy").unwrap_or_default(),
        rotate,
        content: content.to_string(),
    })
}

/// The corners of a text element's estimated box, after its rotation.
fn corners(t: &Text) -> [(f64, f64); 4] {
    let w = t.content.chars().count() as f64 * t.font_px * 0.6;
    let x0 = match t.anchor.as_str() {
        "middle" => t.x - w / 2.0,
        "end" => t.x - w,
        _ => t.x,
    };
    // plotters' vertical anchors: dy 0.76em hangs the text below y, -0.5ex sits it above y,
    // and no dy puts the baseline at y.
    let (y0, y1) = if t.dy.contains("0.76em") {
        (t.y, t.y + t.font_px)
    } else if t.dy.starts_with('-') {
        (t.y - t.font_px, t.y)
    } else {
        (t.y - 0.8 * t.font_px, t.y + 0.2 * t.font_px)
    };
    let pts = [(x0, y0), (x0 + w, y0), (x0, y1), (x0 + w, y1)];
    match t.rotate {
        None => pts,
        Some((deg, cx, cy)) => {
            let (s, c) = deg.to_radians().sin_cos();
            pts.map(|(x, y)| (cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c))
        }
    }
}

/// Parse one SVG and check the rules every plot must follow; `axes` lists axis descriptions
/// that must appear as text.
fn check(path: &Path, axes: &[&str]) -> Svg {
    let text = std::fs::read_to_string(path).unwrap();
    let svg = parse_svg(&text).unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
    assert!(svg.width > 0.0 && svg.height > 0.0);
    for t in &svg.texts {
        for (x, y) in corners(t) {
            assert!(
                (-1.0..=svg.width + 1.0).contains(&x) && (-1.0..=svg.height + 1.0).contains(&y),
                "{}: text {:?} reaches ({x:.0}, {y:.0}), outside the {}×{} canvas",
                path.display(),
                t.content,
                svg.width,
                svg.height
            );
        }
    }
    for a in axes {
        assert!(svg.has(a), "{}: no axis label {a:?} among {:?}", path.display(), svg.contents());
    }
    // A y-axis description is rotated; at least one must be words, not a number.
    assert!(
        svg.texts.iter().any(|t| t.rotate.is_some() && t.content.chars().any(char::is_alphabetic)),
        "{}: no rotated (y-axis) description",
        path.display()
    );
    svg
}

fn svgs_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .collect();
    v.sort();
    v
}

#[test]
fn parser_rejects_broken_documents() {
    assert!(parse_svg("<svg width='1' height='1'><text x='0' y='0' font-size='1'>a</text></svg>").is_ok());
    assert!(parse_svg("<svg width='1' height='1'><g></svg>").is_err());
    assert!(parse_svg("<svg width='1' height='1'><g x=1/></svg>").is_err());
    assert!(parse_svg("<svg width='1' height='1'>a & b</svg>").is_err());
    assert!(parse_svg("<svg width='1' height='1'></svg><svg width='1' height='1'></svg>").is_err());
    // A 10-character label at 10 px anchored at the right edge's centre runs 30 px over.
    let t = Text {
        x: 100.0,
        y: 50.0,
        font_px: 10.0,
        anchor: "middle".into(),
        dy: String::new(),
        rotate: None,
        content: "abcdefghij".into(),
    };
    assert_eq!(corners(&t)[1].0, 130.0);
    // Rotated by 270° about its anchor: 60 px wide becomes 60 px tall, centred on y.
    let r = Text { rotate: Some((270.0, 100.0, 50.0)), dy: "0.76em".into(), ..t };
    let ys: Vec<f64> = corners(&r).iter().map(|c| c.1).collect();
    let (lo, hi) = (ys.iter().copied().fold(f64::MAX, f64::min), ys.iter().copied().fold(f64::MIN, f64::max));
    assert!((lo - 20.0).abs() < 1e-9 && (hi - 80.0).abs() < 1e-9, "{lo} {hi}");
}

#[test]
fn region_maps_and_budget_maps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("region");
    let o = out.to_str().unwrap();
    let args = ["region", INSTANCE, "--samples", SAMPLES, "--target-loss", "3.2", "--budget-grid", "6", "--out", o];
    let run = colaw(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // Progress is for terminals only: piped, region's stderr carries no spinner.
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!err.contains("region:") && !err.contains('\r'), "progress output when piped: {err:?}");
    let files = svgs_in(&out);
    let names: Vec<_> = files.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
    assert_eq!(
        names,
        [
            "budget_map_experts.svg",
            "budget_map_layers.svg",
            "budget_map_loss.svg",
            "map_feasible.svg",
            "map_optimal.svg",
            "map_target.svg"
        ]
    );
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        if name.starts_with("budget_map") {
            check(f, &["budget on TPOT (ms)", "memory budget (GB)"]);
        } else {
            let svg = check(f, &["hidden size d", "layers l"]);
            // The instance's 20 ms TPOT budget rules out the deepest wide designs in every
            // draw: those cells are hatched and the legend says so (not drawn as P = 0).
            assert!(svg.has("no design meets the budgets in any draw"), "{name}: {:?}", svg.contents());
        }
    }
    // The experts map: one swatch per expert count of the space, no colour bar.
    let experts = check(&out.join("budget_map_experts.svg"), &[]);
    for l in ["dense", "8 experts", "16 experts"] {
        assert!(experts.has(l), "{:?}", experts.contents());
    }
    assert!(!experts.has("15.0") && !experts.has("10.0"), "a colour bar: {:?}", experts.contents());
    // The memory axis ends at the device's usable memory (Orin NX: 16 GB less its 2 GB
    // reserve_gb, the share solve's device budget allows), not at the largest design: no cell
    // picks a design that solve would call infeasible.
    let csv = std::fs::read_to_string(out.join("budget_map.csv")).unwrap();
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "memory_budget_bytes").unwrap();
    let max_mem = rows.map(|r| r.split(',').nth(col).unwrap().parse::<f64>().unwrap()).fold(0.0, f64::max);
    assert!(max_mem <= 14e9 && max_mem > 8e9, "memory axis up to {max_mem} bytes on a 14 GB usable share");
}

#[test]
fn pareto_fronts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mem");
    colaw_json(&["pareto", INSTANCE, "--x", "memory", "--log-x", "--samples", SAMPLES, "--out", out.to_str().unwrap()]);
    let svg = check(&out.join("front.svg"), &["memory (GB)", "predicted loss (nats)"]);
    assert!(!svg.texts.iter().any(|t| t.content.contains("memory_bytes")), "{:?}", svg.contents());
    // The front starts near 0.2 GB: the log axis labels ticks below 1 GB.
    assert!(svg.has("0.5") && svg.has("1") && svg.has("10"), "{:?}", svg.contents());
    assert!(svg.has("5–95 % loss over the coefficient samples"), "no band in the legend: {:?}", svg.contents());
    let out = dir.path().join("tpot");
    colaw_json(&["pareto", INSTANCE, "--x", "tpot", "--out", out.to_str().unwrap()]);
    let svg = check(&out.join("front.svg"), &["TPOT (ms)", "predicted loss (nats)"]);
    assert!(!svg.texts.iter().any(|t| t.content.contains("tpot_ms")), "{:?}", svg.contents());
}

#[test]
fn loop_figures() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j");
    let data = dir.path().join("init.csv");
    let o = colaw(&[
        "loop",
        "--instance",
        INSTANCE,
        "--data",
        data.to_str().unwrap(),
        "--init",
        "12",
        "--rounds",
        "3",
        "--stop-confidence",
        "0.999",
        "--oracle",
        "synthetic:paper:noise=0.005:seed=1",
        "--journal",
        j.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conf = check(&j.join("confidence.svg"), &["round", "share of coefficient samples"]);
    // Rounds are whole numbers: ticks 1, 2, 3 and nothing in between.
    assert!(conf.has("1") && conf.has("2") && conf.has("3"), "{:?}", conf.contents());
    assert!(!conf.texts.iter().any(|t| t.content == "1.5" || t.content == "2.5"), "{:?}", conf.contents());
    let coef = check(&j.join("coefficients.svg"), &["round"]);
    // One panel per coefficient of the paper law (11), each titled with its final value.
    let panels = coef.texts.iter().filter(|t| t.content.contains("(final ")).count();
    assert_eq!(panels, 11, "{:?}", coef.contents());
    // Each panel's line in a colour of its own (the old single chart repeated colours): 11
    // distinct stroke colours besides black and the light grid.
    let text = std::fs::read_to_string(j.join("coefficients.svg")).unwrap();
    let mut colours: Vec<&str> = text
        .match_indices("stroke=\"#")
        .map(|(i, m)| &text[i + m.len()..i + m.len() + 6])
        .filter(|c| {
            let ch = |k: usize| u8::from_str_radix(&c[k..k + 2], 16).unwrap();
            *c != "000000" && !(ch(0) >= 0xE0 && ch(2) >= 0xE0 && ch(4) >= 0xE0)
        })
        .collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), 11, "{colours:?}");
}

#[test]
fn bench_profile() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("b.csv");
    let prof = dir.path().join("profile.svg");
    let o = colaw(&[
        "bench",
        "instances/bench/paper/paper-s2026-00000.toml",
        "instances/bench/paper/paper-s2026-00001.toml",
        "--solvers",
        "enum,mip",
        "--repeat",
        "1",
        "--out",
        csv.to_str().unwrap(),
        "--profile",
        prof.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    check(&prof, &["τ: time / fastest solver's time (log)", "fraction of instances solved within τ"]);
}
