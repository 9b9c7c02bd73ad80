"""Crash consistency: kill training at every write point of a checkpoint, resume, compare.

A run is trained to step 2, then continued to step 6 (validating every 2 steps) three ways:
uninterrupted (the reference), and once per write point of the step-4 checkpoint, killed
there (`NMTCLI_FAULT_AT`, which exits like SIGKILL) and resumed. Every resumed run must end
with the reference's files: the same best and last weights, the same validation records
(none lost, none twice), and no temporary or pending file left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nmtcli.modeldir import ModelDir
from tests.conftest import REPO, TINY_MODELS, TINY_TRAIN_ARGS

pytestmark = pytest.mark.slow
RECORD_FIELDS = ("step", "epoch", "train_loss", "valid_loss", "valid_bleu", "best", "tokens")


def _nmtcli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nmtcli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ | (env or {}),
        check=False,
    )


def _resume(directory: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return _nmtcli("train", "--resume", directory, "--max-steps", "6", env=env)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, tiny_corpus: Path) -> Path:
    """A run stopped at step 2, just after its first checkpoint."""
    output = tmp_path_factory.mktemp("faults") / "base"
    result = _nmtcli(
        "train",
        tiny_corpus,
        "-o",
        output,
        *TINY_TRAIN_ARGS,
        *TINY_MODELS["rnn"],
        "--dropout",
        "0.3",
        "--early-stop-metric",
        "loss",
        "--valid-every",
        "2",
        "--max-steps",
        "2",
    )
    assert result.returncode == 0, result.stderr
    return output


@pytest.fixture(scope="module")
def reference(base: Path) -> tuple[Path, list[str]]:
    """The run continued to step 6 without interruption, and the write points it passed."""
    output = base.parent / "reference"
    shutil.copytree(base, output)
    log = base.parent / "points.log"
    result = _resume(output, env={"NMTCLI_FAULT_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    return output, log.read_text().splitlines()


def _checkpoint_points(points: list[str]) -> list[int]:
    """The write points up to the end of the first checkpoint after resuming (step 4)."""
    numbers = []
    for line in points:
        number, label = line.split("\t")
        numbers.append(int(number))
        if label == "metrics.jsonl moved into place":
            break
    return numbers


def test_the_fault_log_sees_every_file_of_a_checkpoint(reference):
    _, points = reference
    labels = [line.split("\t")[1] for line in points]
    for name in ("last.safetensors", "model.safetensors", "metrics.jsonl"):
        assert f".{name}.pending-4 written, not renamed" in labels, name
        assert f"{name} moved into place" in labels, name
    assert "train_state.pt written, not renamed" in labels
    assert len(_checkpoint_points(points)) <= 16


def _records(directory: Path) -> list[tuple]:
    lines = (directory / "metrics.jsonl").read_text().splitlines()
    return [tuple(json.loads(line)[key] for key in RECORD_FIELDS) for line in lines]


def _same(first: Path, second: Path) -> bool:
    a, b = load_file(str(first)), load_file(str(second))
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("index", range(16))
def test_killed_at_any_checkpoint_write_resumes_to_the_same_model(base, reference, index):
    ref, points = reference
    numbers = _checkpoint_points(points)
    if index >= len(numbers):
        pytest.skip(f"the checkpoint has {len(numbers)} write points")
    run = base.parent / f"killed-{index}"
    shutil.copytree(base, run)
    killed = _resume(run, env={"NMTCLI_FAULT_AT": str(numbers[index])})
    assert killed.returncode == 137, killed.stderr
    resumed = _resume(run)
    assert resumed.returncode == 0, resumed.stderr
    model_dir = ModelDir.load(run)
    model_dir.build()
    model_dir.load_train_state(torch.device("cpu"))
    assert _records(run) == _records(ref)
    assert model_dir.warnings == []
    assert _same(run / "model.safetensors", ref / "model.safetensors")
    assert _same(run / "last.safetensors", ref / "last.safetensors")
    best = [r for r in model_dir.metrics() if r.best][-1]
    state = model_dir.load_train_state(torch.device("cpu"))
    assert state["progress"]["best_step"] == best.step
    leftovers = [p.name for p in run.iterdir() if p.name.endswith(".tmp") or ".pending-" in p.name]
    assert leftovers == []
