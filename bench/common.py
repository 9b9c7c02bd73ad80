"""Helpers shared by the benchmarks: timing commands, peak memory, data paths, Markdown tables."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
MULTI30K = DATA / "multi30k"
TATOEBA = DATA / "tatoeba-eng-fra"
WORK = REPO / ".bench"  # caches (vocabularies, models); ignored by git

_PEAK = (
    "import resource, subprocess, sys\n"
    "stdin = open(sys.argv[1], 'rb') if sys.argv[1] != '-' else None\n"
    "done = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
    "sys.stdout.buffer.write(done.stdout)\n"
    "sys.stderr.buffer.write(done.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(done.returncode)\n"
)


@dataclass
class Run:
    """One measured command."""

    seconds: float
    peak_mb: float
    stdout: str
    stderr: str


def nmtcli() -> str:
    """The nmtcli console script of this interpreter."""
    return shutil.which("nmtcli") or str(Path(sys.executable).with_name("nmtcli"))


def measure(
    command: list[str], stdin: Path | None = None, env: dict[str, str] | None = None
) -> Run:
    """Run `command` once: wall time and peak resident memory (of the command alone)."""
    wrapper = [sys.executable, "-c", _PEAK, str(stdin) if stdin else "-", *command]
    start = time.perf_counter()
    done = subprocess.run(
        wrapper, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    *stderr, peak = done.stderr.rstrip("\n").split("\n")
    return Run(seconds, int(peak) / 1024, done.stdout, "\n".join(stderr))


def pin(threads: int | None, cpus: str | None) -> str:
    """Limit this process and every command it runs to `threads` torch threads on `cpus`.

    Both are inherited by child processes (OMP/MKL environment variables, CPU affinity), so each
    measured command runs under the same setting. Returns the setting in words for the tables.
    """
    if threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    if cpus:
        chosen = set()
        for part in cpus.split(","):
            first, _, last = part.partition("-")
            chosen.update(range(int(first), int(last or first) + 1))
        os.sched_setaffinity(0, chosen)
    return f"{threads or 'default'} torch thread(s)" + (
        f", pinned to CPU {cpus}" if cpus else ", not pinned"
    )


def evaluate(model: Path, source: Path, reference: Path, beam: int) -> dict:
    """`nmtcli evaluate --format json` of one model on one test set with one beam size."""
    done = subprocess.run(
        [
            nmtcli(),
            "evaluate",
            *["-m", str(model), "--src-file", str(source), "--ref-file", str(reference)],
            *["-k", str(beam), "-f", "json"],
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout)


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def publish(header: str, result: str, markdown: Path | None) -> None:
    """Print a benchmark's caption and table, and write them as Markdown when asked."""
    print(f"\n{header}\n\n{result}")
    if markdown:
        markdown.write_text(f"{header}\n\n{result}\n", encoding="utf-8")


def machine() -> str:
    """A one-line description of this machine."""
    from nmtcli.training.distributed import _cpu_name

    return f"{_cpu_name()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def read_metrics(directory: Path) -> list[dict]:
    """The metrics.jsonl records of a model directory."""
    path = directory / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def multi30k_vocab(size: int = 8000) -> Path:
    """A joint unigram vocabulary for Multi30k En→De, built once and cached."""
    target = WORK / f"multi30k-en-de-unigram{size}"
    if not (target / "vocab.json").is_file():
        subprocess.run(
            [
                nmtcli(),
                "vocab",
                "--src-file",
                str(MULTI30K / "train.en.gz"),
                "--tgt-file",
                str(MULTI30K / "train.de.gz"),
                "-o",
                str(target),
                "--vocab-size",
                str(size),
                "--force",
            ],
            check=True,
            capture_output=True,
        )
    return target
