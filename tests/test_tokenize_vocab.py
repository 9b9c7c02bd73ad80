"""`nmtcli vocab` and `nmtcli tokenize`: reserved ids, sizes, round trips, one line per line."""

from __future__ import annotations

import json

from nmtcli.vocab import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Vocabulary
from tests.conftest import tiny_pairs, write_tsv

TEXT = "the big cat sees the small dog\nthe tree\n\nold red house runs\n"


def test_vocab_writes_a_joint_model_with_fixed_reserved_ids(tiny_vocab):
    vocabulary = Vocabulary.load(tiny_vocab)
    assert vocabulary.joint and vocabulary.src is vocabulary.tgt
    assert vocabulary.src.size == 48
    processor = vocabulary.src.processor
    assert (processor.pad_id(), processor.bos_id(), processor.eos_id(), processor.unk_id()) == (
        PAD_ID,
        BOS_ID,
        EOS_ID,
        UNK_ID,
    )
    meta = json.loads((tiny_vocab / "vocab.json").read_text())
    assert meta["special_ids"] == {"pad": 0, "bos": 1, "eos": 2, "unk": 3}


def test_vocab_summary_table(cli, tmp_path, tiny_tsv):
    result = cli(
        "vocab", tiny_tsv, "-o", tmp_path / "v", "--vocab-size", "60", "--model-type", "bpe"
    )
    assert result.exit_code == 0, result.output
    for header in ("vocab size", "pieces/sentence", "char coverage", "unknown rate", "source"):
        assert header in result.stdout
    assert "joint bpe vocabulary, 300 pairs" in result.stdout


def test_separate_vocabularies(cli, tmp_path, tiny_tsv):
    result = cli("vocab", tiny_tsv, "-o", tmp_path / "v", "--vocab-size", "50", "--separate")
    assert result.exit_code == 0, result.output
    vocabulary = Vocabulary.load(tmp_path / "v")
    assert not vocabulary.joint
    assert vocabulary.src.path != vocabulary.tgt.path
    assert (tmp_path / "v" / "src.model").is_file() and (tmp_path / "v" / "tgt.model").is_file()


def test_too_small_corpus_gets_the_largest_vocabulary_with_a_warning(cli, tmp_path):
    pairs = [
        (" ".join("abcdefghijklmnopqrst"[i % 20] for i in range(n, n + 6)), "x y")
        for n in range(40)
    ]
    corpus = write_tsv(tmp_path / "toy.tsv", pairs)
    result = cli("vocab", corpus, "-o", tmp_path / "v", "--vocab-size", "8000")
    assert result.exit_code == 0, result.output
    size = Vocabulary.load(tmp_path / "v").src.size
    assert 20 < size < 8000
    assert f"using the largest possible, {size}" in result.stderr
    assert "Traceback" not in result.output


def test_impossible_vocab_size_is_one_clear_line(cli, tmp_path, tiny_tsv):
    result = cli("vocab", tiny_tsv, "-o", tmp_path / "v", "--vocab-size", "10")
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--vocab-size 10 is too small" in result.stderr


def test_vocab_refuses_to_overwrite_without_force(cli, tmp_path, tiny_tsv):
    out = tmp_path / "v"
    assert cli("vocab", tiny_tsv, "-o", out, "--vocab-size", "50").exit_code == 0
    before = (out / "joint.model").read_bytes()
    result = cli("vocab", tiny_tsv, "-o", out, "--vocab-size", "55")
    assert result.exit_code == 1 and "--force" in result.stderr
    assert (out / "joint.model").read_bytes() == before
    assert cli("vocab", tiny_tsv, "-o", out, "--vocab-size", "55", "--force").exit_code == 0
    assert Vocabulary.load(out).src.size == 55


def test_tokenize_round_trip_keeps_one_line_per_line(cli, tiny_vocab):
    pieces = cli("tokenize", "--vocab", tiny_vocab, input=TEXT)
    assert pieces.exit_code == 0, pieces.output
    assert pieces.stdout.count("\n") == TEXT.count("\n")
    assert pieces.stdout.splitlines()[2] == ""
    back = cli("tokenize", "--vocab", tiny_vocab, "--decode", input=pieces.stdout)
    assert back.stdout == TEXT
    ids = cli("tokenize", "--vocab", tiny_vocab, "--ids", input=TEXT)
    assert all(tok.isdigit() for tok in ids.stdout.split())
    back = cli("tokenize", "--vocab", tiny_vocab, "--ids", "--decode", input=ids.stdout)
    assert back.stdout == TEXT


def test_tokenize_round_trip_on_everyday_text(cli, tmp_path):
    pairs = (
        tiny_pairs()
        + [
            ("Turn off the lights, please!", "Éteins les lumières, s'il te plaît !"),
            ("It's 5 o'clock: où est l'hôtel ?", "« Où est-il ? » — dit-elle."),
        ]
        * 20
    )
    corpus = write_tsv(tmp_path / "c.tsv", pairs)
    assert cli("vocab", corpus, "-o", tmp_path / "v", "--vocab-size", "100").exit_code == 0
    text = "".join(f"{s}\n{t}\n" for s, t in pairs[-2:])
    pieces = cli("tokenize", "--vocab", tmp_path / "v", input=text).stdout
    assert cli("tokenize", "--vocab", tmp_path / "v", "--decode", input=pieces).stdout == text


def test_tokenize_bad_ids_name_the_line(cli, tiny_vocab):
    result = cli("tokenize", "--vocab", tiny_vocab, "--ids", "--decode", input="5 6\n7 99999\n")
    assert result.exit_code == 1
    assert "<stdin>:2: id 99999 is outside the vocabulary" in result.stderr
    result = cli("tokenize", "--vocab", tiny_vocab, "--ids", "--decode", input="5 x\n")
    assert "<stdin>:1: expected space-separated integer ids" in result.stderr


def test_tokenize_invalid_utf8_names_the_line(cli, tiny_vocab):
    result = cli("tokenize", "--vocab", tiny_vocab, input=b"ok\nbad \xff\n")
    assert result.exit_code == 1
    assert "<stdin>:2: invalid UTF-8" in result.stderr


def test_tokenize_missing_vocab_is_clear(cli, tmp_path):
    result = cli("tokenize", "--vocab", tmp_path, input="x\n")
    assert result.exit_code == 1
    assert "no vocab.json" in result.stderr


def test_version_and_help_examples(cli):
    assert cli("--version").stdout.startswith("nmtcli ")
    for command in ("bleu", "tokenize", "vocab"):
        assert "Example:" in cli(command, "--help").stdout
