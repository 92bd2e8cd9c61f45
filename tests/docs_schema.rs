//! The file formats are documented where a user looks, field by field (issue 18: the
//! architecture-file format was documented nowhere, the hardware schema lacked what
//! `colaw calibrate` writes, `docs/instances.md` did not point to the paper's space, and the
//! README's performance table quoted numbers no script produced). Each check reads the page
//! and compares it with what the code and the shipped files actually use, so a new field or a
//! hand-edited table fails here. (That every command on these pages runs is
//! scripts/doc-commands.py's job.)

mod common;
use colaw::architecture::{parse_arch_str, ArchFile};
use colaw::error::Origin;
use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The body of the first fenced block of `lang` in a Markdown page.
fn first_block(page: &str, lang: &str) -> String {
    let open = format!("```{lang}\n");
    let start = page.find(&open).unwrap_or_else(|| panic!("no ```{lang} block")) + open.len();
    let len = page[start..].find("```").expect("unclosed block");
    page[start..start + len].to_string()
}

/// Dotted paths of every leaf of a TOML table.
fn leaves(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(x, &p, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn has_path(v: &toml::Value, path: &str) -> bool {
    path.split('.').try_fold(v, |v, k| v.get(k)).is_some()
}

#[test]
fn every_architecture_file_field_is_in_docs_architectures() {
    let page = read("docs/architectures.md");
    let example = first_block(&page, "toml");
    // The page's example is itself a valid architecture file.
    parse_arch_str(&example, "toml", &Origin::file("docs/architectures.md"))
        .unwrap_or_else(|e| panic!("docs/architectures.md's example does not load: {e}"));
    // Every field of the schema, with every optional one set, is in the example and the table.
    let full: ArchFile = toml::from_str(
        "name = 'a'\nsource = 'b'\npublished_params = 1\nlayers = 1\nhidden = 64\nheads = 1\nkv_heads = 1\n\
         head_dim = 64\nffn = 64\nexperts = 1\nactive_experts = 1\nvocab = 8\ntied_embeddings = true\nqkv_bias = true\n",
    )
    .unwrap();
    let fields = serde_json::to_value(&full).unwrap();
    let fields: Vec<&String> = fields.as_object().unwrap().keys().collect();
    assert!(fields.len() >= 14, "{fields:?}");
    let example: toml::Value = toml::from_str(&example).unwrap();
    for f in fields {
        assert!(example.get(f).is_some(), "docs/architectures.md: the example lacks `{f}`");
        assert!(page.contains(&format!("`{f}`")), "docs/architectures.md: the field table lacks `{f}`");
    }
    // The README sends readers there.
    assert!(read("README.md").contains("docs/architectures.md"), "README.md does not link docs/architectures.md");
}

/// Whether the hardware README documents the key `path` (dotted): in its schema example or
/// as a row of its field table.
fn hardware_key_documented(schema: &toml::Value, page: &str, path: &str) -> bool {
    let mut parts = path.splitn(2, '.');
    let (top, rest) = (parts.next().unwrap(), parts.next());
    match (top, rest) {
        // Free-form keys: one per sourced figure.
        ("sources", Some(_)) => true,
        // One key per compute type, from the documented list.
        ("peak_tflops", Some(dtype)) => page.contains("keys only among") && page.contains(dtype),
        _ => has_path(schema, path) || page.contains(&format!("`{path}`")),
    }
}

#[test]
fn every_hardware_key_shipped_or_written_by_calibrate_is_in_the_hardware_readme() {
    let page = read("models/hardware/README.md");
    let schema: toml::Value = toml::from_str(&first_block(&page, "toml")).expect("the schema block is valid TOML");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/hardware");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    // And what `colaw calibrate` writes today ([efficiency.*], [overhead], [calibration]).
    let tmp = tempfile::tempdir().unwrap();
    let calibrated = tmp.path().join("calibrated.toml");
    let o = common::colaw(&[
        "calibrate",
        "--hardware",
        "nvidia-h100-sxm",
        "data/measurements/h100_latency.csv",
        "--engine",
        "cudagraph",
        "--folds",
        "2",
        "--out",
        calibrated.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    files.push(calibrated);
    let mut seen = Vec::new();
    for f in &files {
        let v: toml::Value = toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let mut keys = Vec::new();
        leaves(&v, "", &mut keys);
        for k in keys {
            assert!(
                hardware_key_documented(&schema, &page, &k),
                "models/hardware/README.md does not document `{k}` (used by {})",
                f.display()
            );
            seen.push(k);
        }
    }
    // The tables calibrate writes are among those checked.
    for k in [
        "calibration.data_sha256",
        "calibration.cv_mape_percent",
        "overhead.per_moe_layer_ms",
        "efficiency.moe.compute",
    ] {
        assert!(seen.iter().any(|s| s == k), "no checked file has `{k}`");
    }
}

#[test]
fn docs_instances_points_to_the_papers_space() {
    let page = read("docs/instances.md");
    assert!(page.contains("instances/paper/"), "docs/instances.md does not name instances/paper/");
    let n = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("instances/paper"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert!(n > 0, "instances/paper/ holds no instance");
}

/// Literal pieces of a shell here-document line, split at its substitutions (`$(…)`,
/// `${…}`, `$NAME`), with `\`` unescaped.
fn template_pieces(line: &str) -> Vec<String> {
    let line = line.replace("\\`", "`");
    let b = line.as_bytes();
    let (mut pieces, mut cur, mut i) = (Vec::new(), String::new(), 0);
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            let end = match b[i + 1] {
                b'(' => {
                    let mut depth = 0;
                    let mut j = i + 1;
                    loop {
                        match b[j] {
                            b'(' => depth += 1,
                            b')' => depth -= 1,
                            _ => {}
                        }
                        if depth == 0 {
                            break j + 1;
                        }
                        j += 1;
                    }
                }
                b'{' => i + 1 + line[i + 1..].find('}').unwrap() + 1,
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    i + 1
                        + line[i + 1..]
                            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                            .unwrap_or(b.len() - i - 1)
                }
                _ => {
                    cur.push('$');
                    i += 1;
                    continue;
                }
            };
            pieces.push(std::mem::take(&mut cur));
            i = end;
        } else {
            let c = line[i..].chars().next().unwrap();
            cur.push(c);
            i += c.len_utf8();
        }
    }
    pieces.push(cur);
    pieces
}

/// Whether `text` is the template line with something substituted for each gap.
fn matches_template(pieces: &[String], text: &str) -> bool {
    let Some(mut rest) = text.strip_prefix(pieces[0].as_str()) else { return false };
    for (k, p) in pieces.iter().enumerate().skip(1) {
        if k == pieces.len() - 1 {
            return rest.ends_with(p.as_str()) && rest.len() > p.len();
        }
        // A gap holds at least one character.
        match rest.get(1..).and_then(|r| r.find(p.as_str())) {
            Some(j) => rest = &rest[1 + j + p.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn the_readme_performance_table_is_the_output_of_perf_table_sh() {
    assert_eq!(template_pieces("a $(f \"$x\") b ${y}c $Z."), ["a ", " b ", "c ", "."]);
    assert!(matches_template(&template_pieces("| x | $(f) ms |"), "| x | 0.7 ms |"));
    assert!(!matches_template(&template_pieces("| x | $(f) ms |"), "| x | ms |"));
    assert!(!matches_template(&template_pieces("| x | $(f) ms |"), "| y | 35 ms |"));
    let script = read("scripts/perf-table.sh");
    let begin = "<!-- perf-table:begin -->";
    let end = "<!-- perf-table:end -->";
    let block = |s: &str, what: &str| -> Vec<String> {
        let a = s.find(begin).unwrap_or_else(|| panic!("{what}: no {begin}"));
        let b = s[a..].find(end).unwrap_or_else(|| panic!("{what}: no {end}")) + a;
        s[a..b + end.len()].lines().map(str::to_string).collect()
    };
    // The here-document the script fills in (its header comment names the markers too).
    let heredoc = script.find("<<EOF\n").expect("scripts/perf-table.sh: no here-document");
    let template = block(&script[heredoc..], "scripts/perf-table.sh");
    let readme = block(&read("README.md"), "README.md");
    assert_eq!(template.len(), readme.len(), "README.md's table has other rows than scripts/perf-table.sh writes");
    for (t, r) in template.iter().zip(&readme) {
        assert!(
            matches_template(&template_pieces(t), r),
            "README.md's performance table was edited by hand, not written by scripts/perf-table.sh:\n  \
             template: {t}\n  README:   {r}"
        );
    }
}
