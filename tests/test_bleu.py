"""`nmtcli bleu` prints exactly what the sacrebleu command prints, and never imports torch."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import pytest

from tests.conftest import SHARED_DATA

MULTI30K = SHARED_DATA / "multi30k"
needs_shared = pytest.mark.skipif(not MULTI30K.is_dir(), reason="../shared/data is absent")
SACREBLEU = shutil.which("sacrebleu") or str(
    __import__("pathlib").Path(sys.executable).with_name("sacrebleu")
)


@pytest.fixture(scope="module")
def real_lines(tmp_path_factory):
    """200 real German references and, as 'hypotheses', a perturbed copy of them."""
    root = tmp_path_factory.mktemp("bleu")
    refs = gzip.open(MULTI30K / "val.de.gz", "rt", encoding="utf-8").read().splitlines()[:200]
    other = gzip.open(MULTI30K / "val.fr.gz", "rt", encoding="utf-8").read().splitlines()[:200]
    hyps = [r if i % 3 else " ".join(r.split()[::-1]) for i, r in enumerate(refs)]
    (root / "ref.de").write_text("\n".join(refs) + "\n", encoding="utf-8")
    (root / "ref2.de").write_text("\n".join(other) + "\n", encoding="utf-8")
    (root / "hyp.de").write_text("\n".join(hyps) + "\n", encoding="utf-8")
    return root


def _sacrebleu(*args: str, stdin: bytes) -> str:
    done = subprocess.run([SACREBLEU, *args], input=stdin, capture_output=True, check=True)
    return done.stdout.decode("utf-8").strip()


@needs_shared
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["-f", "json"],
        ["-m", "bleu", "chrf", "ter"],
        ["-m", "bleu", "chrf", "ter", "-f", "json"],
        ["-m", "chrf", "bleu", "-b"],
        ["-m", "bleu", "chrf", "-b", "-f", "json"],
        ["-w", "3", "--tokenize", "intl", "-lc"],
        ["-m", "ter", "chrf", "-w", "2"],
    ],
)
def test_same_output_as_sacrebleu(cli, real_lines, options):
    hyps = (real_lines / "hyp.de").read_bytes()
    refs = [str(real_lines / "ref.de")]
    sacre_options = options if "-f" in options else [*options, "-f", "text"]
    expected = _sacrebleu(*refs, *sacre_options, stdin=hyps)
    result = cli("bleu", *refs, *options, input=hyps)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected


@needs_shared
def test_multiple_reference_files(cli, real_lines):
    refs = [str(real_lines / "ref.de"), str(real_lines / "ref2.de")]
    hyps = (real_lines / "hyp.de").read_bytes()
    expected = _sacrebleu(*refs, "-m", "bleu", "chrf", "-f", "text", stdin=hyps)
    result = cli("bleu", *refs, "-m", "bleu", "chrf", input=hyps)
    assert result.stdout.strip() == expected
    assert "nrefs:2" in expected


def test_scores_a_small_example_by_hand(cli, tmp_path):
    (tmp_path / "ref").write_text("the cat sat on the mat\n")
    perfect = cli("bleu", tmp_path / "ref", "-b", input="the cat sat on the mat\n")
    assert perfect.stdout.strip() == "100.0"
    result = cli("bleu", tmp_path / "ref", "-m", "chrf", "-b", input="the cat sat on a mat\n")
    assert 0 < float(result.stdout) < 100


def test_input_file_option(cli, tmp_path):
    (tmp_path / "ref").write_text("a b c d\n")
    (tmp_path / "hyp").write_text("a b c d\n")
    assert cli("bleu", tmp_path / "ref", "-i", tmp_path / "hyp", "-b").stdout.strip() == "100.0"


def test_line_count_mismatch_is_a_one_line_error(cli, tmp_path):
    (tmp_path / "ref").write_text("a\nb\nc\n")
    result = cli("bleu", tmp_path / "ref", input="a\nb\n")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'ref'} has 3 lines but stdin has 2 hypotheses"
    ]


def test_unknown_metric_is_rejected(cli, tmp_path):
    (tmp_path / "ref").write_text("a\n")
    result = cli("bleu", tmp_path / "ref", "-m", "meteor", input="a\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: unknown metric 'meteor'; choose from bleu, chrf, ter"
    result = cli("bleu", tmp_path / "ref", "--tokenize", "x", input="a\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --tokenize: unknown tokenizer 'x'"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["bleu", "--help"], ["tokenize", "--help"], ["bleu", "REF", "-b"], ["tokenize"]],
)
def test_light_commands_do_not_import_torch(tmp_path, tiny_vocab, args):
    (tmp_path / "REF").write_text("hello\n")
    args = [a if a != "REF" else str(tmp_path / "REF") for a in args]
    if args == ["tokenize"]:
        args += ["--vocab", str(tiny_vocab)]
    code = (
        "import sys; from nmtcli.cli import main; sys.argv = ['nmtcli'] + sys.argv[1:]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], input=b"hello\n", capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
