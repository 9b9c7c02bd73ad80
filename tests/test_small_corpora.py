"""Training that works at every corpus size: derived defaults, patient early stopping, warnings."""

from __future__ import annotations

import json

import pytest

from nmtcli.models.config import RNNConfig, TransformerConfig
from nmtcli.records import ValidationRecord, learning_problem
from nmtcli.search import SearchOptions
from nmtcli.training.config import TrainConfig
from nmtcli.training.plan import (
    batch_tokens_for,
    derive_batch_tokens,
    derive_schedule,
    derive_vocab_size,
    vocab_size_for,
)
from nmtcli.training.state import EARLY_STOP_FLOOR, Progress
from tests.conftest import TINY_MODELS, TINY_TRAIN_ARGS

TRANSFORMER = TransformerConfig.training_defaults
RNN = RNNConfig.training_defaults


@pytest.mark.parametrize(
    ("pairs", "size"), [(300, 1000), (5_000, 2000), (20_000, 4000), (139_277, 8000)]
)
def test_vocabulary_grows_with_the_corpus(pairs, size):
    assert vocab_size_for(pairs) == size


def test_batch_size_gives_small_corpora_enough_updates():
    assert batch_tokens_for(5_000 * 12) == 1024  # about 60 updates an epoch, not 15
    assert batch_tokens_for(20_000 * 12) == 1024  # 4,096 gave a quarter of the updates
    assert batch_tokens_for(60_000 * 12) == 2048
    assert batch_tokens_for(139_277 * 12) == 4096  # large corpora keep the tuned size


def test_warmup_is_a_share_of_the_planned_updates():
    small = derive_schedule(TrainConfig(), TRANSFORMER, steps_per_epoch=13)  # 390 updates
    assert small.warmup == 50 and "390 planned updates" in small.derived["warmup"]
    medium = derive_schedule(TrainConfig(max_steps=5000), TRANSFORMER, steps_per_epoch=400)
    assert medium.warmup == 400
    large = derive_schedule(TrainConfig(), TRANSFORMER, steps_per_epoch=2000)
    assert large.warmup == 1000
    assert derive_schedule(TrainConfig(), RNN, steps_per_epoch=13).warmup is None  # no warm-up


def test_short_runs_validate_more_often_than_once_an_epoch():
    assert derive_schedule(TrainConfig(), RNN, 13).valid_every == 0  # 30 epochs: each epoch
    short = derive_schedule(TrainConfig(max_steps=300), RNN, 100)  # 3 epochs
    assert short.valid_every == 30


def test_what_the_user_set_is_never_derived():
    config = TrainConfig(vocab_size=500, batch_tokens=2048, warmup=7, valid_every=3)
    config = derive_vocab_size(config, 100_000)
    config = derive_batch_tokens(config, 10**7)
    config = derive_schedule(config, TRANSFORMER, 10)
    assert (config.vocab_size, config.batch_tokens, config.warmup, config.valid_every) == (
        500,
        2048,
        7,
        3,
    )
    assert config.derived == {}


def test_a_bleu_tie_is_broken_by_the_loss():
    progress = Progress()
    assert progress.update_best(0.0, 5.0, "bleu", plateau_patience=2)
    progress.step = 10
    assert progress.update_best(0.0, 4.0, "bleu", plateau_patience=2)  # same BLEU, lower loss
    assert progress.best_step == 10
    progress.step = 20
    assert not progress.update_best(0.0, 4.5, "bleu", plateau_patience=2)


def test_patience_waits_while_the_loss_still_falls():
    progress = Progress()
    progress.update_best(3.0, 5.0, "bleu", 2)
    for loss in (4.0, 3.0, 2.0):  # BLEU stuck, loss falling: the model is learning
        progress.update_best(1.0, loss, "bleu", 2)
    assert progress.bad_validations == 0
    progress.update_best(1.0, 2.5, "bleu", 2)
    assert progress.bad_validations == 1


def test_early_stopping_never_fires_before_a_share_of_the_training():
    progress = Progress(bad_validations=5)
    assert not progress.out_of_patience(5, fraction_done=EARLY_STOP_FLOOR / 2)
    assert progress.out_of_patience(5, fraction_done=EARLY_STOP_FLOOR)
    assert not progress.out_of_patience(0, fraction_done=1.0)


def _record(step: int, bleu: float, loss: float, empty: float = 0.0, same: float = 0.0):
    return ValidationRecord(
        step, 1.0, loss, 1.0, loss, 1.0, bleu, 1e-3, 1.0, 1.0, 1, True, empty, same
    )


def test_a_model_that_has_not_learned_is_named():
    assert learning_problem([_record(1, 20.0, 3.0), _record(2, 25.0, 2.0)]) is None
    problem = learning_problem([_record(1, 0.0, 3.0), _record(2, 0.2, 3.1, empty=0.9)])
    assert (
        "never reached 1" in problem and "90% of its validation translations are empty" in problem
    )
    assert "loss never fell" in problem
    assert "same sentence" in learning_problem([_record(1, 5.0, 3.0, same=0.8)])
    assert learning_problem([_record(1, 0.0, 3.0)], bleu_measured=False) is None


def test_min_length_beyond_max_length_is_refused():
    with pytest.raises(ValueError, match="--max-length 10"):
        SearchOptions(min_length=20, max_length=10)


def test_min_length_cut_by_the_ratio_is_a_warning(cli, trained_model):
    result = cli("translate", "-m", trained_model, "--min-length", "40", "big red cat")
    assert result.exit_code == 0
    assert "--min-length 40 was not met for 1 sentence(s)" in result.stderr
    assert "--max-length-ratio" in result.stderr


def test_train_derives_defaults_and_says_so(cli, tmp_path, tiny_corpus):
    args = ["--valid-size", "100", "--valid-bleu-sentences", "20", "--max-steps", "20"]
    output = tmp_path / "run"
    result = cli("train", tiny_corpus, "-o", output, *args, *TINY_MODELS["transformer"])
    assert result.exit_code == 0, result.output
    assert "derived from the corpus: vocab-size 1,000 pieces" in result.stderr
    train = json.loads((output / "config.json").read_text())["train"]
    assert train["batch_tokens"] == 1024 and train["warmup"] == 50
    assert set(train["derived"]) == {"vocab_size", "batch_tokens", "warmup", "valid_every"}


def test_early_stopping_does_not_end_a_run_before_it_learns(cli, tmp_path, tiny_corpus):
    output = tmp_path / "patient"
    extra = ["--max-steps", "80", "--valid-every", "5", "--patience", "1", "--lr", "1e-6"]
    result = cli("train", tiny_corpus, "-o", output, *TINY_TRAIN_ARGS, *TINY_MODELS["rnn"], *extra)
    assert result.exit_code == 0, result.output
    steps = [
        json.loads(line)["step"] for line in (output / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps[-1] >= EARLY_STOP_FLOOR * 80


def test_training_that_did_not_learn_ends_with_a_warning(cli, tmp_path, tiny_corpus):
    output = tmp_path / "untrained"
    extra = ["--max-steps", "3", "--lr", "1e-6"]
    result = cli("train", tiny_corpus, "-o", output, *TINY_TRAIN_ARGS, *TINY_MODELS["rnn"], *extra)
    assert result.exit_code == 0, result.output
    assert "warning: this model has not learned to translate" in result.stderr
    assert "**Warning:** this model has not learned" in (output / "MODEL_CARD.md").read_text()
    assert "has not learned" in cli("info", output).stdout
    translated = cli("translate", "-m", output, "-k", "1", "big red cat", "the dog")
    assert all(line.strip() for line in translated.stdout.splitlines())  # never an empty line
