//! The crate is layered: every top-level module of `src/` may use only modules below it
//! (docs/architecture.md draws the layers). This test reads each module's `crate::…`
//! references (in `use` lines and in paths) and fails on any cycle between top-level modules,
//! naming the cycle and the files that close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules: `src/NAME.rs` and `src/NAME/`, without the crate root and the binary.
fn modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if p.is_dir() || (p.extension().is_some_and(|x| x == "rs") && name != "lib" && name != "main") {
            out.insert(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without `//` comments (doc comments included), so that prose naming a
/// module is not a dependency.
fn strip_comments(text: &str) -> String {
    text.lines().map(|l| l.find("//").map_or(l, |i| &l[..i])).collect::<Vec<_>>().join("\n")
}

/// Top-level module names a piece of code refers to through `crate::`: `crate::a::…` gives
/// `a`; `crate::{a::…, b, c::{…}}` gives `a`, `b` and `c` (only the group's first level).
fn referenced(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in code.match_indices("crate::") {
        // `$crate::` and `foo_crate::` are not this crate's paths.
        if code[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut start) = (0usize, 0usize);
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(group[start..k].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(group[start..k].trim()));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// module → (used module → first file that uses it).
fn graph(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mods = modules(src);
    let mut g = BTreeMap::new();
    for m in &mods {
        let dir = src.join(m);
        let root = if dir.is_dir() { dir } else { src.join(format!("{m}.rs")) };
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.sort();
        let edges: &mut BTreeMap<String, String> = g.entry(m.clone()).or_default();
        for f in files {
            let code = strip_comments(&std::fs::read_to_string(&f).unwrap());
            for r in referenced(&code) {
                if r != *m && mods.contains(&r) {
                    let rel = f.strip_prefix(src.parent().unwrap()).unwrap().display().to_string();
                    edges.entry(r).or_insert(rel);
                }
            }
        }
    }
    g
}

/// One cycle, if any: depth-first search with the path on a stack.
fn find_cycle(g: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        v: &str,
        g: &BTreeMap<String, BTreeMap<String, String>>,
        mark: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        mark.insert(v.to_string(), Mark::Open);
        path.push(v.to_string());
        for w in g.get(v).into_iter().flat_map(|e| e.keys()) {
            match mark.get(w).copied().unwrap_or(Mark::New) {
                Mark::Open => {
                    let i = path.iter().position(|p| p == w).unwrap();
                    let mut c = path[i..].to_vec();
                    c.push(w.clone());
                    return Some(c);
                }
                Mark::New => {
                    if let Some(c) = visit(w, g, mark, path) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        mark.insert(v.to_string(), Mark::Done);
        None
    }
    let mut mark = BTreeMap::new();
    for v in g.keys() {
        if mark.get(v).copied().unwrap_or(Mark::New) == Mark::New {
            if let Some(c) = visit(v, g, &mut mark, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn no_cycle_between_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    assert!(g.len() > 10, "found only {} modules under src/", g.len());
    if let Some(c) = find_cycle(&g) {
        let steps: Vec<String> =
            c.windows(2).map(|w| format!("{} → {} (in {})", w[0], w[1], g[&w[0]][&w[1]])).collect();
        panic!("module cycle {}:\n  {}", c.join(" → "), steps.join("\n  "));
    }
}

#[test]
fn the_core_uses_nothing_above_it() {
    // The lowest layer: error types, precision and the generic helpers.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    for (m, allowed) in [("error", &[][..]), ("precision", &["error"][..]), ("util", &["error"][..])] {
        let uses: Vec<&String> = g[m].keys().filter(|u| !allowed.contains(&u.as_str())).collect();
        assert!(uses.is_empty(), "core module `{m}` uses {uses:?}");
    }
}

#[test]
fn references_are_parsed() {
    let r = referenced("use crate::{error::{Error, Result}, law::LossLaw, space};\nlet x = crate::cost::f();");
    assert_eq!(r.into_iter().collect::<Vec<_>>(), ["cost", "error", "law", "space"]);
    let mut g = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        g.entry(a.to_string()).or_insert_with(BTreeMap::new).insert(b.to_string(), String::new());
    }
    let c = find_cycle(&g).expect("a → b → c → a");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
    g.get_mut("c").unwrap().clear();
    assert!(find_cycle(&g).is_none());
}
