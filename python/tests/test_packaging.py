"""The two ways to build the wheel (`pip install ./python` and `pip install .` from the
repository root) describe the same package: same [project] table, same compiled module and
build profile, one pointing at the other's crate and Python sources."""

import tomllib

from conftest import ROOT


def test_root_and_python_pyproject_agree():
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pkg = tomllib.loads((ROOT / "python" / "pyproject.toml").read_text())
    assert root["build-system"] == pkg["build-system"]
    assert root["project"] == pkg["project"]
    for key in ("module-name", "profile", "features"):
        assert root["tool"]["maturin"][key] == pkg["tool"]["maturin"][key], key
    assert (ROOT / root["tool"]["maturin"]["manifest-path"]).resolve() == (ROOT / "python" / "Cargo.toml").resolve()
    assert (ROOT / root["tool"]["maturin"]["python-source"] / "colaw" / "__init__.py").is_file()
