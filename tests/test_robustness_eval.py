"""Robustness sets: must-copy spans, degenerate outputs, the category table of `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nmtcli.corpus import SkipReport
from nmtcli.errors import CorpusError
from nmtcli.evaluation import (
    categorised_set,
    evaluate,
    evaluation_record,
    is_degenerate,
    report_dict,
    with_categories,
)
from nmtcli.verbatim import kept_spans, must_copy_spans, occurs
from tests.conftest import Cli, tiny_pairs, train_tiny, write_tsv

HEADER = "category\tsource\treference\n"


@pytest.mark.parametrize(
    ("source", "reference", "spans"),
    [
        # digits, times, years; the surrounding punctuation is not part of the span
        ("We meet at 10:30 in 2024.", "On se voit à 10:30 en 2024.", ["10:30", "2024"]),
        # names anywhere in a sentence (the reference rules out ordinary capitalised words)
        (
            "Tom lives in Oslo, near Anna.",
            "Tom habite à Oslo, près d'Anna.",
            ["Tom", "Oslo", "Anna"],
        ),
        ("I love my iPhone.", "J'adore mon iPhone.", ["iPhone"]),
        # symbols, e-mail, URL, hashtags, handles keep their # @ / . _
        (
            "Mail bob@x.org, see x.org/help #tips @cafe_luna",
            "Écris à bob@x.org, va sur x.org/help #tips @cafe_luna",
            ["bob@x.org", "x.org/help", "#tips", "@cafe_luna"],
        ),
        # emoji, CJK and Cyrillic words
        ("Pizza 🍕 from 北京 is дом.", "Une pizza 🍕 de 北京 est дом.", ["🍕", "北京", "дом"]),
        # the reference is the judge: translated words are no spans, however they look
        ("Hello, see you on Monday at 5.", "Salut, à lundi à 17 h.", []),
        # a whole word only: `Tom` is not in `Tomate`, `3` is not in `13`
        ("Tom has 3 cats.", "Tomate a 13 chats.", []),
        # a span said twice counts once
        ("Tom, Tom, 12 and 12!", "Tom, Tom, 12 et 12 !", ["Tom", "12"]),
        # Title Case and ALL CAPS: capitals say nothing (numbers still count)
        ("Come To The Table At 8", "Venez À La Table À 8", ["8"]),
        ("WHAT TIME DOES THE TRAIN LEAVE", "À QUELLE HEURE PART LE TRAIN", []),
        # but a short source with a name is not taken for Title Case
        ("Thanks, Anna!", "Merci, Anna !", ["Anna"]),
    ],
)
def test_must_copy_spans(source, reference, spans):
    assert must_copy_spans(source, reference) == spans


def test_kept_spans_count_whole_words_in_the_hypothesis():
    source, reference = "Tom arrives at 10:30.", "Tom arrive à 10:30."
    assert kept_spans(source, reference, "Tom arrive à 10:30.") == (2, 2)
    assert kept_spans(source, reference, "Thomas arrive à 10h30.") == (0, 2)
    assert kept_spans(source, reference, "Tomas arrive à 10:30!") == (1, 2)
    assert occurs("Anna", "d'Anna") and not occurs("Tom", "Tomate")


@pytest.mark.parametrize(
    ("hypothesis", "source", "reference", "degenerate"),
    [
        ("le chat dort", "the cat sleeps", "le chat dort", False),
        ("le chat dort !!!!!!", "the cat sleeps", "le chat dort", True),  # a character ×6
        ("le chat dort !!!!!", "the cat sleeps", "le chat dort", False),  # ×5 is fine
        ("lalalala", "the cat sleeps", "le chat dort", True),  # a piece ×4
        ("le le le le chat", "the cat sleeps", "le chat dort", True),  # a word ×4
        ("le le le chat", "the cat sleeps", "le chat dort", False),  # ×3 is fine
        ("non non non non", "no no no no", "non non non non", False),  # the reference has it
        ("1000000 euros", "a million euros", "1000000 euros", False),
        ("un deux trois quatre cinq six sept", "one two", "un deux", True),  # > 3× the source
        ("un deux trois quatre cinq six", "one two", "un deux", False),  # exactly 3× is fine
    ],
)
def test_degenerate_outputs(hypothesis, source, reference, degenerate):
    assert is_degenerate(hypothesis, source, reference) is degenerate


def _lines(text: str) -> list[tuple[int, bytes]]:
    return list(enumerate(text.encode().splitlines(), start=1))


def test_a_robustness_set_is_parsed_and_blank_lines_are_ignored():
    found = categorised_set("dev.tsv", _lines(HEADER + "a\tone\tun\n\nb\t two \tdeux\n"))
    assert found.categories == ["a", "b"]
    assert found.sources == ["one", "two"]
    assert found.references == ["un", "deux"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tone\tun\n", "dev.tsv:1: a robustness set starts with the header line"),
        ("", "dev.tsv:1: a robustness set starts with the header line"),
        (HEADER + "a\tone\tun\nb\ttwo\n", "dev.tsv:3: 2 tab-separated columns, expected 3"),
        (HEADER + "a\tone\tun\tx\n", "dev.tsv:2: 4 tab-separated columns, expected 3"),
        (HEADER + "a\t\tun\n", "dev.tsv:2: empty source"),
        (HEADER, "dev.tsv: no sentence pairs after the header"),
    ],
)
def test_bad_robustness_sets_name_the_file_and_line(text, message):
    with pytest.raises(CorpusError, match=message):
        categorised_set("dev.tsv", _lines(text))


def test_skip_invalid_counts_bad_lines_of_a_robustness_set():
    report = SkipReport()
    found = categorised_set("dev.tsv", _lines(HEADER + "a\tone\tun\nb\ttwo\n"), report)
    assert found.sources == ["one"]
    assert report.skipped == 1


def test_scores_per_category_by_hand():
    categories = ["numbers", "numbers", "names", "plain"]
    sources = ["at 10:30 and 11:00", "in 2024", "Tom and Anna", "the cat"]
    references = ["à 10:30 et 11:00", "en 2024", "Tom et Anna", "le chat"]
    hypotheses = ["à 10:30 et 11 h", "en 2024", "Tom et Anne", "le le le le chat"]
    report = with_categories(
        evaluate(sources, hypotheses, references), categories, sources, hypotheses, references
    )
    by_name = {c.name: c.scores for c in report.categories}
    assert list(by_name) == ["numbers", "names", "plain"]  # order of first appearance
    assert by_name["numbers"].sentences == 2
    assert by_name["numbers"].kept_verbatim == pytest.approx(2 / 3)
    assert by_name["names"].kept_verbatim == pytest.approx(1 / 2)
    assert by_name["plain"].kept_verbatim is None  # no span, no share
    assert by_name["plain"].degenerate == 1
    assert report.overall.verbatim_spans == 5
    assert report.overall.kept_verbatim == pytest.approx(3 / 5)
    assert report.overall.degenerate == 1
    payload = report_dict(report, buckets=False)
    assert "buckets" not in payload
    assert [row["category"] for row in payload["categories"]] == list(by_name)
    record = evaluation_record("robust", report, "greedy")
    assert record.kept_verbatim == pytest.approx(0.6)
    assert record.categories["plain"]["degenerate"] == 1
    assert "categories" not in report_dict(evaluate(sources, hypotheses, references))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_corpus) -> Path:
    """A tiny RNN after a few steps: these tests read the plumbing, not the quality."""
    output = tmp_path_factory.mktemp("robust") / "rnn"
    train_tiny(Cli(), tiny_corpus, output, "rnn", "--max-steps", "40", "--valid-every", "40")
    return output


def _robustness_set(path: Path) -> Path:
    rows = [("plain", s, t) for s, t in tiny_pairs(6, seed=3)]
    rows += [
        ("names", "the cat sees Tom", "le chat voit Tom"),
        ("numbers", "a dog 42", "la chien 42"),
    ]
    path.write_text(HEADER + "".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_evaluate_by_category_through_the_cli(cli, tiny_model, tmp_path):
    test = _robustness_set(tmp_path / "dev.tsv")
    hypotheses = tmp_path / "hyp.txt"
    args = ["evaluate", "-m", tiny_model, test, "--by-category", "-k", "1"]
    result = cli(*args, "-f", "json", "--hypotheses", hypotheses, "--record", "robust")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = {row["category"]: row for row in payload["categories"]}
    assert list(rows) == ["plain", "names", "numbers"]
    assert sum(row["sentences"] for row in rows.values()) == payload["overall"]["sentences"] == 8
    assert rows["plain"]["verbatim_spans"] == 0 and rows["plain"]["kept_verbatim"] is None
    assert rows["names"]["verbatim_spans"] == rows["numbers"]["verbatim_spans"] == 1
    hyps = hypotheses.read_text().splitlines()  # the JSON agrees with the pure functions
    assert rows["names"]["kept_verbatim"] == float(occurs("Tom", hyps[6]))
    assert rows["numbers"]["degenerate"] == is_degenerate(hyps[7], "a dog 42", "la chien 42")
    recorded = json.loads((tiny_model / "evaluations.json").read_text())
    assert recorded[-1]["categories"]["names"]["sentences"] == 1
    text = cli(*args)
    assert text.exit_code == 0, text.output
    assert "by category" in text.stdout
    assert "verbatim" in text.stdout and "degenerate" in text.stdout
    plain_row = next(line for line in text.stdout.splitlines() if "plain" in line)
    assert "–" in plain_row  # no must-copy span: no share


def test_a_robustness_set_evaluates_without_by_category(cli, tiny_model, tmp_path):
    test = _robustness_set(tmp_path / "dev.tsv")
    result = cli("evaluate", "-m", tiny_model, test, "-f", "json", "-k", "1")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["overall"]["sentences"] == 8
    assert "categories" not in payload


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_robustness_input_is_a_one_line_error(cli, tiny_model, tmp_path):
    no_header = write_tsv(tmp_path / "plain.tsv", tiny_pairs(3))
    message = _one_line_error(cli("evaluate", "-m", tiny_model, no_header, "--by-category"))
    assert f"{no_header}:1: a robustness set starts with the header line" in message
    short = tmp_path / "short.tsv"
    short.write_text(HEADER + "a\tthe cat\tle chat\nb\tthe dog\n")
    message = _one_line_error(cli("evaluate", "-m", tiny_model, short))
    assert f"{short}:3: 2 tab-separated columns, expected 3" in message
    (tmp_path / "s").write_text("the cat\n")
    paired = ["--src-file", tmp_path / "s", "--ref-file", tmp_path / "s", "--by-category"]
    message = _one_line_error(cli("evaluate", "-m", tiny_model, *paired))
    assert "--by-category needs a TSV test set" in message
