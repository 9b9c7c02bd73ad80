"""Fine-tuning with --init-from: the parent's weights, fresh training state, --freeze, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import tiny_pairs, write_tsv
from safetensors.torch import load_file

from nmtcli.modeldir import ModelDir
from nmtcli.training.data import collate, encode_corpus, epoch_batches, split_off_valid
from nmtcli.training.loss import smoothed_loss

FINE = ["--max-steps", "6", "--valid-every", "3", "--valid-size", "50", "--log-every", "1000"]
FINE += ["--batch-tokens", "600", "--no-transforms", "--dropout", "0"]


@pytest.fixture
def new_data(tmp_path: Path) -> Path:
    """Another sample of the word-substitution task (the 'new domain')."""
    return write_tsv(tmp_path / "new.tsv", tiny_pairs(400, seed=7))


def records(model: Path) -> list[dict]:
    return [json.loads(line) for line in (model / "metrics.jsonl").read_text().splitlines()]


def test_fine_tuning_starts_from_the_parents_weights(cli, trained_model, new_data, tmp_path):
    child = tmp_path / "child"
    args = ["train", new_data, "--init-from", trained_model, "-o", child, *FINE, "--lr", "1e-12"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    parent_dir, run = ModelDir.load(trained_model), ModelDir.load(child).run
    assert run.model == replace(parent_dir.run.model, dropout=0.0)
    # The loss of the first steps (the learning rate is too small to move a weight) is the
    # parent's loss on those same batches.
    pairs = [tuple(line.split("\t")) for line in new_data.read_text().splitlines()]
    corpus = encode_corpus(iter(pairs), parent_dir.vocabulary(), keep_text=False)
    train_indices, _ = split_off_valid(len(corpus), 50, run.train.seed)
    data = corpus.subset(train_indices, keep_text=False)
    parent = parent_dir.build()
    parent.eval()
    loss = tokens = 0.0
    with torch.no_grad():
        for indices in epoch_batches(data, 600, run.train.seed, 0)[:3]:
            batch = collate(data, indices)
            logits, _ = parent(batch)
            loss_sum, _, count = smoothed_loss(logits, batch.tgt_out, run.train.label_smoothing)
            loss, tokens = loss + float(loss_sum), tokens + count
    assert records(child)[0]["train_loss"] == pytest.approx(loss / tokens, abs=2e-3)
    fresh = tmp_path / "fresh"
    result = cli("train", new_data, "-o", fresh, *FINE, "--arch", parent_dir.run.model.arch)
    assert records(fresh)[0]["train_loss"] > records(child)[0]["train_loss"] + 1


def test_training_state_starts_fresh(cli, trained_model, new_data, tmp_path):
    child = tmp_path / "child"
    result = cli("train", new_data, "--init-from", trained_model, "-o", child, *FINE)
    assert result.exit_code == 0, result.output
    steps = [r["step"] for r in records(child)]
    assert steps == [3, 6]  # counted from 0, not from the parent's 300
    assert records(child)[0]["best"] is True  # the parent's best score is not carried over
    state = torch.load(child / "train_state.pt", weights_only=False)
    assert state["progress"]["step"] == 6
    card = (child / "MODEL_CARD.md").read_text()
    assert f"fine-tuned from `{trained_model.parent.name}/{trained_model.name}`" in card
    assert "300 steps" in card
    config = json.loads((child / "config.json").read_text())
    assert config["lineage"][0]["steps"] == 300
    assert config["train"]["init_from"] == str(trained_model.resolve())
    resumed = cli("train", "--resume", child, "--max-steps", "9")
    assert resumed.exit_code == 0, resumed.output
    assert [r["step"] for r in records(child)] == [3, 6, 9]


def test_fine_tuning_defaults_transforms_off_and_the_measured_rate_and_schedule(
    cli, trained_model, new_data, tmp_path
):
    quick = [a for a in FINE if a != "--no-transforms"]
    for name, extra, expected in (("plain", [], False), ("asked", ["--transforms"], True)):
        child = tmp_path / name
        result = cli("train", new_data, "--init-from", trained_model, "-o", child, *quick, *extra)
        assert result.exit_code == 0, result.output
        train = json.loads((child / "config.json").read_text())["train"]
        assert train["transforms"] is expected
        if "transformer" in trained_model.name:  # the measured fine-tuning rate and schedule
            assert train["lr"] == 2e-3 and "fine-tuning rate" in train["derived"]["lr"]
            assert train["scheduler"] == "linear" and "scheduler" in train["derived"]
        else:
            assert train["lr"] is None and train["scheduler"] == "auto"


@pytest.mark.parametrize("frozen", ["encoder", "embeddings,decoder:1"])
def test_frozen_tensors_stay_bit_identical(cli, trained_model, new_data, tmp_path, frozen):
    child = tmp_path / "child"
    result = cli(
        "train", new_data, "--init-from", trained_model, "-o", child, *FINE, "--freeze", frozen
    )
    assert result.exit_code == 0, result.output
    assert "frozen (" in result.stderr
    model = ModelDir.load(child).build()
    before, after = (
        load_file(trained_model / "model.safetensors"),
        load_file(child / "last.safetensors"),
    )
    wanted = [
        (p.split(":")[0], int(p.split(":")[1]) if ":" in p else None) for p in frozen.split(",")
    ]
    same = changed = 0
    for name, tensor in after.items():
        part, layer = model.part_of(name)
        held = any(
            part == w and (n is None or (layer is not None and layer < n)) for w, n in wanted
        )
        if held:
            assert torch.equal(tensor, before[name].to(tensor.dtype)), name
            same += 1
        else:
            changed += not torch.equal(tensor, before[name].to(tensor.dtype))
    assert same and changed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layers", "5"], "keeps its parent's architecture"),
        (["--vocab", "."], "drop --vocab"),
        (["--freeze", "wings"], "not one of embeddings, encoder, decoder"),
    ],
)
def test_a_mismatch_is_a_one_line_error(cli, trained_model, new_data, tmp_path, extra, message):
    result = cli("train", new_data, "--init-from", trained_model, "-o", tmp_path / "c", *extra)
    assert result.exit_code == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "c").exists()


def test_an_unknown_parent_is_a_one_line_error(cli, new_data, tmp_path):
    result = cli("train", new_data, "--init-from", tmp_path / "nothing", "-o", tmp_path / "c")
    assert result.exit_code == 1
    assert "not a model directory or a shipped model's name" in result.stderr


def test_mixing_in_the_parents_corpus(cli, trained_model, new_data, tmp_path):
    child = tmp_path / "child"
    args = ("train", new_data, "--init-from", trained_model, "-o", child, *FINE)
    result = cli(*args, "--mix-parent", "0.5", "--max-steps", "2")
    assert result.exit_code == 0, result.output
    assert "mixing in 360 pairs of the parent's corpus (" in result.stderr  # 360 new, 40 held out
    assert json.loads((child / "config.json").read_text())["data"]["train_pairs"] == 720
    assert cli("train", "--resume", child, "--max-steps", "4").exit_code == 0
    alone = cli("train", new_data, "-o", tmp_path / "x", "--mix-parent", "0.2")
    assert alone.exit_code == 1 and "mix-parent needs --init-from" in alone.stderr


def test_average_with_the_parent_interpolates_its_weights(cli, trained_model, new_data, tmp_path):
    child = tmp_path / "child"
    assert cli("train", new_data, "--init-from", trained_model, "-o", child, *FINE).exit_code == 0
    out = tmp_path / "soup"
    result = cli("average", child, out, "--last", "1", "--parent", "0.25", "--half")
    assert result.exit_code == 0, result.output
    assert "step 6, interpolated with the parent" in result.stdout
    parent, step = (
        load_file(trained_model / "model.safetensors"),
        load_file(child / "step-6.safetensors"),
    )
    mixed = load_file(out / "model.safetensors")
    for name, tensor in mixed.items():
        expected = 0.25 * parent[name].float() + 0.75 * step[name].float()
        assert tensor.dtype == torch.float16 and torch.allclose(tensor.float(), expected, atol=2e-3)
    assert cli("translate", "-m", out, "old red house").exit_code == 0
    alone = cli("average", trained_model, tmp_path / "a", "--last", "1", "--parent", "0.5")
    assert alone.exit_code == 1 and "not fine-tuned (no --init-from)" in alone.output
    one = cli("average", child, tmp_path / "b", "--last", "1")
    assert one.exit_code == 1 and "two or more, or one with --parent" in one.output
