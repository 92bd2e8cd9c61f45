#!/usr/bin/env python3
"""Doc test: run every command the README and the reference pages show, as written.

Extracts each command line from the shell code blocks of README.md, docs/*.md and the
READMEs under models/, measure/ and data/measurements/ (lines that start with `colaw`,
`cargo`, `python3`, `bash`, `scripts/` or `target/release/`, with backslash continuations
joined), substitutes shipped files for the placeholders the docs use (INSTANCE.toml,
SAMPLES.csv, ...), shrinks the settings that only make a command slow (bootstrap counts,
repeats) and runs each one with bash in a scratch copy of the repository's tracked files, so
no command can overwrite a shipped file. `colaw` is the release binary (built first if
missing). Commands run in document order, so one that reads what an earlier one wrote (a fit's
samples, a calibrated hardware file) finds it.

Commands that need a GPU, torch, a device or a long run are skipped; every skip is printed
with its reason. Exit status: 0 when every command that ran exited 0, 1 otherwise.

Usage: python3 scripts/doc-commands.py [--list] [--only SUBSTRING] [--keep]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The pages whose commands are tested.
PAGES = ["README.md", "docs/*.md", "models/*/README.md", "measure/README.md", "data/measurements/README.md"]

# A command line starts with one of these words (after `$ ` and `nice -n 19`).
COMMAND_START = re.compile(r"^(colaw|cargo|python3|bash|scripts/\S+|target/release/\S+)(\s|$)")

# Placeholders the docs use, and the shipped file (or value) each stands for.
PLACEHOLDERS = [
    ("INSTANCE.toml", "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml"),
    ("INSTANCE", "instances/paper/table5-jetson-orin-nx-16gb-embodied.toml"),
    # Bootstrap samples of the paper law (the law of the instance above), shipped with the
    # robust benchmark family.
    ("SAMPLES.csv", "instances/bench/robust/robust-s2026-00000-law-samples.csv"),
    ("S.csv", "instances/bench/robust/robust-s2026-00000-law-samples.csv"),
    ("CAL.csv", "data/measurements/h100_cudagraph_cal_samples.csv"),
    ("my-design.toml", "models/archs/Llama-3.2-1B.toml"),
    # Rows of trained models with the paper law's columns: the real GPU loop's initial rows.
    ("rows.csv", "data/oracle/gpu-loop/init.csv"),
    ("$SLURM_ARRAY_TASK_ID", "0"),
    ("$OUT", "out"),
    # Files the docs put under /tmp go to the scratch copy instead.
    ("/tmp/", "tmp/"),
]

# Settings that only make a command slower: (pattern, replacement). Each keeps what the
# command does and shrinks how much of it.
SMALL = [
    (r"--bootstrap \d+", "--bootstrap 20"),
    (r"--repeat \d+", "--repeat 1"),
    (r"--datasets \d+", "--datasets 2"),
    (r"--time-limit \d+", "--time-limit 2"),
    # One instance of the robust family instead of twelve (the robust MIP takes seconds each).
    (r"instances/bench/robust/\*\.toml", "instances/bench/robust/robust-s2026-00000.toml"),
]

# A documented command must not write into these folders of the repository (it would replace a
# shipped hardware file, instance or data set for everyone who runs it).
INPUT_DIRS = ("models/", "instances/", "data/")

# (substring of the command, reason): commands not run. Checked in order, first match wins.
SKIPS = [
    ("scripts/test.sh", "the test suite itself (this script runs inside it)"),
    ("scripts/run.sh", "the main job: `colaw solve` of the same instance runs below; run.sh rebuilds in place"),
    ("scripts/fresh-check.sh", "long-running: a clean clone and a from-scratch build (minutes)"),
    ("cargo build", "setup: this script builds the release binary first and puts `colaw` on PATH"),
    ("cargo bench", "long-running: criterion benchmarks (minutes)"),
    ("scripts/bench-readme.sh", "long-running: the benchmarks behind the README table (minutes)"),
    ("scripts/calibration-bench.py", "long-running: the calibration study (5-28 min per line)"),
    ("scripts/gen-paper-instances.sh", "rewrites instances/paper/ (tests/solve_paper.rs checks the shipped files instead)"),
    ("train_tiny.py", "needs a GPU and torch (the training oracle)"),
    ("cargo-afl", "setup of the fuzzer: installs a crate and builds AFL++ (minutes, needs the registry)"),
    ("fuzz/run", "long-running: the fuzzing campaign (tests/fuzz_corpus.rs replays its seeds instead)"),
    ("measure/harness.py --self-check", "needs a GPU and torch"),
    ("measure/harness.py --exclude", "needs a GPU and torch"),
    ("measure/harness.py --only", "needs a GPU and torch"),
    ("measure/harness.py --cpu", "needs torch"),
    ("measure/llamacpp", "needs a built llama.cpp on the device"),
    ("instances/bench/{paper,multi,infeasible,tight,large}", "long-running: the whole benchmark (the `large` family alone takes minutes)"),
    ("trained.csv", "needs the user's own trained-model data and a GPU oracle"),
]


def is_synopsis(cmd):
    """A usage synopsis ([--flag VALUE], alternatives, ellipses), not a runnable command."""
    words = cmd.replace("=", " ").split()
    # A whole argument in capitals (LAW, DATA.csv, DIR) is a placeholder left unfilled.
    unfilled = any(re.fullmatch(r"[A-Z][A-Z_]+(\.\w+)?/?", w) for w in words)
    return "[--" in cmd or "…" in cmd or " | " in cmd or unfilled


def extract(path):
    """(line number, command) for every command line of the page's shell code blocks."""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    in_block, lang = False, ""
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^\s*```(\S*)", line)
        if fence:
            in_block = not in_block
            lang = fence.group(1) if in_block else ""
            i += 1
            continue
        if not in_block or lang not in ("", "sh", "bash", "shell", "console"):
            i += 1
            continue
        start = i
        text = line
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        s = text.strip()
        if s.startswith("$ "):
            s = s[2:]
        s = re.sub(r"^nice -n \d+ ", "", s)
        if COMMAND_START.match(s):
            out.append((start + 1, s))
    return out


def prepare(cmd):
    """The command with placeholders replaced and small settings; None if it is a synopsis."""
    # Drop a trailing comment (after two spaces and #) so it cannot hide a placeholder check.
    body = re.split(r"\s+#\s", cmd, maxsplit=1)[0].strip()
    for a, b in PLACEHOLDERS:
        body = re.sub(r"(?<![\w/.-])" + re.escape(a) + r"(?![\w])", b, body)
    if is_synopsis(body):
        return None
    # `cargo run` would rebuild the crate from the scratch copy: run the built targets instead.
    body = re.sub(r"^cargo run --release --example (\S+)( --)?", r"target/release/examples/\1", body)
    body = re.sub(r"^cargo run --release( --bin colaw)?( --quiet)? --", "colaw", body)
    for pat, rep in SMALL:
        body = re.sub(pat, rep, body)
    return body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="list the commands and skips, run nothing")
    ap.add_argument("--only", help="run only commands containing this substring")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per command")
    args = ap.parse_args()

    import glob

    pages = []
    for pat in PAGES:
        pages += sorted(glob.glob(os.path.join(REPO, pat)))
    commands = []
    for p in pages:
        rel = os.path.relpath(p, REPO)
        commands += [(rel, n, c) for n, c in extract(p)]

    binary = os.path.join(REPO, "target", "release", "colaw")
    if not args.list:
        # Up to date with the sources (a no-op after `cargo test --release --all-targets`).
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bins", "--examples"], cwd=REPO, check=True)

    scratch = tempfile.mkdtemp(prefix="colaw-doc-")
    work = os.path.join(scratch, "repo")
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "colaw"), "w") as f:
        f.write('#!/bin/sh\nexec "%s" "$@"\n' % binary)
    os.chmod(os.path.join(bindir, "colaw"), 0o755)
    if not args.list:
        files = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, check=True, capture_output=True,
        ).stdout.split(b"\0")
        for f in files:
            f = f.decode()
            src = os.path.join(REPO, f)
            if not f or not os.path.isfile(src):
                continue
            dst = os.path.join(work, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
        shipped = {f.decode() for f in files if f}
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
        os.makedirs(os.path.join(work, "out"), exist_ok=True)
        # Built examples, for the docs' `target/release/examples/...` lines.
        os.makedirs(os.path.join(work, "target"), exist_ok=True)
        os.symlink(os.path.join(REPO, "target", "release"), os.path.join(work, "target", "release"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""), COLAW_NO_PROGRESS="1")
    env["CARGO_TARGET_DIR"] = os.path.join(REPO, "target")

    def inputs_state():
        """(size, mtime) of every shipped input file (models/, instances/, data/) in the copy."""
        st = {}
        for f in shipped if not args.list else ():
            if f.startswith(INPUT_DIRS):
                try:
                    x = os.stat(os.path.join(work, f))
                    st[f] = (x.st_size, x.st_mtime_ns)
                except FileNotFoundError:
                    st[f] = None
        return st

    ran = failed = skipped = 0
    failures = []
    t_all = time.time()
    before = inputs_state()
    for page, line, cmd in commands:
        where = f"{page}:{line}"
        if args.only and args.only not in cmd:
            continue
        reason = next((r for s, r in SKIPS if s in cmd), None)
        body = None if reason else prepare(cmd)
        if reason is None and body is None:
            reason = "usage synopsis, not a command"
        if reason:
            skipped += 1
            print(f"skip  {where}: {cmd[:100]}\n      reason: {reason}")
            continue
        if args.list:
            print(f"run   {where}: {body}")
            continue
        t0 = time.time()
        try:
            p = subprocess.run(["bash", "-c", body], cwd=work, env=env, capture_output=True,
                               text=True, timeout=args.timeout)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, out = "timeout", f"over {args.timeout:.0f} s"
        dt = time.time() - t0
        ran += 1
        after = inputs_state()
        touched = sorted(f for f in after if after[f] != before.get(f))
        if touched and rc == 0:
            rc, out = "0 but", "overwrote shipped input file(s): " + ", ".join(touched)
        before = after
        if rc == 0:
            print(f"ok    {where} ({dt:.1f} s): {body[:110]}")
        else:
            failed += 1
            failures.append(where)
            tail = "\n".join("      | " + l for l in out.strip().split("\n")[-12:])
            print(f"FAIL  {where} (exit {rc}, {dt:.1f} s): {body}\n{tail}")
        sys.stdout.flush()
    if args.keep:
        print(f"scratch folder kept: {work}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"doc commands: {ran} ran, {failed} failed, {skipped} skipped ({time.time() - t_all:.0f} s)")
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
