"""Every case of the fault and bad-input campaign (`bench/reliability.py`), one test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reliability import CASES, Workspace, run_case

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(Path(tmp_path_factory.mktemp("reliability")))


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(workspace: Workspace, name: str) -> None:
    problem = run_case(CASES[name], workspace)
    assert problem is None, problem
