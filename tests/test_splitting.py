"""Paragraph input: sentence splitting, joining sentence translations, `translate --split`."""

from __future__ import annotations

import json

import pytest
import torch

from nmtcli.batch import EOS_PIECE
from nmtcli.splitting import regroup, sentences_of_lines, split_sentences
from nmtcli.translation import Candidate, Translation, join_sentences

KEPT_WHOLE = [
    "Dr. Smith arrived late.",
    "Bring fruit, e.g. apples or pears.",
    "The version is 3.5 now.",
    "Visit www.example.org for details.",
    "Write to john.doe@example.com today.",
    "Mr. and Mrs. Brown live in the U.S. now.",
    "Call me at 10 a.m. on Monday.",
]


@pytest.mark.parametrize("sentence", KEPT_WHOLE)
def test_abbreviations_numbers_urls_and_emails_do_not_end_a_sentence(sentence):
    assert split_sentences(sentence) == [sentence]


def test_a_paragraph_splits_into_its_sentences():
    assert split_sentences(" ".join(KEPT_WHOLE)) == KEPT_WHOLE
    assert split_sentences("  Where are you? I am home!  Come over.\t") == [
        "Where are you?",
        "I am home!",
        "Come over.",
    ]
    assert split_sentences("turn off the lights") == ["turn off the lights"]
    assert split_sentences("   ") == []


def test_lines_are_split_only_when_asked_and_regrouped_in_order():
    lines = ["One. Two.", "  ", " Three. "]
    assert sentences_of_lines(lines, split=False) == [["One. Two."], [], ["Three."]]
    groups = sentences_of_lines(lines, split=True)
    assert groups == [["One.", "Two."], [], ["Three."]]
    assert regroup([1, 2, 3], groups) == [[1, 2], [], [3]]
    with pytest.raises(ValueError, match="4 items for groups holding 3"):
        regroup([1, 2, 3, 4], groups)


def _sentence(source: str, targets: list[list[str]], src_len: int) -> Translation:
    """A translated sentence whose candidates have random attention (rows sum to 1)."""
    generator = torch.Generator().manual_seed(len(source))
    candidates = []
    for rank, pieces in enumerate(targets):
        weights = torch.rand(len(pieces) + 1, 2, 4, src_len + 1, generator=generator)
        attention = weights / weights.sum(-1, keepdim=True)  # (T, L, N, S)
        candidates.append(Candidate(" ".join(pieces), pieces, -1.0 - rank, -2.0 - rank, attention))
    return Translation(source, [f"s{i}" for i in range(src_len)] + [EOS_PIECE], candidates)


def test_joined_sentences_keep_one_candidate_per_rank_and_block_diagonal_attention():
    first = _sentence("A b.", [["x", "y"], ["x", "z"], ["w"]], src_len=2)
    second = _sentence("C d e.", [["u", "v", "t"], ["u"]], src_len=3)
    line = join_sentences("A b. C d e.", [first, second])
    assert line.sentences == [first, second]
    assert line.src_pieces == ["s0", "s1", EOS_PIECE, "s0", "s1", "s2", EOS_PIECE]
    assert [c.text for c in line.candidates] == ["x y u v t", "x z u"]  # as many as the fewest
    assert line.best.pieces == ["x", "y", "u", "v", "t"]
    assert line.candidates[1].score == pytest.approx(-4.0)
    assert line.candidates[1].log_prob == pytest.approx(-6.0)
    attention = line.best.attention
    assert attention.shape == (6, 2, 4, 7)  # 5 pieces + EOS, 2 + 1 + 3 + 1 source tokens
    assert torch.allclose(attention.sum(-1), torch.ones(6, 2, 4))
    assert torch.equal(attention[:2, :, :, :3], first.best.attention[:2])  # its EOS row dropped
    assert torch.equal(attention[2:, :, :, 3:], second.best.attention)
    assert attention[:2, :, :, 3:].abs().sum() == 0 and attention[2:, :, :, :3].abs().sum() == 0


def test_a_line_of_one_sentence_or_none_is_left_as_it_was():
    only = _sentence("A b.", [["x"]], src_len=2)
    assert join_sentences("A b.", [only]) == only
    empty = join_sentences("", [])
    assert (empty.src_pieces, empty.best.text, empty.best.attention) == ([EOS_PIECE], "", None)


def test_translate_splits_lines_and_keeps_one_output_line_per_input(cli, trained_model):
    lines = ["the tree. old red house.", "", "the big cat sees the small dog"]
    split = cli("translate", "-m", trained_model, "-k", "1", input="\n".join(lines) + "\n")
    assert split.exit_code == 0, split.output
    alone = cli(
        "translate", "-m", trained_model, "-k", "1", "--no-split", "the tree.", "old red house."
    ).stdout.splitlines()
    whole = cli("translate", "-m", trained_model, "-k", "1", "--no-split", *lines).stdout
    assert split.stdout.splitlines()[0] == " ".join(alone)
    assert split.stdout.splitlines()[1:] == whole.splitlines()[1:]
    assert whole.count("\n") == split.stdout.count("\n") == 3
    beam = ("translate", "-m", trained_model, "-k", "2", "-f", "tsv")
    alone_beam = cli(*beam, "--no-split", "the tree.", "old red house.").stdout
    parts = [line.split("\t") for line in alone_beam.splitlines()]
    joined = cli(*beam, "--n-best", "2", lines[0]).stdout.splitlines()
    assert len(joined) == 2  # n-best lines of the one input line
    source, translation, score = joined[0].split("\t")
    assert (source, translation) == (lines[0], " ".join(p[1] for p in parts))
    assert float(score) == pytest.approx(sum(float(p[2]) for p in parts), abs=2e-4)


def test_json_attention_and_alignments_of_a_split_line(cli, trained_model):
    args = ("translate", "-m", trained_model, "-k", "1", "-f", "json", "--show-attention")
    split = json.loads(cli(*args, "--align", "the tree. old red house.").stdout)
    whole = json.loads(cli(*args, "--no-split", "the tree. old red house.").stdout)
    assert split["attention"]["src"].count(EOS_PIECE) == 2  # one EOS per sentence
    assert whole["attention"]["src"].count(EOS_PIECE) == 1
    weights = split["attention"]["weights"]
    assert len(weights) == len(split["pieces"]) + 1
    assert all(abs(sum(row) - 1) < 1e-3 for row in weights)
    boundary = split["attention"]["src"].index(EOS_PIECE) + 1  # the second sentence's first column
    tree = cli(*args, "--no-split", "the tree.").stdout
    first_rows = len(json.loads(tree)["pieces"])
    assert all(sum(row[boundary:]) == 0 for row in weights[:first_rows])
    assert all(sum(row[:boundary]) == 0 for row in weights[first_rows:])
    assert [s["source"] for s in split["sentences"]] == ["the tree.", "old red house."]
    assert " ".join(s["translation"] for s in split["sentences"]) == split["translation"]
    assert "sentences" not in whole
    links = [tuple(map(int, link.split("-"))) for link in split["alignment"].split()]
    assert [j for _, j in links] == list(range(len(split["translation"].split())))


def test_evaluate_splits_lines_as_translate_does(cli, trained_model, tmp_path):
    test = tmp_path / "test.tsv"
    test.write_text("the tree. old red house.\tl'arbre. vieille maison rouge.\n", encoding="utf-8")
    args = ("evaluate", "-m", trained_model, test, "-k", "1", "--hypotheses")
    assert cli(*args, tmp_path / "split.txt").exit_code == 0
    assert cli(*args, tmp_path / "whole.txt", "--no-split").exit_code == 0
    alone = cli(
        "translate", "-m", trained_model, "-k", "1", "--no-split", "the tree.", "old red house."
    )
    whole = cli(
        "translate", "-m", trained_model, "-k", "1", "--no-split", "the tree. old red house."
    )
    assert (tmp_path / "split.txt").read_text() == " ".join(alone.stdout.splitlines()) + "\n"
    assert (tmp_path / "whole.txt").read_text() == whole.stdout
