//! The repository stands alone: no tracked file names an absolute path of the machine it was
//! written on (a home, a work tree, a mount) or a folder beside the repository. Run-time
//! defaults under the system temp folder (`/tmp/...`) are allowed: they name no machine.

use std::path::{Path, PathBuf};

/// Top-level folders that only exist on the machine a file was written on.
const MACHINE_ROOTS: [&str; 8] = ["work", "root", "home", "Users", "mnt", "media", "srv", "scratch"];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Build output and VCS internals are not tracked files.
        if matches!(name.as_ref(), "target" | ".git" | "__pycache__" | ".whl" | "out") {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The offending fragments of one text: `/<machine-root>/…` not preceded by a path or word
/// character (so `a/home/b` or a relative `data/<root>/x` are not flagged), and the shared folder beside the
/// repository.
fn offending(text: &str, here: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('/') {
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        if before.is_ascii_alphanumeric() || matches!(before, b'_' | b'.' | b'-' | b'/' | b'$' | b'}' | b'~') {
            continue;
        }
        let rest = &text[i + 1..];
        for root in MACHINE_ROOTS {
            if rest.starts_with(root) && rest[root.len()..].starts_with('/') {
                found.push(text[i..].chars().take(60).take_while(|c| !c.is_whitespace()).collect());
            }
        }
    }
    let beside = ["..", "/shared"].concat();
    for (i, _) in text.match_indices(&beside) {
        found.push(text[i..].chars().take(60).take_while(|c| !c.is_whitespace()).collect());
    }
    if !here.is_empty() {
        for (i, _) in text.match_indices(here) {
            found.push(text[i..].chars().take(60).collect());
        }
    }
    found
}

#[test]
fn the_detector_flags_machine_paths_and_spares_the_rest() {
    let w = ["/", "work", "/shared/data/x.csv"].concat();
    let r = ["\"/", "root", "/out/a.csv\""].concat();
    assert_eq!(offending(&w, "").len(), 1);
    assert_eq!(offending(&r, "").len(), 1);
    assert_eq!(offending(&["see ..", "/shared/x"].concat(), "").len(), 1);
    let relative = ["data", "/work", "/x"].concat();
    for ok in ["/tmp/colaw-cache", relative.as_str(), "$OUT/journal", "~/home/x", "a/home/b", "https://x.org/home/y"] {
        assert!(offending(ok, "").is_empty(), "{ok} was flagged");
    }
}

#[test]
fn no_file_names_a_path_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = root.display().to_string();
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut bad = Vec::new();
    for path in files {
        // Only text is scanned; binary files (images, wheels) cannot hold a readable path.
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let rel = path.strip_prefix(root).unwrap().display().to_string();
        if rel == "Cargo.lock" {
            continue;
        }
        for hit in offending(&text, &here) {
            bad.push(format!("{rel}: {hit}"));
        }
    }
    assert!(bad.is_empty(), "files name paths outside the repository (use a path relative to it):\n{}", bad.join("\n"));
}
