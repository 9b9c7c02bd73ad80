"""Replay the fault and bad-input campaign of issue 14 against the installed nmtcli.

Each case runs `nmtcli` as a user would (a subprocess, in a scratch directory) and checks what
the user must get: a clear error line and a non-zero exit instead of a traceback, files that
are left as they were, a run that resumes correctly. Prints one line per failing case and
`N cases, N ok`; exits 1 if any case fails. `tests/test_reliability.py` runs every case too.

    python -m bench.reliability            # all cases
    python -m bench.reliability -k gzip    # the cases whose name contains "gzip"
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sees",
    "likes",
    "big",
    "small",
    "red",
    "blue",
    "house",
    "tree",
    "runs",
    "sleeps",
    "old",
    "young",
]
TINY = [
    *("--arch", "rnn", "--attention", "general", "--emb-size", "16", "--hidden-size", "32"),
    *("--vocab-size", "60", "--valid-size", "20", "--batch-tokens", "400"),
    *("--valid-bleu-sentences", "10", "--log-every", "1000", "--device", "cpu"),
]


FOREVER = ("--max-steps", "1000000", "--max-epochs", "1000000", "--patience", "0")


@dataclass
class Result:
    """What one command did."""

    code: int
    stdout: str
    stderr: str
    seconds: float


class Workspace:
    """A scratch directory with a tiny corpus and a tiny trained model, made once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.corpus = root / "corpus.tsv"
        pairs = [
            " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(2 + i % 5)) for i in range(400)
        ]
        self.corpus.write_text("".join(f"{p}\t{p.upper()}\n" for p in pairs), encoding="utf-8")
        self._model: Path | None = None
        self.count = 0

    def path(self, name: str) -> Path:
        """A fresh path in the workspace."""
        self.count += 1
        return self.root / f"{self.count:03d}-{name}"

    def model(self) -> Path:
        """A copy of the tiny trained model, for a case to do with as it likes."""
        if self._model is None:
            self._model = self.root / "trained"
            result = nmtcli("train", self.corpus, "-o", self._model, *TINY, "--max-steps", "4")
            assert result.code == 0, result.stderr
        copy = self.path("model")
        shutil.copytree(self._model, copy)
        return copy


def nmtcli(
    *args: object,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    limit_file_size: int | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> Result:
    """Run nmtcli once, as a user would."""

    def limit() -> None:  # a small "disk": writes beyond this size fail (SIGXFSZ ignored)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nmtcli", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=os.environ | {"NO_COLOR": "1", "COLUMNS": "200"} | (env or {}),
        preexec_fn=limit if limit_file_size else None,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
    seconds = time.monotonic() - start
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode(), seconds)


def refused(result: Result, *words: str) -> str | None:
    """None if the command failed with a short error naming `words`, else what went wrong."""
    if "Traceback" in result.stderr:
        return "traceback: " + result.stderr.strip().splitlines()[-1]
    if result.code == 0:
        return "exit status 0"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if not any(line.startswith("error:") for line in lines) and "Error" not in result.stderr:
        return f"no error line: {result.stderr.strip()[:200]!r}"
    missing = [word for word in words if word not in result.stderr]
    return (
        f"error does not say {missing[0]!r}: {result.stderr.strip()[:300]!r}" if missing else None
    )


def digest(path: Path) -> str:
    """A hash of a file, or of every file of a directory (names included)."""
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and p.name != ".nmtcli.lock"]
    parts = [f"{p.relative_to(path)}:{digest(p)}" for p in files]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def unchanged(path: Path, before: str) -> str | None:
    """None if `path` still has the content hashed as `before`."""
    return None if path.exists() and digest(path) == before else f"{path.name} was changed"


def first(*checks: str | None) -> str | None:
    """The first failed check."""
    return next((check for check in checks if check), None)


# -- data loss -----------------------------------------------------------------------------------


def translate_output_is_its_input(ws: Workspace) -> str | None:
    text = ws.path("f.txt")
    text.write_text("the cat\n")
    before = digest(text)
    return first(
        refused(nmtcli("translate", "-i", text, "-o", text), "input"), unchanged(text, before)
    )


def translate_output_links_to_its_input(ws: Workspace) -> str | None:
    text, link = ws.path("f.txt"), ws.path("link.txt")
    text.write_text("the cat\n")
    link.symlink_to(text)
    before = digest(text)
    return first(
        refused(nmtcli("translate", "-i", text, "-o", link), "input"), unchanged(text, before)
    )


def translate_keeps_output_when_input_is_bad(ws: Workspace) -> str | None:
    source, out = ws.path("bad.txt"), ws.path("out.txt")
    source.write_bytes(b"the cat\n\xff\xfe broken\n")
    out.write_text("yesterday's translations\n")
    before = digest(out)
    result = nmtcli("translate", "-i", source, "-o", out, "--force")
    return first(refused(result, "UTF-8"), unchanged(out, before))


def train_force_with_a_typo_keeps_the_model(ws: Workspace) -> str | None:
    model = ws.model()
    before = digest(model)
    result = nmtcli("train", ws.root / "typo.tvs", "-o", model, "--force", *TINY)
    return first(refused(result, "typo.tvs"), unchanged(model, before))


FINE_TUNE = ("--valid-size", "20", "--valid-bleu-sentences", "10", "--device", "cpu")


def train_init_from_its_own_output_keeps_the_parent(ws: Workspace) -> str | None:
    model = ws.model()
    before = digest(model)
    result = nmtcli("train", ws.corpus, "-o", model, "--init-from", model, "--force", *FINE_TUNE)
    return first(refused(result, "output directory"), unchanged(model, before))


def train_force_checks_everything_before_replacing(ws: Workspace) -> str | None:
    model, parent = ws.model(), ws.model()
    (parent / "model.safetensors").write_bytes(b"not weights")
    before = digest(model)
    attempts = {
        "fp16 on a CPU": (("--precision", "fp16", *TINY), "fp16"),
        "a parent whose weights are damaged": (("--init-from", parent, *FINE_TUNE), "weights"),
        "everything frozen": (
            ("--init-from", ws.model(), "--freeze", "embeddings,encoder,decoder", *FINE_TUNE),
            "nothing",
        ),
        "--lr 1e308": (("--lr", "1e308", *TINY), "lr"),
    }
    for label, (args, words) in attempts.items():
        result = nmtcli("train", ws.corpus, "-o", model, "--force", "--max-steps", "2", *args)
        problem = first(refused(result, words), unchanged(model, before))
        if problem:
            return f"{label}: {problem}"
    return None


def existing_outputs_need_force(ws: Workspace) -> str | None:
    model, out, test = ws.model(), ws.path("out.txt"), ws.path("test.tsv")
    test.write_text("the cat\tTHE CAT\n")
    out.write_text("yesterday's translations\n")
    before = digest(out)
    commands = {
        "translate -o": (("translate", "-m", model, "cat", "-o", out), "--force"),
        "evaluate --hypotheses": (("evaluate", "-m", model, test, "--hypotheses", out), "--force"),
        "evaluate --hypotheses -": (("evaluate", "-m", model, test, "--hypotheses", "-"), "name"),
    }
    for label, (args, word) in commands.items():
        problem = first(refused(nmtcli(*args), word), unchanged(out, before))
        if problem:
            return f"{label}: {problem}"
    forced = nmtcli("translate", "-m", model, "cat", "-o", out, "--force")
    return None if forced.code == 0 and digest(out) != before else "--force did not replace it"


def outputs_never_replace_a_model_file(ws: Workspace) -> str | None:
    model = ws.model()
    (model / "evaluations.json").unlink(missing_ok=True)
    before = digest(model)
    for name in ("model.safetensors", "config.json", "evaluations.json"):  # the last: not there
        result = nmtcli("translate", "-m", model, "cat", "-o", model / name, "--force")
        problem = first(refused(result, "file of the model"), unchanged(model, before))
        if problem:
            return f"-o {name}: {problem}"
    mine = model / "hypotheses.txt"  # a user's own file beside the model: the usual rule
    mine.write_text("old\n")
    result = nmtcli("translate", "-m", model, "cat", "-o", mine, "--force")
    return None if result.code == 0 and mine.read_text() != "old\n" else "a user's file was refused"


def outputs_write_through_links_and_devices(ws: Workspace) -> str | None:
    model, target, link = ws.model(), ws.path("target.txt"), ws.path("link.txt")
    target.write_text("old\n")
    link.symlink_to(target)
    result = nmtcli("translate", "-m", model, "cat", "-o", link, "--force")
    if result.code != 0 or not link.is_symlink() or target.read_text() == "old\n":
        return f"a link was not written through: {result.stderr.strip()[-200:]}"
    result = nmtcli("translate", "-m", model, "cat", "-o", os.devnull)
    if result.code != 0 or not Path(os.devnull).is_char_device():
        return f"-o {os.devnull}: {result.stderr.strip()[-200:] or 'replaced by a file'}"
    result = nmtcli("translate", "-m", model, "cat", "-o", "/dev/stdout")  # stdout: a pipe
    if result.code != 0 or not result.stdout.strip():
        return f"-o /dev/stdout into a pipe: {result.stderr.strip()[-200:] or 'nothing written'}"
    log = ws.path("log.txt")
    log.write_text("kept\n")
    with log.open("a") as appended:  # `nmtcli translate … -o /dev/stdout >> log.txt`
        command = [sys.executable, "-m", "nmtcli", "translate", "-m", str(model), "cat"]
        subprocess.run([*command, "-o", "/dev/stdout"], stdout=appended, check=False)
    lines = log.read_text().splitlines()
    return None if lines[:1] == ["kept"] and len(lines) == 2 else f">> log: {lines!r}"


def translate_output_is_its_stdin(ws: Workspace) -> str | None:
    text = ws.path("f.txt")
    text.write_text("the cat\n")
    before = digest(text)
    with text.open("rb") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "nmtcli", "translate", "-o", str(text)],
            stdin=handle,
            capture_output=True,
            env=os.environ | {"NO_COLOR": "1"},
            check=False,
        )
    result = Result(done.returncode, done.stdout.decode(), done.stderr.decode(), 0.0)
    return first(refused(result, "stdin"), unchanged(text, before))


def closed_stdin_is_reported(ws: Workspace) -> str | None:
    for args in (("translate", "-m", ws.model()), ("train", "-", "-o", ws.path("n"), *TINY)):
        done = subprocess.run(
            [sys.executable, "-m", "nmtcli", *map(str, args)],
            stdin=None,
            capture_output=True,
            env=os.environ | {"NO_COLOR": "1"},
            preexec_fn=lambda: os.close(0),
            check=False,
        )
        problem = refused(Result(done.returncode, "", done.stderr.decode(), 0.0), "stdin")
        if problem:
            return f"{args[0]}: {problem}"
    return None


def record_keeps_scores_it_cannot_read(ws: Workspace) -> str | None:
    model, test = ws.model(), ws.path("test.tsv")
    test.write_text("the cat\tTHE CAT\n")
    scores = model / "evaluations.json"
    scores.write_text('[{"test": "t", "bleu": 1')
    before = digest(scores)
    result = nmtcli("evaluate", "-m", model, test, "--record", "mine")
    return first(refused(result, "evaluations.json"), unchanged(scores, before))


def vocab_never_replaces_a_models_vocabulary(ws: Workspace) -> str | None:
    model = ws.model()
    before = digest(model)
    result = nmtcli("vocab", ws.corpus, "-o", model, "--vocab-size", "60", "--force")
    return first(refused(result, "model directory"), unchanged(model, before))


def messages_name_the_real_problem(ws: Workspace) -> str | None:
    model, a_file, latin = ws.model(), ws.path("file.txt"), ws.path("latin1.tsv")
    a_file.write_text("x\n")
    latin.write_bytes(ws.corpus.read_bytes() + b"caf\xe9\tcaf\xe9\n")
    test = ws.path("test.tsv")
    test.write_text("the cat\tTHE CAT\n")
    cases = {
        "-m a file": (("translate", "-m", a_file, "cat"), None, ("is a file",)),
        "--record of blanks": (
            ("evaluate", "-m", model, test, "--record", " "),
            None,
            ("name",),
        ),
        "--init-from with --vocab-size": (
            ("train", ws.corpus, "-o", ws.path("n"), "--init-from", model, "--vocab-size", "50"),
            None,
            ("--vocab-size",),
        ),
        "a bad corpus on stdin": (
            ("train", "-", "-o", ws.path("n"), *TINY),
            latin.read_bytes(),
            ("<stdin>:401", "UTF-8"),
        ),
    }
    for label, (args, stdin, words) in cases.items():
        problem = refused(nmtcli(*args, stdin=stdin), *words)
        if problem:
            return f"{label}: {problem}"
    return None


def stdout_on_a_full_disk_is_one_line(ws: Workspace) -> str | None:
    if not Path("/dev/full").exists():  # Linux's always-full device; elsewhere nothing to try
        return None
    for args in (("toy", "copy", "--size", "10"), ("translate", "-m", ws.model(), "cat")):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [sys.executable, "-m", "nmtcli", *map(str, args)],
                stdout=full,
                stderr=subprocess.PIPE,
                env=os.environ | {"NO_COLOR": "1"},
                check=False,
            )
        stderr = done.stderr.decode()
        problem = refused(Result(done.returncode, "", stderr, 0.0), "space")
        if problem or len(stderr.strip().splitlines()) != 1:
            return f"{args[0]}: {problem or 'not one line: ' + stderr[-300:]}"
    return None


def translate_output_dash_is_stdout(ws: Workspace) -> str | None:
    result = nmtcli("translate", "-m", ws.model(), "-o", "-", "cat", cwd=ws.root)
    if result.code != 0 or not result.stdout.strip() or (ws.root / "-").exists():
        return f"-o - did not write to stdout: {result.stderr.strip()[-200:]}"
    return None


def export_onto_itself_keeps_the_model(ws: Workspace) -> str | None:
    model = ws.model()
    before = digest(model)
    return first(refused(nmtcli("export", model, model, "--force")), unchanged(model, before))


def export_force_from_a_bad_source_keeps_the_target(ws: Workspace) -> str | None:
    target = ws.model()
    before = digest(target)
    result = nmtcli("export", ws.path("missing"), target, "--force")
    return first(refused(result, "no such model directory"), unchanged(target, before))


def train_force_replaces_old_test_scores(ws: Workspace) -> str | None:
    model = ws.model()
    (model / "evaluations.json").write_text(
        '[{"test": "old", "bleu": 99.0, "chrf": 99.0, "sentences": 1}]'
    )
    (model / "notes.txt").write_text("mine")
    result = nmtcli("train", ws.corpus, "-o", model, "--force", *TINY, "--max-steps", "2")
    info = nmtcli("info", model)
    if result.code != 0:
        return f"train --force failed: {result.stderr.strip()[-200:]}"
    if (model / "evaluations.json").exists() or "99.00" in info.stdout:
        return "the old model's test scores survived --force"
    return None if (model / "notes.txt").read_text() == "mine" else "--force removed a user file"


def train_force_never_replaces_foreign_files(ws: Workspace) -> str | None:
    folder = ws.path("project")
    folder.mkdir()
    (folder / "config.json").write_text('{"mine": true}')
    before = digest(folder)
    result = nmtcli("train", ws.corpus, "-o", folder, "--force", *TINY, "--max-steps", "2")
    return first(refused(result, "not an nmtcli model directory"), unchanged(folder, before))


def _start_training(model: Path) -> subprocess.Popen:
    """A long training of `model` in the background, once it holds the directory's lock."""
    process = subprocess.Popen(
        [sys.executable, "-m", "nmtcli", "train", "--resume", model, *FOREVER],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"NO_COLOR": "1"},
    )
    for line in process.stderr:  # type: ignore[union-attr]
        if line.startswith("resuming"):
            return process
    raise AssertionError("the background training did not start")


def second_writer_is_refused(ws: Workspace) -> str | None:
    model = ws.model()
    process = _start_training(model)
    try:
        resumed = refused(nmtcli("train", "--resume", model), "in use")
        forced = refused(nmtcli("train", ws.corpus, "-o", model, "--force", *TINY), "in use")
        alive = None if process.poll() is None else "the first run was stopped"
    finally:
        process.kill()
        process.wait()
    records = _steps(model)
    duplicated = None if len(records) == len(set(records)) else "duplicated validation records"
    return first(resumed, forced, alive, duplicated)


def stale_lock_of_a_killed_run_does_not_block(ws: Workspace) -> str | None:
    model = ws.model()
    process = _start_training(model)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = nmtcli("train", "--resume", model, "--max-steps", "6")
    return (
        None if result.code == 0 else f"resume after kill -9 failed: {result.stderr.strip()[-200:]}"
    )


def resume_refuses_other_data_of_the_same_size(ws: Workspace) -> str | None:
    corpus = ws.path("corpus.tsv")
    shutil.copy(ws.corpus, corpus)
    model = ws.path("run")
    nmtcli("train", corpus, "-o", model, *TINY, "--max-steps", "2")
    lines = corpus.read_text().splitlines()
    corpus.write_text(
        "".join(f"{line.split(chr(9))[1]}\t{line.split(chr(9))[0]}\n" for line in lines)
    )
    return refused(nmtcli("train", "--resume", model, "--max-steps", "4"), "changed")


def resume_cleans_stale_temporaries(ws: Workspace) -> str | None:
    model = ws.model()
    (model / ".train_state.pt.abc123.tmp").write_bytes(b"half a state")
    result = nmtcli("train", "--resume", model, "--max-steps", "6")
    leftovers = [p.name for p in model.iterdir() if p.name.endswith(".tmp")]
    if result.code != 0:
        return f"resume failed: {result.stderr.strip()[-200:]}"
    return f"left behind: {leftovers}" if leftovers else None


def kill_between_commit_and_move_keeps_best_consistent(ws: Workspace) -> str | None:
    model = ws.model()
    log = ws.path("points.log")
    nmtcli("train", "--resume", model, "--max-steps", "12", env={"NMTCLI_FAULT_LOG": str(log)})
    points = [line.split("\t") for line in log.read_text().splitlines()]
    at = next(n for n, label in points if label == "train_state.pt renamed")
    killed = ws.model()
    nmtcli("train", "--resume", killed, "--max-steps", "12", env={"NMTCLI_FAULT_AT": at})
    result = nmtcli("train", "--resume", killed, "--max-steps", "12")
    if result.code != 0:
        return f"resume failed: {result.stderr.strip()[-200:]}"
    same = digest(killed / "model.safetensors") == digest(model / "model.safetensors")
    return first(
        None if same else "best weights differ",
        None if _steps(killed) == _steps(model) else "records differ",
    )


def _steps(model: Path) -> list[int]:
    """The steps of a model's validation records."""
    return [json.loads(x)["step"] for x in (model / "metrics.jsonl").read_text().splitlines()]


def disk_full_while_checkpointing_keeps_the_state(ws: Workspace) -> str | None:
    model = ws.model()
    before = digest(model / "train_state.pt")
    result = nmtcli("train", "--resume", model, "--max-steps", "12", limit_file_size=60_000)
    return first(refused(result, "intact"), unchanged(model / "train_state.pt", before))


def resume_without_a_state_writes_nothing(ws: Workspace) -> str | None:
    exported = ws.path("exported")
    shutil.copytree(REPO / "models" / "en-fr", exported)
    before = sorted(p.name for p in exported.iterdir())
    result = nmtcli("train", "--resume", exported)
    after = sorted(p.name for p in exported.iterdir())
    return first(refused(result, "train_state.pt"), None if after == before else f"wrote {after}")


# -- one-line errors -----------------------------------------------------------------------------


def _damaged_gzip(ws: Workspace) -> Path:
    data = bytearray(gzip.compress(ws.corpus.read_bytes()))
    for index in range(20, len(data) - 8):
        data[index] ^= 0x5A
    path = ws.path("damaged.tsv.gz")
    path.write_bytes(bytes(data))
    return path


def damaged_gzip_in_every_reader(ws: Workspace) -> str | None:
    damaged, model = _damaged_gzip(ws), ws.model()
    commands = {
        "vocab": ("vocab", damaged, "-o", ws.path("v")),
        "train": ("train", damaged, "-o", ws.path("t"), *TINY),
        "evaluate": ("evaluate", "-m", model, damaged),
        "bleu": ("bleu", damaged, "-i", damaged),
        "tokenize": ("tokenize", "--vocab", model, damaged),
        "translate": ("translate", "-m", model, "-i", damaged),
    }
    for name, args in commands.items():
        problem = refused(nmtcli(*args), "gzip")
        if problem:
            return f"{name}: {problem}"
    return None


def vocab_output_inside_a_file(ws: Workspace) -> str | None:
    blocker = ws.path("file")
    blocker.write_text("x")
    return refused(nmtcli("vocab", ws.corpus, "-o", blocker / "vocab"), str(blocker))


def translate_output_in_a_missing_folder(ws: Workspace) -> str | None:
    return refused(
        nmtcli("translate", "-m", ws.model(), "-o", ws.path("missing") / "out.txt", "cat"),
        "does not exist",
    )


def translate_output_onto_a_folder(ws: Workspace) -> str | None:
    folder = ws.path("folder")
    folder.mkdir()
    return refused(nmtcli("translate", "-m", ws.model(), "-o", folder, "cat"), "directory")


def _forged_config(ws: Workspace, change: Callable[[dict], object]) -> Path:
    model = ws.model()
    config = json.loads((model / "config.json").read_text())
    change(config)
    (model / "config.json").write_text(json.dumps(config))
    return model


FORGED = {
    "format_version a string": lambda c: c.update(format_version="1"),
    "format_version null": lambda c: c.update(format_version=None),
    "no model": lambda c: c.pop("model"),
    "model a string": lambda c: c.update(model="rnn"),
    "layers a string": lambda c: c["model"].update(layers="2"),
    "hidden_size 10^6": lambda c: c["model"].update(hidden_size=10**6),
    "layers 10^6": lambda c: c["model"].update(layers=10**6),
    "hidden_size 50,000 (fits the bounds, not the memory)": lambda c: c["model"].update(
        hidden_size=50_000, emb_size=50_000, layers=60
    ),
}


def forged_config_json(ws: Workspace) -> str | None:
    for label, change in FORGED.items():
        model = _forged_config(ws, change)
        for command in (("info", model), ("translate", "-m", model, "cat")):
            result = nmtcli(*command, timeout=60)
            problem = refused(result, "config.json") or (
                f"took {result.seconds:.0f} s" if result.seconds > 20 else None
            )
            if problem:
                return f"{label}, {command[0]}: {problem}"
    return None


def _forged_state(ws: Workspace, forge: Callable[[Path], None]) -> Path:
    model = ws.model()
    forge(model / "train_state.pt")
    return model


def _drop_optimizer(path: Path) -> None:
    import torch

    state = torch.load(path, weights_only=True)
    state.pop("optimizer")
    torch.save(state, path)


def _link_elsewhere(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "model.safetensors")


def forged_train_state(ws: Workspace) -> str | None:
    forgeries = {
        "garbage": lambda p: p.write_bytes(os.urandom(3000)),
        "a missing key": _drop_optimizer,
        "a symlink to a non-checkpoint": _link_elsewhere,
    }
    for label, forge in forgeries.items():
        result = nmtcli("train", "--resume", _forged_state(ws, forge), "--max-steps", "6")
        problem = refused(result, "train_state.pt")
        if problem or "weights_only" in result.stderr:
            return f"{label}: {problem or 'the error suggests weights_only=False'}"
    return None


def forged_vocab_json(ws: Workspace) -> str | None:
    forgeries = {
        "files a list": ["joint.model", "joint.model"],
        "a path out of the directory": {"src": "../../../etc/passwd", "tgt": "../../../etc/passwd"},
        "an absolute path": {"src": "/etc/passwd", "tgt": "/etc/passwd"},
    }
    for label, files in forgeries.items():
        model = ws.model()
        meta = json.loads((model / "vocab.json").read_text())
        meta["files"] = files
        (model / "vocab.json").write_text(json.dumps(meta))
        problem = refused(nmtcli("translate", "-m", model, "cat"), "vocab.json")
        if problem:
            return f"{label}: {problem}"
    return None


def truncated_records_still_show_the_rest(ws: Workspace) -> str | None:
    model = ws.model()
    metrics = model / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"step": 9, "epo')
    (model / "evaluations.json").write_text('[{"test": "t", "bleu": 1')
    result = nmtcli("info", model)
    if result.code != 0 or "Traceback" in result.stderr:
        return f"info failed: {result.stderr.strip()[-200:]}"
    return (
        None
        if "metrics.jsonl:" in result.stderr and "architecture" in result.stdout
        else "no warning"
    )


def bad_yaml_values(ws: Workspace) -> str | None:
    for text, words in (
        ("max_time: [1]\n", ("duration",)),
        ("vocab: 5\n", ("vocab",)),
        ("arch: rnn\nlayers: '2'\n", ("layers", "bad.yaml:2:")),
        ("arch: rnn\nlr: fast\n", ("lr", "bad.yaml:2:")),
        ("layers: 1\nlayers: 2\n", ("given twice", "bad.yaml:2:")),
    ):
        config = ws.path("bad.yaml")
        config.write_text(text)
        result = nmtcli("train", ws.corpus, "-o", ws.path("y"), "--config", config)
        problem = refused(result, *words)
        if problem:
            return f"{text.strip()}: {problem}"
    return None


def bad_numbers(ws: Workspace) -> str | None:
    cases = {
        "--lr -1": ("train", ws.corpus, "-o", ws.path("n"), "--lr", "-1"),
        "--lr nan": ("train", ws.corpus, "-o", ws.path("n"), "--lr", "nan"),
        "--valid-bleu-sentences -1": (
            "train",
            ws.corpus,
            "-o",
            ws.path("n"),
            "--valid-bleu-sentences",
            "-1",
        ),
        "--max-length-ratio nan": (
            "translate",
            "-m",
            ws.model(),
            "--max-length-ratio",
            "nan",
            "cat",
        ),
        "-k 100000": ("translate", "-m", ws.model(), "-k", "100000", "cat"),
        "--plateau-factor 2": ("train", ws.corpus, "-o", ws.path("n"), "--plateau-factor", "2"),
        "bleu -w -1": ("bleu", ws.corpus, "-i", ws.corpus, "-w", "-1"),
        "bleu -tok ja-mecab": ("bleu", ws.corpus, "-i", ws.corpus, "-tok", "ja-mecab"),
    }
    for label, args in cases.items():
        problem = refused(nmtcli(*args))
        if problem:
            return f"{label}: {problem}"
    return None


def attention_out_checked_before_work(ws: Workspace) -> str | None:
    out = ws.path("out.txt")
    result = nmtcli("translate", "-m", ws.model(), "--attention-out", "x.png", "-o", out, "cat")
    return first(refused(result, ".svg"), "translated first" if out.exists() else None)


# -- bounds and containment ----------------------------------------------------------------------


def long_validation_pairs_are_filtered(ws: Workspace) -> str | None:
    valid = ws.path("valid.tsv")
    huge = " ".join(WORDS * 1250)
    valid.write_text(ws.corpus.read_text().splitlines()[0] + "\n" + f"{huge}\t{huge}\n")
    result = nmtcli(
        "train",
        ws.corpus,
        "--valid",
        valid,
        "-o",
        ws.path("v"),
        *TINY,
        "--max-steps",
        "2",
        timeout=60,
    )
    if result.code != 0:
        return f"train failed: {result.stderr.strip()[-200:]}"
    return (
        None if "skipped 1 validation pairs" in result.stderr else "no word about the skipped pair"
    )


def export_does_not_follow_links_out(ws: Workspace) -> str | None:
    model = ws.model()
    secret = ws.path("secret.txt")
    secret.write_text("private")
    (model / "CARD_NOTES.md").symlink_to(secret)
    target = ws.path("exported")
    result = nmtcli("export", model, target)
    copied = any("private" in p.read_text(errors="ignore") for p in target.glob("*") if p.is_file())
    return "copied the link's target" if copied else refused(result, "CARD_NOTES.md")


def nul_bytes_are_reported(ws: Workspace) -> str | None:
    corpus = ws.path("nul.tsv")
    corpus.write_text(ws.corpus.read_text() + "a\x00b\tc\n")
    result = nmtcli("vocab", corpus, "-o", ws.path("v"), "--vocab-size", "60")
    return None if result.code == 0 and "NUL" in result.stderr else "no warning about NUL"


# -- agreement with sacreBLEU and pipelines ------------------------------------------------------


def bleu_keeps_a_byte_order_mark_as_sacrebleu(ws: Workspace) -> str | None:
    hypotheses, references = ws.path("hyp.txt"), ws.path("ref.txt")
    hypotheses.write_bytes(b"\xef\xbb\xbfthe cat sat on the mat\nhello world and all\n")
    references.write_text("the cat sat on the mat\nhello world and all\n")
    ours = nmtcli("bleu", references, "-i", hypotheses, "-b").stdout.strip()
    theirs = subprocess.run(
        [sys.executable, "-m", "sacrebleu", str(references), "-i", str(hypotheses), "-b"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return None if ours == theirs else f"nmtcli {ours} vs sacrebleu {theirs}"


def broken_pipe_exits_141(ws: Workspace) -> str | None:
    lines = b"the cat\n" * 3000
    command = f"{sys.executable} -m nmtcli translate -m {ws.model()} -k 1 | head -1"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"], input=lines, capture_output=True, check=False
    )
    if b"Traceback" in done.stderr:
        return "traceback"
    return None if done.returncode == 141 else f"exit status {done.returncode}"


CASES: dict[str, Callable[[Workspace], str | None]] = {
    case.__name__: case
    for case in (
        translate_output_is_its_input,
        translate_output_links_to_its_input,
        translate_keeps_output_when_input_is_bad,
        train_force_with_a_typo_keeps_the_model,
        export_onto_itself_keeps_the_model,
        train_init_from_its_own_output_keeps_the_parent,
        train_force_checks_everything_before_replacing,
        existing_outputs_need_force,
        outputs_never_replace_a_model_file,
        outputs_write_through_links_and_devices,
        translate_output_is_its_stdin,
        closed_stdin_is_reported,
        record_keeps_scores_it_cannot_read,
        vocab_never_replaces_a_models_vocabulary,
        messages_name_the_real_problem,
        translate_output_dash_is_stdout,
        stdout_on_a_full_disk_is_one_line,
        export_force_from_a_bad_source_keeps_the_target,
        train_force_replaces_old_test_scores,
        train_force_never_replaces_foreign_files,
        second_writer_is_refused,
        stale_lock_of_a_killed_run_does_not_block,
        resume_refuses_other_data_of_the_same_size,
        resume_cleans_stale_temporaries,
        resume_without_a_state_writes_nothing,
        kill_between_commit_and_move_keeps_best_consistent,
        disk_full_while_checkpointing_keeps_the_state,
        damaged_gzip_in_every_reader,
        vocab_output_inside_a_file,
        translate_output_in_a_missing_folder,
        translate_output_onto_a_folder,
        forged_config_json,
        forged_train_state,
        forged_vocab_json,
        truncated_records_still_show_the_rest,
        bad_yaml_values,
        bad_numbers,
        attention_out_checked_before_work,
        long_validation_pairs_are_filtered,
        export_does_not_follow_links_out,
        nul_bytes_are_reported,
        bleu_keeps_a_byte_order_mark_as_sacrebleu,
        broken_pipe_exits_141,
    )
}


def run_case(case: Callable[[Workspace], str | None], workspace: Workspace) -> str | None:
    """What went wrong in one case (a case that cannot even run counts as failed)."""
    try:
        return case(workspace)
    except Exception as error:  # the harness reports a broken case, it never stops
        return f"the case could not run: {type(error).__name__}: {error}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the cases whose name contains this")
    args = parser.parse_args()
    chosen = {name: case for name, case in CASES.items() if args.k in name}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="nmtcli-reliability-") as root:
        workspace = Workspace(Path(root))
        for name, case in chosen.items():
            problem = run_case(case, workspace)
            if problem:
                failures += 1
                print(f"FAIL {name}: {problem}")
    print(f"{len(chosen)} cases, {len(chosen) - failures} ok")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
