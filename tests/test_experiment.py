"""The seq2seq laboratory: toy corpora, evaluation by length, and model comparison."""

from __future__ import annotations

import json

import pytest

from nmtcli.evaluation import bucket_edges, evaluate, has_unjustified_repetition
from nmtcli.toy import SEPARATOR, toy_pairs
from tests.conftest import tiny_pairs, train_tiny, write_tsv


def _pairs(output: str) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in output.splitlines()]


@pytest.mark.parametrize("task", ["copy", "reverse", "sort", "swap"])
def test_toy_tasks_are_deterministic_and_correct(cli, task):
    first = cli(
        "toy",
        task,
        "--size",
        "300",
        "--min-len",
        "4",
        "--max-len",
        "50",
        "--vocab-size",
        "30",
        "--seed",
        "7",
    )
    assert first.exit_code == 0, first.output
    again = cli(
        "toy",
        task,
        "--size",
        "300",
        "--min-len",
        "4",
        "--max-len",
        "50",
        "--vocab-size",
        "30",
        "--seed",
        "7",
    )
    other = cli(
        "toy",
        task,
        "--size",
        "300",
        "--min-len",
        "4",
        "--max-len",
        "50",
        "--vocab-size",
        "30",
        "--seed",
        "8",
    )
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    pairs = _pairs(first.stdout)
    assert len(pairs) == 300
    lengths = []
    for source, target in pairs:
        words, out = source.split(), target.split()
        if task == "copy":
            assert out == words
        elif task == "reverse":
            assert out == words[::-1]
        elif task == "sort":
            assert sorted(out) == sorted(words)
            assert out == sorted(words, key=lambda w: (len(w), w))
        else:
            cut = words.index(SEPARATOR)
            assert out == [*words[cut + 1 :], SEPARATOR, *words[:cut]]
            words = [w for w in words if w != SEPARATOR]
        lengths.append(len(words))
        assert len(set(words)) <= 30
    assert min(lengths) >= 4
    assert max(lengths) <= 50
    assert max(lengths) >= 45  # the whole length range is used


def test_toy_rejects_bad_options(cli):
    assert cli("toy", "copy", "--min-len", "9", "--max-len", "3").exit_code == 1
    assert cli("toy", "rotate").exit_code == 2


def test_toy_generator_uses_many_symbols():
    words = {w for s, _ in toy_pairs("copy", 500, 5, 10, 100, 1) for w in s.split()}
    assert len(words) == 100


def test_repetition_and_buckets_by_hand():
    assert has_unjustified_repetition("le chat le chat dort", "le chat dort")
    assert not has_unjustified_repetition("le chat le chat dort", "le chat le chat dort")
    assert not has_unjustified_repetition("le chat et le chien", "le chat et le chien")
    assert bucket_edges(10, 30) == [(1, 10), (11, 20), (21, 30), (31, None)]
    sources = ["a " * n for n in (1, 5, 12, 25, 40, 40)]
    report = evaluate(sources, ["x y"] * 6, ["x y"] * 5 + ["x z"], width=10, last=30)
    assert [b.label for b in report.buckets] == ["1–10", "11–20", "21–30", "31+"]
    assert sum(b.scores.sentences for b in report.buckets) == 6
    assert report.overall.exact_match == pytest.approx(5 / 6)


def test_evaluate_a_tiny_model_by_length(cli, trained_model, tmp_path):
    test = write_tsv(tmp_path / "test.tsv", tiny_pairs(120, seed=77))
    result = cli(
        "evaluate",
        "-m",
        trained_model,
        test,
        "--by-length",
        "--bucket-width",
        "2",
        "-f",
        "json",
        "-k",
        "1",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    overall = report["overall"]
    assert overall["sentences"] == 120
    assert sum(b["sentences"] for b in report["buckets"]) == 120  # buckets add up to the corpus
    assert overall["chrf"] > 80
    assert 0.9 < overall["length_ratio"] < 1.1
    assert report["bleu_signature"].startswith("nrefs:1|")
    text = cli("evaluate", "-m", trained_model, test, "--by-length", "-k", "1")
    assert "by source length" in text.stdout
    assert "BLEU: nrefs:1" in text.stdout


def test_evaluate_records_scores_in_the_model_card(cli, trained_model, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    (tmp_path / "t.src").write_text("old red house\nthe tree\n")
    (tmp_path / "t.ref").write_text("vieux rouge maison\nle arbre\n")
    hyp = tmp_path / "hyp.txt"
    result = cli(
        "evaluate",
        "-m",
        model,
        "--src-file",
        tmp_path / "t.src",
        "--ref-file",
        tmp_path / "t.ref",
        "--record",
        "toy-test",
        "--hypotheses",
        hyp,
    )
    assert result.exit_code == 0, result.output
    assert hyp.read_text().count("\n") == 2
    assert "toy-test" in (model / "MODEL_CARD.md").read_text()
    assert "test: toy-test" in cli("info", model).stdout


def test_compare_models_side_by_side_with_chart_and_plot(
    cli, trained_model, tmp_path, monkeypatch, tiny_corpus
):
    monkeypatch.setenv("NO_COLOR", "1")
    other_name = "transformer" if trained_model.name == "rnn" else "rnn"
    other = trained_model.parent / other_name
    if not (
        other / "model.safetensors"
    ).is_file():  # the fixture's other model, trained the same way
        train_tiny(
            cli, tiny_corpus, other, other_name, "--max-steps", "300", "--valid-every", "100"
        )
    test = write_tsv(tmp_path / "test.tsv", tiny_pairs(80, seed=5))
    plot = tmp_path / "bleu.png"
    args = ["-m", trained_model, "-m", other, test, "--bucket-width", "3", "-k", "1"]
    result = cli("compare", *args, "--plot", plot, "--metric", "chrf")
    assert result.exit_code == 0, result.output
    assert "chrf by source length" in result.stdout
    assert "█" in result.stdout
    assert "▓" in result.stdout  # the second series is drawn with another fill without colour
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    payload = json.loads(cli("compare", *args, "-f", "json").stdout)
    assert payload[trained_model.name]["overall"]["sentences"] == 80
    assert sum(b["sentences"] for b in payload[other_name]["buckets"]) == 80
