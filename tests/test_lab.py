"""bench.lab's pure parts: the document block it regenerates, the choice of settings, which runs
it reuses, and accuracy by output position."""

from __future__ import annotations

import json

from bench.lab import END, FAMILIES, START, choose_settings, finished, mean_sd, replace_block
from bench.position_accuracy import accuracy, bucket
from tests.conftest import tiny_pairs, write_tsv


def test_the_block_is_inserted_once_then_replaced_in_place():
    document = "# Title\n\nintro\n\n## Toy\n\ntext\n\n## Commands\n\n```\nx\n```\n"
    first = replace_block(document, f"{START}\none\n{END}")
    assert first.index("one") < first.index("## Commands") and first.count(START) == 1
    second = replace_block(first, f"{START}\ntwo\n{END}")
    assert "one" not in second and second.count(START) == 1
    assert second.replace(f"{START}\ntwo\n{END}", "") == first.replace(f"{START}\none\n{END}", "")


def test_mean_and_standard_deviation_over_seeds():
    assert mean_sd([90.0, 92.0, 94.0]) == "92.0 ± 2.0"
    assert mean_sd([50.0]) == "50.0 ± 0.0"


def test_position_buckets():
    assert [bucket(t) for t in (1, 10, 11, 20, 41, 50, 60)] == [0, 0, 1, 1, 4, 4, 4]


def test_position_accuracy_of_a_trained_model(trained_model, tmp_path):
    test = write_tsv(tmp_path / "test.tsv", tiny_pairs(40, seed=3))
    result = accuracy(trained_model, test)
    assert len(result["free"]) == len(result["forced"]) == len(result["buckets"]) == 5
    assert all(0.0 <= value <= 1.0 for value in result["free"] + result["forced"])
    assert result["forced"][0] > 0.5  # it learnt the toy corpus: fed the reference, mostly right
    assert result["free"][0] > 0.3 and 0.0 <= result["exact"] <= 1.0 and result["bleu"] > 10


def _run(directory, max_time: float, bleus: list[float], seconds: float) -> None:
    """A run directory as `nmtcli train` leaves it: its configuration and validation records."""
    directory.mkdir(parents=True, exist_ok=True)
    config = {"train": {"max_time": max_time}}
    (directory / "config.json").write_text(json.dumps(config), encoding="utf-8")
    records = [
        {"step": 100 * (i + 1), "valid_bleu": bleu, "train_seconds": seconds}
        for i, bleu in enumerate(bleus)
    ]
    lines = "".join(json.dumps(record) + "\n" for record in records)
    (directory / "metrics.jsonl").write_text(lines, encoding="utf-8")


def test_only_a_finished_run_of_the_same_budget_is_reused(tmp_path):
    _run(tmp_path / "done", 180.0, [5.0], 184.0)
    _run(tmp_path / "stopped", 180.0, [5.0], 60.0)
    assert finished(tmp_path / "done", ["--max-time", "3m"])
    assert not finished(tmp_path / "done", ["--max-time", "2m"])  # a longer run is not reused
    assert not finished(tmp_path / "stopped", ["--max-time", "3m"])
    assert not finished(tmp_path / "missing", ["--max-time", "3m"])


class _Pool:
    """Trains nothing: each run gets a validation BLEU from its setting and seed."""

    def train_all(self, runs):
        for path, args in runs.items():
            setting, seed = args[0], int(args[1])
            _run(path, 120.0, [10.0 * (setting == "b") + seed, 1.0], 121.0)


def test_the_setting_with_the_best_mean_validation_bleu_is_chosen(tmp_path):
    grid = {"rnn": {"a": ["a"], "b": ["b"]}, "transformer": {"a": ["a"]}}
    chosen, paths, rows = choose_settings(
        _Pool(), tmp_path, grid, lambda path, family, label, seed: [label, str(seed)], [1, 2, 3]
    )
    assert chosen == {family: "b" if family != "transformer" else "a" for family in FAMILIES}
    assert [p.name for p in paths["rnn-none"]] == [f"tune.rnn-none.b.s{s}" for s in (1, 2, 3)]
    assert ["rnn-none", "a", "200 ± 0", "2.0 ± 1.0"] in rows  # mean ± sd over the 3 seeds
    assert ["rnn-none", "b **(chosen)**", "200 ± 0", "12.0 ± 1.0"] in rows
