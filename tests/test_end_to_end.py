"""The pipeline as a user runs it: train → translate → score, through the real entry point."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, TINY_MODELS, TINY_TRAIN_ARGS, tiny_pairs, write_tsv


def nmtcli(*args: str, stdin: str | None = None, cwd=REPO) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "nmtcli", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_train_translate_score_round_trip(tmp_path):
    corpus = write_tsv(tmp_path / "train.tsv", tiny_pairs(2000, seed=0))
    test = tiny_pairs(50, seed=1234)
    (tmp_path / "test.src").write_text("".join(s + "\n" for s, _ in test))
    (tmp_path / "test.ref").write_text("".join(t + "\n" for _, t in test))
    nmtcli(
        "train",
        corpus,
        "-o",
        tmp_path / "model",
        *TINY_TRAIN_ARGS,
        *TINY_MODELS["rnn"],
        "--max-steps",
        "250",
        "--valid-every",
        "125",
    )
    hypotheses = nmtcli(
        "translate",
        "-m",
        tmp_path / "model",
        "--beam-size",
        "3",
        stdin=(tmp_path / "test.src").read_text(),
    ).stdout
    assert hypotheses.count("\n") == 50
    score = nmtcli("bleu", tmp_path / "test.ref", "-b", stdin=hypotheses).stdout
    assert float(score) > 60.0, hypotheses
