"""The benchmark scripts stay runnable: each imports and answers --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    path.stem for path in (REPO / "bench").glob("*.py") if path.stem not in {"__init__", "common"}
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_answers_help(script):
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{script}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()
