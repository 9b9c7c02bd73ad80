"""The CTranslate2 engine: export, translations equal to nmtcli's own, attention, safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli

pytest.importorskip("ctranslate2")

SENTENCES = ["the big cat sees the small dog", "old red house", "the tree", "a small red cat"]


@pytest.fixture(scope="module")
def transformer(models_root: Path, tiny_corpus: Path) -> Path:
    """The session's tiny Transformer (trained once, shared with the other test modules)."""
    from tests.conftest import train_tiny

    output = models_root / "transformer"
    if not (output / "model.safetensors").is_file():
        train_tiny(
            Cli(), tiny_corpus, output, "transformer", "--max-steps", "300", "--valid-every", "100"
        )
    return output


@pytest.fixture(scope="module")
def exported(transformer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ct2") / "float32"
    result = Cli()(
        "export", transformer, target, "--format", "ctranslate2", "--quantization", "float32"
    )
    assert result.exit_code == 0, result.output
    return target


def test_greedy_and_beam_translations_and_scores_equal_nmtcli(cli, transformer, exported):
    for beam in ("1", "3"):
        ours = cli("translate", "-m", transformer, "-k", beam, "-f", "json", *SENTENCES)
        theirs = cli("translate", "-m", exported, "-k", beam, "-f", "json", *SENTENCES)
        assert theirs.exit_code == 0, theirs.output
        for mine, other in zip(ours.stdout.splitlines(), theirs.stdout.splitlines()):
            mine, other = json.loads(mine), json.loads(other)
            assert other["translation"] == mine["translation"]
            assert other["pieces"] == mine["pieces"]
            assert other["log_prob"] == pytest.approx(mine["log_prob"], rel=0.05, abs=5e-3)
            assert other["score"] == pytest.approx(mine["score"], rel=0.05, abs=5e-3)


def test_n_best_alignment_and_heatmap_come_from_ctranslate2(cli, transformer, exported):
    args = ("-k", "3", "--n-best", "2", "--align", "-f", "json", "old red house")
    ours = json.loads(cli("translate", "-m", transformer, *args).stdout)
    theirs = json.loads(cli("translate", "-m", exported, *args).stdout)
    assert len(theirs["nbest"]) == 2
    assert theirs["alignment"] == ours["alignment"]  # the penultimate layer, mean of heads
    for row, expected in zip(theirs["attention"]["weights"], ours["attention"]["weights"]):
        assert row == pytest.approx(expected, abs=0.02)
    shown = cli("translate", "-m", exported, "--show-attention", "old red house")
    assert shown.exit_code == 0, shown.output
    assert "▁house" in shown.output


def test_evaluate_and_split_lines_work_on_the_engine(cli, exported, tmp_path):
    (tmp_path / "src").write_text("old red house. the tree.\nthe big cat sees the small dog\n")
    hypotheses = cli("translate", "-m", exported, "-i", tmp_path / "src").stdout
    (tmp_path / "ref").write_text(hypotheses)
    result = cli(
        "evaluate", "-m", exported, "--src-file", tmp_path / "src", "--ref-file", tmp_path / "ref",
        "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["bleu"] == 100.0
    assert len(hypotheses.splitlines()) == 2


def test_int8_export_is_smaller_and_translates(cli, transformer, exported, tmp_path):
    target = tmp_path / "int8"
    assert cli("export", transformer, target, "--format", "ctranslate2").exit_code == 0
    assert json.loads((target / "ctranslate2.json").read_text())["quantization"] == "int8"
    size = (target / "model.bin").stat().st_size
    assert size < 0.5 * (exported / "model.bin").stat().st_size
    result = cli("translate", "-m", target, *SENTENCES)
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == len(SENTENCES)


@pytest.mark.parametrize("into_a_file", [False, True], ids=["stdout", "-o file"])
def test_plain_translation_never_imports_torch(exported, tmp_path, into_a_file):
    output = ["-o", str(tmp_path / "out.txt")] if into_a_file else []  # its checks: torch-free
    code = (
        "import sys; sys.argv = ['nmtcli', 'translate', '-m', sys.argv[1], 'old red house',"
        " *sys.argv[2:]]\n"
        "from nmtcli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(exported), *output], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "False"
    assert not into_a_file or (tmp_path / "out.txt").read_text().strip()


def test_rnn_models_are_a_clear_error(cli, trained_model, tmp_path):
    result = cli("export", trained_model, tmp_path / "out", "--format", "ctranslate2")
    if "rnn" not in trained_model.name:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert "not supported by CTranslate2" in result.output
    assert not (tmp_path / "out").exists()


def test_export_never_overwrites_what_it_should_not(cli, transformer, exported, tmp_path):
    again = cli("export", transformer, exported, "--format", "ctranslate2")
    assert again.exit_code == 1 and "--force" in again.output
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    forced = cli("export", transformer, other, "--format", "ctranslate2", "--force")
    assert forced.exit_code == 1 and "not a CTranslate2 export" in forced.output
    assert (other / "mine.txt").read_text() == "keep me"
    itself = cli("export", transformer, transformer, "--format", "ctranslate2", "--force")
    assert itself.exit_code == 1 and "is the model being exported" in itself.output
    replaced = tmp_path / "replaced"
    assert cli("export", transformer, replaced, "--format", "ctranslate2").exit_code == 0
    result = cli(
        "export", transformer, replaced, "--format", "ctranslate2", "--quantization", "float32",
        "--force",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((replaced / "ctranslate2.json").read_text())["quantization"] == "float32"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (("info",), "a CTranslate2 export"),
        (("attention", "-m"), "a CTranslate2 export"),
    ],
)
def test_commands_that_need_the_nmtcli_model_say_so(cli, exported, command, message):
    args = [*command, exported] if command == ("info",) else [*command, exported, "a", "b"]
    result = cli(*args)
    assert result.exit_code == 1
    assert message in result.output


def test_bad_options_are_one_line_errors(cli, transformer, exported, tmp_path):
    cases = [
        (("export", transformer, tmp_path / "a", "--format", "ctranslate2", "--half"), "--half"),
        (("export", transformer, tmp_path / "b", "--quantization", "int8"), "--format ctranslate2"),
        (
            (
                "export",
                transformer,
                tmp_path / "c",
                "--format",
                "ctranslate2",
                "--quantization",
                "int4",
            ),
            "quantization must be one of",
        ),
        (("translate", "-m", exported, "--precision", "fp8", "x"), "precision must be one of"),
        (("translate", "-m", exported, "--trace", "x"), "trace the nmtcli model directory"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.exit_code != 0
        assert message in result.output
        assert "Traceback" not in result.output


def test_a_missing_ctranslate2_package_says_how_to_install_it(monkeypatch, cli, exported):
    monkeypatch.setitem(sys.modules, "ctranslate2", None)  # import fails as if not installed
    result = cli("translate", "-m", exported, "old red house")
    assert result.exit_code == 1
    assert "pip install 'nmtcli[ct2]'" in result.output
