"""Shared fixtures: the repository root (tests run from anywhere) and the CLI binary that the
Rust build left in target/release (or $CARGO_TARGET_DIR/release), for cross-checks against
the command line."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# cargo's target folder: $CARGO_TARGET_DIR when set (relative to the root, as cargo reads it), else target/.
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
CLI = TARGET / "release" / "colaw"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    # Instance files and models/ resolve relative to the repository root, as for the CLI.
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="session")
def colaw_cli():
    """Run `colaw ARGS` (the release binary, built when missing) and parse its JSON."""
    exe = CLI
    if not exe.exists():
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    def run(*args):
        out = subprocess.run([str(exe), *map(os.fspath, args)], cwd=ROOT, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    return run
