"""Corpus reading: every bad-input case through the CLI, and the reader itself."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmtcli.corpus import CorpusSpec, SkipReport, read_pairs
from nmtcli.errors import CorpusError


def _vocab(cli, tmp_path: Path, *corpus_args: str, input: bytes | None = None):
    return cli("vocab", *corpus_args, "-o", tmp_path / "out", "--vocab-size", "40", input=input)


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


GOOD = b"a b c\tx y z\nd e\tu v\n"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (GOOD + b"no tab here\n", "bad.tsv:3: missing tab"),
        (GOOD + b"one\ttwo\tthree\n", "bad.tsv:3: 3 tab-separated columns"),
        (b"\tonly target\n" + GOOD, "bad.tsv:1: empty source side"),
        (GOOD + b"only source\t  \n", "bad.tsv:3: empty target side"),
        (GOOD + b"caf\xe9\tcoffee\n", "bad.tsv:3: invalid UTF-8"),
        (b"", "bad.tsv: empty corpus"),
        (b"\n\n", "bad.tsv:1: missing tab"),
    ],
)
def test_bad_tsv_gives_one_line_error_with_file_and_line(cli, tmp_path, content, expected):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    message = _one_line_error(_vocab(cli, tmp_path, str(path)))
    assert expected in message.replace(str(tmp_path) + "/", "")


def test_missing_file_is_a_clear_error(cli, tmp_path):
    message = _one_line_error(_vocab(cli, tmp_path, str(tmp_path / "nope.tsv")))
    assert "nope.tsv" in message
    assert "No such file" in message


def test_paired_files_line_count_mismatch(cli, tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\nthree\n")
    (tmp_path / "a.fr").write_text("un\ndeux\n")
    args = ["--src-file", str(tmp_path / "a.en"), "--tgt-file", str(tmp_path / "a.fr")]
    message = _one_line_error(_vocab(cli, tmp_path, *args))
    assert "a.en:3: line-count mismatch" in message
    assert "a.fr has only 2 lines" in message
    (tmp_path / "a.fr").write_text("un\ndeux\ntrois\nquatre\n")
    message = _one_line_error(_vocab(cli, tmp_path, *args))
    assert "a.fr:4: line-count mismatch" in message


def test_paired_files_empty_side_names_the_line(cli, tmp_path):
    (tmp_path / "a.en").write_text("one\n\nthree\n")
    (tmp_path / "a.fr").write_text("un\ndeux\ntrois\n")
    args = ["--src-file", str(tmp_path / "a.en"), "--tgt-file", str(tmp_path / "a.fr")]
    assert "a.en:2: empty source side" in _one_line_error(_vocab(cli, tmp_path, *args))


def test_paired_files_invalid_utf8_names_the_target_file(cli, tmp_path):
    (tmp_path / "a.en").write_text("one\ntwo\n")
    (tmp_path / "a.fr").write_bytes(b"un\nd\xffeux\n")
    args = ["--src-file", str(tmp_path / "a.en"), "--tgt-file", str(tmp_path / "a.fr")]
    assert "a.fr:2: invalid UTF-8" in _one_line_error(_vocab(cli, tmp_path, *args))


def test_corpus_and_paired_files_together_is_an_error(cli, tmp_path, tiny_tsv):
    result = _vocab(cli, tmp_path, str(tiny_tsv), "--src-file", str(tiny_tsv), "--tgt-file", "x")
    assert "not both" in _one_line_error(result)


def test_skip_invalid_skips_and_reports(cli, tmp_path, tiny_tsv):
    lines = tiny_tsv.read_bytes().splitlines(keepends=True)
    bad = [*lines[:5], b"no tab\n", b"a\tb\tc\n", b"\xff\xfe\tx\n", *lines[5:]]
    path = tmp_path / "mixed.tsv"
    path.write_bytes(b"".join(bad))
    assert _vocab(cli, tmp_path, str(path)).exit_code == 1
    result = cli("vocab", path, "-o", tmp_path / "v", "--vocab-size", "40", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "skipped 3 invalid line(s)" in result.stderr
    assert "mixed.tsv:6: missing tab" in result.stderr
    assert f"{len(lines):,} pairs" in result.stdout


def test_skip_invalid_on_all_bad_lines_is_still_an_empty_corpus(cli, tmp_path):
    path = tmp_path / "allbad.tsv"
    path.write_text("x\ny\n")
    result = cli("vocab", path, "-o", tmp_path / "v", "--skip-invalid")
    assert "empty corpus" in _one_line_error(result)
    assert "2 invalid lines skipped" in result.stderr


def test_gzip_and_stdin_are_read(tmp_path, tiny_tsv):
    gz = tmp_path / "tiny.tsv.gz"
    gz.write_bytes(gzip.compress(tiny_tsv.read_bytes()))
    plain = list(read_pairs(CorpusSpec(tsv=str(tiny_tsv))))
    assert list(read_pairs(CorpusSpec(tsv=str(gz)))) == plain
    assert len(plain) == 300


def test_vocab_reads_stdin(cli, tmp_path, tiny_tsv):
    result = _vocab(cli, tmp_path, "-", input=tiny_tsv.read_bytes())
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "joint.model").is_file()


def test_reader_is_streamed():
    """Pairs come out before the input ends: the first pair is read from an endless source."""

    def endless():
        while True:
            yield 1, b"a\tb"

    from nmtcli import corpus

    original = corpus.read_raw_lines
    corpus.read_raw_lines = lambda path: endless()
    try:
        pairs = read_pairs(CorpusSpec(tsv="endless"))
        assert [next(pairs) for _ in range(3)] == [("a", "b")] * 3
    finally:
        corpus.read_raw_lines = original


def test_crlf_and_bom_are_tolerated(tmp_path):
    path = tmp_path / "win.tsv"
    path.write_bytes(b"\xef\xbb\xbfhello\tbonjour\r\nbye\tau revoir\r\n")
    assert list(read_pairs(CorpusSpec(tsv=str(path)))) == [
        ("hello", "bonjour"),
        ("bye", "au revoir"),
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=8))
def test_any_bytes_either_parse_or_raise_corpus_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("fuzz") / "f.tsv"
    path.write_bytes(b"\n".join(lines))
    report = SkipReport()
    for skip in (None, report):
        try:
            for src, tgt in read_pairs(CorpusSpec(tsv=str(path)), skip):
                assert src and tgt and src == src.strip()
                assert "\t" not in src + tgt
        except CorpusError as error:
            assert "f.tsv" in str(error)
            assert "\n" not in str(error)
