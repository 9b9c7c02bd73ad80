"""Learning-rate schedules: `linear` warms up, falls to zero at the run's end, and resumes."""

from __future__ import annotations

import itertools
import json

import pytest

from nmtcli.training.schedule import learning_rate, time_share
from tests.conftest import train_tiny


def test_linear_warms_up_then_falls_to_zero_at_the_end():
    rates = [learning_rate("linear", 1.0, step, 10, done=step / 100) for step in range(1, 101)]
    assert rates[4] == pytest.approx(0.5)  # warming up: 5 of 10 steps
    assert max(rates) == pytest.approx(0.9)  # the ramp meets the line at step 10
    assert rates[49] == pytest.approx(0.5) and rates[-1] == 0.0
    after = rates[9:]
    assert all(a > b for a, b in itertools.pairwise(after))


def test_linear_ignores_plateau_reductions_and_the_other_schedules_ignore_done():
    assert learning_rate("linear", 2.0, 50, 0, reductions=3, done=0.25) == pytest.approx(1.5)
    assert learning_rate("constant", 2.0, 50, 0, done=0.9) == 2.0
    assert learning_rate("inverse_sqrt", 1.0, 400, 100, done=0.9) == pytest.approx(0.5)


def test_a_resumed_time_limit_spends_its_time_on_the_rest_of_the_decay():
    assert time_share(0.0, 300, 600) == 0.5
    assert time_share(0.5, 0, 600) == 0.5  # resumes where it stopped, not at the peak
    assert time_share(0.5, 300, 600) == 0.75
    assert time_share(0.5, 600, 600) == 1.0


def test_training_with_the_linear_schedule_records_its_falling_rate(cli, tmp_path, tiny_corpus):
    output = tmp_path / "linear"
    args = ["--scheduler", "linear", "--lr", "0.002", "--warmup", "0", "--valid-every", "10"]
    train_tiny(cli, tiny_corpus, output, "rnn", *args, "--max-steps", "40")
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    rates = [record["lr"] for record in records]
    # the rate of each validation's last step: 0.002 · (1 − (step − 1) / 40)
    assert rates == pytest.approx([0.002 * (1 - (step - 1) / 40) for step in (10, 20, 30, 40)])
    config = json.loads((output / "config.json").read_text())
    assert config["train"]["scheduler"] == "linear"
