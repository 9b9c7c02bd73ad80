"""The package declares every subpackage, and shipped models go into the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO


def test_every_subpackage_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(path.parent.relative_to(REPO).parts)
        for path in (REPO / "nmtcli").rglob("__init__.py")
    }
    assert found <= declared


def test_wheel_contains_the_shipped_models(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("nmtcli-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [p for p in (REPO / "models").glob("*/*") if p.is_file()]
    for path in shipped:
        assert f"nmtcli/shipped_models/{path.parent.name}/{path.name}" in names
    assert "nmtcli/cli/translate.py" in names
