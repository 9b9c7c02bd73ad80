"""`nmtcli train`: model directory, resume, interrupts, safety, errors, configs, torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nmtcli.modeldir import ModelDir
from tests.conftest import REPO, TINY_MODELS, TINY_TRAIN_ARGS, tiny_pairs, train_tiny

RNN_WITH_NOISE = [*TINY_MODELS["rnn"], "--dropout", "0.3", "--teacher-forcing", "0.8"]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _same_weights(a: Path, b: Path) -> bool:
    left, right = _weights(a), _weights(b)
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def test_model_directory_is_complete(trained_model):
    for name in (
        "config.json",
        "model.safetensors",
        "last.safetensors",
        "train_state.pt",
        "metrics.jsonl",
        "vocab.json",
        "joint.model",
    ):
        assert (trained_model / name).is_file(), name
    config = json.loads((trained_model / "config.json").read_text())
    assert config["format_version"] == 2
    assert config["model"]["arch"] in ("rnn", "transformer")
    assert config["train"]["max_steps"] == 300
    assert config["data"]["valid_pairs"] == 100
    assert config["data"]["train_pairs"] == 1900
    records = [
        json.loads(line) for line in (trained_model / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in records] == [100, 200, 300]
    assert {
        "valid_loss",
        "valid_ppl",
        "valid_bleu",
        "train_loss",
        "lr",
        "tokens_per_second",
    } <= records[0].keys()
    assert max(r["valid_bleu"] for r in records) > 50  # the word-substitution task is learnt
    model = ModelDir.load(trained_model).build()
    assert not model.training


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(cli, tmp_path, tiny_corpus):
    args = [*RNN_WITH_NOISE, "--valid-every", "10"]
    train_tiny(cli, tiny_corpus, tmp_path / "whole", "rnn", *args, "--max-steps", "30")
    train_tiny(cli, tiny_corpus, tmp_path / "parts", "rnn", *args, "--max-steps", "20")
    assert not _same_weights(
        tmp_path / "whole" / "last.safetensors", tmp_path / "parts" / "last.safetensors"
    )
    result = cli("train", "--resume", tmp_path / "parts", "--max-steps", "30")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.stderr
    assert _same_weights(
        tmp_path / "whole" / "last.safetensors", tmp_path / "parts" / "last.safetensors"
    )
    assert _same_weights(
        tmp_path / "whole" / "model.safetensors", tmp_path / "parts" / "model.safetensors"
    )


def test_resume_refuses_to_change_the_architecture(cli, trained_model):
    result = cli("train", "--resume", trained_model, "--hidden-size", "8")
    assert result.exit_code == 1
    assert "only --" in result.stderr and "--hidden-size" in result.stderr


def _start(tmp_path: Path, corpus: Path, *extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "nmtcli",
        "train",
        str(corpus),
        "-o",
        str(tmp_path / "run"),
        *TINY_TRAIN_ARGS,
        *TINY_MODELS["rnn"],
        "--log-every",
        "0.05",
        *extra,
    ]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=REPO)


def _wait_for_steps(process: subprocess.Popen) -> list[str]:
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("step "):
            return lines
    raise AssertionError("training ended before reporting a step:\n" + "".join(lines))


def test_ctrl_c_saves_a_resumable_checkpoint(tmp_path, tiny_corpus):
    process = _start(tmp_path, tiny_corpus, "--max-steps", "100000")
    _wait_for_steps(process)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    assert f"resume with: nmtcli train --resume {tmp_path / 'run'}" in rest
    assert "Traceback" not in rest
    state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    step = state["progress"]["step"]
    assert step > 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nmtcli",
            "train",
            "--resume",
            str(tmp_path / "run"),
            "--max-steps",
            str(step + 5),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"after {step + 5} steps" in done.stderr


def test_killing_the_process_never_leaves_a_corrupt_checkpoint(tmp_path, tiny_corpus):
    process = _start(tmp_path, tiny_corpus, "--max-steps", "100000", "--valid-every", "2")
    _wait_for_steps(process)
    for _ in range(3):
        time.sleep(0.7)
        state = torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
        assert state["progress"]["step"] >= 0
        ModelDir.load(tmp_path / "run").build("last.safetensors")
    process.kill()
    process.wait()
    torch.load(tmp_path / "run" / "train_state.pt", weights_only=True)
    ModelDir.load(tmp_path / "run").build()


def test_refuses_to_overwrite_an_existing_directory_without_force(cli, tmp_path, tiny_corpus):
    output = tmp_path / "run"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    result = cli("train", tiny_corpus, "-o", output, *TINY_TRAIN_ARGS, "--max-steps", "2")
    assert result.exit_code == 1
    assert "--force" in result.stderr and "--resume" in result.stderr
    assert sorted(p.name for p in output.iterdir()) == ["notes.txt"]
    train_tiny(cli, tiny_corpus, output, "rnn", "--max-steps", "2", "--force")
    assert (output / "notes.txt").read_text() == "mine"  # --force replaces only nmtcli's files
    assert (output / "model.safetensors").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty corpus"), (b"a\tb\nno tab\n", "bad.tsv:2: missing tab")],
)
def test_bad_corpus_is_a_one_line_error(cli, tmp_path, content, message):
    (tmp_path / "bad.tsv").write_bytes(content)
    result = cli("train", tmp_path / "bad.tsv", "-o", tmp_path / "run", "--max-steps", "1")
    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_yaml_config_with_command_line_overrides(cli, tmp_path, tiny_corpus):
    config = tmp_path / "recipe.yaml"
    config.write_text(
        f"corpus: {tiny_corpus}\narch: rnn\nattention: bahdanau\nhidden-size: 48\nemb_size: 16\n"
        "vocab_size: 59\nmax_steps: 3\nvalid_size: 50\nmax_time: 10m\n"
    )
    result = cli("train", "--config", config, "-o", tmp_path / "run", "--hidden-size", "32")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["attention"] == "bahdanau"
    assert saved["model"]["hidden_size"] == 32  # the flag wins over the file
    assert saved["model"]["emb_size"] == 16
    assert saved["train"]["max_time"] == 600.0
    assert saved["train"]["max_steps"] == 3


def test_config_errors_are_clear(cli, tmp_path, tiny_corpus):
    bad = tmp_path / "bad.yaml"
    bad.write_text("arch: rnn\nhiden_size: 3\n")
    result = cli("train", tiny_corpus, "--config", bad, "-o", tmp_path / "r1")
    assert result.exit_code == 1
    assert "bad.yaml: unknown option(s): hiden_size" in result.stderr
    result = cli("train", tiny_corpus, "--arch", "rnn", "--d-model", "64", "-o", tmp_path / "r2")
    assert "option d-model does not apply to --arch rnn" in result.stderr
    bad.write_text("arch: [rnn\n")
    assert (
        "invalid YAML" in cli("train", tiny_corpus, "--config", bad, "-o", tmp_path / "r3").stderr
    )


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(
    cli, tmp_path, tiny_corpus, monkeypatch
):
    from nmtcli.training import trainer

    real = trainer.smoothed_loss
    calls = {"n": 0}

    def poisoned(logits, targets, smoothing):
        loss, nll, tokens = real(logits, targets, smoothing)
        calls["n"] += logits.requires_grad  # count training steps only, not validation
        return (loss * float("nan"), nll, tokens) if calls["n"] > 7 else (loss, nll, tokens)

    monkeypatch.setattr(trainer, "smoothed_loss", poisoned)
    output = tmp_path / "run"
    result = cli(
        "train",
        tiny_corpus,
        "-o",
        output,
        *TINY_TRAIN_ARGS,
        *TINY_MODELS["rnn"],
        "--valid-every",
        "5",
        "--max-steps",
        "100",
        "--valid-size",
        "20",
    )
    assert result.exit_code == 1
    message = result.stderr.strip().splitlines()[-1]
    assert "loss became nan at step 8" in message
    assert f"last good checkpoint (step 5) is kept in {output}" in message
    state = torch.load(output / "train_state.pt", weights_only=True)
    assert state["progress"]["step"] == 5


def test_out_of_memory_names_the_option_to_lower(cli, tmp_path, tiny_corpus, monkeypatch):
    from nmtcli.models.rnn import RNNSeq2Seq

    def exhausted(self, batch, need_attention=False):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(RNNSeq2Seq, "forward", exhausted)
    result = cli(
        "train", tiny_corpus, "-o", tmp_path / "run", *TINY_TRAIN_ARGS, *TINY_MODELS["rnn"]
    )
    assert result.exit_code == 1
    assert "out of memory at step 1" in result.stderr
    assert "lower --batch-tokens (now 600)" in result.stderr


def test_vocabulary_model_mismatch_is_detected(cli, tmp_path, trained_model, tiny_vocab):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained_model, broken)
    for name in ("joint.model", "joint.vocab", "vocab.json"):
        shutil.copy(tiny_vocab / name, broken / name)
    result = cli("train", "--resume", broken, "--max-steps", "400")
    assert result.exit_code == 1
    assert "vocabulary/model mismatch" in result.stderr


def test_given_vocabulary_and_validation_files(cli, tmp_path, tiny_corpus, tiny_vocab):
    pairs = tiny_pairs(60, seed=5)
    (tmp_path / "v.en").write_text("".join(s + "\n" for s, _ in pairs))
    (tmp_path / "v.fr").write_text("".join(t + "\n" for _, t in pairs))
    output = tmp_path / "run"
    result = cli(
        "train",
        tiny_corpus,
        "-o",
        output,
        "--vocab",
        tiny_vocab,
        "--valid-src-file",
        tmp_path / "v.en",
        "--valid-tgt-file",
        tmp_path / "v.fr",
        "--max-steps",
        "2",
        *TINY_MODELS["rnn"],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((output / "config.json").read_text())
    assert saved["data"]["valid_pairs"] == 60
    assert saved["data"]["train_pairs"] == 2000
    assert saved["vocab"]["src_size"] == 48
    assert (output / "joint.model").read_bytes() == (tiny_vocab / "joint.model").read_bytes()


def _torchrun_train(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`nmtcli train ARGS` under torchrun with two CPU processes, one thread each."""
    torchrun = Path(sys.executable).with_name("torchrun")
    return subprocess.run(
        [str(torchrun), "--nproc-per-node", "2", "-m", "nmtcli", "train", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_torchrun_two_cpu_processes_write_one_model_directory(tmp_path, tiny_corpus):
    output = tmp_path / "runs" / "ddp"
    args = [*TINY_TRAIN_ARGS, *TINY_MODELS["rnn"], "--max-steps", "20", "--valid-every", "10"]
    done = _torchrun_train(tmp_path, str(tiny_corpus), "-o", str(output), *args)
    assert done.returncode == 0, done.stderr
    assert "× 2 processes" in done.stderr
    assert done.stderr.count("validation at step 10") == 1  # rank 0 alone reports
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["ddp"]
    records = (output / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in records] == [10, 20]
    ModelDir.load(output).build()


@pytest.mark.parametrize("trained_model", ["transformer"], indirect=True)
def test_torchrun_fine_tunes_with_the_linear_decay(tmp_path, tiny_corpus, trained_model):
    output = tmp_path / "child"
    args = ["-o", str(output), "--init-from", str(trained_model), "--max-time", "40s"]
    limits = ["--valid-every", "5", "--batch-tokens", "600", "--max-steps", "15", "--warmup", "0"]
    done = _torchrun_train(tmp_path, str(tiny_corpus), *args, *limits)
    assert done.returncode == 0, done.stderr
    config = json.loads((output / "config.json").read_text())
    assert config["train"]["scheduler"] == "linear" and config["lineage"]
    records = [json.loads(r) for r in (output / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [5, 10, 15] and records[0]["best"]
    rates = [r["lr"] for r in records]
    assert rates[0] > rates[1] > rates[2] > 0  # falling to the end of the run
    ModelDir.load(output).build()
