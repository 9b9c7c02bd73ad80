"""Shared fixtures: a CLI runner and tiny corpora made on the spot (tests never need ../shared)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nmtcli.cli import app, expand_multi_value_options

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

WORDS_EN = "the a cat dog sees likes big small red blue house tree runs sleeps old young".split()
WORDS_FR = (
    "le la chat chien voit aime grand petit rouge bleu maison arbre court dort vieux jeune".split()
)


class Cli:
    """Invoke nmtcli in-process, as the console script would (stdout and stderr kept apart)."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None):
        return self.runner.invoke(
            app, expand_multi_value_options([str(a) for a in args]), input=input
        )


@pytest.fixture
def cli() -> Cli:
    return Cli()


def tiny_pairs(count: int = 300, seed: int = 0) -> list[tuple[str, str]]:
    """A word-for-word 'translation' corpus with a fixed dictionary."""
    rng = random.Random(seed)
    table = dict(zip(WORDS_EN, WORDS_FR))
    pairs = []
    for _ in range(count):
        words = [rng.choice(WORDS_EN) for _ in range(rng.randint(2, 7))]
        pairs.append((" ".join(words), " ".join(table[w] for w in words)))
    return pairs


def write_tsv(path: Path, pairs: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


@pytest.fixture
def tiny_tsv(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "tiny.tsv", tiny_pairs())


@pytest.fixture(scope="session")
def tiny_vocab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A joint vocabulary trained once per session on the tiny corpus."""
    root = tmp_path_factory.mktemp("vocab")
    corpus = write_tsv(root / "tiny.tsv", tiny_pairs())
    result = Cli()("vocab", corpus, "-o", root / "vocab", "--vocab-size", "48")
    assert result.exit_code == 0, result.output
    return root / "vocab"


TINY_TRAIN_ARGS = [
    "--vocab-size",
    "59",
    "--valid-size",
    "100",
    "--batch-tokens",
    "600",
    "--valid-bleu-sentences",
    "50",
    "--warmup",
    "50",
    "--log-every",
    "1000",
    "--no-transforms",  # the word-substitution task is lower-case, one sentence a line
]
TINY_MODELS = {
    "rnn": [
        "--arch",
        "rnn",
        "--attention",
        "general",
        "--emb-size",
        "32",
        "--hidden-size",
        "64",
        "--lr",
        "3e-3",
    ],
    "transformer": [
        "--arch",
        "transformer",
        "--layers",
        "2",
        "--d-model",
        "64",
        "--heads",
        "4",
        "--ff-size",
        "128",
        "--lr",
        "2e-3",
    ],
}


def train_tiny(cli: Cli, corpus: Path, output: Path, arch: str, *extra: str) -> None:
    """Train a tiny model through the CLI (a few seconds)."""
    result = cli("train", corpus, "-o", output, *TINY_TRAIN_ARGS, *TINY_MODELS[arch], *extra)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tsv(tmp_path_factory.mktemp("corpus") / "words.tsv", tiny_pairs(2000))


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session", params=["rnn", "transformer"])
def trained_model(request, models_root: Path, tiny_corpus: Path) -> Path:
    """A tiny model of each architecture trained for 300 steps on the word-substitution corpus."""
    output = models_root / request.param
    if not (output / "model.safetensors").is_file():
        train_tiny(
            Cli(), tiny_corpus, output, request.param, "--max-steps", "300", "--valid-every", "100"
        )
    return output
