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


def test_translate_speed_preloads_the_allocator_a_setting_names():
    from bench.translate_speed import allocator_env

    assert allocator_env("int8") == ("int8", {})
    with pytest.raises(SystemExit, match="unknown allocator"):
        allocator_env("int8+mimalloc")
    try:
        precision, env = allocator_env("ct2-int8+tcmalloc")
    except SystemExit as error:
        assert "not installed" in str(error)
    else:
        assert precision == "ct2-int8" and "tcmalloc" in env["LD_PRELOAD"]
