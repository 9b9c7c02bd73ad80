"""Kept validation checkpoints and `nmtcli average`."""

from __future__ import annotations

import torch
from safetensors.torch import load_file

from tests.conftest import train_tiny


def test_validations_keep_their_weights_and_average_makes_a_model(cli, trained_model, tmp_path):
    kept = sorted(p.name for p in trained_model.glob("step-*.safetensors"))
    assert kept == ["step-100.safetensors", "step-200.safetensors", "step-300.safetensors"]
    last = load_file(str(trained_model / "step-300.safetensors"))
    assert all(
        (last[k] == v).all() for k, v in load_file(str(trained_model / "last.safetensors")).items()
    )
    result = cli("average", trained_model, tmp_path / "avg", "--last", "2")
    assert result.exit_code == 0, result.output
    assert "steps 200, 300" in result.stdout
    averaged = load_file(str(tmp_path / "avg" / "model.safetensors"))
    before = load_file(str(trained_model / "step-200.safetensors"))
    for name, tensor in averaged.items():
        assert torch.allclose(tensor, (before[name] + last[name]) / 2, atol=1e-6), name
    assert "average of 2 checkpoints" in (tmp_path / "avg" / "MODEL_CARD.md").read_text()
    translated = cli("translate", "-m", tmp_path / "avg", "old red house")
    assert translated.exit_code == 0, translated.output
    again = cli("average", trained_model, tmp_path / "avg")
    assert again.exit_code == 1 and "--force" in again.output


def test_keep_checkpoints_bounds_what_is_kept(cli, tiny_corpus, tmp_path):
    output = tmp_path / "run"
    train_tiny(cli, tiny_corpus, output, "rnn", "--max-steps", "60", "--valid-every", "20",
               "--keep-checkpoints", "2")  # fmt: skip
    assert sorted(p.name for p in output.glob("step-*")) == [
        "step-40.safetensors",
        "step-60.safetensors",
    ]
    none = tmp_path / "none"
    train_tiny(cli, tiny_corpus, none, "rnn", "--max-steps", "20", "--valid-every", "10",
               "--keep-checkpoints", "0")  # fmt: skip
    assert not list(none.glob("step-*"))
    result = cli("average", none, tmp_path / "avg")
    assert result.exit_code == 1
    assert "0 validation checkpoint(s) kept" in result.output


def test_export_step_writes_the_weights_of_that_validation(cli, trained_model, tmp_path):
    result = cli("export", trained_model, tmp_path / "s200", "--step", "200")
    assert result.exit_code == 0, result.output
    exported = load_file(str(tmp_path / "s200" / "model.safetensors"))
    kept = load_file(str(trained_model / "step-200.safetensors"))
    assert exported.keys() <= kept.keys()
    assert all(torch.equal(exported[name], kept[name]) for name in exported)
    card = (tmp_path / "s200" / "MODEL_CARD.md").read_text()
    assert "step 200" in card
    assert card.startswith("# s200\n")  # titled by its own name, not the staging directory's
    missing = cli("export", trained_model, tmp_path / "s150", "--step", "150")
    assert missing.exit_code == 1
    assert "no weights kept for step 150; kept: 100, 200, 300" in missing.output
