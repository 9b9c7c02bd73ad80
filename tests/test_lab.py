"""bench.lab's pure parts: the document block it regenerates, and accuracy by output position."""

from __future__ import annotations

from bench.lab import END, START, mean_sd, replace_block
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
